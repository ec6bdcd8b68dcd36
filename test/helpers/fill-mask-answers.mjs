// Fill-mask answers of one model under given load options, for tests that compare how a model runs
// (precision, head paths) on the same texts.
import { Engine } from '../../dist/engine.js';

/** The per-mask lists of one fillMask answer: a single mask's list wrapped as a list of one. */
export const top = (a) => (Array.isArray(a[0]) ? a : [a]);

/** Loads `model` with `opts`, answers every text, closes: { info, out } (out in the texts' order). */
export async function answers(model, texts, opts = {}) {
  const e = await Engine.load({ model, ...opts });
  try {
    return { info: e.info, out: await Promise.all(texts.map((x) => e.fillMask(x))) };
  } finally {
    await e.close();
  }
}

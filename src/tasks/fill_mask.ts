// fill-mask (<Family>ForMaskedLM): its options, its answer's shape, and the canonical options the
// native head (native/engine/model/fill_mask.cc) reads.
import { BertServeError } from '../errors.js';
import { integer, resolve, strings, toWire, type OptionsOf } from './option.js';

export const FILL_MASK = {
  topK: integer('top_k', { min: 1, max: 1000 }, { doc: 'Predictions per mask (default 5).', default: 5 }),
  targets: strings(
    'targets',
    { nonEmpty: true, orOne: true },
    {
      doc: 'Score only these words (Hugging Face `targets`); distinct targets x masks count as predictions (--max-predictions).',
    },
  ),
};
export type FillMaskParams = OptionsOf<typeof FILL_MASK>;
/** The options each route takes (see EMBED_ROUTES in embed.ts). */
export const FILL_MASK_ROUTES = {
  /** POST / (the Hugging Face Inference API's fill-mask). */
  root: ['topK', 'targets'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof FILL_MASK>>;

export interface FillMaskPrediction {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

/** One text with one mask -> predictions; several masks -> one list per mask. */
export type FillMaskOutput = FillMaskPrediction[] | FillMaskPrediction[][];

/**
 * The native head's options for `inputs` texts, refused before any work (ERR_TOO_MANY_PREDICTIONS)
 * when the predictions asked for are already over the limit: every text has at least one mask, and
 * with targets every distinct target is scored at every mask (and resolved to a token for every
 * text), so they count instead of top_k: 25,000 targets x 32 inputs once cost 2 s of engine time in
 * a 266 KB request. The head checks the exact count per text once it knows the masks.
 */
export function fillMaskParams(o: FillMaskParams, inputs: number, limits: { maxPredictions: number; maxMasks: number }): string {
  const r = resolve(FILL_MASK, o);
  const topK = r.topK as number;
  const targets = r.targets === undefined ? 0 : new Set(r.targets).size;
  const perMask = targets > 0 ? targets : topK;
  if (perMask * inputs > limits.maxPredictions) {
    const what = targets > 0 ? `${targets} distinct targets` : `top_k ${topK}`;
    throw new BertServeError(
      'ERR_TOO_MANY_PREDICTIONS',
      `${what} x ${inputs} input(s) asks for at least ${perMask * inputs} predictions; ` +
        `the limit is ${limits.maxPredictions} per request (maxPredictions, --max-predictions)`,
    );
  }
  return JSON.stringify({
    ...toWire(FILL_MASK, r),
    max_masks: limits.maxMasks,
    max_predictions: Math.floor(limits.maxPredictions / inputs),
  });
}

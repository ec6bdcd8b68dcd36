// POST / for fill-mask: {"inputs": str | [str], "parameters": {top_k, targets, truncate,
// truncation_direction}}, or a raw text. The answer is the engine's natively serialized JSON,
// written as it is; refused before the work when even the smallest possible answer is over
// --max-answer-bytes (answer_size.ts).
import { FILL_MASK, FILL_MASK_ROUTES } from '../../tasks/fill_mask.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields, resolve } from '../../tasks/option.js';
import { asList, object, parameters, texts } from '../api/schema.js';
import * as A from '../api/responses.js';
import { fillMaskCosts } from '../answer_size.js';
import { hfRoot, params } from './hf_root.js';

const KEYS = FILL_MASK_ROUTES.root;

export const rootFillMask = hfRoot('fill-mask', {
  request: (limit) =>
    object(
      {
        inputs: texts(limit, 'Texts with one or more mask tokens'),
        parameters: parameters({ ...httpFields(FILL_MASK, KEYS), ...httpFields(TRUNCATION, TRUNCATION_KEYS) }),
      },
      ['inputs'],
    ),
  example: (m) => ({ inputs: `Paris is the ${m.maskToken} of France.`, parameters: { top_k: 3 } }),
  answer: {
    description:
      'A text with one mask: its predictions, best first. Several masks: one list per mask. A list of inputs: one answer per input.',
    anyOf: [A.list(A.prediction), A.list({ anyOf: [A.list(A.prediction), A.list(A.list(A.prediction))] })],
  },
  answerKind: 'fill-mask',
  plan(engine, body) {
    const inputs = body.inputs as string | string[];
    const options = { ...fromBody(FILL_MASK, KEYS, params(body)), ...fromBody(TRUNCATION, TRUNCATION_KEYS, params(body)) };
    const list = asList(inputs);
    const topK = resolve(FILL_MASK, options).topK as number; // its default is FILL_MASK's
    const targets = options.targets === undefined ? undefined : asList(options.targets).length;
    const mask = engine.tokenizer.info.specialTokens.mask ?? '[MASK]';
    return {
      texts: list.length,
      ...fillMaskCosts(list, topK, mask, targets),
      run: (o) => engine.fillMaskJson(inputs, { ...options, ...o }),
    };
  },
});

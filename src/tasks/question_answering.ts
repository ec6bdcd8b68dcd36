// question-answering (<Family>ForQuestionAnswering, extractive): the options, the inputs and the
// answer's shape, and the canonical options the native head (native/engine/model/question_answering.cc)
// reads. The semantics are the Hugging Face question-answering pipeline's (that file says how).
import { invalidArgument } from '../errors.js';
import { boolean, integer, resolve, toWire, type OptionsOf } from './option.js';
import type { Item } from './inputs.js';

export const QUESTION_ANSWERING = {
  topK: integer(
    'top_k',
    // Bounded so that the answer's size is known before the work: each answer may repeat up to
    // max_answer_len tokens of the context.
    { min: 1, max: 100 },
    { doc: 'Answers per question, best first (default 1; a list when more than one is found).', default: 1 },
  ),
  maxAnswerLen: integer(
    'max_answer_len',
    { min: 1, max: 100_000 },
    { doc: 'Longest answer, in tokens (default 15, as the pipeline).', default: 15 },
  ),
  handleImpossibleAnswer: boolean('handle_impossible_answer', {
    doc: 'Also consider the null answer ("" at 0..0, scored by [CLS]), for models trained on unanswerable questions (default false).',
    default: false,
  }),
  alignToWords: boolean('align_to_words', {
    doc: 'Widen an answer that starts or ends inside a word to the whole word (default true; WordPiece tokenizers only).',
    default: true,
  }),
};
export type QuestionAnsweringParams = OptionsOf<typeof QUESTION_ANSWERING>;
/** The options each route takes (see EMBED_ROUTES in embed.ts). */
export const QUESTION_ANSWERING_ROUTES = {
  /** POST / (the Hugging Face Inference API's question-answering). */
  root: ['topK', 'maxAnswerLen', 'handleImpossibleAnswer', 'alignToWords'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof QUESTION_ANSWERING>>;

/** A question and the text its answer is taken from. */
export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

/** An answer: `context.slice(start, end)` (UTF-16 code units, JavaScript string indices), and its probability. */
export interface QuestionAnswer {
  answer: string;
  score: number;
  start: number;
  end: number;
}

/** The pairs as native items (question first, as the pipeline encodes them), refused when a field is missing or empty. */
export function questionItems(input: QuestionAnsweringInput | QuestionAnsweringInput[]): Item[] {
  // Checked as the caller's values, whatever the types say (JavaScript callers).
  const list: unknown[] = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw invalidArgument('inputs', 'a non-empty list of {question, context}', input);
  return list.map((x, i) => {
    const at = Array.isArray(input) ? `inputs[${i}]` : 'inputs';
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw invalidArgument(at, 'an object {question, context}', x);
    const { question, context } = x as Record<string, unknown>;
    if (typeof question !== 'string' || question === '') throw invalidArgument(`${at}.question`, 'a non-empty string', question);
    if (typeof context !== 'string' || context === '') throw invalidArgument(`${at}.context`, 'a non-empty string', context);
    return { text: question, pair: context, tokenIds: null };
  });
}

/** The native head's options. */
export function questionAnsweringParams(o: QuestionAnsweringParams): string {
  return JSON.stringify(toWire(QUESTION_ANSWERING, resolve(QUESTION_ANSWERING, o)));
}

// POST / for question-answering: inputs {question, context} -> {answer, score, start, end} (a list
// of them when top_k > 1 finds several); a list of pairs -> one such answer per pair. parameters:
// top_k, max_answer_len, handle_impossible_answer, align_to_words. No truncation parameters: a
// context is never cut (over the model's token limit: 413 naming the limit; docs/http.md says why).
import { QUESTION_ANSWERING, QUESTION_ANSWERING_ROUTES, type QuestionAnsweringInput } from '../../tasks/question_answering.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { STRING, object, parameters, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import { hfRoot, params } from './hf_root.js';

const KEYS = QUESTION_ANSWERING_ROUTES.root;
const NON_EMPTY = { ...STRING, minLength: 1 };
const PAIR = object(
  {
    question: prop('a non-empty string', NON_EMPTY, 'The question.'),
    context: prop('a non-empty string', NON_EMPTY, 'The text the answer is taken from.'),
  },
  ['question', 'context'],
);

export const rootQuestionAnswering = hfRoot('question-answering', {
  request: (limit) =>
    object(
      {
        inputs: prop(
          '{question, context} or a non-empty list of them',
          { anyOf: [PAIR, { type: 'array', items: PAIR, minItems: 1, maxItems: limit }] },
          `A {question, context} pair, or a list of 1 to ${limit} of them (one answer per pair).`,
        ),
        parameters: parameters(httpFields(QUESTION_ANSWERING, KEYS)),
      },
      ['inputs'],
    ),
  example: () => ({
    inputs: { question: 'Where does Sarah live?', context: 'My name is Sarah and I live in London.' },
    parameters: { top_k: 1 },
  }),
  answer: {
    description:
      'One pair: its answer, or a list of answers when top_k > 1 finds several. A list of pairs: one such answer per pair. ' +
      'start and end are UTF-16 code units into the context (JavaScript string indices): answer is context.slice(start, end).',
    anyOf: [A.answer, A.list(A.answer), A.list({ anyOf: [A.answer, A.list(A.answer)] })],
  },
  answerKind: 'spans',
  plan(engine, body) {
    const inputs = body.inputs as QuestionAnsweringInput | QuestionAnsweringInput[];
    const options = fromBody(QUESTION_ANSWERING, KEYS, params(body));
    const pairs = Array.isArray(inputs) ? inputs.length : 1;
    // Each pair's answers: top_k of them, and the null answer.
    const perPair = ((options.topK as number | undefined) ?? (QUESTION_ANSWERING.topK.default as number)) + 1;
    return { texts: pairs, predictions: pairs * perPair, run: (o) => engine.questionAnsweringJson(inputs, { ...options, ...o }) };
  },
});

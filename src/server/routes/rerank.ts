// POST /rerank, text-embeddings-inference's, for one-label cross-encoders: {query, texts,
// raw_scores = false, return_text = false, truncate, truncation_direction} -> [{index, score[, text]}]
// best first.
import { jsonAnswer } from '../../answers.js';
import { RERANK, RERANK_ROUTES, rankScores } from '../../tasks/classify.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { NULLABLE_BOOL, STRING, asList, object, prop, texts } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { InferenceRoute } from './route.js';

export const rerank: InferenceRoute = {
  kind: 'inference',
  method: 'POST',
  path: '/rerank',
  tasks: ['text-classification'],
  open: false,
  perModel: true,
  doc: {
    summary: 'Reranking (text-embeddings-inference)',
    description: 'Scores each (query, text) pair with the cross-encoder; best first.',
  },
  refuses: (m) =>
    m.labels.length === 1
      ? undefined
      : `POST /rerank needs a cross-encoder with one label; this model classifies into ${m.labels.length} labels (use POST /predict)`,
  request: (limit) =>
    object(
      {
        query: prop('a string', STRING, 'The query each text is scored against.'),
        texts: texts(limit, 'Texts to rank'),
        ...httpFields(RERANK, RERANK_ROUTES.rerank),
        return_text: prop('a boolean', NULLABLE_BOOL, 'Include each text in the answer (default false).'),
        ...httpFields(TRUNCATION, TRUNCATION_KEYS),
      },
      ['query', 'texts'],
    ),
  example: () => ({ query: 'what is paris', texts: ['paris is a city', 'bananas'] }),
  answer: A.list(
    { ...A.object({ index: A.integer, score: A.number }), properties: { index: A.integer, score: A.number, text: A.string } },
    'Best first.',
  ),
  answerKind: 'labels',
  plan(engine, body) {
    const list = asList(body.texts);
    const returnText = body.return_text === true;
    const options = { ...fromBody(RERANK, RERANK_ROUTES.rerank, body), ...fromBody(TRUNCATION, TRUNCATION_KEYS, body) };
    return {
      texts: list.length,
      run: async (o) => {
        const parts = await Promise.all(engine.rerankParts(body.query as string, list, { ...options, ...o }));
        const ranked = rankScores(parts).map((r) => (returnText ? { index: r.index, score: r.score, text: list[r.index] } : r));
        return jsonAnswer(ranked, parts);
      },
    };
  },
};

// GET /v1/models: OpenAI's list of models ({object: "list", data: [{id, object: "model", created,
// owned_by}]}), one entry per served model, with bert-serve's own fields beside OpenAI's: the task,
// the content hash of its files (model_version) and whether the unprefixed routes serve it.
// `created` is when the model was loaded (seconds since the epoch), as OpenAI's is when it was made.
import * as A from '../api/responses.js';
import { servedModelsList } from './info.js';
import type { StatusRoute } from './route.js';

export const openaiModels: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/v1/models',
  open: false,
  perModel: false,
  doc: { summary: 'Served models (OpenAI)', description: "OpenAI's model list: every served model, its task and version." },
  content: {
    'application/json': A.object({
      object: { const: 'list' },
      data: A.list(
        A.object({
          id: A.string,
          object: { const: 'model' },
          created: A.integer,
          owned_by: A.string,
          task: A.string,
          model_version: A.string,
          default: A.boolean,
        }),
      ),
    }),
  },
  unavailable: 'Not ready: the models are loading or the server is draining.',
  handle(ctx, ex) {
    if (!ctx.engine) return void ex.sendError(503, 'unhealthy', 'the models are loading');
    const data = servedModelsList(ctx).map((m) => ({
      id: m.name,
      object: 'model',
      created: Math.floor((ctx.models.get(m.name)?.engine?.loadedAt ?? 0) / 1000),
      owned_by: 'bert-serve',
      task: m.task,
      model_version: m.model_version,
      default: m.default,
    }));
    ex.sendJson(200, JSON.stringify({ object: 'list', data }));
  },
};

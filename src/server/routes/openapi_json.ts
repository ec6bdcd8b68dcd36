// GET /openapi.json: the OpenAPI 3.1 document of the served models' routes (api/openapi.ts, built
// from the route declarations once per model whose document is asked for).
import type { Engine } from '../../engine.js';
import { packageVersion } from '../../config.js';
import { buildOpenApi, type OpenApiModel } from '../api/openapi.js';
import type { RouteContext } from '../context.js';
import { modelFacts } from './facts.js';
import type { StatusRoute } from './route.js';

/** Per engine, with the served models' generation it was built at (a load or unload changes the list). */
const documents = new WeakMap<Engine, { generation: number; doc: Buffer }>();

export const openapiJson: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/openapi.json',
  open: true,
  perModel: true,
  doc: { summary: 'This document', description: 'OpenAPI 3.1, generated from the schemas requests are validated with.' },
  content: { 'application/json': { type: 'object' } },
  unavailable: 'Not ready: the model is loading or the server is draining.',
  handle(ctx, ex) {
    const engine = ctx.engine;
    if (!engine) {
      ex.sendError(503, 'unhealthy', 'the model is loading');
      return;
    }
    const generation = ctx.models.generation;
    let doc = documents.get(engine)?.generation === generation ? documents.get(engine)!.doc : undefined;
    if (!doc) {
      doc = Buffer.from(
        JSON.stringify(
          // Load and unload (the routes whose {name} may name any model) work with --model-control explicit only.
          buildOpenApi(ctx.models.control.enabled ? ctx.routes : ctx.routes.filter((r) => !(r.kind === 'status' && r.anyModelName)), {
            ...openApiModel(ctx.modelName, engine),
            models: ctx.models.names.map((n) => openApiModel(n, (ctx.models.get(n) as RouteContext).engine!)),
            version: packageVersion(),
            maxClientBatchSize: ctx.config.maxClientBatchSize,
            auth: ctx.apiKeyRequired,
          }),
        ),
      );
      documents.set(engine, { generation, doc });
    }
    ex.sendJson(200, doc);
  },
};

function openApiModel(name: string, engine: Engine): OpenApiModel {
  return { ...modelFacts(engine), name, architecture: engine.info.architecture };
}

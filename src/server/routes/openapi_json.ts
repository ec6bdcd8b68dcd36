// GET /openapi.json: the OpenAPI 3.1 document of the served models' routes (api/openapi.ts, built
// from the route declarations once per model whose document is asked for).
import type { Engine } from '../../engine.js';
import { packageVersion } from '../../config.js';
import { buildOpenApi, type OpenApiModel } from '../api/openapi.js';
import type { RouteContext } from '../context.js';
import { modelFacts } from './facts.js';
import type { StatusRoute } from './route.js';

const documents = new WeakMap<Engine, Buffer>();

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
    let doc = documents.get(engine);
    if (!doc) {
      doc = Buffer.from(
        JSON.stringify(
          buildOpenApi(ctx.routes, {
            ...openApiModel(ctx.modelName, engine),
            models: ctx.models.names.map((n) => openApiModel(n, (ctx.models.get(n) as RouteContext).engine!)),
            version: packageVersion(),
            maxClientBatchSize: ctx.config.maxClientBatchSize,
            auth: ctx.apiKeyRequired,
          }),
        ),
      );
      documents.set(engine, doc);
    }
    ex.sendJson(200, doc);
  },
};

function openApiModel(name: string, engine: Engine): OpenApiModel {
  return { ...modelFacts(engine), name, architecture: engine.info.architecture };
}

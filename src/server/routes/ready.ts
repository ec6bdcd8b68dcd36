// GET /ready: 200 once the model is loaded and warmed and while not draining; 503 otherwise, and
// 503 while a batch has been running longer than --request-timeout-ms. By then every request in
// that batch was answered 504 and nothing else can run on that worker: a model that hangs takes the
// instance out of the load balancer until its forward returns (each such probe logs a warning).
import type { StatusRoute } from './route.js';
import * as A from '../api/responses.js';
import type { RouteContext } from '../context.js';

export const ready: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/ready',
  open: true,
  perModel: true,
  doc: { summary: 'Readiness', description: '200 once the model is loaded and warmed, while not draining.' },
  content: { 'application/json': A.object({ status: { const: 'ready' } }) },
  unavailable: 'Not ready: the model is loading or the server is draining.',
  handle(ctx, ex) {
    const why = notReady(ctx);
    if (why !== undefined) ex.sendError(503, 'unhealthy', why);
    else ex.sendJson(200, '{"status":"ready"}');
  },
};

/** Why the model of `ctx` is not ready (undefined: ready), as above; also the Open Inference Protocol's readiness (oip_status.ts). */
export function notReady(ctx: RouteContext): string | undefined {
  const limit = ctx.config.requestTimeoutMs;
  const running = ctx.engine && limit > 0 ? ctx.engine.stats().runningBatchMs : 0;
  if (ctx.draining) return 'the server is shutting down';
  if (!ctx.engine) return 'the model is loading';
  if (running > limit) {
    ctx.logger.warn('model stalled', { runningBatchMs: Math.round(running), requestTimeoutMs: limit });
    return `a batch has been running for ${(running / 1000).toFixed(1)} s, longer than the request timeout (${limit} ms): the model may hang`;
  }
  return undefined;
}

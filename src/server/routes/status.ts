// GET /health, /ready, /info, /metrics: answered synchronously from state the server already holds
// (only /metrics awaits, for prom-client's collection).
import type { Exchange } from '../exchange.js';
import type { RouteContext } from '../admission.js';

/** Liveness: 200 while the process serves HTTP at all (also while loading and draining). */
export function healthRoute(_ctx: RouteContext, ex: Exchange): void {
  ex.sendJson(200, '{"status":"ok"}');
}

/**
 * Readiness: 200 once the model is loaded and warmed and while not draining; 503 otherwise, and 503
 * while a batch has been running longer than --request-timeout-ms. By then every request in that
 * batch was answered 504 and nothing else can run on that worker: a model that hangs takes the
 * instance out of the load balancer until its forward returns (each such probe logs a warning).
 */
export function readyRoute(ctx: RouteContext, ex: Exchange): void {
  const limit = ctx.config.requestTimeoutMs;
  const running = ctx.engine && limit > 0 ? ctx.engine.stats().runningBatchMs : 0;
  if (ctx.draining) ex.sendError(503, 'unhealthy', 'the server is shutting down');
  else if (!ctx.engine) ex.sendError(503, 'unhealthy', 'the model is loading');
  else if (running > limit) {
    ctx.logger.warn('model stalled', { runningBatchMs: Math.round(running), requestTimeoutMs: limit });
    ex.sendError(503, 'unhealthy', `a batch has been running for ${(running / 1000).toFixed(1)} s, longer than the request timeout (${limit} ms): the model may hang`);
  } else ex.sendJson(200, '{"status":"ready"}');
}

export function infoRoute(ctx: RouteContext, ex: Exchange): void {
  if (ctx.infoJson === undefined) ex.sendError(503, 'unhealthy', 'the model is loading');
  else ex.sendJson(200, ctx.infoJson);
}

export async function metricsRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  let text: string;
  try {
    text = await ctx.metrics.render();
  } catch (e) {
    ctx.logger.error('metrics collection failed', { error: (e as Error).message });
    ex.sendError(500, 'backend', 'metrics collection failed');
    return;
  }
  ex.send(200, text, [['Content-Type', ctx.metrics.contentType]]);
}

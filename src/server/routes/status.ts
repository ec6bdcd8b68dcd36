// GET /health, /ready, /info, /metrics: answered synchronously from state the server already holds
// (only /metrics awaits, for prom-client's collection).
import type { Exchange } from '../exchange.js';
import type { RouteContext } from '../admission.js';

/** Liveness: 200 while the process serves HTTP at all (also while loading and draining). */
export function healthRoute(_ctx: RouteContext, ex: Exchange): void {
  ex.sendJson(200, '{"status":"ok"}');
}

/** Readiness: 200 once the model is loaded and warmed and while not draining; 503 otherwise. */
export function readyRoute(ctx: RouteContext, ex: Exchange): void {
  if (ctx.draining) ex.sendError(503, 'unhealthy', 'the server is shutting down');
  else if (!ctx.engine) ex.sendError(503, 'unhealthy', 'the model is loading');
  else ex.sendJson(200, '{"status":"ready"}');
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

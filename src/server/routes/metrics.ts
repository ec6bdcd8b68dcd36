// GET /metrics: Prometheus text (prom-client), collected when scraped (metrics.ts).
import type { StatusRoute } from './route.js';

export const metrics: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/metrics',
  open: false,
  perModel: false,
  doc: { summary: 'Prometheus metrics', description: 'Prometheus text exposition format.' },
  content: { 'text/plain': { type: 'string' } },
  async handle(ctx, ex) {
    let text: string;
    try {
      text = await ctx.metrics.render();
    } catch (e) {
      ctx.logger.error('metrics collection failed', { error: (e as Error).message });
      ex.sendError(500, 'backend', 'metrics collection failed');
      return;
    }
    ex.send(200, text, [['Content-Type', ctx.metrics.contentType]]);
  },
};

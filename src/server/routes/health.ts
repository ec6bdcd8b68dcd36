// GET /health: liveness, 200 while the process serves HTTP at all (also while loading and draining).
import type { StatusRoute } from './route.js';
import * as A from '../api/responses.js';

export const health: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/health',
  open: true,
  perModel: false,
  doc: { summary: 'Liveness', description: '200 whenever the process serves HTTP.' },
  content: { 'application/json': A.object({ status: { const: 'ok' } }) },
  handle: (_ctx, ex) => void ex.sendJson(200, '{"status":"ok"}'),
};

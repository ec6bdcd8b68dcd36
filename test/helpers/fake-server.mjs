// An in-process Server over a fake native binding (fake-addon.cjs): the real HTTP front end, real
// Engine wrapper and admission code, no libtorch, milliseconds to start. Importing this module
// points BERT_SERVE_ADDON at the fake before anything loads the binding, so import it first.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fakePath = join(here, 'fake-addon.cjs');
process.env.BERT_SERVE_ADDON = fakePath;
/** The fake's control object: hold/release requests, choose the answer bytes. */
export const fake = createRequire(import.meta.url)(fakePath).control;

// The fake loads no file, but the Engine hashes the model directory's files (its version): a real,
// tiny directory.
const modelDir = join(tmpdir(), `bert-serve-fake-${process.pid}`, 'model');
mkdirSync(modelDir, { recursive: true });
writeFileSync(join(modelDir, 'config.json'), '{}');
process.on('exit', () => rmSync(dirname(modelDir), { recursive: true, force: true }));

const { Server } = await import('../../dist/server/server.js');
const { Engine } = await import('../../dist/engine.js');

/**
 * Starts a server on 127.0.0.1, a free port; closed when `t` ends. Options as ServerOptions; the
 * transport is BERT_SERVE_TRANSPORT's when set, as for the CLI (scripts/test.sh runs the HTTP tests
 * with it set to node too).
 */
export async function startFakeServer(t, options = {}) {
  fake.reset();
  const engine = await Engine.load({ model: modelDir, warmup: false, maxQueue: options.maxQueue ?? 1024 });
  const transport = process.env.BERT_SERVE_TRANSPORT || undefined;
  const server = new Server({ host: '127.0.0.1', port: 0, engine, logLevel: 'error', defaultMetrics: false, transport, ...options });
  await server.listen();
  t.teardown(async () => {
    fake.hold = false;
    fake.release();
    await server.close({ timeoutMs: 2000 });
  });
  return server;
}

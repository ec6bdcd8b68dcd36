// startServer() in-process (the library face of the HTTP server): it resolves once ready, serves
// real HTTP, can adopt an engine loaded by the caller, rejects with a coded error when the model
// does not load, and close() drains and leaves nothing running (this test process then exits by
// itself: tap would time it out otherwise).
import t from 'tap';
import { join } from 'node:path';
import { root, requireBuilt, testModel } from '../helpers/server.mjs';
import { postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('tiny'));
const { startServer, Engine, BertServeError, Logger } = await import(join(root, 'dist', 'index.js'));

const quiet = () => new Logger({ level: 'silent' });
/** The transport BERT_SERVE_TRANSPORT asks for (scripts/test-http.sh), as the CLI would take it. */
const transport = process.env.BERT_SERVE_TRANSPORT || undefined;

t.test('startServer: ready when it resolves, serves, closes cleanly', async (t) => {
  const server = await startServer({ model: testModel('tiny'), host: '127.0.0.1', port: 0, logger: quiet(), transport });
  t.ok(server.port > 0, 'listening on a free port');
  t.equal(server.ready, true);
  const r = await postText(server.port, 'test [MASK]');
  t.equal(r.status, 200, r.text);
  t.equal(r.json.length, 5);
  const result = await server.close();
  t.same({ clean: result.clean, abandoned: result.abandoned }, { clean: true, abandoned: 0 });
  t.equal(server.ready, false);
  const after = await request(server.port, { path: '/health', timeoutMs: 5000 }).then(
    () => 'answered',
    (e) => e.code,
  );
  t.equal(after, 'ECONNREFUSED', 'port closed');
});

t.test('startServer adopts an engine the caller loaded', async (t) => {
  const engine = await Engine.load({ model: testModel('tiny'), warmup: false });
  const server = await startServer({ engine, host: '127.0.0.1', port: 0, logger: quiet(), maxClientBatchSize: 2, transport });
  const info = await request(server.port, { path: '/info' });
  t.equal(info.json.model_id, 'tiny');
  t.equal(info.json.max_client_batch_size, 2);
  t.same((await postText(server.port, 'test [MASK]')).json, await engine.fillMask('test [MASK]'), 'same answer as the engine');
  t.equal((await server.close()).clean, true, 'clean drain');
  const closed = await engine.fillMask('x [MASK]').catch((e) => e);
  t.equal(closed.code, 'ERR_CLOSED', 'the server closed the engine it owns');
});

t.test('startServer rejects with the coded error when the model does not load, and frees the port', async (t) => {
  const err = await startServer({ model: testModel('no-such-model'), host: '127.0.0.1', port: 0, logger: quiet() }).catch((e) => e);
  t.ok(err instanceof BertServeError, 'a BertServeError');
  t.equal(err.code, 'ERR_MODEL_NOT_FOUND');
});

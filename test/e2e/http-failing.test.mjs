// 500 when inference fails: the failing test model raises when the input contains "explode". The
// answer is generic (no internals), the details are in the log, the batch's failure does not take
// the process down, and the server answers correctly afterwards.
import t from 'tap';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { postJson, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('failing'));

t.test('500 with a generic message; details only in the log; still serving', async (t) => {
  const s = await spawnServer(['--model', testModel('failing'), '--no-warmup'], { t });
  const ok = await postText(s.port, 'a calm [MASK] day');
  t.equal(ok.status, 200, ok.text);

  const r = await postText(s.port, 'this will explode [MASK]');
  t.equal(r.status, 500, r.text);
  t.same(r.json, { error: 'inference failed', error_type: 'backend' }, 'generic message, no internals');
  const logged = await s.waitLog((l) => l.level === 'error' && l.msg === 'request failed', 10_000);
  t.equal(logged.code, 'ERR_INFERENCE_FAILED', 'the log has the code');
  t.ok(typeof logged.error === 'string' && logged.error.length > 0, 'and the details');

  // A JSON batch with one failing input fails as a whole, cleanly.
  const mixed = await postJson(s.port, '/', { inputs: ['fine [MASK]', 'explode [MASK]'] });
  t.equal(mixed.status, 500, mixed.text);

  const again = await postText(s.port, 'a calm [MASK] day');
  t.equal(again.status, 200, 'answers correctly afterwards');
  t.same(again.json, ok.json, 'same answer as before the failure');
  t.equal((await request(s.port, { path: '/ready' })).status, 200, 'still ready');
  // The engine's own record of the failure came through the server's logger: one format for every line.
  const native = await s.waitLog((l) => l.source === 'engine' && l.level === 'error', 10_000);
  t.match(native, { msg: /a batch failed|fails the model/, error: /explode/ });
  t.equal((await s.stop()).code, 0);
  const raw = s.logs.filter((l) => l.raw);
  t.same(raw, [], 'every stderr line is a JSON log line');
});

t.test('--log-level debug puts the details in the 500 answer', async (t) => {
  const s = await spawnServer(['--model', testModel('failing'), '--no-warmup', '--log-level', 'debug'], { t });
  const r = await postText(s.port, 'explode [MASK]');
  t.equal(r.status, 500);
  t.match(r.json.error, /^inference failed: \[ERR_INFERENCE_FAILED\] ./);
  t.ok(
    await s.waitLog((l) => l.msg === 'request' && l.status === 500 && typeof l.request_id === 'string', 5000),
    'in the access log, with its request id',
  );
  t.equal((await s.stop()).code, 0);
});

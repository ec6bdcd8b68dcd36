// A model whose path changed since its last load says so: the served model.pt is replaced by a
// trace whose encoder call cannot be mapped (its token types are computed in forward), and the next
// start logs the change at warn and reports it in /info; an unchanged restart reports nothing.
import t from 'tap';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('mlm-traced'), testModel('traced'));
const tmp = mkdtempSync(join(tmpdir(), 'bert-serve-path-history-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'model');
cpSync(testModel('mlm-traced'), model, { recursive: true });
const history = join(tmp, 'state', 'head-paths.json');

async function start(t) {
  const s = await spawnServer(['--model', model, '--no-warmup', '--path-history', history], { t });
  const info = (await request(s.port, { path: '/info' })).json;
  await s.stop();
  return { info, logs: s.logs };
}

t.test('first load, then the same again: no change', async (t) => {
  const first = await start(t);
  t.equal(first.info.head_path_id, 'encoder_then_head');
  t.equal(first.info.head_path_change, null);
  const again = await start(t);
  t.equal(again.info.head_path_change, null);
  t.notOk(again.logs.some((l) => l.msg === 'the model runs another way than at its last load'));
  t.match(Object.values(JSON.parse(readFileSync(history, 'utf8')))[0], { pathId: 'encoder_then_head' });
});

t.test('model.pt replaced by a file without a mappable encoder call: the change is logged and in /info', async (t) => {
  copyFileSync(join(testModel('traced'), 'model.pt'), join(model, 'model.pt'));
  const { info, logs } = await start(t);
  t.equal(info.head_path_id, 'full_forward');
  t.match(info.head_path_change, { from: 'encoder_then_head', to: 'full_forward', model_changed: true });
  const line = logs.find((l) => l.msg === 'the model runs another way than at its last load');
  t.match(line, { level: 'warn', from: 'encoder_then_head', to: 'full_forward', modelChanged: true });
  t.match(line.now, /^full forward: the vocabulary projection/);
});

t.test('an unwritable history is a warning, not a failure', async (t) => {
  // Its folder would be under a plain file.
  const s = await spawnServer(['--model', model, '--no-warmup', '--path-history', join(model, 'config.json', 'head-paths.json')], { t });
  t.equal((await request(s.port, { path: '/ready' })).status, 200);
  t.ok(s.logs.some((l) => l.msg === 'path history not kept' && l.level === 'warn'));
  await s.stop();
});

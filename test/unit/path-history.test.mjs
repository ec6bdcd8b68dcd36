// path_history.ts on temporary files: the first load records, the same path again is no change,
// another path is a change (with whether model.pt changed), and a corrupt or unwritable history is a
// problem to log, never an exception.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPathHistory, recordPath } from '../../dist/path_history.js';

const tmp = mkdtempSync(join(tmpdir(), 'bert-serve-path-history-unit-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'model');
mkdirSync(model);
writeFileSync(join(model, 'model.pt'), 'x'.repeat(100));
const file = join(tmp, 'state', 'paths.json');
const at = (id) => ({ pathId: id, headPath: `${id} in words`, version: '1.0.0' });

t.test('first load, same path, changed path', async (t) => {
  t.same(recordPath(file, model, 'cpu', 'float32', at('encoder_then_head')), { change: undefined, problem: undefined });
  t.same(recordPath(file, model, 'cpu', 'float32', at('encoder_then_head')), { change: undefined, problem: undefined });
  t.equal(recordPath(file, model, 'cpu', 'bfloat16', at('full_forward')).change, undefined, 'another dtype is another entry');
  const { change } = recordPath(file, model, 'cpu', 'float32', { ...at('full_forward'), version: '2.0.0' });
  t.match(change, { from: 'encoder_then_head', to: 'full_forward', modelChanged: false, previousVersion: '1.0.0' });
  utimesSync(join(model, 'model.pt'), new Date(), new Date(Date.now() + 60_000));
  t.match(recordPath(file, model, 'cpu', 'float32', at('encoder_then_head')).change, { from: 'full_forward', modelChanged: true });
});

t.test('a corrupt history starts afresh; an unwritable one is a problem', async (t) => {
  writeFileSync(file, '{"half');
  const r = recordPath(file, model, 'cpu', 'float32', at('full_forward'));
  t.equal(r.change, undefined);
  t.match(r.problem, /cannot read .*started afresh/);
  t.match(recordPath(join(model, 'model.pt', 'paths.json'), model, 'cpu', 'float32', at('full_forward')).problem, /cannot write/);
  t.match(recordPath(file, join(tmp, 'nope'), 'cpu', 'float32', at('full_forward')).problem, /cannot read .*model\.pt/);
});

t.test('the default location follows XDG_STATE_HOME, else HOME', async (t) => {
  t.equal(defaultPathHistory({ XDG_STATE_HOME: '/s', HOME: '/h' }), '/s/bert-serve/head-paths.json');
  t.equal(defaultPathHistory({ HOME: '/h' }), '/h/.local/state/bert-serve/head-paths.json');
});

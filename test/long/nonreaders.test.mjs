// 200 clients that never read the largest answer --max-answer-bytes allows: the server's RSS stays
// within its idle RSS + --max-inflight-answer-bytes + 10% (bench/nonreaders.js, on the real CLI
// serving the demo model, default transport). Bounded: 30 s of clients, then they hang up.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { root, requireBuilt, demoModel } from '../helpers/server.mjs';

t.setTimeout(300_000);
requireBuilt(demoModel);

t.test('RSS under 200 clients that never read stays within the answer memory budget + 10%', async (t) => {
  const out = await new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [join(root, 'bench', 'nonreaders.js'), '--clients', '200', '--budget-mib', '256', '--seconds', '30'],
      { timeout: 240_000, maxBuffer: 1 << 20 },
      (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  const r = JSON.parse(out.trim().split('\n').pop());
  t.comment(JSON.stringify(r));
  t.ok(r.answerBytes > 8_000_000, `the largest answer: ${r.answerBytes} bytes`);
  t.ok(r.within, `RSS grew ${r.growthMiB} MiB over ${r.baselineMiB} MiB idle; budget ${r.budgetMiB} MiB`);
  t.ok(r.cutOffWhileSending > 0, 'some answers were written until their clients were cut off');
  // Whether arrivals find the budget spent (503) or wait until their deadline (504) depends on how
  // fast this machine computes the answers; either is a bounded refusal. Anything else is a fault.
  const other = Object.keys(r.answeredStatuses).filter((s) => !['200', '413', '503', '504'].includes(s));
  t.same(other, [], 'every request was answered, refused for size (413, the bisection), for memory (503) or at its deadline (504)');
});

// Every zoo case (scripts/make_zoo.py: each architecture saved each way users save models) through
// the real Engine: answered as the eager reference answers, or refused at load as expected. Prints
// what it covered. Bounded by the zoo's fixed list (about 75 cases).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../integration/fixtures.mjs';
import { checkCase } from '../helpers/model-cases.mjs';

t.setTimeout(900_000);
const zoo = join(root, 'models', 'zoo');
const index = JSON.parse(readFileSync(join(zoo, 'zoo.json'), 'utf8'));
const tally = { served: 0, refused: 0, unexpected: 0 };
for (const name of Object.keys(index)) {
  t.test(name, async (t) => {
    const r = await checkCase(join(zoo, name));
    tally[r.outcome]++;
    t.same(r.problems, [], `${r.outcome}${r.message ? ': ' + r.message.slice(0, 160) : ''}`);
    t.not(r.outcome, 'unexpected');
  });
}
t.teardown(() =>
  console.log(
    `# zoo: ${Object.keys(index).length} cases: ${tally.served} served as the reference, ${tally.refused} refused at load as expected, ${tally.unexpected} unexpected`,
  ),
);

// Checks a model directory made by scripts/bert/zoo.py (the zoo, the generated models) through the
// real Engine: the model is refused at load as its case.json expects (error code and message), or
// it loads with the expected fill-mask path and answers every input of case.json (submitted at
// once, so they are batched and padded) as the eager reference did: fill-mask top-5 ids and scores,
// embeddings, classification scores per label, token labels and scores.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../dist/engine.js';
import { compareTopK } from '../integration/fixtures.mjs';

export const TOLERANCE = 1e-4;

export function readCase(dir) {
  const path = join(dir, 'case.json');
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/make_zoo.py models/zoo (npm test does)`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const scale = (v) => Math.max(1, ...v.map(Math.abs));

/**
 * Loads `dir` and compares; returns { outcome, problems: [strings] } where outcome is 'served',
 * 'refused' or 'unexpected'. Never throws for a model's behaviour: callers count and report.
 */
export async function checkCase(dir, { warmup = false } = {}) {
  const c = readCase(dir);
  const spec = c.spec;
  const problems = [];
  let engine;
  try {
    engine = await Engine.load({ model: dir, warmup, maxBatchDelayMs: 2 });
  } catch (e) {
    if (spec.expect === 'ok') return { outcome: 'unexpected', problems: [`refused at load: [${e.code}] ${e.message}`] };
    if (e.code !== spec.expect.code) problems.push(`refused with ${e.code}, expected ${spec.expect.code}: ${e.message}`);
    if (!e.message.includes(spec.expect.message)) problems.push(`refusal message lacks "${spec.expect.message}": ${e.message}`);
    return { outcome: 'refused', problems, message: e.message };
  }
  try {
    if (spec.expect !== 'ok')
      return { outcome: 'unexpected', problems: [`loaded (${engine.info.headPath}), expected a refusal: ${spec.expect.message}`] };
    if (spec.head_path && engine.info.taskInfo.head_path !== spec.head_path) {
      problems.push(`head_path ${engine.info.taskInfo.head_path}, expected ${spec.head_path} (${engine.info.headPath})`);
    }
    for (const x of c.inputs) {
      if (x.pair === null) {
        const ids = engine.tokenizer.encode(x.text).ids;
        if (ids.join() !== x.ids.join()) problems.push(`"${x.text}" tokenizes to ${ids} instead of ${x.ids}`);
      }
    }
    const input = (x) => (x.pair === null ? x.text : { text: x.text, text_pair: x.pair });
    const arch = spec.architecture;
    if (arch === 'BertForMaskedLM') {
      const got = await Promise.all(c.inputs.map((x) => engine.fillMask(x.text)));
      got.forEach((answer, i) => {
        const perMask = c.reference[i].length === 1 ? [answer] : answer;
        c.reference[i].forEach((want, m) => {
          const diff = compareTopK(
            perMask[m].map((p) => ({ id: p.token, score: p.score })),
            want.ids.map((id, k) => ({ id, score: want.scores[k] })),
            TOLERANCE,
          );
          if (diff) problems.push(`fill-mask "${c.inputs[i].text}" mask ${m}: ${diff}`);
        });
      });
    } else if (arch === 'BertModel') {
      const got = await Promise.all(c.inputs.map((x) => engine.embed([input(x)], { normalize: false })));
      got.forEach(([v], i) => {
        const want = c.reference[i];
        if (v.length !== want.length) problems.push(`embedding ${i}: ${v.length} values, reference ${want.length}`);
        else if (maxAbs(v, want) > TOLERANCE * scale(want)) problems.push(`embedding ${i}: max abs diff ${maxAbs(v, want)}`);
      });
    } else if (arch === 'BertForSequenceClassification') {
      const got = await Promise.all(c.inputs.map((x) => engine.classify(input(x), { topK: null })));
      const labels = spec.labels;
      got.forEach((answer, i) => {
        for (const { label, score } of answer) {
          const want = c.reference[i].scores[labels.indexOf(label)];
          if (!(Math.abs(score - want) <= TOLERANCE)) problems.push(`classify ${i} ${label}: ${score} vs ${want}`);
        }
        if (answer.length !== labels.length) problems.push(`classify ${i}: ${answer.length} labels`);
      });
    } else {
      const got = await Promise.all(c.inputs.map((x) => engine.tokenClassify(x.text, { aggregationStrategy: 'none', ignoreLabels: [] })));
      got.forEach((entities, i) => {
        const want = c.reference[i];
        if (entities.length !== want.length) {
          problems.push(`ner ${i}: ${entities.length} entities, reference ${want.length}`);
          return;
        }
        entities.forEach((e, k) => {
          if (e.index !== want[k].index || e.entity !== want[k].label || !(Math.abs(e.score - want[k].score) <= TOLERANCE)) {
            problems.push(`ner ${i} token ${e.index}: ${e.entity} ${e.score} vs ${want[k].label} ${want[k].score}`);
          }
        });
      });
    }
    return { outcome: 'served', problems, info: engine.info };
  } catch (e) {
    return { outcome: 'unexpected', problems: [`threw: [${e.code}] ${e.message}`] };
  } finally {
    await engine.close();
  }
}

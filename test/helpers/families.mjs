// Serving BERT's relatives compared with the eager reference (scripts/reference.py, which runs each
// sequence alone: no padding, no batching, fp32): the fixtures FAMILY-HEAD and FAMILY-HEAD-traced
// that scripts/make_test_models.py builds. Used by test/integration/families.test.mjs (a few texts
// per fixture) and test/long/families-reference.test.mjs (hundreds).
//
// The engine answers many texts submitted in the same tick in shared, padded, length-sorted
// batches; the reference runs each alone. Equal answers therefore also show batch invariance.
// Tolerances are the numerical contract's: same top-k ids with scores within 1e-4, classification
// and NER scores within 1e-4 (same labels and entities), embeddings cosine >= 0.9999, question
// answering's spans the same (offsets and text) with scores within 1e-4.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../dist/engine.js';
import { compareTopK, corpus, maskCorpus, python, root, runPython, testModel } from '../integration/fixtures.mjs';

export const RELATIVES = ['distilbert', 'roberta', 'xlmr', 'electra', 'mpnet'];
export const HEADS = ['mlm', 'embed', 'classify', 'ner', 'qa'];
export const MODEL_TYPE = { distilbert: 'distilbert', roberta: 'roberta', xlmr: 'xlm-roberta', electra: 'electra', mpnet: 'mpnet' };
export const fixtureNames = (suffixes = ['', '-traced']) =>
  RELATIVES.flatMap((f) => HEADS.flatMap((h) => suffixes.map((s) => `${f}-${h}${s}`)));

const TOL = 1e-4;
const MIN_COSINE = 0.9999;

const cosine = (a, b) => {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
};

/** Token ids and types of a text pair as the engine builds them: cls a sep b sep, type 1 on b only when the model has token types. */
function encodePair(engine, text, pair) {
  const a = engine.tokenizer.encode(text);
  const b = engine.tokenizer.encode(pair, { addSpecialTokens: false });
  const sep = engine.tokenizer.info.specialIds.sep;
  const ids = [...a.ids, ...b.ids, sep];
  const second = engine.info.tokenTypes ? 1 : 0;
  return { ids, token_type_ids: ids.map((_, i) => (i < a.ids.length ? 0 : second)) };
}

/** The special-tokens mask the pipeline's fast tokenizer gives (added and typed-in specials). */
function specialMask(engine, e) {
  const { cls, sep, pad, mask } = engine.tokenizer.info.specialIds;
  return e.ids.map((id) => [cls, sep, pad, mask].includes(id));
}

/**
 * Runs `n` generated inputs (seeded) through the engine serving fixture `name`, and builds the
 * reference requests for them. Returns {engine facts, answers, requests, compare(refAnswers)}:
 * compare returns {checked, failures: [...], worst} for the caller to assert on.
 */
export async function serve(name, n, seed, { warmup = false } = {}) {
  const engine = await Engine.load({ model: testModel(name), maxBatchDelayMs: 5, warmup });
  try {
    const head = name.split('-')[1];
    const model = testModel(name);
    const info = engine.info;
    if (head === 'mlm') {
      const mask = engine.tokenizer.info.specialTokens.mask;
      const texts = maskCorpus(n, seed, 30).map((s) => s.replaceAll('[MASK]', mask));
      const got = await engine.fillMask(texts, { topK: 5 });
      const requests = texts.map((x) => ({ task: 'fill_mask', model, ids: engine.tokenizer.encode(x).ids, top_k: 5 }));
      return { info, requests, compare: (ref) => compareFillMask(texts, got, ref) };
    }
    const texts = corpus(n, seed, 30);
    if (head === 'embed') {
      const pooling = info.taskInfo.pooling;
      const got = await engine.embed(texts, { normalize: false });
      const requests = texts.map((x) => ({ task: 'embed', model, ids: engine.tokenizer.encode(x).ids, pooling }));
      return {
        info,
        requests,
        compare: (ref) => {
          const failures = [];
          let worst = 1;
          texts.forEach((x, i) => {
            const c = cosine(got[i], ref[i].embedding);
            worst = Math.min(worst, c);
            if (!(c >= MIN_COSINE)) failures.push(`${JSON.stringify(x)}: cosine ${c}`);
          });
          return { checked: texts.length, failures, worst: `cosine ${worst}` };
        },
      };
    }
    if (head === 'classify') {
      // Half single texts, half pairs (token types where the model has them).
      const pairs = texts.map((x, i) => (i % 2 ? { text: x, text_pair: texts[(i * 7) % texts.length] } : x));
      const got = await engine.classify(pairs, { topK: null });
      const requests = pairs.map((p) => ({
        task: 'classify',
        model,
        ...(typeof p === 'string' ? { ids: engine.tokenizer.encode(p).ids } : encodePair(engine, p.text, p.text_pair)),
      }));
      return {
        info,
        requests,
        compare: (ref) => {
          const failures = [];
          let worst = 0;
          pairs.forEach((p, i) => {
            const byLabel = Object.fromEntries(got[i].map((g) => [g.label, g.score]));
            ref[i].labels.forEach((label, k) => {
              const d = Math.abs(byLabel[label] - ref[i].scores[k]);
              worst = Math.max(worst, d);
              if (!(d <= TOL)) failures.push(`${JSON.stringify(p)} ${label}: ${byLabel[label]} vs ${ref[i].scores[k]}`);
            });
            const best = ref[i].labels[ref[i].scores.indexOf(Math.max(...ref[i].scores))];
            if (got[i][0].label !== best) failures.push(`${JSON.stringify(p)}: top label ${got[i][0].label} vs ${best}`);
          });
          return { checked: pairs.length, failures, worst: `score diff ${worst.toExponential(2)}` };
        },
      };
    }
    if (head === 'qa') return serveQuestionAnswering(engine, model, texts);
    const got = await engine.tokenClassify(texts, { aggregationStrategy: 'simple' });
    const requests = texts.map((x) => {
      const e = engine.tokenizer.encode(x);
      return {
        task: 'token_classify',
        model,
        ids: e.ids,
        text: x,
        offsets: e.offsets,
        tokens: e.tokens,
        special: specialMask(engine, e),
        aggregation_strategy: 'simple',
      };
    });
    return {
      info,
      requests,
      compare: (ref) => {
        const failures = [];
        let worst = 0,
          entities = 0;
        const strip = (list) => list.map(({ score, ...rest }) => rest);
        texts.forEach((x, i) => {
          const want = ref[i].entities;
          entities += want.length;
          if (JSON.stringify(strip(got[i])) !== JSON.stringify(strip(want))) {
            failures.push(`${JSON.stringify(x)}: ${JSON.stringify(strip(got[i]))} vs ${JSON.stringify(strip(want))}`);
            return;
          }
          got[i].forEach((g, k) => {
            const d = Math.abs(g.score - want[k].score);
            worst = Math.max(worst, d);
            if (!(d <= TOL)) failures.push(`${JSON.stringify(x)} entity ${k}: score ${g.score} vs ${want[k].score}`);
          });
        });
        return { checked: texts.length, failures, worst: `${entities} entities, score diff ${worst.toExponential(2)}` };
      },
    };
  } finally {
    await engine.close();
  }
}

/**
 * Question/context pairs made of the generated texts (every context 3+ words, so at least top_k
 * spans), answered with top_k 2: the reference's request has the ids as the engine encodes the
 * pair, whatever the family's layout ([CLS] q [SEP] c [SEP], <s> q </s></s> c </s>): the context
 * is the tokens before the last special token, counted by encoding it alone.
 */
async function serveQuestionAnswering(engine, model, texts) {
  const pairs = texts.map((x, i) => ({
    question: `${texts[(i * 7 + 3) % texts.length].split(' ').slice(0, 4).join(' ')}?`,
    context: `${x} in the city`,
  }));
  const got = await engine.questionAnswering(pairs, { topK: 2 });
  const tok = engine.tokenizer;
  const requests = pairs.map(({ question, context }) => {
    const e = tok.encode(question, { pair: context });
    const c = tok.encode(context, { addSpecialTokens: false }).ids.length;
    return {
      task: 'qa',
      model,
      ids: e.ids,
      // As the engine runs it: type 1 on the context only where the model has token types.
      token_type_ids: engine.info.tokenTypes ? e.typeIds : e.ids.map(() => 0),
      offsets: e.offsets,
      context,
      context_tokens: [e.ids.length - 1 - c, e.ids.length - 2],
      cls_id: tok.info.specialIds.cls,
      top_k: 2,
    };
  });
  return {
    info: engine.info,
    requests,
    compare: (ref) => {
      const failures = [];
      let worst = 0;
      const spans = (list) => list.map((a) => [a.start, a.end, a.answer]);
      pairs.forEach((p, i) => {
        // The pipeline fills a short list with zero-score spans at [CLS]; the engine answers fewer.
        const want = [ref[i].answer].flat().filter((a) => a.score > 0);
        const g = [got[i]].flat();
        if (JSON.stringify(spans(g)) !== JSON.stringify(spans(want))) {
          failures.push(`${JSON.stringify(p)}: ${JSON.stringify(spans(g))} vs ${JSON.stringify(spans(want))}`);
          return;
        }
        g.forEach((a, k) => {
          const d = Math.abs(a.score - want[k].score);
          worst = Math.max(worst, d);
          if (!(d <= TOL)) failures.push(`${JSON.stringify(p)} answer ${k}: score ${a.score} vs ${want[k].score}`);
        });
      });
      return { checked: pairs.length, failures, worst: `score diff ${worst.toExponential(2)}` };
    },
  };
}

function compareFillMask(texts, got, ref) {
  const failures = [];
  let masks = 0;
  texts.forEach((x, i) => {
    const lists = ref[i].top.length === 1 ? [got[i]] : got[i];
    if (lists.length !== ref[i].top.length) {
      failures.push(`${JSON.stringify(x)}: ${lists.length} masks answered, reference ${ref[i].top.length}`);
      return;
    }
    ref[i].top.forEach((want, m) => {
      masks++;
      const diff = compareTopK(
        lists[m].map((p) => ({ id: p.token, score: p.score })),
        want,
        TOL,
      );
      if (diff) failures.push(`${JSON.stringify(x)} mask ${m}: ${diff}`);
    });
  });
  return { checked: texts.length, failures, worst: `${masks} masks` };
}

/**
 * export_hf.py --trace of FAMILY-mlm's checkpoint into `tmp`: fill_mask_logits is compiled on the
 * traced submodules, and the engine serves the file with the scripted export's answers.
 */
export async function checkTraceExport(t, family, tmp) {
  const out = join(tmp, `${family}-traced-export`);
  const res = spawnSync(python, [join(root, 'scripts', 'export_hf.py'), join(testModel(`${family}-mlm`), 'hf'), out, '--trace'], {
    encoding: 'utf8',
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  t.equal(res.status, 0, res.stderr);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  t.equal(config.bert_serve.torchscript, 'trace');
  const types = ['distilbert', 'mpnet'].includes(family) ? [] : ['token_type_ids'];
  t.same(config.bert_serve.forward_inputs, ['input_ids', 'attention_mask', ...types]);
  const traced = await Engine.load({ model: out, warmup: false });
  const scripted = await Engine.load({ model: testModel(`${family}-mlm`), warmup: false });
  try {
    t.match(traced.info.headPath, /^fill_mask_logits/);
    const mask = traced.tokenizer.info.specialTokens.mask;
    const texts = [`the ${mask} of paris`, `a ${mask} river`, `music ${mask} light house ${mask} !`];
    const round = (x) => JSON.stringify(x, (k, v) => (k === 'score' ? Math.round(v * 1e5) : v));
    t.equal(round(await traced.fillMask(texts)), round(await scripted.fillMask(texts)), `${family}: same tokens, scores equal to 1e-5`);
  } finally {
    await traced.close();
    await scripted.close();
  }
}

/**
 * Serves each fixture of `names` with `n` inputs, asks the reference once for all of them (one
 * Python process), and reports per fixture through `t`.
 */
export async function checkAgainstReference(t, names, n, { warmup = false } = {}) {
  const runs = [];
  for (const [k, name] of names.entries()) runs.push({ name, ...(await serve(name, n, 100 + k, { warmup })) });
  const all = runs.flatMap((r) => r.requests);
  const answers = runPython('reference.py', [testModel(names[0])], all);
  let at = 0;
  for (const r of runs) {
    const ref = answers.slice(at, at + r.requests.length);
    at += r.requests.length;
    const { checked, failures, worst } = r.compare(ref);
    t.same(
      failures.slice(0, 5),
      [],
      `${r.name}: ${checked} inputs equal the eager reference (${worst})${failures.length ? `; ${failures.length} differ` : ''}`,
    );
  }
  return runs;
}

// RoBERTa and XLM-R served over real HTTP on their own tokenizers (byte-level BPE from GPT-2's files,
// a Unigram with SentencePiece's precompiled charsmap; scripts/make_tokenizer_fixtures.mjs and
// make_tokenizer_models.py), with clients we did not write: /tokenize's ids are the `tokenizers`
// package's; fill-mask with `<mask>` (Node fetch) answers what the eager reference answers on those
// ids, decoded as the Hugging Face pipeline decodes; a pair sent to /predict (Python's http.client)
// is laid out by the post-processor as Hugging Face lays it out (<s> a </s></s> b </s>, type ids 0)
// and scored as the eager reference scores the oracle's pair ids.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer } from '../helpers/server.mjs';
import { FIXTURES, cleanUp, hf } from '../helpers/tokenizer-oracle.mjs';
import { compareTopK, runPython } from '../integration/fixtures.mjs';

t.setTimeout(300_000);
const python = process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3';
const FAMILIES = [
  { label: 'RoBERTa (byte-level BPE)', tokenizer: 'roberta', mlm: 'roberta-mlm', classify: 'roberta-classify' },
  { label: 'XLM-R (Unigram)', tokenizer: 'xlm-roberta', mlm: 'xlm-roberta-mlm', classify: 'xlm-roberta-classify' },
];
const TEXTS = [
  'The capital of France is <mask>.',
  'Hello <mask>, my name is <mask>!',
  'Москва — <mask> России.',
  '東京は日本の<mask>です。',
];
const PAIRS = [
  ['Where do you live?', 'In a small house by the sea.'],
  ['¿Dónde está la estación?', 'Die Straße ist gesperrt — bitte warten.'],
  ['  spaces  around ', "it's 3.14, isn't it?"],
];
const TOL = 1e-4;

async function post(url, path, body) {
  const res = await fetch(new URL(path, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// Python's http.client, as a user's script would call /predict.
function pythonPredict(port, inputs) {
  const code =
    'import http.client, json, sys\n' +
    'c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)\n' +
    'c.request("POST", "/predict", body=sys.stdin.buffer.read(), headers={"Content-Type": "application/json"})\n' +
    'r = c.getresponse()\n' +
    'print(json.dumps({"status": r.status, "json": json.loads(r.read())}))\n';
  const res = spawnSync(python, ['-c', code, String(port)], { input: JSON.stringify({ inputs }), encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`http.client failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

for (const f of FAMILIES) {
  t.test(`${f.label}: served end to end on its own tokenizer`, async (t) => {
    const oracle = hf.Tokenizer.fromFile(join(FIXTURES, f.tokenizer, 'tokenizer.json'));
    // The eager reference's fill-mask on the oracle's ids, before any request: runPython blocks this
    // process, and a keep-alive connection left idle across it can pass the server's 10 s idle
    // timeout on a loaded machine, its close unread when fetch sends the next request on it.
    const ids = [];
    for (const text of TEXTS) ids.push((await oracle.encode(text)).getIds());
    const ref = runPython(
      'reference_fill_mask.py',
      [join(FIXTURES, f.mlm)],
      ids.map((x) => ({ ids: x, top_k: 5 })),
    );
    const [mlm, classify] = await Promise.all([
      spawnServer(['--model', join(FIXTURES, f.mlm)], { t }),
      spawnServer(['--model', join(FIXTURES, f.classify)], { t }),
    ]);
    const maskId = oracle.tokenToId('<mask>');
    const [bos, eos, pad] = ['<s>', '</s>', '<pad>'].map((s) => oracle.tokenToId(s));

    // /tokenize: the tokenizers package's ids; special marks the tokenizer's special tokens, those
    // the post-processor added and those written in the text (<mask>), as docs/http.md shows.
    const specials = new Set(
      JSON.parse(readFileSync(join(FIXTURES, f.tokenizer, 'tokenizer.json'), 'utf8'))
        .added_tokens.filter((a) => a.special)
        .map((a) => a.id),
    );
    const tok = await post(mlm.url, '/tokenize', { inputs: TEXTS });
    t.equal(tok.status, 200, JSON.stringify(tok.json));
    for (const [i, text] of TEXTS.entries()) {
      const want = await oracle.encode(text);
      t.same(
        tok.json[i].map((x) => x.id),
        want.getIds(),
        `/tokenize ids of ${JSON.stringify(text)} are the oracle's`,
      );
      t.same(
        tok.json[i].map((x) => x.special),
        want.getIds().map((id) => specials.has(id)),
        'special: the special tokens',
      );
      t.ok(
        want.getSpecialTokensMask().every((m, k) => !m || tok.json[i][k].special),
        "the oracle's special-tokens mask among them",
      );
    }

    // Fill-mask with the tokenizer's <mask>: the eager reference's top-5 (ref) on the oracle's ids.
    const fm = await post(mlm.url, '/', { inputs: TEXTS });
    t.equal(fm.status, 200, JSON.stringify(fm.json));
    const info = await (await fetch(new URL('/info', mlm.url))).json();
    t.match(info, { model_type: f.tokenizer }, '/info names the family');
    // The pipeline's decode cleans up spaces when tokenizer_config.json says so (false for these).
    const config = JSON.parse(readFileSync(join(FIXTURES, f.tokenizer, 'tokenizer_config.json'), 'utf8'));
    const tidy = (s) => (config.clean_up_tokenization_spaces ? cleanUp(s) : s);
    const failures = [];
    let checked = 0;
    for (const [i, text] of TEXTS.entries()) {
      const positions = ids[i].flatMap((id, p) => (id === maskId ? [p] : []));
      t.same(ref[i].mask_positions, positions, `${JSON.stringify(text)}: the reference finds the same masks`);
      const perMask = positions.length === 1 ? [fm.json[i]] : fm.json[i];
      for (const [j, pos] of positions.entries()) {
        const bad = compareTopK(
          perMask[j].map((g) => ({ id: g.token, score: g.score })),
          ref[i].top[j],
          TOL,
        );
        if (bad) failures.push(`${JSON.stringify(text)} mask ${j}: ${bad}`);
        for (const g of perMask[j]) {
          const filled = ids[i].map((id, p) => (p === pos ? g.token : id)).filter((id) => id !== pad);
          const tokenStr = tidy(await oracle.decode([g.token], false));
          const sequence = tidy(await oracle.decode(filled, positions.length === 1));
          if (g.token_str !== tokenStr) failures.push(`token_str ${JSON.stringify(g.token_str)} vs ${JSON.stringify(tokenStr)}`);
          if (g.sequence !== sequence) failures.push(`sequence ${JSON.stringify(g.sequence)} vs ${JSON.stringify(sequence)}`);
          checked++;
        }
      }
    }
    t.same(
      failures.slice(0, 10),
      [],
      `${checked} predictions: ids and scores within ${TOL} of the reference, decoded as the pipeline decodes`,
    );

    // Pairs through the post-processor: <s> a </s></s> b </s>, all type ids 0; scored as the eager
    // reference scores the oracle's pair ids.
    const pairIds = [];
    for (const [a, b] of PAIRS) {
      const want = await oracle.encode(a, b);
      const got = want.getIds();
      const aIds = (await oracle.encode(a, null, { addSpecialTokens: false })).getIds();
      const bIds = (await oracle.encode(b, null, { addSpecialTokens: false })).getIds();
      t.same(got, [bos, ...aIds, eos, eos, ...bIds, eos], `${JSON.stringify([a, b])}: <s> a </s></s> b </s>`);
      t.ok(
        want.getTypeIds().every((x) => x === 0),
        'type ids all 0, as RobertaProcessing gives them',
      );
      pairIds.push(got);
    }
    const refPairs = runPython(
      'reference.py',
      [join(FIXTURES, f.classify)],
      pairIds.map((x) => ({ task: 'classify', ids: x })),
    );
    for (const [i, pair] of PAIRS.entries()) {
      const got = pythonPredict(classify.port, pair);
      t.equal(got.status, 200, JSON.stringify(got.json));
      const want = refPairs[i].labels.map((label, k) => ({ label, score: refPairs[i].scores[k] })).sort((x, y) => y.score - x.score);
      t.same(
        got.json.map((x) => x.label),
        want.map((x) => x.label),
        `${JSON.stringify(pair)}: labels in the reference's order`,
      );
      const diff = Math.max(...got.json.map((x, k) => Math.abs(x.score - want[k].score)));
      t.ok(diff <= TOL, `${JSON.stringify(pair)}: scores within ${TOL} of the reference's on the oracle's ids (max abs diff ${diff})`);
    }
    // The same pair alone and as the first text only answer differently: the second text is used.
    const alone = pythonPredict(classify.port, PAIRS[0][0]);
    const both = pythonPredict(classify.port, PAIRS[0]);
    t.not(JSON.stringify(alone.json), JSON.stringify(both.json), "the pair's second text changes the answer");
  });
}

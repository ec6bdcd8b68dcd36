// The Tokenizer class API: loading (vocab.txt, tokenizer.json of every kind, directories) and its
// typed errors, argument validation that names the argument, encode options (special tokens,
// truncation right/left, pairs with their type ids), offsets as JavaScript string indices, decode
// options (and the per-family decoding the fill-mask answers use), id/token lookups, the supported
// component list, and fromNative (with a fake native tokenizer, as the Engine hands one over).
import t from 'tap';
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../dist/tokenizer.js';
import { BertServeError } from '../../dist/errors.js';
import { FIXTURES, hf } from '../helpers/tokenizer-oracle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedData = process.env.BERT_SERVE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const vocabTxt = join(sharedData, 'bert-base-uncased-vocab.txt');
const tokenizerJson = join(sharedData, 'bert-base-uncased-tokenizer.json');
const tok = Tokenizer.load(vocabTxt);

const tmp = mkdtempSync(join(tmpdir(), 'bert-tok-api-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

function throwsCode(t, fn, code, pattern, msg) {
  try {
    fn();
    t.fail(`${msg}: expected ${code}`);
  } catch (e) {
    t.ok(e instanceof BertServeError, `${msg}: a BertServeError`);
    t.equal(e.code, code, `${msg}: ${code}`);
    if (pattern) t.match(e.message, pattern, `${msg}: message`);
  }
}

t.test('load: vocab.txt, tokenizer.json and directories', async (t) => {
  t.equal(tok.vocabSize, 30522);
  const fromJson = Tokenizer.load(tokenizerJson);
  t.equal(fromJson.vocabSize, 30522);
  for (const k of [
    'vocabSize',
    'model',
    'lowercase',
    'stripAccents',
    'specialTokens',
    'specialIds',
    'addedTokens',
    'cleanUpTokenizationSpaces',
  ])
    t.same(fromJson.info[k], tok.info[k], `same ${k} either way`);
  t.same(fromJson.info.pipeline, {
    normalizer: 'BertNormalizer',
    preTokenizer: 'BertPreTokenizer',
    model: 'WordPiece',
    postProcessor: 'TemplateProcessing',
    decoder: 'WordPiece',
    fastPath: true,
  });
  t.equal(tok.info.pipeline.postProcessor, 'BertProcessing', "a vocab.txt gets BERT's [CLS] A [SEP] processing");
  t.same(tok.info.specialIds, { cls: 101, sep: 102, pad: 0, mask: 103, unk: 100 });
  t.same(tok.info.specialTokens, { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', mask: '[MASK]', unk: '[UNK]' });
  t.equal(tok.info.lowercase, true);
  t.equal(tok.info.stripAccents, true);

  const dir = join(tmp, 'cased');
  rmSync(dir, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(dir);
  copyFileSync(join(sharedData, 'bert-base-cased-vocab.txt'), join(dir, 'vocab.txt'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false, model_max_length: 512 }));
  const cased = Tokenizer.load(dir);
  t.equal(cased.info.lowercase, false);
  t.equal(cased.info.stripAccents, false);
  t.equal(cased.info.modelMaxLength, 512);
  t.same(cased.encode('Hello Café', { addSpecialTokens: false }).tokens, ['Hello', 'Café']);
});

t.test('load errors are typed and name the file', async (t) => {
  throwsCode(t, () => Tokenizer.load(join(tmp, 'missing', 'vocab.txt')), 'ERR_MODEL_NOT_FOUND', /missing/, 'missing file');
  writeFileSync(join(tmp, 'bad.json'), '{"model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}}');
  throwsCode(
    t,
    () => Tokenizer.load(join(tmp, 'bad.json')),
    'ERR_TOKENIZER_INVALID',
    /bad\.json: model "WordLevel" is not supported \(supported: WordPiece, BPE, Unigram\)/,
    'unsupported model',
  );
  writeFileSync(join(tmp, 'garbage.json'), '{ nope');
  throwsCode(t, () => Tokenizer.load(join(tmp, 'garbage.json')), 'ERR_TOKENIZER_INVALID', /garbage\.json.*JSON/, 'bad JSON');
  const j = JSON.parse(readFileSync(tokenizerJson, 'utf8'));
  j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'UnicodeScripts' }] };
  writeFileSync(join(tmp, 'scripts.json'), JSON.stringify(j));
  throwsCode(
    t,
    () => Tokenizer.load(join(tmp, 'scripts.json')),
    'ERR_TOKENIZER_INVALID',
    /scripts\.json: pre_tokenizer "UnicodeScripts" is not supported \(supported: BertPreTokenizer, ByteLevel, Metaspace/,
    'nested unsupported pre-tokenizer',
  );
  const c = Tokenizer.supportedComponents();
  t.same(c.models, ['WordPiece', 'BPE', 'Unigram']);
  for (const x of ['Precompiled', 'NFKC', 'Replace', 'Sequence']) t.ok(c.normalizers.includes(x), `normalizer ${x} supported`);
  for (const x of ['ByteLevel', 'Metaspace', 'Split', 'Digits']) t.ok(c.preTokenizers.includes(x), `pre-tokenizer ${x} supported`);
  for (const x of ['RobertaProcessing', 'TemplateProcessing']) t.ok(c.postProcessors.includes(x), `post-processor ${x} supported`);
  for (const x of ['ByteLevel', 'Metaspace', 'ByteFallback']) t.ok(c.decoders.includes(x), `decoder ${x} supported`);
  throwsCode(t, () => Tokenizer.load(''), 'ERR_INVALID_ARGUMENT', /pathToVocabOrTokenizerJsonOrModelDir/, 'empty path');
  throwsCode(t, () => Tokenizer.load(42), 'ERR_INVALID_ARGUMENT', /Expected a non-empty path string/, 'non-string path');
  try {
    Tokenizer.load(join(tmp, 'missing.txt'));
  } catch (e) {
    t.match(e.stack, /tokenizer-api\.test\.mjs/, "the error carries the caller's stack");
  }
});

t.test('encode: specials, offsets as JS string indices', async (t) => {
  const text = 'Hello, 😀 wörld! I [MASK] you';
  const e = tok.encode(text);
  t.same(e.tokens, ['[CLS]', 'hello', ',', '[UNK]', 'world', '!', 'i', '[MASK]', 'you', '[SEP]']);
  t.same(e.ids.slice(0, 2), [101, 7592]);
  t.equal(e.truncated, false);
  t.same(e.offsets[0], [0, 0]);
  t.same(e.offsets.at(-1), [0, 0]);
  const slices = e.offsets.slice(1, -1).map(([s, end]) => text.slice(s, end));
  t.same(slices, ['Hello', ',', '😀', 'wörld', '!', 'I', '[MASK]', 'you'], "text.slice(start, end) is each token's source");
  t.same(tok.encode(text, { addSpecialTokens: false }).tokens, e.tokens.slice(1, -1));
  t.same(tok.encode('').tokens, ['[CLS]', '[SEP]']);
  t.same(tok.encode('', { addSpecialTokens: false }).ids, []);
});

t.test('encode: lone surrogates are U+FFFD (dropped), indices stay JS indices', async (t) => {
  const text = 'ab\uD800cd \uDC00x \uD83D';
  const e = tok.encode(text, { addSpecialTokens: false });
  t.same(e.tokens, ['abc', '##d', 'x']);
  t.same(
    e.offsets,
    [
      [0, 4],
      [4, 5],
      [7, 8],
    ],
    'the lone surrogate at index 2 still counts as one index',
  );
});

t.test('encode: truncation keeps [CLS] and [SEP]', async (t) => {
  const text = 'the quick brown fox jumps over the lazy dog';
  const full = tok.encode(text);
  const cut = tok.encode(text, { maxLength: 6 });
  t.equal(cut.ids.length, 6);
  t.equal(cut.truncated, true);
  t.same(cut.ids, [...full.ids.slice(0, 5), 102]);
  t.same(cut.offsets.slice(0, 5), full.offsets.slice(0, 5));
  t.equal(tok.encode(text, { maxLength: full.ids.length }).truncated, false);
  t.same(tok.encode(text, { addSpecialTokens: false, maxLength: 2 }).tokens, ['the', 'quick']);
  t.same(tok.encode(text, { maxLength: 2 }).tokens, ['[CLS]', '[SEP]']);
});

t.test('encode: arguments are validated with their names', async (t) => {
  throwsCode(t, () => tok.encode(42), 'ERR_INVALID_ARGUMENT', /for text but received number 42/, 'text');
  throwsCode(t, () => tok.encode('x', 'nope'), 'ERR_INVALID_ARGUMENT', /for options/, 'options');
  throwsCode(t, () => tok.encode('x', { addSpecialTokens: 1 }), 'ERR_INVALID_ARGUMENT', /options\.addSpecialTokens/, 'addSpecialTokens');
  throwsCode(t, () => tok.encode('x', { maxLength: 1 }), 'ERR_INVALID_ARGUMENT', /an integer >= 2 for options\.maxLength/, 'maxLength < 2');
  throwsCode(
    t,
    () => tok.encode('x', { pair: 'y', maxLength: 2 }),
    'ERR_INVALID_ARGUMENT',
    /an integer >= 3 for options\.maxLength/,
    'pair maxLength < 3',
  );
  throwsCode(t, () => tok.encode('x', { pair: 3 }), 'ERR_INVALID_ARGUMENT', /options\.pair/, 'pair type');
  throwsCode(t, () => tok.encode('x', { truncationSide: 'middle' }), 'ERR_INVALID_ARGUMENT', /options\.truncationSide/, 'truncationSide');
  throwsCode(t, () => tok.encode('x', { maxLength: 3.5 }), 'ERR_INVALID_ARGUMENT', /options\.maxLength/, 'fractional maxLength');
  throwsCode(t, () => tok.encode('x', { addSpecialTokens: false, maxLength: 0 }), 'ERR_INVALID_ARGUMENT', /an integer >= 1/, 'maxLength 0');
});

t.test('decode: as Hugging Face', async (t) => {
  const ids = tok.encode("Hello, world! I can't go.").ids;
  t.equal(tok.decode(ids), "[CLS] hello, world! i can't go. [SEP]");
  t.equal(tok.decode(ids, { skipSpecialTokens: true }), "hello, world! i can't go.");
  // As BertTokenizerFast: the WordPiece decoder's per-token cleanup runs either way; the option adds
  // transformers' whole-string pass (" ' " -> "'").
  t.equal(tok.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }), "hello, world! i can ' t go.");
  t.equal(tok.decode(new Int32Array(tok.encode('unaffable').ids), { skipSpecialTokens: true }), 'unaffable');
  t.equal(tok.decode([tok.tokenToId('##ing')]), '##ing', 'a leading continuation keeps its ##');
  t.equal(tok.decode([]), '');
  t.equal(tok.decode([1996, 999999]), 'the', 'ids without a token are skipped');
  throwsCode(t, () => tok.decode('1996'), 'ERR_INVALID_ARGUMENT', /for ids/, 'ids not an array');
  throwsCode(t, () => tok.decode([1, 2.5]), 'ERR_INVALID_ARGUMENT', /for ids\[1\]/, 'non-integer id');
  throwsCode(t, () => tok.decode([1], { skipSpecialTokens: 'yes' }), 'ERR_INVALID_ARGUMENT', /options\.skipSpecialTokens/, 'skip option');
});

t.test('idToToken / tokenToId', async (t) => {
  t.equal(tok.idToToken(1996), 'the');
  t.equal(tok.idToToken(103), '[MASK]');
  t.equal(tok.idToToken(30522), null);
  t.equal(tok.idToToken(-1), null);
  t.equal(tok.tokenToId('the'), 1996);
  t.equal(tok.tokenToId('##ing'), 2075);
  t.equal(tok.tokenToId('The'), null, 'exact lookup: no normalization');
  throwsCode(t, () => tok.idToToken('1'), 'ERR_INVALID_ARGUMENT', /for id/, 'id type');
  throwsCode(t, () => tok.tokenToId(1), 'ERR_INVALID_ARGUMENT', /for token/, 'token type');
});

t.test('fromNative wraps what the Engine hands over; native errors become typed', async (t) => {
  const calls = [];
  const fake = {
    encode(text, add, max) {
      calls.push([text, add, max]);
      if (text === 'boom') throw Object.assign(new Error('bad input'), { code: 'ERR_INVALID_ARGUMENT' });
      return {
        ids: new Int32Array([101, 7, 102]),
        tokens: ['[CLS]', 'x', '[SEP]'],
        offsets: new Uint32Array([0, 0, 0, 1, 0, 0]),
        typeIds: new Uint32Array(3),
        specialTokensMask: new Uint8Array([1, 0, 1]),
        truncated: false,
      };
    },
    decode: () => 'x',
    idToToken: () => 'x',
    tokenToId: () => 7,
    info: () => ({
      vocabSize: 8,
      lowercase: true,
      stripAccents: true,
      modelMaxLength: 512,
      specialTokens: {},
      specialIds: {},
      addedTokens: { single: 2, pair: 3 },
      cleanUpTokenizationSpaces: true,
    }),
  };
  const w = Tokenizer.fromNative(fake);
  t.equal(w.vocabSize, 8);
  t.same(w.encode('x', { maxLength: 10 }), {
    ids: [101, 7, 102],
    tokens: ['[CLS]', 'x', '[SEP]'],
    offsets: [
      [0, 0],
      [0, 1],
      [0, 0],
    ],
    typeIds: [0, 0, 0],
    specialTokensMask: [1, 0, 1],
    truncated: false,
  });
  t.same(calls[0], ['x', true, 10]);
  throwsCode(t, () => w.encode('boom'), 'ERR_INVALID_ARGUMENT', /bad input/, 'native error');
  throwsCode(t, () => Tokenizer.fromNative(null), 'ERR_INVALID_ARGUMENT', /for native/, 'null native');
});

t.test('every kind: roles, pairs through the post-processor, type ids, decode as the fill-mask pipeline does', async (t) => {
  const load = (name) => Tokenizer.load(join(FIXTURES, name));
  const roberta = load('roberta'),
    xlmr = load('xlm-roberta'),
    mpnet = load('mpnet');
  t.same(roberta.info.pipeline, {
    normalizer: null,
    preTokenizer: 'ByteLevel',
    model: 'BPE',
    postProcessor: 'RobertaProcessing',
    decoder: 'ByteLevel',
    fastPath: false,
  });
  t.equal(xlmr.info.pipeline.normalizer, 'Sequence[Precompiled, Replace]');
  t.equal(xlmr.info.pipeline.model, 'Unigram');
  t.equal(mpnet.info.pipeline.postProcessor, 'RobertaProcessing');
  for (const [name, k] of [
    ['roberta', roberta],
    ['xlm-roberta', xlmr],
    ['mpnet', mpnet],
  ]) {
    t.same(
      k.info.specialTokens,
      { cls: '<s>', sep: '</s>', pad: '<pad>', mask: '<mask>', unk: name === 'mpnet' ? '[UNK]' : '<unk>' },
      `${name}: roles`,
    );
    t.same(k.info.addedTokens, { single: name === 'xlm-roberta' ? 2 : 2, pair: 4 }, `${name}: special tokens added`);
    t.equal(k.info.cleanUpTokenizationSpaces, name === 'mpnet', `${name}: decode's clean-up default`);
  }
  // RoBERTa's pair: <s> A </s></s> B </s>, every type id 0; <mask> (lstrip) takes the space before it.
  const p = roberta.encode('Paris is the <mask> of France.', { pair: 'It is.' });
  t.same(p.tokens, ['<s>', 'Paris', 'Ġis', 'Ġthe', '<mask>', 'Ġof', 'ĠFrance', '.', '</s>', '</s>', 'It', 'Ġis', '.', '</s>']);
  t.same(p.typeIds, new Array(14).fill(0));
  t.same(p.specialTokensMask, [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]);
  t.same(p.offsets[4], [13, 19], 'lstrip took the space before <mask>; RobertaProcessing trims it off the offsets again');
  // BERT's pair: type ids 1 on the second text.
  t.same(tok.encode('a b', { pair: 'c' }).typeIds, [0, 0, 0, 0, 1, 1]);
  // Left truncation keeps the end.
  const text = 'one two three four five six';
  const left = xlmr.encode(text, { maxLength: 4, truncationSide: 'left' });
  t.equal(left.ids.length, 4);
  t.equal(left.offsets.at(-2)[1], text.length, 'left truncation keeps the end of the text');
  // Tokenizing stops at max_length (as Rust's tokenize_with_limit): a text cut exactly there is
  // still reported truncated.
  for (const side of ['right', 'left']) {
    const whole = roberta.encode(text, { addSpecialTokens: false });
    const stop = roberta.encode(text, { addSpecialTokens: false, maxLength: 3, truncationSide: side });
    t.same([stop.ids.length, stop.truncated, whole.truncated], [3, true, false], `${side}: cut where tokenizing stopped, truncated`);
    t.equal(roberta.encode(text, { addSpecialTokens: false, maxLength: whole.ids.length, truncationSide: side }).truncated, false);
  }
  // token_str: decode([id]) with the tokenizer's default; byte-level BPE keeps the leading space.
  const oracle = hf.Tokenizer.fromFile(join(FIXTURES, 'roberta', 'tokenizer.json'));
  const id = roberta.tokenToId('Ġcapital');
  t.equal(roberta.decode([id]), ' capital');
  t.equal(roberta.decode([id]), await oracle.decode([id], false));
  t.equal(xlmr.decode([xlmr.tokenToId('\u2581the')]), 'the', "Metaspace: a first token's '\u2581' is dropped");
  const ids = roberta.encode('Paris is the capital of France.').ids;
  t.equal(roberta.decode(ids, { skipSpecialTokens: true }), 'Paris is the capital of France.');
  t.equal(roberta.decode(ids), '<s>Paris is the capital of France.</s>');
  const x = xlmr.encode('Paris is the capital of France.').ids;
  t.equal(xlmr.decode(x, { skipSpecialTokens: true }), 'Paris is the capital of France.');
  t.equal(mpnet.decode(mpnet.encode("Paris isn't the capital.").ids, { skipSpecialTokens: true }), "paris isn't the capital.");
});

t.test('--help and /info list the components the native tokenizer implements', async (t) => {
  const { TOKENIZER_COMPONENTS } = await import('../../dist/tokenizer_components.js');
  t.same(JSON.parse(JSON.stringify(TOKENIZER_COMPONENTS)), Tokenizer.supportedComponents());
  const { renderHelp } = await import('../../dist/config.js');
  const help = renderHelp();
  for (const list of Object.values(TOKENIZER_COMPONENTS)) t.ok(help.includes(list.join(', ')), `--help lists ${list[0]}, ...`);
});

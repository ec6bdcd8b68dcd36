#!/usr/bin/env python3
"""An XLM-RoBERTa-style tokenizer.json, made offline from real text on this machine.

    /usr/bin/python3 scripts/make_unigram_fixture.py OUT_DIR [--vocab-size N]

1. Training text: the translations in half of the gettext catalogs under /usr/share/locale (every
   language the system ships: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, CJK, ...,
   the other half is held out for the tests; the list used is written to OUT_DIR/training_sources.txt)
   and the English of /usr/share/doc/*/copyright.
2. A Unigram model trained by Debian's sentencepiece (spm_train: unigram, the default nmt_nfkc
   normalization, whose rules it compiles into the model's precompiled_charsmap).
3. The model converted as transformers' XLMRobertaConverter converts xlm-roberta-base (and as that
   checkpoint's tokenizer.json on the Hub reads): vocabulary <s> <pad> </s> <unk> (ids 0-3), the
   model's pieces from its fourth on with their scores, <mask> last; unk_id 3; normalizer
   Precompiled(charsmap) then Replace(" {2,}" -> " "); Metaspace pre-tokenizer and decoder ("▁",
   prepend always); "<s> $A </s>" / "<s> $A </s> </s> $B </s>"; <mask> with lstrip.

The model file is read with a small protobuf reader (ModelProto: pieces 1 {piece 1, score 2,
type 3}, normalizer_spec 3 {precompiled_charsmap 2}); no protobuf package is needed. Writes
tokenizer.json, tokenizer_config.json, special_tokens_map.json and training_sources.txt; skips the
work when tokenizer.json is newer than this script, and the training when the machine's cache holds
a model trained on the same text with the same settings (trained_model below).
"""
import base64
import glob
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib


def log(msg):
    print(f"[unigram fixture] {msg}", file=sys.stderr, flush=True)


def mo_translations(path):
    """The msgstr strings of a GNU .mo catalog (both byte orders), decoded as UTF-8 where they are."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 28:
        return []
    for order in ("<", ">"):
        magic, _rev, n, _orig, trans = struct.unpack(order + "5I", data[:20])
        if magic == 0x950412DE:
            break
    else:
        return []
    out = []
    for i in range(n):
        off = trans + 8 * i
        if off + 8 > len(data):
            break
        length, at = struct.unpack(order + "2I", data[off:off + 8])
        raw = data[at:at + length]
        for piece in raw.split(b"\0"):  # plural forms are NUL-separated
            try:
                text = piece.decode("utf-8").strip()
            except UnicodeDecodeError:
                continue
            if text and "Content-Type:" not in text:
                out.append(text)
    return out


def is_training(path):
    """Half of the catalogs, chosen by a stable hash of the path (the tests use the other half)."""
    return zlib.crc32(path.encode()) % 2 == 0


def training_text(max_lines):
    sources, lines = [], []
    for path in sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo")):
        if not is_training(path):
            continue
        got = mo_translations(path)
        if got:
            sources.append(path)
            lines.extend(t.replace("\n", " ") for t in got)
    for path in sorted(glob.glob("/usr/share/doc/*/copyright"))[:400]:
        try:
            with open(path, encoding="utf-8") as f:
                lines.extend(line.strip() for line in f if line.strip())
            sources.append(path)
        except (UnicodeDecodeError, OSError):
            pass
    return sources, lines[:max_lines]


def read_varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """(field number, wire type, value) of a protobuf message: varints as ints, length-delimited as bytes."""
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, wire, value


def read_model(model):
    pieces, charsmap = [], b""
    for num, _wire, value in fields(model):
        if num == 1:  # SentencePiece
            piece, score, kind = "", 0.0, 1
            for n, _w, v in fields(value):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = struct.unpack("<f", v)[0]
                elif n == 3:
                    kind = v
            pieces.append((piece, score, kind))
        elif num == 3:  # NormalizerSpec
            for n, _w, v in fields(value):
                if n == 2:
                    charsmap = bytes(v)
    return pieces, charsmap


def convert(pieces, charsmap):
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p, float(s)] for p, s, _k in pieces[3:]]
    vocab += [["<mask>", 0.0]]
    mask_id = len(vocab) - 1

    def added(i, content, lstrip=False):
        return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
                "normalized": False, "special": True}

    special = lambda name, i: {"id": name, "ids": [i], "tokens": [name]}
    seq = lambda s, t=0: {"Sequence": {"id": s, "type_id": t}}
    tok = lambda s, t=0: {"SpecialToken": {"id": s, "type_id": t}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(mask_id, "<mask>", lstrip=True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True,
                          "prepend_scheme": "always"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [tok("<s>"), seq("A"), tok("</s>")],
            "pair": [tok("<s>"), seq("A"), tok("</s>"), tok("</s>"), seq("B"), tok("</s>")],
            "special_tokens": {"<s>": special("<s>", 0), "</s>": special("</s>", 2)},
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True, "prepend_scheme": "always"},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


def trained_model(lines, sources, vocab_size):
    """The bytes of a Unigram model (a sentencepiece ModelProto) trained on `lines`, from the machine's cache when the same text was
    trained on before with the same settings and spm_train (the training is ~100 s of two cores, most
    of what a clean clone's `npm test` spends on tokenizer fixtures; a machine that ran it before, as
    ccache for the compiles, skips it). Cache: $BERT_SERVE_CACHE_DIR, else $XDG_CACHE_HOME/bert-serve,
    else ~/.cache/bert-serve; BERT_SERVE_CACHE_DIR=off trains every time."""
    settings = ["--model_type=unigram", f"--vocab_size={vocab_size}", "--character_coverage=0.9995", "--num_threads=2",
                "--input_sentence_size=400000", "--shuffle_input_sentence=true", "--minloglevel=1"]
    text = "\n".join(lines) + "\n"
    version = subprocess.run(["spm_train", "--version"], capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256("\0".join([text, *settings, version]).encode()).hexdigest()[:32]
    cache_root = os.environ.get("BERT_SERVE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bert-serve")
    cached = None if cache_root == "off" else os.path.join(cache_root, "unigram", key + ".model")
    if cached and os.path.exists(cached):
        log(f"the {vocab_size}-piece Unigram model for these {len(lines)} lines, from the cache ({cached})")
        with open(cached, "rb") as f:
            return f.read()
    log(f"training a {vocab_size}-piece Unigram model on {len(lines)} lines from {len(sources)} files")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(text)
        prefix = os.path.join(tmp, "spm")
        subprocess.run(["spm_train", f"--input={corpus}", f"--model_prefix={prefix}", *settings], check=True)
        with open(prefix + ".model", "rb") as f:
            model = f.read()
    if cached:
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        # Written under another name and renamed: a reader never sees half a file.
        with open(f"{cached}.{os.getpid()}", "wb") as f:
            f.write(model)
        os.replace(f"{cached}.{os.getpid()}", cached)
    return model


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = args[0]
    vocab_size = int(args[args.index("--vocab-size") + 1]) if "--vocab-size" in args else 8000
    target = os.path.join(out, "tokenizer.json")
    if os.path.exists(target) and os.path.getmtime(target) > os.path.getmtime(__file__):
        log(f"{target} is up to date")
        return
    os.makedirs(out, exist_ok=True)
    sources, lines = training_text(400_000)
    if len(lines) < 20_000:
        sys.exit(f"[unigram fixture] only {len(lines)} lines of training text found under /usr/share/locale and "
                 "/usr/share/doc; the fixture needs the system's gettext catalogs")
    pieces, charsmap = read_model(trained_model(lines, sources, vocab_size))
    if not charsmap:
        sys.exit("[unigram fixture] the trained model has no precompiled_charsmap")
    if [p for p, _s, _k in pieces[:3]] != ["<unk>", "<s>", "</s>"]:
        sys.exit(f"[unigram fixture] unexpected first pieces {[p for p, _s, _k in pieces[:3]]}")
    with open(os.path.join(out, "training_sources.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sources) + "\n")
    tokenizer = convert(pieces, charsmap)
    mask = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False,
            "special": True, "__type": "AddedToken"}
    roles = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
             "pad_token": "<pad>", "mask_token": mask}
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({**roles, "model_max_length": 512, "tokenizer_class": "XLMRobertaTokenizer"}, f, indent=2)
    with open(os.path.join(out, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(roles, f, indent=2)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    log(f"wrote {target}: {len(tokenizer['model']['vocab'])} pieces, a {len(charsmap)}-byte precompiled_charsmap")


if __name__ == "__main__":
    main()

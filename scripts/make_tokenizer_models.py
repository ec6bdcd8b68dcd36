"""Masked LMs and classifiers on the real tokenizers of each kind, so fill-mask and pairs run end to end on them.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_tokenizer_models.py FIXTURES_DIR

FIXTURES_DIR is scripts/make_tokenizer_fixtures.mjs's output (it calls this script last). For each
of its tokenizers with a family:
  FIXTURES_DIR/roberta-mlm       RobertaForMaskedLM on roberta/ (byte-level BPE, GPT-2's vocabulary)
  FIXTURES_DIR/xlm-roberta-mlm   XLMRobertaForMaskedLM on xlm-roberta/ (Unigram, precompiled charsmap)
  FIXTURES_DIR/mpnet-mlm         MPNetForMaskedLM on mpnet/ (WordPiece + RobertaProcessing)
  FIXTURES_DIR/roberta-classify, xlm-roberta-classify
                                 RobertaForSequenceClassification / XLMRobertaForSequenceClassification
                                 on the same files (SENTIMENT's labels): pairs end to end through the
                                 post-processor (<s> a </s></s> b </s>)
each a Hugging Face checkpoint in DIR/hf (the family's shape from bert/family_fixture_dirs.py:
hidden 32, 2 layers; vocab_size the tokenizer's; seeded weights, the special tokens' output bias
lowered as a trained model has it) with the tokenizer's files beside it, exported by export_hf
into DIR. The family fixtures of make_test_models.py use WordPiece vocabularies for every family;
these are the ones whose `<mask>`, ids and decoding are the family's own tokenizer's.
A directory whose .bert-serve-stamp.json names the same sources is left alone.
"""
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

# name: (family, tokenizer directory, head)
MODELS = {"roberta-mlm": ("roberta", "roberta", "mlm"), "xlm-roberta-mlm": ("xlmr", "xlm-roberta", "mlm"),
          "mpnet-mlm": ("mpnet", "mpnet", "mlm"),
          "roberta-classify": ("roberta", "roberta", "classify"),
          "xlm-roberta-classify": ("xlmr", "xlm-roberta", "classify")}
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
SEED = 4100
SPECIAL_PENALTY = 8.0


def fingerprint(tok_dir: str) -> str:
    h = hashlib.sha256()
    for path in [os.path.abspath(__file__)] + [os.path.join(tok_dir, f) for f in TOKENIZER_FILES]:
        if os.path.exists(path):
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def build(fixtures: str, name: str, family: str, tok_name: str, head: str) -> None:
    import torch

    from bert import synthetic
    from bert.checkpoint import tokenizer_vocab
    from bert.export import export
    from bert.family_fixture_dirs import SHAPES, architecture
    from bert.families.registry import ARCHITECTURES
    from bert.task_fixture_dirs import SENTIMENT

    tok_dir, out = os.path.join(fixtures, tok_name), os.path.join(fixtures, name)
    stamp = os.path.join(out, ".bert-serve-stamp.json")
    want = fingerprint(tok_dir)
    try:
        with open(stamp, encoding="utf-8") as f:
            if json.load(f).get("sources") == want:
                return
    except (OSError, ValueError):
        pass
    with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
        specials = [t["id"] for t in json.load(f).get("added_tokens", []) if t.get("special")]
    vocab = tokenizer_vocab(tok_dir)
    cfg = dict(SHAPES[family], vocab_size=max(vocab.values()) + 1,
               architectures=[architecture(family, head)], torch_dtype="float32")
    if head == "classify":
        cfg.update(id2label={str(i): l for i, l in enumerate(SENTIMENT)},
                   label2id={l: i for i, l in enumerate(SENTIMENT)})
    arch = ARCHITECTURES[cfg["architectures"][0]]
    config = arch.config_from(cfg)
    with torch.no_grad():
        model = arch.cls(config).eval()
        synthetic.init_weights(model, config, SEED + list(MODELS).index(name))
        if head == "mlm":
            dict(model.named_parameters())["lm_head.bias"][specials] -= SPECIAL_PENALTY
    if os.path.isdir(out):
        shutil.rmtree(out)
    hf = os.path.join(out, "hf")
    synthetic.write_checkpoint(hf, cfg, model.state_dict())
    os.remove(os.path.join(hf, "vocab.txt"))  # the checkpoint's tokenizer is the fixture's own
    for f in TOKENIZER_FILES:
        if os.path.exists(os.path.join(tok_dir, f)):
            shutil.copyfile(os.path.join(tok_dir, f), os.path.join(hf, f))
    s = export(hf, out, log=lambda _m: None)
    with open(stamp, "w", encoding="utf-8") as f:
        json.dump({"sources": want, "max_abs_diff": s.get("max_abs_diff")}, f)
    print(f"[tokenizer models] {name}: vocab {cfg['vocab_size']}, export max abs diff "
          f"{s.get('max_abs_diff')}", file=sys.stderr)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_tokenizer_models.py FIXTURES_DIR")
    for name, (family, tok_name, head) in MODELS.items():
        build(sys.argv[1], name, family, tok_name, head)


if __name__ == "__main__":
    main()

"""Make the fixture model directories the tests load (small, deterministic, idempotent).

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_test_models.py OUT_DIR [--only a,b] [-v]

One directory per fixture under OUT_DIR, and OUT_DIR/fixtures.json describing them (what each
is for, the error code the engine should answer with, build facts such as slow's spin count).
Valid models share one set of tiny weights (hidden 32, 1 layer, 2 heads, the real uncased
vocabulary), so the same input gives the same answer from tiny, traced, tokenizer-json, slow
and failing; reference_fill_mask.py reproduces them.
  tiny            valid fill-mask, exported by export_hf from tiny/hf (kept there)
  traced          torch.jit.trace, forward(input_ids, attention_mask) -> (logits,), like HF's
                  torchscript=True; no fill_mask_logits; config has no bert_serve block
  tokenizer-json  like tiny, with tokenizer.json instead of vocab.txt
  slow            valid fill-mask; every call spins ~200 ms (idle machine) on top of the model,
                  whatever the batch
  failing         valid fill-mask; raises when an input id is "explode"'s (15044)
  hanging         valid fill-mask; spins ~3 s (idle machine) when an input id is "freeze"'s
  missing-model   config + vocabulary, no model.pt
  not-torchscript model.pt is 4 KiB of seeded random bytes
  wrong-signature forward takes one tensor
  wrong-output    forward -> [batch, seq, 7] (and fill_mask_logits -> [m, 7]), vocab_size 30522
  vocab-mismatch  a BertForMaskedLM with vocab_size 1000 next to the 30522-line vocab.txt
  bad-config      config.json is not valid JSON (the rest is tiny's)
  encoder         BertModel (architectures ["BertModel"]), forward -> last_hidden_state
  fast-path-swapped        tiny's weights and forward; its fill_mask_logits passes (attention_mask,
                  input_ids) to the encoder: the load-time probe must refuse that path
  fast-path-inverted-mask  the same with fill_mask_logits attending to the padding instead
Other tasks (hidden 32, 1 layer, each task its own seeded weights, shared by its variants):
  embed           BertModel exported from the sentence-transformers layout kept in embed/hf (keys
                  without "bert."); forward -> last_hidden_state [b, s, 32]; modules.json,
                  1_Pooling/config.json (mean), config_sentence_transformers.json (prompts
                  query: / passage:) and sentence_bert_config.json copied
  embed-cls       embed's weights, plain HF layout, no pooling config (the default: cls)
  classify        BertForSequenceClassification, labels negative/neutral/positive;
                  forward -> logits [b, 3]; the predicted label varies with the input
  classify-multi  like classify, problem_type multi_label_classification, 4 labels
                  (sports/politics/science/arts); forward -> [b, 4]
  rerank          BertForSequenceClassification with one label (LABEL_0), a cross-encoder;
                  forward -> [b, 1]
  ner             BertForTokenClassification, labels O B-PER I-PER B-LOC I-LOC B-ORG I-ORG
                  B-MISC I-MISC; forward -> [b, s, 9]; argmaxes mix O, B-* and I-*
  mlm-traced      tiny's weights traced as HF's torchscript=True gives it: forward(input_ids,
                  attention_mask) -> (logits,); float32 mask conversion baked in; no bert_serve
  embed-traced    embed's weights, HF BertModel traced: -> (last_hidden_state, pooler_output);
                  embed's sentence-transformers files (mean pooling)
  embed-traced-nopooler  embed's weights without the pooler, traced: -> (last_hidden_state,);
                  no pooling config
  classify-traced classify's weights traced: -> (logits,) [b, 3]
  ner-traced      ner's weights traced: -> (logits,) [b, s, 9]
  qa              BertForQuestionAnswering (extractive question answering); forward -> start and
                  end logits [b, s, 2]; the best span varies with the input
  qa-traced       qa's weights traced as HF's torchscript=True gives it, with token_type_ids (a
                  pair's second text has type 1): forward(input_ids, attention_mask,
                  token_type_ids) -> (start_logits, end_logits), each [b, s]
  int8            tiny exported with --quantize int8 (fill_mask_logits kept)
  classify-int8   classify exported with --quantize int8
BERT's relatives (bert/family_fixture_dirs.py: hidden 32, 2 layers, each family and head its own
seeded weights, shared by the exported directory and its traced twin), FAMILY one of distilbert,
roberta, xlmr (XLM-RoBERTa), electra, mpnet and HEAD one of mlm (fill-mask), embed
(embeddings), classify (3 labels), ner (9 labels) and qa (question answering; the best span
varies with the input):
  FAMILY-HEAD     the family's class as a HF checkpoint in FAMILY-HEAD/hf (mpnet-embed and
                  distilbert-embed: sentence-transformers directories, mean pooling), exported
  FAMILY-HEAD-traced  the same weights traced as transformers' module with torchscript=True
                  (input_ids, attention_mask, + token_type_ids for electra) -> a tuple
                  ((start_logits, end_logits) for qa)
Models whose output is NaN for some inputs only (scripted; the weights of tiny, embed, classify,
rerank and ner, so other inputs get those fixtures' answers): a row holding the word "nan" is NaN,
a row holding "infinity" is +Inf (the hidden states for fill-mask and embeddings, the logits for
the classifiers):
  nonfinite-mlm   fill-mask (both words give NaN logits: LayerNorm of Inf is NaN)
  nonfinite-embed embeddings, mean pooling (embed's sentence-transformers files)
  nonfinite-classify  text-classification, 3 labels
  nonfinite-rerank    one label (rerank)
  nonfinite-ner   token-classification
Each directory is rebuilt only when its .bert-serve-stamp.json is missing or records other
script sources (the builders are in bert/fixture_dirs.py and bert/task_fixture_dirs.py); when
all are up to date, torch is not even imported.
"""
import argparse
import json
import os
import shutil
import sys
import time
from typing import Callable, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)
from bert.layout import CheckpointError, VerifyError  # noqa: E402
from vocab import VocabError  # noqa: E402

_VALID = ["model.pt", "config.json", "vocab.txt"]
# name -> (files that must exist, what the engine should say when loading it)
FIXTURES: Dict[str, tuple] = {
    "tiny": (["model.pt", "config.json", "vocab.txt"], "ok"),
    "traced": (["model.pt", "config.json", "vocab.txt"], "ok"),
    "tokenizer-json": (["model.pt", "config.json", "tokenizer.json"], "ok"),
    "slow": (["model.pt", "config.json", "vocab.txt"], "ok"),
    "failing": (["model.pt", "config.json", "vocab.txt"],
                "ok; ERR_INFERENCE_FAILED for inputs containing 'explode'"),
    "hanging": (["model.pt", "config.json", "vocab.txt"], "ok; a batch holding 'freeze' runs for seconds"),
    "missing-model": (["config.json", "vocab.txt"], "ERR_MODEL_NOT_FOUND"),
    "not-torchscript": (["model.pt"], "ERR_MODEL_INVALID"),
    "wrong-signature": (["model.pt"], "ERR_MODEL_INVALID"),
    "wrong-output": (["model.pt"], "ERR_MODEL_INVALID"),
    "vocab-mismatch": (["model.pt"], "ERR_VOCAB_MISMATCH"),
    "bad-config": (["model.pt", "config.json"], "ERR_CONFIG_INVALID"),
    "encoder": (["model.pt", "config.json", "vocab.txt"],
                "task embeddings; ERR_MODEL_INVALID while only fill-mask is served"),
    "fast-path-swapped": (_VALID, "ok; head_path encoder_then_head (its fill_mask_logits is wrong)"),
    "fast-path-inverted-mask": (_VALID, "ok; head_path encoder_then_head (its fill_mask_logits is wrong)"),
    "embed": (_VALID + ["modules.json", "1_Pooling/config.json"], "ok; task embeddings (mean)"),
    "embed-cls": (_VALID, "ok; task embeddings (cls)"),
    "classify": (_VALID, "ok; task text-classification"),
    "classify-multi": (_VALID, "ok; task text-classification (sigmoid)"),
    "rerank": (_VALID, "ok; task rerank (one label)"),
    "ner": (_VALID, "ok; task token-classification"),
    "mlm-traced": (_VALID, "ok; task fill-mask, no fill_mask_logits"),
    "embed-traced": (_VALID + ["1_Pooling/config.json"], "ok; task embeddings (mean)"),
    "embed-traced-nopooler": (_VALID, "ok; task embeddings (cls)"),
    "classify-traced": (_VALID, "ok; task text-classification"),
    "ner-traced": (_VALID, "ok; task token-classification"),
    "qa": (_VALID, "ok; task question-answering"),
    "qa-traced": (_VALID, "ok; task question-answering"),
    "int8": (_VALID, "ok; task fill-mask, int8 (CPU only)"),
    "classify-int8": (_VALID, "ok; task text-classification, int8 (CPU only)"),
    "nonfinite-mlm": (_VALID, "ok; ERR_NON_FINITE_OUTPUT for texts holding 'nan' or 'infinity'"),
    "nonfinite-embed": (_VALID + ["1_Pooling/config.json"], "ok; ERR_NON_FINITE_OUTPUT for texts holding 'nan' or 'infinity'"),
    "nonfinite-classify": (_VALID, "ok; ERR_NON_FINITE_OUTPUT for texts holding 'nan' or 'infinity'"),
    "nonfinite-rerank": (_VALID, "ok; ERR_NON_FINITE_OUTPUT for texts holding 'nan' or 'infinity'"),
    "nonfinite-ner": (_VALID, "ok; ERR_NON_FINITE_OUTPUT for texts holding 'nan' or 'infinity'"),
}
# BERT's relatives; bert/family_fixture_dirs.py builds these (and checks it builds exactly these).
RELATIVES = ["distilbert", "roberta", "xlmr", "electra", "mpnet"]
RELATIVE_HEADS = {"mlm": "fill-mask", "embed": "embeddings", "classify": "text-classification",
                  "ner": "token-classification", "qa": "question-answering"}
for _family in RELATIVES:
    for _head, _task in RELATIVE_HEADS.items():
        for _suffix in ("", "-traced"):
            FIXTURES[f"{_family}-{_head}{_suffix}"] = (_VALID, f"ok; task {_task}")


def make(out_dir: str, names: List[str], log: Callable[[str], None]) -> List[str]:
    with stamp.build_lock(out_dir):
        return _make(out_dir, names, log)


def _make(out_dir: str, names: List[str], log: Callable[[str], None]) -> List[str]:
    params = {name: {"fixture": name} for name in names}
    todo = [n for n in names
            if not stamp.stamp_matches(os.path.join(out_dir, n), __file__, params[n], FIXTURES[n][0])]
    lines = [f"{n}: up to date" for n in names if n not in todo]
    if todo:
        import torch
        from bert import family_fixture_dirs, fixture_dirs, task_fixture_dirs
        builders = {**fixture_dirs.BUILDERS, **task_fixture_dirs.BUILDERS,
                    **family_fixture_dirs.BUILDERS}
        assert set(builders) == set(FIXTURES), "make_test_models.py lists other fixtures"
        torch.set_num_threads(2)
    for name in todo:
        d = os.path.join(out_dir, name)
        t0 = time.time()
        if os.path.isdir(d):
            shutil.rmtree(d)  # leftovers (say, an old model.pt in missing-model) would lie
        os.makedirs(d)
        info = builders[name](d, log)
        stamp.write_stamp(d, __file__, params[name], info)
        lines.append(f"{name}: made in {time.time() - t0:.1f} s"
                     + (f" {json.dumps(info, sort_keys=True)}" if info else ""))
    write_index(out_dir)
    return lines


def write_index(out_dir: str) -> None:
    """OUT_DIR/fixtures.json: every fixture present, what it is for, what it measured."""
    index = {}
    for name, (_, expect) in FIXTURES.items():
        d = os.path.join(out_dir, name)
        if os.path.isdir(d):
            index[name] = {"path": name, "expect": expect, "description": _describe(name),
                           **stamp.read_stamp(d).get("info", {})}
    with open(os.path.join(out_dir, "fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")


def _describe(name: str) -> str:
    """The fixture's entry in this file's docstring, with its indented continuation lines (for a
    relative's fixture, the FAMILY-HEAD entry)."""
    family, _, head = name.partition("-")
    if family in RELATIVES:
        name = "FAMILY-HEAD-traced" if head.endswith("-traced") else "FAMILY-HEAD"
    words: List[str] = []
    for line in (__doc__ or "").splitlines():
        if words and line.startswith("    "):
            words += line.split()
        elif words:
            break
        elif line.startswith("  " + name + " "):
            words = line.split()[1:]
    return " ".join(words)


def main() -> int:
    ap = argparse.ArgumentParser(description="Make the test fixture model directories.")
    ap.add_argument("out_dir")
    ap.add_argument("--only", help="comma-separated fixture names (default: all)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        print(f"make_test_models: unknown fixture {', '.join(unknown)} "
              f"(known: {', '.join(FIXTURES)})", file=sys.stderr)
        return 2
    t0 = time.time()
    try:
        lines = make(args.out_dir, names, print if args.verbose else (lambda _line: None))
    except (CheckpointError, VocabError) as e:
        print(f"make_test_models: error: {e}", file=sys.stderr)
        return 2
    except VerifyError as e:
        print(f"make_test_models: export verification failed: {e}", file=sys.stderr)
        return 1
    print(f"make_test_models: {args.out_dir}: " + "; ".join(lines)
          + f" ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

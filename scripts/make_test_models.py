"""Make the fixture model directories the tests load (small, deterministic, idempotent).

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_test_models.py OUT_DIR [--only a,b] [-v]

One directory per fixture under OUT_DIR, and OUT_DIR/fixtures.json describing them (what each
is for, the error code the engine should answer with, measurements such as slow's call time).
Valid models share one set of tiny weights (hidden 32, 1 layer, 2 heads, the real uncased
vocabulary), so the same input gives the same answer from tiny, traced, tokenizer-json, slow
and failing; reference_fill_mask.py reproduces them.
  tiny            valid fill-mask, exported by export_hf from tiny/hf (kept there)
  traced          torch.jit.trace, forward(input_ids, attention_mask) -> (logits,), like HF's
                  torchscript=True; no fill_mask_logits; config has no bert_serve block
  tokenizer-json  like tiny, with tokenizer.json instead of vocab.txt
  slow            valid fill-mask; every call spins ~200 ms on top of the model, whatever the batch
  failing         valid fill-mask; raises when an input id is "explode"'s (15044)
  missing-model   config + vocabulary, no model.pt
  not-torchscript model.pt is 4 KiB of seeded random bytes
  wrong-signature forward takes one tensor
  wrong-output    forward -> [batch, seq, 7] (and fill_mask_logits -> [m, 7]), vocab_size 30522
  vocab-mismatch  a BertForMaskedLM with vocab_size 1000 next to the 30522-line vocab.txt
  bad-config      config.json is not valid JSON (the rest is tiny's)
  encoder         BertModel (architectures ["BertModel"]), forward -> last_hidden_state
Each directory is rebuilt only when its .bert-serve-stamp.json is missing or records other
parameters or script sources.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time
from typing import Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import vocab  # noqa: E402
from bert import fixtures, synthetic  # noqa: E402
from bert.checkpoint import CheckpointError  # noqa: E402
from bert.modeling import BertConfig, BertForMaskedLM, BertModel  # noqa: E402
from export_hf import EXPORTER, FORWARD_INPUTS, VerifyError, export  # noqa: E402

TINY = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=128, max_position_embeddings=512, type_vocab_size=2)
SEED = 1234
SLOW_TARGET_S = 0.2
Log = Callable[[str], None]


def tiny_mlm(vocab_size: int = TINY["vocab_size"]) -> BertForMaskedLM:
    shape = dict(TINY, vocab_size=vocab_size)
    config = BertConfig.from_dict(synthetic.hf_config("BertForMaskedLM", **shape))
    model = BertForMaskedLM(config).eval()
    synthetic.init_weights(model, config, SEED)
    return model


def tiny_config(architecture: str = "BertForMaskedLM", **over) -> Dict:
    return synthetic.hf_config(architecture, **dict(TINY, **over))


def fixture_block(name: str, signature: str = "fill_mask_logits") -> Dict:
    """What export_hf writes, for fixtures built by hand that stand for an exported model."""
    return {"exporter": EXPORTER.replace("export_hf", "make_test_models"), "fixture": name,
            "task": "fill-mask", "dtype": "float32", "signature": signature,
            "forward_inputs": FORWARD_INPUTS, "torchscript": "script",
            "torch_version": torch.__version__}


def write_dir(d: str, config: Optional[Dict], model=None, config_text: Optional[str] = None) -> None:
    """config.json, vocab.txt, tokenizer_config.json and model.pt (a ScriptModule or bytes)."""
    with open(os.path.join(d, "config.json"), "w", encoding="utf-8") as f:
        f.write(config_text if config_text is not None
                else json.dumps(config, indent=2, sort_keys=True) + "\n")
    vocab.write_vocab(os.path.join(d, "vocab.txt"))
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(synthetic.TOKENIZER_CONFIG, f, indent=2)
        f.write("\n")
    if isinstance(model, bytes):
        with open(os.path.join(d, "model.pt"), "wb") as f:
            f.write(model)
    elif model is not None:
        model.requires_grad_(False)  # as export_hf saves them
        torch.jit.save(model, os.path.join(d, "model.pt"))


def exported(d: str, model: torch.nn.Module, config: Dict, log: Log,
             tokenizer: str = "vocab.txt") -> Dict:
    synthetic.write_checkpoint(os.path.join(d, "hf"), config, model.state_dict(), tokenizer)
    s = export(os.path.join(d, "hf"), d, log=log)
    return {"max_abs_diff": s.get("max_abs_diff")}


def make_tiny(d: str, log: Log) -> Dict:
    return exported(d, tiny_mlm(), tiny_config(), log)


def make_tokenizer_json(d: str, log: Log) -> Dict:
    return exported(d, tiny_mlm(), tiny_config(), log, tokenizer="tokenizer.json")


def make_encoder(d: str, log: Log) -> Dict:
    cfg = tiny_config("BertModel")
    model = BertModel(BertConfig.from_dict(cfg)).eval()
    synthetic.init_weights(model, BertConfig.from_dict(cfg), SEED)
    return exported(d, model, cfg, log)


def make_traced(d: str, log: Log) -> Dict:
    wrapper = fixtures.TracedMaskedLM(tiny_mlm()).eval()
    ids = torch.tensor([[101, 2023, 2003, 103, 1012, 102]])
    traced = torch.jit.trace(wrapper, (ids, torch.ones_like(ids)))
    write_dir(d, tiny_config(), traced)  # no bert_serve block: a user's traced file
    return {}


def calibrate_spin(log: Log) -> Dict:
    """Iterations of the slow fixture's spin that take SLOW_TARGET_S here, warm."""
    def warm_seconds(iters: int) -> float:
        m = torch.jit.script(fixtures.SlowMaskedLM(BertConfig.from_dict(tiny_config()), iters))
        ids = torch.tensor([[101, 2023, 103, 102]])
        args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        times = []
        for _ in range(5):  # the first calls profile and optimize (PITFALLS 15)
            t = time.perf_counter()
            m(*args)
            times.append(time.perf_counter() - t)
        return min(times[2:])
    base = warm_seconds(0)
    probe = 2000
    per_iter = max((warm_seconds(probe) - base) / probe, 1e-7)
    iters = max(1, round((SLOW_TARGET_S - base) / per_iter))
    log(f"slow: {per_iter * 1e6:.1f} us per spin iteration -> {iters} iterations")
    return {"spin_iters": iters}


def make_slow(d: str, log: Log) -> Dict:
    iters = calibrate_spin(log)["spin_iters"]
    model = fixtures.SlowMaskedLM(BertConfig.from_dict(tiny_config()), iters).eval()
    model.load_state_dict(tiny_mlm().state_dict())
    scripted = torch.jit.script(model)
    write_dir(d, dict(tiny_config(), bert_serve=fixture_block("slow")), scripted)
    # Measure what was written, loaded back, warm, at two batch sizes.
    loaded = torch.jit.load(os.path.join(d, "model.pt"))
    ms = {}
    for batch in (1, 16):
        ids = torch.full((batch, 16), 2023)
        ids[:, 0], ids[:, 5], ids[:, -1] = 101, 103, 102
        args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        times = []
        for _ in range(4):
            t = time.perf_counter()
            loaded.fill_mask_logits(*args, torch.arange(batch) * 16 + 5)
            times.append(time.perf_counter() - t)
        ms[f"batch{batch}_ms"] = round(min(times[2:]) * 1000, 1)
    log(f"slow: warm fill_mask_logits {ms}")
    return {"spin_iters": iters, **ms}


def make_failing(d: str, log: Log) -> Dict:
    tokens, _ = vocab.uncased_vocab()
    explode_id = tokens.index("explode")
    model = fixtures.FailingMaskedLM(BertConfig.from_dict(tiny_config()), explode_id).eval()
    model.load_state_dict(tiny_mlm().state_dict())
    write_dir(d, dict(tiny_config(), bert_serve=fixture_block("failing")), torch.jit.script(model))
    return {"explode_id": explode_id}


def make_missing_model(d: str, log: Log) -> Dict:
    write_dir(d, tiny_config())
    return {}


def make_not_torchscript(d: str, log: Log) -> Dict:
    write_dir(d, tiny_config(), random.Random(SEED).randbytes(4096))
    return {}


def make_wrong_signature(d: str, log: Log) -> Dict:
    write_dir(d, tiny_config(), torch.jit.script(fixtures.OneInput()))
    return {}


def make_wrong_output(d: str, log: Log) -> Dict:
    torch.manual_seed(SEED)
    write_dir(d, tiny_config(), torch.jit.script(fixtures.SevenWide(TINY["vocab_size"]).eval()))
    return {}


def make_vocab_mismatch(d: str, log: Log) -> Dict:
    # Built by hand: export_hf itself refuses a tokenizer larger than the model.
    write_dir(d, tiny_config(vocab_size=1000), torch.jit.script(tiny_mlm(vocab_size=1000)))
    return {}


def make_bad_config(d: str, log: Log) -> Dict:
    text = json.dumps(tiny_config(), indent=2, sort_keys=True)
    write_dir(d, None, torch.jit.script(tiny_mlm()), config_text=text[: len(text) // 2])
    return {}


# name -> (builder, files that must exist, what the engine should say when loading it)
FIXTURES: Dict[str, tuple] = {
    "tiny": (make_tiny, ["model.pt", "config.json", "vocab.txt"], "ok"),
    "traced": (make_traced, ["model.pt", "config.json", "vocab.txt"], "ok"),
    "tokenizer-json": (make_tokenizer_json, ["model.pt", "config.json", "tokenizer.json"], "ok"),
    "slow": (make_slow, ["model.pt", "config.json", "vocab.txt"], "ok"),
    "failing": (make_failing, ["model.pt", "config.json", "vocab.txt"],
                "ok; ERR_INFERENCE_FAILED for inputs containing 'explode'"),
    "missing-model": (make_missing_model, ["config.json", "vocab.txt"], "ERR_MODEL_NOT_FOUND"),
    "not-torchscript": (make_not_torchscript, ["model.pt"], "ERR_MODEL_INVALID"),
    "wrong-signature": (make_wrong_signature, ["model.pt"], "ERR_MODEL_INVALID"),
    "wrong-output": (make_wrong_output, ["model.pt"], "ERR_MODEL_INVALID"),
    "vocab-mismatch": (make_vocab_mismatch, ["model.pt"], "ERR_VOCAB_MISMATCH"),
    "bad-config": (make_bad_config, ["model.pt", "config.json"], "ERR_CONFIG_INVALID"),
    "encoder": (make_encoder, ["model.pt", "config.json", "vocab.txt"], "ok (task embeddings)"),
}


def make(out_dir: str, names: List[str], log: Log) -> List[str]:
    lines = []
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        builder, required, _ = FIXTURES[name]
        d = os.path.join(out_dir, name)
        params = {"fixture": name, "seed": SEED, "tiny": TINY}
        if synthetic.stamp_matches(d, __file__, params, required):
            lines.append(f"{name}: up to date")
            continue
        t0 = time.time()
        if os.path.isdir(d):
            shutil.rmtree(d)  # leftovers (say, an old model.pt in missing-model) would lie
        os.makedirs(d)
        info = builder(d, log)
        synthetic.write_stamp(d, __file__, params, info)
        lines.append(f"{name}: made in {time.time() - t0:.1f} s"
                     + (f" {json.dumps(info, sort_keys=True)}" if info else ""))
    index = {}
    for name, (_, _, expect) in FIXTURES.items():
        d = os.path.join(out_dir, name)
        if os.path.isdir(d):
            index[name] = {"path": name, "expect": expect,
                           "description": _describe(name),
                           **synthetic.read_stamp(d).get("info", {})}
    with open(os.path.join(out_dir, "fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    return lines


def _describe(name: str) -> str:
    for line in (__doc__ or "").splitlines():
        if line.startswith("  " + name + " "):
            return " ".join(line.split()[1:])
    return ""


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
    torch.set_num_threads(2)
    log = print if args.verbose else (lambda _line: None)
    t0 = time.time()
    try:
        lines = make(args.out_dir, names, log)
    except (CheckpointError, vocab.VocabError) as e:
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

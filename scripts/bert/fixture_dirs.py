"""Building each test fixture model directory (see make_test_models.py for the list).

Imported by make_test_models.py once it knows something must be built; not run by itself.
Valid models share one set of tiny weights (TINY, SEED), so the same input gives the same answer
from tiny, traced, tokenizer-json, slow and failing. The fixtures of the other tasks are built
in task_fixture_dirs.py, with the helpers here.
"""
import json
import os
import random
from typing import Callable, Dict, Optional

import torch

import vocab  # scripts/vocab.py; the caller has scripts/ on sys.path
from . import fixtures, synthetic
from .export import EXPORTER, FORWARD_INPUTS, export
from .modeling import BertConfig, BertForMaskedLM, BertModel

TINY = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=128, max_position_embeddings=512, type_vocab_size=2)
SEED = 1234
# The slow fixture's spin: 17-23 us per iteration measured on this machine class when idle (warm,
# 1 or 2 threads, profiling executor on or off), so about 170-230 ms per call. A fixed count, not
# a calibration at build time: a build on a busy machine would bake in a wrong time for good.
SLOW_SPIN_ITERS = 10000
# The hanging fixture's spin when its input holds "freeze": 15x slow's, about 3 s idle (more on a
# busy machine): long enough to outlast the short request timeouts its test sets.
HANG_SPIN_ITERS = 150000
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
        for p in model.parameters():  # as export_hf saves them (ScriptModule has no requires_grad_)
            p.requires_grad_(False)
        torch.jit.save(model, os.path.join(d, "model.pt"))


def exported(d: str, model: torch.nn.Module, config: Dict, log: Log,
             tokenizer: str = "vocab.txt", quantize: Optional[str] = None,
             extra: Optional[Callable[[str], None]] = None) -> Dict:
    """Write d/hf (a HF checkpoint; extra(hf_dir) adds files) and export it into d."""
    synthetic.write_checkpoint(os.path.join(d, "hf"), config, model.state_dict(), tokenizer)
    if extra is not None:
        extra(os.path.join(d, "hf"))
    s = export(os.path.join(d, "hf"), d, log=log, quantize=quantize)
    keys = ["max_abs_diff", "top1_agreement", "quantized_engine"] if quantize else ["max_abs_diff"]
    return {k: s.get(k) for k in keys}


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


def make_slow(d: str, log: Log) -> Dict:
    model = fixtures.SlowMaskedLM(BertConfig.from_dict(tiny_config()), SLOW_SPIN_ITERS).eval()
    model.load_state_dict(tiny_mlm().state_dict())
    write_dir(d, dict(tiny_config(), bert_serve=fixture_block("slow")), torch.jit.script(model))
    return {"spin_iters": SLOW_SPIN_ITERS}


def make_failing(d: str, log: Log) -> Dict:
    tokens, _ = vocab.uncased_vocab()
    explode_id = tokens.index("explode")
    model = fixtures.FailingMaskedLM(BertConfig.from_dict(tiny_config()), explode_id).eval()
    model.load_state_dict(tiny_mlm().state_dict())
    write_dir(d, dict(tiny_config(), bert_serve=fixture_block("failing")), torch.jit.script(model))
    return {"explode_id": explode_id}


def make_hanging(d: str, log: Log) -> Dict:
    tokens, _ = vocab.uncased_vocab()
    freeze_id = tokens.index("freeze")
    model = fixtures.HangingMaskedLM(BertConfig.from_dict(tiny_config()), freeze_id, HANG_SPIN_ITERS).eval()
    model.load_state_dict(tiny_mlm().state_dict())
    write_dir(d, dict(tiny_config(), bert_serve=fixture_block("hanging")), torch.jit.script(model))
    return {"freeze_id": freeze_id, "spin_iters": HANG_SPIN_ITERS}


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


def wrong_fast_path(mode: str) -> Callable[[str, Log], Dict]:
    def make(d: str, log: Log) -> Dict:
        model = fixtures.WrongFastPathMaskedLM(BertConfig.from_dict(tiny_config()), mode).eval()
        model.load_state_dict(tiny_mlm().state_dict())
        write_dir(d, dict(tiny_config(), bert_serve=fixture_block(f"fast-path-{mode}")), torch.jit.script(model))
        return {"mode": mode}
    return make


BUILDERS: Dict[str, Callable[[str, Log], Dict]] = {
    "tiny": make_tiny, "traced": make_traced, "tokenizer-json": make_tokenizer_json,
    "slow": make_slow, "failing": make_failing, "hanging": make_hanging, "missing-model": make_missing_model,
    "not-torchscript": make_not_torchscript, "wrong-signature": make_wrong_signature,
    "wrong-output": make_wrong_output, "vocab-mismatch": make_vocab_mismatch,
    "bad-config": make_bad_config, "encoder": make_encoder,
    "fast-path-swapped": wrong_fast_path("swapped"), "fast-path-inverted-mask": wrong_fast_path("inverted-mask"),
}

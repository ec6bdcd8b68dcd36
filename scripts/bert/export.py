"""Exporting a loaded checkpoint to model.pt, checking it, and writing the model directory.

Imported by export_hf.py (the command line; its docstring describes the result), make_demo_model.py
and bert/fixture_dirs.py; not run by itself.
"""
import copy
import json
import os
import shutil
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .checkpoint import CheckpointError, Loaded, load_model, tokenizer_vocab
from .layout import ST_FILES, TOKENIZER_FILES, VerifyError, preflight, sentence_transformers
from .modeling import Architecture

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
QUANTIZATIONS = ["int8"]
# In order of preference: x86 servers' engines first; qnnpack (ARM, mobile) last. Debian's torch
# has onednn and qnnpack only.
QUANTIZED_ENGINES = ["onednn", "fbgemm", "x86", "qnnpack"]
# int8 dynamic quantization rounds every Linear input to 8 bits with one scale per tensor, taken
# from the whole tensor (so from the whole batch, padding included): its error grows with the
# largest activation, and a row's answer depends a little on the other rows of its batch. So the
# check is relative to the largest fp32 output, and loose; top-1 agreement is what users see.
INT8_TOL = 0.25
FORWARD_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]  # [:2] without token types
# The role tokens example inputs are made of, by name in BERT's vocabularies, then in RoBERTa's.
SPECIALS = {"cls": ("[CLS]", "<s>"), "sep": ("[SEP]", "</s>"), "mask": ("[MASK]", "<mask>"),
            "pad": ("[PAD]", "<pad>")}
EXPORTER = "bert-serve scripts/export_hf.py"
EXPORTER_VERSION = 1


def example_inputs(vocab: Dict[str, int], vocab_size: int, batch: int, seq: int, seed: int,
                   type_vocab_size: int = 2
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A padded batch (rows of decreasing length), one mask token per row, and its flat mask
    index. Token types 1 on the second half of each row when the model has two or more types."""
    def special(role: str, default: int) -> int:
        i = next((vocab[t] for t in SPECIALS[role] if t in vocab), default)
        return i if i < vocab_size else 0
    cls_id, sep_id = special("cls", 101), special("sep", 102)
    mask_id, pad_id = special("mask", 103), special("pad", 0)
    g = torch.Generator().manual_seed(seed)
    lo = min(1000, vocab_size // 2)
    ids = torch.full((batch, seq), pad_id, dtype=torch.long)
    am = torch.zeros((batch, seq), dtype=torch.long)
    flat: List[int] = []
    for b in range(batch):
        n = max(3, seq - 2 * b)
        row = torch.randint(lo, vocab_size, (n,), generator=g)
        row[0], row[n - 1] = cls_id, sep_id
        pos = 1 + b % (n - 2)
        row[pos] = mask_id
        ids[b, :n], am[b, :n] = row, 1
        flat.append(b * seq + pos)
    tt = torch.zeros_like(ids)
    if type_vocab_size > 1:
        tt[:, seq // 2:] = am[:, seq // 2:]  # some type-1 tokens, so token_type_ids is exercised
    return ids, am, tt, torch.tensor(flat, dtype=torch.long)


def pick_quantized_engine(supported: List[str]) -> str:
    """The first of QUANTIZED_ENGINES that this torch supports, or CheckpointError."""
    for name in QUANTIZED_ENGINES:
        if name in supported:
            return name
    raise CheckpointError("--quantize int8: this torch has no quantized engine (supported: "
                          f"{', '.join(supported) or 'none'}; needs one of "
                          f"{', '.join(QUANTIZED_ENGINES)})")


# The parts of a model whose linear layers int8 quantizes: the transformer layers (BERT, RoBERTa,
# XLM-R, ELECTRA and MPNet keep them under `encoder`, DistilBERT under `transformer`), where nearly all
# of the compute is. What decides the answer from the last hidden state stays float32: the masked LM's
# transform and vocabulary projection (the engine runs it on the mask rows only, so it costs little),
# the pooler, a classifier, ELECTRA's embeddings_project. Quantizing those too cost the trained masked
# LM 2-3 points of top-1 agreement with float32 (docs/benchmarks.md, "Reduced precision on trained
# models") for no measurable speed.
INT8_PARTS = ("encoder", "transformer")


def int8_linear_layers(module: torch.nn.Module) -> Tuple[List[str], List[str]]:
    """The names of module's nn.Linear layers: (quantized by --quantize int8, kept float32)."""
    quantized: List[str] = []
    kept: List[str] = []
    for name, m in module.named_modules():
        if isinstance(m, torch.nn.Linear):
            (quantized if set(name.split(".")) & set(INT8_PARTS) else kept).append(name)
    return quantized, kept


def quantize_int8(module: torch.nn.Module, engine: str) -> Tuple[torch.nn.Module, List[str], List[str]]:
    """A copy of module with the encoder's nn.Linear layers dynamically quantized to int8 (weights
    int8 per tensor, activations quantized at run time), and the two lists of int8_linear_layers.
    The loader must use the same engine: the weights are repacked for the current engine when
    model.pt is loaded."""
    quantized, kept = int8_linear_layers(module)
    if not quantized:
        raise CheckpointError("--quantize int8: the model has no linear layer inside an encoder "
                              f"({' or '.join(INT8_PARTS)} submodule) to quantize")
    torch.backends.quantized.engine = engine
    q = torch.ao.quantization.quantize_dynamic(module, set(quantized), dtype=torch.qint8)
    return q, quantized, kept


def to_torchscript(module: torch.nn.Module, trace: bool,
                   example: Tuple[torch.Tensor, ...]) -> torch.jit.ScriptModule:
    """example: the forward inputs (2 or 3 tensors)."""
    if not trace:
        return torch.jit.script(module)
    # Tracing records forward; the @torch.jit.export method (fill_mask_logits) is compiled
    # by torch.jit.trace itself, on top of the traced submodules.
    return torch.jit.trace(module, example)


def _runs_on_cpu(dtype: torch.dtype) -> bool:
    # torch 1.13 has no CPU LayerNorm/addmm kernels for float16.
    return dtype != torch.float16


@torch.no_grad()
def verify(path: str, eager32: torch.nn.Module, arch: Architecture, dtype: torch.dtype,
           vocab: Dict[str, int], vocab_size: int, hf_model: Optional[torch.nn.Module],
           log: Callable[[str], None], quantized: bool = False,
           type_vocab_size: int = 2) -> Dict[str, float]:
    """Load path back and compare with the eager module on shapes no trace has seen.

    A quantized model is compared with the float32 eager module (INT8_TOL), and its top-1
    agreement is measured: at the mask rows for fill-mask, per row for classification, per real
    token for token classification; for an encoder, the lowest cosine similarity of a real token's
    hidden state.
    """
    loaded = torch.jit.load(path, map_location="cpu")
    has_fill = hasattr(loaded, "fill_mask_logits")
    if (arch.signature == "fill_mask_logits") != has_fill:
        raise VerifyError(f"model.pt fill_mask_logits present={has_fill}, expected the opposite")
    eager = copy.deepcopy(eager32).to(dtype) if dtype != torch.float32 else eager32
    # Relative to the logits' scale; half types carry 8-11 bits, so padding alone moves a few ulps.
    tol = INT8_TOL if quantized else 1e-4 if dtype == torch.float32 else 5e-2
    stats: Dict[str, float] = {}
    agree: List[bool] = []
    n_in = arch.forward_inputs
    for batch, seq in [(3, 9), (1, 5)]:
        ids, am, tt, idx = example_inputs(vocab, vocab_size, batch, seq, seed=batch * 100 + seq,
                                          type_vocab_size=type_vocab_size)
        inputs = (ids, am, tt)[:n_in]
        ref32 = eager32(*inputs)
        scale = max(1.0, float(ref32.abs().max()))
        if hf_model is not None:
            named = dict(zip(FORWARD_INPUTS[:n_in], inputs))
            hf_out = hf_model(**named)[0]
            d = _diff(hf_out, ref32, am if hf_out.dim() == 3 else None)
            stats["transformers_vs_ours"] = max(stats.get("transformers_vs_ours", 0.0), d)
        if not _runs_on_cpu(dtype):
            continue
        out = loaded(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        if tuple(out.shape) != tuple(ref32.shape):
            raise VerifyError(f"model.pt forward gives shape {tuple(out.shape)}, "
                              f"eager {tuple(ref32.shape)}")
        stats["max_abs_diff"] = max(stats.get("max_abs_diff", 0.0),
                                    _diff(out, eager(*inputs), am if out.dim() == 3 else None))
        if dtype != torch.float32:
            stats["max_abs_diff_vs_float32"] = max(stats.get("max_abs_diff_vs_float32", 0.0),
                                                   _diff(out, ref32, am if out.dim() == 3 else None))
        if has_fill:
            rows = loaded.fill_mask_logits(*inputs, idx)
            d = float((rows.float() - out.reshape(-1, out.size(-1))[idx].float()).abs().max())
            stats["fill_mask_vs_forward"] = max(stats.get("fill_mask_vs_forward", 0.0), d)
        if quantized and arch.task == "embeddings":  # what users compare embeddings by
            valid = am.bool()
            cos = torch.nn.functional.cosine_similarity(out[valid].float(), ref32[valid], dim=-1)
            stats["min_cosine"] = min(stats.get("min_cosine", 1.0), float(cos.min()))
        elif quantized:
            if has_fill:
                got, want = rows, ref32.reshape(-1, ref32.size(-1))[idx]
            elif out.dim() == 3:  # token classification: the real tokens
                got, want = out[am.bool()], ref32[am.bool()]
            else:
                got, want = out, ref32
            agree += (got.argmax(-1) == want.argmax(-1)).tolist()
        if batch > 1:
            # The last row is padded: alone and unpadded it must give the same values.
            n = int(am[-1].sum())
            alone = loaded(*(x[-1:, :n] for x in inputs))
            alone = alone[0] if isinstance(alone, tuple) else alone
            padded = out[-1, :n] if out.dim() == 3 else out[-1]
            stats["padding_diff"] = float((alone[0].float() - padded.float()).abs().max())
        for key in ("max_abs_diff", "fill_mask_vs_forward", "padding_diff"):
            if stats.get(key, 0.0) > tol * scale:
                raise VerifyError(f"{key} {stats[key]:.3g} exceeds {tol * scale:.3g}")
    if agree:
        stats["top1_agreement"] = sum(agree) / len(agree)
    if not _runs_on_cpu(dtype):
        log("export_hf: verify: float16 does not run on this CPU torch; checked loading only")
    if stats.get("transformers_vs_ours", 0.0) > 1e-3:
        raise VerifyError(f"transformers and our module differ by {stats['transformers_vs_ours']:.3g}")
    return stats


def copy_sentence_transformers(src_dir: str, out_dir: str, st: Optional[Dict],
                               log: Callable[[str], None]) -> None:
    """modules.json, the pooling config (at the same relative path) and the other
    sentence-transformers files, so the model directory says how to pool as the source did.
    What an earlier export left and the source lacks is removed, as for the tokenizer files."""
    if os.path.exists(out_dir) and os.path.samefile(src_dir, out_dir):
        return
    try:
        old = sentence_transformers(out_dir)
    except CheckpointError:  # a broken leftover: remove what ST_FILES names
        old = None
    keep = set(st["files"]) if st else set()
    for rel in sorted(set(ST_FILES) | set(old["files"] if old else [])):
        dst = os.path.join(out_dir, rel)
        if rel not in keep and os.path.isfile(dst):
            os.remove(dst)
            log(f"export_hf: removed {dst} (not in the source)")
    if st is None:
        return
    for rel in st["files"]:
        dst = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(src_dir, rel), dst)
    for rel in st["dirs"]:
        os.makedirs(os.path.join(out_dir, rel), exist_ok=True)
    log(f"export_hf: sentence-transformers: pooling {'+'.join(st['pooling']) or 'none'}"
        f"{' (' + st['pooling_config'] + ')' if st['pooling_config'] else ''}"
        f"{', dense ' + '+'.join(st['dense']) if st['dense'] else ''}, normalize "
        f"{str(st['normalize']).lower()}; copied {', '.join(st['files'])}")


def _fmt(key: str, value: float) -> str:
    # A cosine near 1 needs its digits: 0.99994 and 1 differ in what they promise.
    return f"{value:.6f}" if key == "min_cosine" else f"{value:.3g}"


def _diff(a: torch.Tensor, b: torch.Tensor, mask: Optional[torch.Tensor]) -> float:
    d = (a.float() - b.float()).abs()
    if mask is not None:  # padded positions hold no answer; ignore them
        d = d * mask[..., None].to(d.dtype)
    return float(d.max())


def export(src_dir: str, out_dir: str, dtype: str = "float32", trace: bool = False,
           architecture: Optional[str] = None, loader: str = "auto",
           log: Callable[[str], None] = print, quantize: Optional[str] = None,
           progress: Callable[[str], None] = lambda _stage: None) -> Dict:
    """Do the whole export; raises CheckpointError (user's files) or VerifyError.

    progress(stage) is called as each stage starts (loading, TorchScript, verifying, ...): a
    BERT-base export takes tens of seconds, and a line per stage says where it is."""
    if dtype not in DTYPES:
        raise CheckpointError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    engine: Optional[str] = None
    if quantize is not None:
        if quantize not in QUANTIZATIONS:
            raise CheckpointError(f"--quantize {quantize!r}: use one of {', '.join(QUANTIZATIONS)}")
        if dtype != "float32":
            raise CheckpointError(f"--quantize {quantize} works on the float32 model; it cannot "
                                  f"be combined with --dtype {dtype}")
        if trace:
            raise CheckpointError(f"--quantize {quantize} is exported with torch.jit.script; "
                                  "drop --trace")
        engine = pick_quantized_engine(list(torch.backends.quantized.supported_engines))
    t0 = time.time()
    # Cheap checks before any weights; also settles the architecture of a sentence-transformers dir.
    _, arch_name, tok_files, _ = preflight(src_dir, architecture)
    st = sentence_transformers(src_dir)
    progress(f"loading the checkpoint in {src_dir}")
    loaded: Loaded = load_model(src_dir, arch_name, loader)
    arch, raw = loaded.arch, loaded.raw_config
    vocab_size = int(raw.get("vocab_size", 30522))
    type_vocab_size = int(raw.get("type_vocab_size", 2)) if arch.forward_inputs == 3 else 1
    vocab = tokenizer_vocab(src_dir)
    if vocab and max(vocab.values()) >= vocab_size:
        raise CheckpointError(f"the tokenizer has ids up to {max(vocab.values())} but the model's "
                              f"vocab_size is {vocab_size}")
    for note in loaded.notes:
        log(f"export_hf: {note}")

    # Saved with requires_grad off: a caller that forgets no_grad/InferenceMode records no graph.
    module = loaded.module.requires_grad_(False)
    if dtype != "float32":
        module = copy.deepcopy(module).to(DTYPES[dtype])  # deepcopy keeps the tied weights tied
    int8_quantized: List[str] = []
    int8_kept: List[str] = []
    if engine is not None:
        module, int8_quantized, int8_kept = quantize_int8(module, engine)
    example = example_inputs(vocab, vocab_size, batch=2, seq=12, seed=0,
                             type_vocab_size=type_vocab_size)
    progress(f"converting to TorchScript ({'trace' if trace else 'script'}, {dtype})")
    scripted = to_torchscript(module, trace, example[:arch.forward_inputs])

    os.makedirs(out_dir, exist_ok=True)
    final = os.path.join(out_dir, "model.pt")
    tmp = final + ".tmp"
    progress(f"saving {final}")
    torch.jit.save(scripted, tmp)
    progress("verifying: loading model.pt back and comparing it with the eager model on new shapes")
    try:
        stats = verify(tmp, loaded.module, arch, DTYPES[dtype], vocab, vocab_size,
                       loaded.hf_model, log, quantized=engine is not None,
                       type_vocab_size=type_vocab_size)
    except BaseException:
        os.remove(tmp)
        raise
    os.replace(tmp, final)

    progress("writing config.json and the tokenizer files")
    for name in TOKENIZER_FILES:
        src, dst = os.path.join(src_dir, name), os.path.join(out_dir, name)
        if os.path.exists(dst) and os.path.samefile(src_dir, out_dir):
            continue
        if name in tok_files:
            shutil.copyfile(src, dst)
        elif os.path.exists(dst):
            os.remove(dst)  # left by an earlier export; it would contradict the new tokenizer
            log(f"export_hf: removed {dst} (not in the source)")
    copy_sentence_transformers(src_dir, out_dir, st, log)
    config = dict(raw)
    config["architectures"] = [arch.name]
    config.setdefault("model_type", arch.model_type)  # old BERT configs have none
    config["bert_serve"] = {
        "exporter": EXPORTER, "exporter_version": EXPORTER_VERSION, "task": arch.task,
        "dtype": dtype, "signature": arch.signature,
        "forward_inputs": FORWARD_INPUTS[:arch.forward_inputs],
        "torchscript": "trace" if trace else "script", "torch_version": torch.__version__,
        "verify": {k: float(_fmt(k, v)) for k, v in stats.items()},
    }
    if engine is not None:
        config["bert_serve"].update(quantization="int8-dynamic", quantized_engine=engine,
                                    int8_linear_layers=len(int8_quantized),
                                    float32_linear_layers=int8_kept)
    if st is not None:
        config["bert_serve"]["sentence_transformers"] = {
            "pooling_config": st["pooling_config"], "pooling": "+".join(st["pooling"]) or None,
            "dense": st["dense"],
            "normalize": st["normalize"]}
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    summary = {"out_dir": out_dir, "architecture": arch.name, "task": arch.task, "dtype": dtype,
               "quantization": "int8-dynamic" if engine else None, "quantized_engine": engine,
               "torchscript": "trace" if trace else "script", "signature": arch.signature,
               "model_pt_bytes": os.path.getsize(final), "seconds": round(time.time() - t0, 2),
               **stats}
    if stats:
        log("export_hf: verify " + ", ".join(f"{k} {_fmt(k, v)}" for k, v in stats.items()))
    return summary

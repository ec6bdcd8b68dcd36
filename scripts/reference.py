"""Eager PyTorch reference for every task, for the engine's numerical tests.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/reference.py MODEL_DIR < requests.jsonl > answers.jsonl

One JSON line out per JSON line in, in order. Every sequence runs alone: float32, CPU, no padding,
no batching, attention_mask all one, token_type_ids as given (default all zero; not passed to a
family without token types). "ids" are token ids with the special tokens ([CLS] ... [SEP], or
<s> ... </s>), as the engine's tokenizer gives them. Any family of bert/families/catalog.py.
A line may name another model directory with "model": DIR (loaded once, then kept), so one
process can answer for many models.
  {"task": "embed", "ids": [...], "token_type_ids": [...]?, "pooling": P?, "normalize": bool?}
      -> {"embedding": [hidden floats]}. P: cls | mean | max | lasttoken | mean_sqrt_len_tokens |
      weightedmean, as sentence-transformers computes them over all tokens (specials included);
      default: the Pooling config that MODEL_DIR/modules.json names (several modes true:
      concatenated in sentence-transformers' order), else cls; then the Dense modules it names
      (2_Dense). normalize (default false): L2.
  {"task": "embed_all", "ids": [...], ...} -> {"embeddings": [[hidden floats] per token]}
      (last_hidden_state, the special tokens' rows included).
  {"task": "classify", "ids": [...], "token_type_ids"?, "function_to_apply": F?}
      -> {"logits": [...], "scores": [...], "labels": [id2label names]}, all in label-id order.
      F: softmax | sigmoid | none; default as transformers' TextClassificationPipeline: sigmoid
      when problem_type is multi_label_classification or there is one label, else softmax.
  {"task": "token_classify", "ids": [...], "text": str, "offsets": [[start, end], ...],
   "special": [bool, ...], "tokens": [str, ...], "aggregation_strategy": A?, "ignore_labels"?}
      -> {"entities": [...]}: transformers' TokenClassificationPipeline.postprocess, ported in
      bert/token_pipeline.py (for a fast WordPiece tokenizer, as the pipeline loads one).
      offsets are UTF-16 code-unit indices into text, as JavaScript indexes strings ([0, 0] for
      special tokens); the entities' start/end are UTF-16 too. A: none (default) | simple | first
      | average | max; ignore_labels default ["O"]. Entities: {"entity", "score", "index", "word",
      "start", "end"} for none, {"entity_group", "score", "word", "start", "end"} otherwise.
  {"task": "fill_mask", "ids": [...], "top_k": 5} -> reference_fill_mask.py's answer.
  {"task": "qa", "ids": [...], "token_type_ids"?, "context": str, "offsets": [[start, end], ...],
   "context_tokens": [first, last], "cls_id": int, "top_k": K?, "max_answer_len": L?,
   "handle_impossible_answer": bool?, "align_to_words": bool?}
      -> {"start_logits": [...], "end_logits": [...], "answer": ...}: transformers'
      QuestionAnsweringPipeline (select_starts_ends, decode_spans, postprocess) on the model's
      start and end logits, in numpy float32 as there. context_tokens: the context's tokens
      (inclusive), the pipeline's sequence_ids() == 1; offsets are UTF-16 code-unit indices into
      context. align_to_words (default true) widens a span to whole words of BERT's
      pre-tokenizer (runs split at whitespace and punctuation, each CJK character a word), as
      the fast tokenizer's word ids do for a WordPiece model. K default 1, L default 15.
classify and token_classify also take "logits" ([labels] / [[labels] per id]): then the model is
not run and only the post-processing is checked (for example on the engine's own logits).
The task must fit config.json's architecture (embed: an encoder such as BertModel, or any
directory with modules.json; classify: a *ForSequenceClassification; token_classify: a
*ForTokenClassification; fill_mask: a *ForMaskedLM).
Weights: MODEL_DIR/hf (a HF checkpoint, as the model makers leave it) when present, else the
state dict inside MODEL_DIR/model.pt (scripted or traced; not a quantized one) loaded strictly
into the eager modules of scripts/bert/modeling.py and scripts/bert/families/.
Exit 2 on an unusable model directory or a malformed input line (the message names the line).
"""
import argparse
import json
import os
import sys
import unicodedata
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

import numpy as np  # noqa: E402  (a dependency of Debian's python3-torch)
import torch  # noqa: E402

from bert import st_dense  # noqa: E402
from bert.checkpoint import (CheckpointError, build_module, load_model, load_strict,  # noqa: E402
                             module_config, normalize_state_dict, read_config, tokenizer_vocab)
from bert.families.catalog import FAMILIES  # noqa: E402
from bert.families.registry import ARCHITECTURES  # noqa: E402
from bert.layout import (POOLING_MODES, architecture_name, model_type_of,  # noqa: E402
                         sentence_transformers)
from bert.token_pipeline import TokenPipeline, wordpiece_decoder  # noqa: E402
from reference_fill_mask import answer as fill_mask_answer, mask_id_of  # noqa: E402

# request task -> the architecture task it needs
TASKS = {"embed": "embeddings", "embed_all": "embeddings", "classify": "classification",
         "token_classify": "token-classification", "fill_mask": "fill-mask",
         "qa": "question-answering"}
POOLINGS = [name for _, name in POOLING_MODES]


class InputError(ValueError):
    """A malformed request line (exit 2, naming the line)."""


class Reference:
    """The model directory's eager module and what the tasks need from its files."""

    def __init__(self, model_dir: str) -> None:
        self.raw = read_config(model_dir)
        st = sentence_transformers(model_dir)
        # A sentence-transformers directory is an encoder, as the exporter treats it.
        encoder = FAMILIES[model_type_of(self.raw)].encoder
        self.arch = ARCHITECTURES[encoder if st else architecture_name(self.raw)]
        self.pooling: List[str] = (st or {}).get("pooling") or ["cls"]
        # Dense modules after pooling (2_Dense), applied in order.
        self.dense = [st_dense.load(model_dir, folder) for folder in (st or {}).get("dense", [])]
        self.module = _load_module(model_dir, self.arch, self.raw)
        self.mask_id = mask_id_of(model_dir)
        try:
            self.vocab = tokenizer_vocab(model_dir)
        except CheckpointError:
            self.vocab = {}
        id2label = self.raw.get("id2label") or {}
        n = int(self.raw.get("num_labels", len(id2label) or 2))
        self.labels = [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n)]
        self.token_pipeline = TokenPipeline(self.labels, wordpiece_decoder(model_dir),
                                            self.vocab.get("[UNK]", 100))

    @torch.no_grad()
    def run(self, ids: List[int], token_type_ids: Optional[List[int]] = None) -> torch.Tensor:
        t = torch.tensor([ids], dtype=torch.long)
        tt = torch.tensor([token_type_ids], dtype=torch.long) if token_type_ids is not None \
            else torch.zeros_like(t)
        return self.module(*(t, torch.ones_like(t), tt)[:self.arch.forward_inputs])[0]


def _load_module(model_dir: str, arch: Any, raw: Dict) -> torch.nn.Module:
    hf_dir = os.path.join(model_dir, "hf")
    if os.path.isdir(hf_dir):
        return load_model(hf_dir, arch.name, loader="torch").module.float().eval()
    path = os.path.join(model_dir, "model.pt")
    try:
        sd = torch.jit.load(path, map_location="cpu").state_dict()
    except Exception as e:  # missing or not TorchScript
        raise CheckpointError(f"{path}: cannot load ({str(e).splitlines()[0]})") from None
    if not all(isinstance(v, torch.Tensor) and v.is_floating_point() or k.endswith("_ids")
               for k, v in sd.items()):
        raise CheckpointError(f"{path}: not plain float weights (a quantized model?); keep the "
                              "float checkpoint in MODEL_DIR/hf")
    config = module_config(raw, arch)
    sd, _ = normalize_state_dict({k: v.float() for k, v in sd.items()}, arch, config)
    module, _ = build_module(arch, config, sd)  # a traced encoder may have no pooler
    load_strict(module, sd)
    return module.float().eval()


# ---- embeddings (sentence-transformers' Pooling and Normalize) ----

def pool(hidden: torch.Tensor, modes: List[str]) -> torch.Tensor:
    """hidden [seq, hidden], every row a real token -> the pooled vector (modes concatenated)."""
    out = []
    n = hidden.size(0)
    for mode in modes:
        if mode == "cls":
            out.append(hidden[0])
        elif mode == "max":
            out.append(hidden.max(0).values)
        elif mode == "mean":
            out.append(hidden.sum(0) / n)
        elif mode == "mean_sqrt_len_tokens":
            out.append(hidden.sum(0) / torch.sqrt(torch.tensor(float(n))))
        elif mode == "weightedmean":  # position weights 1..n
            w = torch.arange(1, n + 1, dtype=hidden.dtype)[:, None]
            out.append((hidden * w).sum(0) / w.sum())
        elif mode == "lasttoken":
            out.append(hidden[-1])
        else:
            raise InputError(f"pooling {mode!r}: use one of {', '.join(POOLINGS)}")
    return torch.cat(out)


def embed(ref: Reference, req: Dict) -> Dict:
    hidden = ref.run(req["ids"], req.get("token_type_ids"))
    if req["task"] == "embed_all":
        return {"embeddings": hidden.tolist()}
    pooling = req.get("pooling")
    vec = pool(hidden, [str(pooling)] if pooling is not None else ref.pooling)
    for dense in ref.dense:
        vec = dense(vec)
    if req.get("normalize", False):
        vec = torch.nn.functional.normalize(vec, p=2.0, dim=0)
    return {"embedding": vec.tolist()}


# ---- text classification (transformers' TextClassificationPipeline.postprocess) ----

def logits_of(ref: Reference, req: Dict, shape: List[int]) -> np.ndarray:
    """float32 logits: the request's own "logits" when given, else the model's."""
    if req.get("logits") is None:
        return np.array(ref.run(req["ids"], req.get("token_type_ids")).tolist(), dtype=np.float32)
    try:
        logits = np.array(req["logits"], dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise InputError(f"logits: {e}") from None
    if list(logits.shape) != shape:
        raise InputError(f"logits has shape {list(logits.shape)}; expected {shape}")
    return logits


def classify(ref: Reference, req: Dict) -> Dict:
    logits = logits_of(ref, req, [len(ref.labels)])
    fn = req.get("function_to_apply")
    if fn is None:
        multi = ref.raw.get("problem_type") == "multi_label_classification"
        fn = "sigmoid" if multi or len(ref.labels) == 1 else "softmax"
    if fn == "softmax":
        e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
        scores = e / e.sum(axis=-1, keepdims=True)
    elif fn == "sigmoid":
        scores = 1.0 / (1.0 + np.exp(-logits))
    elif fn == "none":
        scores = logits
    else:
        raise InputError(f"function_to_apply {fn!r}: use softmax, sigmoid or none")
    return {"logits": [float(x) for x in logits], "scores": [float(x) for x in scores],
            "labels": ref.labels}


# ---- token classification (the port is bert/token_pipeline.py) ----

def token_classify(ref: Reference, req: Dict) -> Dict:
    n = len(req["ids"])
    for key in ("offsets", "special", "tokens"):
        if not isinstance(req.get(key), list) or len(req[key]) != n:
            raise InputError(f"{key} must be a list as long as ids ({n})")
    if not isinstance(req.get("text"), str):
        raise InputError("text must be a string")
    strategy = req.get("aggregation_strategy", "none")
    ignore = req.get("ignore_labels")
    logits = logits_of(ref, req, [n, len(ref.labels)])
    return {"entities": ref.token_pipeline.postprocess(
        logits, req["text"], req["ids"], req["tokens"],
        [(int(a), int(b)) for a, b in req["offsets"]], [bool(x) for x in req["special"]],
        strategy, ["O"] if ignore is None else list(ignore))}


# ---- question answering (transformers' QuestionAnsweringPipeline) ----

def _bert_words(text: str) -> List[tuple]:
    """BERT's pre-tokenizer words of text as (start, end) code-point spans."""
    def alone(c: str) -> bool:  # punctuation or a CJK ideograph: a word by itself
        o = ord(c)
        return (33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126
                or unicodedata.category(c).startswith("P") or 0x4E00 <= o <= 0x9FFF
                or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FA1F or 0xF900 <= o <= 0xFAFF)
    words, start = [], None
    for i, c in enumerate(text):
        if c.isspace() or alone(c):
            if start is not None:
                words.append((start, i))
                start = None
            if alone(c):
                words.append((i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        words.append((start, len(text)))
    return words


def qa(ref: Reference, req: Dict) -> Dict:
    ids, context = req["ids"], req["context"]
    if not isinstance(context, str) or len(req.get("offsets") or []) != len(ids):
        raise InputError("qa needs context (a string) and offsets as long as ids")
    first, last = (int(x) for x in req["context_tokens"])
    logits = np.array(ref.run(ids, req.get("token_type_ids")).tolist(), dtype=np.float32)
    if logits.shape != (len(ids), 2):
        raise InputError(f"the model answers {list(logits.shape)}; expected [{len(ids)}, 2]")
    top_k, max_len = int(req.get("top_k", 1)), int(req.get("max_answer_len", 15))
    impossible = bool(req.get("handle_impossible_answer", False))
    # preprocess: p_mask 1 off the context, the cls token unmasked
    p_mask = np.array([0 if first <= i <= last else 1 for i in range(len(ids))])
    p_mask[np.array(ids) == int(req["cls_id"])] = 0
    # select_starts_ends (attention_mask all ones: no padding here)
    undesired = np.abs(p_mask - 1)
    start = np.where(undesired == 0, np.float32(-10000.0), logits[None, :, 0])
    end = np.where(undesired == 0, np.float32(-10000.0), logits[None, :, 1])
    start = np.exp(start - start.max(axis=-1, keepdims=True))
    start = start / start.sum()
    end = np.exp(end - end.max(axis=-1, keepdims=True))
    end = end / end.sum()
    min_null_score = 1000000.0
    if impossible:
        min_null_score = min(min_null_score, float(start[0, 0] * end[0, 0]))
    start[0, 0] = end[0, 0] = 0.0
    # decode_spans (a stable sort for the top k: ties in (s, e) order)
    candidates = np.tril(np.triu(np.matmul(start[:, :, None], end[:, None, :])), max_len - 1)
    flat = candidates.flatten()
    order = np.argsort(-flat, kind="stable")[:top_k]
    starts, ends = np.unravel_index(order, candidates.shape)[1:]
    keep = np.isin(starts, undesired.nonzero()) & np.isin(ends, undesired.nonzero())
    starts, ends = starts[keep], ends[keep]
    units = context.encode("utf-16-le")
    # UTF-16 offset of each code point (and of the end), for the words' spans
    u16 = [0]
    for c in context:
        u16.append(u16[-1] + (2 if ord(c) > 0xFFFF else 1))
    words = [(u16[a], u16[b]) for a, b in _bert_words(context)]
    answers = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        a, b = req["offsets"][s][0], req["offsets"][e][1]
        # A token outside the context has no word ([CLS]): the pipeline falls back to offsets.
        if req.get("align_to_words", True) and first <= s <= last and first <= e <= last:
            a = next(w[0] for w in words if w[0] <= a < w[1])
            b = next(w[1] for w in words if w[0] < b <= w[1])
        answers.append({"score": float(candidates[0, s, e]), "start": a, "end": b,
                        "answer": units[2 * a:2 * b].decode("utf-16-le")})
    if impossible:
        answers.append({"score": min_null_score, "start": 0, "end": 0, "answer": ""})
    answers = sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k]
    return {"start_logits": logits[:, 0].tolist(), "end_logits": logits[:, 1].tolist(),
            "answer": answers[0] if len(answers) == 1 else answers}


# ---- the line loop ----

def parse(line: str) -> Dict:
    try:
        req = json.loads(line)
    except ValueError as e:
        raise InputError(f"not JSON ({e})") from None
    if not isinstance(req, dict):
        raise InputError("expected a JSON object")
    if req.get("task") not in TASKS:
        raise InputError(f"task {req.get('task')!r}: use one of {', '.join(TASKS)}")
    try:
        req["ids"] = [int(i) for i in req["ids"]]
        if req.get("token_type_ids") is not None:
            req["token_type_ids"] = [int(i) for i in req["token_type_ids"]]
            if len(req["token_type_ids"]) != len(req["ids"]):
                raise InputError("token_type_ids must be as long as ids")
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"ids: {e!r}") from None
    if not req["ids"]:
        raise InputError("ids must be non-empty")
    return req


def answer(ref: Reference, req: Dict) -> Dict:
    want = TASKS[req["task"]]
    if ref.arch.task != want:
        raise InputError(f"task {req['task']} needs a model of task {want}; the model is a "
                         f"{ref.arch.name} ({ref.arch.task})")
    if req["task"] in ("embed", "embed_all"):
        return embed(ref, req)
    if req["task"] == "classify":
        return classify(ref, req)
    if req["task"] == "token_classify":
        return token_classify(ref, req)
    if req["task"] == "qa":
        return qa(ref, req)
    top_k = int(req.get("top_k", 5))
    if top_k < 1:
        raise InputError("top_k must be >= 1")
    return fill_mask_answer(lambda t: ref.run(t[0].tolist()), req["ids"], top_k, ref.mask_id)


def main() -> int:
    ap = argparse.ArgumentParser(description="Eager reference for every task (JSON lines in and "
                                             "out; see the file's docstring).")
    ap.add_argument("model_dir")
    args = ap.parse_args()
    torch.set_num_threads(2)
    refs: Dict[str, Reference] = {}

    def reference(model_dir: str) -> Reference:
        if model_dir not in refs:
            refs[model_dir] = Reference(model_dir)
        return refs[model_dir]

    try:
        reference(args.model_dir)
    except CheckpointError as e:
        print(f"reference: error: {e}", file=sys.stderr)
        return 2
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            req = parse(line)
            model_dir = req.get("model", args.model_dir)
            try:
                ref = reference(str(model_dir))
            except CheckpointError as e:
                print(f"reference: input line {n}: {model_dir}: {e}", file=sys.stderr)
                return 2
            out = answer(ref, req)
        except (InputError, KeyError, TypeError, ValueError, IndexError) as e:
            print(f"reference: input line {n}: {e}", file=sys.stderr)
            return 2
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()  # a test may read answers as they come
    return 0


if __name__ == "__main__":
    sys.exit(main())

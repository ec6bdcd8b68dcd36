"""Train the small BERT fixtures whose answers are peaked: a masked LM and a topic classifier.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_trained_models.py [OUT]
           [--steps N] [--classifier-epochs N] [--minutes M] [--threads T] [--seed S]

Random weights give flat answers (float32's own top-2 gap under 0.01), which says little about
what bf16 or int8 do to a real model. These two are trained here, on real English prose that every
Debian machine with python3 has (scripts/trained/english_corpus.py: Python's and Perl's documentation,
the license texts), so their answers are decided by margins a trained model has:

  OUT/mlm       BertForMaskedLM, 4 layers, hidden 128, pre-trained here
  OUT/classify  BertForSequenceClassification fine-tuned from it: which part of Python's standard
                library a docstring paragraph comes from (english_corpus.TOPICS, 4 labels)

Each is a Hugging Face checkpoint directory (config.json, model.safetensors in float16 to keep the
files small, vocab.txt, tokenizer_config.json) that scripts/export_hf.py exports like any other;
the float16 weights are what float32 loads (the rounding is part of the weights, not an error).
The vocabulary is bert-base-uncased's, cut to the pieces the corpus uses plus every single
character (so any English text still tokenizes without [UNK]); on the corpus it tokenizes exactly
as the full vocabulary does. OUT/*/heldout-*.jsonl hold texts the training never saw: fill-mask
texts with one whole word masked, and labelled classifier texts. OUT/training.json records what
was done and the held-out accuracy (float32, eager).

Deterministic for a given machine, torch build and --threads (seeded; the corpus digest is
recorded). Bounded: --minutes stops the masked-LM training early (the report then says so). Run it
niced on a shared machine: `nice -n 19`. OUT defaults to test/data/trained, where the result is
committed (about 4 MB a model), so nothing else has to train it.
"""
import argparse
import json
import math
import os
import random
import sys
import time
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))  # bench/wordpiece.py: HF's WordPiece in Python
sys.dont_write_bytecode = True

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from bert import safetensors  # noqa: E402
from trained import english_corpus  # noqa: E402
from bert.modeling import BertConfig, BertForMaskedLM, BertForSequenceClassification  # noqa: E402
from wordpiece import WordPiece  # noqa: E402

SHAPE = dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512,
             max_position_embeddings=128, type_vocab_size=2)
MAX_LEN = 128             # tokens per training text, [CLS] and [SEP] included
TOKENS_PER_BATCH = 4096   # padded tokens per masked-LM step
MASK_PROB = 0.15
LR, WARMUP, WEIGHT_DECAY = 1e-3, 0.06, 0.01
CLS_LR, CLS_BATCH, CLS_MAX_LEN = 1e-4, 32, 64
HELDOUT_MASKS = 600
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def log(msg: str) -> None:
    print(f"[make_trained_models {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def full_vocab_path() -> str:
    for base in (os.environ.get("BERT_SERVE_SHARED_DATA"), os.path.join(ROOT, "test/data/shared")):
        if base and os.path.isfile(os.path.join(base, "bert-base-uncased-vocab.txt")):
            return os.path.join(base, "bert-base-uncased-vocab.txt")
    sys.exit("make_trained_models: bert-base-uncased-vocab.txt not found (test/data/shared or BERT_SERVE_SHARED_DATA)")


def trimmed_vocab(full: WordPiece, used: set) -> List[str]:
    """Full-vocabulary order, keeping specials, the pieces used and every one-character piece."""
    keep = []
    for tok, i in sorted(full.vocab.items(), key=lambda kv: kv[1]):
        bare = tok[2:] if tok.startswith("##") else tok
        if tok in SPECIALS or i in used or len(bare) == 1:
            keep.append(tok)
    return keep


def windows(ids: List[int], cls: int, sep: int) -> List[List[int]]:
    body = MAX_LEN - 2
    return [[cls, *ids[i:i + body], sep] for i in range(0, max(1, len(ids)), body)]


def mlm_batches(seqs: List[List[int]], rng: random.Random) -> List[List[List[int]]]:
    """Length-sorted buckets cut at TOKENS_PER_BATCH padded tokens, in shuffled order."""
    order = sorted(range(len(seqs)), key=lambda i: (len(seqs[i]), rng.random()))
    batches, cur, longest = [], [], 0
    for i in order:
        n = max(longest, len(seqs[i]))
        if cur and n * (len(cur) + 1) > TOKENS_PER_BATCH:
            batches.append(cur)
            cur, longest = [], 0
            n = len(seqs[i])
        cur.append(seqs[i])
        longest = n
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def pad(batch: List[List[int]], pad_id: int) -> Tuple[torch.Tensor, torch.Tensor]:
    n = max(len(s) for s in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    am = torch.zeros((len(batch), n), dtype=torch.long)
    for r, s in enumerate(batch):
        ids[r, :len(s)] = torch.tensor(s)
        am[r, :len(s)] = 1
    return ids, am


def mask_tokens(ids: torch.Tensor, am: torch.Tensor, special: torch.Tensor, mask_id: int,
                vocab_size: int, g: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BERT's 80/10/10 masking of 15% of the real tokens; returns (inputs, flat positions, targets)."""
    can = am.bool() & ~special[ids]
    pick = (torch.rand(ids.shape, generator=g) < MASK_PROB) & can
    if not pick.any():
        pick[0, 1] = True
    inputs = ids.clone()
    r = torch.rand(ids.shape, generator=g)
    inputs[pick & (r < 0.8)] = mask_id
    rand = pick & (r >= 0.8) & (r < 0.9)
    inputs[rand] = torch.randint(len(SPECIALS), vocab_size, (int(rand.sum()),), generator=g)
    flat = pick.reshape(-1).nonzero().squeeze(1)
    return inputs, flat, ids.reshape(-1)[flat]


def init_weights(module: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "LayerNorm" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))


def schedule(step: int, total: int) -> float:
    warm = max(1, int(WARMUP * total))
    return step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))


def optimizer(module: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    decay = [p for n, p in module.named_parameters() if not ("LayerNorm" in n or n.endswith("bias"))]
    rest = [p for n, p in module.named_parameters() if "LayerNorm" in n or n.endswith("bias")]
    return torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": rest, "weight_decay": 0.0}], lr=lr)


def train_mlm(model: BertForMaskedLM, seqs: List[List[int]], special: torch.Tensor, vocab: Dict[str, int],
              steps: int, deadline: float, seed: int) -> Dict:
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    opt = optimizer(model, LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule(s, steps))
    model.train()
    step, epoch, t0, recent = 0, 0, time.time(), []
    while step < steps:
        epoch += 1
        for batch in mlm_batches(seqs, rng):
            if step >= steps or time.time() > deadline:
                break
            ids, am = pad(batch, vocab["[PAD]"])
            inputs, flat, targets = mask_tokens(ids, am, special, vocab["[MASK]"], len(vocab), g)
            logits = model.fill_mask_logits(inputs, am, torch.zeros_like(ids), flat)
            loss = F.cross_entropy(logits, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            recent.append(float(loss))
            if step % 50 == 0:
                log(f"mlm step {step}/{steps} epoch {epoch} loss {sum(recent) / len(recent):.3f} "
                    f"lr {sched.get_last_lr()[0]:.2e} ({(time.time() - t0) / step:.2f} s/step)")
                recent = []
        if time.time() > deadline:
            log(f"mlm: --minutes reached at step {step} of {steps}")
            break
    model.eval()
    return {"steps": step, "steps_planned": steps, "epochs": epoch, "seconds": round(time.time() - t0, 1),
            "stopped_early": step < steps}


def masked_word_texts(full: WordPiece, paras: List[english_corpus.Paragraph], n: int, seed: int) -> List[Dict]:
    """Held-out texts with one whole word (a single piece, letters only, not a special) masked."""
    rng = random.Random(seed)
    out = []
    for p in rng.sample(paras, len(paras)):
        words = p.text.split(" ")
        if len(full.encode(p.text)) > MAX_LEN:
            continue
        cands = [i for i, w in enumerate(words) if w.isalpha() and len(full.tokenize_ids(w)) == 1]
        if not cands:
            continue
        i = rng.choice(cands)
        target = words[i]
        words[i] = "[MASK]"
        out.append({"text": " ".join(words), "word": target.lower(), "source": p.source})
        if len(out) == n:
            break
    return out


@torch.no_grad()
def mlm_accuracy(model: BertForMaskedLM, tok: WordPiece, texts: List[Dict]) -> Dict:
    top1 = top5 = 0
    gaps = []
    for t in texts:
        ids = tok.encode(t["text"])
        pos = ids.index(tok.mask)
        x = torch.tensor([ids])
        logits = model.fill_mask_logits(x, torch.ones_like(x), torch.zeros_like(x), torch.tensor([pos]))[0]
        probs = logits.softmax(-1)
        best = probs.topk(5)
        want = tok.vocab[t["word"]]
        top1 += int(best.indices[0] == want)
        top5 += int(want in best.indices.tolist())
        gaps.append(float(best.values[0] - best.values[1]))
    gaps.sort()
    return {"texts": len(texts), "top1_accuracy": round(top1 / len(texts), 4), "top5_accuracy": round(top5 / len(texts), 4),
            "median_top1_top2_probability_gap": round(gaps[len(gaps) // 2], 4)}


def train_classifier(model: BertForSequenceClassification, data: List[Tuple[List[int], int]], epochs: int,
                     pad_id: int, seed: int) -> Dict:
    rng = random.Random(seed)
    opt = optimizer(model, CLS_LR)
    total = epochs * math.ceil(len(data) / CLS_BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule(s, total))
    # Balanced loss: the topics are unequal (networking has 7x gui's texts).
    counts = torch.bincount(torch.tensor([y for _, y in data]), minlength=len(english_corpus.LABELS)).float()
    weight = counts.sum() / (len(counts) * counts)
    model.train()
    t0, step = time.time(), 0
    for epoch in range(epochs):
        order = list(range(len(data)))
        rng.shuffle(order)
        for b in range(0, len(order), CLS_BATCH):
            rows = [data[i] for i in order[b:b + CLS_BATCH]]
            ids, am = pad([r[0] for r in rows], pad_id)
            y = torch.tensor([r[1] for r in rows])
            loss = F.cross_entropy(model(ids, am, torch.zeros_like(ids)), y, weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
        log(f"classifier epoch {epoch + 1}/{epochs} done (loss {float(loss):.3f})")
    model.eval()
    return {"epochs": epochs, "steps": step, "seconds": round(time.time() - t0, 1)}


@torch.no_grad()
def classifier_accuracy(model: BertForSequenceClassification, data: List[Tuple[List[int], int]], pad_id: int) -> Dict:
    right = 0
    for b in range(0, len(data), 64):
        rows = data[b:b + 64]
        ids, am = pad([r[0] for r in rows], pad_id)
        pred = model(ids, am, torch.zeros_like(ids)).argmax(-1)
        right += int((pred == torch.tensor([r[1] for r in rows])).sum())
    return {"texts": len(data), "accuracy": round(right / len(data), 4)}


def half_rounded(model: torch.nn.Module) -> None:
    """Round every weight to float16 in place: the committed file holds exactly these values."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


def save_checkpoint(model: torch.nn.Module, config: Dict, vocab: List[str], out: str, extra: Dict) -> None:
    os.makedirs(out, exist_ok=True)
    sd = {k: v.half() for k, v in model.state_dict().items()}
    if "cls.predictions.decoder.weight" in sd:  # tied to the word embeddings, as HF saves it
        del sd["cls.predictions.decoder.weight"]
    sd.pop("cls.predictions.decoder.bias", None)
    safetensors.save(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump({**config, **extra}, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "model_max_length": MAX_LEN, "tokenizer_class": "BertTokenizer"}, f, indent=2)
        f.write("\n")


def write_jsonl(path: str, rows: List[Dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(ROOT, "test/data/trained"))
    ap.add_argument("--steps", type=int, default=2000, help="masked-LM optimizer steps (default 2000)")
    ap.add_argument("--classifier-epochs", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=360, help="stop the masked-LM training after this long")
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads (default 1: on a shared machine a team of 2 waits at "
                         "every operator for whichever thread was descheduled)")
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t_start = time.time()

    paras = english_corpus.paragraphs()
    full = WordPiece(full_vocab_path())
    log(f"corpus: {len(paras)} paragraphs, {sum(len(p.text) for p in paras)} characters, digest {english_corpus.digest(paras)[:16]}")
    encoded = [full.tokenize_ids(p.text) for p in paras]
    used = {i for ids in encoded for i in ids}
    vocab_list = trimmed_vocab(full, used)
    remap = {full.vocab[t]: i for i, t in enumerate(vocab_list)}
    vocab = {t: i for i, t in enumerate(vocab_list)}
    tok_path = os.path.join(a.out, "mlm")
    os.makedirs(tok_path, exist_ok=True)
    with open(os.path.join(tok_path, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab_list) + "\n")
    tok = WordPiece(os.path.join(tok_path, "vocab.txt"))
    train_seqs: List[List[int]] = []
    for p, ids in zip(paras, encoded):
        if not p.held_out:
            train_seqs += windows([remap[i] for i in ids], vocab["[CLS]"], vocab["[SEP]"])
    n_tokens = sum(len(s) for s in train_seqs)
    log(f"vocabulary cut to {len(vocab_list)} pieces; {len(train_seqs)} training texts, {n_tokens} tokens")

    config = dict(architectures=["BertForMaskedLM"], model_type="bert", vocab_size=len(vocab_list), hidden_act="gelu",
                  layer_norm_eps=1e-12, pad_token_id=0, position_embedding_type="absolute", torch_dtype="float16", **SHAPE)
    mlm = BertForMaskedLM(BertConfig(**config))
    init_weights(mlm, a.seed)
    special = torch.zeros(len(vocab_list), dtype=torch.bool)
    for s in SPECIALS:
        special[vocab[s]] = True
    mlm_run = train_mlm(mlm, train_seqs, special, vocab, a.steps, t_start + a.minutes * 60, a.seed)
    half_rounded(mlm)
    held = [p for p in paras if p.held_out]
    masked = masked_word_texts(full, held, HELDOUT_MASKS, a.seed)
    mlm_acc = mlm_accuracy(mlm, tok, masked)
    log(f"mlm held-out: {mlm_acc}")

    def topic_rows(items):
        rows = []
        for p in items:
            ids = tok.encode(p.text)[:CLS_MAX_LEN - 1] + [vocab["[SEP]"]]
            rows.append((ids, english_corpus.LABELS.index(p.topic)))
        return rows
    cls_train = topic_rows([p for p in paras if p.topic and not p.held_out])
    cls_held = topic_rows([p for p in paras if p.topic and p.held_out])
    labels = english_corpus.LABELS
    cls_config = dict(config, architectures=["BertForSequenceClassification"],
                      id2label={str(i): l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)})
    clf = BertForSequenceClassification(BertConfig(**cls_config))
    init_weights(clf, a.seed + 1)
    missing = clf.load_state_dict({k: v for k, v in mlm.state_dict().items() if k.startswith("bert.")}, strict=False)
    assert all(k.startswith(("bert.pooler.", "classifier.")) for k in missing.missing_keys), missing
    cls_run = train_classifier(clf, cls_train, a.classifier_epochs, vocab["[PAD]"], a.seed)
    half_rounded(clf)
    cls_acc = classifier_accuracy(clf, cls_held, vocab["[PAD]"])
    log(f"classifier held-out: {cls_acc}")

    common = {"trained_by": "scripts/make_trained_models.py"}
    save_checkpoint(mlm, config, vocab_list, os.path.join(a.out, "mlm"), common)
    save_checkpoint(clf, cls_config, vocab_list, os.path.join(a.out, "classify"), common)
    write_jsonl(os.path.join(a.out, "mlm", "heldout-fill-mask.jsonl"), masked)
    write_jsonl(os.path.join(a.out, "classify", "heldout-classify.jsonl"),
                [{"text": p.text, "label": p.topic} for p in paras if p.topic and p.held_out])
    record = {
        "corpus": {"paragraphs": len(paras), "characters": sum(len(p.text) for p in paras),
                   "sha256": english_corpus.digest(paras), "training_texts": len(train_seqs), "training_tokens": n_tokens,
                   "held_out_percent": english_corpus.HELD_OUT_PERCENT},
        "vocabulary": len(vocab_list), "shape": SHAPE, "seed": a.seed, "threads": a.threads,
        "torch_version": torch.__version__, "mlm_training": mlm_run, "mlm_held_out": mlm_acc,
        "classifier": {"labels": labels, "training_texts": len(cls_train), **cls_run, "held_out": cls_acc},
        "seconds": round(time.time() - t_start, 1),
    }
    with open(os.path.join(a.out, "training.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())

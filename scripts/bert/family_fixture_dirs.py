"""Building the fixture directories of BERT's relatives (make_test_models.py lists them).

Imported by make_test_models.py once it knows something must be built; not run by itself.
Per family (distilbert, roberta, xlmr, electra, mpnet) and head (mlm, embed, classify, ner, qa):
  FAMILY-HEAD         a Hugging Face checkpoint of that family's class, written to FAMILY-HEAD/hf
                      as transformers saves one (its keys, its config.json), exported by export_hf
  FAMILY-HEAD-traced  the same weights traced as a user traces transformers' module with
                      torchscript=True: forward(input_ids, attention_mask[, token_type_ids]) ->
                      a tuple ((start_logits, end_logits) for qa), the family's own submodule
                      names, no bert_serve block in config.json
Both of a pair hold the same weights (one seed per family and head), so their answers agree.
The tokenizer is WordPiece: bert-base-uncased's vocabulary for DistilBERT and ELECTRA (what their
checkpoints ship); for MPNet, RoBERTa and XLM-R the same words behind RoBERTa's special ids
(<s> 0, <pad> 1, </s> 2, <unk> 3) and <mask> last, which is MPNet's own vocabulary. So every
fixture answers text through the engine's tokenizer, with the family's special tokens, padding
id and position scheme; byte-level BPE and Unigram tokenizers are the tokenizer's own fixtures.
"""
import json
import os
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

import vocab  # scripts/vocab.py; the caller has scripts/ on sys.path
from . import synthetic
from .export import export
from .families.catalog import FAMILIES
from .families.registry import ARCHITECTURES
from .task_fixture_dirs import CHECK_SENTENCES, NER_LABELS, QA_SCALE, SENTIMENT, write_st_files

Log = Callable[[str], None]
ROLE_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]  # RoBERTa's ids 0-3; <mask> comes last
_SMALL = dict(num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
# Each family as its real checkpoints' config.json has it, scaled down (hidden 32, 2 layers).
SHAPES: Dict[str, Dict] = {
    "distilbert": dict(model_type="distilbert", dim=32, n_layers=2, n_heads=2, hidden_dim=128,
                       activation="gelu", max_position_embeddings=512, pad_token_id=0,
                       sinusoidal_pos_embds=False),
    "roberta": dict(model_type="roberta", hidden_size=32, max_position_embeddings=514,
                    type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                    layer_norm_eps=1e-5, hidden_act="gelu", **_SMALL),
    "xlmr": dict(model_type="xlm-roberta", hidden_size=32, max_position_embeddings=514,
                 type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                 layer_norm_eps=1e-5, hidden_act="gelu", **_SMALL),
    "electra": dict(model_type="electra", embedding_size=16, hidden_size=32,
                    max_position_embeddings=512, type_vocab_size=2, pad_token_id=0,
                    layer_norm_eps=1e-12, hidden_act="gelu", **_SMALL),
    "mpnet": dict(model_type="mpnet", hidden_size=32, max_position_embeddings=514,
                  relative_attention_num_buckets=32, pad_token_id=1, bos_token_id=0,
                  eos_token_id=2, layer_norm_eps=1e-5, hidden_act="gelu", **_SMALL),
}
ROLE_VOCAB = {"roberta", "xlmr", "mpnet"}
# Users trace with what their tokenizer returns: token_type_ids only where it gives them.
TRACE_TYPES = {"electra"}
HEADS = {"mlm": "ForMaskedLM", "embed": "Model", "classify": "ForSequenceClassification",
         "ner": "ForTokenClassification", "qa": "ForQuestionAnswering"}
# sentence-transformers directories: their config.json names the MLM class they were trained from
# (all-mpnet-base-v2 does), modules.json makes them encoders.
SENTENCE_TRANSFORMERS = {"mpnet", "distilbert"}
SEEDS = {family: 3000 + 10 * i for i, family in enumerate(SHAPES)}
CLASSIFY_SCALE, NER_SCALE = 8.0, 4.0


def names() -> List[str]:
    return [f"{family}-{head}{suffix}" for family in SHAPES for head in HEADS
            for suffix in ("", "-traced")]


def architecture(family: str, head: str) -> str:
    return FAMILIES[SHAPES[family]["model_type"]].prefix + HEADS[head]


def tokens(family: str) -> List[str]:
    words, _ = vocab.uncased_vocab()
    return ROLE_TOKENS + words + ["<mask>"] if family in ROLE_VOCAB else words


def tokenizer_config(family: str) -> Dict:
    if family not in ROLE_VOCAB:
        return dict(synthetic.TOKENIZER_CONFIG,
                    tokenizer_class=FAMILIES[SHAPES[family]["model_type"]].prefix + "Tokenizer")
    return {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "MPNetTokenizer",
            "bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
            "unk_token": "[UNK]", "pad_token": "<pad>", "mask_token": "<mask>"}


def write_tokenizer(d: str, family: str) -> None:
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(vocab.vocab_text(tokens(family)))
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(family), f, indent=2)
        f.write("\n")


def hf_config(family: str, head: str) -> Dict:
    cfg = dict(SHAPES[family])
    cfg.update(vocab_size=len(tokens(family)), architectures=[architecture(family, head)],
               torch_dtype="float32")
    labels = SENTIMENT if head == "classify" else NER_LABELS if head == "ner" else None
    if labels:
        cfg.update(id2label={str(i): l for i, l in enumerate(labels)},
                   label2id={l: i for i, l in enumerate(labels)})
    return cfg


def check_ids(family: str) -> List[List[int]]:
    """CHECK_SENTENCES as ids, with the family's [CLS]/[SEP] or <s>/</s>."""
    index = {t: i for i, t in enumerate(tokens(family))}
    cls, sep = ("<s>", "</s>") if family in ROLE_VOCAB else ("[CLS]", "[SEP]")
    return [[index[cls]] + [index[w] for w in s.split()] + [index[sep]] for s in CHECK_SENTENCES]


def run(model: nn.Module, forward_inputs: int, ids: Tensor, am: Tensor) -> Tensor:
    """model's forward on ids and mask (and zero token types when it takes them)."""
    return model(*(ids, am, torch.zeros_like(ids))[:forward_inputs])


@torch.no_grad()
def _check_logits(model: nn.Module, family: str, forward_inputs: int) -> List[Tensor]:
    out = []
    for ids in check_ids(family):
        t = torch.tensor([ids])
        out.append(run(model, forward_inputs, t, torch.ones_like(t))[0])
    return out


@torch.no_grad()
def seeded_model(family: str, head: str) -> Tuple[nn.Module, Dict, int]:
    """The family's head class with seeded weights, its config.json and its forward's input
    count. The weights are shaped so that tests can tell answers apart: special tokens kept out
    of fill-mask answers, classification and NER labels and question answering's best spans that
    vary over CHECK_SENTENCES (checked: it fails loudly otherwise, as the BERT task fixtures do)."""
    cfg = hf_config(family, head)
    arch = ARCHITECTURES[cfg["architectures"][0]]
    config = arch.config_from(cfg)
    model = arch.cls(config).eval()
    synthetic.init_weights(model, config, SEEDS[family] + list(HEADS).index(head))
    n = arch.forward_inputs
    if head == "mlm" and family in ROLE_VOCAB:
        bias = dict(model.named_parameters())["lm_head.bias"]
        bias[:len(ROLE_TOKENS)] -= 8.0  # the role tokens and <mask>, as a trained model has them
        bias[-1] -= 8.0
    if head == "classify":
        final = getattr(model.classifier, "out_proj", model.classifier)
        final.weight.mul_(CLASSIFY_SCALE)
        final.bias.sub_(torch.stack(_check_logits(model, family, n)).mean(0))
        picked = torch.stack(_check_logits(model, family, n)).argmax(-1).tolist()
        if len(set(picked)) < 2:
            raise RuntimeError(f"{family}-classify: labels {picked} do not vary; change SEEDS")
    if head == "ner":
        # O wins about half the tokens, as in real text: its bias is lifted by the median margin
        # of the best other label over it.
        model.classifier.weight.mul_(NER_SCALE)
        logits = torch.cat([x[1:-1] for x in _check_logits(model, family, n)])
        margin = logits[:, 1:].max(-1).values - logits[:, 0]
        model.classifier.bias[0] += float(margin.median()) + 1e-3
        labels = [i for logits in _check_logits(model, family, n)
                  for i in logits[1:-1].argmax(-1).tolist()]
        if not 0.2 <= labels.count(0) / len(labels) <= 0.9 or len(set(labels)) < 4:
            raise RuntimeError(f"{family}-ner: token labels {labels} are not a mix; change SEEDS")
    if head == "qa":
        # A peaked softmax over a context, as a trained model has, as the BERT qa fixture.
        model.qa_outputs.weight.mul_(QA_SCALE)
        best = {(int(x[1:-1, 0].argmax()), int(x[1:-1, 1].argmax())) for x in _check_logits(model, family, n)}
        if len(best) < 4:
            raise RuntimeError(f"{family}-qa: best (start, end) tokens {sorted(best)} barely vary; change SEEDS")
    return model, cfg, n


class HFTraced(nn.Module):
    """What torch.jit.trace of a transformers model loaded with torchscript=True gives: forward
    takes what the tokenizer returns (input_ids, attention_mask[, token_type_ids]) and returns a
    tuple ((logits,), (last_hidden_state[, pooler_output]) for an encoder with a pooler, or
    (start_logits, end_logits) for question answering, which transformers splits from its
    qa_outputs layer's [b, s, 2]).

    The wrapped model's children become this module's own (the model itself is hidden from the
    module tree), so the trace has transformers' submodule names and state-dict keys: roberta,
    lm_head, distilbert, vocab_projector, ...
    """

    def __init__(self, model: nn.Module, forward_inputs: int, split: bool = False) -> None:
        super().__init__()
        for name, child in model.named_children():
            self.add_module(name, child)
        object.__setattr__(self, "wrapped", model)
        self.n_inputs = forward_inputs
        self.split = split

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        out = self.wrapped(*(input_ids, attention_mask, token_type_ids)[:self.n_inputs])
        if self.split:
            start, end = out.split(1, dim=-1)
            return (start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous())
        pooler = getattr(self.wrapped, "pooler", None)
        return (out,) if pooler is None else (out, pooler(out))


@torch.no_grad()
def user_trace(d: str, family: str, head: str, model: nn.Module, forward_inputs: int) -> Dict:
    """Traces model as HFTraced on one example, checks the trace against the eager model on a
    padded batch of other lengths, and writes model.pt."""
    with_types = family in TRACE_TYPES
    wrapper = HFTraced(model, forward_inputs, split=head == "qa").eval()
    ids = torch.tensor([check_ids(family)[0]])
    example = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if with_types else ())
    # check_trace off: the trace is checked below against the eager model on a padded batch of
    # other lengths, which tells more than torch's re-run on the example (and costs less).
    traced = torch.jit.trace(wrapper, example, check_trace=False)
    pad = tokens(family).index("<pad>" if family in ROLE_VOCAB else "[PAD]")
    rows = check_ids(family)[1:4]
    n = max(len(r) for r in rows)
    t = torch.tensor([r + [pad] * (n - len(r)) for r in rows])
    am = (torch.arange(n)[None, :] < torch.tensor([len(r) for r in rows])[:, None]).long()
    out = traced(*((t, am) + ((torch.zeros_like(t),) if with_types else ())))
    got = torch.stack(out, -1) if head == "qa" else out[0]
    want = run(model, forward_inputs, t, am)
    diff = (got - want).abs()
    diff = diff * am[..., None] if diff.dim() == 3 else diff
    if float(diff.max()) > 1e-5:
        raise RuntimeError(f"{d}: the trace differs from the eager module by {float(diff.max())}")
    for p in traced.parameters():
        p.requires_grad_(False)
    torch.jit.save(traced, os.path.join(d, "model.pt"))
    return {"inputs": len(example), "max_abs_diff": float(diff.max())}


def st_config(family: str, head: str, cfg: Dict) -> Dict:
    """config.json of a sentence-transformers directory: the MLM class name it was trained from."""
    if head == "embed" and family in SENTENCE_TRANSFORMERS:
        return dict(cfg, architectures=[architecture(family, "mlm")])
    return cfg


def build(d: str, name: str, log: Log) -> Dict:
    traced = name.endswith("-traced")
    family, head = name[:-len("-traced")].split("-") if traced else name.split("-")
    model, cfg, forward_inputs = seeded_model(family, head)
    st = head == "embed" and family in SENTENCE_TRANSFORMERS
    if traced:
        info = user_trace(d, family, head, model, forward_inputs)
        write_tokenizer(d, family)
        with open(os.path.join(d, "config.json"), "w", encoding="utf-8") as f:
            json.dump(st_config(family, head, cfg), f, indent=2, sort_keys=True)
            f.write("\n")
        if st:
            write_st_files(d)
        return info
    hf = os.path.join(d, "hf")
    # An encoder's checkpoint has no family prefix ("embeddings.", not "roberta.embeddings."):
    # the layout sentence-transformers and transformers' *Model.save_pretrained write.
    synthetic.write_checkpoint(hf, st_config(family, head, cfg), model.state_dict())
    write_tokenizer(hf, family)
    if st:
        write_st_files(hf)
    s = export(hf, d, log=log)
    return {"max_abs_diff": s.get("max_abs_diff"), "signature": s.get("signature")}


BUILDERS: Dict[str, Callable[[str, Log], Dict]] = {
    n: (lambda d, log, n=n: build(d, n, log)) for n in names()}

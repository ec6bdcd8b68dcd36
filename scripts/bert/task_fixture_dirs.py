"""Building the fixture directories of the tasks besides fill-mask (make_test_models.py lists them).

Imported by make_test_models.py once it knows something must be built; not run by itself.
Each task has its own seeded weights, shared by its variants (embed, embed-cls and the
embed-traced ones; classify, classify-traced and classify-int8; ner and ner-traced; tiny,
mlm-traced and int8), so their answers can be compared with each other. Random weights would
give one label everywhere or near-uniform scores, so each builder shapes its head and checks the
result on CHECK_SENTENCES, failing loudly when the answers do not vary as tests need.
"""
import json
import os
from typing import Callable, Dict, List, Optional, Tuple

import torch

import vocab  # scripts/vocab.py; the caller has scripts/ on sys.path
from . import fixtures, synthetic
from .fixture_dirs import TINY, Log, exported, tiny_config, tiny_mlm, write_dir
from .modeling import (BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
                       BertForTokenClassification, BertModel)

EMBED_SEED, CLASSIFY_SEED, MULTI_SEED, RERANK_SEED, NER_SEED = 2001, 2002, 2003, 2004, 2005
QA_SEED, QA_SCALE = 2006, 4.0
SENTIMENT = ["negative", "neutral", "positive"]
TOPICS = ["sports", "politics", "science", "arts"]
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
NER_SCALE, NER_O_BIAS = 4.0, 2.0
CLASSIFY_SCALE = 8.0
# The builders check their weights on these (lowercase words of the uncased vocabulary).
CHECK_SENTENCES = [
    "john smith lives in new york and works for the united nations",
    "the weather is terrible today",
    "i really love this wonderful movie",
    "angela davis met george bush in paris on monday",
    "the company reported strong growth in europe and asia",
    "nothing happened at all",
    "microsoft and google compete in the cloud market",
    "she visited the louvre museum with her brother david",
]
# pooling_mode_* keys as sentence-transformers writes them; embed turns mean on.
POOLING_OFF = {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
               "include_prompt": True}
ST_PROMPTS = {"query": "query: ", "passage": "passage: "}


def check_ids(n: Optional[int] = None) -> List[List[int]]:
    """CHECK_SENTENCES as [CLS] words [SEP] ids (every word is a whole vocabulary token)."""
    tokens, _ = vocab.uncased_vocab()
    index = {t: i for i, t in enumerate(tokens)}
    return [[index["[CLS]"]] + [index[w] for w in s.split()] + [index["[SEP]"]]
            for s in CHECK_SENTENCES[:n]]


def labels_config(architecture: str, labels: List[str], **over) -> Dict:
    return tiny_config(architecture, id2label={str(i): l for i, l in enumerate(labels)},
                       label2id={l: i for i, l in enumerate(labels)}, **over)


def seeded(cls, config: Dict, seed: int) -> torch.nn.Module:
    cfg = BertConfig.from_dict(config)
    model = cls(cfg).eval()
    synthetic.init_weights(model, cfg, seed)
    return model


@torch.no_grad()
def _check_logits(model: torch.nn.Module) -> List[torch.Tensor]:
    out = []
    for ids in check_ids():
        t = torch.tensor([ids])
        out.append(model(t, torch.ones_like(t), torch.zeros_like(t))[0])
    return out


def embed_model() -> Tuple[BertModel, Dict]:
    config = tiny_config("BertModel")
    return seeded(BertModel, config, EMBED_SEED), config


@torch.no_grad()
def classify_model(labels: List[str], seed: int, **over) -> Tuple[torch.nn.Module, Dict]:
    """A classifier whose answer varies with the input (checked on CHECK_SENTENCES).

    The seeded init gives a pooled [CLS] that differs little between sentences, so one label
    would win everywhere: the classifier weights are scaled up (CLASSIFY_SCALE) and its bias is
    set so that each logit averages zero over CHECK_SENTENCES. Then the argmax varies, sigmoid
    scores (multi-label, rerank) fall on both sides of 0.5, and no argmax sits on float noise.
    """
    config = labels_config("BertForSequenceClassification", labels, **over)
    model = seeded(BertForSequenceClassification, config, seed)
    model.classifier.weight.mul_(CLASSIFY_SCALE)
    model.classifier.bias.sub_(torch.stack(_check_logits(model)).mean(0))
    logits = torch.stack(_check_logits(model))
    if len(labels) > 1 and len(set(logits.argmax(-1).tolist())) < min(3, len(labels)):
        raise RuntimeError(f"classify fixture (seed {seed}): predicted labels "
                           f"{logits.argmax(-1).tolist()} do not vary; change the seed")
    both_signs = bool(((logits > 0).any(0) & (logits < 0).any(0)).all())
    if float(logits.std(0).min()) < 0.5 or not both_signs:
        raise RuntimeError(f"classify fixture (seed {seed}): logits {logits.tolist()} barely vary")
    return model, config


def classify_sentiment() -> Tuple[torch.nn.Module, Dict]:
    return classify_model(SENTIMENT, CLASSIFY_SEED)


@torch.no_grad()
def ner_model() -> Tuple[BertForTokenClassification, Dict]:
    """Token labels that mix O, B-* and I-* on CHECK_SENTENCES (else it fails loudly).

    The classifier is scaled up (clear argmaxes) and O gets a bias, so that O is the most common
    label but not the only one, as with a real NER model.
    """
    config = labels_config("BertForTokenClassification", NER_LABELS)
    model = seeded(BertForTokenClassification, config, NER_SEED)
    model.classifier.weight.mul_(NER_SCALE)
    model.classifier.bias[0] += NER_O_BIAS
    labels = [NER_LABELS[i] for logits in _check_logits(model)
              for i in logits[1:-1].argmax(-1).tolist()]
    o = labels.count("O") / len(labels)
    b = sum(1 for l in labels if l.startswith("B-"))
    i = sum(1 for l in labels if l.startswith("I-"))
    if not (0.3 <= o <= 0.8 and b >= 3 and i >= 3):
        raise RuntimeError(f"ner fixture: token labels {labels} are not a mix of O, B-, I- "
                           f"(O {o:.0%}, B {b}, I {i}); change NER_SCALE / NER_O_BIAS / NER_SEED")
    return model, config


@torch.no_grad()
def qa_model() -> Tuple[BertForQuestionAnswering, Dict]:
    """Start and end logits whose best tokens differ between CHECK_SENTENCES (else it fails
    loudly): qa_outputs is scaled up so that the softmax over a context is peaked, as a trained
    model's is, and the best span is not the same token everywhere."""
    config = tiny_config("BertForQuestionAnswering")
    model = seeded(BertForQuestionAnswering, config, QA_SEED)
    model.qa_outputs.weight.mul_(QA_SCALE)
    best = {(int(l[1:-1, 0].argmax()), int(l[1:-1, 1].argmax())) for l in _check_logits(model)}
    if len(best) < 4:
        raise RuntimeError(f"qa fixture: best (start, end) tokens {sorted(best)} barely vary; "
                           "change QA_SCALE / QA_SEED")
    return model, config


def write_st_files(d: str, pooling: Optional[Dict] = None, pooling_dir: str = "1_Pooling") -> None:
    """sentence-transformers' files: modules.json, the Pooling config, the prompts."""
    modules = [{"idx": 0, "name": "0", "path": "",
                "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": pooling_dir,
                "type": "sentence_transformers.models.Pooling"}]
    files = {"modules.json": modules,
             f"{pooling_dir}/config.json": dict(POOLING_OFF, word_embedding_dimension=TINY[
                 "hidden_size"], **(pooling or {"pooling_mode_mean_tokens": True})),
             "config_sentence_transformers.json": {
                 "__version__": {"sentence_transformers": "3.0.1"}, "prompts": ST_PROMPTS,
                 "default_prompt_name": None, "similarity_fn_name": "cosine"},
             "sentence_bert_config.json": {"max_seq_length": TINY["max_position_embeddings"],
                                           "do_lower_case": False}}
    for rel, content in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)
            f.write("\n")


def make_embed(d: str, log: Log) -> Dict:
    # BertModel's state dict has no "bert." prefix: the sentence-transformers layout.
    model, config = embed_model()
    return exported(d, model, config, log, extra=write_st_files)


def make_embed_cls(d: str, log: Log) -> Dict:
    model, config = embed_model()
    return exported(d, model, config, log)


def make_classify(d: str, log: Log) -> Dict:
    model, config = classify_sentiment()
    return exported(d, model, config, log)


def make_classify_multi(d: str, log: Log) -> Dict:
    model, config = classify_model(TOPICS, MULTI_SEED, problem_type="multi_label_classification")
    return exported(d, model, config, log)


def make_rerank(d: str, log: Log) -> Dict:
    model, config = classify_model(["LABEL_0"], RERANK_SEED)
    return exported(d, model, config, log)


def make_ner(d: str, log: Log) -> Dict:
    model, config = ner_model()
    return exported(d, model, config, log)


def make_int8(d: str, log: Log) -> Dict:
    return exported(d, tiny_mlm(), tiny_config(), log, quantize="int8")


def make_classify_int8(d: str, log: Log) -> Dict:
    model, config = classify_sentiment()
    return exported(d, model, config, log, quantize="int8")


@torch.no_grad()
def user_trace(d: str, wrapper: torch.nn.Module, eager: torch.nn.Module, config: Dict,
               token_types: bool = False, answer: Callable = lambda out: out[0]) -> Dict:
    """torch.jit.trace(wrapper, (input_ids, attention_mask[, token_type_ids])) as users do,
    checked against the eager module on a padded batch (answer: the traced output as the eager
    module's), written with a config that has no bert_serve block."""
    ids = torch.tensor([[101, 2198, 3044, 3268, 1999, 3000, 1012, 102]])
    types = (torch.zeros_like(ids),) if token_types else ()
    traced = torch.jit.trace(wrapper.eval(), (ids, torch.ones_like(ids)) + types)
    batch = [check_ids()[0], check_ids()[1]]
    n = max(len(b) for b in batch)
    t = torch.tensor([b + [0] * (n - len(b)) for b in batch])
    am = (t != 0).long()
    types = (torch.zeros_like(t),) if token_types else ()
    want, got = eager(t, am, torch.zeros_like(t)), answer(traced(t, am, *types))
    diff = (want - got).abs()
    diff = diff * am[..., None] if diff.dim() == 3 else diff
    if float(diff.max()) > 1e-5:
        raise RuntimeError(f"{d}: the trace differs from the eager module by {float(diff.max())}")
    write_dir(d, config, traced)
    return {"outputs": len(traced(t, am, *types)), "max_abs_diff": float(diff.max())}


def make_mlm_traced(d: str, log: Log) -> Dict:
    mlm = tiny_mlm()
    return user_trace(d, fixtures.HFTracedMaskedLM(mlm), mlm, tiny_config())


def make_embed_traced(d: str, log: Log) -> Dict:
    model, config = embed_model()
    info = user_trace(d, fixtures.HFBertModel(model), model, config)
    write_st_files(d)  # embed's pooling, so its answers are embed's
    return info


def make_embed_traced_nopooler(d: str, log: Log) -> Dict:
    model, config = embed_model()
    bare = BertModel(BertConfig.from_dict(config), add_pooling_layer=False).eval()
    bare.load_state_dict({k: v for k, v in model.state_dict().items()
                          if not k.startswith("pooler.")})
    return user_trace(d, fixtures.HFBertModel(bare), bare, config)


def make_classify_traced(d: str, log: Log) -> Dict:
    model, config = classify_sentiment()
    return user_trace(d, fixtures.HFTracedSequenceClassification(model), model, config)


def make_ner_traced(d: str, log: Log) -> Dict:
    model, config = ner_model()
    return user_trace(d, fixtures.HFTracedTokenClassification(model), model, config)


def make_qa(d: str, log: Log) -> Dict:
    model, config = qa_model()
    return exported(d, model, config, log)


def make_qa_traced(d: str, log: Log) -> Dict:
    model, config = qa_model()
    return user_trace(d, fixtures.HFTracedQuestionAnswering(model), model, config, token_types=True,
                      answer=lambda out: torch.stack(out, -1))


# The words that make the non-finite fixtures' output NaN or +Inf for the rows holding them.
NAN_WORD, INF_WORD = "nan", "infinity"


def non_finite(cls, weights: torch.nn.Module, config: Dict) -> Tuple[torch.jit.ScriptModule, Dict]:
    tokens, _ = vocab.uncased_vocab()
    ids = {"nan_id": tokens.index(NAN_WORD), "inf_id": tokens.index(INF_WORD)}
    model = cls(BertConfig.from_dict(config), **ids).eval()
    model.load_state_dict(weights.state_dict())
    return torch.jit.script(model), ids


def make_nonfinite_mlm(d: str, log: Log) -> Dict:
    scripted, ids = non_finite(fixtures.NonFiniteMaskedLM, tiny_mlm(), tiny_config())
    write_dir(d, tiny_config(), scripted)
    return ids


def make_nonfinite_embed(d: str, log: Log) -> Dict:
    model, config = embed_model()
    scripted, ids = non_finite(fixtures.NonFiniteModel, model, config)
    write_dir(d, config, scripted)
    write_st_files(d)  # mean pooling: a NaN row anywhere in the text reaches the embedding
    return ids


def make_nonfinite_classify(d: str, log: Log) -> Dict:
    model, config = classify_sentiment()
    scripted, ids = non_finite(fixtures.NonFiniteSequenceClassification, model, config)
    write_dir(d, config, scripted)
    return ids


def make_nonfinite_rerank(d: str, log: Log) -> Dict:
    model, config = classify_model(["LABEL_0"], RERANK_SEED)
    scripted, ids = non_finite(fixtures.NonFiniteSequenceClassification, model, config)
    write_dir(d, config, scripted)
    return ids


def make_nonfinite_ner(d: str, log: Log) -> Dict:
    model, config = ner_model()
    scripted, ids = non_finite(fixtures.NonFiniteTokenClassification, model, config)
    write_dir(d, config, scripted)
    return ids


BUILDERS: Dict[str, Callable[[str, Log], Dict]] = {
    "embed": make_embed, "embed-cls": make_embed_cls, "classify": make_classify,
    "classify-multi": make_classify_multi, "rerank": make_rerank, "ner": make_ner,
    "mlm-traced": make_mlm_traced, "embed-traced": make_embed_traced,
    "embed-traced-nopooler": make_embed_traced_nopooler, "classify-traced": make_classify_traced,
    "ner-traced": make_ner_traced, "int8": make_int8, "classify-int8": make_classify_int8,
    "nonfinite-mlm": make_nonfinite_mlm, "nonfinite-embed": make_nonfinite_embed,
    "nonfinite-classify": make_nonfinite_classify, "nonfinite-rerank": make_nonfinite_rerank,
    "nonfinite-ner": make_nonfinite_ner, "qa": make_qa, "qa-traced": make_qa_traced,
}

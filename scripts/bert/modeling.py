"""BERT in plain torch, TorchScript-able, with Hugging Face's parameter names.

Imported by the scripts in scripts/ (export_hf.py, make_demo_model.py, ...); not run by itself.
Run the scripts with Debian's torch: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/<name>.py

The module tree and every state-dict key equal transformers' BertModel / BertForMaskedLM /
BertForSequenceClassification / BertForTokenClassification, so a Hugging Face state dict loads with strict=True once the
non-persistent buffers and the keys HF itself ignores are dropped (see checkpoint.py). The
arithmetic follows HF's eager attention path op for op (same order of additions, division by
sqrt(head_size) after the matmul, mask = (1 - m) * finfo(dtype).min, exact erf GELU), so the
outputs agree with transformers to float rounding.

Inference only: no dropout modules (they hold no parameters), no head mask, no past keys.
Every forward takes (input_ids, attention_mask, token_type_ids), int64 [batch, seq].
"""
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn


class BertConfig:
    """The config.json fields the model needs; everything else in the file is kept aside."""

    def __init__(self, **kw: Any) -> None:
        self.vocab_size: int = int(kw.get("vocab_size", 30522))
        self.hidden_size: int = int(kw.get("hidden_size", 768))
        self.num_hidden_layers: int = int(kw.get("num_hidden_layers", 12))
        self.num_attention_heads: int = int(kw.get("num_attention_heads", 12))
        self.intermediate_size: int = int(kw.get("intermediate_size", 3072))
        self.hidden_act: str = str(kw.get("hidden_act", "gelu"))
        self.max_position_embeddings: int = int(kw.get("max_position_embeddings", 512))
        self.type_vocab_size: int = int(kw.get("type_vocab_size", 2))
        self.layer_norm_eps: float = float(kw.get("layer_norm_eps", 1e-12))
        self.pad_token_id: int = int(kw.get("pad_token_id", 0) or 0)
        self.position_embedding_type: str = str(kw.get("position_embedding_type", "absolute"))
        self.tie_word_embeddings: bool = bool(kw.get("tie_word_embeddings", True))
        self.is_decoder: bool = bool(kw.get("is_decoder", False))
        id2label = kw.get("id2label") or {}
        self.num_labels: int = int(kw.get("num_labels", len(id2label) or 2))
        self.validate()

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "BertConfig":
        return cls(**d)

    def validate(self) -> None:
        # Refuse what this implementation would silently compute differently from HF.
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported "
                             f"(supported: {', '.join(sorted(ACTIVATIONS))})")
        if self.position_embedding_type != "absolute":
            raise ValueError(f"position_embedding_type {self.position_embedding_type!r} is not "
                             "supported (only 'absolute')")
        if self.is_decoder:
            raise ValueError("is_decoder=true (causal BERT) is not supported")


# HF's ACT2FN names -> modules without parameters. "gelu" is the exact erf form.
ACTIVATIONS = {
    "gelu": lambda: nn.GELU(),
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "relu": lambda: nn.ReLU(),
}


def mask_fill_value(dtype: torch.dtype) -> float:
    """torch.finfo(dtype).min, which TorchScript cannot call; HF 4.x masks with this value."""
    if dtype == torch.float16:
        return -65504.0
    if dtype == torch.bfloat16:
        return -3.3895313892515355e38
    if dtype == torch.float64:
        return -1.7976931348623157e308
    return -3.4028234663852886e38


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        # Not persistent, as in HF >= 4.31, so it is not a state-dict key.
        self.register_buffer("position_ids",
                             torch.arange(config.max_position_embeddings).expand((1, -1)),
                             persistent=False)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.scale = math.sqrt(self.attention_head_size)
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)

    def split_heads(self, x: Tensor) -> Tensor:
        return x.view(x.size(0), x.size(1), self.num_attention_heads,
                      self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, hidden_states: Tensor, extended_mask: Tensor) -> Tensor:
        query_layer = self.split_heads(self.query(hidden_states))
        key_layer = self.split_heads(self.key(hidden_states))
        value_layer = self.split_heads(self.value(hidden_states))
        scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        scores = scores / self.scale
        scores = scores + extended_mask
        probs = torch.softmax(scores, dim=-1)
        context = torch.matmul(probs, value_layer).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size(0), context.size(1), self.all_head_size)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: Tensor, extended_mask: Tensor) -> Tensor:
        return self.output(self.self(hidden_states, extended_mask), hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACTIVATIONS[config.hidden_act]()

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, extended_mask: Tensor) -> Tensor:
        attention_output = self.attention(hidden_states, extended_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states: Tensor, extended_mask: Tensor) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, extended_mask)
        return hidden_states


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return torch.tanh(self.dense(hidden_states[:, 0]))


class BertModel(nn.Module):
    """Encoder; forward returns last_hidden_state [batch, seq, hidden] (the embeddings contract).

    The pooler exists (HF BertModel has one, and its keys are in the state dict) but forward does
    not use it; the classification head calls it.
    """

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        if add_pooling_layer:
            self.pooler = BertPooler(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        embeddings = self.embeddings(input_ids, token_type_ids)
        # [batch, 1, 1, seq]: 0 where attended, the dtype's lowest value at padding (HF 4.x).
        extended = attention_mask[:, None, None, :].to(embeddings.dtype)
        extended = (1.0 - extended) * mask_fill_value(embeddings.dtype)
        return self.encoder(embeddings, extended)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACTIVATIONS[config.hidden_act]()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        # HF ties them: both cls.predictions.bias and cls.predictions.decoder.bias are keys.
        self.decoder.bias = self.bias

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: Tensor) -> Tensor:
        return self.predictions(sequence_output)


class BertForMaskedLM(nn.Module):
    """Fill-mask. forward -> logits [batch, seq, vocab]; fill_mask_logits -> [m, vocab].

    Like HF, no pooler (add_pooling_layer=False) and the decoder weight is the word-embedding
    matrix unless config.tie_word_embeddings is false.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        if config.tie_word_embeddings:
            self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        # One place both entry points go through, so test fixtures can override it.
        return self.bert(input_ids, attention_mask, token_type_ids)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.cls(self.hidden_states(input_ids, attention_mask, token_type_ids))

    @torch.jit.export
    def fill_mask_logits(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor,
                         mask_index: Tensor) -> Tensor:
        """Logits at the flat positions mask_index (batch_idx * seq_len + pos), int64 [m].

        The vocabulary projection is most of a small model's cost; fill-mask needs it only at the
        mask rows, so the head runs on [m, hidden] instead of [batch*seq, hidden] (a 2-layer model
        ran 5-7x faster at batch 32 this way).
        """
        hidden = self.hidden_states(input_ids, attention_mask, token_type_ids)
        rows = hidden.reshape(-1, hidden.size(-1)).index_select(0, mask_index)
        return self.cls(rows)


class BertForSequenceClassification(nn.Module):
    """Classification. forward -> logits [batch, num_labels] (pooled [CLS] -> classifier)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=True)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(self.bert.pooler(hidden))


class BertForTokenClassification(nn.Module):
    """Token classification (NER). forward -> logits [batch, seq, num_labels].

    Like HF, no pooler (add_pooling_layer=False): a checkpoint's bert.pooler.* keys are dropped.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.classifier(self.bert(input_ids, attention_mask, token_type_ids))


class BertForQuestionAnswering(nn.Module):
    """Extractive question answering. forward -> logits [batch, seq, 2]: qa_outputs' start and end
    logits per token, not yet split (transformers splits them into start_logits, end_logits).
    No pooler, as HF."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.qa_outputs(self.bert(input_ids, attention_mask, token_type_ids))


class Architecture:
    """What the exporter needs to know about one HF architecture name (of any family: the
    keyword arguments default to BERT's facts; bert/families/ gives the others')."""

    def __init__(self, name: str, task: str, cls: Any, signature: str,
                 base_prefix: str, ignored_prefixes: List[str], *, model_type: str = "bert",
                 model_prefix: str = "bert.", forward_inputs: int = 3,
                 tied_weights: Optional[List[Tuple[str, str]]] = None,
                 tied_bias: Optional[Tuple[str, str]] = None,
                 config_from: Callable[[Dict[str, Any]], BertConfig] = BertConfig.from_dict
                 ) -> None:
        self.name = name
        self.task = task
        self.cls = cls
        self.signature = signature          # the method the engine should prefer
        self.base_prefix = base_prefix      # where the encoder sits in the state dict
        # Keys HF itself drops when loading this class from another head's checkpoint.
        self.ignored_prefixes = ignored_prefixes
        self.model_type = model_type        # config.json's model_type: the family
        self.model_prefix = model_prefix    # the encoder's prefix in a head checkpoint
        self.forward_inputs = forward_inputs  # 3: + token_type_ids; 2: the family has none
        # (output key, input key): the output embedding is the word embedding when the config
        # ties them (tie_word_embeddings); tied_bias: (decoder bias, head bias), one tensor.
        self.tied_weights = tied_weights or []
        self.tied_bias = tied_bias
        self.config_from = config_from      # config.json (a dict) -> the module's config


ARCHITECTURES: Dict[str, Architecture] = {
    a.name: a for a in [
        Architecture("BertForMaskedLM", "fill-mask", BertForMaskedLM, "fill_mask_logits",
                     "bert.", ["bert.pooler.", "cls.seq_relationship."],
                     tied_weights=[("cls.predictions.decoder.weight",
                                    "bert.embeddings.word_embeddings.weight")],
                     tied_bias=("cls.predictions.decoder.bias", "cls.predictions.bias")),
        Architecture("BertModel", "embeddings", BertModel, "forward", "", ["cls."]),
        Architecture("BertForSequenceClassification", "classification",
                     BertForSequenceClassification, "forward", "bert.", ["cls."]),
        Architecture("BertForTokenClassification", "token-classification",
                     BertForTokenClassification, "forward", "bert.", ["bert.pooler.", "cls."]),
        Architecture("BertForQuestionAnswering", "question-answering",
                     BertForQuestionAnswering, "forward", "bert.", ["bert.pooler.", "cls."]),
    ]
}


def build(architecture: str, config: BertConfig) -> nn.Module:
    arch: Optional[Architecture] = ARCHITECTURES.get(architecture)
    if arch is None:
        raise KeyError(architecture)
    return arch.cls(config).eval()

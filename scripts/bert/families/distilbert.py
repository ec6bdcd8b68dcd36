"""DistilBERT in plain torch, with transformers' module tree, keys and arithmetic.

Not run by itself (see bert/families/__init__.py). What differs from BERT: its own module names
(distilbert.transformer.layer.N.attention.q_lin, sa_layer_norm, ffn.lin1, ...), no token types
(forward takes input_ids and attention_mask only), the query scaled before the product, padding
masked with masked_fill instead of an added mask, LayerNorm eps fixed at 1e-12, no pooler: the
sequence classifier reads the first token through pre_classifier and a ReLU.
"""
import math
from typing import Any, Dict, List

import torch
from torch import Tensor, nn

from ..modeling import ACTIVATIONS, Architecture, BertConfig, mask_fill_value
from .common import MaskedLMWithoutTypes, family_config

# DistilBertConfig's key names and defaults, as BertConfig names them.
RENAMES = {"dim": "hidden_size", "n_heads": "num_attention_heads", "n_layers": "num_hidden_layers",
           "hidden_dim": "intermediate_size", "activation": "hidden_act"}
DEFAULTS: Dict[str, Any] = {"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 6,
                            "intermediate_size": 3072, "hidden_act": "gelu", "pad_token_id": 0,
                            "max_position_embeddings": 512}
LAYER_NORM_EPS = 1e-12  # not configurable in transformers' DistilBERT


def distilbert_config(raw: Dict[str, Any]) -> BertConfig:
    # sinusoidal_pos_embds needs nothing here: transformers computes the sinusoids into
    # position_embeddings.weight, which checkpoints carry like any other weight.
    config = family_config(raw, DEFAULTS, RENAMES)
    config.layer_norm_eps = LAYER_NORM_EPS
    return config


class Embeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self.register_buffer("position_ids",
                             torch.arange(config.max_position_embeddings).expand((1, -1)),
                             persistent=False)

    def forward(self, input_ids: Tensor) -> Tensor:
        position_ids = self.position_ids[:, :input_ids.size(1)]
        embeddings = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.n_heads = config.num_attention_heads
        self.dim = config.hidden_size
        self.dim_per_head = self.dim // self.n_heads
        self.q_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.k_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.out_lin = nn.Linear(config.hidden_size, config.hidden_size)

    def shape(self, x: Tensor) -> Tensor:
        return x.view(x.size(0), -1, self.n_heads, self.dim_per_head).transpose(1, 2)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        bs, k_length = x.size(0), x.size(1)
        q = self.shape(self.q_lin(x))
        k = self.shape(self.k_lin(x))
        v = self.shape(self.v_lin(x))
        q = q / math.sqrt(self.dim_per_head)
        scores = torch.matmul(q, k.transpose(2, 3))
        padding = (mask == 0).view(bs, 1, 1, k_length).expand_as(scores)
        scores = scores.masked_fill(padding, mask_fill_value(scores.dtype))
        weights = torch.softmax(scores, dim=-1)
        context = torch.matmul(weights, v).transpose(1, 2).contiguous()
        return self.out_lin(context.view(bs, -1, self.n_heads * self.dim_per_head))


class FFN(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.lin1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.lin2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.activation = ACTIVATIONS[config.hidden_act]()

    def forward(self, x: Tensor) -> Tensor:
        return self.lin2(self.activation(self.lin1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        sa_output = self.sa_layer_norm(self.attention(x, attn_mask) + x)
        return self.output_layer_norm(self.ffn(sa_output) + sa_output)


class Transformer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(config)
                                    for _ in range(config.num_hidden_layers)])

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        for layer in self.layer:
            x = layer(x, attn_mask)
        return x


class DistilBertModel(nn.Module):
    """forward(input_ids, attention_mask) -> last_hidden_state [batch, seq, dim]."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.transformer(self.embeddings(input_ids), attention_mask)


class DistilBertForMaskedLM(MaskedLMWithoutTypes):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.activation = ACTIVATIONS[config.hidden_act]()
        self.distilbert = DistilBertModel(config)
        self.vocab_transform = nn.Linear(config.hidden_size, config.hidden_size)
        self.vocab_layer_norm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self.vocab_projector = nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_word_embeddings:
            self.vocab_projector.weight = self.distilbert.embeddings.word_embeddings.weight

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.distilbert(input_ids, attention_mask)

    def project(self, hidden: Tensor) -> Tensor:
        x = self.vocab_layer_norm(self.activation(self.vocab_transform(hidden)))
        return self.vocab_projector(x)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        pooled = self.distilbert(input_ids, attention_mask)[:, 0]
        return self.classifier(torch.relu(self.pre_classifier(pooled)))


class DistilBertForTokenClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.distilbert = DistilBertModel(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.classifier(self.distilbert(input_ids, attention_mask))


class DistilBertForQuestionAnswering(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.distilbert = DistilBertModel(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.qa_outputs(self.distilbert(input_ids, attention_mask))


_COMMON = dict(model_type="distilbert", model_prefix="distilbert.", forward_inputs=2,
               config_from=distilbert_config)
_HEADS = ["vocab_transform.", "vocab_layer_norm.", "vocab_projector."]
ARCHITECTURES: List[Architecture] = [
    Architecture("DistilBertForMaskedLM", "fill-mask", DistilBertForMaskedLM, "fill_mask_logits",
                 "distilbert.", [], tied_weights=[(
                     "vocab_projector.weight", "distilbert.embeddings.word_embeddings.weight")],
                 **_COMMON),
    Architecture("DistilBertModel", "embeddings", DistilBertModel, "forward", "", _HEADS,
                 **_COMMON),
    Architecture("DistilBertForSequenceClassification", "classification",
                 DistilBertForSequenceClassification, "forward", "distilbert.", _HEADS, **_COMMON),
    Architecture("DistilBertForTokenClassification", "token-classification",
                 DistilBertForTokenClassification, "forward", "distilbert.", _HEADS, **_COMMON),
    Architecture("DistilBertForQuestionAnswering", "question-answering",
                 DistilBertForQuestionAnswering, "forward", "distilbert.", _HEADS, **_COMMON),
]

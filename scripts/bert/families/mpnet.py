"""MPNet in plain torch, with transformers' module tree, keys and arithmetic.

Not run by itself (see bert/families/__init__.py). What differs from BERT: no token types
(forward takes input_ids and attention_mask only); position ids counted from padding_idx + 1,
with padding_idx fixed at 1 as transformers has it; a relative position bias shared by all
layers (mpnet.encoder.relative_attention_bias, bucketed T5-style) added to every layer's attention
scores; attention projections named q, k, v, o. The pooler, the masked-LM head (lm_head) and the
sequence classifier (first token -> dense -> tanh -> out_proj) are RoBERTa's.
"""
import math
from typing import Any, Dict, List

import torch
from torch import Tensor, nn

from ..modeling import (Architecture, BertConfig, BertIntermediate, BertOutput, BertPooler,
                        mask_fill_value)
from .common import (FirstTokenClassificationHead, LMHead, MaskedLMWithoutTypes, additive_mask,
                     family_config, position_ids_from_input_ids)

PADDING_IDX = 1  # hard-coded in transformers' MPNetEmbeddings, whatever pad_token_id says
DEFAULTS: Dict[str, Any] = {"vocab_size": 30527, "pad_token_id": 1, "layer_norm_eps": 1e-12,
                            "relative_attention_num_buckets": 32}


def mpnet_config(raw: Dict[str, Any]) -> BertConfig:
    config = family_config(raw, DEFAULTS, {})
    config.relative_attention_num_buckets = int(raw.get("relative_attention_num_buckets", 32))
    return config


class MPNetEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.padding_idx = PADDING_IDX
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=PADDING_IDX)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=PADDING_IDX)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: Tensor) -> Tensor:
        position_ids = position_ids_from_input_ids(input_ids, self.padding_idx)
        embeddings = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class MPNetSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.q = nn.Linear(config.hidden_size, self.all_head_size)
        self.k = nn.Linear(config.hidden_size, self.all_head_size)
        self.v = nn.Linear(config.hidden_size, self.all_head_size)
        self.o = nn.Linear(config.hidden_size, config.hidden_size)

    def split_heads(self, x: Tensor) -> Tensor:
        return x.view(x.size(0), -1, self.num_attention_heads,
                      self.attention_head_size).transpose(1, 2)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor,
                position_bias: Tensor) -> Tensor:
        q = self.split_heads(self.q(hidden_states))
        k = self.split_heads(self.k(hidden_states))
        v = self.split_heads(self.v(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        scores = scores + position_bias
        scores = scores + attention_mask
        c = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        return self.o(c.view(c.size(0), c.size(1), self.all_head_size))


class MPNetAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attn = MPNetSelfAttention(config)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor,
                position_bias: Tensor) -> Tensor:
        return self.LayerNorm(self.attn(hidden_states, attention_mask, position_bias)
                              + hidden_states)


class MPNetLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = MPNetAttention(config)
        self.intermediate = BertIntermediate(config)  # same keys and arithmetic
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor,
                position_bias: Tensor) -> Tensor:
        attention_output = self.attention(hidden_states, attention_mask, position_bias)
        return self.output(self.intermediate(attention_output), attention_output)


def relative_position_bucket(relative_position: Tensor, num_buckets: int = 32,
                             max_distance: int = 128) -> Tensor:
    """transformers' MPNetEncoder.relative_position_bucket (T5's), op for op. Its caller,
    compute_position_bias, always passes 32 buckets, whatever relative_attention_num_buckets says:
    so do we (the defaults)."""
    num_buckets = num_buckets // 2
    n = -relative_position
    ret = (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact)
                                / math.log(max_distance / max_exact)
                                * (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    return ret + torch.where(is_small, n, val_if_large)


class MPNetEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([MPNetLayer(config) for _ in range(config.num_hidden_layers)])
        self.relative_attention_bias = nn.Embedding(config.relative_attention_num_buckets,
                                                    config.num_attention_heads)

    def compute_position_bias(self, x: Tensor) -> Tensor:
        """[batch, heads, seq, seq] from the positions 0..seq-1 (padding does not shift them)."""
        bsz, qlen = x.size(0), x.size(1)
        context_position = torch.arange(qlen, dtype=torch.long, device=x.device)[:, None]
        memory_position = torch.arange(qlen, dtype=torch.long, device=x.device)[None, :]
        rp_bucket = relative_position_bucket(memory_position - context_position)
        values = self.relative_attention_bias(rp_bucket).permute([2, 0, 1]).unsqueeze(0)
        return values.expand((bsz, -1, qlen, qlen)).contiguous()

    def forward(self, hidden_states: Tensor, attention_mask: Tensor) -> Tensor:
        position_bias = self.compute_position_bias(hidden_states)
        for layer in self.layer:
            hidden_states = layer(hidden_states, attention_mask, position_bias)
        return hidden_states


class MPNetModel(nn.Module):
    """forward(input_ids, attention_mask) -> last_hidden_state; the pooler is there (its keys are
    in the checkpoint) but forward does not use it, as for BertModel."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__()
        self.embeddings = MPNetEmbeddings(config)
        self.encoder = MPNetEncoder(config)
        if add_pooling_layer:
            self.pooler = BertPooler(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        embeddings = self.embeddings(input_ids)
        return self.encoder(embeddings, additive_mask(attention_mask, embeddings.dtype))


class MPNetForMaskedLM(MaskedLMWithoutTypes):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.mpnet = MPNetModel(config, add_pooling_layer=False)
        self.lm_head = LMHead(config)
        if config.tie_word_embeddings:
            self.lm_head.decoder.weight = self.mpnet.embeddings.word_embeddings.weight

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.mpnet(input_ids, attention_mask)

    def project(self, hidden: Tensor) -> Tensor:
        return self.lm_head(hidden)


class MPNetForSequenceClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.mpnet = MPNetModel(config, add_pooling_layer=False)
        self.classifier = FirstTokenClassificationHead(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.classifier(self.mpnet(input_ids, attention_mask))


class MPNetForTokenClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.mpnet = MPNetModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.classifier(self.mpnet(input_ids, attention_mask))


class MPNetForQuestionAnswering(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.mpnet = MPNetModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.qa_outputs(self.mpnet(input_ids, attention_mask))


_COMMON = dict(model_type="mpnet", model_prefix="mpnet.", forward_inputs=2,
               config_from=mpnet_config)
ARCHITECTURES: List[Architecture] = [
    Architecture("MPNetForMaskedLM", "fill-mask", MPNetForMaskedLM, "fill_mask_logits", "mpnet.",
                 ["mpnet.pooler."], tied_weights=[(
                     "lm_head.decoder.weight", "mpnet.embeddings.word_embeddings.weight")],
                 tied_bias=("lm_head.decoder.bias", "lm_head.bias"), **_COMMON),
    Architecture("MPNetModel", "embeddings", MPNetModel, "forward", "", ["lm_head."], **_COMMON),
    Architecture("MPNetForSequenceClassification", "classification",
                 MPNetForSequenceClassification, "forward", "mpnet.",
                 ["mpnet.pooler.", "lm_head."], **_COMMON),
    Architecture("MPNetForTokenClassification", "token-classification",
                 MPNetForTokenClassification, "forward", "mpnet.", ["mpnet.pooler.", "lm_head."],
                 **_COMMON),
    Architecture("MPNetForQuestionAnswering", "question-answering",
                 MPNetForQuestionAnswering, "forward", "mpnet.", ["mpnet.pooler.", "lm_head."],
                 **_COMMON),
]

"""Pieces the family modules share (TorchScript-able; not run by itself).

The task heads' entry points live here once: every masked LM of every family answers forward and
fill_mask_logits the same way around its own `hidden_states` and `project` methods, so the engine
sees one contract whatever the family's module names are.
"""
import copy
from typing import Any, Callable, Dict

import torch
from torch import Tensor, nn

from ..modeling import BertConfig, mask_fill_value


def additive_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """[batch, 1, 1, seq]: 0 where attended, the dtype's lowest value at padding, as transformers
    4.x's get_extended_attention_mask computes it."""
    extended = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - extended) * mask_fill_value(dtype)


def position_ids_from_input_ids(input_ids: Tensor, padding_idx: int) -> Tensor:
    """RoBERTa's and MPNet's positions: padding_idx + 1, + 2, ... over the non-pad tokens, and
    padding_idx at pad tokens (fairseq's make_positions, op for op as transformers has it)."""
    mask = input_ids.ne(padding_idx).int()
    incremental_indices = torch.cumsum(mask, dim=1).type_as(mask) * mask
    return incremental_indices.long() + padding_idx


def family_config(raw: Dict[str, Any], defaults: Dict[str, Any],
                  renames: Dict[str, str]) -> BertConfig:
    """A BertConfig from a family's config.json: its class defaults first (what transformers
    assumes for a key the file lacks), then the file, with the family's own key names mapped to
    BERT's (DistilBERT's dim -> hidden_size, ...)."""
    merged = dict(defaults)
    for key, value in raw.items():
        merged[renames.get(key, key)] = value
    return BertConfig.from_dict(merged)


def with_hidden_size(config: BertConfig, hidden_size: int) -> BertConfig:
    """A copy of config with another hidden_size (ELECTRA's embeddings are embedding_size wide)."""
    c = copy.copy(config)
    c.hidden_size = hidden_size
    return c


class MaskedLMWithTypes(nn.Module):
    """forward and fill_mask_logits for a masked LM whose encoder takes token_type_ids.

    Subclasses define hidden_states(input_ids, attention_mask, token_type_ids) -> [b, s, h] and
    project(hidden) -> logits over the vocabulary.
    """

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.project(self.hidden_states(input_ids, attention_mask, token_type_ids))

    @torch.jit.export
    def fill_mask_logits(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor,
                         mask_index: Tensor) -> Tensor:
        """Logits [m, vocab] at the flat rows mask_index (batch_idx * seq_len + pos): the
        vocabulary projection runs on the mask rows only."""
        hidden = self.hidden_states(input_ids, attention_mask, token_type_ids)
        return self.project(hidden.reshape(-1, hidden.size(-1)).index_select(0, mask_index))


class MaskedLMWithoutTypes(nn.Module):
    """The same for the families without token types (DistilBERT, MPNet): one input fewer."""

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.project(self.hidden_states(input_ids, attention_mask))

    @torch.jit.export
    def fill_mask_logits(self, input_ids: Tensor, attention_mask: Tensor,
                         mask_index: Tensor) -> Tensor:
        hidden = self.hidden_states(input_ids, attention_mask)
        return self.project(hidden.reshape(-1, hidden.size(-1)).index_select(0, mask_index))


class FirstTokenClassificationHead(nn.Module):
    """RoBERTa's, XLM-R's, MPNet's and ELECTRA's sequence classification head: the first token's
    hidden state -> dense -> activation (tanh; ELECTRA: exact GELU) -> out_proj. No pooler."""

    def __init__(self, config: BertConfig, activation: Callable[[], nn.Module] = nn.Tanh) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = activation()
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features: Tensor) -> Tensor:
        return self.out_proj(self.activation(self.dense(features[:, 0, :])))


class LMHead(nn.Module):
    """RoBERTa's (and XLM-R's and MPNet's) masked-LM head: dense -> exact GELU -> layer_norm ->
    decoder. lm_head.bias and lm_head.decoder.bias are the same tensor, as in transformers."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, features: Tensor) -> Tensor:
        return self.decoder(self.layer_norm(nn.functional.gelu(self.dense(features))))

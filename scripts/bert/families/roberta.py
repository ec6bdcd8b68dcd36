"""RoBERTa and XLM-RoBERTa in plain torch, with transformers' module tree, keys and arithmetic.

Not run by itself (see bert/families/__init__.py). XLM-RoBERTa is RoBERTa with another
vocabulary: transformers' XLMRoberta* classes are copies of the Roberta* ones, and a checkpoint
of either keeps its encoder under "roberta.", so the same modules serve both.

What differs from BERT: position ids are counted from padding_idx + 1 over the non-pad tokens
(so they depend on input_ids, not on the attention mask), type_vocab_size is 1, the sequence
classifier reads the first token without a pooler (dense -> tanh -> out_proj), and the MLM head is
lm_head (dense -> GELU -> layer_norm -> decoder). The layers are BERT's, key for key.
"""
from typing import Any, Dict, List

import torch
from torch import Tensor, nn

from ..modeling import Architecture, BertConfig, BertEncoder, BertModel, BertPooler
from .common import (FirstTokenClassificationHead, LMHead, MaskedLMWithTypes, family_config,
                     position_ids_from_input_ids)

# RobertaConfig's defaults that differ from BERT's.
DEFAULTS: Dict[str, Any] = {"pad_token_id": 1, "layer_norm_eps": 1e-12, "type_vocab_size": 2,
                            "max_position_embeddings": 512}


def roberta_config(raw: Dict[str, Any]) -> BertConfig:
    return family_config(raw, DEFAULTS, {})


class RobertaEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        position_ids = position_ids_from_input_ids(input_ids, self.padding_idx)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class RobertaModel(BertModel):
    """BertModel's forward (embeddings -> additive mask -> BERT layers) on RoBERTa's embeddings."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        nn.Module.__init__(self)
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = BertEncoder(config)
        if add_pooling_layer:
            self.pooler = BertPooler(config)


class RobertaForMaskedLM(MaskedLMWithTypes):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.lm_head = LMHead(config)
        if config.tie_word_embeddings:
            self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        return self.roberta(input_ids, attention_mask, token_type_ids)

    def project(self, hidden: Tensor) -> Tensor:
        return self.lm_head(hidden)


class RobertaForSequenceClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.classifier = FirstTokenClassificationHead(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.classifier(self.roberta(input_ids, attention_mask, token_type_ids))


class RobertaForTokenClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.classifier(self.roberta(input_ids, attention_mask, token_type_ids))


class RobertaForQuestionAnswering(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.qa_outputs(self.roberta(input_ids, attention_mask, token_type_ids))


def architectures(prefix: str, model_type: str) -> List[Architecture]:
    """The five heads under transformers' class names for `prefix` (Roberta, XLMRoberta)."""
    common = dict(model_type=model_type, model_prefix="roberta.", config_from=roberta_config)
    return [
        Architecture(f"{prefix}ForMaskedLM", "fill-mask", RobertaForMaskedLM, "fill_mask_logits",
                     "roberta.", ["roberta.pooler."],
                     tied_weights=[("lm_head.decoder.weight",
                                    "roberta.embeddings.word_embeddings.weight")],
                     tied_bias=("lm_head.decoder.bias", "lm_head.bias"), **common),
        Architecture(f"{prefix}Model", "embeddings", RobertaModel, "forward", "", ["lm_head."],
                     **common),
        Architecture(f"{prefix}ForSequenceClassification", "classification",
                     RobertaForSequenceClassification, "forward", "roberta.",
                     ["roberta.pooler.", "lm_head."], **common),
        Architecture(f"{prefix}ForTokenClassification", "token-classification",
                     RobertaForTokenClassification, "forward", "roberta.",
                     ["roberta.pooler.", "lm_head."], **common),
        Architecture(f"{prefix}ForQuestionAnswering", "question-answering",
                     RobertaForQuestionAnswering, "forward", "roberta.",
                     ["roberta.pooler.", "lm_head."], **common),
    ]


ARCHITECTURES = architectures("Roberta", "roberta") + architectures("XLMRoberta", "xlm-roberta")

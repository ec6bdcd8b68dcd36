"""ELECTRA in plain torch, with transformers' module tree, keys and arithmetic.

Not run by itself (see bert/families/__init__.py). The encoder is BERT's, key for key, under
"electra."; what differs: the embeddings are embedding_size wide, projected to hidden_size by
electra.embeddings_project when the two differ; there is no pooler. The discriminator
(ElectraForPreTraining, replaced-token detection) is what users fine-tune into classifiers, so its
checkpoints export as an ElectraModel encoder, or with a classification head once fine-tuned; the
generator (ElectraForMaskedLM) is the fill-mask model: generator_predictions (dense -> GELU ->
LayerNorm, to embedding_size) -> generator_lm_head, tied to the word embeddings. The sequence
classifier reads the first token: dense -> exact GELU -> out_proj.
"""
from typing import Any, Dict, List

from torch import Tensor, nn

from ..modeling import Architecture, BertConfig, BertEmbeddings, BertEncoder
from .common import (FirstTokenClassificationHead, MaskedLMWithTypes, additive_mask,
                     family_config, with_hidden_size)

# ElectraConfig's defaults that differ from BERT's (the small discriminator's shape).
DEFAULTS: Dict[str, Any] = {"embedding_size": 128, "hidden_size": 256, "num_attention_heads": 4,
                            "intermediate_size": 1024}


def electra_config(raw: Dict[str, Any]) -> BertConfig:
    config = family_config(raw, DEFAULTS, {})
    config.embedding_size = int(raw.get("embedding_size", DEFAULTS["embedding_size"]))
    return config


class ElectraModel(nn.Module):
    """forward(input_ids, attention_mask, token_type_ids) -> last_hidden_state [b, s, hidden]."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        # BERT's embeddings, embedding_size wide: the same keys and arithmetic.
        self.embeddings = BertEmbeddings(with_hidden_size(config, config.embedding_size))
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        else:
            self.embeddings_project = nn.Identity()  # no parameters: transformers has no such key
        self.encoder = BertEncoder(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        hidden = self.embeddings_project(self.embeddings(input_ids, token_type_ids))
        return self.encoder(hidden, additive_mask(attention_mask, hidden.dtype))


class ElectraGeneratorPredictions(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.LayerNorm(nn.functional.gelu(self.dense(hidden)))


class ElectraForMaskedLM(MaskedLMWithTypes):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.electra = ElectraModel(config)
        self.generator_predictions = ElectraGeneratorPredictions(config)
        self.generator_lm_head = nn.Linear(config.embedding_size, config.vocab_size)
        if config.tie_word_embeddings:
            self.generator_lm_head.weight = self.electra.embeddings.word_embeddings.weight

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        return self.electra(input_ids, attention_mask, token_type_ids)

    def project(self, hidden: Tensor) -> Tensor:
        return self.generator_lm_head(self.generator_predictions(hidden))


class ElectraForSequenceClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.electra = ElectraModel(config)
        self.classifier = FirstTokenClassificationHead(config, nn.GELU)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.classifier(self.electra(input_ids, attention_mask, token_type_ids))


class ElectraForTokenClassification(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.electra = ElectraModel(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.classifier(self.electra(input_ids, attention_mask, token_type_ids))


class ElectraForQuestionAnswering(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.electra = ElectraModel(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.qa_outputs(self.electra(input_ids, attention_mask, token_type_ids))


_COMMON = dict(model_type="electra", model_prefix="electra.", config_from=electra_config)
_HEADS = ["generator_predictions.", "generator_lm_head.", "discriminator_predictions."]
ARCHITECTURES: List[Architecture] = [
    Architecture("ElectraForMaskedLM", "fill-mask", ElectraForMaskedLM, "fill_mask_logits",
                 "electra.", ["discriminator_predictions."], tied_weights=[(
                     "generator_lm_head.weight", "electra.embeddings.word_embeddings.weight")],
                 **_COMMON),
    Architecture("ElectraModel", "embeddings", ElectraModel, "forward", "", _HEADS, **_COMMON),
    Architecture("ElectraForSequenceClassification", "classification",
                 ElectraForSequenceClassification, "forward", "electra.", _HEADS, **_COMMON),
    Architecture("ElectraForTokenClassification", "token-classification",
                 ElectraForTokenClassification, "forward", "electra.", _HEADS, **_COMMON),
    Architecture("ElectraForQuestionAnswering", "question-answering",
                 ElectraForQuestionAnswering, "forward", "electra.", _HEADS, **_COMMON),
]

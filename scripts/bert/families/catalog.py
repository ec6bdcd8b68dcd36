"""The model families bert-serve serves, as facts only (standard library; no torch).

Imported by bert/layout.py, to refuse a checkpoint before torch is loaded, and by
bert/families/__init__.py, which asserts that its modules implement exactly these architectures.
native/engine/model/model_config.cc holds the same table for the engine (a test compares them).

A family is a config.json "model_type". Per family:
  architectures  HF class name -> task, for every head the family has among fill-mask,
                 feature extraction, sequence classification, token classification and
                 extractive question answering
  encoder        the architecture a sentence-transformers directory of that family exports as
  token_types    whether its models take token_type_ids (DistilBERT and MPNet have no input for
                 them; RoBERTa and XLM-R take one, with type_vocab_size 1: always zero)
  positions      "absolute" (0, 1, 2, ...) or "from_padding_idx" (RoBERTa, XLM-R, MPNet: counted
                 from padding_idx + 1 over the non-pad tokens, so only
                 max_position_embeddings - padding_idx - 1 tokens fit)
  tokenizer      what its checkpoints ship (for the docs and error messages)
"""
from typing import Dict, List, NamedTuple, Optional

FILL_MASK, EMBEDDINGS = "fill-mask", "embeddings"
CLASSIFICATION, TOKEN_CLASSIFICATION = "classification", "token-classification"
QUESTION_ANSWERING = "question-answering"


class Family(NamedTuple):
    model_type: str
    name: str
    prefix: str  # the HF class-name prefix: Bert, Roberta, ...
    encoder: str
    architectures: Dict[str, str]
    token_types: bool
    positions: str
    tokenizer: str


def _family(model_type: str, name: str, prefix: str, token_types: bool, positions: str,
            tokenizer: str, model: str = "Model") -> Family:
    archs = {f"{prefix}ForMaskedLM": FILL_MASK, f"{prefix}{model}": EMBEDDINGS,
             f"{prefix}ForSequenceClassification": CLASSIFICATION,
             f"{prefix}ForTokenClassification": TOKEN_CLASSIFICATION,
             f"{prefix}ForQuestionAnswering": QUESTION_ANSWERING}
    return Family(model_type, name, prefix, f"{prefix}{model}", archs, token_types, positions,
                  tokenizer)


FAMILIES: Dict[str, Family] = {f.model_type: f for f in [
    _family("bert", "BERT", "Bert", True, "absolute", "WordPiece (vocab.txt or tokenizer.json)"),
    _family("distilbert", "DistilBERT", "DistilBert", False, "absolute", "WordPiece"),
    _family("roberta", "RoBERTa", "Roberta", True, "from_padding_idx", "byte-level BPE"),
    _family("xlm-roberta", "XLM-RoBERTa", "XLMRoberta", True, "from_padding_idx",
            "SentencePiece Unigram"),
    _family("electra", "ELECTRA", "Electra", True, "absolute", "WordPiece"),
    _family("mpnet", "MPNet", "MPNet", False, "from_padding_idx",
            "WordPiece with <s>/</s> (RoBERTa-style pairs)"),
]}

# Checkpoints saved from these classes carry the weights of the one named (plus keys that
# checkpoint.normalize_state_dict drops): BertForPreTraining holds BertForMaskedLM's (transformers'
# fill-mask pipeline loads it the same way); ElectraForPreTraining is the discriminator, whose
# encoder is an ElectraModel.
ALIASES = {"BertForPreTraining": "BertForMaskedLM", "ElectraForPreTraining": "ElectraModel"}

ARCHITECTURE_NAMES = tuple(a for f in FAMILIES.values() for a in f.architectures)


def family_of(architecture: str) -> Optional[Family]:
    for f in FAMILIES.values():
        if architecture in f.architectures:
            return f
    return None


def supported_model_types() -> List[str]:
    return list(FAMILIES)


def describe() -> str:
    """"bert (BERT), distilbert (DistilBERT), ...": for error messages."""
    return ", ".join(f"{f.model_type} ({f.name})" for f in FAMILIES.values())

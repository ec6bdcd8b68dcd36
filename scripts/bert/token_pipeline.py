"""A port of transformers' TokenClassificationPipeline.postprocess, for the reference answers.

Imported by reference.py; not run by itself. It follows transformers' pipelines/
token_classification.py method for method (gather_pre_entities, aggregate, aggregate_words,
aggregate_word, group_entities, group_sub_entities, get_tag) for what the pipeline loads for a
BERT: a fast WordPiece tokenizer. So a token is a subword when its string and the text it covers
differ in length ("##ing" vs "ing"); an [UNK] token takes the text it covers as its word; words
are joined by the tokenizers WordPiece decoder (what convert_tokens_to_string does for a fast
tokenizer: "##" glued, a space before other tokens, and its cleanup such as " ." -> ".");
scores are a float32 softmax, averaged in float32 as numpy does. Offsets are UTF-16 code units
(JavaScript string indices) in and out; the pipeline's length rule counts code points.
"""
import json
import os
from typing import Dict, List, Tuple

import numpy as np

AGGREGATIONS = ["none", "simple", "first", "average", "max"]


def wordpiece_decoder(model_dir: str) -> Dict:
    """The fast tokenizer's decoder: tokenizer.json's, else what transformers builds from a
    vocab.txt (WordPiece, prefix "##", cleanup on)."""
    try:
        with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
            dec = json.load(f).get("decoder") or {}
        if dec.get("type") == "WordPiece":
            return {"prefix": str(dec.get("prefix", "##")),
                    "cleanup": bool(dec.get("cleanup", True))}
    except (OSError, ValueError, AttributeError):
        pass
    return {"prefix": "##", "cleanup": True}


_CLEANUP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
            (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]


def tokens_to_string(tokens: List[str], decoder: Dict) -> str:
    """PreTrainedTokenizerFast.convert_tokens_to_string: the tokenizers WordPiece decoder (every
    token but the first loses its "##" or gains a leading space; cleanup per token), joined."""
    out = []
    for i, token in enumerate(tokens):
        if i != 0:
            token = token.replace(decoder["prefix"], "", 1) if token.startswith(decoder["prefix"]) \
                else " " + token
        if decoder["cleanup"]:
            for a, b in _CLEANUP:
                token = token.replace(a, b)
        out.append(token)
    return "".join(out)


def _utf16_to_cp(text: str) -> Dict[int, int]:
    """UTF-16 code-unit index -> code-point index, at every code-point boundary (and the end)."""
    table, u = {}, 0
    for i, ch in enumerate(text):
        table[u] = i
        u += 2 if ord(ch) > 0xFFFF else 1
    table[u] = len(text)
    return table


class TokenPipeline:
    """postprocess() of one model: its labels (id order), tokenizer decoder and [UNK] id."""

    def __init__(self, labels: List[str], decoder: Dict, unk_id: int) -> None:
        self.labels = labels
        self.decoder = decoder
        self.unk_id = unk_id

    def postprocess(self, logits: np.ndarray, text: str, ids: List[int], tokens: List[str],
                    offsets: List[Tuple[int, int]], special: List[bool], strategy: str,
                    ignore_labels: List[str]) -> List[Dict]:
        """logits [seq, labels] float32 -> the pipeline's entities (plain floats, JSON-ready)."""
        if strategy not in AGGREGATIONS:
            raise ValueError(f"aggregation_strategy {strategy!r}: use one of "
                             f"{', '.join(AGGREGATIONS)}")
        shifted = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
        scores = shifted / shifted.sum(axis=-1, keepdims=True)
        pre = self.gather_pre_entities(text, ids, tokens, offsets, special, scores)
        entities = [e for e in self.aggregate(pre, strategy)
                    if e.get("entity") not in ignore_labels
                    and e.get("entity_group") not in ignore_labels]
        return [{k: float(v) if isinstance(v, np.floating) else v for k, v in e.items()}
                for e in entities]

    def gather_pre_entities(self, text: str, ids: List[int], tokens: List[str],
                            offsets: List[Tuple[int, int]], special: List[bool],
                            scores: np.ndarray) -> List[Dict]:
        cp = _utf16_to_cp(text)
        pre = []
        for idx, token_scores in enumerate(scores):
            if special[idx]:
                continue
            word = tokens[idx]
            start, end = offsets[idx]
            if start not in cp or end not in cp or start > end:
                raise ValueError(f"offsets[{idx}] {[start, end]} is not a span of text "
                                 f"(UTF-16 length {max(cp)})")
            word_ref = text[cp[start]:cp[end]]
            # A WordPiece tokenizer has continuing_subword_prefix: the fast tokenizers' rule.
            is_subword = len(word) != len(word_ref)
            if int(ids[idx]) == self.unk_id:
                word = word_ref
                is_subword = False
            pre.append({"word": word, "scores": token_scores, "start": start, "end": end,
                        "index": idx, "is_subword": is_subword})
        return pre

    def aggregate(self, pre: List[Dict], strategy: str) -> List[Dict]:
        if strategy in ("none", "simple"):
            entities = []
            for p in pre:
                entity_idx = p["scores"].argmax()
                entities.append({"entity": self.labels[entity_idx],
                                 "score": p["scores"][entity_idx], "index": p["index"],
                                 "word": p["word"], "start": p["start"], "end": p["end"]})
        else:
            entities = self.aggregate_words(pre, strategy)
        if strategy == "none":
            return entities
        return self.group_entities(entities)

    def aggregate_word(self, entities: List[Dict], strategy: str) -> Dict:
        word = tokens_to_string([e["word"] for e in entities], self.decoder)
        if strategy == "first":
            scores = entities[0]["scores"]
            idx = scores.argmax()
            score, entity = scores[idx], self.labels[idx]
        elif strategy == "max":
            max_entity = max(entities, key=lambda e: e["scores"].max())
            scores = max_entity["scores"]
            idx = scores.argmax()
            score, entity = scores[idx], self.labels[idx]
        else:  # average
            average_scores = np.nanmean(np.stack([e["scores"] for e in entities]), axis=0)
            entity_idx = average_scores.argmax()
            entity, score = self.labels[entity_idx], average_scores[entity_idx]
        return {"entity": entity, "score": score, "word": word, "start": entities[0]["start"],
                "end": entities[-1]["end"]}

    def aggregate_words(self, entities: List[Dict], strategy: str) -> List[Dict]:
        word_entities, word_group = [], None
        for entity in entities:
            if word_group is None:
                word_group = [entity]
            elif entity["is_subword"]:
                word_group.append(entity)
            else:
                word_entities.append(self.aggregate_word(word_group, strategy))
                word_group = [entity]
        if word_group is not None:
            word_entities.append(self.aggregate_word(word_group, strategy))
        return word_entities

    def group_sub_entities(self, entities: List[Dict]) -> Dict:
        entity = entities[0]["entity"].split("-", 1)[-1]
        scores = np.nanmean([e["score"] for e in entities])
        return {"entity_group": entity, "score": np.mean(scores),
                "word": tokens_to_string([e["word"] for e in entities], self.decoder),
                "start": entities[0]["start"], "end": entities[-1]["end"]}

    @staticmethod
    def get_tag(entity_name: str) -> Tuple[str, str]:
        if entity_name.startswith("B-"):
            return "B", entity_name[2:]
        if entity_name.startswith("I-"):
            return "I", entity_name[2:]
        return "I", entity_name  # not in B-/I- form: a continuation

    def group_entities(self, entities: List[Dict]) -> List[Dict]:
        groups: List[Dict] = []
        disagg: List[Dict] = []
        for entity in entities:
            if not disagg:
                disagg.append(entity)
                continue
            bi, tag = self.get_tag(entity["entity"])
            _, last_tag = self.get_tag(disagg[-1]["entity"])
            if tag == last_tag and bi != "B":
                disagg.append(entity)
            else:
                groups.append(self.group_sub_entities(disagg))
                disagg = [entity]
        if disagg:
            groups.append(self.group_sub_entities(disagg))
        return groups

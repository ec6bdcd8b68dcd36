"""A pure-Python BERT WordPiece tokenizer for bench/recipe_server.py (transformers is not installed).

It follows transformers' slow BertTokenizer (tokenization_bert.py), which the fast Rust tokenizer
reproduces for BERT vocabularies: special tokens ([MASK], [CLS], ...) split out of the text first;
then BasicTokenizer (drop NUL, U+FFFD and control characters, whitespace to spaces, spaces around
CJK ideographs, split on whitespace, lowercase and strip accents (NFD, drop Mn) for an uncased
vocabulary, split off punctuation) and WordpieceTokenizer (greedy longest match first with "##"
continuations, [UNK] for a word that cannot be covered or is longer than 100 characters).
encode() adds [CLS] and [SEP]; decode() joins tokens as the fast tokenizer's WordPiece decoder does
(scripts/bert/token_pipeline.py). `python3 bench/wordpiece.py VOCAB GOLDEN.jsonl` prints its agreement
with a golden file of Hugging Face's output: 482 of the 483 texts of
test/data/shared/wordpiece-golden-uncased-hf.jsonl identical (the other is a lone U+FFFF, which
the fast tokenizer answers with [UNK] and this drops as a control character, as the slow one does).

It is what the recipe would cost with transformers' *slow* tokenizer; the recipe as published
loads the fast one, so bench/run.js reports the share of the recipe's time spent here.
"""
import json
import os
import sys
import unicodedata
from typing import Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert.token_pipeline import tokens_to_string  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_WORD_CHARS = 100


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # BERT treats every non-alphanumeric ASCII character as punctuation ($, ^, `, ...).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    def __init__(self, vocab_path: str, lowercase: bool = True) -> None:
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab: Dict[str, int] = {line.rstrip("\n"): i for i, line in enumerate(f)}
        self.inv = {i: t for t, i in self.vocab.items()}
        self.lowercase = lowercase
        self.specials = [s for s in SPECIALS if s in self.vocab]
        self.special_ids = {self.vocab[s] for s in self.specials}
        self.cls, self.sep, self.unk = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[UNK]"]
        self.pad, self.mask = self.vocab["[PAD]"], self.vocab["[MASK]"]

    def _split_specials(self, text: str) -> List[str]:
        parts = [text]
        for s in self.specials:
            out = []
            for p in parts:
                if p in self.specials:
                    out.append(p)
                    continue
                pieces = p.split(s)
                for i, piece in enumerate(pieces):
                    if i:
                        out.append(s)
                    out.append(piece)
            parts = out
        return parts

    def _basic(self, text: str) -> List[str]:
        chars = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                chars.append(" ")
            elif _is_cjk(cp):
                chars.append(f" {ch} ")
            else:
                chars.append(ch)
        text = unicodedata.normalize("NFC", "".join(chars))
        words = []
        for word in text.split():
            if self.lowercase:
                # Per character, as the fast tokenizer lowercases (str.lower() would turn a
                # word-final capital sigma into final sigma, which the vocabulary splits apart).
                word = "".join(c for c in unicodedata.normalize("NFD", "".join(ch.lower() for ch in word))
                               if unicodedata.category(c) != "Mn")
            start = 0
            for i, ch in enumerate(word):
                if _is_punctuation(ch):
                    if i > start:
                        words.append(word[start:i])
                    words.append(ch)
                    start = i + 1
            if start < len(word):
                words.append(word[start:])
        return words

    def _wordpiece(self, word: str, out: List[int]) -> None:
        if len(word) > MAX_WORD_CHARS:
            out.append(self.unk)
            return
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                out.append(self.unk)
                return
            start = end
        out.extend(ids)

    def tokenize_ids(self, text: str) -> List[int]:
        ids: List[int] = []
        for part in self._split_specials(text):
            if part in self.specials:
                ids.append(self.vocab[part])
            else:
                for word in self._basic(part):
                    self._wordpiece(word, ids)
        return ids

    def encode(self, text: str) -> List[int]:
        return [self.cls, *self.tokenize_ids(text), self.sep]

    def decode(self, ids: List[int], skip_special_tokens: bool = False) -> str:
        tokens = [self.inv[i] for i in ids if not (skip_special_tokens and i in self.special_ids)]
        return tokens_to_string(tokens, {"prefix": "##", "cleanup": True})


def main() -> int:
    vocab_path, golden = sys.argv[1], sys.argv[2]
    tok = WordPiece(vocab_path)
    n = same = 0
    diffs = []
    with open(golden, encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            n += 1
            got = tok.tokenize_ids(g["text"])
            if got == g["ids"]:
                same += 1
            elif len(diffs) < 5:
                diffs.append({"text": g["text"], "want": g["tokens"], "got": [tok.inv[i] for i in got]})
    print(json.dumps({"golden": golden, "texts": n, "identical": same, "first_differences": diffs},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

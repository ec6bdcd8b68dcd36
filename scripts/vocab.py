"""The real bert-base-uncased vocabulary (and tokenizer.json), found offline and checked by hash.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/vocab.py [--out vocab.txt] [--tokenizer-json tokenizer.json]
Prints where the vocabulary came from and its sha256; exit 2 when it cannot be found.

Sources, in order (the first holding the file with the known sha256 wins):
1. $BERT_SERVE_SHARED_DATA, when set;
2. ../shared/data next to the repository (a workspace's shared data);
3. test/data/shared in the repository (a copy that every clone has; see its README.md).
Only the standard library is used, so the demo scripts can call it before torch loads.
"""
import argparse
import hashlib
import json
import os
import sys
from typing import List, Tuple

VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
TOKENIZER_JSON_SHA256 = "6681992d43e581b35b3dd61f3c81ee0f891fbf13ad54f8b692ea868bd46b066b"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class VocabError(Exception):
    pass


def data_dirs() -> List[str]:
    """Where the shared BERT data is looked for, in order."""
    dirs = []
    if os.environ.get("BERT_SERVE_SHARED_DATA"):
        dirs.append(os.environ["BERT_SERVE_SHARED_DATA"])
    dirs.append(os.path.join(REPO_ROOT, "..", "shared", "data"))
    dirs.append(os.path.join(REPO_ROOT, "test", "data", "shared"))
    return [os.path.normpath(d) for d in dirs]


def vocab_text(tokens: List[str]) -> str:
    return "".join(t + "\n" for t in tokens)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_checked(name: str, sha256: str) -> Tuple[bytes, str, List[str]]:
    """(bytes, path, []) of the first intact copy of NAME, or (b"", "", what was tried)."""
    tried = []
    for d in data_dirs():
        path = os.path.join(d, name)
        if not os.path.isfile(path):
            tried.append(f"{path}: absent")
            continue
        with open(path, "rb") as f:
            data = f.read()
        if _sha256(data) != sha256:
            tried.append(f"{path}: sha256 {_sha256(data)} is not the bert-base-uncased one")
            continue
        return data, path, []
    return b"", "", tried


def uncased_vocab() -> Tuple[List[str], str]:
    """(30522 tokens, where they came from); raises VocabError listing what was tried."""
    data, path, tried = _read_checked("bert-base-uncased-vocab.txt", VOCAB_SHA256)
    if not path:
        raise VocabError("cannot find the bert-base-uncased vocabulary: " + "; ".join(tried))
    return data.decode("utf-8").split("\n")[:-1], path


def write_vocab(path: str) -> str:
    tokens, where = uncased_vocab()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(vocab_text(tokens))
    return where


def tokenizer_json(tokens: List[str]) -> dict:
    """A tokenizer.json equal to bert-base-uncased's for this vocabulary (HF tokenizers 1.0 format)."""
    ids = {t: i for i, t in enumerate(tokens)}
    special = [{"id": ids[t], "special": True, "content": t, "single_word": False,
                "lstrip": False, "rstrip": False, "normalized": False}
               for t in SPECIAL_TOKENS]

    def tok(t: str, type_id: int) -> dict:
        return {"SpecialToken": {"id": t, "type_id": type_id}}

    def seq(s: str, type_id: int) -> dict:
        return {"Sequence": {"id": s, "type_id": type_id}}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0)],
            "pair": [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0), seq("B", 1), tok("[SEP]", 1)],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]}
                               for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def write_tokenizer_json(path: str) -> str:
    """Copy the shared tokenizer.json when an intact one is found, else generate one."""
    data, shared, _ = _read_checked("bert-base-uncased-tokenizer.json", TOKENIZER_JSON_SHA256)
    if shared:
        with open(path, "wb") as f:
            f.write(data)
        return shared
    tokens, where = uncased_vocab()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(tokens), f, ensure_ascii=False)
    return f"generated from {where}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write vocab.txt here")
    ap.add_argument("--tokenizer-json", help="write tokenizer.json here")
    args = ap.parse_args()
    try:
        tokens, where = uncased_vocab()
        if args.out:
            write_vocab(args.out)
        tj = write_tokenizer_json(args.tokenizer_json) if args.tokenizer_json else None
    except VocabError as e:
        print(f"vocab.py: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"source": where, "tokens": len(tokens),
                      "sha256": _sha256(vocab_text(tokens).encode("utf-8")),
                      **({"tokenizer_json": tj} if tj else {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

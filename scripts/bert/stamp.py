"""Build stamps: skip remaking a generated model when nothing that shapes it has changed.

Imported by make_demo_model.py and make_test_models.py; not run by itself. Standard library
only, so an up-to-date check does not pay for importing torch (about 2 s here).

A stamp (.bert-serve-stamp.json in the model directory) records the build parameters and a hash
of the scripts that make models (scripts/bert/**/*.py, export_hf.py, vocab.py, the maker) plus the
torch version; "info" holds measurements and is not compared.
"""
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
from typing import Dict, Iterable, Iterator, List, Optional

STAMP = ".bert-serve-stamp.json"
LOCK = ".bert-serve.lock"
SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _files_sha256(paths: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        with open(p, "rb") as f:
            h.update(os.path.basename(p).encode() + b"\0" + f.read())
    return h.hexdigest()


def source_hash(maker: str) -> str:
    files = [os.path.join(d, n) for d, _, names in os.walk(os.path.join(SCRIPTS, "bert"))
             for n in names if n.endswith(".py")]
    files += [os.path.join(SCRIPTS, n) for n in ("export_hf.py", "vocab.py")]
    files.append(os.path.abspath(maker))
    return _files_sha256(files) + "/torch-" + _torch_version()


def read_stamp(out_dir: str) -> Dict:
    try:
        with open(os.path.join(out_dir, STAMP), encoding="utf-8") as f:
            stamp = json.load(f)
        return stamp if isinstance(stamp, dict) else {}
    except (OSError, ValueError):
        return {}


def stamp_matches(out_dir: str, maker: str, params: Dict, required: List[str]) -> bool:
    stamp = read_stamp(out_dir)
    return (stamp.get("params") == params and stamp.get("source") == source_hash(maker)
            and all(os.path.exists(os.path.join(out_dir, r)) for r in required))


def write_stamp(out_dir: str, maker: str, params: Dict, info: Optional[Dict] = None) -> None:
    """Record a finished build (written last, so a build that died halfway is redone)."""
    text = json.dumps({"params": params, "source": source_hash(maker), "info": info or {}},
                      indent=2, sort_keys=True)
    with open(os.path.join(out_dir, STAMP), "w", encoding="utf-8") as f:
        f.write(text + "\n")


def clear_stamp(out_dir: str) -> None:
    """Forget a build before changing the directory, so a crash halfway is never 'up to date'."""
    if os.path.exists(os.path.join(out_dir, STAMP)):
        os.remove(os.path.join(out_dir, STAMP))


@contextlib.contextmanager
def build_lock(out_dir: str) -> Iterator[None]:
    """One maker at a time per output directory: several engineers and test runs share the tree,
    and two builds of the same directory would delete each other's files. Check the stamp inside
    the lock, so the one that waited finds the other's build done."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, LOCK), "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

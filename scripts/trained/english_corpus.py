"""Real English prose that every Debian machine with python3 has, for the trained fixture models.

Imported by make_trained_models.py; not run by itself. Standard library only. (Not in scripts/bert/:
the build stamps hash that directory, and this file shapes no other model.)

Sources, in a fixed order: the docstrings of Python's standard library (/usr/lib/python3.X, tests
and IDLE left out), the language reference topics that pydoc ships (pydoc_data/topics.py), Perl's
own documentation (.pod files under /usr/share/perl, when perl-modules is installed) and the
license texts of /usr/share/common-licenses. Each source file is split into paragraphs; code
(doctest prompts, lines made mostly of symbols) and repeated paragraphs are dropped. A paragraph
goes to the training or to the held-out part by a hash of its text, so held-out texts are text the
model never saw, and every topic has held-out texts.

Each stdlib paragraph also carries the topic of its module (TOPICS), the labels of the fixture
classifier: a real text-classification task with labels nobody hand-picked per text.
"""
import ast
import glob
import hashlib
import os
import re
import sys
from typing import Dict, Iterator, List, NamedTuple, Optional

# Top-level stdlib modules -> topic. Paragraphs of other modules train the masked LM only.
TOPICS: Dict[str, List[str]] = {
    "networking": ["email", "http", "urllib", "xmlrpc", "smtplib", "ftplib", "imaplib", "poplib",
                   "socket", "socketserver", "ssl", "mailbox", "nntplib", "ipaddress", "wsgiref",
                   "mimetypes", "smtpd", "asynchat", "asyncore", "telnetlib", "cgi"],
    "concurrency": ["asyncio", "multiprocessing", "concurrent", "threading", "queue", "selectors",
                    "subprocess", "sched", "signal", "_threading_local"],
    "gui": ["tkinter", "turtle", "turtledemo"],
    "testing": ["unittest", "doctest", "pdb", "bdb", "trace", "cProfile", "profile", "pstats",
                "timeit", "tracemalloc", "faulthandler"],
}
LABELS = list(TOPICS)
_TOPIC_OF = {mod: topic for topic, mods in TOPICS.items() for mod in mods}
HELD_OUT_PERCENT = 10
_SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "dist-packages", "__pycache__", "lib2to3"}
MIN_WORDS = 6


class Paragraph(NamedTuple):
    text: str
    source: str          # file it came from (relative, for the record)
    held_out: bool
    topic: Optional[str]  # TOPICS key for stdlib docstrings of those modules, else None


def _held_out(text: str) -> bool:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


def _prose(block: str) -> Optional[str]:
    """The block as one line of prose, or None when it is code, a table or a heading."""
    lines = [ln.strip() for ln in block.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or any(ln.startswith((">>>", "...", "$ ", "#", "|", "+--", "==", "--")) for ln in lines):
        return None
    text = re.sub(r"\s+", " ", " ".join(lines))
    # POD and reST markup reduced to its words: C<foo>, B<bar>, ``x``, :func:`y`.
    text = re.sub(r"[A-Z]<+\s*([^<>]*?)\s*>+", r"\1", text)
    text = re.sub(r":[a-z:]+:`~?([^`]*)`", r"\1", text)
    text = text.replace("``", "").replace("`", "")
    words = text.split()
    if len(words) < MIN_WORDS:
        return None
    letters = sum(c.isalpha() or c == " " for c in text)
    if letters < 0.85 * len(text):  # mostly symbols and digits: code or a table
        return None
    return text


def _paragraphs(raw: str) -> Iterator[str]:
    for block in re.split(r"\n\s*\n", raw):
        p = _prose(block)
        if p:
            yield p


def _stdlib_dir() -> str:
    return os.path.dirname(os.__file__)


def _docstrings(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                out.append(doc)
    return out


def _sources() -> Iterator[tuple]:
    """(text, source, topic) for every paragraph of every source, in a fixed order."""
    root = _stdlib_dir()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            top = rel.split(os.sep)[0]
            topic = _TOPIC_OF.get(top[:-3] if top.endswith(".py") else top)
            for doc in _docstrings(path):
                for p in _paragraphs(doc):
                    yield p, rel, topic
    try:
        sys.path.insert(0, root)
        from pydoc_data.topics import topics  # type: ignore
    except ImportError:
        topics = {}
    finally:
        sys.path.pop(0)
    for key in sorted(topics):
        for p in _paragraphs(topics[key]):
            yield p, f"pydoc_data/topics.py:{key}", None
    # /usr/share/perl/5.36 is a link to 5.36.0 on Debian: each file once, by its real path.
    pods = sorted({os.path.realpath(p) for p in glob.glob("/usr/share/perl/*/pod/*.pod") + glob.glob("/usr/share/perl/*/*.pod")})
    for path in pods:
        with open(path, encoding="utf-8", errors="replace") as f:
            raw = re.sub(r"^=\w+.*$", "", f.read(), flags=re.M)  # POD commands (=head1, =item, ...)
        for p in _paragraphs(raw):
            yield p, os.path.relpath(path, "/usr/share"), None
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                for p in _paragraphs(f.read()):
                    yield p, os.path.relpath(path, "/usr/share"), None


def paragraphs() -> List[Paragraph]:
    seen = set()
    out = []
    for text, source, topic in _sources():
        if text in seen:
            continue
        seen.add(text)
        out.append(Paragraph(text, source, _held_out(text), topic))
    return out


def digest(items: List[Paragraph]) -> str:
    """SHA-256 of the corpus as read, so a remake on another machine can say whether it differs."""
    h = hashlib.sha256()
    for p in items:
        h.update(f"{p.source}\0{int(p.held_out)}\0{p.topic or ''}\0{p.text}\n".encode())
    return h.hexdigest()

"""Known-item retrieval sets built from text on this machine: stdlib docstrings and man pages.

* stdlib: every function, class and method docstring of the running Python's standard library
  (`pattern_db.demo_corpus`: parsed with `ast`, nothing imported) whose first line is a one-line
  summary and whose body has at least MIN_WORDS words: query = the summary line, relevant
  document = the body.
* man pages: sections 1 and 8 of /usr/share/man (English), roff source read directly (no
  rendering): query = the NAME line ("ls - list directory contents"), document = DESCRIPTION.

Queries that occur more than once, and documents that occur more than once, are dropped (their
answer would be ambiguous). Documents are cut to MAX_WORDS words, so the man-page set stays a
few minutes of embedding on two cores.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pattern_db.demo_corpus import stdlib_docstrings

MIN_WORDS = 12
MAX_WORDS = 400
MAN_ROOT = Path("/usr/share/man")
MAN_SECTIONS = ("man1", "man8")


@dataclass(frozen=True)
class Pair:
    """One known-item query: `query` should find document `doc_id` whose text is `doc`."""

    key: str
    query: str
    doc: str

    @property
    def doc_id(self) -> str:
        return "d" + hashlib.sha1(self.key.encode()).hexdigest()[:12]


def _cut(text: str) -> str:
    words = text.split()
    return " ".join(words[:MAX_WORDS])


def _unique(pairs: list[Pair]) -> list[Pair]:
    queries = Counter(p.query.lower() for p in pairs)
    docs = Counter(p.doc for p in pairs)
    keys: set[str] = set()
    kept = []
    for p in pairs:
        if queries[p.query.lower()] == 1 and docs[p.doc] == 1 and p.key not in keys:
            keys.add(p.key)
            kept.append(p)
    return kept


# -- stdlib ------------------------------------------------------------------------------------


def stdlib_pairs() -> list[Pair]:
    """Return the summary-line -> body pairs of the running Python's stdlib docstrings."""
    pairs = (_split_docstring(name, doc) for name, doc in stdlib_docstrings())
    return _unique([p for p in pairs if p is not None])


def _split_docstring(name: str, doc: str) -> Pair | None:
    head, sep, body = doc.strip().partition("\n\n")
    if not sep or "\n" in head.strip():
        return None
    summary = head.strip()
    body = " ".join(body.split())
    if len(summary.split()) < 3 or len(body.split()) < MIN_WORDS:
        return None
    return Pair(key=f"py:{name}", query=summary, doc=_cut(body))


# -- man pages ---------------------------------------------------------------------------------

_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_NAMED = re.compile(r"\\\((..)")
_STRING = re.compile(r"\\\*(\[[^\]]*\]|\(..|.)")
_SIZE = re.compile(r"\\s[-+]?\d+")
_GLYPHS = {"em": "-", "en": "-", "hy": "-", "aq": "'", "dq": '"', "lq": '"', "rq": '"', "bu": "*"}
_FONT_MACROS = {"B", "I", "BR", "BI", "IB", "RB", "RI", "IR", "SM", "SB", "IP", "TP", "UR", "MT"}
_MDOC_TEXT = {"Nm", "Nd", "Ar", "Fl", "Cm", "Pa", "Xr", "Em", "Sy", "Li", "Dq", "Qq", "Sq", "It"}


def _unescape(line: str) -> str:
    line = _FONT.sub("", line)
    line = _NAMED.sub(lambda m: _GLYPHS.get(m.group(1), " "), line)
    line = _STRING.sub("", line)
    line = _SIZE.sub("", line)
    for escape, text in (("\\-", "-"), ("\\e", "\\"), ("\\ ", " "), ("\\~", " ")):
        line = line.replace(escape, text)
    for escape in ("\\&", "\\,", "\\/", "\\|", "\\^", "\\c", "\\%", "\\:"):
        line = line.replace(escape, "")
    return line.replace('"', " ") if line.startswith(".") else line


def _text_of(line: str) -> str | None:
    """Return the running text of one roff line (None for a pure control line)."""
    if line.startswith(('.\\"', "'\\\"", '.\\"')):
        return None
    if not line.startswith((".", "'")):
        return _unescape(line)
    macro, _, args = line[1:].strip().partition(" ")
    if macro in _FONT_MACROS or macro in _MDOC_TEXT:
        return _unescape(args.replace('"', " "))
    return None


def _man_sections(source: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for raw in source.splitlines():
        line = raw.rstrip()
        head = re.match(r'^\.(SH|Sh)\s+"?([^"]*)"?', line)
        if head:
            current = head.group(2).strip().upper()
            sections.setdefault(current, [])
            continue
        if current is None:
            continue
        if line.startswith(".Nm") and current == "NAME":
            sections[current].append(_unescape(line[3:]).strip())
            continue
        if line.startswith(".Nd") and current == "NAME":
            sections[current].append("- " + _unescape(line[3:]).strip())
            continue
        text = _text_of(line)
        if text:
            sections[current].append(text)
    return sections


def man_pairs(root: Path = MAN_ROOT) -> list[Pair]:
    """Return the NAME line -> DESCRIPTION pairs of the installed man pages (sections 1, 8)."""
    pairs: list[Pair] = []
    for section in MAN_SECTIONS:
        folder = root / section
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                raw = path.read_bytes()
                source = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode(
                    "utf-8", "replace"
                )
            except (OSError, EOFError, gzip.BadGzipFile):
                continue
            if source.lstrip().startswith(".so "):
                continue
            parts = _man_sections(source)
            name = " ".join(" ".join(parts.get("NAME", [])).split())
            description = " ".join(" ".join(parts.get("DESCRIPTION", [])).split())
            if " - " not in name or len(description.split()) < MIN_WORDS:
                continue
            page = path.name.removesuffix(".gz")
            pairs.append(Pair(key=f"man:{page}", query=name, doc=_cut(description)))
    return _unique(pairs)

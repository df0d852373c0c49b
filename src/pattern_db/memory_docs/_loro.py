"""Small helpers over the `loro` package: building, rendering, diffing and versioning documents.

A block's document holds its text in the text container "content", an optional map "metadata"
and an optional list "entries" (log blocks). The rendered content (what
`content_preview`, FTS and `char_limit` see) is the text followed by one line per entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
from loro import ExportMode, Frontiers, LoroDoc, LoroText, VersionVector

from pattern_db.errors import InvalidData

__all__ = [
    "CONTENT",
    "ENTRIES",
    "METADATA",
    "build_doc",
    "clip",
    "delta_since",
    "doc_has_exactly",
    "entries_of",
    "frontier_of",
    "inherit_peer",
    "loro_errors",
    "loro_value",
    "metadata_of",
    "new_doc",
    "occurrences",
    "render",
    "render_entry",
    "replace_text",
    "snapshot_of",
]

CONTENT = "content"
METADATA = "metadata"
ENTRIES = "entries"

# Myers diffs of large, very different texts can take a minute (measured: 59 s for two random
# 100 KB texts), so `replace_text` bounds them and falls back to a cheaper diff.
_DIFF_TIMEOUT_MS = 20.0
_REFINED_DIFF_MAX_CHARS = 20_000


@contextmanager
def loro_errors(what: str) -> Iterator[None]:
    """Turn an error raised by loro (or unencodable text) into InvalidData naming `what`.

    loro reports its own errors (bad bytes, out-of-range positions) as plain `BaseException`
    instances; only that exact type is caught, never KeyboardInterrupt or SystemExit.
    """
    try:
        yield
    except UnicodeError as exc:
        # A str holding a lone surrogate cannot be UTF-8, so no document can store it.
        raise InvalidData(f"{what}: the text is not valid Unicode ({exc})") from exc
    except BaseException as exc:
        if type(exc) is not BaseException:
            raise
        raise InvalidData(f"{what}: {exc}") from exc


def new_doc() -> LoroDoc:
    """Return an empty document with a fresh random peer id."""
    return LoroDoc()  # type: ignore[no-untyped-call]  # loro's stub leaves __new__ untyped


def build_doc(blobs: Sequence[bytes], what: str) -> LoroDoc:
    """Return a new document (with a fresh random peer id) holding every blob imported in order.

    Raises:
        InvalidData: a blob is not Loro data, or a delta depends on changes not among the
            blobs (the stored history is incomplete).
    """
    doc = new_doc()
    present = [blob for blob in blobs if blob]
    if present:
        with loro_errors(f"{what} holds data that is not a Loro document"):
            status = doc.import_batch(present)
        if status.pending is not None and status.pending.inner():
            raise InvalidData(
                f"{what} cannot be rebuilt: a stored delta depends on changes that are not "
                f"stored (missing {status.pending.inner()}); restore the block from a backup"
            )
    return doc


def render_entry(value: Any) -> str:
    """Return one log entry as a line of text (strings as they are, anything else as JSON)."""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def entries_of(doc: LoroDoc) -> list[Any]:
    """Return the values of the document's "entries" list (empty when it has none)."""
    found = doc.try_get_list(ENTRIES)
    return [] if found is None else list(found.get_deep_value())  # type: ignore[arg-type]


def metadata_of(doc: LoroDoc) -> dict[str, Any]:
    """Return the document's "metadata" map as a dict (empty when it has none)."""
    found = doc.try_get_map(METADATA)
    return {} if found is None else dict(found.get_deep_value())  # type: ignore[arg-type]


def render(doc: LoroDoc) -> str:
    """Return the document's content as agents and FTS see it: text, then one line per entry."""
    text = doc.get_text(CONTENT).to_string()
    lines = [render_entry(value) for value in entries_of(doc)]
    if not lines:
        return text
    return "\n".join([text, *lines]) if text else "\n".join(lines)


def replace_text(text: LoroText, new: str) -> None:
    """Make the text container equal `new` with a small delta (no-op when equal).

    A bounded Myers diff (character-level for short texts, line-level for long ones); when it
    runs out of time, the changed middle between the common prefix and suffix is spliced.
    """
    old = text.to_string()
    if old == new:
        return
    try:
        if len(old) + len(new) <= _REFINED_DIFF_MAX_CHARS:
            text.update(new, timeout_ms=_DIFF_TIMEOUT_MS)
        else:
            text.update_by_line(new, timeout_ms=_DIFF_TIMEOUT_MS)
        return
    except UnicodeError:
        raise
    except ValueError:
        pass  # the diff timed out; fall back to one splice
    old = text.to_string()
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    with loro_errors("cannot replace the text"):
        text.splice(start, len(old) - start - end, new[start : len(new) - end])


def frontier_of(doc: LoroDoc) -> bytes:
    """Return the encoded frontier of everything the document holds."""
    return doc.oplog_frontiers.encode()


def delta_since(doc: LoroDoc, version: VersionVector) -> bytes:
    """Return the Loro update holding every change made after `version`."""
    return doc.export(ExportMode.Updates(version))


def snapshot_of(doc: LoroDoc) -> bytes:
    """Return a full snapshot (state plus history, so older frontiers can be checked out)."""
    return doc.export(ExportMode.Snapshot())


def inherit_peer(old: LoroDoc, new: LoroDoc) -> None:
    """Give `new` (a rebuilt copy replacing `old`) old's peer id when that is provably safe.

    Safe when `new` already holds every change `old` committed under its peer id, so new
    changes continue that peer's counter past anything ever issued; it is not when one of
    them was undone (not in `new`), since a redo could bring it back beside a new change with
    the same id. Keeping the id stops the version vector from gaining a peer per rebuild.
    """
    peer = old.peer_id
    if old.get_pending_txn_len() == 0 and new.oplog_vv.get_last(peer) == old.oplog_vv.get_last(
        peer
    ):
        new.peer_id = peer


def doc_has_exactly(doc: LoroDoc, frontier: bytes | None) -> bool:
    """Return True when the document holds exactly the changes up to `frontier`, no more.

    Compared as version vectors, so the order heads are encoded in does not matter.
    """
    if frontier is None:
        return False
    try:
        expected = doc.frontiers_to_vv(Frontiers.decode(frontier))
    except BaseException as exc:
        if type(exc) is not BaseException:
            raise
        return False
    return expected is not None and expected == doc.oplog_vv


def occurrences(text: str, old: str, every: bool) -> list[int]:
    """Return the offsets of `old` in `text`: the first one, or every one (not overlapping)."""
    found: list[int] = []
    at = text.find(old)
    while at >= 0:
        found.append(at)
        if not every:
            break
        at = text.find(old, at + len(old))
    return found


def loro_value(value: Any) -> Any:
    """Return `value` as JSON data Loro can store (datetimes, bytes, enums, Structs converted)."""
    try:
        converted = msgspec.to_builtins(value)
        msgspec.json.encode(converted)  # refuses text that is not valid Unicode
        return converted
    except (TypeError, ValueError) as exc:
        raise InvalidData(
            f"cannot store {type(value).__name__} in a memory document: {exc}"
        ) from exc


def clip(text: str, width: int = 60) -> str:
    """Return `text` cut to `width` characters (with "..." when cut), for error messages."""
    return text if len(text) <= width else text[: width - 3] + "..."

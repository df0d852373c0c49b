"""The permission gate on memory-document edits: owners, shared attachments, consent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import NotFound
from pattern_db.memory_docs import (
    ConsentRequired,
    MemoryAccessError,
    MemoryDocs,
    PermissionDenied,
)
from pattern_db.models import CONSTELLATION_OWNER, MemoryOp, MemoryPermission
from pattern_db.queries import memory as q

P = MemoryPermission

# What an agent may do with a block, by permission (REFERENCE 2.4), as the edits see it.
MATRIX = {
    P.READ_ONLY: {"append": "deny", "overwrite": "deny", "delete": "deny"},
    P.PARTNER: {"append": "consent", "overwrite": "consent", "delete": "deny"},
    P.HUMAN: {"append": "consent", "overwrite": "consent", "delete": "deny"},
    P.APPEND: {"append": "ok", "overwrite": "deny", "delete": "deny"},
    P.READ_WRITE: {"append": "ok", "overwrite": "ok", "delete": "deny"},
    P.ADMIN: {"append": "ok", "overwrite": "ok", "delete": "ok"},
}

Edit = Callable[..., Any]


def _edits(docs: MemoryDocs) -> dict[str, list[Edit]]:
    return {
        "append": [
            lambda **kw: docs.append("b1", " more", **kw),
            lambda **kw: docs.append_entry("b1", "entry", **kw),
        ],
        "overwrite": [
            lambda **kw: docs.set_text("b1", "new text", **kw),
            lambda **kw: docs.replace("b1", "text", "words", **kw),
            lambda **kw: docs.update_metadata("b1", {"k": 1}, **kw),
        ],
        "delete": [lambda **kw: docs.delete_block("b1", **kw)],
    }


def _outcome(edit: Edit, **kw: Any) -> str:
    try:
        edit(**kw)
    except ConsentRequired:
        return "consent"
    except PermissionDenied:
        return "deny"
    return "ok"


@pytest.mark.parametrize("permission", list(P))
def test_owner_edits_follow_the_gate(db: ConstellationDb, permission: P) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "some text", permission=permission, block_id="b1")
    for op, edits in _edits(docs).items():
        for edit in edits:
            assert _outcome(edit, actor="a1") == MATRIX[permission][op], (permission, op)
            if MATRIX[permission][op] == "consent":
                assert _outcome(edit, actor="a1", consent=True) == "ok"


@pytest.mark.parametrize("permission", [P.READ_ONLY, P.PARTNER, P.HUMAN])
def test_refused_edits_leave_the_block_unchanged(db: ConstellationDb, permission: P) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "some text", permission=permission, block_id="b1")
    before = q.get_block(db, "b1")
    for edits in _edits(docs).values():
        for edit in edits:
            assert _outcome(edit, actor="a1") in {"deny", "consent"}
    assert q.get_block(db, "b1") == before
    assert q.get_updates_since(db, "b1", 0) == []
    assert docs.read_text("b1") == "some text"


def test_consent_errors_say_what_to_do(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "x", permission=P.HUMAN, block_id="b1")
    with pytest.raises(ConsentRequired) as caught:
        docs.append("b1", "y", actor="a1")
    error = caught.value
    assert (error.reason, error.op, error.permission, error.actor) == (
        "human approval",
        MemoryOp.APPEND,
        P.HUMAN,
        "a1",
    )
    assert "consent=True" in str(error)
    assert isinstance(error, MemoryAccessError)
    assert isinstance(error, PermissionError)


def test_system_calls_are_not_gated(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "x", permission=P.READ_ONLY, block_id="b1")
    docs.append("b1", "y")
    docs.undo("b1")
    docs.set_text("b1", "z")
    assert docs.read_text("b1") == "z"


def test_history_operations_are_overwrites(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "log", "x", permission=P.APPEND, block_id="b1")
    docs.append("b1", "y", actor="a1")
    with pytest.raises(PermissionDenied):
        docs.undo("b1", actor="a1")
    with pytest.raises(PermissionDenied):
        docs.rollback("b1", 0, actor="a1")
    with pytest.raises(PermissionDenied):
        docs.trim_entries("b1", 0, actor="a1")
    q.update_block_permission(db, "b1", P.PARTNER)
    with pytest.raises(ConsentRequired):
        docs.undo("b1", actor="a1")
    assert docs.undo("b1", actor="a1", consent=True) == 1
    assert docs.redo("b1", actor="a1", consent=True) == 1
    assert docs.read_text("b1") == "xy"


# -- shared blocks -----------------------------------------------------------------------------


@pytest.fixture
def shared(db: ConstellationDb, make_agent: Callable[..., Any]) -> MemoryDocs:
    for agent in ("owner", "friend", "stranger"):
        make_agent(agent)
    docs = MemoryDocs(db)
    docs.create_block("owner", "board", "task list", permission=P.READ_ONLY, block_id="b1")
    return docs


@pytest.mark.parametrize("attachment", list(P))
def test_sharer_acts_with_the_attachment_permission(
    db: ConstellationDb, shared: MemoryDocs, attachment: P
) -> None:
    # The block itself is read_only; the attachment's permission is what counts for the
    # sharer (REFERENCE 11.13), even when it is looser.
    q.create_shared_block_attachment(db, "b1", "friend", attachment)
    assert shared.read_text("b1", actor="friend") == "task list"
    assert shared.resolve("owner", "board", actor="friend") == "b1"
    edits = _edits(shared)
    for op in ("append", "overwrite"):
        for edit in edits[op]:
            assert _outcome(edit, actor="friend") == MATRIX[attachment][op], (attachment, op)
    assert _outcome(edits["delete"][0], actor="owner") == "deny"  # the owner has read_only


def test_attachment_stricter_than_the_block(db: ConstellationDb, shared: MemoryDocs) -> None:
    q.update_block_permission(db, "b1", P.READ_WRITE)
    q.create_shared_block_attachment(db, "b1", "friend", P.READ_ONLY)
    shared.append("b1", " (owner)", actor="owner")
    with pytest.raises(PermissionDenied, match="read_only"):
        shared.append("b1", " (friend)", actor="friend")
    assert shared.read_text("b1") == "task list (owner)"


def test_agent_without_access_is_refused(db: ConstellationDb, shared: MemoryDocs) -> None:
    q.update_block_permission(db, "b1", P.ADMIN)
    with pytest.raises(PermissionDenied, match="no access"):
        shared.append("b1", "x", actor="stranger")
    with pytest.raises(PermissionDenied):
        shared.read_text("b1", actor="stranger")
    with pytest.raises(PermissionDenied):
        shared.resolve("owner", "board", actor="stranger")
    with pytest.raises(NotFound):
        shared.resolve("owner", "missing", actor="stranger")
    assert shared.resolve("owner", "board") == "b1"
    q.create_shared_block_attachment(db, "b1", "stranger", P.APPEND)
    shared.append("b1", " +1", actor="stranger")
    q.delete_shared_block_attachment(db, "b1", "stranger")
    with pytest.raises(PermissionDenied):
        shared.append("b1", " +2", actor="stranger")
    assert shared.read_text("b1") == "task list +1"


def test_constellation_block_shared_with_agents(
    db: ConstellationDb, make_agent: Callable[..., Any]
) -> None:
    make_agent("a1")
    docs = MemoryDocs(db)
    docs.create_block(CONSTELLATION_OWNER, "organization", "rules", block_id="org")
    q.create_shared_block_attachment(db, "org", "a1", P.APPEND)
    assert docs.resolve(CONSTELLATION_OWNER, "organization", actor="a1") == "org"
    docs.append("org", " and more", actor="a1")
    with pytest.raises(PermissionDenied):
        docs.set_text("org", "mine now", actor="a1")
    assert docs.read_text("org", actor="a1") == "rules and more"

"""The memory gate closed: every MemoryDocs method on a block's content or history is gated.

The walk over `MemoryDocs`' public methods is by introspection, so a method added without an
`actor` and a recipe here fails `test_every_public_method_takes_the_actor`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from loro import ExportMode, LoroDoc

from pattern_db import ConstellationDb
from pattern_db.errors import InvalidData, NotFound
from pattern_db.memory_docs import (
    Allow,
    ConsentRequired,
    Deny,
    MemoryDocs,
    MemoryGate,
    PermissionDenied,
)
from pattern_db.models import CONSTELLATION_OWNER, MemoryOp, MemoryPermission
from pattern_db.models.agent import Agent
from pattern_db.queries import agent as agents
from pattern_db.queries import memory as q

P = MemoryPermission
OP = MemoryOp

# Public methods that touch no block's content or history (the cache only).
UNGATED = {"invalidate"}


@pytest.fixture
def db() -> Iterator[ConstellationDb]:
    # The gate does not depend on the backend; in memory keeps the ~600 cases quick.
    with ConstellationDb.open_in_memory() as handle:
        yield handle


@pytest.fixture
def docs(db: ConstellationDb, make_agent: Callable[..., Any]) -> MemoryDocs:
    for agent in ("owner", "friend", "stranger"):
        make_agent(agent)
    return MemoryDocs(db)


@dataclass(frozen=True)
class Target:
    """A block with some history: seq 1 active, seq 2 undone, and a replica's update ready."""

    id: str
    owner: str
    label: str
    frontier: bytes
    update: bytes


def _target(
    docs: MemoryDocs, permission: P, *, owner: str = "owner", block_id: str = "b1"
) -> Target:
    docs.create_block(owner, block_id, "hello world", permission=permission, block_id=block_id)
    docs.append(block_id, " one")
    docs.append(block_id, " two")
    assert docs.undo(block_id) == 2
    frontier = docs.versions(block_id)[1].frontier
    assert frontier is not None
    replica = docs.fork_doc(block_id)
    version = replica.oplog_vv
    replica.get_text("content").insert(0, "> ")
    replica.commit()
    return Target(block_id, owner, block_id, frontier, replica.export(ExportMode.Updates(version)))


@dataclass(frozen=True)
class Recipe:
    """How to call one method on a target, and the operation the gate sees (None: owner only)."""

    op: MemoryOp | None
    call: Callable[[MemoryDocs, Target, dict[str, Any]], Any]


RECIPES: dict[str, Recipe] = {
    "create_block": Recipe(None, lambda d, t, kw: d.create_block(t.owner, "extra", "x", **kw)),
    "resolve": Recipe(OP.READ, lambda d, t, kw: d.resolve(t.owner, t.label, **kw)),
    "read_text": Recipe(OP.READ, lambda d, t, kw: d.read_text(t.id, **kw)),
    "read_entries": Recipe(OP.READ, lambda d, t, kw: d.read_entries(t.id, **kw)),
    "read_metadata": Recipe(OP.READ, lambda d, t, kw: d.read_metadata(t.id, **kw)),
    "export_snapshot": Recipe(OP.READ, lambda d, t, kw: d.export_snapshot(t.id, **kw)),
    "fork_doc": Recipe(OP.READ, lambda d, t, kw: d.fork_doc(t.id, **kw)),
    "versions": Recipe(OP.READ, lambda d, t, kw: d.versions(t.id, **kw)),
    "text_at": Recipe(OP.READ, lambda d, t, kw: d.text_at(t.id, 1, **kw)),
    "text_at_frontier": Recipe(
        OP.READ, lambda d, t, kw: d.text_at_frontier(t.id, t.frontier, **kw)
    ),
    "pending_stats": Recipe(OP.READ, lambda d, t, kw: d.pending_stats(t.id, **kw)),
    "undo_steps": Recipe(OP.READ, lambda d, t, kw: d.undo_steps(t.id, **kw)),
    "redo_steps": Recipe(OP.READ, lambda d, t, kw: d.redo_steps(t.id, **kw)),
    "append": Recipe(OP.APPEND, lambda d, t, kw: d.append(t.id, "!", **kw)),
    "append_entry": Recipe(OP.APPEND, lambda d, t, kw: d.append_entry(t.id, "note", **kw)),
    "replace": Recipe(OP.OVERWRITE, lambda d, t, kw: d.replace(t.id, "hello", "howdy", **kw)),
    "set_text": Recipe(OP.OVERWRITE, lambda d, t, kw: d.set_text(t.id, "new", **kw)),
    "update_metadata": Recipe(
        OP.OVERWRITE, lambda d, t, kw: d.update_metadata(t.id, {"k": 1}, **kw)
    ),
    "trim_entries": Recipe(OP.OVERWRITE, lambda d, t, kw: d.trim_entries(t.id, 0, **kw)),
    "import_update": Recipe(OP.OVERWRITE, lambda d, t, kw: d.import_update(t.id, t.update, **kw)),
    "consolidate": Recipe(OP.OVERWRITE, lambda d, t, kw: d.consolidate(t.id, **kw)),
    "undo": Recipe(OP.OVERWRITE, lambda d, t, kw: d.undo(t.id, **kw)),
    "redo": Recipe(OP.OVERWRITE, lambda d, t, kw: d.redo(t.id, **kw)),
    "rollback": Recipe(OP.OVERWRITE, lambda d, t, kw: d.rollback(t.id, 0, **kw)),
    "delete_block": Recipe(OP.DELETE, lambda d, t, kw: d.delete_block(t.id, **kw)),
}


def _public_methods() -> list[str]:
    return sorted(
        name
        for name, _ in inspect.getmembers(MemoryDocs, inspect.isfunction)
        if not name.startswith("_")
    )


GATED = [name for name in _public_methods() if name not in UNGATED]


def _recipe(name: str) -> Recipe:
    recipe = RECIPES.get(name)
    if recipe is None:
        pytest.fail(f"MemoryDocs.{name} is new: give it actor=, gate it and add a recipe here")
    return recipe


def _takes_consent(name: str) -> bool:
    return "consent" in inspect.signature(getattr(MemoryDocs, name)).parameters


def _expected(recipe: Recipe, permission: P | None) -> str:
    if recipe.op is None or permission is None:
        return "deny"
    decision = MemoryGate.check(recipe.op, permission)
    if isinstance(decision, Allow):
        return "ok"
    return "deny" if isinstance(decision, Deny) else "consent"


def _outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except ConsentRequired:
        return "consent"
    except PermissionDenied:
        return "deny"
    return "ok"


def _state(db: ConstellationDb, t: Target) -> tuple[Any, ...]:
    """Everything a call could change, read by a fresh handle as system calls."""
    fresh = MemoryDocs(db)
    return (
        q.get_block(db, t.id, include_inactive=True),
        fresh.read_text(t.id),
        fresh.versions(t.id),
        fresh.undo_steps(t.id),
        fresh.redo_steps(t.id),
        [b.id for b in q.list_blocks(db, t.owner)],
    )


def _comparable(value: Any) -> Any:
    if isinstance(value, LoroDoc):
        return value.get_text("content").to_string()
    if isinstance(value, bytes):
        doc = LoroDoc()
        doc.import_(value)
        return doc.get_text("content").to_string()
    return value


# -- the walk over every public method ---------------------------------------------------------


def test_every_public_method_takes_the_actor() -> None:
    assert sorted(RECIPES) == GATED, "every gated method needs a recipe, and only those"
    for name in GATED:
        actor = inspect.signature(getattr(MemoryDocs, name)).parameters.get("actor")
        assert actor is not None, f"MemoryDocs.{name} takes no actor"
        assert actor.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert actor.default is None, name


@pytest.mark.parametrize("name", GATED)
def test_a_stranger_is_refused_and_nothing_changes(
    db: ConstellationDb, docs: MemoryDocs, name: str
) -> None:
    recipe = _recipe(name)
    target = _target(docs, P.ADMIN)
    before = _state(db, target)
    with pytest.raises(PermissionDenied) as refused:
        recipe.call(docs, target, {"actor": "stranger"})
    assert refused.value.actor == "stranger"
    if recipe.op is not None:
        assert "create_shared_block_attachment" in str(refused.value)
        assert refused.value.permission is None
    assert _state(db, target) == before


@pytest.mark.parametrize("name", GATED)
def test_an_unknown_agent_id_is_a_stranger(
    db: ConstellationDb, docs: MemoryDocs, name: str
) -> None:
    target = _target(docs, P.ADMIN)
    with pytest.raises(PermissionDenied):
        _recipe(name).call(docs, target, {"actor": "nobody-at-all"})


@pytest.mark.parametrize("name", GATED)
def test_the_reserved_id_cannot_act(db: ConstellationDb, docs: MemoryDocs, name: str) -> None:
    # Not even on a block it owns: `_constellation_` is an owner, not an agent.
    target = _target(docs, P.ADMIN, owner=CONSTELLATION_OWNER)
    before = _state(db, target)
    with pytest.raises(PermissionDenied) as refused:
        _recipe(name).call(docs, target, {"actor": CONSTELLATION_OWNER})
    assert ("reserved" if RECIPES[name].op else "may not create") in str(refused.value)
    assert _state(db, target) == before


@pytest.mark.parametrize("permission", list(P))
@pytest.mark.parametrize("name", GATED)
def test_the_owner_acts_with_the_block_permission(
    db: ConstellationDb, docs: MemoryDocs, name: str, permission: P
) -> None:
    recipe = _recipe(name)
    target = _target(docs, permission)
    expected = "ok" if recipe.op is None else _expected(recipe, permission)
    _check(db, docs, name, target, "owner", expected)


@pytest.mark.parametrize("attachment", list(P))
@pytest.mark.parametrize("name", GATED)
def test_a_sharer_acts_with_the_attachment_permission(
    db: ConstellationDb, docs: MemoryDocs, name: str, attachment: P
) -> None:
    # The block's own permission is always another one, so using it instead would show.
    recipe = _recipe(name)
    target = _target(docs, P.READ_ONLY if attachment is P.ADMIN else P.ADMIN)
    q.create_shared_block_attachment(db, target.id, "friend", attachment)
    _check(db, docs, name, target, "friend", _expected(recipe, attachment))


def _check(
    db: ConstellationDb, docs: MemoryDocs, name: str, target: Target, actor: str, expected: str
) -> None:
    recipe = RECIPES[name]
    before = _state(db, target)
    if recipe.op is OP.READ:
        assert expected == "ok"  # Read is allowed under every permission
        as_actor = recipe.call(docs, target, {"actor": actor})
        assert _comparable(as_actor) == _comparable(recipe.call(docs, target, {}))
        assert _state(db, target) == before
        return
    got = _outcome(lambda: recipe.call(docs, target, {"actor": actor}))
    assert got == expected
    if got != "ok":
        assert _state(db, target) == before
    if got == "consent":
        assert _takes_consent(name)
        assert (
            _outcome(lambda: recipe.call(docs, target, {"actor": actor, "consent": True})) == "ok"
        )


# -- method by method --------------------------------------------------------------------------


def test_history_reads_show_a_read_only_sharer_the_past(
    db: ConstellationDb, docs: MemoryDocs
) -> None:
    target = _target(docs, P.READ_WRITE)
    q.create_shared_block_attachment(db, "b1", "friend", P.READ_ONLY)
    assert [(v.seq, v.kind, v.is_active) for v in docs.versions("b1", actor="friend")] == [
        (0, "base", True),
        (1, "update", True),
        (2, "update", False),
    ]
    assert docs.text_at("b1", 0, actor="friend") == "hello world"
    assert docs.text_at("b1", 1, actor="friend") == "hello world one"
    assert docs.text_at_frontier("b1", target.frontier, actor="friend") == "hello world one"
    assert (docs.undo_steps("b1", actor="friend"), docs.redo_steps("b1", actor="friend")) == (1, 1)
    assert docs.pending_stats("b1", actor="friend").count == 2
    assert docs.fork_doc("b1", actor="friend").get_text("content").to_string() == "hello world one"
    assert _comparable(docs.export_snapshot("b1", actor="friend")) == "hello world one"
    with pytest.raises(PermissionDenied, match="no access"):
        docs.text_at("b1", 1, actor="stranger")
    with pytest.raises(PermissionDenied, match="no access"):
        docs.export_snapshot("b1", actor="stranger")


def test_a_forked_replica_writes_back_only_through_the_gate(
    db: ConstellationDb, docs: MemoryDocs
) -> None:
    target = _target(docs, P.READ_WRITE)
    q.create_shared_block_attachment(db, "b1", "friend", P.APPEND)
    with pytest.raises(PermissionDenied, match="may not overwrite"):
        docs.import_update("b1", target.update, actor="friend")
    q.create_shared_block_attachment(db, "b1", "friend", P.READ_WRITE)
    assert docs.import_update("b1", target.update, actor="friend").seq == 3
    assert docs.read_text("b1", actor="friend") == "> hello world one"


def test_consolidation_is_an_overwrite(db: ConstellationDb, docs: MemoryDocs) -> None:
    # It discards the undone delta, so redo is gone: not for an append-only sharer to decide.
    _target(docs, P.READ_WRITE)
    q.create_shared_block_attachment(db, "b1", "friend", P.APPEND)
    with pytest.raises(PermissionDenied, match="may not overwrite"):
        docs.consolidate("b1", actor="friend")
    assert docs.redo_steps("b1") == 1
    q.create_shared_block_attachment(db, "b1", "friend", P.PARTNER)
    with pytest.raises(ConsentRequired, match="partner approval"):
        docs.consolidate("b1", actor="friend")
    assert docs.consolidate("b1", actor="friend", consent=True) is not None
    assert (docs.undo_steps("b1"), docs.redo_steps("b1")) == (0, 0)
    assert docs.read_text("b1", actor="owner") == "hello world one"


def test_rollback_by_a_stranger_says_nothing_of_the_versions(
    db: ConstellationDb, docs: MemoryDocs
) -> None:
    _target(docs, P.ADMIN)
    with pytest.raises(PermissionDenied):
        docs.rollback("b1", 99, actor="stranger")
    with pytest.raises(InvalidData, match="99"):
        docs.rollback("b1", 99, actor="owner")


def test_an_agent_creates_only_its_own_blocks(db: ConstellationDb, docs: MemoryDocs) -> None:
    mine = docs.create_block("friend", "notes", "mine", actor="friend")
    assert docs.read_text(mine.id, actor="friend") == "mine"
    with pytest.raises(PermissionDenied, match="may not create a block for 'owner'"):
        docs.create_block("owner", "persona", "I am friend now", actor="friend")
    with pytest.raises(PermissionDenied):
        docs.create_block(CONSTELLATION_OWNER, "rules", "friend's rules", actor="friend")
    assert q.list_blocks(db, "owner") == []
    assert q.list_blocks(db, CONSTELLATION_OWNER) == []
    # A system call creates anyone's block.
    assert (
        docs.create_block(CONSTELLATION_OWNER, "rules", "be kind").agent_id == CONSTELLATION_OWNER
    )


def test_deleted_blocks_are_not_found_for_agents(db: ConstellationDb, docs: MemoryDocs) -> None:
    _target(docs, P.ADMIN)
    docs.delete_block("b1", actor="owner")
    for read in (docs.versions, docs.undo_steps, docs.export_snapshot, docs.pending_stats):
        with pytest.raises(NotFound):
            read("b1", actor="owner")
    assert docs.text_at("b1", 1) == "hello world one"  # a system call still reads the history


# -- constellation-wide blocks -----------------------------------------------------------------


def test_every_agent_reads_constellation_blocks(db: ConstellationDb, docs: MemoryDocs) -> None:
    _target(docs, P.READ_WRITE, owner=CONSTELLATION_OWNER, block_id="org")
    assert docs.resolve(CONSTELLATION_OWNER, "org", actor="stranger") == "org"
    assert docs.read_text("org", actor="stranger") == "hello world one"
    assert docs.text_at("org", 0, actor="stranger") == "hello world"
    assert len(docs.versions("org", actor="stranger")) == 3
    # Without an attachment they are read-only, whatever the block's own permission.
    with pytest.raises(PermissionDenied, match="read-only to agents without an attachment"):
        docs.append("org", "!", actor="stranger")
    for overwrite in (docs.undo, docs.redo, docs.consolidate):
        with pytest.raises(PermissionDenied, match="read_only"):
            overwrite("org", actor="stranger")
    q.create_shared_block_attachment(db, "org", "friend", P.APPEND)
    docs.append("org", "!", actor="friend")
    with pytest.raises(PermissionDenied, match="append permission"):
        docs.set_text("org", "mine", actor="friend")
    assert docs.read_text("org") == "hello world one!"


# -- reserved ids --------------------------------------------------------------------------------


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name="Impostor", model_provider="anthropic", model_name="claude")


def test_reserved_agent_ids(db: ConstellationDb) -> None:
    assert frozenset({CONSTELLATION_OWNER}) == agents.RESERVED_AGENT_IDS
    for create in (agents.create_agent, agents.upsert_agent):
        with pytest.raises(InvalidData, match="'_constellation_' is reserved"):
            create(db, _agent(CONSTELLATION_OWNER))
    assert agents.list_agents(db) == []
    agents.create_agent(db, _agent("constellation"))  # only the exact id is reserved
    assert [a.id for a in agents.list_agents(db)] == ["constellation"]


def test_reserved_id_refused_inside_a_transaction(db: ConstellationDb) -> None:
    with db.transaction() as tx:
        agents.create_agent(tx, _agent("a1"))
        with pytest.raises(InvalidData):
            agents.create_agent(tx, _agent(CONSTELLATION_OWNER))
    assert [a.id for a in agents.list_agents(db)] == ["a1"]


# -- callers -----------------------------------------------------------------------------------


def test_mcp_reads_constellation_resources(db: ConstellationDb, docs: MemoryDocs) -> None:
    pytest.importorskip("mcp")
    from pattern_db.integrations.mcp import MemoryTools

    docs.create_block(CONSTELLATION_OWNER, "org", "Be kind.", block_id="org")
    docs.create_block("owner", "diary", "Private.", block_id="d1")
    assert MemoryTools(db).read_uri(CONSTELLATION_OWNER, "org") == "Be kind."
    assert MemoryTools(db).read_uri("owner", "diary") == "Private."
    friend = MemoryTools(db, scope="friend")
    assert friend.read_uri(CONSTELLATION_OWNER, "org") == "Be kind."
    with pytest.raises(PermissionDenied):
        friend.read_uri("owner", "diary")
    with pytest.raises(PermissionDenied, match="reserved"):
        MemoryTools(db).read_block("org", agent_id=CONSTELLATION_OWNER)

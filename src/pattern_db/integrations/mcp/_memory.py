"""What the MCP server does, as plain methods over one constellation (no MCP types here).

Every method returns JSON-ready dicts and raises `DbError` (the server turns it into a tool
error). `scope` is the agent the server acts for (`--agent`): every call is limited to what that
agent may see, edits go through the permission gate as that agent, and a call naming another
agent is refused. Without a scope, calls name the agent themselves (`agent_id`).
"""

from __future__ import annotations

from typing import Any

from pattern_db import search, vector
from pattern_db.connection import ConstellationDb
from pattern_db.errors import DbError, InvalidData, NotFound
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models.memory import (
    CONSTELLATION_OWNER,
    ArchivalEntry,
    MemoryBlock,
    MemoryPermission,
)
from pattern_db.queries import agent as agents
from pattern_db.queries import memory
from pattern_db.queries import message as messages
from pattern_db.timeutil import format_ts

__all__ = ["MAX_LIMIT", "MemoryTools"]

MAX_LIMIT = 200
_CONTENT_TYPES = ("archival_entry", "memory_block", "message")


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidData(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _block(block: MemoryBlock, permission: str | None = None) -> dict[str, Any]:
    return {
        "owner": block.agent_id,
        "label": block.label,
        "description": block.description,
        "block_type": block.block_type.value,
        "permission": permission or block.permission.value,
        "char_limit": block.char_limit,
        "pinned": block.pinned,
        "preview": block.content_preview or "",
        "uri": f"memory://{block.agent_id}/{block.label}",
    }


class MemoryTools:
    """The memory operations the MCP server exposes, for one constellation.

    Example: `MemoryTools(db, scope="a1").search("groceries")`.

    Args:
        db: the open constellation.
        scope: the agent every call acts as (None: each call names its agent).
        embedder: a pattern-db `Embedder` (`embed(texts)`) for vector and hybrid search, or None
            for keyword search only.
    """

    def __init__(self, db: ConstellationDb, *, scope: str | None = None, embedder: Any = None):
        self._db = db
        self._docs = MemoryDocs(db)
        self.scope = scope
        self._embedder = embedder
        if scope is not None and agents.get_agent(db, scope) is None:
            raise NotFound("agent", scope)

    def agent(self, given: str | None) -> str:
        """Return the agent a call acts for.

        Raises:
            DbError: the server is scoped to another agent.
            InvalidData: no scope and no agent given.
        """
        if self.scope is not None:
            if given not in (None, "", self.scope):
                raise DbError(f"this server acts for agent {self.scope!r} only; leave agent_id out")
            return self.scope
        if not given:
            raise InvalidData("name the agent: pass agent_id (or start the server with --agent)")
        return given

    def _embed(self, text: str) -> Any:
        if self._embedder is None or not text.strip():
            return None
        return self._embedder.embed([text])[0]

    # -- reading -------------------------------------------------------------------------------

    def list_agents(self) -> dict[str, Any]:
        """Return the constellation's agents (id, name, description, status)."""
        found = agents.list_agents(self._db)
        return {
            "agents": [
                {"id": a.id, "name": a.name, "description": a.description, "status": a.status}
                for a in found
            ],
            "acting_as": self.scope,
        }

    def search(
        self,
        query: str,
        *,
        agent_id: str | None = None,
        content_type: str | None = None,
        limit: int = 10,
    ) -> dict[str, Any]:
        """Return the hybrid search results for `query` among what the agent may see.

        Raises:
            InvalidData: an unknown content type or a bad limit.
        """
        who = self.agent(agent_id) if (self.scope or agent_id) else None
        if content_type is None:
            flt = search.ContentFilter.all(who, include_shared=True)
        elif content_type == "message":
            flt = search.ContentFilter.messages(who)
        elif content_type == "memory_block":
            flt = search.ContentFilter.memory_blocks(who, include_shared=True)
        elif content_type == "archival_entry":
            flt = search.ContentFilter.archival(who, include_shared=True)
        else:
            raise InvalidData(f"content_type must be one of {_CONTENT_TYPES}, got {content_type!r}")
        builder = search.search(self._db).text(query).filter(flt).limit(_limit(limit))
        embedding = self._embed(query)
        if embedding is not None:
            builder = builder.embedding(embedding)
        return {
            "results": [
                {
                    "id": r.id,
                    "content_type": r.content_type.value,
                    "agent_id": r.agent_id,
                    "content": r.content,
                    "snippet": r.snippet,
                    "score": round(r.score, 6),
                }
                for r in builder.execute()
            ]
        }

    def recent_messages(self, *, agent_id: str | None = None, limit: int = 20) -> dict[str, Any]:
        """Return the agent's latest messages, oldest first."""
        who = self.agent(agent_id)
        found = messages.get_messages(self._db, who, _limit(limit))
        return {
            "agent_id": who,
            "messages": [
                {
                    "id": m.id,
                    "role": m.role.value,
                    "content": m.content_preview or "",
                    "created_at": format_ts(m.created_at),
                }
                for m in sorted(found, key=lambda m: m.position)
            ],
        }

    def list_blocks(self, *, agent_id: str | None = None) -> dict[str, Any]:
        """Return the agent's own active blocks, those shared with it and the constellation's."""
        who = self.agent(agent_id)
        own = [_block(b) for b in memory.list_blocks(self._db, who)]
        shared = [_block(b, p.value) for b, p, _ in memory.get_shared_blocks(self._db, who)]
        # The gate lets every agent read constellation-wide blocks, and write them only through
        # an attachment (which get_shared_blocks has already listed).
        attached = {b["uri"] for b in shared}
        house = [
            _block(b, MemoryPermission.READ_ONLY.value)
            for b in self._constellation_blocks()
            if f"memory://{b.agent_id}/{b.label}" not in attached
        ]
        return {"agent_id": who, "blocks": own + shared + house}

    def _constellation_blocks(self) -> list[MemoryBlock]:
        return memory.list_blocks(self._db, CONSTELLATION_OWNER)

    def visible_blocks(self) -> list[MemoryBlock]:
        """Return every active block the scope agent may read (all blocks when unscoped)."""
        if self.scope is None:
            return [b for b in memory.list_all_blocks(self._db) if b.is_active]
        own = memory.list_blocks(self._db, self.scope)
        shared = [b for b, _, _ in memory.get_shared_blocks(self._db, self.scope)]
        seen = {b.id for b in shared}
        return own + shared + [b for b in self._constellation_blocks() if b.id not in seen]

    def _resolve(self, label: str, owner: str | None, who: str) -> str:
        return self._docs.resolve(owner or who, label, actor=who)

    def read_block(
        self, label: str, *, owner: str | None = None, agent_id: str | None = None
    ) -> dict[str, Any]:
        """Return a block's full text (the owner's own block unless `owner` names another).

        Raises:
            NotFound: no such active block.
            PermissionDenied: the block is another agent's and not shared with this one.
        """
        who = self.agent(agent_id)
        block_id = self._resolve(label, owner, who)
        text = self._docs.read_text(block_id, actor=who)
        return {"owner": owner or who, "label": label, "text": text}

    def read_uri(self, owner: str, label: str) -> str:
        """Return the text of block `memory://{owner}/{label}` as the scope agent sees it.

        Unscoped, every block is listed as a resource and read as a system call (the owner
        `_constellation_` cannot act as an agent).
        """
        block_id = self._docs.resolve(owner, label, actor=self.scope)
        return self._docs.read_text(block_id, actor=self.scope)

    # -- writing -------------------------------------------------------------------------------

    def append_block(
        self, label: str, text: str, *, owner: str | None = None, agent_id: str | None = None
    ) -> dict[str, Any]:
        """Append text to a block through the permission gate; return its new length.

        Raises:
            PermissionDenied, ConsentRequired: the gate refused.
            CharLimitExceeded: the block would grow past its char_limit.
        """
        who = self.agent(agent_id)
        result = self._docs.append(self._resolve(label, owner, who), text, actor=who)
        return {"owner": owner or who, "label": label, "length": result.length}

    def replace_block(
        self,
        label: str,
        old: str,
        new: str,
        *,
        owner: str | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        """Replace `old` by `new` in a block through the permission gate (an overwrite).

        Raises:
            InvalidData: `old` does not occur in the block.
            PermissionDenied, ConsentRequired: the gate refused.
        """
        who = self.agent(agent_id)
        result = self._docs.replace(self._resolve(label, owner, who), old, new, actor=who)
        return {"owner": owner or who, "label": label, "length": result.length}

    def archival_insert(
        self,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a long-term memory for the agent (with a vector when an embedder is set)."""
        who = self.agent(agent_id)
        if not content.strip():
            raise InvalidData("archival memory needs some text")
        entry = ArchivalEntry(agent_id=who, content=content, metadata=metadata)
        embedding = self._embed(content)
        with self._db.transaction() as tx:
            memory.create_archival_entry(tx, entry)
            if embedding is not None:
                vector.ensure_embeddings_table(
                    tx, len(embedding), model=str(self._embedder.model_name)
                )
                vector.insert_embedding(
                    tx, vector.ContentType.ARCHIVAL_ENTRY, entry.id, embedding, agent_id=who
                )
        return {"id": entry.id, "agent_id": who, "created_at": format_ts(entry.created_at)}

    def archival_search(
        self, query: str, *, agent_id: str | None = None, limit: int = 10
    ) -> dict[str, Any]:
        """Return the agent's archival memories (and constellation-wide ones) matching `query`."""
        who = self.agent(agent_id)
        return self.search(query, agent_id=who, content_type="archival_entry", limit=limit)


def describe_error(exc: DbError) -> str:
    """Return the message a model reads for a refused or failed call."""
    owner_hint = f" (constellation-wide blocks belong to {CONSTELLATION_OWNER!r})"
    text = str(exc)
    return text + owner_hint if isinstance(exc, NotFound) and "block" in text else text

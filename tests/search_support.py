"""Helpers for the search tests: plain row inserts and a deterministic fake embedder."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import numpy as np

from pattern_db import ConstellationDb
from pattern_db.codec import codec_for
from pattern_db.connection import Executor
from pattern_db.models import (
    Agent,
    ArchivalEntry,
    FilePassage,
    Folder,
    FolderAttachment,
    FolderFile,
    FolderPathType,
    MemoryBlock,
    Message,
    SharedBlockAttachment,
)
from pattern_db.queries.agent import create_agent

TABLES: dict[type[msgspec.Struct], str] = {
    Message: "messages",
    MemoryBlock: "memory_blocks",
    ArchivalEntry: "archival_entries",
    Folder: "folders",
    FolderFile: "folder_files",
    FilePassage: "file_passages",
    FolderAttachment: "folder_attachments",
    SharedBlockAttachment: "shared_block_agents",
}


def insert(db: Executor, *records: msgspec.Struct) -> None:
    """Insert records with every column, in one transaction (what the create_* queries do)."""
    with db.writer() as conn:
        for record in records:
            codec: Any = codec_for(type(record))
            conn.execute(codec.insert_sql(TABLES[type(record)]), codec.encode(record))


def agents(db: ConstellationDb, *ids: str) -> None:
    """Create agents with these ids."""
    for agent_id in ids:
        create_agent(
            db,
            Agent(
                id=agent_id,
                name=agent_id,
                model_provider="anthropic",
                model_name="m",
                system_prompt="s",
            ),
        )


def msg(id_: str, agent_id: str, text: str, **fields: Any) -> Message:
    """Return a message whose preview is `text`."""
    return Message(
        id=id_, agent_id=agent_id, content_json={"text": text}, content_preview=text, **fields
    )


def block(id_: str, agent_id: str, label: str, text: str, **fields: Any) -> MemoryBlock:
    """Return a memory block with this label and preview."""
    return MemoryBlock(id=id_, agent_id=agent_id, label=label, content_preview=text, **fields)


def folder_with_file(folder_id: str, file_id: str) -> tuple[Folder, FolderFile]:
    """Return a virtual folder and one file in it."""
    folder = Folder(
        id=folder_id, name=folder_id, path_type=FolderPathType.VIRTUAL, embedding_model="e"
    )
    return folder, FolderFile(id=file_id, folder_id=folder_id, name=f"{file_id}.txt")


def fake_embedding(text: str, dims: int = 16) -> np.ndarray:
    """Return a unit float32 vector seeded by the text's hash (same text, same vector)."""
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return vector / np.linalg.norm(vector)

"""queries.folder: folders, files, passages, attachments, and what deleting them removes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.codec import codec_for
from pattern_db.connection import scalar
from pattern_db.models import (
    Agent,
    FilePassage,
    Folder,
    FolderAccess,
    FolderAttachment,
    FolderFile,
    FolderPathType,
)
from pattern_db.queries import agent as agent_q
from pattern_db.queries import folder as q
from pattern_db.timeutil import now

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
T1 = datetime(2026, 3, 5, 0, 0, 0, 1, tzinfo=UTC)


def _folder(folder_id: str = "f1", **fields: object) -> Folder:
    return Folder(
        id=folder_id,
        name=str(fields.pop("name", folder_id)),
        path_type=fields.pop("path_type", FolderPathType.VIRTUAL),  # type: ignore[arg-type]
        embedding_model=str(fields.pop("embedding_model", "all-MiniLM-L6-v2")),
        **fields,  # type: ignore[arg-type]
    )


def _file(file_id: str = "ff1", folder_id: str = "f1", name: str = "a.txt", **fields: object):
    return FolderFile(id=file_id, folder_id=folder_id, name=name, **fields)  # type: ignore[arg-type]


def _passage(passage_id: str, file_id: str = "ff1", chunk_index: int = 0, **fields: object):
    return FilePassage(
        id=passage_id,
        file_id=file_id,
        content=str(fields.pop("content", f"text of {passage_id}")),
        chunk_index=chunk_index,
        **fields,  # type: ignore[arg-type]
    )


def _count(db: ConstellationDb, table: str) -> int:
    with db.reader() as conn:
        return int(scalar(conn, f"SELECT count(*) FROM {table}"))


def _fts_hits(db: ConstellationDb, word: str) -> int:
    with db.reader() as conn:
        return int(
            scalar(
                conn,
                "SELECT count(*) FROM file_passages_fts WHERE file_passages_fts MATCH ?",
                (word,),
            )
        )


def _fts_integrity_check(db: ConstellationDb) -> None:
    # Raises (SQLITE_CORRUPT_VTAB) if the external-content index disagrees with file_passages.
    with db.writer() as conn:
        conn.execute(
            "INSERT INTO file_passages_fts(file_passages_fts, rank) VALUES ('integrity-check', 1)"
        )


# -- folders -----------------------------------------------------------------------------------


def test_create_get_and_lookups(db: ConstellationDb) -> None:
    folder = _folder(
        "f1",
        name="notes",
        description="meeting notes",
        path_type=FolderPathType.LOCAL,
        path_value="/home/me/notes",
        created_at=T0,
    )
    q.create_folder(db, folder)
    assert q.get_folder(db, "f1") == folder
    assert q.get_folder_by_name(db, "notes") == folder
    assert q.get_folder(db, "missing") is None
    assert q.get_folder_by_name(db, "missing") is None


def test_folder_duplicates_raise_already_exists(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1", name="same"))
    with pytest.raises(errors.AlreadyExists, match="folder already exists: f1"):
        q.create_folder(db, _folder("f1", name="other"))
    with pytest.raises(errors.AlreadyExists, match=r"folder named .same. already exists"):
        q.create_folder(db, _folder("f2", name="same"))


def test_folder_bad_path_type_is_invalid_data(db: ConstellationDb) -> None:
    with pytest.raises(
        errors.InvalidData, match=r"unknown Folder.path_type 'ftp'; expected one of"
    ):
        q.create_folder(db, _folder("f1", path_type="ftp"))


def test_list_folders_is_ordered_by_name(db: ConstellationDb) -> None:
    for folder_id, name in [("f1", "zed"), ("f2", "amy"), ("f3", "mo")]:
        q.create_folder(db, _folder(folder_id, name=name))
    assert [f.id for f in q.list_folders(db)] == ["f2", "f3", "f1"]


def test_update_folder_writes_every_column_but_id_and_created_at(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1", created_at=T0))
    q.create_folder(db, _folder("f2", name="taken"))
    changed = Folder(
        id="f1",
        name="renamed",
        description="now described",
        path_type=FolderPathType.REMOTE,
        path_value="s3://bucket/x",
        embedding_model="other-model",
        created_at=T1,
    )
    q.update_folder(db, changed)
    assert q.get_folder(db, "f1") == msgspec.structs.replace(changed, created_at=T0)
    with pytest.raises(errors.NotFound, match="folder not found: nope"):
        q.update_folder(db, _folder("nope"))
    with pytest.raises(errors.AlreadyExists, match=r"folder named .taken. already exists"):
        q.update_folder(db, msgspec.structs.replace(changed, name="taken"))


def test_delete_folder_cascades_to_files_passages_and_attachments(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    q.create_folder(db, _folder("f1"))
    q.create_folder(db, _folder("f2"))
    q.upsert_file(db, _file("ff1", "f1", "a.txt"))
    q.upsert_file(db, _file("ff2", "f2", "b.txt"))
    q.create_passages(db, [_passage("p1", "ff1", content="alpha"), _passage("p2", "ff2")])
    q.attach_folder_to_agent(db, "f1", "a1")
    q.attach_folder_to_agent(db, "f2", "a1")
    assert _fts_hits(db, "alpha") == 1

    assert q.delete_folder(db, "f1") is True
    assert q.delete_folder(db, "f1") is False
    assert q.get_file(db, "ff1") is None
    assert q.get_file_passages(db, "ff1") == []
    assert [a.folder_id for a in q.get_agent_folders(db, "a1")] == ["f2"]
    assert _count(db, "folder_files") == 1
    assert _count(db, "file_passages") == 1
    # The cascade fired the FTS delete trigger: the index holds nothing of the deleted text.
    assert _fts_hits(db, "alpha") == 0
    _fts_integrity_check(db)
    assert agent_q.get_agent(db, "a1") is not None


# -- files -------------------------------------------------------------------------------------


def test_upsert_file_inserts_and_returns_its_id(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    file = _file(
        "ff1",
        content_type="text/plain",
        size_bytes=5,
        content=b"hello",
        uploaded_at=T0,
        indexed_at=T1,
    )
    assert q.upsert_file(db, file) == "ff1"
    assert q.get_file(db, "ff1") == file
    assert q.get_file_by_name(db, "f1", "a.txt") == file


def test_upsert_file_keeps_original_id_and_indexed_at_on_conflict(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.upsert_file(db, _file("ff1", content=b"v1", size_bytes=2, uploaded_at=T0))
    q.mark_file_indexed(db, "ff1")
    indexed_at = q.get_file(db, "ff1").indexed_at  # type: ignore[union-attr]
    assert indexed_at is not None

    again = _file(
        "ff-new",
        content_type="text/markdown",
        size_bytes=7,
        content=b"version",
        uploaded_at=T1,
        indexed_at=None,
    )
    assert q.upsert_file(db, again) == "ff1"
    assert q.get_file(db, "ff-new") is None
    assert q.get_file(db, "ff1") == msgspec.structs.replace(again, id="ff1", indexed_at=indexed_at)
    assert len(q.list_files_in_folder(db, "f1")) == 1
    assert q.upsert_file(db, _file("ff1", content=b"same id again")) == "ff1"
    assert len(q.list_files_in_folder(db, "f1")) == 1


def test_upsert_file_matches_on_folder_and_name_before_id(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.upsert_file(db, _file("ff1", name="a.txt", content=b"a"))
    q.upsert_file(db, _file("ff2", name="b.txt", content=b"old b"))
    # The record's id names another file, but (folder_id, name) decides which row is updated.
    assert q.upsert_file(db, _file("ff1", name="b.txt", content=b"new b")) == "ff2"
    assert [(f.id, f.name, f.content) for f in q.list_files_in_folder(db, "f1")] == [
        ("ff1", "a.txt", b"a"),
        ("ff2", "b.txt", b"new b"),
    ]


def test_upsert_file_errors(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.upsert_file(db, _file("ff1", name="a.txt"))
    with pytest.raises(errors.AlreadyExists, match="file already exists: ff1"):
        q.upsert_file(db, _file("ff1", name="b.txt"))
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.upsert_file(db, _file("ff2", folder_id="no-such-folder"))
    with pytest.raises(errors.InvalidData, match=r"FolderFile.size_bytes must be an integer >= 0"):
        q.upsert_file(db, _file("ff3", name="c.txt", size_bytes=-1))
    assert [f.id for f in q.list_files_in_folder(db, "f1")] == ["ff1"]


def test_file_names_are_unique_per_folder_only(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.create_folder(db, _folder("f2"))
    assert q.upsert_file(db, _file("ff1", "f1", "same.txt")) == "ff1"
    assert q.upsert_file(db, _file("ff2", "f2", "same.txt")) == "ff2"
    assert q.get_file_by_name(db, "f1", "same.txt").id == "ff1"  # type: ignore[union-attr]
    assert q.get_file_by_name(db, "f2", "same.txt").id == "ff2"  # type: ignore[union-attr]
    assert q.get_file_by_name(db, "f1", "other.txt") is None
    # UNIQUE(folder_id, name) holds in the database itself, not only in upsert_file.
    codec = codec_for(FolderFile)
    duplicate = codec.encode(_file("ff3", "f1", "same.txt"))
    clash = r"folder_files\.folder_id, folder_files\.name"
    with pytest.raises(errors.AlreadyExists, match=clash), db.writer() as conn:
        conn.execute(codec.insert_sql("folder_files"), duplicate)


def test_list_files_in_folder_is_ordered_by_name(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.create_folder(db, _folder("f2"))
    for file_id, name in [("ff1", "zed.md"), ("ff2", "amy.md"), ("ff3", "mo.md")]:
        q.upsert_file(db, _file(file_id, "f1", name))
    q.upsert_file(db, _file("ff4", "f2", "elsewhere.md"))
    assert [f.id for f in q.list_files_in_folder(db, "f1")] == ["ff2", "ff3", "ff1"]
    assert q.list_files_in_folder(db, "missing") == []


def test_mark_file_indexed_sets_now(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.upsert_file(db, _file("ff1"))
    before = now()
    q.mark_file_indexed(db, "ff1")
    after = now()
    indexed_at = q.get_file(db, "ff1").indexed_at  # type: ignore[union-attr]
    assert indexed_at is not None
    assert before <= indexed_at <= after
    with pytest.raises(errors.NotFound, match="file not found: nope"):
        q.mark_file_indexed(db, "nope")


def test_delete_file_cascades_to_passages(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))
    q.upsert_file(db, _file("ff1", name="a.txt"))
    q.upsert_file(db, _file("ff2", name="b.txt"))
    q.create_passages(db, [_passage("p1", "ff1", content="gone"), _passage("p2", "ff2")])
    assert q.delete_file(db, "ff1") is True
    assert q.delete_file(db, "ff1") is False
    assert q.get_file_passages(db, "ff1") == []
    assert [p.id for p in q.get_file_passages(db, "ff2")] == ["p2"]
    assert _fts_hits(db, "gone") == 0
    _fts_integrity_check(db)


# -- passages ----------------------------------------------------------------------------------


@pytest.fixture
def file_ff1(db: ConstellationDb) -> str:
    q.create_folder(db, _folder("f1"))
    return q.upsert_file(db, _file("ff1"))


def test_create_passage_writes_every_column(db: ConstellationDb, file_ff1: str) -> None:
    passage = FilePassage(
        id="p1",
        file_id=file_ff1,
        content="line one\nline two",
        start_line=10,
        end_line=11,
        chunk_index=7,
        created_at=T0,
    )
    q.create_passage(db, passage)
    assert q.get_file_passages(db, file_ff1) == [passage]
    with db.reader() as conn:
        assert scalar(conn, "SELECT chunk_index FROM file_passages WHERE id = 'p1'") == 7


def test_create_passage_errors(db: ConstellationDb, file_ff1: str) -> None:
    q.create_passage(db, _passage("p1"))
    with pytest.raises(errors.AlreadyExists, match="file passage already exists: p1"):
        q.create_passage(db, _passage("p1"))
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.create_passage(db, _passage("p2", file_id="no-such-file"))
    with pytest.raises(
        errors.InvalidData, match=r"FilePassage.chunk_index must be an integer >= 0"
    ):
        q.create_passage(db, _passage("p3", chunk_index=-1))


def test_get_file_passages_orders_by_chunk_index_then_id(
    db: ConstellationDb, file_ff1: str
) -> None:
    q.create_passages(
        db,
        [
            _passage("p-c", chunk_index=2),
            _passage("p-b", chunk_index=0),
            _passage("p-z", chunk_index=1),
            _passage("p-a", chunk_index=1),
        ],
    )
    assert [p.id for p in q.get_file_passages(db, file_ff1)] == ["p-b", "p-a", "p-z", "p-c"]
    assert q.get_file_passages(db, "missing") == []


def test_create_passages_is_all_or_nothing(db: ConstellationDb, file_ff1: str) -> None:
    q.create_passages(db, [])
    with pytest.raises(errors.AlreadyExists, match="file passage already exists: p2"):
        q.create_passages(db, [_passage("p1"), _passage("p2"), _passage("p2", chunk_index=1)])
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.create_passages(db, [_passage("p1"), _passage("p9", file_id="no-such-file")])
    assert q.get_file_passages(db, file_ff1) == []
    q.create_passages(db, (_passage(f"p{i}", chunk_index=i) for i in range(3)))
    assert [p.id for p in q.get_file_passages(db, file_ff1)] == ["p0", "p1", "p2"]


def test_delete_file_passages_returns_the_count(db: ConstellationDb, file_ff1: str) -> None:
    q.create_passages(db, [_passage(f"p{i}", chunk_index=i) for i in range(3)])
    assert q.delete_file_passages(db, file_ff1) == 3
    assert q.delete_file_passages(db, file_ff1) == 0
    assert q.get_file_passages(db, file_ff1) == []
    assert q.get_file(db, file_ff1) is not None


def test_replace_file_passages_swaps_them_atomically(db: ConstellationDb, file_ff1: str) -> None:
    q.create_passages(
        db, [_passage("old0", content="obsolete words"), _passage("old1", chunk_index=1)]
    )
    new = [
        _passage("new0", content="fresh words", chunk_index=0, start_line=1, end_line=3),
        _passage("new1", content="more fresh", chunk_index=1, start_line=4, end_line=9),
    ]
    assert q.replace_file_passages(db, file_ff1, new) == 2
    assert q.get_file_passages(db, file_ff1) == new
    assert _fts_hits(db, "obsolete") == 0
    assert _fts_hits(db, "fresh") == 2
    _fts_integrity_check(db)
    assert q.replace_file_passages(db, file_ff1, []) == 2
    assert q.get_file_passages(db, file_ff1) == []


def test_replace_file_passages_failure_keeps_the_old_ones(
    db: ConstellationDb, file_ff1: str
) -> None:
    q.upsert_file(db, _file("ff2", name="b.txt"))
    q.create_passages(db, [_passage("old0"), _passage("taken", "ff2")])
    with pytest.raises(errors.AlreadyExists, match="file passage already exists: taken"):
        q.replace_file_passages(db, file_ff1, [_passage("new0"), _passage("taken", chunk_index=1)])
    with pytest.raises(errors.InvalidData, match="belongs to file ff2"):
        q.replace_file_passages(db, file_ff1, [_passage("new0"), _passage("x", "ff2")])
    with pytest.raises(errors.NotFound, match="file not found: nope"):
        q.replace_file_passages(db, "nope", [])
    assert [p.id for p in q.get_file_passages(db, file_ff1)] == ["old0"]
    assert [p.id for p in q.get_file_passages(db, "ff2")] == ["taken"]


def test_passage_writes_compose_in_a_transaction(db: ConstellationDb) -> None:
    q.create_folder(db, _folder("f1"))

    class Abort(Exception):
        pass

    with contextlib.suppress(Abort), db.transaction() as tx:
        file_id = q.upsert_file(tx, _file("ff1"))
        q.create_passages(tx, [_passage("p0", file_id)])
        q.mark_file_indexed(tx, file_id)
        assert [p.id for p in q.get_file_passages(tx, file_id)] == ["p0"]
        raise Abort
    assert q.get_file(db, "ff1") is None
    assert _count(db, "file_passages") == 0


# -- attachments -------------------------------------------------------------------------------


def test_attach_detach_and_list(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    q.create_folder(db, _folder("f1"))
    q.create_folder(db, _folder("f2"))
    q.attach_folder_to_agent(db, "f2", "a1", attached_at=T0)
    q.attach_folder_to_agent(db, "f1", "a1", FolderAccess.READ_WRITE, attached_at=T0)
    q.attach_folder_to_agent(db, "f1", "a2", "read", attached_at=T1)
    assert q.get_agent_folders(db, "a1") == [
        FolderAttachment(
            folder_id="f1", agent_id="a1", access=FolderAccess.READ_WRITE, attached_at=T0
        ),
        FolderAttachment(folder_id="f2", agent_id="a1", access=FolderAccess.READ, attached_at=T0),
    ]
    assert [(a.agent_id, a.access) for a in q.get_folder_agents(db, "f1")] == [
        ("a1", FolderAccess.READ_WRITE),
        ("a2", FolderAccess.READ),
    ]
    assert q.detach_folder_from_agent(db, "f1", "a1") is True
    assert q.detach_folder_from_agent(db, "f1", "a1") is False
    assert [a.agent_id for a in q.get_folder_agents(db, "f1")] == ["a2"]
    assert q.get_agent_folders(db, "nobody") == []


def test_attach_defaults_to_read_now(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_folder(db, _folder("f1"))
    before = now()
    q.attach_folder_to_agent(db, "f1", "a1")
    (attachment,) = q.get_agent_folders(db, "a1")
    assert attachment.access is FolderAccess.READ
    assert before <= attachment.attached_at <= now()


def test_reattach_changes_access_and_keeps_attached_at(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    q.create_folder(db, _folder("f1"))
    q.attach_folder_to_agent(db, "f1", "a1", FolderAccess.READ, attached_at=T0)
    q.attach_folder_to_agent(db, "f1", "a1", FolderAccess.READ_WRITE, attached_at=T1)
    assert q.get_folder_agents(db, "f1") == [
        FolderAttachment(
            folder_id="f1", agent_id="a1", access=FolderAccess.READ_WRITE, attached_at=T0
        )
    ]


def test_attach_errors(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_folder(db, _folder("f1"))
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.attach_folder_to_agent(db, "no-such-folder", "a1")
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.attach_folder_to_agent(db, "f1", "no-such-agent")
    with pytest.raises(errors.InvalidData, match="unknown folder access 'write'"):
        q.attach_folder_to_agent(db, "f1", "a1", "write")
    with pytest.raises(errors.InvalidData, match="naive datetime"):
        q.attach_folder_to_agent(db, "f1", "a1", attached_at=datetime(2026, 1, 1))
    assert q.get_folder_agents(db, "f1") == []


def test_deleting_an_agent_removes_its_attachments_only(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    make_agent("a2")
    q.create_folder(db, _folder("f1"))
    q.attach_folder_to_agent(db, "f1", "a1")
    q.attach_folder_to_agent(db, "f1", "a2")
    assert agent_q.delete_agent(db, "a1") is True
    assert q.get_agent_folders(db, "a1") == []
    assert [a.agent_id for a in q.get_folder_agents(db, "f1")] == ["a2"]
    assert q.get_folder(db, "f1") is not None


# -- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_name = _text.filter(lambda t: bool(t.strip()))  # required non-blank
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
_int64 = st.integers(-(2**63), 2**63 - 1)
_count64 = st.integers(0, 2**63 - 1)

_folders = st.builds(
    Folder,
    id=_text,
    name=_name,
    description=st.none() | _text,
    path_type=st.sampled_from(FolderPathType),
    path_value=st.none() | _text,
    embedding_model=_text,
    created_at=_when,
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    folder=_folders,
    file=st.builds(
        FolderFile,
        id=_text,
        folder_id=st.just(""),
        name=_name,
        content_type=st.none() | _text,
        size_bytes=st.none() | _count64,
        content=st.none() | st.binary(max_size=64),
        uploaded_at=_when,
        indexed_at=st.none() | _when,
    ),
    passage=st.builds(
        FilePassage,
        id=_text,
        file_id=st.just(""),
        content=_text,
        start_line=st.none() | _int64,
        end_line=st.none() | _int64,
        chunk_index=_count64,
        created_at=_when,
    ),
    access=st.sampled_from(FolderAccess),
    attached_at=_when,
    agent_id=_text,
)
def test_round_trips(
    db: ConstellationDb,
    folder: Folder,
    file: FolderFile,
    passage: FilePassage,
    access: FolderAccess,
    attached_at: datetime,
    agent_id: str,
) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM folders")
        conn.execute("DELETE FROM agents")
    file = msgspec.structs.replace(file, folder_id=folder.id)
    passage = msgspec.structs.replace(passage, file_id=file.id)
    agent_q.create_agent(
        db,
        Agent(id=agent_id, name="n", model_provider="p", model_name="m", system_prompt="s"),
    )

    q.create_folder(db, folder)
    assert q.upsert_file(db, file) == file.id
    q.create_passage(db, passage)
    q.attach_folder_to_agent(db, folder.id, agent_id, access, attached_at=attached_at)

    assert q.get_folder(db, folder.id) == folder
    assert q.get_file(db, file.id) == file
    assert q.get_file_passages(db, file.id) == [passage]
    assert q.get_folder_agents(db, folder.id) == [
        FolderAttachment(
            folder_id=folder.id, agent_id=agent_id, access=access, attached_at=attached_at
        )
    ]

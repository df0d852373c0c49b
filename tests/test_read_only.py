"""Read-only files, directories and mounts open read-only; a full disk is DiskFull.

The tests run as root, which ignores permission bits, so read-only places are real read-only
bind mounts (of a directory, or of the database file alone) and the full disk is a small tmpfs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pattern_db import ConstellationDb, fts, vector
from pattern_db.backup import restore_backup
from pattern_db.errors import DiskFull, ReadOnly
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import Agent, Message
from pattern_db.queries.agent import create_agent, list_agents
from pattern_db.queries.message import create_message, create_messages


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


def _read_only_bind(source: Path, target: Path) -> None:
    try:
        _mount("--bind", str(source), str(target))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the sandbox refuses bind mounts: {getattr(exc, 'stderr', exc)}")
    try:
        _mount("-o", "remount,bind,ro", str(target))
    except subprocess.CalledProcessError as exc:
        _umount(target)
        pytest.skip(f"the sandbox refuses read-only remounts: {exc.stderr}")


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="p", model_name="m")


def _populate(path: Path) -> ConstellationDb:
    db = ConstellationDb.open(path)
    create_agent(db, _agent("a1"))
    create_messages(
        db,
        [
            Message(id=f"m{i}", agent_id="a1", content_json={"text": t}, content_preview=t)
            for i, t in enumerate(["the dentist is on Friday", "grant report deadline"])
        ],
    )
    MemoryDocs(db).create_block("a1", "persona", "I am helpful.", block_id="b1")
    if db.vec_version is not None:
        vector.ensure_embeddings_table(db, 3, metric="l2")
        vector.insert_embedding(db, "message", "m0", [1.0, 0.0, 0.0])
        vector.insert_embedding(db, "message", "m1", [0.0, 1.0, 0.0])
    return db


@pytest.fixture
def ro_dir(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(writable directory, the same directory mounted read-only)."""
    source, target = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    _read_only_bind(source, target)
    yield source, target
    _umount(target)


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _check_reads_work_and_writes_refused(db: ConstellationDb, path: Path) -> None:
    assert db.read_only
    assert db.capabilities()["read_only"] is True
    assert [a.id for a in list_agents(db)] == ["a1"]
    assert [m.id for m in fts.search_messages(db, "dentist")] == ["m0"]
    assert MemoryDocs(db).read_text("b1", actor="a1") == "I am helpful."
    if db.vec_version is not None:
        for _ in range(3):  # SQL first, then the in-memory cache
            found = vector.knn_search(db, [0.0, 1.0, 0.0], 1)
            assert [r.content_id for r in found] == ["m1"]
    writes = {
        "create_agent": lambda: create_agent(db, _agent("a2")),
        "transaction": lambda: db.transaction().__enter__(),
        "memory edit": lambda: MemoryDocs(db).append("b1", " More.", actor="a1"),
        "vacuum": db.vacuum,
        "checkpoint": db.checkpoint,
    }
    for name, write in writes.items():
        with pytest.raises(ReadOnly) as info:
            write()
        assert str(path) in str(info.value), name
        assert info.value.path == str(path), name


def test_a_read_only_directory_opens_immutable_after_a_clean_close(
    ro_dir: tuple[Path, Path], tmp_path: Path
) -> None:
    rw, ro = ro_dir
    _populate(rw / "c.db").close()
    # No -shm (the write queue's -wlock may stay): immutable is the only way in.
    assert [n for n in sorted(os.listdir(rw)) if n != "c.db-wlock"] == ["c.db"]
    before = _digest(rw)
    with ConstellationDb.open(ro / "c.db") as db:
        _check_reads_work_and_writes_refused(db, ro / "c.db")
        copy = db.backup(tmp_path / "copy.db")  # backups read, so they work too
    with pytest.raises(ReadOnly) as info:
        restore_backup(copy, ro / "c.db", overwrite=True)
    assert info.value.path == str(ro / "c.db")
    assert _digest(rw) == before
    with ConstellationDb.open(copy) as db:
        assert not db.read_only
        assert [a.id for a in list_agents(db)] == ["a1"]


def test_a_read_only_mount_beside_a_live_writer_sees_its_commits(
    ro_dir: tuple[Path, Path],
) -> None:
    rw, ro = ro_dir
    writer = _populate(rw / "c.db")
    try:
        assert (rw / "c.db-shm").exists()
        with ConstellationDb.open(ro / "c.db") as db:
            _check_reads_work_and_writes_refused(db, ro / "c.db")
            create_agent(writer, _agent("later"))
            assert {a.id for a in list_agents(db)} == {"a1", "later"}
    finally:
        writer.close()


def test_a_read_only_file_in_a_writable_directory(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _populate(path).close()
    twin = tmp_path / "twin.db"
    twin.write_bytes(b"")
    _read_only_bind(path, twin)  # the same file, read-only, in a writable directory
    try:
        with ConstellationDb.open(twin) as db:
            _check_reads_work_and_writes_refused(db, twin)
    finally:
        _umount(twin)


def test_explicit_read_only_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _populate(path).close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with ConstellationDb.open(path, read_only=True) as db:
        _check_reads_work_and_writes_refused(db, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with ConstellationDb.open(path) as db:
        assert not db.read_only
        create_agent(db, _agent("a2"))


def test_no_database_to_create_read_only(ro_dir: tuple[Path, Path], tmp_path: Path) -> None:
    _, ro = ro_dir
    with pytest.raises(ReadOnly, match="none can be created") as info:
        ConstellationDb.open(ro / "new.db")
    assert info.value.path == str(ro / "new.db")
    with pytest.raises(ReadOnly):
        ConstellationDb.open(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs."""
    target = tmp_path / "small"
    target.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the sandbox refuses tmpfs mounts: {getattr(exc, 'stderr', exc)}")
    yield target
    _umount(target)


def test_a_full_disk_is_disk_full_naming_the_path(small_disk: Path, tmp_path: Path) -> None:
    path = small_disk / "c.db"
    acknowledged = 0
    with ConstellationDb.open(path) as db:
        create_agent(db, _agent("a1"))
        text = os.urandom(3000).hex()
        failure: DiskFull | None = None
        for _ in range(1000):
            try:
                create_message(
                    db, Message(agent_id="a1", content_json={"t": text}, content_preview="x")
                )
            except DiskFull as exc:
                failure = exc
                break
            acknowledged += 1
        assert failure is not None
        assert failure.path == str(path)
        assert str(path) in str(failure)
        assert failure.detail is not None
        assert "full" in failure.detail  # SQLite's own text, kept
        assert acknowledged > 0
        with pytest.raises(DiskFull) as backup_info:
            db.backup(small_disk / "b.db")
        assert backup_info.value.path == str(small_disk / "b.db")
        assert not [p for p in os.listdir(small_disk) if p.startswith(".") or p == "b.db"]
        db.backup(tmp_path / "elsewhere.db")  # reads still work; a roomy disk takes the copy
    with ConstellationDb.open(tmp_path / "elsewhere.db") as copy:
        with copy.reader() as conn:
            assert conn.execute("SELECT count(*) FROM messages").fetchone() == (acknowledged,)
        assert copy.verify() == []

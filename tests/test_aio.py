"""pattern_db.aio: calls run on the handle's worker, transactions hold, cancellation rolls back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pattern_db import ConstellationDb, aio
from pattern_db.aio import AsyncConstellationDb, AsyncMemoryDocs, queries
from pattern_db.aio._handles import worker_of
from pattern_db.errors import AlreadyExists, DatabaseClosed, InvalidData
from pattern_db.models import Agent, Message
from pattern_db.queries import agent as sync_agent
from pattern_db.queries import message as sync_message

T = TypeVar("T")

DEMO_AF = (
    Path(__file__).resolve().parents[1] / "src/pattern_db/demo_data/memgpt_agent_with_convo.af"
)


def _agent(agent_id: str = "a1") -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="p", model_name="m")


def _message(text: str, agent_id: str = "a1") -> Message:
    return Message(agent_id=agent_id, content_json={"Text": text})


@pytest.fixture(params=["memory", "file"])
def sync_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConstellationDb]:
    handle = (
        ConstellationDb.open_in_memory()
        if request.param == "memory"
        else ConstellationDb.open(tmp_path / "c.db")
    )
    sync_agent.create_agent(handle, _agent())
    with handle:
        yield handle


# A safety net, not a measure: a call stuck behind a transaction left open fails the test.
HANG_S = 120


def _run(fn: Callable[[AsyncConstellationDb], Awaitable[T]], db: ConstellationDb) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(fn(AsyncConstellationDb(db)), HANG_S)

    return asyncio.run(bounded())


class _Abort(Exception):
    pass


async def _write_then_abort(
    adb: AsyncConstellationDb, text: str, before: Callable[[], Awaitable[None]] | None = None
) -> None:
    async with adb.transaction() as tx:
        await queries.message.create_message(tx, _message(text))
        if before is not None:
            await before()
        raise _Abort


def _writer_threads(db: ConstellationDb) -> set[int]:
    """Record the thread of every row change made through the handle's writer connection."""
    seen: set[int] = set()
    with db.exclusive() as conn:
        conn.set_update_hook(lambda *_: seen.add(threading.get_ident()))
    return seen


def test_calls_return_what_the_sync_calls_return(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        created = _message("dentist on tuesday")
        await queries.message.create_message(adb, created)
        assert await queries.message.count_messages(adb, "a1") == 1
        assert await queries.message.get_messages(adb, "a1") == sync_message.get_messages(
            sync_db, "a1"
        )
        assert (await queries.agent.get_agent(adb, "a1")) == sync_agent.get_agent(sync_db, "a1")
        hits = await aio.fts.search_all(adb, "dentist", "a1")
        assert [h.id for h in hits] == [created.id]
        fused = await aio.search.search(adb).text("dentist").limit(3).execute()
        assert [r.id for r in fused] == [created.id]
        assert (await adb.stats()).message_count == 1
        assert await adb.verify() == []

    _run(main, sync_db)


def test_errors_are_the_sync_errors(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        with pytest.raises(AlreadyExists):
            await queries.agent.create_agent(adb, _agent())
        with pytest.raises(InvalidData):
            await queries.agent.create_agent(adb, _agent("_constellation_"))

    _run(main, sync_db)


def test_every_call_of_a_handle_runs_on_its_one_worker_thread(sync_db: ConstellationDb) -> None:
    threads = _writer_threads(sync_db)

    async def main(adb: AsyncConstellationDb) -> None:
        await asyncio.gather(
            *(queries.message.create_message(adb, _message(f"m{i}")) for i in range(100)),
            *(queries.message.count_messages(adb, "a1") for _ in range(20)),
        )
        assert await queries.message.count_messages(adb, "a1") == 100
        worker = worker_of(adb.sync).thread
        assert worker is not None
        assert threads == {worker.ident}
        assert worker.ident != threading.get_ident()

    _run(main, sync_db)


def test_a_transaction_commits_and_an_error_rolls_it_back(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        async with adb.transaction() as tx:
            await queries.message.create_message(tx, _message("kept"))
            # The task inside the block reads its own writes, through tx or through adb.
            assert await queries.message.count_messages(tx, "a1") == 1
            assert await queries.message.count_messages(adb, "a1") == 1
            assert [h.content for h in await aio.fts.search_messages(tx, "kept", "a1")] == ["kept"]
            fused = await aio.search.search(tx).text("kept").execute()
            assert [r.content for r in fused] == ["kept"]
        with pytest.raises(_Abort):
            await _write_then_abort(adb, "dropped")
        assert [m.content_preview for m in await queries.message.get_messages(adb, "a1")] == [
            "kept"
        ]
        with pytest.raises(DatabaseClosed, match="ended"):
            await queries.message.count_messages(tx, "a1")

    _run(main, sync_db)
    assert sync_message.count_messages(sync_db, "a1") == 1


def test_a_nested_transaction_is_a_savepoint(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        async with adb.transaction() as outer:
            await queries.message.create_message(outer, _message("outer"))
            with pytest.raises(_Abort):  # undoes the inner one only
                await _write_then_abort(adb, "inner")
            await queries.message.create_message(adb, _message("after"))
        texts = sorted(
            m.content_preview or "" for m in await queries.message.get_messages(adb, "a1")
        )
        assert texts == ["after", "outer"]

    _run(main, sync_db)


def test_other_tasks_wait_until_a_transaction_ends(sync_db: ConstellationDb) -> None:
    """Another task's call neither joins the transaction nor reads its uncommitted writes."""

    async def main(adb: AsyncConstellationDb) -> None:
        written = asyncio.Event()
        release = asyncio.Event()

        async def hold() -> None:
            written.set()
            await release.wait()

        async def writer() -> None:
            with pytest.raises(_Abort):
                await _write_then_abort(adb, "uncommitted", hold)

        task = asyncio.create_task(writer())
        await written.wait()
        # Started while the transaction is open: its job reaches the worker before the rollback.
        reader = asyncio.create_task(queries.message.count_messages(adb, "a1"))
        other_write = asyncio.create_task(queries.message.create_message(adb, _message("later")))
        for _ in range(5):
            await asyncio.sleep(0)
        release.set()
        await task
        assert await reader == 0
        await other_write
        assert [m.content_preview for m in await queries.message.get_messages(adb, "a1")] == [
            "later"
        ]

    _run(main, sync_db)


def test_cancelling_a_task_inside_a_transaction_rolls_it_back(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        inside = asyncio.Event()

        async def doomed() -> None:
            async with adb.transaction() as tx:
                await queries.message.create_message(tx, _message("cancelled 1"))
                await queries.message.create_message(tx, _message("cancelled 2"))
                inside.set()
                await asyncio.Event().wait()  # until cancelled

        task = asyncio.create_task(doomed())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The lock is free: a new write through the worker and one from another thread succeed.
        await queries.message.create_message(adb, _message("after"))
        await asyncio.to_thread(sync_message.create_message, adb.sync, _message("sync"))
        texts = sorted(
            m.content_preview or "" for m in await queries.message.get_messages(adb, "a1")
        )
        assert texts == ["after", "sync"]
        assert not adb.sync.in_transaction()

    _run(main, sync_db)


def test_cancelling_while_a_call_of_the_transaction_runs(sync_db: ConstellationDb) -> None:
    """The running import finishes on the worker, then the rollback undoes all of it."""
    started = threading.Event()
    resume = threading.Event()

    def progress(stage: str, done: int, total: int | None) -> None:
        if not started.is_set():
            started.set()
            resume.wait(60)

    async def main(adb: AsyncConstellationDb) -> None:
        async def doomed() -> None:
            async with adb.transaction():
                await queries.message.create_message(adb, _message("cancelled"))
                await aio.importers.import_letta(adb, DEMO_AF, progress=progress)

        task = asyncio.create_task(doomed())
        await asyncio.to_thread(started.wait, 60)
        task.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        # Cancelled again while it waits for its rollback: the rollback still runs.
        task.cancel()
        resume.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [a.id for a in await queries.agent.list_agents(adb)] == ["a1"]
        assert await queries.message.count_messages(adb, "a1") == 0
        await queries.message.create_message(adb, _message("after"))
        assert await queries.message.count_messages(adb, "a1") == 1

    _run(main, sync_db)


def test_cancelling_a_transaction_still_waiting_to_begin(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with adb.transaction() as tx:
                await queries.message.create_message(tx, _message("held"))
                inside.set()
                await release.wait()

        async def waiter() -> None:
            async with adb.transaction() as tx:
                await queries.message.create_message(tx, _message("never"))

        first = asyncio.create_task(holder())
        await inside.wait()
        second = asyncio.create_task(waiter())
        for _ in range(5):
            await asyncio.sleep(0)
        second.cancel()
        release.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
        await queries.message.create_message(adb, _message("after"))
        texts = sorted(
            m.content_preview or "" for m in await queries.message.get_messages(adb, "a1")
        )
        assert texts == ["after", "held"]

    _run(main, sync_db)


def test_a_sync_transaction_is_refused(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        with sync_db.transaction() as tx, pytest.raises(InvalidData, match="AsyncTransaction"):
            await queries.message.count_messages(tx, "a1")  # type: ignore[arg-type]

    _run(main, sync_db)


def test_a_sync_handle_is_accepted_and_shares_the_worker(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        await queries.message.create_message(sync_db, _message("via the sync handle"))
        assert await queries.message.count_messages(adb, "a1") == 1
        assert worker_of(sync_db) is worker_of(adb.sync)

    _run(main, sync_db)


def test_close_ends_the_worker_and_later_calls_fail(tmp_path: Path) -> None:
    async def main() -> None:
        adb = await aio.open(tmp_path / "c.db")
        await queries.agent.create_agent(adb, _agent())
        worker = worker_of(adb.sync)
        await adb.close()
        assert adb.closed
        assert worker.join(10)
        with pytest.raises(DatabaseClosed):
            await queries.agent.get_agent(adb, "a1")
        async with await aio.open(tmp_path / "c.db") as again:
            assert (await queries.agent.get_agent(again, "a1")) is not None

    asyncio.run(main())


def test_a_sync_close_also_ends_the_worker(tmp_path: Path) -> None:
    db = ConstellationDb.open(tmp_path / "c.db")

    async def main() -> None:
        await queries.agent.create_agent(db, _agent())

    asyncio.run(main())
    worker = worker_of(db)
    db.close()
    assert worker.join(10)


def test_memory_docs(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        docs = AsyncMemoryDocs(adb)
        block = await docs.create_block("a1", "persona", "I am helpful.")
        await docs.append(block.id, " And kind.", actor="a1")
        assert await docs.read_text(block.id, actor="a1") == "I am helpful. And kind."
        assert await docs.undo_steps(block.id, actor="a1") == 1
        await docs.undo(block.id, actor="a1")
        assert await docs.read_text(block.id) == "I am helpful."
        assert docs.db is adb

    _run(main, sync_db)


def test_vectors(sync_db: ConstellationDb) -> None:
    if sync_db.vec_version is None:
        pytest.skip("sqlite-vec is not loaded")

    async def main(adb: AsyncConstellationDb) -> None:
        await aio.vector.ensure_embeddings_table(adb, 3)
        await aio.vector.insert_embedding(adb, "message", "m1", [1.0, 0.0, 0.0], agent_id="a1")
        await aio.vector.insert_embedding(adb, "message", "m2", [0.0, 1.0, 0.0], agent_id="a1")
        found = await aio.vector.knn_search(adb, [0.9, 0.1, 0.0], 1)
        assert [r.content_id for r in found] == ["m1"]
        assert await aio.vector.warm_vector_cache(adb) == 2

    _run(main, sync_db)


def test_global_db(tmp_path: Path) -> None:
    async def main() -> None:
        async with await aio.AsyncGlobalDb.open(tmp_path / "data") as g:
            user = await g.create_user("alice")
            entry = await g.create_constellation(user.id, "home")
            adb = await g.open_constellation(entry.id)
            async with adb:
                await queries.agent.create_agent(adb, _agent())
                assert [a.id for a in await queries.agent.list_agents(adb)] == ["a1"]
            assert [c.name for c in await g.list_constellations(user.id)] == ["home"]
            assert g.backend == "sqlite"
        with pytest.raises(DatabaseClosed):
            await g.list_users()

    asyncio.run(main())


def test_the_module_level_open_and_example(tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with await aio.open(tmp_path / "c.db") as adb:
            await queries.agent.create_agent(adb, _agent())
            async with adb.transaction() as tx:
                await queries.message.create_message(tx, _message("remember the dentist"))
            return await aio.fts.search_all(adb, "dentist", "a1")

    assert len(asyncio.run(main())) == 1


def test_a_call_cancelled_while_it_waits_does_not_run(sync_db: ConstellationDb) -> None:
    async def main(adb: AsyncConstellationDb) -> None:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with adb.transaction():
                inside.set()
                await release.wait()

        first = asyncio.create_task(holder())
        await inside.wait()
        waiting = asyncio.create_task(queries.message.create_message(adb, _message("never")))
        for _ in range(5):
            await asyncio.sleep(0)
        waiting.cancel()
        release.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await queries.message.count_messages(adb, "a1") == 0

    _run(main, sync_db)


def test_the_langgraph_store_writes_on_the_handles_worker(sync_db: ConstellationDb) -> None:
    pytest.importorskip("langgraph")
    from pattern_db.integrations.langgraph import PatternStore

    threads = _writer_threads(sync_db)
    store = PatternStore(sync_db)

    async def main(adb: AsyncConstellationDb) -> None:
        await store.aput(("notes",), "k1", {"text": "dentist"})
        await queries.message.create_message(adb, _message("alongside"))
        item = await store.aget(("notes",), "k1")
        assert item is not None
        worker = worker_of(sync_db).thread
        assert worker is not None
        assert threads == {worker.ident}

    _run(main, sync_db)
    store.close()

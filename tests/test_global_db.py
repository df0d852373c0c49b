"""The global database on both backends: users, passwords, identities, tokens, the registry."""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import (
    AlreadyExists,
    ConstraintViolation,
    CorruptDatabase,
    DatabaseClosed,
    DbError,
    InvalidData,
    MigrationError,
    NotFound,
)
from pattern_db.global_db import GlobalDb, NotOnThisNode, PasswordParams
from tests.global_support import NODE, Target, g_fixture, target_fixture  # noqa: F401

CANONICAL_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
TOKEN = "ya29.a0-SECRET-ACCESS-TOKEN-4f1c9e"
REFRESH = "1//0g-SECRET-REFRESH-TOKEN-77aa"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- opening ----------------------------------------------------------------------------------


def test_open_creates_a_private_data_directory(target: Target) -> None:
    with target.open() as g:
        assert g.schema_version() == 1
        assert g.backend == target.kind
        assert g.node == NODE
        assert g.data_dir == target.data_dir
        if target.kind == "sqlite":
            assert g.location == str(target.data_dir / "global.db")
            assert mode(target.data_dir / "global.db") == 0o600
            g.create_user("alice")  # the WAL exists while the handle is open
            assert mode(target.data_dir / "global.db-wal") == 0o600
            assert mode(target.data_dir / "global.db-shm") == 0o600
        else:
            assert g.location.startswith("postgresql://postgres@")
    assert mode(target.data_dir) == 0o700


def test_reopening_keeps_everything(target: Target) -> None:
    with target.open() as g:
        alice = g.create_user("alice", email="alice@example.org")
    with target.open() as g:
        assert g.get_user(alice.id) == alice
        assert g.schema_version() == 1


def test_create_false_refuses_a_missing_database(target: Target) -> None:
    with pytest.raises(DbError, match="create it with"):
        target.open(create=False)
    if target.kind == "sqlite":
        assert not target.data_dir.exists()
    target.open().close()
    target.open(create=False).close()


def test_a_data_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "global.db").write_bytes(b"")
    with pytest.raises(InvalidData, match="is not a directory; pass the data directory"):
        GlobalDb.open(tmp_path / "global.db")
    with pytest.raises(InvalidData, match="is not a directory"):
        GlobalDb.open("postgresql://localhost/x", data_dir=tmp_path / "global.db")


def test_a_closed_handle_refuses_calls(target: Target) -> None:
    g = target.open()
    g.close()
    g.close()
    with pytest.raises(DatabaseClosed):
        g.list_users()


def test_server_mode_needs_a_data_dir() -> None:
    with pytest.raises(InvalidData, match="server mode needs data_dir"):
        GlobalDb.open("postgresql://localhost/pattern")


def test_an_unreachable_server_is_one_clear_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://bob:hunter2@{str(tmp_path).replace('/', '%2F')}:5999/nothing"
    with pytest.raises(DbError) as caught:
        GlobalDb.open(url, data_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("cannot connect to PostgreSQL at postgresql://bob@")
    assert "check the URL and that the server is running" in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_importing_the_package_loads_no_crypto_or_driver() -> None:
    code = (
        "import sys, pattern_db, pattern_db.cli, pattern_db.global_db;"
        "print(sorted(m for m in ('argon2', 'cryptography', 'psycopg') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- users and passwords ----------------------------------------------------------------------


def test_create_and_look_up_users(g: GlobalDb) -> None:
    bob = g.create_user("bob")
    alice = g.create_user("Alice", email="alice@example.org", password="correct horse")
    assert alice.id.startswith("user_")
    assert alice.has_password is True
    assert bob.has_password is False
    assert alice.created_at.tzinfo is UTC
    assert g.get_user(alice.id) == alice
    assert g.get_user_by_username("alice") == alice  # case-insensitive
    assert g.get_user_by_username("nobody") is None
    assert g.get_user("user_missing") is None
    assert [u.username for u in g.list_users()] == ["Alice", "bob"]


def test_usernames_and_emails_are_unique_ignoring_case(g: GlobalDb) -> None:
    g.create_user("alice", email="alice@example.org")
    with pytest.raises(AlreadyExists, match="user already exists: ALICE"):
        g.create_user("ALICE")
    with pytest.raises(AlreadyExists):
        g.create_user("alice2", email="Alice@Example.org")
    assert [u.username for u in g.list_users()] == ["alice"]


@pytest.mark.parametrize("username", ["", " alice", "al ice", "-x", "a" * 65, "a/b", "ä"])
def test_invalid_usernames_are_refused(g: GlobalDb, username: str) -> None:
    with pytest.raises(InvalidData, match="invalid username"):
        g.create_user(username)
    assert g.list_users() == []


def test_invalid_emails_and_empty_passwords_are_refused(g: GlobalDb) -> None:
    with pytest.raises(InvalidData, match="invalid email"):
        g.create_user("alice", email="not-an-email")
    with pytest.raises(InvalidData, match="the password is empty"):
        g.create_user("alice", password="")
    with pytest.raises(InvalidData, match="longer than 1024"):
        g.create_user("alice", password="x" * 1025)
    assert g.list_users() == []


def test_verify_password_accepts_the_right_one_and_refuses_the_rest(g: GlobalDb) -> None:
    g.create_user("alice", password="correct horse")
    g.create_user("bob")  # no password: OAuth only
    assert g.verify_password("alice", "correct horse") is True
    assert g.verify_password("ALICE", "correct horse") is True
    assert g.verify_password("alice", "correct horse ") is False
    assert g.verify_password("alice", "Correct horse") is False
    assert g.verify_password("alice", "") is False
    assert g.verify_password("bob", "") is False
    assert g.verify_password("bob", "anything") is False
    assert g.verify_password("carol", "correct horse") is False


def test_the_stored_hash_is_argon2id_never_the_password(g: GlobalDb, target: Target) -> None:
    g.create_user("alice", password="correct horse")
    [(stored,)] = target.raw("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert "correct horse" not in stored
    g.create_user("bob", password="correct horse")
    hashes = {row[0] for row in target.raw("SELECT password_hash FROM users")}
    assert len(hashes) == 2  # salted


def test_default_parameters_are_argon2_cffis(tmp_path: Path) -> None:
    with GlobalDb.open(tmp_path / "data") as g:
        g.create_user("alice", password="pw")
        assert g.verify_password("alice", "pw") is True
    target = Target("sqlite", str(tmp_path / "data"), tmp_path / "data")
    [(stored,)] = target.raw("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_with_old_parameters_is_rehashed_on_login(target: Target) -> None:
    with target.open() as g:
        g.create_user("alice", password="correct horse")
    stronger = PasswordParams(time_cost=2, memory_cost=2048, parallelism=1)
    with target.open(password_params=stronger) as g:
        assert g.verify_password("alice", "wrong") is False
        [(kept,)] = target.raw("SELECT password_hash FROM users")
        assert kept.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # no re-hash on failure
        assert g.verify_password("alice", "correct horse") is True
        [(stored,)] = target.raw("SELECT password_hash FROM users")
        assert stored.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
        assert g.verify_password("alice", "correct horse") is True
    with target.open() as g:  # the old parameters still verify the new hash
        assert g.verify_password("alice", "correct horse") is True


def test_invalid_password_parameters_are_refused(target: Target) -> None:
    with pytest.raises(InvalidData, match="invalid argon2 parameters"):
        target.open(password_params=PasswordParams(time_cost=0))


def test_set_and_clear_a_password(g: GlobalDb) -> None:
    alice = g.create_user("alice", password="old")
    updated = g.set_password(alice.id, "new")
    assert updated.has_password is True
    assert updated.updated_at >= alice.updated_at
    assert g.verify_password("alice", "old") is False
    assert g.verify_password("alice", "new") is True
    assert g.set_password(alice.id, None).has_password is False
    assert g.verify_password("alice", "new") is False
    with pytest.raises(NotFound, match="user not found: user_missing"):
        g.set_password("user_missing", "x")


def test_delete_user_removes_identities_but_not_while_owning(g: GlobalDb, target: Target) -> None:
    alice = g.create_user("alice")
    identity = g.add_identity(alice.id, "github", "42", access_token=TOKEN)
    home = g.create_constellation(alice.id, "home")
    with pytest.raises(ConstraintViolation, match="user alice owns 1 constellation"):
        g.delete_user(alice.id)
    assert g.get_user(alice.id) == alice
    g.remove_constellation(home.id)
    assert g.delete_user(alice.id) == alice
    assert g.get_user(alice.id) is None
    assert g.get_identity(identity.id) is None
    assert target.raw("SELECT count(*) FROM identities") == [(0,)]
    with pytest.raises(NotFound):
        g.delete_user(alice.id)


def test_timestamps_are_canonical_text_in_sqlite(tmp_path: Path) -> None:
    target = Target("sqlite", str(tmp_path / "data"), tmp_path / "data")
    with target.open() as g:
        alice = g.create_user("alice")
        g.create_constellation(alice.id, "home")
    [(created, updated)] = target.raw("SELECT created_at, updated_at FROM users")
    assert CANONICAL_TS.match(created)
    assert created == updated
    [(c_created,)] = target.raw("SELECT created_at FROM constellations")
    assert CANONICAL_TS.match(c_created)


# -- identities and tokens --------------------------------------------------------------------


def test_identities_keep_tokens_encrypted_and_return_them_on_request(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    expires = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    added = g.add_identity(alice.id, "github", "1234", TOKEN, REFRESH, expires)
    assert added.has_access_token is True
    assert added.access_token is None
    plain = g.get_identity(added.id)
    assert plain == added
    full = g.get_identity(added.id, with_tokens=True)
    assert full is not None
    assert (full.access_token, full.refresh_token, full.expires_at) == (TOKEN, REFRESH, expires)
    found = g.find_identity("github", "1234", with_tokens=True)
    assert found == full
    assert g.find_identity("github", "9999") is None
    assert g.list_identities(alice.id) == [added]


def test_the_raw_database_never_contains_a_token(target: Target) -> None:
    with target.open() as g:
        alice = g.create_user("alice")
        g.add_identity(alice.id, "google", "g-1", access_token=TOKEN, refresh_token=REFRESH)
        g.add_identity(alice.id, "github", "gh-1", access_token=TOKEN)
        if target.kind == "sqlite":
            files = sorted(target.data_dir.glob("global.db*"))
            assert [f.name for f in files] == ["global.db", "global.db-shm", "global.db-wal"]
            for file in files:
                raw = file.read_bytes()
                assert TOKEN.encode() not in raw
                assert REFRESH.encode() not in raw
    rows = target.raw("SELECT access_token, refresh_token FROM identities ORDER BY provider")
    stored = [bytes(value) for row in rows for value in row if value is not None]
    assert len(stored) == 3
    assert all(TOKEN.encode() not in v and REFRESH.encode() not in v for v in stored)
    # A fresh nonce per value: the same token twice gives two different ciphertexts.
    assert bytes(rows[0][0]) != bytes(rows[1][0])
    if target.kind == "sqlite":
        assert TOKEN.encode() not in (target.data_dir / "global.db").read_bytes()


def test_the_key_file_is_made_0600_on_first_use_outside_the_database(target: Target) -> None:
    key = target.data_dir / "global.key"
    with target.open() as g:
        alice = g.create_user("alice")
        g.add_identity(alice.id, "github", "1")  # no token: no key needed yet
        assert not key.exists()
        g.add_identity(alice.id, "google", "2", access_token=TOKEN)
        assert g.key_path == key
    assert mode(key) == 0o600
    assert len(key.read_bytes()) == 32


def test_a_custom_key_path_and_the_wrong_key(target: Target, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "tokens.key"
    with target.open(key_path=key) as g:
        alice = g.create_user("alice")
        identity = g.add_identity(alice.id, "github", "1", access_token=TOKEN)
    assert len(key.read_bytes()) == 32
    assert not (target.data_dir / "global.key").exists()
    with target.open() as g:  # the default key file: a different, new key
        assert g.get_identity(identity.id) is not None  # metadata needs no key
        with pytest.raises(DbError, match="is not the key it was encrypted with"):
            g.get_identity(identity.id, with_tokens=True)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(g: GlobalDb, target: Target) -> None:
    alice = g.create_user("alice")
    first = g.add_identity(alice.id, "github", "1", access_token=TOKEN)
    second = g.add_identity(alice.id, "google", "2", access_token="other-token")
    target.raw_execute(
        "UPDATE identities SET access_token = "
        f"(SELECT access_token FROM identities WHERE id = '{first.id}') WHERE id = '{second.id}'"
    )
    with pytest.raises(DbError, match="cannot decrypt the token of identity:"):
        g.get_identity(second.id, with_tokens=True)


def test_callers_creating_the_key_at_once_share_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pattern_db.global_db._tokens import load_or_create_key

    path = tmp_path / "keys" / "global.key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_or_create_key(path), range(32)))
    assert len(keys) == 1
    assert [p.name for p in path.parent.iterdir()] == ["global.key"]  # no temp files left


def test_a_key_file_others_can_read_is_refused(target: Target) -> None:
    with target.open() as g:
        alice = g.create_user("alice")
        g.add_identity(alice.id, "github", "1", access_token=TOKEN)
    key = target.data_dir / "global.key"
    key.chmod(0o644)
    with target.open() as g, pytest.raises(InvalidData, match="chmod 600"):
        g.find_identity("github", "1", with_tokens=True)


def test_identity_errors(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    g.add_identity(alice.id, "github", "1")
    with pytest.raises(AlreadyExists, match="identity already exists: github:1"):
        g.add_identity(alice.id, "github", "1")
    with pytest.raises(NotFound, match="user not found"):
        g.add_identity("user_missing", "github", "2")
    with pytest.raises(InvalidData, match="invalid provider"):
        g.add_identity(alice.id, "git hub", "3")
    with pytest.raises(InvalidData, match="naive datetime"):
        g.add_identity(alice.id, "github", "4", expires_at=datetime(2030, 1, 1))
    with pytest.raises(InvalidData, match="access token"):
        g.add_identity(alice.id, "github", "5", access_token="")
    assert [i.provider_id for i in g.list_identities(alice.id)] == ["1"]


def test_update_and_remove_identity_tokens(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    identity = g.add_identity(alice.id, "github", "1", access_token=TOKEN, refresh_token=REFRESH)
    later = datetime(2031, 5, 6, tzinfo=UTC)
    updated = g.update_identity_tokens(identity.id, "new-access", REFRESH, later)
    assert (updated.has_access_token, updated.expires_at) == (True, later)
    full = g.get_identity(identity.id, with_tokens=True)
    assert full is not None
    assert (full.access_token, full.refresh_token) == ("new-access", REFRESH)
    cleared = g.update_identity_tokens(identity.id, None)
    assert (cleared.has_access_token, cleared.has_refresh_token) == (False, False)
    g.remove_identity(identity.id)
    assert g.list_identities(alice.id) == []
    with pytest.raises(NotFound):
        g.remove_identity(identity.id)
    with pytest.raises(NotFound):
        g.update_identity_tokens(identity.id, "x")


# -- the constellation registry ---------------------------------------------------------------


def test_create_constellation_registers_and_creates_a_private_file(
    g: GlobalDb, target: Target
) -> None:
    alice = g.create_user("alice")
    home = g.create_constellation(alice.id, "home")
    assert home.id.startswith("const_")
    assert home.path == f"constellations/{home.id}/pattern.db"
    assert (home.node, home.owner_id, home.last_accessed_at) == (NODE, alice.id, None)
    file = target.data_dir / home.path
    assert mode(file) == 0o600
    assert mode(file.parent) == 0o700
    assert mode(target.data_dir / "constellations") == 0o700
    assert g.constellation_path(home.id) == file.resolve()
    assert g.get_constellation(home.id) == home
    assert g.find_constellation(alice.id, "home") == home
    assert g.find_constellation(alice.id, "work") is None


def test_open_constellation_updates_last_accessed_at(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    home = g.create_constellation(alice.id, "home")
    with g.open_constellation(home.id) as db:
        assert isinstance(db, ConstellationDb)
        assert db.schema_version() > 0
    first = g.get_constellation(home.id)
    assert first is not None
    assert first.last_accessed_at is not None
    assert first.last_accessed_at >= home.created_at
    with g.open_constellation(home.id):
        pass
    second = g.get_constellation(home.id)
    assert second is not None
    assert second.last_accessed_at is not None
    assert second.last_accessed_at >= first.last_accessed_at
    assert second.updated_at == home.updated_at


def test_list_constellations_by_owner(g: GlobalDb) -> None:
    alice, bob = g.create_user("alice"), g.create_user("bob")
    a1 = g.create_constellation(alice.id, "home", create_file=False)
    b1 = g.create_constellation(bob.id, "home", create_file=False)
    a2 = g.create_constellation(alice.id, "work", create_file=False)
    assert [c.id for c in g.list_constellations()] == [a1.id, b1.id, a2.id]
    assert [c.id for c in g.list_constellations(alice.id)] == [a1.id, a2.id]
    assert g.list_constellations("user_missing") == []


def test_constellation_names_are_unique_per_owner(g: GlobalDb, target: Target) -> None:
    alice = g.create_user("alice")
    g.create_constellation(alice.id, "home")
    with pytest.raises(AlreadyExists, match="constellation already exists: home"):
        g.create_constellation(alice.id, "home")
    with pytest.raises(NotFound, match="user not found"):
        g.create_constellation("user_missing", "home")
    with pytest.raises(InvalidData, match="invalid constellation name"):
        g.create_constellation(alice.id, " home")
    assert len(g.list_constellations()) == 1
    assert len(list((target.data_dir / "constellations").iterdir())) == 1


def test_a_missing_file_is_refused_unless_created(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    entry = g.create_constellation(alice.id, "home", create_file=False)
    with pytest.raises(DbError, match=r"is missing at .*restore it"):
        g.open_constellation(entry.id)
    with g.open_constellation(entry.id, create=True) as db:
        assert db.schema_version() > 0
    with pytest.raises(NotFound, match="constellation not found: const_missing"):
        g.open_constellation("const_missing")


def test_register_an_existing_file_inside_the_data_directory(g: GlobalDb, target: Target) -> None:
    alice = g.create_user("alice")
    existing = target.data_dir / "imports" / "old.db"
    ConstellationDb.open(existing).close()
    by_relative = g.create_constellation(alice.id, "old", path="imports/old.db")
    assert by_relative.path == "imports/old.db"
    with pytest.raises(AlreadyExists):  # the same file on the same node, by its absolute path
        g.create_constellation(alice.id, "again", path=existing)
    with g.open_constellation(by_relative.id) as db:
        assert db.path == existing.resolve()


def test_adopting_a_file_that_is_not_a_database_registers_nothing(
    g: GlobalDb, target: Target
) -> None:
    alice = g.create_user("alice")
    junk = target.data_dir / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(CorruptDatabase):
        g.create_constellation(alice.id, "junk", path="junk.db")
    assert g.list_constellations() == []
    assert junk.read_bytes() == b"not a database" * 100  # never deleted


def test_paths_escaping_the_data_directory_are_refused(g: GlobalDb, tmp_path: Path) -> None:
    alice = g.create_user("alice")
    outside = tmp_path / "outside"
    outside.mkdir()
    (g.data_dir / "link").symlink_to(outside)
    for path, message in [
        ("../outside/a.db", "contains '..'"),
        ("constellations/../../outside/a.db", "contains '..'"),
        (str(outside / "a.db"), "is outside the data directory"),
        ("link/a.db", "through a symlink"),
    ]:
        with pytest.raises(InvalidData, match=re.escape(message)):
            g.create_constellation(alice.id, "escape", path=path)
    assert g.list_constellations() == []
    assert list(outside.iterdir()) == []


def test_a_symlink_planted_after_registration_is_refused_on_open(
    g: GlobalDb, tmp_path: Path
) -> None:
    alice = g.create_user("alice")
    home = g.create_constellation(alice.id, "home")
    folder = g.data_dir / "constellations" / home.id
    outside = tmp_path / "outside"
    folder.rename(outside)
    folder.symlink_to(outside)
    with pytest.raises(InvalidData, match=r"outside the data directory .*through a symlink"):
        g.open_constellation(home.id)
    with pytest.raises(InvalidData):
        g.constellation_path(home.id)
    entry = g.get_constellation(home.id)
    assert entry is not None
    assert entry.last_accessed_at is None


def test_a_constellation_of_another_node_is_refused_until_moved(target: Target) -> None:
    with target.open() as a, target.open(node="node-b") as b:
        alice = a.create_user("alice")
        home = a.create_constellation(alice.id, "home")
        with pytest.raises(NotOnThisNode, match="held by node 'node-a', this is node 'node-b'"):
            b.open_constellation(home.id)
        with pytest.raises(NotOnThisNode):
            b.remove_constellation(home.id, delete_files=True)
        moved = b.move_constellation(home.id, "node-b")
        assert moved.node == "node-b"
        assert moved.updated_at > home.updated_at
        with b.open_constellation(home.id) as db:
            assert db.schema_version() > 0
        with pytest.raises(NotOnThisNode, match="held by node 'node-b'"):
            a.open_constellation(home.id)
        with pytest.raises(InvalidData, match="invalid node name"):
            a.move_constellation(home.id, "bad node")
        with pytest.raises(NotFound):
            a.move_constellation("const_missing", "node-a")


def test_register_on_another_node_creates_no_file(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    remote = g.create_constellation(alice.id, "remote", node="node-z")
    assert remote.node == "node-z"
    assert not (g.data_dir / remote.path).exists()


def test_remove_constellation_keeps_or_deletes_files(g: GlobalDb) -> None:
    alice = g.create_user("alice")
    keep = g.create_constellation(alice.id, "keep")
    drop = g.create_constellation(alice.id, "drop")
    assert g.remove_constellation(keep.id) == keep
    assert (g.data_dir / keep.path).is_file()
    assert g.remove_constellation(drop.id, delete_files=True) == drop
    assert not (g.data_dir / drop.path).parent.exists()
    assert g.list_constellations() == []
    with pytest.raises(NotFound):
        g.remove_constellation(drop.id)


# -- migrations -------------------------------------------------------------------------------


def test_an_edited_migration_is_refused(target: Target) -> None:
    target.open().close()
    target.raw_execute("UPDATE pattern_db_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(MigrationError, match="was edited after it was applied"):
        target.open()


def test_a_newer_schema_is_refused(target: Target) -> None:
    target.open().close()
    target.raw_execute(
        "INSERT INTO pattern_db_migrations (version, name, checksum, applied_at, execution_ms) "
        "VALUES (99, 'future', 'x', '2030-01-01T00:00:00.000000Z', 0)"
    )
    with pytest.raises(MigrationError, match="upgrade pattern-db"):
        target.open()


def test_postgres_runner_applies_in_order_and_rolls_back_a_failure(pg_url: str) -> None:
    import psycopg

    from pattern_db import migrate
    from pattern_db.global_db import _postgres_migrate as runner

    good = ("0001_a.sql", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);")
    bad = ("0002_b.sql", "CREATE TABLE b (x INTEGER); SELECT * FROM no_such_table;")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(MigrationError, match="0002_b failed and was rolled back"):
            runner.apply_migrations(conn, migrate.parse_migrations([bad, good]))
        assert [m.version for m in runner.applied_migrations(conn)] == [1]
        assert conn.execute("SELECT to_regclass('b') IS NULL").fetchone() == (True,)
        fixed = ("0002_b.sql", "CREATE TABLE b (x INTEGER);")
        applied = runner.apply_migrations(conn, migrate.parse_migrations([good, fixed]))
        assert [m.version for m in applied] == [2]
        assert runner.apply_migrations(conn, migrate.parse_migrations([good, fixed])) == []
        assert runner.current_version(conn) == 2


# -- concurrency ------------------------------------------------------------------------------

REGISTRATIONS = 200


def _register_many(target: Target, proc: int, start: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    with target.open() as g:  # both processes create and migrate the database at once
        owner = g.create_user(f"owner{proc}")
        for i in range(REGISTRATIONS):
            g.create_constellation(owner.id, f"c{i:03d}")


def test_two_processes_registering_at_once_lose_nothing(target: Target) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_register_many, args=(target, proc, start)) for proc in (0, 1)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=600)
    assert [w.exitcode for w in workers] == [0, 0]
    with target.open() as g:
        entries = g.list_constellations()
        assert len(entries) == 2 * REGISTRATIONS
        assert len({c.id for c in entries}) == 2 * REGISTRATIONS
        for proc in (0, 1):
            owner = g.get_user_by_username(f"owner{proc}")
            assert owner is not None
            names = [c.name for c in g.list_constellations(owner.id)]
            assert sorted(names) == [f"c{i:03d}" for i in range(REGISTRATIONS)]
    files = list((target.data_dir / "constellations").glob("*/pattern.db"))
    assert len(files) == 2 * REGISTRATIONS
    assert os.path.getsize(files[0]) > 0

"""The constellation registry: which user owns which constellation, which node holds its file.

Registration and file creation are two steps: the entry is inserted in one transaction (so two
processes registering at once both succeed or clash cleanly on a unique name), then the file is
created outside it; if creating the file fails, the entry is taken back. Paths are confined to
the data directory every time they are used, not only when registered.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pattern_db.errors import DbError, NotFound
from pattern_db.global_db import _layout as layout
from pattern_db.global_db._backend import Row
from pattern_db.global_db._base import Handle
from pattern_db.global_db._checks import check_constellation_name, check_node
from pattern_db.global_db.models import Constellation
from pattern_db.ids import new_id
from pattern_db.timeutil import now, parse_ts

if TYPE_CHECKING:
    from pattern_db.connection import ConstellationDb

__all__ = ["NotOnThisNode", "Registry"]


class NotOnThisNode(DbError):
    """The constellation's file is held by another node of the deployment."""

    def __init__(self, constellation_id: str, holder: str, here: str) -> None:
        self.constellation_id = constellation_id
        self.holder = holder
        self.here = here
        super().__init__(
            f"constellation {constellation_id} is held by node {holder!r}, this is node "
            f"{here!r}; open it on {holder!r}, or copy its file here and run "
            f"`pattern-db constellations move {constellation_id} {here}`"
        )


class Registry(Handle):
    """Create, find, list, open, move and remove constellations."""

    def create_constellation(
        self,
        owner_id: str,
        name: str,
        *,
        path: str | os.PathLike[str] | None = None,
        node: str | None = None,
        create_file: bool = True,
    ) -> Constellation:
        """Register a constellation and create its database file; return the entry.

        The file goes to `data_dir/constellations/<id>/pattern.db` unless `path` (inside the
        data directory; an existing constellation file there is adopted and migrated) says
        otherwise. `node` records which machine holds it (default: this one); the file is
        created only on this node and only with `create_file`.

        Raises:
            InvalidData: a bad name or node, or a path outside the data directory.
            NotFound: no user has this id.
            AlreadyExists: the owner has a constellation of this name, or the path is taken.
        """
        check_constellation_name(name)
        holder = self._node if node is None else check_node(node)
        constellation_id = new_id("const")
        relative = (
            layout.default_constellation_path(constellation_id)
            if path is None
            else layout.relative_registry_path(self._data_dir, path)
        )
        stamp = now()
        entry = Constellation(
            id=constellation_id,
            owner_id=owner_id,
            name=name,
            path=relative,
            node=holder,
            created_at=stamp,
            updated_at=stamp,
        )
        params = {
            "id": constellation_id,
            "owner_id": owner_id,
            "name": name,
            "path": relative,
            "node": holder,
            "created_at": self._ts(stamp),
            "updated_at": self._ts(stamp),
            "last_accessed_at": None,
        }
        with self._tx(write=True, entity_type="constellation", entity_id=name) as conn:
            if conn.one(self._sql.user_by_id, {"id": owner_id}) is None:
                raise NotFound("user", owner_id)
            conn.execute(self._sql.insert_constellation, params)
        if create_file and holder == self._node:
            try:
                self._create_file(entry)
            except BaseException:
                # Without its file the entry would point at nothing: take it back.
                with self._tx(write=True) as conn:
                    conn.execute(self._sql.delete_constellation, {"id": constellation_id})
                raise
        return entry

    def _create_file(self, entry: Constellation) -> None:
        from pattern_db.connection import ConstellationDb

        file_path = layout.resolve_registry_path(self._data_dir, entry.path)
        created = layout.create_private_file(file_path)
        try:
            ConstellationDb.open(file_path).close()
        except BaseException:
            if created:  # never delete a file this call did not make
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{file_path}{suffix}").unlink(missing_ok=True)
            raise

    def get_constellation(self, constellation_id: str) -> Constellation | None:
        """Return a registry entry, or None."""
        with self._tx(write=False) as conn:
            row = conn.one(self._sql.constellation_by_id, {"id": constellation_id})
        return None if row is None else _constellation(row)

    def find_constellation(self, owner_id: str, name: str) -> Constellation | None:
        """Return the owner's constellation of this name, or None."""
        with self._tx(write=False) as conn:
            row = conn.one(self._sql.constellation_by_name, {"owner_id": owner_id, "name": name})
        return None if row is None else _constellation(row)

    def list_constellations(self, owner_id: str | None = None) -> list[Constellation]:
        """Return every registry entry (or one owner's), oldest first."""
        with self._tx(write=False) as conn:
            if owner_id is None:
                rows = conn.all(self._sql.list_constellations, {})
            else:
                rows = conn.all(self._sql.constellations_of_owner, {"owner_id": owner_id})
        return [_constellation(row) for row in rows]

    def constellation_path(self, constellation_id: str) -> Path:
        """Return where this node finds a constellation's file (confined to the data directory).

        Raises:
            NotFound: no such constellation.
            InvalidData: its path leads out of the data directory.
        """
        entry = self._require_constellation(constellation_id)
        return layout.resolve_registry_path(self._data_dir, entry.path)

    def open_constellation(
        self, constellation_id: str, *, create: bool = False, migrate: bool = True
    ) -> ConstellationDb:
        """Open a constellation held by this node and record the access time.

        A missing file is an error (restore it) unless `create` asks for a new one.

        Raises:
            NotFound: no such constellation.
            NotOnThisNode: another node holds it.
            InvalidData: its path leads out of the data directory (`..` or a symlink).
            DbError: its file is missing.
        """
        from pattern_db.connection import ConstellationDb

        entry = self._require_constellation(constellation_id)
        if entry.node != self._node:
            raise NotOnThisNode(constellation_id, entry.node, self._node)
        file_path = layout.resolve_registry_path(self._data_dir, entry.path)
        if not file_path.is_file():
            if not create:
                raise DbError(
                    f"the file of constellation {constellation_id} is missing at {file_path}; "
                    "restore it (`pattern-db restore BACKUP "
                    f"{file_path}`) or remove the entry (`pattern-db constellations remove "
                    f"{constellation_id}`)"
                )
            layout.make_private_dir(file_path.parent)
            layout.create_private_file(file_path)
        db = ConstellationDb.open(file_path, migrate=migrate)
        try:
            with self._tx(write=True) as conn:
                conn.execute(
                    self._sql.touch_constellation,
                    {"id": constellation_id, "last_accessed_at": self._ts(now())},
                )
        except BaseException:
            db.close()
            raise
        return db

    def move_constellation(self, constellation_id: str, node: str) -> Constellation:
        """Record that `node` now holds a constellation's file; return the updated entry.

        Copy the file to the new node first (same relative path under its data directory).

        Raises:
            InvalidData: a bad node name.
            NotFound: no such constellation.
            AlreadyExists: that node already has an entry with the same path.
        """
        check_node(node)
        params = {"id": constellation_id, "node": node, "updated_at": self._ts(now())}
        with self._tx(write=True, entity_type="constellation", entity_id=constellation_id) as conn:
            if not conn.execute(self._sql.set_constellation_node, params):
                raise NotFound("constellation", constellation_id)
            row = conn.one(self._sql.constellation_by_id, {"id": constellation_id})
        assert row is not None
        return _constellation(row)

    def remove_constellation(
        self, constellation_id: str, *, delete_files: bool = False
    ) -> Constellation:
        """Remove a registry entry (and with `delete_files`, its files); return the entry.

        Files are kept by default. With `delete_files` the entry must be held by this node;
        its database file with its `-wal`/`-shm` files goes, and for the default layout its
        whole `constellations/<id>/` directory (pre-migration backups included).

        Raises:
            NotFound: no such constellation.
            NotOnThisNode: `delete_files` and another node holds it.
            InvalidData: `delete_files` and its path leads out of the data directory.
        """
        entry = self._require_constellation(constellation_id)
        file_path: Path | None = None
        if delete_files:
            if entry.node != self._node:
                raise NotOnThisNode(constellation_id, entry.node, self._node)
            file_path = layout.resolve_registry_path(self._data_dir, entry.path)
        with self._tx(write=True) as conn:
            if not conn.execute(self._sql.delete_constellation, {"id": constellation_id}):
                raise NotFound("constellation", constellation_id)
        if file_path is not None:
            # After the entry is gone: a failure here leaves stray files, never a dangling entry.
            if entry.path == layout.default_constellation_path(entry.id):
                shutil.rmtree(file_path.parent, ignore_errors=True)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{file_path}{suffix}").unlink(missing_ok=True)
        return entry

    def _require_constellation(self, constellation_id: str) -> Constellation:
        entry = self.get_constellation(constellation_id)
        if entry is None:
            raise NotFound("constellation", constellation_id)
        return entry


def _constellation(row: Row) -> Constellation:
    return Constellation(
        id=row[0],
        owner_id=row[1],
        name=row[2],
        path=row[3],
        node=row[4],
        created_at=parse_ts(row[5]),
        updated_at=parse_ts(row[6]),
        last_accessed_at=None if row[7] is None else parse_ts(row[7]),
    )

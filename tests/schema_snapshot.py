"""Print the schema of a fresh database, the text tests/schema_snapshot.sql is compared with.

Run `make schema-snapshot` after a deliberate schema change and review the diff.
"""

from __future__ import annotations

from pattern_db import ConstellationDb


def schema_text(db: ConstellationDb) -> str:
    """Return every table, index, trigger and view of `db` as sorted SQL (FTS shadow tables too)."""
    with db.reader() as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_schema "
            "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    return "".join(f"-- {kind} {name}\n{sql};\n\n" for kind, name, sql in rows)


if __name__ == "__main__":
    with ConstellationDb.open_in_memory() as handle:
        print(schema_text(handle), end="")

"""The `verify` command: every check of a constellation file, as a report table or JSON.

The file checks are `maintenance.verify_checks`; this adds how much waits to be embedded by the
model `pattern-db index` uses, a warning (not a failure) unless --strict.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from pattern_db.cli._app import DbPath, JsonFlag, app, out, print_json
from pattern_db.cli.database import open_existing
from pattern_db.connection import ConstellationDb
from pattern_db.errors import CorruptDatabase, ExtensionError, NotAConstellation
from pattern_db.maintenance import Check, verify_checks

_STATUS_STYLE = {"ok": "green", "problem": "bold red", "warning": "yellow", "skipped": "dim"}


@app.command()
def verify(
    path: DbPath,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Fail on warnings too (content not yet embedded)."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check PATH's pages, foreign keys, migrations, full-text indexes, vectors and embeddings.

    Exit code 1 when a check finds a problem (or, with --strict, a warning).

    Example: pattern-db verify --json data/constellation.db
    """
    rows: list[dict[str, Any]]
    try:
        with open_existing(path) as db:
            rows = [_row(check) for check in verify_checks(db)]
            rows.append(_embeddings_row(db))
    except (CorruptDatabase, NotAConstellation) as exc:
        # The file itself is the problem: report it like any other finding.
        problem = f"file: {getattr(exc, 'detail', None) or exc}"
        rows = [{"name": "file", "status": "problem", "detail": str(path), "problems": [problem]}]
    problems = [p for r in rows if r["status"] == "problem" for p in r["problems"]]
    warnings = [p for r in rows if r["status"] == "warning" for p in r["problems"]]
    ok = not problems and not (strict and warnings)
    if as_json:
        print_json({"ok": ok, "problems": problems, "warnings": warnings, "checks": rows})
    else:
        _print(path.name, rows, ok)
    if not ok:
        raise typer.Exit(1)


def _row(check: Check) -> dict[str, Any]:
    status = "ok" if check.ok else "problem"
    return {
        "name": check.name,
        "status": status,
        "detail": check.detail,
        "problems": check.problems,
    }


def _embeddings_row(db: ConstellationDb) -> dict[str, Any]:
    """How many items wait for the local model's vectors (skipped without an index of it)."""
    from pattern_db import vector
    from pattern_db.embed import MODEL_ID, LocalEmbedder, pending_counts

    row: dict[str, Any] = {"name": "embeddings", "status": "skipped", "problems": []}
    meta = vector.get_index_config(db)
    if meta is None:
        row["detail"] = "not indexed (`pattern-db index` enables vector search)"
        return row
    if meta.model is not None and meta.model != MODEL_ID:
        row["detail"] = f"vectors made by {meta.model!r}, not by {MODEL_ID!r}: not checked"
        return row
    try:
        report = pending_counts(db, LocalEmbedder())
    except ExtensionError as exc:
        row["detail"] = f"not checked: {exc}"
        return row
    row["by_type"] = report.by_type
    total = sum(c.total for c in report.by_type.values())
    stale = sum(c.orphaned for c in report.by_type.values())
    row["detail"] = f"{total - report.pending} of {total} items current (local model)"
    if report.pending or stale:
        waiting = ", ".join(f"{n} {t}" for t, c in report.by_type.items() if (n := c.pending))
        row["status"] = "warning"
        if report.pending:
            row["problems"].append(
                f"embeddings: {report.pending} item(s) wait to be embedded ({waiting}); "
                "run `pattern-db index`"
            )
        if stale:
            row["problems"].append(
                f"embeddings: {stale} item(s) without text still have vectors; "
                "run `pattern-db index` to remove them"
            )
    else:
        row["status"] = "ok"
    return row


def _print(name: str, rows: list[dict[str, Any]], ok: bool) -> None:
    table = Table("check", "status", "detail", title=Text(f"verify {name}"), title_justify="left")
    for r in rows:
        table.add_row(
            r["name"], Text(r["status"], style=_STATUS_STYLE[r["status"]]), Text(r["detail"])
        )
    out.print(table)
    for r in rows:
        for line in r["problems"]:
            out.print(f"{r['status']}: {line}", markup=False, soft_wrap=True)
    warned = sum(len(r["problems"]) for r in rows if r["status"] == "warning")
    verdict = "problems found" if not ok else "ok" + (f" ({warned} warning(s))" if warned else "")
    out.print(f"{name}: {verdict}", markup=False)

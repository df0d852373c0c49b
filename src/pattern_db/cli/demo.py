"""The `demo` command: write a small demo constellation and show what it holds."""

from __future__ import annotations

from pattern_db.cli._app import DbPath, JsonFlag, OverwriteFlag, app, out, print_json


@app.command()
def demo(path: DbPath, overwrite: OverwriteFlag = False, as_json: JsonFlag = False) -> None:
    """Create a small demo constellation at PATH: agents, a memory block, messages.

    Example: pattern-db demo --overwrite demo-data/constellation.db
    """
    from pattern_db.demo import create_demo

    summary = create_demo(path, overwrite=overwrite)
    if as_json:
        print_json(summary)
        return
    out.print(f"demo constellation written to {path}", markup=False)
    for line in summary["lines"]:
        out.print(f"  {line}", markup=False)

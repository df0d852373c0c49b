"""Progress bars on stderr for long commands: one bar per stage, gone when the work is done.

Bars are drawn only on a terminal and never with --json: in a log file or a pipe a bar is noise
(and would leave a blank line before an error).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pattern_db.cli._app import err

__all__ = ["ProgressFn", "progress_bars", "shows_progress"]

# progress(stage, done, total): a bar per stage; `total` None shows a pulsing bar.
ProgressFn = Callable[[str, int, "int | None"], None]


def shows_progress(as_json: bool) -> bool:
    """True when bars would be drawn: stderr is a terminal and the output is not JSON."""
    return not as_json and err.is_terminal


@contextmanager
def progress_bars(
    as_json: bool, labels: dict[str, str] | None = None
) -> Iterator[ProgressFn | None]:
    """Yield a progress callback drawing bars on stderr, or None when bars are not shown.

    `labels` renames stages for display.
    """
    if not shows_progress(as_json):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}
    names = labels or {}

    def update(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(names.get(stage, stage), total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update

"""Memory: blocks, their checkpoints and deltas (with undo/redo), archival entries and sharing.

The storage layer never looks inside Loro data: it stores snapshots (zstd-compressed over a
threshold, returned exactly as given) and delta blobs numbered by a per-block seq. One module
per responsibility (`blocks`, `updates`, `archival`), every function importable from here.
"""

from pattern_db.queries.memory import archival, blocks, updates
from pattern_db.queries.memory.archival import *  # noqa: F403
from pattern_db.queries.memory.blocks import *  # noqa: F403
from pattern_db.queries.memory.updates import *  # noqa: F403

__all__ = [*archival.__all__, *blocks.__all__, *updates.__all__]

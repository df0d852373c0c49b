"""Importers and exporters: Pattern CAR files (v0-v3), Letta agent files, Rust pattern_db files.

Every import runs in one transaction and writes one `migration_audit` row; a dry run returns
the same report and writes nothing. Each function takes an optional `progress(stage, done,
total)` callback, so a user interface can show progress without the library knowing about it.
"""

from pattern_db.importers._report import ExportReport, ImportReport, Progress
from pattern_db.importers.car import export_car, import_car
from pattern_db.importers.letta import MAX_AF_BYTES, import_letta
from pattern_db.importers.rust_db import import_rust_db

__all__ = [
    "MAX_AF_BYTES",
    "ExportReport",
    "ImportReport",
    "Progress",
    "export_car",
    "import_car",
    "import_letta",
    "import_rust_db",
]

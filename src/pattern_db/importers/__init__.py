"""Importers and exporters: Pattern CAR files (v0-v3), Letta agent files, Rust pattern_db files.

Every import runs in one transaction and writes one `migration_audit` row; a dry run returns
the same report and writes nothing.
"""

from pattern_db.importers._report import ExportReport, ImportReport, Progress
from pattern_db.importers.car import export_car, import_car

__all__ = ["ExportReport", "ImportReport", "Progress", "export_car", "import_car"]

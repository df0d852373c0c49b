"""The import audit queries (`queries.import_audit`) under their other module name."""

from pattern_db.queries.import_audit import *  # noqa: F403
from pattern_db.queries.import_audit import __all__ as __all__

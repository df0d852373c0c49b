"""The import audit records (`models.import_audit`) under their other module name."""

from pattern_db.models.import_audit import *  # noqa: F403
from pattern_db.models.import_audit import __all__ as __all__

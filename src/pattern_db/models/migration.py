"""The import audit records under the Rust crate's module name (`models.import_audit`)."""

from pattern_db.models.import_audit import *  # noqa: F403
from pattern_db.models.import_audit import __all__ as __all__

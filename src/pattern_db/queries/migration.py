"""The import audit queries under the Rust crate's module name (`queries.import_audit`)."""

from pattern_db.queries.import_audit import *  # noqa: F403
from pattern_db.queries.import_audit import __all__ as __all__

"""Full-text search under the seed's name: everything of `pattern_db.search.fts`."""

from pattern_db.search.fts import *  # noqa: F403
from pattern_db.search.fts import __all__ as __all__

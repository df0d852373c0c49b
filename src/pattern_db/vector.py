"""Vector search under the seed's name: everything of `pattern_db.search.vector`."""

from pattern_db.search.vector import *  # noqa: F403
from pattern_db.search.vector import __all__ as __all__

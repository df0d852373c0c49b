"""The global database: users, OAuth identities and the registry of constellations.

Two backends behind one interface: an SQLite file in the data directory (the default, zero
setup) and PostgreSQL for server mode (extra `server`), where many processes and machines share
the registry and each entry records the node that holds the constellation's file.

Example:
    >>> from pattern_db.global_db import GlobalDb
    >>> with GlobalDb.open("data") as g:  # doctest: +SKIP
    ...     alice = g.create_user("alice", password="correct horse")
    ...     g.verify_password("alice", "correct horse")
    True

argon2, cryptography and psycopg are imported only when first needed.
"""

from pattern_db.global_db._core import GlobalDb
from pattern_db.global_db._registry import NotOnThisNode
from pattern_db.global_db.models import Constellation, Identity, PasswordParams, User

__all__ = ["Constellation", "GlobalDb", "Identity", "NotOnThisNode", "PasswordParams", "User"]

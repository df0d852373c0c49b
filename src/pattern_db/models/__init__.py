"""Record types and enums of every domain (msgspec Structs and str enums)."""

from pattern_db.models import (
    agent,
    content,
    coordination,
    event,
    folder,
    import_audit,
    memory,
    message,
    source,
    stats,
    task,
)
from pattern_db.models._base import RankedEnum, Record
from pattern_db.models.agent import *  # noqa: F403
from pattern_db.models.content import *  # noqa: F403
from pattern_db.models.coordination import *  # noqa: F403
from pattern_db.models.event import *  # noqa: F403
from pattern_db.models.folder import *  # noqa: F403
from pattern_db.models.import_audit import *  # noqa: F403
from pattern_db.models.memory import *  # noqa: F403
from pattern_db.models.message import *  # noqa: F403
from pattern_db.models.source import *  # noqa: F403
from pattern_db.models.stats import *  # noqa: F403
from pattern_db.models.task import *  # noqa: F403

__all__ = [
    "RankedEnum",
    "Record",
    *agent.__all__,
    *content.__all__,
    *coordination.__all__,
    *event.__all__,
    *folder.__all__,
    *memory.__all__,
    *message.__all__,
    *import_audit.__all__,
    *source.__all__,
    *stats.__all__,
    *task.__all__,
]

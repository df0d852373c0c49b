"""Plain query functions, one module per domain, each taking a db or a transaction first."""

from pattern_db.queries import (
    agent,
    atproto_endpoints,
    coordination,
    event,
    folder,
    import_audit,
    memory,
    message,
    migration,
    queue,
    source,
    stats,
    task,
)

__all__ = [
    "agent",
    "atproto_endpoints",
    "coordination",
    "event",
    "folder",
    "import_audit",
    "memory",
    "message",
    "migration",
    "queue",
    "source",
    "stats",
    "task",
]

"""The layout holds: layers import only downwards, API.md's names import, imports stay light."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pattern_db"

# docs/architecture.md: each module's layer; a module imports only from its layer or below.
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("errors", "timeutil", "ids", "_validate", "models", "demo_corpus")),
    (1, ("codec", "compression", "files", "_vec_loader", "migrate", "maintenance", "connection")),
    (1, ("_write_queue",)),
    (1, ("backup",)),
    (2, ("queries",)),
    (3, ("search", "fts", "vector", "ingest")),
    (4, ("memory_docs", "importers", "embed", "global_db")),
    (5, ("aio", "cli", "integrations", "demo", "demo_tour")),
]


def _layer(module: str) -> int:
    parts = module.split(".")
    assert parts[0] == "pattern_db", module
    if len(parts) == 1:
        return 99  # the package facade re-exports every layer
    for layer, names in LAYERS:
        if parts[1] in names:
            return layer
    raise AssertionError(f"module {module} has no layer in LAYERS (docs/architecture.md)")


def _module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every pattern_db module `path` imports, at module level or inside functions."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pattern_db"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if not base.startswith("pattern_db"):
                continue
            for alias in node.names:
                # `from pattern_db import fts` imports the module pattern_db.fts.
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_no_layer_imports_a_higher_one() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_of(path)
        if module == "pattern_db":
            continue
        mine = _layer(module)
        wrong.extend(
            f"{module} (layer {mine}) imports {imported}"
            for imported in _imports(path, module)
            if imported != "pattern_db" and _layer(imported) > mine
        )
    assert wrong == []


# API.md, section by section: every public name where it is documented.
API = {
    "pattern_db": "ConstellationDb GlobalDb models queries fts vector search errors",
    "pattern_db.errors": (
        "DbError NotFound AlreadyExists ConstraintViolation InvalidData ExtensionError "
        "DimensionMismatch MigrationError MigrationRequired ImportFailed"
    ),
    "pattern_db.models": (
        "Agent AgentGroup GroupMember MemoryBlock MemoryBlockCheckpoint MemoryBlockUpdate "
        "UpdateStats ArchivalEntry SharedBlockAttachment Message MessageSummary ArchiveSummary "
        "ActivityEvent AgentSummary ConstellationSummary NotableEvent CoordinationTask HandoffNote "
        "CoordinationState Event EventOccurrence Folder FolderFile FilePassage FolderAttachment "
        "DataSource AgentDataSource Task TaskSummary MigrationAudit MigrationLog MigrationIssue "
        "ModelRoutingConfig ModelRoutingRule AgentStatus"
    ),
    "pattern_db.ids": "new_id next_position",
    "pattern_db.queries": "agent memory message coordination event task folder source stats",
    "pattern_db.queries.agent": "create_agent get_agent",
    "pattern_db.queries.message": "create_message get_messages create_messages",
    "pattern_db.queries.memory": (
        "store_update get_checkpoint_and_updates get_updates_since has_updates_since "
        "consolidate_checkpoint get_pending_update_stats update_block_frontier "
        "get_block_version_info"
    ),
    "pattern_db.vector": (
        "ContentType init_sqlite_vec verify_sqlite_vec ensure_embeddings_table insert_embedding "
        "update_embedding delete_embeddings knn_search search_similar embedding_is_current "
        "get_embedding_stats VectorSearchResult"
    ),
    "pattern_db.fts": (
        "search_messages search_memory_blocks search_archival search_file_passages search_all "
        "validate_fts_query rebuild_messages_fts rebuild_all_fts get_fts_stats FtsMatch"
    ),
    "pattern_db.search": "search ContentFilter SearchMode FusionMethod SearchResult ScoreBreakdown",
    "pattern_db.memory_docs": "MemoryDocs LoroStorageConfig MemoryGate Allow RequireConsent Deny",
    "pattern_db.importers": "import_car import_letta export_car import_rust_db",
    "pattern_db.embed": "Embedder LocalEmbedder index_pending",
    "pattern_db.global_db": "GlobalDb",
}


@pytest.mark.parametrize("module", sorted(API))
def test_every_public_name_of_api_md_imports(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in API[module].split() if not hasattr(loaded, name)]
    assert missing == []


def test_connection_methods_of_api_md_exist() -> None:
    from pattern_db import ConstellationDb

    for name in [
        "open",
        "open_in_memory",
        "close",
        "health_check",
        "stats",
        "vacuum",
        "checkpoint",
        "backup",
        "capabilities",
        "schema_version",
        "transaction",
    ]:
        assert callable(getattr(ConstellationDb, name)), name


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_importing_the_package_and_the_cli_loads_nothing_heavy() -> None:
    result = _run(
        """
        import sys
        import pattern_db, pattern_db.cli
        heavy = ["numpy", "loro", "onnxruntime", "psycopg", "argon2", "cryptography",
                 "langgraph", "mcp", "libipld", "tokenizers"]
        print(",".join(m for m in heavy if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_keyword_search_works_where_numpy_cannot_be_imported(tmp_path: Path) -> None:
    result = _run(
        f"""
        import sys
        sys.modules["numpy"] = None  # any `import numpy` now raises ImportError
        from pattern_db import ConstellationDb, fts
        from pattern_db.models import Agent, Message
        from pattern_db.queries import agent, message
        from pattern_db.search import ContentFilter, search
        with ConstellationDb.open({str(tmp_path / "c.db")!r}) as db:
            agent.create_agent(db, Agent(id="a1", name="a", model_provider="p", model_name="m"))
            message.create_message(db, Message(agent_id="a1", content_json={{"Text": "dentist"}}))
            hits = fts.search_all(db, "dentist", "a1")
            fused = search(db).text("dentist").filter(ContentFilter.all("a1")).execute()
            print(len(hits), len(fused), db.verify())
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 1 []"

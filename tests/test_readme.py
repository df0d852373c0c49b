"""The README's example runs as written (against a temporary file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"


def test_readme_example_runs(tmp_path: Path, capsys: object) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    source = code.group(1).replace('"data/constellation.db"', repr(str(tmp_path / "c.db")))
    exec(compile(source, "README.md", "exec"), {})
    assert (tmp_path / "c.db").exists()


def test_readme_quick_start_is_two_commands() -> None:
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def _block(marker: str) -> str:
    blocks = [
        b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if marker in b
    ]
    assert len(blocks) == 1, marker
    return blocks[0]


def test_readme_search_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    from pattern_db import ConstellationDb, search

    first = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert first is not None
    path = tmp_path / "c.db"
    exec(first.group(1).replace('"data/constellation.db"', repr(str(path))), {})
    with ConstellationDb.open(path) as db:
        exec(_block("index_pending(db, embedder)"), {"db": db, "search": search})
    assert capsys.readouterr().out.count("\n") >= 3


def test_readme_langgraph_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("langgraph")
    monkeypatch.chdir(tmp_path)
    exec(_block("PatternStore.from_conn_string"), {})
    assert "oat milk" in capsys.readouterr().out

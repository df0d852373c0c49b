"""The README's example runs as written (against a temporary file)."""

from __future__ import annotations

import re
from pathlib import Path

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

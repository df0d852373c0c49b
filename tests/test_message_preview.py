"""A message stored without a preview gets one from its content JSON, so search finds it."""

from __future__ import annotations

from typing import Any

import pytest

from pattern_db import ConstellationDb, fts
from pattern_db.models import Message
from pattern_db.queries import message as q
from pattern_db.queries.preview import PREVIEW_MAX_CHARS, preview_of
from tests.search_support import agents

SHAPES: list[tuple[Any, str | None]] = [
    ("plain text", "plain text"),
    ({"text": "demo shape"}, "demo shape"),
    ({"Text": "pattern text"}, "pattern text"),
    ({"Parts": [{"Text": "look"}, {"Image": {"source": {"Url": "u"}}}, {"Text": "here"}]},
     "look\nhere"),
    ({"ToolCalls": [{"call_id": "c1", "fn_name": "recall", "fn_arguments": {"q": "dentist"}}]},
     'recall({"q": "dentist"})'),
    ({"ToolResponses": [{"call_id": "c1", "content": "dentist at 10"}]}, "dentist at 10"),
    ({"Blocks": [{"Thinking": {"text": "hmm"}}, {"Text": {"text": "answer"}},
                 {"ToolUse": {"id": "t", "name": "send", "input": {"to": "me"}}},
                 {"ToolResult": {"tool_use_id": "t", "content": "sent"}}]},
     'answer\nsend({"to": "me"})\nsent'),
    ([{"type": "text", "text": "letta part"}, {"type": "image_url", "image_url": "x"}],
     "letta part"),
    ({"role": "assistant", "content": None,
      "tool_calls": [{"function": {"name": "search", "arguments": "{\"q\": \"x\"}"}}]},
     'search({"q": "x"})'),
    ({"Image": {"source": {"Url": "u"}}}, None),
    ({}, None),
    (42, None),
]  # fmt: skip


@pytest.mark.parametrize(("content", "expected"), SHAPES)
def test_preview_of_every_message_shape(content: Any, expected: str | None) -> None:
    assert preview_of(content) == expected


def test_a_preview_is_bounded_and_deep_nesting_is_not_read() -> None:
    assert len(preview_of({"Text": "x " * PREVIEW_MAX_CHARS}) or "") == PREVIEW_MAX_CHARS
    deep: Any = "hidden"
    for _ in range(100):
        deep = {"content": [deep]}
    assert preview_of(deep) is None


def test_messages_without_a_preview_are_searchable(db: ConstellationDb) -> None:
    agents(db, "a1")
    q.create_message(db, Message(id="m1", agent_id="a1", content_json={"Text": "dentist at 10"}))
    q.create_messages(
        db,
        [Message(id="m2", agent_id="a1", content_json=[{"type": "text", "text": "dentist"}])],
    )
    q.create_message(db, Message(id="m3", agent_id="a1", content_json={"x": 1}))
    q.create_message(
        db, Message(id="m4", agent_id="a1", content_json={"Text": "a"}, content_preview="given")
    )
    assert {m.id for m in fts.search_messages(db, "dentist")} == {"m1", "m2"}
    assert q.get_message(db, "m1").content_preview == "dentist at 10"  # type: ignore[union-attr]
    assert q.get_message(db, "m3").content_preview is None  # type: ignore[union-attr]
    assert q.get_message(db, "m4").content_preview == "given"  # type: ignore[union-attr]
    q.update_message_content(db, "m3", {"Text": "moved the dentist"})
    assert {m.id for m in fts.search_messages(db, "dentist")} == {"m1", "m2", "m3"}
    q.update_message_content(db, "m3", {"Text": "moved"}, "")
    assert {m.id for m in fts.search_messages(db, "dentist")} == {"m1", "m2"}

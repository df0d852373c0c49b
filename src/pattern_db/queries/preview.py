"""The searchable preview of a message's content: its text, taken from the JSON it is stored as.

A message given without `content_preview` gets this one, so full-text search finds it. The rule:
text parts are kept in order, tool calls become `name(arguments)`, tool results their content,
anything else (images, thinking, signatures) is skipped; pieces are joined by newlines, and the
result is cut at PREVIEW_MAX_CHARS. Shapes read: a plain string; Pattern's externally tagged
MessageContent (`{"Text": s}`, `{"Parts": [...]}`, `{"ToolCalls": [...]}`,
`{"ToolResponses": [...]}`, `{"Blocks": [...]}`); `{"text": s}`; and the lists of typed parts of
Letta and chat APIs (`{"type": "text", "text": s}`, `tool_calls` with `function.name/arguments`,
`content` strings or lists). Pure code, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PREVIEW_MAX_CHARS", "preview_of"]

PREVIEW_MAX_CHARS = 8_000
# Deeper nesting than any message shape has is not read (bounded work on hostile input).
_MAX_DEPTH = 12


def preview_of(content: Any) -> str | None:
    """Return the text of a message's content JSON value, or None when it holds no text.

    Example: `preview_of({"Parts": [{"Text": "hi"}, {"Image": {...}}]})` -> `"hi"`.
    """
    pieces: list[str] = []
    _collect(content, pieces, 0)
    text = "\n".join(p.strip() for p in pieces if p and p.strip())
    if not text:
        return None
    return text[:PREVIEW_MAX_CHARS]


def _collect(value: Any, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH or sum(len(p) for p in out) > PREVIEW_MAX_CHARS:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect(item, out, depth + 1)
    elif isinstance(value, dict):
        _collect_dict(value, out, depth + 1)


def _collect_dict(value: dict[str, Any], out: list[str], depth: int) -> None:
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag in ("Text", "Parts", "ToolResponses", "Blocks"):
            is_block = tag == "Text" and isinstance(inner, dict)
            _collect(inner.get("text") if is_block else inner, out, depth)
            return
        if tag == "ToolCalls" and isinstance(inner, list):
            out.extend(
                _call(call.get("fn_name"), call.get("fn_arguments"))
                for call in inner
                if isinstance(call, dict)
            )
            return
        if tag == "ToolUse" and isinstance(inner, dict):
            out.append(_call(inner.get("name"), inner.get("input")))
            return
        if tag == "ToolResult" and isinstance(inner, dict):
            _collect(inner.get("content"), out, depth)
            return
        if tag in ("Image", "Thinking", "RedactedThinking"):
            return
    kind = value.get("type")
    if kind in ("image", "image_url", "reasoning", "thinking", "redacted_thinking"):
        return
    if isinstance(value.get("text"), str):
        out.append(value["text"])
    if "content" in value:
        _collect(value["content"], out, depth)
    function = value.get("function")
    if isinstance(function, dict):
        out.append(_call(function.get("name"), function.get("arguments")))
    if kind in ("tool_call", "tool_use") and "name" in value:
        out.append(_call(value.get("name"), value.get("arguments", value.get("input"))))
    for key in ("tool_calls", "parts"):
        if key in value:
            _collect(value[key], out, depth)


def _call(name: Any, arguments: Any) -> str:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True)
    return f"{name or 'tool'}({'' if arguments is None else args})"

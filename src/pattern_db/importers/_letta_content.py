"""Letta message content into Pattern's MessageContent JSON (externally tagged variants).

`Text`, `Parts` (text and images), `ToolCalls`, `ToolResponses` and `Blocks` (text, thinking,
tool use) are the shapes Pattern's runtime reads, so imported conversations replay as they were.
"""

from __future__ import annotations

import json
from typing import Any

from pattern_db.importers._letta_schema import MessageSchema
from pattern_db.importers._values import json_safe

__all__ = ["Converted", "convert_content"]


class Converted:
    """A converted message: content JSON, preview text and what could not be mapped."""

    def __init__(self, content: Any, preview: str | None, unmapped: list[Any]) -> None:
        self.content = content
        self.preview = preview
        self.unmapped = unmapped


def _items(message: MessageSchema) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    if message.content:
        return list(message.content)
    if message.text:
        return [{"type": "text", "text": message.text}]
    return []


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _image(item: dict[str, Any]) -> dict[str, Any] | None:
    source = item.get("source")
    if not isinstance(source, dict):
        return None
    media = source.get("media_type") or "image/png"
    if source.get("url"):
        return {"Image": {"content_type": media, "source": {"Url": source["url"]}}}
    if source.get("data"):
        return {"Image": {"content_type": media, "source": {"Base64": source["data"]}}}
    return None


def convert_content(message: MessageSchema, role: str, where: str) -> Converted:
    """Return the Pattern content of a Letta message with this (already mapped) role."""
    texts: list[str] = []
    blocks: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    unmapped: list[Any] = []
    for item in _items(message):
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
            blocks.append({"Text": {"text": item["text"]}})
            parts.append({"Text": item["text"]})
        elif kind == "reasoning":
            thinking = {"text": str(item.get("reasoning") or "")}
            if item.get("signature"):
                thinking["signature"] = item["signature"]
            blocks.append({"Thinking": thinking})
        elif kind == "redacted_reasoning":
            blocks.append({"RedactedThinking": {"data": str(item.get("data") or "")}})
        elif kind == "image" and (image := _image(item)) is not None:
            parts.append(image)
        elif kind == "tool_call":
            blocks.append(
                {
                    "ToolUse": {
                        "id": str(item.get("id") or ""),
                        "name": str(item.get("name") or ""),
                        "input": json_safe(_arguments(item.get("input")), where),
                    }
                }
            )
        else:
            unmapped.append(json_safe(item, where))
    calls = [
        {
            "call_id": c.id or "",
            "fn_name": (c.function.name if c.function else None) or "",
            "fn_arguments": json_safe(
                _arguments(c.function.arguments if c.function else None), where
            ),
        }
        for c in message.tool_calls or []
    ]
    preview = "\n".join(texts) if texts else None
    if role == "tool":
        status = next((r.status for r in message.tool_returns or [] if r.status), None)
        response: dict[str, Any] = {"call_id": message.tool_call_id or "", "content": preview or ""}
        if status == "error":
            response["is_error"] = True
        return Converted({"ToolResponses": [response]}, preview, unmapped)
    if calls:
        if not blocks:
            return Converted({"ToolCalls": calls}, preview, unmapped)
        blocks += [
            {"ToolUse": {"id": c["call_id"], "name": c["fn_name"], "input": c["fn_arguments"]}}
            for c in calls
        ]
        return Converted({"Blocks": blocks}, preview, unmapped)
    if any("Text" not in b for b in blocks):
        return Converted({"Blocks": blocks}, preview, unmapped)
    if len(parts) == 1 and "Text" in parts[0]:
        return Converted({"Text": parts[0]["Text"]}, preview, unmapped)
    if parts:
        return Converted({"Parts": parts}, preview, unmapped)
    return Converted({"Text": ""}, None, unmapped)

"""How Letta's names map to Pattern's: tools, tool rules, models, block types, group managers."""

from __future__ import annotations

from typing import Any

from pattern_db.importers._letta_schema import AgentSchema, ToolRuleSchema
from pattern_db.models.agent import PatternType
from pattern_db.models.memory import MemoryBlockType

__all__ = ["BASE_TOOLS", "PATTERNS", "ROLES", "TOOL_MAP", "block_type", "model_of", "pattern_rules"]

BASE_TOOLS = ("context", "recall", "search", "send_message", "file", "source")
TOOL_MAP: dict[str, tuple[str, ...]] = {
    "memory_insert": ("context",),
    "memory_replace": ("context",),
    "memory_rethink": ("context",),
    "memory": ("context",),
    "core_memory_append": ("context",),
    "core_memory_replace": ("context",),
    "conversation_search": ("search",),
    "archival_memory_search": ("recall", "search"),
    "archival_memory_insert": ("recall",),
    "send_message": ("send_message",),
    "web_search": ("web",),
    "fetch_webpage": ("web",),
    "open_file": ("file",),
    "open_files": ("file",),
    "grep_file": ("file",),
    "grep_files": ("file",),
    "search_file": ("file",),
    "semantic_search_files": ("file",),
}
RULE_MAP = {
    "continue_loop": "ContinueLoop",
    "ContinueToolRule": "ContinueLoop",
    "exit_loop": "ExitLoop",
    "TerminalToolRule": "ExitLoop",
    "run_first": "StartConstraint",
    "InitToolRule": "StartConstraint",
    "required_before_exit": "RequiredBeforeExit",
    "RequiredBeforeExitToolRule": "RequiredBeforeExit",
    "max_count_per_step": "MaxCalls",
    "MaxCountPerStepToolRule": "MaxCalls",
    "constrain_child_tools": "RequiresFollowingTools",
    "ChildToolRule": "RequiresFollowingTools",
    "parent_last_tool": "RequiresPrecedingTools",
    "ParentToolRule": "RequiresPrecedingTools",
    "requires_approval": "RequiresConsent",
    "RequiresApprovalToolRule": "RequiresConsent",
}
PATTERNS = {
    "round_robin": PatternType.ROUND_ROBIN,
    "supervisor": PatternType.SUPERVISOR,
    "dynamic": PatternType.DYNAMIC,
    "sleeptime": PatternType.SLEEPTIME,
    "voice_sleeptime": PatternType.SLEEPTIME,
}
ROLES = frozenset({"system", "user", "assistant", "tool"})


def model_of(agent: AgentSchema) -> tuple[str, str]:
    llm = agent.llm_config or {}
    for handle in (agent.model, llm.get("handle")):
        if isinstance(handle, str) and "/" in handle:
            provider, _, name = handle.partition("/")
            return provider, name
    if isinstance(llm.get("model"), str):
        return str(llm.get("model_endpoint_type") or "openai"), str(llm["model"])
    return "anthropic", "claude-sonnet-4-5-20250929"


def block_type(label: str) -> MemoryBlockType:
    if label in ("persona", "human", "system"):
        return MemoryBlockType.CORE
    if label in ("archival", "archive", "long_term"):
        return MemoryBlockType.ARCHIVAL
    return MemoryBlockType.WORKING


def pattern_rules(rule: ToolRuleSchema) -> list[dict[str, Any]] | None:
    kind = RULE_MAP.get(rule.type)
    if kind is None or not rule.tool_name:
        return None
    base: dict[str, Any] = {"tool_name": rule.tool_name, "conditions": [], "priority": 5}
    if kind == "MaxCalls":
        return [base | {"rule_type": {"type": kind, "value": rule.max_count_limit or 1}}]
    if kind == "RequiresFollowingTools":
        return [base | {"rule_type": {"type": kind}, "conditions": list(rule.children or [])}]
    if kind == "RequiresPrecedingTools":
        return [
            base | {"tool_name": child, "rule_type": {"type": kind}, "conditions": [rule.tool_name]}
            for child in rule.children or []
        ]
    if kind == "RequiresConsent":
        return [base | {"rule_type": {"type": kind, "value": {"scope": None}}}]
    return [base | {"rule_type": {"type": kind}}]

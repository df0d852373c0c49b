"""queries.agent: agents, groups, members, capabilities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.models import (
    Agent,
    AgentGroup,
    AgentStatus,
    GroupMember,
    ObserverRole,
    PatternType,
    RegularRole,
    SpecialistRole,
    SupervisorRole,
)
from pattern_db.queries import agent as q

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _group(group_id: str = "g1", **fields: object) -> AgentGroup:
    return AgentGroup(
        id=group_id,
        name=str(fields.pop("name", group_id)),
        pattern_type=PatternType.ROUND_ROBIN,
        **fields,  # type: ignore[arg-type]
    )


def test_create_get_and_lookups(db: ConstellationDb, make_agent: MakeAgent) -> None:
    agent = make_agent(
        "a1",
        name="Pattern",
        description="orchestrator",
        config={"temperature": 0.7, "memory": {"persona": {"content": "x"}}},
        enabled_tools=["recall", "search"],
        tool_rules=[{"tool_name": "search", "rule_type": {"type": "MaxCalls", "value": 3}}],
        created_at=T0,
        updated_at=T0,
    )
    assert q.get_agent(db, "a1") == agent
    assert q.get_agent_by_name(db, "Pattern") == agent
    assert q.get_agent(db, "missing") is None
    assert q.get_agent_by_name(db, "missing") is None


def test_duplicates_raise_already_exists(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1", name="same")
    with pytest.raises(errors.AlreadyExists, match="agent already exists: a1"):
        make_agent("a1", name="other")
    with pytest.raises(errors.AlreadyExists, match=r"^agent named 'same' already exists$") as info:
        make_agent("a2", name="same")
    assert (info.value.entity_id, info.value.fields) == ("a2", {"name": "same"})


def test_lists_are_ordered_by_name(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1", name="zed")
    make_agent("a2", name="amy", status=AgentStatus.HIBERNATED)
    make_agent("a3", name="mo")
    assert [a.name for a in q.list_agents(db)] == ["amy", "mo", "zed"]
    assert [a.id for a in q.list_agents_by_status(db, AgentStatus.ACTIVE)] == ["a3", "a1"]
    assert [a.id for a in q.list_agents_by_status(db, "hibernated")] == ["a2"]


def test_update_writes_every_column_and_stamps_updated_at(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    agent = make_agent("a1", created_at=T0, updated_at=T0)
    changed = msgspec.structs.replace(
        agent,
        name="renamed",
        description="d",
        model_provider="openai",
        model_name="gpt",
        system_prompt="sp",
        config={"k": [1, 2]},
        enabled_tools=["t"],
        tool_rules={"r": 1},
        status=AgentStatus.ARCHIVED,
    )
    q.update_agent(db, changed)
    stored = q.get_agent(db, "a1")
    assert stored is not None
    assert msgspec.structs.replace(stored, updated_at=T0) == changed
    assert stored.created_at == T0
    assert stored.updated_at > T0


def test_update_of_a_missing_agent_is_not_found(db: ConstellationDb) -> None:
    ghost = Agent(id="ghost", name="ghost", model_provider="p", model_name="m")
    with pytest.raises(errors.NotFound, match="agent not found: ghost"):
        q.update_agent(db, ghost)
    with pytest.raises(errors.NotFound):
        q.update_agent_status(db, "ghost", AgentStatus.ARCHIVED)
    with pytest.raises(errors.NotFound):
        q.update_agent_tool_rules(db, "ghost", None)


def test_upsert_inserts_then_updates_but_keeps_created_at(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    first = Agent(
        id="a1", name="n", model_provider="p", model_name="m", created_at=T0, updated_at=T0
    )
    q.upsert_agent(db, first)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    second = msgspec.structs.replace(first, name="n2", created_at=later, updated_at=later)
    q.upsert_agent(db, second)
    assert q.get_agent(db, "a1") == msgspec.structs.replace(second, created_at=T0)
    make_agent("a2", name="taken")
    with pytest.raises(errors.AlreadyExists):
        q.upsert_agent(db, msgspec.structs.replace(second, name="taken"))


def test_status_and_tool_rules_updates(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1", tool_rules=[1])
    q.update_agent_status(db, "a1", AgentStatus.HIBERNATED)
    q.update_agent_tool_rules(db, "a1", None)
    stored = q.get_agent(db, "a1")
    assert stored is not None
    assert (stored.status, stored.tool_rules) == (AgentStatus.HIBERNATED, None)
    q.update_agent_tool_rules(db, "a1", {"max": 1.5})
    assert q.get_agent(db, "a1").tool_rules == {"max": 1.5}  # type: ignore[union-attr]
    with pytest.raises(errors.InvalidData, match="unknown agent status 'sleeping'; expected"):
        q.update_agent_status(db, "a1", "sleeping")


def test_groups_crud(db: ConstellationDb) -> None:
    group = _group("g1", name="crew", description="d", pattern_config={"k": 1})
    q.create_group(db, group)
    assert q.get_group(db, "g1") == group
    assert q.get_group_by_name(db, "crew") == group
    with pytest.raises(errors.AlreadyExists):
        q.create_group(db, group)
    q.create_group(db, _group("g2", name="alpha"))
    assert [g.name for g in q.list_groups(db)] == ["alpha", "crew"]
    q.update_group(db, msgspec.structs.replace(group, pattern_type=PatternType.VOTING))
    assert q.get_group(db, "g1").pattern_type == PatternType.VOTING  # type: ignore[union-attr]
    with pytest.raises(errors.NotFound):
        q.update_group(db, _group("nope"))
    q.upsert_group(db, msgspec.structs.replace(group, name="crew2"))
    assert q.get_group(db, "g1").name == "crew2"  # type: ignore[union-attr]


def test_members_roles_and_capabilities(db: ConstellationDb, make_agent: MakeAgent) -> None:
    for agent_id in ("a1", "a2", "a3"):
        make_agent(agent_id)
    q.create_group(db, _group("g1"))
    member = GroupMember(
        group_id="g1", agent_id="a1", role=SupervisorRole(), joined_at=T0, capabilities=["plan"]
    )
    q.add_group_member(db, member)
    q.add_group_member(
        db, GroupMember(group_id="g1", agent_id="a2", role=SpecialistRole(domain="code"))
    )
    assert q.get_group_members(db, "g1")[0] == member
    with pytest.raises(errors.AlreadyExists):
        q.add_group_member(db, member)
    with pytest.raises(errors.ConstraintViolation):
        q.add_group_member(db, GroupMember(group_id="g1", agent_id="ghost"))
    with pytest.raises(errors.ConstraintViolation):
        q.add_group_member(db, GroupMember(group_id="ghost", agent_id="a1"))

    q.update_group_member_role(db, "g1", "a1", ObserverRole())
    q.update_group_member_capabilities(db, "g1", "a2", ["review", "rust"])
    members = {m.agent_id: m for m in q.get_group_members(db, "g1")}
    assert members["a1"].role == ObserverRole()
    assert members["a2"].capabilities == ["review", "rust"]
    q.update_group_member(db, "g1", "a1", None, [])
    assert q.get_group_members(db, "g1")[0].role is None
    with pytest.raises(errors.NotFound):
        q.update_group_member_role(db, "g1", "a3", RegularRole())

    later = datetime(2030, 1, 1, tzinfo=UTC)
    q.upsert_group_member(db, msgspec.structs.replace(member, role=RegularRole(), joined_at=later))
    stored = next(m for m in q.get_group_members(db, "g1") if m.agent_id == "a1")
    assert (stored.role, stored.joined_at) == (RegularRole(), T0)  # joined_at kept

    assert q.remove_group_member(db, "g1", "a2") is True
    assert q.remove_group_member(db, "g1", "a2") is False


def test_agent_has_capability_counts_only_specialists(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    for agent_id in ("spec", "sup", "plain"):
        make_agent(agent_id)
    q.create_group(db, _group("g1"))
    q.add_group_member(
        db,
        GroupMember(
            group_id="g1",
            agent_id="spec",
            role=SpecialistRole(domain="x"),
            capabilities=["search"],
        ),
    )
    q.add_group_member(
        db,
        GroupMember(group_id="g1", agent_id="sup", role=SupervisorRole(), capabilities=["search"]),
    )
    assert q.agent_has_capability(db, "spec", "search") is True
    assert q.agent_has_capability(db, "spec", "write") is False
    assert q.agent_has_capability(db, "sup", "search") is False
    assert q.agent_has_capability(db, "plain", "search") is False


def test_agents_share_group(db: ConstellationDb, make_agent: MakeAgent) -> None:
    for agent_id in ("a", "b", "c", "loner"):
        make_agent(agent_id)
    q.create_group(db, _group("g1"))
    q.create_group(db, _group("g2"))
    for group_id, agent_id in (("g1", "a"), ("g1", "b"), ("g2", "c")):
        q.add_group_member(db, GroupMember(group_id=group_id, agent_id=agent_id))
    assert q.agents_share_group(db, "a", "b") is True
    assert q.agents_share_group(db, "b", "a") is True
    assert q.agents_share_group(db, "a", "c") is False
    assert q.agents_share_group(db, "a", "a") is True
    assert q.agents_share_group(db, "loner", "loner") is False
    assert [g.id for g in q.get_agent_groups(db, "a")] == ["g1"]
    assert q.get_agent_groups(db, "loner") == []


def test_delete_group_removes_members(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_group(db, _group("g1"))
    q.add_group_member(db, GroupMember(group_id="g1", agent_id="a1"))
    assert q.delete_group(db, "g1") is True
    assert q.delete_group(db, "g1") is False
    assert q.get_group_members(db, "g1") == []
    assert q.get_agent(db, "a1") is not None


def test_delete_agent_cascades_memberships(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_group(db, _group("g1"))
    q.add_group_member(db, GroupMember(group_id="g1", agent_id="a1"))
    assert q.delete_agent(db, "a1") is True
    assert q.delete_agent(db, "a1") is False
    assert q.get_group_members(db, "g1") == []
    assert q.get_group(db, "g1") is not None


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_name = _text.filter(lambda t: bool(t.strip()))  # required non-blank
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False,
        allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
_when = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    agent=st.builds(
        Agent,
        id=_text.filter(bool),
        name=_name,
        description=st.none() | _text,
        model_provider=_name,
        model_name=_name,
        system_prompt=_text,
        config=st.dictionaries(_text, _json, max_size=4),
        enabled_tools=st.lists(_text, max_size=4),
        tool_rules=_json,
        status=st.sampled_from(AgentStatus),
        created_at=_when,
        updated_at=_when,
    ),
    group=st.builds(
        AgentGroup,
        id=_text.filter(bool),
        name=_name,
        description=st.none() | _text,
        pattern_type=st.sampled_from(PatternType),
        pattern_config=st.dictionaries(_text, _json, max_size=4),
        created_at=_when,
        updated_at=_when,
    ),
    role=st.none()
    | st.sampled_from([SupervisorRole(), RegularRole(), ObserverRole()])
    | st.builds(SpecialistRole, domain=_text),
    capabilities=st.lists(_text, max_size=3),
    joined_at=_when,
)
def test_round_trips(
    db: ConstellationDb,
    agent: Agent,
    group: AgentGroup,
    role: object,
    capabilities: list[str],
    joined_at: datetime,
) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM agents")
        conn.execute("DELETE FROM agent_groups")
    q.create_agent(db, agent)
    q.create_group(db, group)
    member = GroupMember(
        group_id=group.id,
        agent_id=agent.id,
        role=role,  # type: ignore[arg-type]
        capabilities=capabilities,
        joined_at=joined_at,
    )
    q.add_group_member(db, member)
    assert q.get_agent(db, agent.id) == agent
    assert q.get_group(db, group.id) == group
    assert q.get_group_members(db, group.id) == [member]

-- pattern-db schema 0001: every table of the constellation database.
--
-- Conventions (DESIGN section 3): STRICT tables; timestamps are canonical UTC text
-- (2026-11-29T18:20:00.123456Z) checked by GLOB so text order is time order; JSON columns are
-- TEXT checked by json_valid (TEXT affinity keeps numbers exactly as written); enums are TEXT
-- checked against the reference's strings; booleans are 0/1; message positions are 20-digit text.
-- Priority and importance get a generated rank column so they sort by meaning, not by spelling.
-- Foreign keys and ON DELETE actions follow REFERENCE 1.6, except queued_messages (CASCADE, so
-- deleting an agent is never blocked by its queue).

-- Agents and groups
CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    model_provider TEXT NOT NULL,
    model_name TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    config TEXT NOT NULL CHECK (json_valid(config)),
    enabled_tools TEXT NOT NULL CHECK (json_valid(enabled_tools)),
    tool_rules TEXT CHECK (json_valid(tool_rules)),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'hibernated', 'archived')),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idx_agents_status ON agents(status);

CREATE TABLE agent_groups (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    pattern_type TEXT NOT NULL CHECK (pattern_type IN ('round_robin', 'dynamic', 'pipeline', 'supervisor', 'voting', 'sleeptime')),
    pattern_config TEXT NOT NULL CHECK (json_valid(pattern_config)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    role TEXT CHECK (role IS NULL OR (json_valid(role) AND json_type(role) = 'object' AND coalesce(json_extract(role, '$.type'), '') IN ('supervisor', 'regular', 'observer', 'specialist'))),
    joined_at TEXT NOT NULL CHECK (joined_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    capabilities TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(capabilities)),
    PRIMARY KEY (group_id, agent_id)
) STRICT;
CREATE INDEX idx_group_members_agent ON group_members(agent_id);

CREATE TABLE agent_atproto_endpoints (
    agent_id TEXT NOT NULL,
    did TEXT NOT NULL,
    endpoint_type TEXT NOT NULL,
    session_id TEXT,
    config TEXT CHECK (json_valid(config)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    PRIMARY KEY (agent_id, endpoint_type)
) STRICT;
CREATE INDEX idx_agent_atproto_endpoints_did ON agent_atproto_endpoints(did);
CREATE INDEX idx_agent_atproto_endpoints_session ON agent_atproto_endpoints(session_id);

-- Memory
CREATE TABLE memory_blocks (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT NOT NULL,
    block_type TEXT NOT NULL CHECK (block_type IN ('core', 'working', 'archival', 'log')),
    char_limit INTEGER NOT NULL DEFAULT 5000 CHECK (char_limit > 0),
    permission TEXT NOT NULL DEFAULT 'read_write' CHECK (permission IN ('read_only', 'partner', 'human', 'append', 'read_write', 'admin')),
    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    loro_snapshot BLOB NOT NULL,
    content_preview TEXT,
    metadata TEXT CHECK (json_valid(metadata)),
    embedding_model TEXT,
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    frontier BLOB,
    last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
-- A label is unique among an agent's active blocks, so a deactivated block's label can be reused.
CREATE UNIQUE INDEX idx_memory_blocks_label ON memory_blocks(agent_id, label) WHERE is_active = 1;
CREATE INDEX idx_memory_blocks_type ON memory_blocks(agent_id, block_type);
CREATE INDEX idx_memory_blocks_active ON memory_blocks(agent_id, is_active);

CREATE TABLE memory_block_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE,
    snapshot BLOB NOT NULL,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updates_consolidated INTEGER NOT NULL DEFAULT 0 CHECK (updates_consolidated >= 0),
    frontier BLOB,
    up_to_seq INTEGER NOT NULL DEFAULT 0 CHECK (up_to_seq >= 0)
) STRICT;
CREATE INDEX idx_checkpoints_block ON memory_block_checkpoints(block_id, up_to_seq DESC, id DESC);

CREATE TABLE memory_block_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq > 0),
    update_blob BLOB NOT NULL,
    byte_size INTEGER NOT NULL CHECK (byte_size >= 0),
    source TEXT CHECK (source IN ('agent', 'sync', 'migration', 'manual')),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    frontier BLOB,
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX idx_updates_block_seq ON memory_block_updates(block_id, seq);
CREATE INDEX idx_updates_active ON memory_block_updates(block_id, is_active, seq);

CREATE TABLE shared_block_agents (
    block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    permission TEXT NOT NULL DEFAULT 'read_only' CHECK (permission IN ('read_only', 'partner', 'human', 'append', 'read_write', 'admin')),
    attached_at TEXT NOT NULL CHECK (attached_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    PRIMARY KEY (block_id, agent_id)
) STRICT;
CREATE INDEX idx_shared_block_agents_agent ON shared_block_agents(agent_id);

CREATE TABLE archival_entries (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL,
    content TEXT NOT NULL,
    metadata TEXT CHECK (json_valid(metadata)),
    chunk_index INTEGER NOT NULL DEFAULT 0 CHECK (chunk_index >= 0),
    parent_entry_id TEXT REFERENCES archival_entries(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idx_archival_agent ON archival_entries(agent_id, created_at DESC);
CREATE INDEX idx_archival_parent ON archival_entries(parent_entry_id);

-- Messages
CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    position TEXT NOT NULL CHECK (length(position) = 20 AND position NOT GLOB '*[^0-9]*'),
    batch_id TEXT,
    sequence_in_batch INTEGER,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content_json TEXT NOT NULL CHECK (json_valid(content_json)),
    content_preview TEXT,
    batch_type TEXT CHECK (batch_type IN ('user_request', 'agent_to_agent', 'system_trigger', 'continuation')),
    source TEXT,
    source_metadata TEXT CHECK (json_valid(source_metadata)),
    is_archived INTEGER NOT NULL DEFAULT 0 CHECK (is_archived IN (0, 1)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    is_deleted INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1))
) STRICT;
CREATE INDEX idx_messages_agent_position ON messages(agent_id, position);
-- The live conversation (neither archived nor tombstoned), newest first, straight off one index.
CREATE INDEX idx_messages_live ON messages(agent_id, position) WHERE is_archived = 0 AND is_deleted = 0;
CREATE INDEX idx_messages_batch ON messages(batch_id, sequence_in_batch) WHERE batch_id IS NOT NULL;

CREATE TABLE archive_summaries (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    summary TEXT NOT NULL,
    start_position TEXT NOT NULL CHECK (length(start_position) = 20 AND start_position NOT GLOB '*[^0-9]*'),
    end_position TEXT NOT NULL CHECK (length(end_position) = 20 AND end_position NOT GLOB '*[^0-9]*'),
    message_count INTEGER NOT NULL CHECK (message_count >= 0),
    previous_summary_id TEXT REFERENCES archive_summaries(id) ON DELETE SET NULL,
    depth INTEGER NOT NULL DEFAULT 0 CHECK (depth >= 0),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idx_archive_summaries_agent ON archive_summaries(agent_id, start_position);
CREATE INDEX idx_archive_summaries_chain ON archive_summaries(previous_summary_id);

CREATE TABLE queued_messages (
    id TEXT PRIMARY KEY NOT NULL,
    target_agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    source_agent_id TEXT,
    content TEXT NOT NULL,
    origin_json TEXT CHECK (json_valid(origin_json)),
    metadata_json TEXT CHECK (json_valid(metadata_json)),
    priority INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    processed_at TEXT CHECK (processed_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    content_json TEXT CHECK (json_valid(content_json)),
    metadata_json_full TEXT CHECK (json_valid(metadata_json_full)),
    batch_id TEXT,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'assistant', 'system', 'tool'))
) STRICT;
CREATE INDEX idx_queued_messages_target ON queued_messages(target_agent_id, processed_at);
CREATE INDEX idx_queued_messages_priority ON queued_messages(priority DESC, created_at);
CREATE INDEX idx_queued_messages_batch ON queued_messages(batch_id);

-- Activity, summaries and coordination
CREATE TABLE activity_events (
    id TEXT PRIMARY KEY NOT NULL,
    timestamp TEXT NOT NULL CHECK (timestamp GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
    event_type TEXT NOT NULL CHECK (event_type IN ('message_sent', 'tool_used', 'memory_updated', 'task_changed', 'agent_status_changed', 'external_event', 'coordination', 'system')),
    details TEXT NOT NULL CHECK (json_valid(details)),
    importance TEXT CHECK (importance IN ('low', 'medium', 'high', 'critical')),
    importance_rank INTEGER GENERATED ALWAYS AS (CASE importance WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 WHEN 'critical' THEN 3 END) VIRTUAL
) STRICT;
CREATE INDEX idx_activity_timestamp ON activity_events(timestamp DESC);
CREATE INDEX idx_activity_agent ON activity_events(agent_id, timestamp DESC);
CREATE INDEX idx_activity_type ON activity_events(event_type);
CREATE INDEX idx_activity_importance ON activity_events(importance_rank, timestamp DESC);

CREATE TABLE agent_summaries (
    agent_id TEXT PRIMARY KEY NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    summary TEXT NOT NULL,
    messages_covered INTEGER NOT NULL DEFAULT 0 CHECK (messages_covered >= 0),
    generated_at TEXT NOT NULL CHECK (generated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    last_active TEXT NOT NULL CHECK (last_active GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

CREATE TABLE constellation_summaries (
    id TEXT PRIMARY KEY NOT NULL,
    period_start TEXT NOT NULL CHECK (period_start GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    period_end TEXT NOT NULL CHECK (period_end GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    summary TEXT NOT NULL,
    key_decisions TEXT CHECK (json_valid(key_decisions)),
    open_threads TEXT CHECK (json_valid(open_threads)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idx_constellation_summaries_period ON constellation_summaries(period_end DESC);

CREATE TABLE notable_events (
    id TEXT PRIMARY KEY NOT NULL,
    timestamp TEXT NOT NULL CHECK (timestamp GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    event_type TEXT NOT NULL,
    description TEXT NOT NULL,
    agents_involved TEXT CHECK (json_valid(agents_involved)),
    importance TEXT NOT NULL CHECK (importance IN ('low', 'medium', 'high', 'critical')),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    importance_rank INTEGER GENERATED ALWAYS AS (CASE importance WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 WHEN 'critical' THEN 3 END) VIRTUAL
) STRICT;
CREATE INDEX idx_notable_timestamp ON notable_events(timestamp DESC);
CREATE INDEX idx_notable_importance ON notable_events(importance_rank, timestamp DESC);

CREATE TABLE coordination_state (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_by TEXT
) STRICT;

CREATE TABLE coordination_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    assigned_to TEXT REFERENCES agents(id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
    priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    priority_rank INTEGER GENERATED ALWAYS AS (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 END) VIRTUAL
) STRICT;
CREATE INDEX idx_tasks_status ON coordination_tasks(status, priority_rank DESC, created_at);
CREATE INDEX idx_tasks_assigned ON coordination_tasks(assigned_to);

CREATE TABLE handoff_notes (
    id TEXT PRIMARY KEY NOT NULL,
    from_agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    to_agent TEXT REFERENCES agents(id) ON DELETE SET NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    read_at TEXT CHECK (read_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idx_handoff_to ON handoff_notes(to_agent, read_at);
CREATE INDEX idx_handoff_unread ON handoff_notes(to_agent) WHERE read_at IS NULL;
CREATE INDEX idx_handoff_from ON handoff_notes(from_agent);

-- Data sources
CREATE TABLE data_sources (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    source_type TEXT NOT NULL CHECK (source_type IN ('file', 'vcs', 'code_host', 'language_server', 'terminal', 'group_chat', 'direct_chat', 'bluesky', 'email', 'calendar', 'timer', 'mcp', 'agent', 'http', 'webhook', 'manual')),
    config TEXT NOT NULL CHECK (json_valid(config)),
    last_sync_at TEXT CHECK (last_sync_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    sync_cursor TEXT,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

CREATE TABLE agent_data_sources (
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    notification_template TEXT,
    PRIMARY KEY (agent_id, source_id)
) STRICT;
CREATE INDEX idx_agent_data_sources_source ON agent_data_sources(source_id);

-- Tasks and calendar
CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('backlog', 'pending', 'in_progress', 'blocked', 'completed', 'cancelled', 'deferred')),
    priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent', 'critical')),
    due_at TEXT CHECK (due_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    scheduled_at TEXT CHECK (scheduled_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    completed_at TEXT CHECK (completed_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    parent_task_id TEXT REFERENCES tasks(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    tags TEXT CHECK (json_valid(tags)),
    estimated_minutes INTEGER CHECK (estimated_minutes >= 0),
    actual_minutes INTEGER CHECK (actual_minutes >= 0),
    notes TEXT,
    priority_rank INTEGER GENERATED ALWAYS AS (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 WHEN 'critical' THEN 4 END) VIRTUAL,
    CHECK (parent_task_id IS NULL OR parent_task_id <> id)
) STRICT;
CREATE INDEX idx_tasks_agent ON tasks(agent_id, status);
CREATE INDEX idx_tasks_due ON tasks(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX idx_tasks_parent ON tasks(parent_task_id);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    description TEXT,
    starts_at TEXT NOT NULL CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    ends_at TEXT CHECK (ends_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    rrule TEXT,
    reminder_minutes INTEGER CHECK (reminder_minutes >= 0),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    all_day INTEGER NOT NULL DEFAULT 0 CHECK (all_day IN (0, 1)),
    location TEXT,
    external_id TEXT,
    external_source TEXT,
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
) STRICT;
CREATE INDEX idx_events_starts ON events(starts_at);
CREATE INDEX idx_events_agent ON events(agent_id);

CREATE TABLE event_occurrences (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    starts_at TEXT NOT NULL CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    ends_at TEXT CHECK (ends_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'active', 'completed', 'skipped', 'snoozed', 'cancelled')),
    notes TEXT,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;
CREATE INDEX idx_occurrences_event ON event_occurrences(event_id);
CREATE INDEX idx_occurrences_starts ON event_occurrences(starts_at);
CREATE INDEX idx_occurrences_status ON event_occurrences(status);

-- Folders, files and passages
CREATE TABLE folders (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    path_type TEXT NOT NULL CHECK (path_type IN ('local', 'virtual', 'remote')),
    path_value TEXT,
    embedding_model TEXT NOT NULL,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

CREATE TABLE folder_files (
    id TEXT PRIMARY KEY NOT NULL,
    folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT,
    size_bytes INTEGER CHECK (size_bytes >= 0),
    content BLOB,
    uploaded_at TEXT NOT NULL CHECK (uploaded_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    indexed_at TEXT CHECK (indexed_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    UNIQUE (folder_id, name)
) STRICT;

CREATE TABLE file_passages (
    id TEXT PRIMARY KEY NOT NULL,
    file_id TEXT NOT NULL REFERENCES folder_files(id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    start_line INTEGER,
    end_line INTEGER,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    chunk_index INTEGER NOT NULL DEFAULT 0 CHECK (chunk_index >= 0)
) STRICT;
CREATE INDEX idx_passages_file ON file_passages(file_id, chunk_index);

CREATE TABLE folder_attachments (
    folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    access TEXT NOT NULL DEFAULT 'read' CHECK (access IN ('read', 'read_write')),
    attached_at TEXT NOT NULL CHECK (attached_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    PRIMARY KEY (folder_id, agent_id)
) STRICT;
CREATE INDEX idx_folder_attachments_agent ON folder_attachments(agent_id);

-- Import audit and embedding provenance
CREATE TABLE migration_audit (
    id TEXT PRIMARY KEY NOT NULL,
    imported_at TEXT NOT NULL CHECK (imported_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    source_file TEXT NOT NULL,
    source_version INTEGER NOT NULL,
    issues_found INTEGER NOT NULL DEFAULT 0 CHECK (issues_found >= 0),
    issues_resolved INTEGER NOT NULL DEFAULT 0 CHECK (issues_resolved >= 0),
    audit_log TEXT NOT NULL CHECK (json_valid(audit_log))
) STRICT;
CREATE INDEX idx_migration_audit_imported ON migration_audit(imported_at DESC);

-- One row: the embedding model, dimensions and metric of this constellation's vector index.
-- `generation` is bumped in the same transaction as every change to the vectors, so a process
-- holding vectors in memory (pattern_db.vector) can tell with one read whether they are current.
CREATE TABLE embedding_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT,
    dimensions INTEGER NOT NULL CHECK (dimensions BETWEEN 1 AND 8192),
    metric TEXT NOT NULL DEFAULT 'cosine' CHECK (metric IN ('cosine', 'l2', 'l1')),
    generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- What each vector of the `embeddings` vec0 table embeds (same rowid as the vector; the vec0 table
-- is created by vector.ensure_embeddings_table once the dimensions are known). Kept beside vec0 so
-- lookups by content use an index instead of scanning vec0's columns; AUTOINCREMENT so ids only
-- grow, which lets in-memory copies of the vectors pick up new rows by `id > last seen`.
CREATE TABLE embedding_rows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_type TEXT NOT NULL CHECK (content_type IN ('message', 'memory_block', 'archival_entry', 'file_passage')),
    content_id TEXT NOT NULL,
    chunk_index INTEGER CHECK (chunk_index >= 0),
    content_hash TEXT,
    agent_id TEXT
) STRICT;
CREATE INDEX idx_embedding_rows_content ON embedding_rows(content_type, content_id);

-- index idx_activity_agent
CREATE INDEX idx_activity_agent ON activity_events(agent_id, timestamp DESC);

-- index idx_activity_importance
CREATE INDEX idx_activity_importance ON activity_events(importance_rank, timestamp DESC);

-- index idx_activity_timestamp
CREATE INDEX idx_activity_timestamp ON activity_events(timestamp DESC);

-- index idx_activity_type
CREATE INDEX idx_activity_type ON activity_events(event_type);

-- index idx_agent_atproto_endpoints_did
CREATE INDEX idx_agent_atproto_endpoints_did ON agent_atproto_endpoints(did);

-- index idx_agent_atproto_endpoints_session
CREATE INDEX idx_agent_atproto_endpoints_session ON agent_atproto_endpoints(session_id);

-- index idx_agent_data_sources_source
CREATE INDEX idx_agent_data_sources_source ON agent_data_sources(source_id);

-- index idx_agents_status
CREATE INDEX idx_agents_status ON agents(status);

-- index idx_archival_agent
CREATE INDEX idx_archival_agent ON archival_entries(agent_id, created_at DESC);

-- index idx_archival_parent
CREATE INDEX idx_archival_parent ON archival_entries(parent_entry_id);

-- index idx_archive_summaries_agent
CREATE INDEX idx_archive_summaries_agent ON archive_summaries(agent_id, start_position);

-- index idx_archive_summaries_chain
CREATE INDEX idx_archive_summaries_chain ON archive_summaries(previous_summary_id);

-- index idx_checkpoints_block
CREATE INDEX idx_checkpoints_block ON memory_block_checkpoints(block_id, up_to_seq DESC, id DESC);

-- index idx_constellation_summaries_period
CREATE INDEX idx_constellation_summaries_period ON constellation_summaries(period_end DESC);

-- index idx_embeddings_content
CREATE INDEX idx_embeddings_content ON embeddings(content_type, content_id);

-- index idx_embeddings_folder
CREATE INDEX idx_embeddings_folder ON embeddings(folder_id, content_type) WHERE folder_id IS NOT NULL;

-- index idx_embeddings_owner
CREATE INDEX idx_embeddings_owner ON embeddings(agent_id, content_type);

-- index idx_events_agent
CREATE INDEX idx_events_agent ON events(agent_id);

-- index idx_events_starts
CREATE INDEX idx_events_starts ON events(starts_at);

-- index idx_folder_attachments_agent
CREATE INDEX idx_folder_attachments_agent ON folder_attachments(agent_id);

-- index idx_group_members_agent
CREATE INDEX idx_group_members_agent ON group_members(agent_id);

-- index idx_handoff_from
CREATE INDEX idx_handoff_from ON handoff_notes(from_agent);

-- index idx_handoff_to
CREATE INDEX idx_handoff_to ON handoff_notes(to_agent, read_at);

-- index idx_handoff_unread
CREATE INDEX idx_handoff_unread ON handoff_notes(to_agent) WHERE read_at IS NULL;

-- index idx_memory_blocks_active
CREATE INDEX idx_memory_blocks_active ON memory_blocks(agent_id, is_active);

-- index idx_memory_blocks_label
CREATE UNIQUE INDEX idx_memory_blocks_label ON memory_blocks(agent_id, label) WHERE is_active = 1;

-- index idx_memory_blocks_type
CREATE INDEX idx_memory_blocks_type ON memory_blocks(agent_id, block_type);

-- index idx_messages_agent_position
CREATE INDEX idx_messages_agent_position ON messages(agent_id, position);

-- index idx_messages_batch
CREATE INDEX idx_messages_batch ON messages(batch_id, sequence_in_batch) WHERE batch_id IS NOT NULL;

-- index idx_messages_live
CREATE INDEX idx_messages_live ON messages(agent_id, position) WHERE is_archived = 0 AND is_deleted = 0;

-- index idx_migration_audit_imported
CREATE INDEX idx_migration_audit_imported ON migration_audit(imported_at DESC);

-- index idx_notable_importance
CREATE INDEX idx_notable_importance ON notable_events(importance_rank, timestamp DESC);

-- index idx_notable_timestamp
CREATE INDEX idx_notable_timestamp ON notable_events(timestamp DESC);

-- index idx_occurrences_event
CREATE INDEX idx_occurrences_event ON event_occurrences(event_id);

-- index idx_occurrences_starts
CREATE INDEX idx_occurrences_starts ON event_occurrences(starts_at);

-- index idx_occurrences_status
CREATE INDEX idx_occurrences_status ON event_occurrences(status);

-- index idx_passages_file
CREATE INDEX idx_passages_file ON file_passages(file_id, chunk_index);

-- index idx_queued_messages_batch
CREATE INDEX idx_queued_messages_batch ON queued_messages(batch_id);

-- index idx_queued_messages_priority
CREATE INDEX idx_queued_messages_priority ON queued_messages(priority DESC, created_at);

-- index idx_queued_messages_target
CREATE INDEX idx_queued_messages_target ON queued_messages(target_agent_id, processed_at);

-- index idx_shared_block_agents_agent
CREATE INDEX idx_shared_block_agents_agent ON shared_block_agents(agent_id);

-- index idx_tasks_agent
CREATE INDEX idx_tasks_agent ON tasks(agent_id, status);

-- index idx_tasks_assigned
CREATE INDEX idx_tasks_assigned ON coordination_tasks(assigned_to);

-- index idx_tasks_due
CREATE INDEX idx_tasks_due ON tasks(due_at) WHERE due_at IS NOT NULL;

-- index idx_tasks_parent
CREATE INDEX idx_tasks_parent ON tasks(parent_task_id);

-- index idx_tasks_status
CREATE INDEX idx_tasks_status ON coordination_tasks(status, priority_rank DESC, created_at);

-- index idx_updates_active
CREATE INDEX idx_updates_active ON memory_block_updates(block_id, is_active, seq);

-- index idx_updates_block_seq
CREATE UNIQUE INDEX idx_updates_block_seq ON memory_block_updates(block_id, seq);

-- table activity_events
CREATE TABLE activity_events (
    id TEXT PRIMARY KEY NOT NULL,
    timestamp TEXT NOT NULL CHECK (timestamp GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
    event_type TEXT NOT NULL CHECK (event_type IN ('message_sent', 'tool_used', 'memory_updated', 'task_changed', 'agent_status_changed', 'external_event', 'coordination', 'system')),
    details TEXT NOT NULL CHECK (json_valid(details)),
    importance TEXT CHECK (importance IN ('low', 'medium', 'high', 'critical')),
    importance_rank INTEGER GENERATED ALWAYS AS (CASE importance WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 WHEN 'critical' THEN 3 END) VIRTUAL
) STRICT;

-- table agent_atproto_endpoints
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

-- table agent_data_sources
CREATE TABLE agent_data_sources (
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    notification_template TEXT,
    PRIMARY KEY (agent_id, source_id)
) STRICT;

-- table agent_groups
CREATE TABLE agent_groups (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    pattern_type TEXT NOT NULL CHECK (pattern_type IN ('round_robin', 'dynamic', 'pipeline', 'supervisor', 'voting', 'sleeptime')),
    pattern_config TEXT NOT NULL CHECK (json_valid(pattern_config)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table agent_summaries
CREATE TABLE agent_summaries (
    agent_id TEXT PRIMARY KEY NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    summary TEXT NOT NULL,
    messages_covered INTEGER NOT NULL DEFAULT 0 CHECK (messages_covered >= 0),
    generated_at TEXT NOT NULL CHECK (generated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    last_active TEXT NOT NULL CHECK (last_active GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table agents
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

-- table archival_entries
CREATE TABLE archival_entries (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL,
    content TEXT NOT NULL,
    metadata TEXT CHECK (json_valid(metadata)),
    chunk_index INTEGER NOT NULL DEFAULT 0 CHECK (chunk_index >= 0),
    parent_entry_id TEXT REFERENCES archival_entries(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table archival_fts
CREATE VIRTUAL TABLE archival_fts USING fts5(
    content, metadata,
    content='archival_entries', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);

-- table archival_fts_config
CREATE TABLE 'archival_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- table archival_fts_data
CREATE TABLE 'archival_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table archival_fts_docsize
CREATE TABLE 'archival_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table archival_fts_idx
CREATE TABLE 'archival_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table archive_summaries
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

-- table constellation_summaries
CREATE TABLE constellation_summaries (
    id TEXT PRIMARY KEY NOT NULL,
    period_start TEXT NOT NULL CHECK (period_start GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    period_end TEXT NOT NULL CHECK (period_end GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    summary TEXT NOT NULL,
    key_decisions TEXT CHECK (json_valid(key_decisions)),
    open_threads TEXT CHECK (json_valid(open_threads)),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table coordination_state
CREATE TABLE coordination_state (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_by TEXT
) STRICT;

-- table coordination_tasks
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

-- table data_sources
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

-- table embedding_meta
CREATE TABLE embedding_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT,
    dimensions INTEGER NOT NULL CHECK (dimensions BETWEEN 1 AND 8192),
    metric TEXT NOT NULL DEFAULT 'cosine' CHECK (metric IN ('cosine', 'l2', 'l1')),
    generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table embeddings
CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_type TEXT NOT NULL CHECK (content_type IN ('message', 'memory_block', 'archival_entry', 'file_passage')),
    content_id TEXT NOT NULL,
    chunk_index INTEGER CHECK (chunk_index >= 0),
    content_hash TEXT,
    agent_id TEXT,
    folder_id TEXT,
    embedding BLOB NOT NULL CHECK (length(embedding) > 0)
) STRICT;

-- table event_occurrences
CREATE TABLE event_occurrences (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    starts_at TEXT NOT NULL CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    ends_at TEXT CHECK (ends_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'active', 'completed', 'skipped', 'snoozed', 'cancelled')),
    notes TEXT,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table events
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

-- table file_passages
CREATE TABLE file_passages (
    id TEXT PRIMARY KEY NOT NULL,
    file_id TEXT NOT NULL REFERENCES folder_files(id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    start_line INTEGER,
    end_line INTEGER,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    chunk_index INTEGER NOT NULL DEFAULT 0 CHECK (chunk_index >= 0)
) STRICT;

-- table file_passages_fts
CREATE VIRTUAL TABLE file_passages_fts USING fts5(
    content,
    content='file_passages', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);

-- table file_passages_fts_config
CREATE TABLE 'file_passages_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- table file_passages_fts_data
CREATE TABLE 'file_passages_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table file_passages_fts_docsize
CREATE TABLE 'file_passages_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table file_passages_fts_idx
CREATE TABLE 'file_passages_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table folder_attachments
CREATE TABLE folder_attachments (
    folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    access TEXT NOT NULL DEFAULT 'read' CHECK (access IN ('read', 'read_write')),
    attached_at TEXT NOT NULL CHECK (attached_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    PRIMARY KEY (folder_id, agent_id)
) STRICT;

-- table folder_files
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

-- table folders
CREATE TABLE folders (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    path_type TEXT NOT NULL CHECK (path_type IN ('local', 'virtual', 'remote')),
    path_value TEXT,
    embedding_model TEXT NOT NULL,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table group_members
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    role TEXT CHECK (role IS NULL OR (json_valid(role) AND json_type(role) = 'object' AND coalesce(json_extract(role, '$.type'), '') IN ('supervisor', 'regular', 'observer', 'specialist'))),
    joined_at TEXT NOT NULL CHECK (joined_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    capabilities TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(capabilities)),
    PRIMARY KEY (group_id, agent_id)
) STRICT;

-- table handoff_notes
CREATE TABLE handoff_notes (
    id TEXT PRIMARY KEY NOT NULL,
    from_agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    to_agent TEXT REFERENCES agents(id) ON DELETE SET NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    read_at TEXT CHECK (read_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT;

-- table memory_block_checkpoints
CREATE TABLE memory_block_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE,
    snapshot BLOB NOT NULL,
    created_at TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updates_consolidated INTEGER NOT NULL DEFAULT 0 CHECK (updates_consolidated >= 0),
    frontier BLOB,
    up_to_seq INTEGER NOT NULL DEFAULT 0 CHECK (up_to_seq >= 0)
) STRICT;

-- table memory_block_updates
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

-- table memory_blocks
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

-- table memory_blocks_fts
CREATE VIRTUAL TABLE memory_blocks_fts USING fts5(
    label, description, content_preview,
    content='memory_blocks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);

-- table memory_blocks_fts_config
CREATE TABLE 'memory_blocks_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- table memory_blocks_fts_data
CREATE TABLE 'memory_blocks_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table memory_blocks_fts_docsize
CREATE TABLE 'memory_blocks_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table memory_blocks_fts_idx
CREATE TABLE 'memory_blocks_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table messages
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

-- table messages_fts
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content_preview,
    content='messages', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);

-- table messages_fts_config
CREATE TABLE 'messages_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- table messages_fts_data
CREATE TABLE 'messages_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table messages_fts_docsize
CREATE TABLE 'messages_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table messages_fts_idx
CREATE TABLE 'messages_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table migration_audit
CREATE TABLE migration_audit (
    id TEXT PRIMARY KEY NOT NULL,
    imported_at TEXT NOT NULL CHECK (imported_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    source_file TEXT NOT NULL,
    source_version INTEGER NOT NULL,
    issues_found INTEGER NOT NULL DEFAULT 0 CHECK (issues_found >= 0),
    issues_resolved INTEGER NOT NULL DEFAULT 0 CHECK (issues_resolved >= 0),
    audit_log TEXT NOT NULL CHECK (json_valid(audit_log))
) STRICT;

-- table notable_events
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

-- table pattern_db_migrations
CREATE TABLE pattern_db_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    execution_ms INTEGER NOT NULL
) STRICT
;

-- table queued_messages
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

-- table shared_block_agents
CREATE TABLE shared_block_agents (
    block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    permission TEXT NOT NULL DEFAULT 'read_only' CHECK (permission IN ('read_only', 'partner', 'human', 'append', 'read_write', 'admin')),
    attached_at TEXT NOT NULL CHECK (attached_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    PRIMARY KEY (block_id, agent_id)
) STRICT;

-- table tasks
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

-- trigger archival_ad
CREATE TRIGGER archival_ad AFTER DELETE ON archival_entries BEGIN
    INSERT INTO archival_fts(archival_fts, rowid, content, metadata) VALUES ('delete', old.rowid, old.content, old.metadata);
END;

-- trigger archival_ai
CREATE TRIGGER archival_ai AFTER INSERT ON archival_entries BEGIN
    INSERT INTO archival_fts(rowid, content, metadata) VALUES (new.rowid, new.content, new.metadata);
END;

-- trigger archival_au
CREATE TRIGGER archival_au AFTER UPDATE OF content, metadata ON archival_entries BEGIN
    INSERT INTO archival_fts(archival_fts, rowid, content, metadata) VALUES ('delete', old.rowid, old.content, old.metadata);
    INSERT INTO archival_fts(rowid, content, metadata) VALUES (new.rowid, new.content, new.metadata);
END;

-- trigger archival_vectors_ad
CREATE TRIGGER archival_vectors_ad AFTER DELETE ON archival_entries
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'archival_entry' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'archival_entry' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger archival_vectors_ai
CREATE TRIGGER archival_vectors_ai AFTER INSERT ON archival_entries
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger archival_vectors_au
CREATE TRIGGER archival_vectors_au AFTER UPDATE OF agent_id ON archival_entries
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger file_passages_ad
CREATE TRIGGER file_passages_ad AFTER DELETE ON file_passages BEGIN
    INSERT INTO file_passages_fts(file_passages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;

-- trigger file_passages_ai
CREATE TRIGGER file_passages_ai AFTER INSERT ON file_passages BEGIN
    INSERT INTO file_passages_fts(rowid, content) VALUES (new.rowid, new.content);
END;

-- trigger file_passages_au
CREATE TRIGGER file_passages_au AFTER UPDATE OF content ON file_passages BEGIN
    INSERT INTO file_passages_fts(file_passages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO file_passages_fts(rowid, content) VALUES (new.rowid, new.content);
END;

-- trigger file_passages_vectors_ad
CREATE TRIGGER file_passages_vectors_ad AFTER DELETE ON file_passages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'file_passage' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'file_passage' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger file_passages_vectors_ai
CREATE TRIGGER file_passages_vectors_ai AFTER INSERT ON file_passages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
             AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)))
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, NULL, (SELECT folder_id FROM folder_files WHERE id = new.file_id), embedding
    FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)) ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id));
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger file_passages_vectors_au
CREATE TRIGGER file_passages_vectors_au AFTER UPDATE OF file_id ON file_passages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
             AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)))
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, NULL, (SELECT folder_id FROM folder_files WHERE id = new.file_id), embedding
    FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)) ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id));
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger folder_files_vectors_au
CREATE TRIGGER folder_files_vectors_au AFTER UPDATE OF folder_id ON folder_files
WHEN new.folder_id IS NOT old.folder_id AND EXISTS (
    SELECT 1 FROM embeddings AS e JOIN file_passages AS p ON p.id = e.content_id
    WHERE e.content_type = 'file_passage' AND p.file_id = new.id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT e.content_type, e.content_id, e.chunk_index, e.content_hash, NULL, new.folder_id, e.embedding
    FROM embeddings AS e JOIN file_passages AS p ON p.id = e.content_id
    WHERE e.content_type = 'file_passage' AND p.file_id = new.id AND e.folder_id IS NOT new.folder_id ORDER BY e.id;
    DELETE FROM embeddings WHERE content_type = 'file_passage'
        AND content_id IN (SELECT id FROM file_passages WHERE file_id = new.id) AND folder_id IS NOT new.folder_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger memory_blocks_ad
CREATE TRIGGER memory_blocks_ad AFTER DELETE ON memory_blocks BEGIN
    INSERT INTO memory_blocks_fts(memory_blocks_fts, rowid, label, description, content_preview) VALUES ('delete', old.rowid, old.label, old.description, old.content_preview);
END;

-- trigger memory_blocks_ai
CREATE TRIGGER memory_blocks_ai AFTER INSERT ON memory_blocks BEGIN
    INSERT INTO memory_blocks_fts(rowid, label, description, content_preview) VALUES (new.rowid, new.label, new.description, new.content_preview);
END;

-- trigger memory_blocks_au
CREATE TRIGGER memory_blocks_au AFTER UPDATE OF label, description, content_preview ON memory_blocks BEGIN
    INSERT INTO memory_blocks_fts(memory_blocks_fts, rowid, label, description, content_preview) VALUES ('delete', old.rowid, old.label, old.description, old.content_preview);
    INSERT INTO memory_blocks_fts(rowid, label, description, content_preview) VALUES (new.rowid, new.label, new.description, new.content_preview);
END;

-- trigger memory_blocks_vectors_ad
CREATE TRIGGER memory_blocks_vectors_ad AFTER DELETE ON memory_blocks
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'memory_block' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'memory_block' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger memory_blocks_vectors_ai
CREATE TRIGGER memory_blocks_vectors_ai AFTER INSERT ON memory_blocks
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger memory_blocks_vectors_au
CREATE TRIGGER memory_blocks_vectors_au AFTER UPDATE OF agent_id ON memory_blocks
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger messages_ad
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content_preview) VALUES ('delete', old.rowid, old.content_preview);
END;

-- trigger messages_ai
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content_preview) VALUES (new.rowid, new.content_preview);
END;

-- trigger messages_au
CREATE TRIGGER messages_au AFTER UPDATE OF content_preview ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content_preview) VALUES ('delete', old.rowid, old.content_preview);
    INSERT INTO messages_fts(rowid, content_preview) VALUES (new.rowid, new.content_preview);
END;

-- trigger messages_vectors_ad
CREATE TRIGGER messages_vectors_ad AFTER DELETE ON messages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger messages_vectors_ai
CREATE TRIGGER messages_vectors_ai AFTER INSERT ON messages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger messages_vectors_au
CREATE TRIGGER messages_vectors_au AFTER UPDATE OF agent_id ON messages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- trigger messages_vectors_tombstone
CREATE TRIGGER messages_vectors_tombstone AFTER UPDATE OF is_deleted ON messages
WHEN new.is_deleted = 1 AND EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = new.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = new.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;


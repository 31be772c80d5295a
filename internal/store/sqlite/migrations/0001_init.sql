-- 0001: the initial schema.
--
-- Times are UTC unix nanoseconds (0 = the zero time); maps and lists are JSON
-- text; booleans are 0/1. Record and golden rows are WITHOUT ROWID because
-- every lookup goes by their text primary key.

CREATE TABLE records (
    system      TEXT    NOT NULL,
    datatype    TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    hash        TEXT    NOT NULL DEFAULT '',
    fields      TEXT    NOT NULL DEFAULT '{}',
    field_times TEXT    NOT NULL DEFAULT '{}',
    modified    INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,
    golden_id   TEXT    NOT NULL DEFAULT '',
    based_on    TEXT    NOT NULL DEFAULT '',
    pending     INTEGER NOT NULL DEFAULT 0,
    seen_gen    INTEGER NOT NULL DEFAULT 0,
    excluded    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (system, datatype, id)
) WITHOUT ROWID;

-- Unlinked records are the bulk during a first sync and are never looked up
-- by golden id, so they stay out of the index.
CREATE INDEX records_golden ON records (golden_id) WHERE golden_id <> '';
CREATE INDEX records_pending ON records (system, datatype, id) WHERE pending = 1;

CREATE TABLE goldens (
    id      TEXT    NOT NULL PRIMARY KEY,
    type    TEXT    NOT NULL,
    props   TEXT    NOT NULL DEFAULT '{}',
    prov    TEXT    NOT NULL DEFAULT '[]',
    deleted INTEGER NOT NULL DEFAULT 0,
    dirty   INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX goldens_dirty ON goldens (type, id) WHERE dirty = 1;

CREATE TABLE match_keys (
    type      TEXT NOT NULL,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    PRIMARY KEY (type, name, value, golden_id)
) WITHOUT ROWID;

CREATE INDEX match_keys_golden ON match_keys (golden_id);

CREATE TABLE intents (
    id         TEXT    NOT NULL PRIMARY KEY,
    golden_id  TEXT    NOT NULL,
    system     TEXT    NOT NULL,
    datatype   TEXT    NOT NULL,
    gen        INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX intents_golden ON intents (golden_id);

CREATE TABLE cursors (
    system       TEXT    NOT NULL,
    datatype     TEXT    NOT NULL,
    value        TEXT    NOT NULL DEFAULT '',
    page_token   TEXT    NOT NULL DEFAULT '',
    gen          INTEGER NOT NULL DEFAULT 0,
    scan_gen     INTEGER NOT NULL DEFAULT 0,
    last_success INTEGER NOT NULL DEFAULT 0,
    last_scan    INTEGER NOT NULL DEFAULT 0,
    breaker      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (system, datatype)
) WITHOUT ROWID;

CREATE TABLE dead_letters (
    system   TEXT    NOT NULL,
    datatype TEXT    NOT NULL,
    stage    TEXT    NOT NULL,
    ref      TEXT    NOT NULL,
    reason   TEXT    NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    parked   INTEGER NOT NULL DEFAULT 0,
    first    INTEGER NOT NULL DEFAULT 0,
    last     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (system, datatype, stage, ref)
) WITHOUT ROWID;

CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    golden_id TEXT    NOT NULL DEFAULT '',
    system    TEXT    NOT NULL DEFAULT '',
    datatype  TEXT    NOT NULL DEFAULT '',
    record_id TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT '',
    props     TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX events_golden ON events (golden_id);
CREATE INDEX events_record ON events (system, datatype, record_id);

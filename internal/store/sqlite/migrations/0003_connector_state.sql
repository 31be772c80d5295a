-- Small values connectors keep between runs and share between workers
-- (OAuth tokens): changed only by compare-and-swap on version.
CREATE TABLE connector_state (
    system  TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    updated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (system, key)
) WITHOUT ROWID;

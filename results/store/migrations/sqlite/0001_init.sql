-- 0001: journeys, their runs, the runs' steps and artifacts, and the
-- content-addressed blobs the artifacts point at.
--
-- Conventions for every table: times are INTEGER unix milliseconds in UTC
-- (NULL when unknown), durations are INTEGER milliseconds (*_ms columns),
-- booleans are 0/1, and text columns are NOT NULL with '' for "none".

CREATE TABLE journeys (
    name            TEXT PRIMARY KEY,
    title           TEXT NOT NULL DEFAULT '',
    file            TEXT NOT NULL DEFAULT '',
    definition_hash TEXT NOT NULL DEFAULT '',
    owner           TEXT NOT NULL DEFAULT '',
    customer        TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    schedule        TEXT NOT NULL DEFAULT '',   -- cron spec, '' = on demand
    enabled         BOOLEAN NOT NULL DEFAULT 1,
    updated_at      INTEGER NOT NULL
);

-- runs.journey is deliberately not a foreign key: runs outlive the journey
-- files they came from, and a run may be recorded without its journey.
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    journey         TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    file            TEXT NOT NULL DEFAULT '',
    "trigger"       TEXT NOT NULL DEFAULT '',
    location        TEXT NOT NULL DEFAULT '',
    started_at      INTEGER,
    finished_at     INTEGER,
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT NOT NULL,
    failing_step    INTEGER NOT NULL DEFAULT 0,
    cause           TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    browser_version TEXT NOT NULL DEFAULT '',
    definition_hash TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 1
);

-- Recent runs, runs of a journey by time, and runs with an outcome (failed)
-- by time.
CREATE INDEX runs_started ON runs (started_at);
CREATE INDEX runs_journey_started ON runs (journey, started_at);
CREATE INDEX runs_outcome_started ON runs (outcome, started_at);

-- The page timing columns (ttfb_ms … bytes) are all NULL for a step without
-- page timings and all set for a step with them.
CREATE TABLE steps (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL, -- 1-based
    name        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL DEFAULT '',
    line        INTEGER NOT NULL DEFAULT 0,
    start_ms    INTEGER NOT NULL DEFAULT 0, -- offset from the run start
    duration_ms INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    optional    BOOLEAN NOT NULL DEFAULT 0,
    cause       TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    expected    TEXT NOT NULL DEFAULT '',
    actual      TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    http_status INTEGER NOT NULL DEFAULT 0,
    ttfb_ms     INTEGER,
    dcl_ms      INTEGER,
    load_ms     INTEGER,
    lcp_ms      INTEGER,
    cls         REAL,
    requests    INTEGER,
    bytes       INTEGER,
    PRIMARY KEY (run_id, idx)
);

-- Content-addressed: hash is the hex sha256 of bytes, so identical content
-- is stored once however many artifacts point at it.
CREATE TABLE blobs (
    hash  TEXT PRIMARY KEY,
    size  INTEGER NOT NULL,
    bytes BLOB NOT NULL
);

CREATE TABLE artifacts (
    run_id   TEXT NOT NULL,
    step_idx INTEGER NOT NULL,
    seq      INTEGER NOT NULL, -- order among the step's artifacts, from 0
    kind     TEXT NOT NULL,
    label    TEXT NOT NULL DEFAULT '',
    hash     TEXT NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (run_id, step_idx, seq),
    FOREIGN KEY (run_id, step_idx) REFERENCES steps (run_id, idx) ON DELETE CASCADE
);

-- Finds the artifacts of a blob: for the foreign key check when a blob is
-- deleted, and for retention to find unreferenced blobs.
CREATE INDEX artifacts_hash ON artifacts (hash);

-- 0001 (PostgreSQL): journeys, their runs, the runs' steps and artifacts,
-- and the content-addressed blobs the artifacts point at. The same schema
-- as sqlite/0001_init.sql in the types PostgreSQL takes.
--
-- Conventions for every table: times are BIGINT unix milliseconds in UTC
-- (NULL when unknown; milliseconds overflow INTEGER), durations are BIGINT
-- milliseconds (*_ms columns), booleans are BOOLEAN, and text columns are
-- NOT NULL with '' for "none". Names and ids compare and sort byte by byte
-- (COLLATE "C"), as in SQLite, whatever the database's own collation.

CREATE TABLE journeys (
    name            TEXT COLLATE "C" PRIMARY KEY,
    title           TEXT NOT NULL DEFAULT '',
    file            TEXT COLLATE "C" NOT NULL DEFAULT '',
    definition_hash TEXT NOT NULL DEFAULT '',
    owner           TEXT NOT NULL DEFAULT '',
    customer        TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    schedule        TEXT NOT NULL DEFAULT '',   -- cron spec, '' = on demand
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at      BIGINT NOT NULL
);

-- runs.journey is deliberately not a foreign key: runs outlive the journey
-- files they came from, and a run may be recorded without its journey.
CREATE TABLE runs (
    id              TEXT COLLATE "C" PRIMARY KEY,
    journey         TEXT COLLATE "C" NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    file            TEXT NOT NULL DEFAULT '',
    "trigger"       TEXT NOT NULL DEFAULT '',
    location        TEXT COLLATE "C" NOT NULL DEFAULT '',
    started_at      BIGINT,
    finished_at     BIGINT,
    duration_ms     BIGINT NOT NULL DEFAULT 0,
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
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL, -- 1-based
    name        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL DEFAULT '',
    line        INTEGER NOT NULL DEFAULT 0,
    start_ms    BIGINT NOT NULL DEFAULT 0, -- offset from the run start
    duration_ms BIGINT NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    optional    BOOLEAN NOT NULL DEFAULT FALSE,
    cause       TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    expected    TEXT NOT NULL DEFAULT '',
    actual      TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    http_status INTEGER NOT NULL DEFAULT 0,
    ttfb_ms     BIGINT,
    dcl_ms      BIGINT,
    load_ms     BIGINT,
    lcp_ms      BIGINT,
    cls         DOUBLE PRECISION, -- REAL is 4 bytes here, 8 in SQLite
    requests    INTEGER,
    bytes       BIGINT,
    PRIMARY KEY (run_id, idx)
);

-- Content-addressed: hash is the hex sha256 of bytes, so identical content
-- is stored once however many artifacts point at it.
CREATE TABLE blobs (
    hash  TEXT COLLATE "C" PRIMARY KEY,
    size  BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE TABLE artifacts (
    run_id   TEXT COLLATE "C" NOT NULL,
    step_idx INTEGER NOT NULL,
    seq      INTEGER NOT NULL, -- order among the step's artifacts, from 0
    kind     TEXT NOT NULL,
    label    TEXT NOT NULL DEFAULT '',
    hash     TEXT COLLATE "C" NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (run_id, step_idx, seq),
    FOREIGN KEY (run_id, step_idx) REFERENCES steps (run_id, idx) ON DELETE CASCADE
);

-- Finds the artifacts of a blob: for the foreign key check when a blob is
-- deleted, and for retention to find unreferenced blobs.
CREATE INDEX artifacts_hash ON artifacts (hash);

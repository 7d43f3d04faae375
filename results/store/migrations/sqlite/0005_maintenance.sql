-- 0005: maintenance windows made on the spot (`waymark maintenance
-- start`, a CI pipeline silencing its own site while it deploys). Windows
-- from waymark.yaml are not stored: the file is read at every start.
--
-- A window covers the journeys its match selects (every field that is
-- not '' must match, and at least one is set) from starts_at until
-- ends_at, or until ended_at when it was ended early. Rows are kept once
-- over, so `waymark maintenance` can show the recent ones.

-- name, reason: what the window is for and why, as given.
-- journey, tag, customer: the match.
-- created_by: who or what made it; created_at: when.
-- ended_at: when it was ended early; NULL while it runs its course.
CREATE TABLE maintenance (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    journey    TEXT NOT NULL DEFAULT '',
    tag        TEXT NOT NULL DEFAULT '',
    customer   TEXT NOT NULL DEFAULT '',
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    ended_at   INTEGER,
    CONSTRAINT maintenance_match CHECK (journey <> '' OR tag <> '' OR customer <> ''),
    CONSTRAINT maintenance_span CHECK (ends_at > starts_at)
);

-- The windows active or over since a time: read before every run's
-- incident policy, so by when they end.
CREATE INDEX maintenance_ends ON maintenance (ends_at);

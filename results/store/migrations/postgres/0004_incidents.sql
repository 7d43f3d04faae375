-- 0004 (PostgreSQL): incidents, as sqlite/0004_incidents.sql. A run
-- records the maintenance window it ran in; each
-- journey and location keeps its alert state (the incident policy's
-- memory of its last runs); incidents and their timelines; references
-- WM-<id> come from the id, unique across agents.

-- The name (or reason) of the maintenance window the run ran in; '' when
-- none. Such a run is kept but opens and resolves nothing.
ALTER TABLE runs ADD COLUMN maintenance TEXT NOT NULL DEFAULT '';

-- state: JSON of results.TrackerState, updated in the transaction of each
-- run of the journey in the location.
CREATE TABLE alert_states (
    journey    TEXT COLLATE "C" NOT NULL,
    location   TEXT COLLATE "C" NOT NULL,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (journey, location)
);

-- kind: site (the journey fails) or monitor (the monitor cannot check it).
-- location: '' for a site incident over every location of the journey.
-- step, step_name, cause, error: what failed in the run that opened it.
-- route, level: the route that took it and the escalation level reached;
-- next_escalation_at and next_reminder_at are NULL when none is due.
CREATE TABLE incidents (
    id                 BIGSERIAL PRIMARY KEY,
    journey            TEXT COLLATE "C" NOT NULL,
    location           TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind               TEXT NOT NULL CHECK (kind IN ('site', 'monitor')),
    severity           TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    state              TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at          BIGINT NOT NULL,
    acknowledged_at    BIGINT,
    acknowledged_by    TEXT NOT NULL DEFAULT '',
    resolved_at        BIGINT,
    resolved_by        TEXT NOT NULL DEFAULT '',
    first_run          TEXT NOT NULL DEFAULT '',
    last_run           TEXT NOT NULL DEFAULT '',
    first_failure_at   BIGINT NOT NULL,
    failures           INTEGER NOT NULL DEFAULT 0,
    step               INTEGER NOT NULL DEFAULT 0,
    step_name          TEXT NOT NULL DEFAULT '',
    cause              TEXT NOT NULL DEFAULT '',
    error              TEXT NOT NULL DEFAULT '',
    ticket_id          TEXT NOT NULL DEFAULT '',
    route              INTEGER NOT NULL DEFAULT -1,
    level              INTEGER NOT NULL DEFAULT 0,
    next_escalation_at BIGINT,
    next_reminder_at   BIGINT
);

-- One open incident per journey, location and kind, whatever the agents do.
CREATE UNIQUE INDEX incidents_one_open ON incidents (journey, location, kind) WHERE state <> 'resolved';
CREATE INDEX incidents_opened ON incidents (opened_at);

-- The timeline. kind: opened, failed_again (one row per incident, count
-- and at updated), escalated, reminded, acknowledged, note, remediation,
-- notification, resolved. delivery: for notifications, pending, delivered
-- or failed. detail: what a person wrote, or what a channel answered.
CREATE TABLE incident_events (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    by_whom     TEXT NOT NULL DEFAULT '',
    run_id      TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL DEFAULT '',
    delivery    TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    count       INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

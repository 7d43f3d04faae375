-- 0003 (PostgreSQL): what `waymark serve` keeps besides runs, as
-- sqlite/0003_serve.sql. Journeys gain their definition, locations and load
-- error; a run records its slot; agents report by heartbeat; the
-- dispatcher records the last slot it inserted per journey and location;
-- skipped and dropped slots are kept to be counted.
--
-- Journeys rows stored before this migration read as no definition (''),
-- every location ('[]') and no load error ('').

-- definition: the journey file's YAML as last loaded without error.
-- locations: JSON array of location labels, '[]' = every location.
-- load_error: why the file failed to load the last time, '' when it loaded.
ALTER TABLE journeys ADD COLUMN definition TEXT NOT NULL DEFAULT '';
ALTER TABLE journeys ADD COLUMN locations TEXT NOT NULL DEFAULT '[]';
ALTER TABLE journeys ADD COLUMN load_error TEXT NOT NULL DEFAULT '';

-- The due time of the schedule slot a run is for; NULL for a run nobody
-- scheduled (CI, by hand) and for runs stored before this migration.
ALTER TABLE runs ADD COLUMN slot BIGINT;

-- One row per running agent, written every heartbeat, removed at a clean
-- shutdown. running: runs in progress at the last heartbeat.
CREATE TABLE agents (
    id         TEXT COLLATE "C" PRIMARY KEY,
    location   TEXT COLLATE "C" NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    host       TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    running    INTEGER NOT NULL DEFAULT 0
);

-- The last slot the dispatcher inserted a job for; it only moves forward.
CREATE TABLE dispatch (
    journey   TEXT COLLATE "C" NOT NULL,
    location  TEXT COLLATE "C" NOT NULL,
    last_slot BIGINT NOT NULL,
    PRIMARY KEY (journey, location)
);

-- Slots that did not run: 'skipped' (the previous run still went on) or
-- 'dropped' (too old when picked up, or fell due while no leader
-- dispatched). A slot is counted once per reason however often it is
-- recorded. at: when it was recorded; agent: by which agent.
CREATE TABLE slot_misses (
    journey  TEXT COLLATE "C" NOT NULL,
    location TEXT COLLATE "C" NOT NULL,
    slot     BIGINT NOT NULL,
    reason   TEXT NOT NULL CHECK (reason IN ('skipped', 'dropped')),
    at       BIGINT NOT NULL,
    agent    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (journey, location, slot, reason)
);

-- Counts since a time.
CREATE INDEX slot_misses_slot ON slot_misses (slot);

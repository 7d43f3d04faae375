-- 0006 (PostgreSQL): retention. Hourly aggregates of the runs of each
-- journey in each location and of each journey's steps, kept longer than
-- the raw runs they summarise, and how far aggregation has gone. The same
-- schema as sqlite/0006_retention.sql in the types PostgreSQL takes.
--
-- hour: the start of the hour (UTC, unix milliseconds) the runs started
-- in. Attempts that were retried are left out: the next attempt stands for
-- the slot. p50_ms, p95_ms and max_ms are nearest-rank percentiles of the
-- durations of the runs (steps) that checked the site, the passed,
-- degraded and failed ones; 0 when none did.

-- runs counts every outcome: passed + degraded + failed + errors + aborted.
CREATE TABLE journey_hours (
    journey  TEXT COLLATE "C" NOT NULL,
    location TEXT COLLATE "C" NOT NULL,
    hour     BIGINT NOT NULL,
    runs     INTEGER NOT NULL,
    passed   INTEGER NOT NULL,
    degraded INTEGER NOT NULL,
    failed   INTEGER NOT NULL,
    errors   INTEGER NOT NULL,
    aborted  INTEGER NOT NULL,
    p50_ms   BIGINT NOT NULL,
    p95_ms   BIGINT NOT NULL,
    max_ms   BIGINT NOT NULL,
    PRIMARY KEY (journey, location, hour)
);

-- runs counts the steps that checked the site (passed, degraded, failed),
-- failures the failed ones among them; skipped, error and aborted steps
-- are not counted.
CREATE TABLE step_hours (
    journey  TEXT COLLATE "C" NOT NULL,
    idx      INTEGER NOT NULL, -- 1-based
    name     TEXT COLLATE "C" NOT NULL,
    hour     BIGINT NOT NULL,
    runs     INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    p50_ms   BIGINT NOT NULL,
    p95_ms   BIGINT NOT NULL,
    max_ms   BIGINT NOT NULL,
    PRIMARY KEY (journey, idx, name, hour)
);

-- Retention deletes by age.
CREATE INDEX journey_hours_hour ON journey_hours (hour);
CREATE INDEX step_hours_hour ON step_hours (hour);

-- One row: the runs that started before aggregated_until (unix
-- milliseconds, an hour boundary; 0 = none yet) have been aggregated. Runs
-- are deleted only below it, so none is deleted before it is counted.
CREATE TABLE aggregation (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    aggregated_until BIGINT NOT NULL
);
INSERT INTO aggregation (id, aggregated_until) VALUES (1, 0);

-- 0007: forecasts. The latest forecast of each step of a journey that has
-- a warn threshold, as the daily forecast job left it: the trend of the
-- step's p95 over the hourly aggregates, and when it crosses the
-- threshold. One row per step, replaced every day; a step no longer
-- forecast (its journey gone, its threshold removed, too few days of
-- runs) loses its row.
--
-- idx: the step's 1-based index in its runs; name: its name then (a step
-- renamed or moved starts afresh).
-- computed_at: when the job computed it (unix milliseconds).
-- p95_ms: the p95 the trend has now; slope_ms_per_day: how much it
-- changes a day (negative: falling); warn_ms: the threshold.
-- crosses_at: when the p95 crosses warn_ms, when that is within the
-- horizon and sure; NULL otherwise.
-- notified_at: when the routes were last told of it; the job tells them
-- at most once a week per step. NULL: never.
CREATE TABLE forecasts (
    journey          TEXT NOT NULL,
    idx              INTEGER NOT NULL,
    name             TEXT NOT NULL,
    computed_at      INTEGER NOT NULL,
    p95_ms           INTEGER NOT NULL,
    slope_ms_per_day INTEGER NOT NULL,
    warn_ms          INTEGER NOT NULL,
    crosses_at       INTEGER,
    notified_at      INTEGER,
    PRIMARY KEY (journey, idx)
);

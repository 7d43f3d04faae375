-- 0007 (PostgreSQL): forecasts. The latest forecast of each step of a
-- journey that has a warn threshold, as the daily forecast job left it:
-- the trend of the step's p95 over the hourly aggregates, and when it
-- crosses the threshold. The same schema as sqlite/0007_forecasts.sql in
-- the types PostgreSQL takes.
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
    journey          TEXT COLLATE "C" NOT NULL,
    idx              INTEGER NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    computed_at      BIGINT NOT NULL,
    p95_ms           BIGINT NOT NULL,
    slope_ms_per_day BIGINT NOT NULL,
    warn_ms          BIGINT NOT NULL,
    crosses_at       BIGINT,
    notified_at      BIGINT,
    PRIMARY KEY (journey, idx)
);

-- 0002: the monitor's own time around a run and whether the attempt was
-- retried; the page's console and the monitor's notes on each step.
--
-- console is a JSON array of {"kind", "text", "source", "at_ms"} objects
-- (at_ms: offset from the run start in milliseconds), notes a JSON array of
-- strings; both are '[]' when there is none. Rows stored before this
-- migration read as no set-up time, not retried, no console and no notes.

ALTER TABLE runs ADD COLUMN setup_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN retried BOOLEAN NOT NULL DEFAULT 0;

ALTER TABLE steps ADD COLUMN console TEXT NOT NULL DEFAULT '[]';
ALTER TABLE steps ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';

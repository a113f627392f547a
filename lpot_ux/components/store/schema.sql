-- Every benchmark run the server was asked for, newest last.
CREATE TABLE IF NOT EXISTS runs (
    run_key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,               -- workload id given by the user
    status TEXT NOT NULL,           -- queued, running, success, failure, error, interrupted
    created_at TEXT NOT NULL,       -- ISO 8601, UTC
    started_at TEXT,
    finished_at TEXT,
    request TEXT NOT NULL,          -- the checked request, JSON
    data TEXT,                      -- data of the last event, JSON
    message TEXT,                   -- why a run failed
    workload_dir TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (id, run_key);

"""Keep every benchmark run in SQLite, beside its schema; all SQL lives here."""

import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).with_name("schema.sql")
DATABASE_NAME = "lpot_ux.db"
ACTIVE_STATUSES = ("queued", "running")

INSERT_RUN = """
    INSERT INTO runs (id, status, created_at, request, workload_dir)
    VALUES (?, 'queued', ?, ?, ?)
"""
START_RUN = "UPDATE runs SET status = 'running', started_at = ? WHERE run_key = ?"
UPDATE_DATA = "UPDATE runs SET data = ? WHERE run_key = ?"
FINISH_RUN = """
    UPDATE runs SET status = ?, finished_at = ?, data = ?, message = ?
    WHERE run_key = ?
"""
INTERRUPT_ACTIVE = """
    UPDATE runs SET status = 'interrupted', finished_at = ?,
        message = 'The server stopped before the run finished.'
    WHERE status IN ('queued', 'running')
"""
SELECT_LATEST = "SELECT * FROM runs WHERE id = ? ORDER BY run_key DESC LIMIT 1"
SELECT_ALL = "SELECT * FROM runs ORDER BY run_key DESC LIMIT ?"
SELECT_IN_WORKLOAD = "SELECT MAX(run_key) FROM runs WHERE workload_dir = ? AND run_key < ?"
MOVE_WORKLOAD = "UPDATE runs SET workload_dir = ? WHERE workload_dir = ? AND run_key < ?"
SELECT_ACTIVE = "SELECT 1 FROM runs WHERE id = ? AND status IN ('queued', 'running')"


def utc_now() -> str:
    """Return the current time as ISO 8601 in UTC."""

    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def row_to_run(row: sqlite3.Row) -> dict[str, Any]:
    """Return a database row as a run mapping with its JSON decoded."""
    run = dict(row)
    run["request"] = json.loads(run["request"])
    run["data"] = json.loads(run["data"]) if run["data"] else {}

    return run


class RunStore:
    """The one writer of the results database of a workspace."""

    def __init__(self, workspace: Path) -> None:
        workspace.mkdir(parents=True, exist_ok=True)
        self.path = workspace / DATABASE_NAME
        self.connection = sqlite3.connect(self.path, check_same_thread=False)
        self.connection.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        with self.lock, self.connection:
            self.connection.executescript(SCHEMA.read_text())

    def execute(self, sql: str, parameters: tuple = ()) -> sqlite3.Cursor:
        """Run one statement in its own transaction."""
        with self.lock, self.connection:
            return self.connection.execute(sql, parameters)

    def add_run(self, run_id: str, request: dict[str, Any], workload_dir: Path) -> int:
        """Record a queued run and return its key."""
        cursor = self.execute(
            INSERT_RUN, (run_id, utc_now(), json.dumps(request), str(workload_dir))
        )

        return cursor.lastrowid

    def start_run(self, run_key: int) -> None:
        """Mark a run as running."""
        self.execute(START_RUN, (utc_now(), run_key))

    def update_data(self, run_key: int, data: dict[str, Any]) -> None:
        """Keep the data of the latest event of a run."""
        self.execute(UPDATE_DATA, (json.dumps(data), run_key))

    def finish_run(
        self, run_key: int, status: str, data: dict[str, Any], message: str | None = None
    ) -> None:
        """Record how a run ended."""
        self.execute(FINISH_RUN, (status, utc_now(), json.dumps(data), message, run_key))

    def interrupt_active_runs(self) -> int:
        """Mark runs left queued or running by a stopped server as interrupted."""

        return self.execute(INTERRUPT_ACTIVE, (utc_now(),)).rowcount

    def is_active(self, run_id: str) -> bool:
        """Tell whether a run with this id is queued or running."""

        return self.execute(SELECT_ACTIVE, (run_id,)).fetchone() is not None

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """Return the latest run with this id, None when there is none."""
        row = self.execute(SELECT_LATEST, (run_id,)).fetchone()

        return row_to_run(row) if row else None

    def list_runs(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Return the runs, newest first."""

        return [row_to_run(row) for row in self.execute(SELECT_ALL, (limit,)).fetchall()]

    def latest_run_in(self, workload_dir: Path, before: int) -> int | None:
        """Return the key of the latest run before another that used a workload folder."""

        return self.execute(SELECT_IN_WORKLOAD, (str(workload_dir), before)).fetchone()[0]

    def move_workload(self, old: Path, new: Path, before: int) -> None:
        """Record that the files of the runs before another now live in another folder."""
        self.execute(MOVE_WORKLOAD, (str(new), str(old), before))

    def close(self) -> None:
        """Close the database."""
        self.connection.close()

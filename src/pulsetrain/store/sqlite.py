"""SQLite store of runs and their per-epoch metrics.

Tables::

    runs(key TEXT PRIMARY KEY, config TEXT (JSON), status TEXT, updated TEXT)
    epochs(key TEXT, epoch INTEGER, metrics TEXT (JSON), PRIMARY KEY (key, epoch))

Each write is its own transaction, so an interrupted run leaves every epoch
written before the interruption intact, and rewriting an epoch replaces it
(no duplicates).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pulsetrain.training.records import RunEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, config TEXT NOT NULL,
                                 status TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS epochs (key TEXT NOT NULL, epoch INTEGER NOT NULL,
                                   metrics TEXT NOT NULL, PRIMARY KEY (key, epoch));
"""


class ResultStore:
    """Runs and epochs in one SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def put_run(self, key: str, config: dict[str, Any], status: str) -> None:
        """Insert or update a run's config and status (``running``/``done``)."""
        now = datetime.now(timezone.utc).isoformat()
        with self._connect() as con:
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                        "config=excluded.config, status=excluded.status, "
                        "updated=excluded.updated", (key, json.dumps(config), status, now))

    def put_epoch(self, key: str, epoch: int, metrics: dict[str, Any]) -> None:
        """Insert or replace one epoch's metrics."""
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                        (key, epoch, json.dumps(metrics)))

    def apply(self, event: RunEvent) -> None:
        """Record what a run reported (``start``/``done``: its row; ``epoch``: the epoch)."""
        if event.kind == "epoch":
            self.put_epoch(event.key, event.epoch, event.metrics)
        else:
            self.put_run(event.key, event.config, event.status)

    def run_status(self, key: str) -> str | None:
        """Status of a run, or ``None`` if unknown."""
        with self._connect() as con:
            row = con.execute("SELECT status FROM runs WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def epochs(self, key: str) -> list[dict[str, Any]]:
        """All epochs of a run, in order."""
        with self._connect() as con:
            rows = con.execute("SELECT metrics FROM epochs WHERE key = ? ORDER BY epoch",
                               (key,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def keys(self) -> list[str]:
        """Keys of all runs."""
        with self._connect() as con:
            return [str(r[0]) for r in con.execute("SELECT key FROM runs ORDER BY key")]

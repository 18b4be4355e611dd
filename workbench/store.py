"""Campaign state in SQLite: one file under the workbench home, one transaction per step.

The home is ``.workbench/`` in the current folder unless ``--home`` or ``WORKBENCH_HOME`` says
otherwise. The schema carries a version; a newer file than this code understands is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .errors import WorkbenchError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
    name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, spec_path TEXT NOT NULL, spec_json TEXT NOT NULL,
    task_type TEXT NOT NULL, backend TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    campaign TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
    sha256 TEXT NOT NULL, text TEXT NOT NULL, metadata_json TEXT NOT NULL,
    PRIMARY KEY (campaign, id));
CREATE TABLE IF NOT EXISTS units (
    campaign TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, document_id TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, context TEXT,
    is_gold INTEGER NOT NULL DEFAULT 0, gold_json TEXT,
    prelabel_json TEXT, prelabel_score REAL,
    PRIMARY KEY (campaign, id));
CREATE TABLE IF NOT EXISTS annotators (
    campaign TEXT NOT NULL, id TEXT NOT NULL, persona TEXT, lean TEXT, email TEXT,
    PRIMARY KEY (campaign, id));
CREATE TABLE IF NOT EXISTS assignments (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (campaign, unit_id, annotator_id));
CREATE TABLE IF NOT EXISTS backend_tasks (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, backend TEXT NOT NULL, task_id TEXT NOT NULL,
    pushed_at TEXT NOT NULL, PRIMARY KEY (campaign, unit_id));
CREATE TABLE IF NOT EXISTS local_results (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL, result_json TEXT NOT NULL,
    lead_time REAL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, was_cancelled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, unit_id, annotator_id));
CREATE TABLE IF NOT EXISTS annotations (
    campaign TEXT NOT NULL, key TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL,
    label_json TEXT, lead_time REAL, created_at TEXT, updated_at TEXT, backend TEXT NOT NULL,
    backend_ids_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    PRIMARY KEY (campaign, key));
CREATE INDEX IF NOT EXISTS annotations_unit ON annotations (campaign, unit_id);
CREATE TABLE IF NOT EXISTS aggregates (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, label_json TEXT NOT NULL, confidence REAL NOT NULL,
    n_annotations INTEGER NOT NULL, agreement REAL, method TEXT NOT NULL, posteriors_json TEXT,
    tie INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, unit_id));
CREATE TABLE IF NOT EXISTS steps (
    campaign TEXT NOT NULL, step TEXT NOT NULL, finished_at TEXT NOT NULL, summary_json TEXT NOT NULL,
    PRIMARY KEY (campaign, step));
CREATE TABLE IF NOT EXISTS cursors (
    campaign TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (campaign, name));
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_home() -> Path:
    return Path(os.environ.get("WORKBENCH_HOME") or ".workbench")


class Store:
    def __init__(self, home: Path | str | None = None):
        self.home = Path(home) if home is not None else default_home()
        self.path = self.home / "workbench.db"
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            except (OSError, sqlite3.Error) as exc:
                raise WorkbenchError(f"{self.path}: cannot open the workbench store: {exc}") from None
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
            self._migrate()
        return self._conn

    def _migrate(self) -> None:
        conn = self._conn
        has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
        if has_meta:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise WorkbenchError(
                    f"{self.path}: store schema version {version} is newer than this workbench understands "
                    f"({SCHEMA_VERSION}); upgrade workbench")
        with self.transaction():
            for statement in SCHEMA.split(";"):  # executescript would commit our transaction
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: a step changes all or nothing."""
        conn = self._conn if self._conn is not None else self.conn
        if conn.in_transaction:  # nested: part of the enclosing step
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- small helpers ------------------------------------------------------------------------
    def one(self, sql: str, *args) -> sqlite3.Row | None:
        return self.conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args) -> list[sqlite3.Row]:
        return self.conn.execute(sql, args).fetchall()

    def record_step(self, campaign: str, step: str, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?)",
            (campaign, step, now(), json.dumps(summary, default=str)),
        )

    def step_summary(self, campaign: str, step: str) -> dict | None:
        row = self.one("SELECT summary_json FROM steps WHERE campaign=? AND step=?", campaign, step)
        return json.loads(row[0]) if row else None

    def clear_steps(self, campaign: str, steps: list[str]) -> None:
        self.conn.executemany("DELETE FROM steps WHERE campaign=? AND step=?", [(campaign, s) for s in steps])

    def get_cursor(self, campaign: str, name: str) -> str | None:
        row = self.one("SELECT value FROM cursors WHERE campaign=? AND name=?", campaign, name)
        return row[0] if row else None

    def set_cursor(self, campaign: str, name: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)", (campaign, name, value))

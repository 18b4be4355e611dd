"""SQL for the backends' own state: a key-value table per campaign and backend, and the local backend's results.

A backend never touches the core's tables: what it must remember (Label Studio: the project and the
pull cursor) goes through :class:`BackendState`, and the local backend's "server side" is its own
``local_results`` table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from .packing import insert_local_results, seconds_sql, stamp_sql, write_local_results

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store


class BackendState:
    """What one backend remembers about one campaign (JSON values by key)."""

    def __init__(self, db: "Store", campaign: str, backend: str):
        self.db, self.campaign, self.backend = db, campaign, backend

    def get(self, key: str) -> Any:
        row = self.db.one("SELECT value_json FROM backend_state WHERE campaign=? AND backend=? AND key=?",
                          self.campaign, self.backend, key)
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        from . import now

        with self.db.transaction():
            self.db.execute(
                "INSERT INTO backend_state (campaign, backend, key, value_json, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (campaign, backend, key) DO UPDATE SET value_json=excluded.value_json, "
                "updated_at=excluded.updated_at", (self.campaign, self.backend, key, json.dumps(value), now()))

    def delete(self, *keys: str) -> None:
        with self.db.transaction():
            self.db.executemany("DELETE FROM backend_state WHERE campaign=? AND backend=? AND key=?",
                                [(self.campaign, self.backend, k) for k in keys])


# -- the local backend -----------------------------------------------------------------------------
# A result is stored as its JSON, or (a result repeated: a classification has a handful of distinct
# results) as the id of its one copy in ``local_result_values``; ``lead_time`` and ``created_at``
# packed (:mod:`.packing`), and ``updated_at`` NULL when equal to it (migration ``m014_compact_store``).
@dataclass(frozen=True)
class LocalResults:
    """The local backend's results of one campaign as a pull's source the store reads in SQL
    (:attr:`workbench.backends.PullBatch.in_store`, :func:`.labels.copy_stored`)."""

    campaign: str


def local_done(db: "Store", campaign: str) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in db.all("SELECT k.id, r.annotator_id FROM local_results r CROSS JOIN unit_keys k "
                                         "ON k.n = r.unit WHERE r.campaign=?",
                                         campaign)}


def add_local_results(db: "Store", campaign: str, rows: Iterable[tuple]) -> None:
    """``(unit, annotator, result_json, lead_time, created_at, updated_at)`` rows."""
    insert_local_results(db, campaign, [(*r, 0) for r in rows])


def write_local_results_sorted(db: "Store", campaign: str, repeated: Iterable[str],
                               blocks: Iterable[Iterable[tuple]]) -> None:
    """:func:`add_local_results` of rows already in ``(unit, annotator)`` order, given (and stored) a
    block at a time; ``repeated``: the results that come more than once among all the rows, in the
    order they first come (stored as :func:`add_local_results` stores the same rows at once)."""
    write_local_results(db, campaign, repeated, ([(*r, 0) for r in rows] for rows in blocks))


_CREATED = stamp_sql("r.created_at")


def local_results(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return list(iter_local_results(db, campaign))


def iter_local_results(db: "Store", campaign: str) -> Iterator["sqlite3.Row"]:
    """The local results one row at a time (a million rows held at once took gigabytes); a write to
    another table of the same connection may run while they are read."""
    return iter(db.execute(
        "SELECT k.id AS unit_id, r.annotator_id, CASE WHEN typeof(r.result_json) = 'integer' THEN v.result_json "
        f"ELSE r.result_json END AS result_json, {seconds_sql('r.lead_time')} AS lead_time, {_CREATED} AS created_at, "
        f"CASE WHEN r.updated_at IS NULL THEN {_CREATED} ELSE {stamp_sql('r.updated_at')} END AS updated_at, "
        "r.was_cancelled FROM local_results r CROSS JOIN unit_keys k ON k.n = r.unit "
        "LEFT JOIN local_result_values v ON v.id = r.result_json "
        f"WHERE r.campaign=? ORDER BY {_CREATED}, r.unit, r.annotator_id", (campaign,)))


def count_local_results(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM local_results WHERE campaign=?", campaign) or 0)

"""SQL for review rounds: which unit went to which reviewer (round, why, the consensus then) and the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store

COLUMNS = ("unit_id", "reviewer", "round", "reasons_json", "consensus_json", "requested_at", "task_id",
           "label_json", "overturned", "answered_at")


def reviews(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all(f"SELECT {', '.join(COLUMNS)} FROM reviews WHERE campaign=? ORDER BY round, unit_id, reviewer",
                  campaign)


def last_round(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COALESCE(MAX(round), 0) FROM reviews WHERE campaign=?", campaign))


def request(db: "Store", campaign: str, rows: Iterable[tuple]) -> None:
    """``(unit_id, reviewer, round, reasons_json, consensus_json, requested_at)`` rows; a pair already
    there is left as it is (a review is asked for once)."""
    db.executemany("INSERT OR IGNORE INTO reviews (campaign, unit_id, reviewer, round, reasons_json, consensus_json, "
                   "requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [(campaign, *r) for r in rows])


def set_tasks(db: "Store", campaign: str, tasks: dict[tuple[str, str], str]) -> None:
    """``{(unit_id, reviewer): backend task id}``."""
    db.executemany("UPDATE reviews SET task_id=? WHERE campaign=? AND unit_id=? AND reviewer=?",
                   [(t, campaign, u, r) for (u, r), t in tasks.items()])


def answer(db: "Store", campaign: str, rows: Iterable[tuple]) -> None:
    """``(label_json, overturned, answered_at, unit_id, reviewer)``: a verdict (a later one replaces it)."""
    db.executemany("UPDATE reviews SET label_json=?, overturned=?, answered_at=? "
                   "WHERE campaign=? AND unit_id=? AND reviewer=?",
                   [(lab, ov, at, campaign, u, r) for lab, ov, at, u, r in rows])


def reassign(db: "Store", campaign: str, unit: str, old: str, new: str) -> None:
    """An unanswered place of ``unit`` planned for ``old`` was taken by ``new``."""
    db.execute("UPDATE OR IGNORE reviews SET reviewer=? WHERE campaign=? AND unit_id=? AND reviewer=?",
               (new, campaign, unit, old))

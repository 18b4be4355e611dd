"""SQL for model evaluations: the last evaluation of each model's predictions per campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store


def put(db: "Store", campaign: str, model: str, source: str, stamp: str, aggregate_seq: int | None,
        result_json: str) -> None:
    """Record an evaluation, replacing the model's previous one."""
    db.execute("INSERT OR REPLACE INTO evaluations (campaign, model, source, evaluated_at, aggregate_seq, result_json) "
               "VALUES (?, ?, ?, ?, ?, ?)", (campaign, model, source, stamp, aggregate_seq, result_json))


def all_for(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT model, source, evaluated_at, aggregate_seq, result_json FROM evaluations "
                  "WHERE campaign=? ORDER BY model", campaign)

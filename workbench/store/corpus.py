"""SQL for the planned corpus: documents and units (with gold labels, honeypot flags and pre-labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store

UNIT_COLUMNS = ("id", "position", "document_id", "start", "end", "text", "context", "is_gold", "gold_json",
                "prelabel_json", "prelabel_score")


def replace(db: "Store", campaign: str, documents: Iterable[tuple], units: Iterable[tuple]) -> None:
    """The campaign's documents ``(id, title, source, sha256, text, metadata_json)`` and units (rows in
    :data:`UNIT_COLUMNS` order) replace what was planned before."""
    db.execute("DELETE FROM documents WHERE campaign=?", (campaign,))
    db.executemany("INSERT INTO documents (campaign, id, title, source, sha256, text, metadata_json) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [(campaign, *d) for d in documents])
    db.execute("DELETE FROM units WHERE campaign=?", (campaign,))
    db.executemany('INSERT INTO units (campaign, id, position, document_id, start, "end", text, context, is_gold, '
                   "gold_json, prelabel_json, prelabel_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(campaign, *u) for u in units])


def documents(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT id, title, source, sha256, text, metadata_json FROM documents WHERE campaign=? "
                  "ORDER BY id", campaign)


def units(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all('SELECT id, position, document_id, start, "end", text, context, is_gold, gold_json, '
                  "prelabel_json, prelabel_score FROM units WHERE campaign=? ORDER BY position", campaign)


def unit_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT id FROM units WHERE campaign=?", campaign)}


def honeypot_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT id FROM units WHERE campaign=? AND is_gold=1", campaign)}


def count(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM units WHERE campaign=?", campaign) or 0)

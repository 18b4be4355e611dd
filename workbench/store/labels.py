"""SQL for annotations: every label pulled from a backend, with its status (ok, skipped, invalid, extra)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Iterable

from .packing import packed_times, seconds, seconds_sql, stamp_sql

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store

COLUMNS = ("key", "unit_id", "annotator_id", "label_json", "lead_time", "created_at", "updated_at", "backend",
           "backend_ids_json", "status", "reason", "round")

# lead times and time stamps are packed (:mod:`.packing`), an ``updated_at`` equal to ``created_at`` kept as
# :data:`~.packing.SAME` (migration ``m014_compact_store``); these read them back as written
_CREATED = stamp_sql("created_at")
_UPDATED = f"CASE WHEN typeof(updated_at) = 'blob' THEN {_CREATED} ELSE {stamp_sql('updated_at')} END"
_SELECT = ", ".join({"created_at": f"{_CREATED} AS created_at", "updated_at": f"{_UPDATED} AS updated_at",
                     "lead_time": f"{seconds_sql('lead_time')} AS lead_time"}.get(c, c) for c in COLUMNS)


def annotations(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all(f"SELECT {_SELECT} FROM annotations WHERE campaign=? ORDER BY unit_id, annotator_id, key", campaign)


def counted(db: "Store", campaign: str) -> list[tuple[str, str, str]]:
    """``(unit, annotator, label_json)`` of the annotations that count (status ok, with a label), in
    the order of :func:`annotations`."""
    return [tuple(r) for r in db.all(
        "SELECT unit_id, annotator_id, label_json FROM annotations WHERE campaign=? AND status='ok' "
        "AND label_json IS NOT NULL ORDER BY unit_id, annotator_id, key", campaign)]


def iter_counted(db: "Store", campaign: str) -> Iterator[tuple[str, str, str]]:
    """:func:`counted`, a row at a time (the read model keeps its own records of them)."""
    return iter(db.execute("SELECT unit_id, annotator_id, label_json FROM annotations WHERE campaign=? "
                           "AND status='ok' AND label_json IS NOT NULL ORDER BY unit_id, annotator_id, key",
                           (campaign,)))


def status_counts(db: "Store", campaign: str) -> dict[str, dict[str, int]]:
    """``{annotator: {status: n}}``, annotators and, per annotator, statuses in the order they first
    appear in :func:`annotations` (by unit, annotator, key)."""
    rows = db.all("SELECT annotator_id, status, COUNT(*), MIN(unit_id || char(0) || key) FROM annotations "
                  "WHERE campaign=? GROUP BY annotator_id, status", campaign)
    first: dict[str, str] = {}
    for aid, _, _, at in rows:
        first[aid] = min(first.get(aid, at), at)
    out: dict[str, dict[str, int]] = {aid: {} for aid in sorted(first, key=lambda a: (first[a], a))}
    for aid, status, n, _ in sorted(rows, key=lambda r: r[3]):
        out[aid][status] = int(n)
    return out


def stored_versions(db: "Store", campaign: str) -> dict[str, str | None]:
    """``{key: updated_at}``: how a pull tells new, edited and unchanged annotations apart."""
    return {r[0]: r[1] for r in db.all(f"SELECT key, {_UPDATED} FROM annotations WHERE campaign=?", campaign)}


def backend_ids(db: "Store", campaign: str, key_prefix: str) -> dict[str, str]:
    """``{key: backend_ids_json}`` of the annotations whose key starts with ``key_prefix``."""
    return {r[0]: r[1] for r in db.all("SELECT key, backend_ids_json FROM annotations WHERE campaign=? "
                                       "AND substr(key, 1, ?) = ?", campaign, len(key_prefix), key_prefix)}


def upsert(db: "Store", campaign: str, rows: Iterable[tuple]) -> None:
    """Rows in :data:`COLUMNS` order; an annotation already stored (same key) is replaced."""
    cols = ", ".join(COLUMNS)
    marks = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    updates = ", ".join(f"{c}=excluded.{c}" for c in COLUMNS if c != "key")
    lead, at = COLUMNS.index("lead_time"), COLUMNS.index("created_at")
    assert at == lead + 1
    db.executemany(f"INSERT INTO annotations (campaign, {cols}) VALUES ({marks}) "
                   f"ON CONFLICT (campaign, key) DO UPDATE SET {updates}",
                   [(campaign, *r[:lead], seconds(r[lead]), *packed_times(r[at], r[at + 1]), *r[at + 2:]) for r in rows])


def delete(db: "Store", campaign: str, keys: Iterable[str]) -> list[tuple[str, str, str]]:
    """Delete the annotations of ``keys``; ``(unit, annotator, status)`` of each one deleted."""
    gone = []
    for key in keys:
        row = db.one("SELECT unit_id, annotator_id, status FROM annotations WHERE campaign=? AND key=?", campaign, key)
        if row is not None:
            db.execute("DELETE FROM annotations WHERE campaign=? AND key=?", (campaign, key))
            gone.append((row[0], row[1], row[2]))
    return gone


def in_order(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """Every annotation's key, unit, annotator, status and round, per unit earliest first (who keeps a
    place in the unit's planned overlap, and which round's place it is)."""
    return db.all("SELECT key, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                  f"ORDER BY unit_id, {_CREATED}, key", campaign)


def in_order_after(db: "Store", campaign: str, after: str | None, limit: int) -> list["sqlite3.Row"]:
    """:func:`in_order`'s rows of the units after ``after`` (None: from the first), at most ``limit``
    rows: the settling pass reads a page at a time instead of every annotation at once."""
    if after is None:
        return db.all("SELECT key, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                      f"ORDER BY unit_id, {_CREATED}, key LIMIT ?", campaign, limit)
    return db.all("SELECT key, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                  f"AND unit_id > ? ORDER BY unit_id, {_CREATED}, key LIMIT ?", campaign, after, limit)


def in_order_of(db: "Store", campaign: str, unit: str) -> list["sqlite3.Row"]:
    """:func:`in_order`'s rows of one unit."""
    return db.all("SELECT key, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                  f"AND unit_id=? ORDER BY unit_id, {_CREATED}, key", campaign, unit)


def settle(db: "Store", campaign: str, changes: Iterable[tuple[str, str, int | None]]) -> None:
    """``(key, status, round)``: the status (ok, extra or not_in_pool) and round an annotation settles to."""
    db.executemany("UPDATE annotations SET status=?, round=? WHERE campaign=? AND key=?",
                   [(status, rnd, campaign, key) for key, status, rnd in changes])


def honeypots_answered(db: "Store", campaign: str) -> tuple[int, dict[str, int]]:
    """(how many honeypots the campaign has, ``{annotator: honeypots they answered (any status)}``)."""
    total = int(db.scalar("SELECT COUNT(*) FROM units WHERE campaign=? AND is_gold=1", campaign) or 0)
    if not total:
        return 0, {}
    # the honeypots drive the join (CROSS JOIN keeps that order): a few thousand units, not every annotation
    seen = {r[0]: int(r[1]) for r in db.all(
        "SELECT a.annotator_id, COUNT(DISTINCT a.unit_id) FROM units u CROSS JOIN annotations a "
        "ON a.campaign = u.campaign AND a.unit_id = u.id WHERE u.campaign=? AND u.is_gold=1 "
        "GROUP BY a.annotator_id", campaign)}
    return total, seen


def count(db: "Store", campaign: str, status: str | None = None) -> int:
    if status is None:
        return int(db.scalar("SELECT COUNT(*) FROM annotations WHERE campaign=?", campaign) or 0)
    return int(db.scalar("SELECT COUNT(*) FROM annotations WHERE campaign=? AND status=?", campaign, status) or 0)


def extra_counts(db: "Store", campaign: str) -> tuple[int, int]:
    """(units with an extra answer, extra answers): answers beyond a unit's plan, kept but not counted."""
    r = db.one("SELECT COUNT(DISTINCT unit_id), COUNT(*) FROM annotations WHERE campaign=? AND status='extra'",
               campaign)
    return (int(r[0] or 0), int(r[1] or 0)) if r is not None else (0, 0)


def any_by(db: "Store", campaign: str, annotators: Iterable[str]) -> bool:
    """Whether any of ``annotators`` has an annotation (any status) in the campaign."""
    ids = sorted(set(annotators))
    if not ids:
        return False
    marks = ", ".join("?" for _ in ids)
    return db.one(f"SELECT 1 FROM annotations WHERE campaign=? AND annotator_id IN ({marks}) LIMIT 1",
                  campaign, *ids) is not None


def per_annotator(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT annotator_id, status, COUNT(*) FROM annotations WHERE campaign=? "
                  "GROUP BY annotator_id, status", campaign)


def quarantined(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT unit_id, annotator_id, reason FROM annotations WHERE campaign=? AND status='invalid' "
                  "ORDER BY unit_id", campaign)


def annotator_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT DISTINCT annotator_id FROM annotations WHERE campaign=?", campaign)}


def answered_pairs(db: "Store", campaign: str) -> set[tuple[str, str]]:
    """(unit, annotator) pairs with any annotation (an answer, a skip or an invalid one)."""
    return {(r[0], r[1]) for r in db.all("SELECT unit_id, annotator_id FROM annotations WHERE campaign=?",
                                         campaign)}


def newest_counted(db: "Store", campaign: str) -> str | None:
    return db.scalar(f"SELECT MAX(COALESCE({_UPDATED}, {_CREATED})) FROM annotations WHERE campaign=? "
                     "AND status='ok'", campaign)

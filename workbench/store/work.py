"""SQL for who does what: the annotator pool, rounds, assignments and the units each backend holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store


# -- annotators ------------------------------------------------------------------------------------
def annotators(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT id, persona, lean, email, status, since_version, retired_version FROM annotators "
                  "WHERE campaign=? ORDER BY rowid", campaign)


def put_annotator(db: "Store", campaign: str, aid: str, persona: str | None, lean: str | None,
                  email: str | None, status: str, version: int) -> None:
    """Add an annotator, or update one (its persona, lean, email; retired or active again)."""
    db.execute(
        "INSERT INTO annotators (campaign, id, persona, lean, email, status, since_version, retired_version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, id) DO UPDATE SET persona=excluded.persona, "
        "lean=excluded.lean, email=excluded.email, status=excluded.status, retired_version=CASE WHEN "
        "excluded.status='retired' THEN COALESCE(annotators.retired_version, excluded.retired_version) END",
        (campaign, aid, persona, lean, email, status, version, version if status == "retired" else None))


def delete_annotators(db: "Store", campaign: str, ids: Iterable[str]) -> None:
    db.executemany("DELETE FROM annotators WHERE campaign=? AND id=?", [(campaign, i) for i in ids])


# -- rounds ----------------------------------------------------------------------------------------
def add_round(db: "Store", campaign: str, kind: str, reason: str, spec_version: int, stamp: str) -> int:
    n = int(db.scalar("SELECT COALESCE(MAX(round), 0) FROM rounds WHERE campaign=?", campaign)) + 1
    db.execute("INSERT INTO rounds (campaign, round, kind, reason, spec_version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
               (campaign, n, kind, reason, spec_version, stamp))
    return n


def rounds(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """Each round with how many assignments it planned (still planned), how many annotations took its
    places (answered), and how many of its assignments were cancelled."""
    return db.all(
        "SELECT r.round, r.kind, r.reason, r.spec_version, r.created_at, "
        "(SELECT COUNT(*) FROM assignments a WHERE a.campaign=r.campaign AND a.round=r.round AND a.cancelled IS NULL) "
        "AS assignments, "
        "(SELECT COUNT(DISTINCT a.unit_id) FROM assignments a WHERE a.campaign=r.campaign AND a.round=r.round "
        "AND a.cancelled IS NULL) AS units, "
        "(SELECT COUNT(*) FROM annotations n WHERE n.campaign=r.campaign AND n.round=r.round) AS answered, "
        "(SELECT COUNT(*) FROM assignments a WHERE a.campaign=r.campaign AND a.round=r.round "
        "AND a.cancelled IS NOT NULL) AS cancelled "
        "FROM rounds r WHERE r.campaign=? ORDER BY r.round", campaign)


# -- assignments -----------------------------------------------------------------------------------
def assignments(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """Every assignment, planned or cancelled, in queue order per annotator."""
    return db.all("SELECT unit_id, annotator_id, position, round, cancelled FROM assignments WHERE campaign=? "
                  "ORDER BY annotator_id, position", campaign)


def count_assignments(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM assignments WHERE campaign=?", campaign) or 0)


def add_assignments(db: "Store", campaign: str, rows: Iterable[tuple[str, str, int, int]]) -> None:
    """``(unit, annotator, position, round)`` rows; a cancelled assignment of the same pair is planned again."""
    db.executemany(
        "INSERT INTO assignments (campaign, unit_id, annotator_id, position, round, cancelled) "
        "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (campaign, unit_id, annotator_id) DO UPDATE SET "
        "position=excluded.position, round=excluded.round, cancelled=NULL",
        [(campaign, u, a, p, r) for u, a, p, r in rows])


def cancel_assignments(db: "Store", campaign: str, pairs: Iterable[tuple[str, str]], reason: str) -> None:
    db.executemany("UPDATE assignments SET cancelled=? WHERE campaign=? AND unit_id=? AND annotator_id=?",
                   [(reason, campaign, u, a) for u, a in pairs])


def planned_per_unit(db: "Store", campaign: str) -> dict[str, int]:
    return {r[0]: r[1] for r in db.all("SELECT unit_id, COUNT(*) FROM assignments WHERE campaign=? "
                                       "AND cancelled IS NULL GROUP BY unit_id", campaign)}


def planned_per_annotator(db: "Store", campaign: str) -> dict[str, int]:
    return {r[0]: r[1] for r in db.all("SELECT annotator_id, COUNT(*) FROM assignments WHERE campaign=? "
                                       "AND cancelled IS NULL GROUP BY annotator_id", campaign)}


def gold_share(db: "Store", campaign: str) -> dict[str, float]:
    return {r[0]: r[1] for r in db.all(
        "SELECT a.annotator_id, AVG(u.is_gold) FROM assignments a JOIN units u ON u.campaign=a.campaign "
        "AND u.id=a.unit_id WHERE a.campaign=? AND a.cancelled IS NULL GROUP BY a.annotator_id", campaign)}


def planned_rounds(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """``(unit, annotator, round)`` of every planned assignment, per unit by round."""
    return db.all("SELECT unit_id, annotator_id, round FROM assignments WHERE campaign=? AND cancelled IS NULL "
                  "ORDER BY unit_id, round, annotator_id", campaign)


# -- backend tasks ---------------------------------------------------------------------------------
def backend_tasks(db: "Store", campaign: str) -> dict[str, tuple[str, int | None]]:
    """``{unit: (backend task id, overlap the backend was told)}`` of the units pushed."""
    return {r[0]: (r[1], r[2]) for r in db.all(
        "SELECT unit_id, task_id, overlap FROM backend_tasks WHERE campaign=?", campaign)}


def record_tasks(db: "Store", campaign: str, backend: str, tasks: dict[str, str], overlaps: dict[str, int],
                 stamp: str) -> None:
    db.executemany("INSERT OR IGNORE INTO backend_tasks (campaign, unit_id, backend, task_id, pushed_at, overlap) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [(campaign, u, backend, str(t), stamp, overlaps.get(u)) for u, t in tasks.items()])


def set_task_overlaps(db: "Store", campaign: str, overlaps: dict[str, int]) -> None:
    db.executemany("UPDATE backend_tasks SET overlap=? WHERE campaign=? AND unit_id=?",
                   [(n, campaign, u) for u, n in overlaps.items()])


def forget_tasks(db: "Store", campaign: str) -> None:
    db.execute("DELETE FROM backend_tasks WHERE campaign=?", (campaign,))

"""SQL for who does what: the annotator pool, rounds, assignments and the units each backend holds."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Iterable, Iterator

from . import packing
from .ids import after as _after
from .ids import num as _num
from .ids import numbers

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


# assignments keep a unit as its number (migration ``m017_unit_numbers``, :mod:`.ids`), numbered in the
# ids' order: ``ORDER BY unit`` is ``ORDER BY unit_id``
_UNIT = "k.id"  # joined: a rowid per row, a third of a scalar subquery's cost
_ASG = "assignments CROSS JOIN unit_keys k ON k.n = assignments.unit"


# -- rounds ----------------------------------------------------------------------------------------
def add_round(db: "Store", campaign: str, kind: str, reason: str, spec_version: int, stamp: str) -> int:
    n = int(db.scalar("SELECT COALESCE(MAX(round), 0) FROM rounds WHERE campaign=?", campaign)) + 1
    db.execute("INSERT INTO rounds (campaign, round, kind, reason, spec_version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
               (campaign, n, kind, reason, spec_version, stamp))
    return n


def rounds(db: "Store", campaign: str) -> list[dict]:
    """Each round with how many assignments it planned (still planned), how many annotations took its
    places (answered), and how many of its assignments were cancelled. (One pass over the assignments
    and one over the annotations, grouped by round: a subquery per round and count took seconds on a
    million rows.)"""
    per = {r[0]: (r[1], r[2], r[3]) for r in db.all(
        "SELECT round, SUM(cancelled IS NULL), COUNT(DISTINCT CASE WHEN cancelled IS NULL THEN unit END), "
        "SUM(cancelled IS NOT NULL) FROM assignments WHERE campaign=? GROUP BY round", campaign)}
    answered = {r[0]: r[1] for r in db.all(
        "SELECT round, COUNT(*) FROM annotations WHERE campaign=? AND round IS NOT NULL GROUP BY round", campaign)}
    out = []
    for r in db.all("SELECT round, kind, reason, spec_version, created_at FROM rounds WHERE campaign=? "
                    "ORDER BY round", campaign):
        planned, units, cancelled = per.get(r["round"], (0, 0, 0))
        out.append({"round": r["round"], "kind": r["kind"], "reason": r["reason"], "spec_version": r["spec_version"],
                    "created_at": r["created_at"], "assignments": int(planned or 0), "units": int(units or 0),
                    "answered": int(answered.get(r["round"], 0)), "cancelled": int(cancelled or 0)})
    return out


def count_rounds(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM rounds WHERE campaign=?", campaign) or 0)


# -- assignments -----------------------------------------------------------------------------------
def assignments(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """Every assignment, planned or cancelled, in queue order per annotator."""
    return db.all(f"SELECT {_UNIT} AS unit_id, annotator_id, position, round, cancelled FROM {_ASG} "
                  "WHERE campaign=? ORDER BY annotator_id, position", campaign)


def iter_assignments(db: "Store", campaign: str) -> "sqlite3.Cursor":
    """:func:`assignments`, a row at a time (tuples)."""
    return db.execute(f"SELECT {_UNIT} AS unit_id, annotator_id, position, round, cancelled FROM {_ASG} "
                      "WHERE campaign=? ORDER BY annotator_id, position", (campaign,))


def iter_planned_queues(db: "Store", campaign: str) -> Iterator[tuple[str, str]]:
    """``(annotator, unit)`` of the planned assignments (not cancelled), in :func:`assignments`' order."""
    return iter(db.execute(f"SELECT annotator_id, {_UNIT} FROM {_ASG} WHERE campaign=? AND cancelled IS NULL "
                           "ORDER BY annotator_id, position", (campaign,)))


def iter_planned_places(db: "Store", campaign: str) -> "sqlite3.Cursor":
    """``(annotator, unit, position)`` of the planned assignments (not cancelled) in the table's own
    order, unsorted (:func:`iter_planned_queues` sorts a million rows in SQL first: twice the time)."""
    with db._failing():
        cur = db.conn.cursor()
        cur.row_factory = None  # plain tuples: a sqlite3.Row per row costs more on a million rows
        return cur.execute(f"SELECT annotator_id, {_UNIT}, position FROM {_ASG} WHERE campaign=? "
                           "AND cancelled IS NULL", (campaign,))


def count_assignments(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM assignments WHERE campaign=?", campaign) or 0)


def add_assignments(db: "Store", campaign: str, rows: Iterable[tuple[str, str, int, int]]) -> None:
    """``(unit, annotator, position, round)`` rows; a cancelled assignment of the same pair is planned again."""
    # in key order (full pages): sorted by annotator, then (stable) by unit, the order of a sort by
    # (unit, annotator) at a third of its cost (one string per comparison, no key tuples)
    rows = list(rows)
    have = numbers(db, [r[0] for r in rows])
    ordered = sorted([(campaign, have[u], a, p, r) for u, a, p, r in rows], key=itemgetter(2))
    ordered.sort(key=itemgetter(1))
    db.executemany(
        "INSERT INTO assignments (campaign, unit, annotator_id, position, round, cancelled) "
        "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (campaign, unit, annotator_id) DO UPDATE SET "
        "position=excluded.position, round=excluded.round, cancelled=NULL", ordered)


def cancel_assignments(db: "Store", campaign: str, pairs: Iterable[tuple[str, str]], reason: str) -> None:
    db.executemany(f"UPDATE assignments SET cancelled=? WHERE campaign=? AND unit={_num()} AND annotator_id=?",
                   [(reason, campaign, u, a) for u, a in pairs])


def planned_per_unit(db: "Store", campaign: str) -> dict[str, int]:
    return {r[0]: r[1] for r in db.all("SELECT k.id, p.cnt FROM (SELECT unit, COUNT(*) AS cnt FROM assignments "
                                       "WHERE campaign=? AND cancelled IS NULL GROUP BY unit ORDER BY unit) p "
                                       "CROSS JOIN unit_keys k ON k.n = p.unit", campaign)}


def planned_per_annotator(db: "Store", campaign: str) -> dict[str, int]:
    return {r[0]: r[1] for r in db.all("SELECT annotator_id, COUNT(*) FROM assignments WHERE campaign=? "
                                       "AND cancelled IS NULL GROUP BY annotator_id", campaign)}


def short_units(db: "Store", campaign: str, crowd: Iterable[str]) -> list[tuple[int, int]]:
    """``(short, crowd_open)`` of each unit with fewer counted answers (status ok) than planned places:
    how many places it lacks, and how many of its planned places belong to an annotator of ``crowd``
    who gave no answer at all on it (not even a skip or an invalid one). Counted in SQL (a million
    assignments); only the short units come back."""
    crowd = sorted(set(crowd))
    marks = ", ".join("?" for _ in crowd)
    return [(int(r[0]), int(r[1] or 0)) for r in db.all(
        "WITH p AS (SELECT unit, COUNT(*) AS n FROM assignments WHERE campaign=? AND cancelled IS NULL "
        "GROUP BY unit), k AS (SELECT unit, COUNT(*) AS ok FROM annotations WHERE campaign=? AND status='ok' "
        "GROUP BY unit), s AS (SELECT p.unit, p.n - COALESCE(k.ok, 0) AS short FROM p LEFT JOIN k "
        "ON k.unit = p.unit WHERE p.n > COALESCE(k.ok, 0)) "
        "SELECT s.short, (SELECT COUNT(*) FROM assignments a WHERE a.campaign=? AND a.unit = s.unit "
        f"AND a.cancelled IS NULL AND a.annotator_id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM annotations x "
        "WHERE x.campaign=? AND x.unit = s.unit AND x.annotator_id = a.annotator_id)) FROM s",
        campaign, campaign, campaign, *crowd, campaign)]


def gold_share(db: "Store", campaign: str) -> dict[str, float]:
    """The share of honeypots in each annotator's planned work (of the assignments whose unit exists).
    The unit ids are looked up in two lists SQLite builds once, not by a join per assignment (5 MB:
    0.52 -> 0.24 s)."""
    return {r[0]: r[1] for r in db.all(
        "SELECT annotator_id, AVG(unit IN (SELECT k.n FROM units u CROSS JOIN unit_keys k ON k.id = u.id "
        "WHERE u.campaign=? AND u.is_gold)) FROM assignments WHERE campaign=? AND cancelled IS NULL "
        "AND unit IN (SELECT k.n FROM units u CROSS JOIN unit_keys k ON k.id = u.id WHERE u.campaign=?) "
        "GROUP BY annotator_id", campaign, campaign, campaign)}


def planned_rounds(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """``(unit, annotator, round)`` of every planned assignment, per unit by round."""
    return db.all(f"SELECT {_UNIT} AS unit_id, annotator_id, round FROM {_ASG} WHERE campaign=? "
                  "AND cancelled IS NULL ORDER BY unit, round, annotator_id", campaign)


def units_planned_for(db: "Store", campaign: str, annotators: set[str]) -> set[str]:
    """The units with a planned (not cancelled) place for one of ``annotators``."""
    if not annotators:
        return set()
    marks = ",".join("?" * len(annotators))
    return {r[0] for r in db.all(f"SELECT k.id FROM (SELECT DISTINCT unit FROM assignments WHERE campaign=? "
                                 f"AND cancelled IS NULL AND annotator_id IN ({marks})) p CROSS JOIN unit_keys k "
                                 "ON k.n = p.unit", campaign, *sorted(annotators))}


# -- backend tasks ---------------------------------------------------------------------------------
def backend_tasks(db: "Store", campaign: str) -> dict[str, tuple[str, int | None]]:
    """``{unit: (backend task id, overlap the backend was told)}`` of the units pushed."""
    return {r[0]: (r[1], r[2]) for r in db.all(
        "SELECT k.id, COALESCE(task_id, k.id), overlap FROM backend_tasks CROSS JOIN unit_keys k "
        "ON k.n = backend_tasks.unit WHERE campaign=?", campaign)}


def any_pushed(db: "Store", campaign: str) -> bool:
    """Whether any unit of the campaign was pushed to a backend."""
    return db.one("SELECT 1 FROM backend_tasks WHERE campaign=? LIMIT 1", campaign) is not None


def record_tasks(db: "Store", campaign: str, backend: str, tasks: dict[str, str], overlaps: dict[str, int],
                 stamp: str) -> None:
    """A task whose id is its unit's id (the local backend's) is stored with a NULL id; the time packed
    (:mod:`.packing`: nothing reads it back)."""
    pushed = packing.stamp(stamp)
    have = numbers(db, tasks)
    db.executemany("INSERT OR IGNORE INTO backend_tasks (campaign, unit, backend, task_id, pushed_at, overlap) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [(campaign, have[u], backend, None if (s := str(t)) == u else s, pushed, overlaps.get(u))
                    for u, t in sorted(tasks.items())])


def set_task_overlaps(db: "Store", campaign: str, overlaps: dict[str, int]) -> None:
    db.executemany(f"UPDATE backend_tasks SET overlap=? WHERE campaign=? AND unit={_num()}",
                   [(n, campaign, u) for u, n in overlaps.items()])


def forget_tasks(db: "Store", campaign: str) -> None:
    db.execute("DELETE FROM backend_tasks WHERE campaign=?", (campaign,))


def planned_rounds_between(db: "Store", campaign: str, after: str | None, upto: str) -> list["sqlite3.Row"]:
    """:func:`planned_rounds` of the units after ``after`` (None: from the first) up to ``upto``."""
    if after is None:
        return db.all(f"SELECT {_UNIT} AS unit_id, annotator_id, round FROM {_ASG} WHERE campaign=? "
                      f"AND cancelled IS NULL AND unit <= {_after()} ORDER BY unit, round, annotator_id", campaign, upto)
    return db.all(f"SELECT {_UNIT} AS unit_id, annotator_id, round FROM {_ASG} WHERE campaign=? "
                  f"AND cancelled IS NULL AND unit > {_after()} AND unit <= {_after()} ORDER BY unit, round, annotator_id",
                  campaign, after, upto)

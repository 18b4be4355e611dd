"""SQL for annotations: every label pulled from a backend, with its status (ok, skipped, invalid, extra)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Iterable

from .ids import after as _after
from .ids import num as _num
from .ids import numbers, uid
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
# a key that is ``unit:annotator`` is kept as '' (migration ``m015_annotation_keys``) when it is the only
# annotation of its unit and annotator (:func:`upsert` keeps that so): this gives it back, and ordering by
# ``unit_id, annotator_id, key`` as stored is ordering by the keys as written
# a unit is kept as its number (migration ``m017_unit_numbers``, :mod:`.ids`), numbered in the ids' order:
# ``ORDER BY unit`` is ``ORDER BY unit_id``
# (joined: ``CROSS JOIN unit_keys k ON k.n = <table>.unit``; a rowid per row, a third of a scalar subquery's cost)
_UNIT = "k.id"
_UNIT_SUB = uid("unit")  # the same in a statement without the join (UPDATE, one row)
_ANN = "annotations CROSS JOIN unit_keys k ON k.n = annotations.unit"
_KEY = f"CASE WHEN key = '' THEN {_UNIT} || ':' || annotator_id ELSE key END"
#: the columns as stored: the unit's number in place of its id
_STORED = tuple("unit" if c == "unit_id" else c for c in COLUMNS)
_SELECT = ", ".join({"created_at": f"{_CREATED} AS created_at", "updated_at": f"{_UPDATED} AS updated_at",
                     "lead_time": f"{seconds_sql('lead_time')} AS lead_time", "key": f"{_KEY} AS key",
                     "unit_id": f"{_UNIT} AS unit_id"}.get(c, c)
                    for c in COLUMNS)
# the reads below without an ORDER BY went through this index before m015 (campaign, then annotator and
# rowid): INDEXED BY keeps their order
_BY_ANNOTATOR = "annotations INDEXED BY annotations_annotator CROSS JOIN unit_keys k ON k.n = annotations.unit"
# one annotation by its key: a written key (its partial index), or a kept-as-'' one by its unit and annotator
# (two statements: SQLite would scan the campaign's rows for the two joined by OR)
_BY_KEY = "campaign=? AND key=? AND key != ''"
_BY_PAIR = f"campaign=? AND unit={_num()} AND annotator_id=? AND key=''"
_BY_PAIR_N = "campaign=? AND unit=? AND annotator_id=? AND key=''"  # the unit's number given
_WRITTEN_ON_PAIR = "SELECT 1 FROM annotations WHERE campaign=? AND unit=? AND annotator_id=? AND key != '' LIMIT 1"


def kept_key(key: str, unit: str, annotator: str) -> str:
    """``key`` as stored: '' when it is ``unit:annotator`` (an annotator id without ``:``)."""
    return "" if ":" not in annotator and key == f"{unit}:{annotator}" else key


def _pair(key: str) -> tuple[str | None, str | None]:
    """The unit and annotator a key kept as '' would have (None, None: it cannot be one)."""
    unit, _, annotator = key.rpartition(":")
    return (unit, annotator) if ":" in key else (None, None)


def annotations(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all(f"SELECT {_SELECT} FROM {_ANN} WHERE campaign=? ORDER BY unit, annotator_id, key", campaign)


def counted(db: "Store", campaign: str) -> list[tuple[str, str, str]]:
    """``(unit, annotator, label_json)`` of the annotations that count (status ok, with a label), in
    the order of :func:`annotations`."""
    return [tuple(r) for r in db.all(
        f"SELECT {_UNIT}, annotator_id, label_json FROM {_ANN} WHERE campaign=? AND status='ok' "
        "AND label_json IS NOT NULL ORDER BY unit, annotator_id, key", campaign)]


def iter_counted(db: "Store", campaign: str) -> Iterator[tuple[str, str, str]]:
    """:func:`counted`, a row at a time (the read model keeps its own records of them)."""
    return iter(db.execute(f"SELECT {_UNIT}, annotator_id, label_json FROM {_ANN} WHERE campaign=? "
                           "AND status='ok' AND label_json IS NOT NULL ORDER BY unit, annotator_id, key",
                           (campaign,)))


def status_counts(db: "Store", campaign: str) -> dict[str, dict[str, int]]:
    """``{annotator: {status: n}}``, annotators and, per annotator, statuses in the order they first
    appear in :func:`annotations` (by unit, annotator, key)."""
    return status_counts_of(db.all(f"SELECT annotator_id, status, COUNT(*), MIN({_UNIT} || char(0) || {_KEY}) "
                                   f"FROM {_BY_ANNOTATOR} WHERE campaign=? GROUP BY annotator_id, status", campaign))


def status_counts_of(rows: Iterable[tuple]) -> dict[str, dict[str, int]]:
    """:func:`status_counts` from its rows ``(annotator, status, n, first unit and key)``."""
    rows = list(rows)
    first: dict[str, str] = {}
    for aid, _, _, at in rows:
        first[aid] = min(first.get(aid, at), at)
    out: dict[str, dict[str, int]] = {aid: {} for aid in sorted(first, key=lambda a: (first[a], a))}
    for aid, status, n, _ in sorted(rows, key=lambda r: r[3]):
        out[aid][status] = int(n)
    return out


def stored_versions(db: "Store", campaign: str) -> dict[str, str | None]:
    """``{key: updated_at}``: how a pull tells new, edited and unchanged annotations apart."""
    return {r[0]: r[1] for r in db.all(f"SELECT {_KEY}, {_UPDATED} FROM {_BY_ANNOTATOR} WHERE campaign=?", campaign)}


def backend_ids(db: "Store", campaign: str, key_prefix: str) -> dict[str, str]:
    """``{key: backend_ids_json}`` of the annotations whose key starts with ``key_prefix``."""
    return {r[0]: r[1] for r in db.all(f"SELECT {_KEY}, backend_ids_json FROM {_BY_ANNOTATOR} WHERE campaign=? "
                                       f"AND substr({_KEY}, 1, ?) = ?", campaign, len(key_prefix), key_prefix)}


def upsert(db: "Store", campaign: str, rows: Iterable[tuple]) -> None:
    """Rows in :data:`COLUMNS` order; an annotation already stored (same key) is replaced. A key kept as
    '' (:func:`kept_key`: the only annotation of its unit and annotator) is found by its unit and
    annotator, a written one by itself; the rows are stored in the order given (their rowids: the
    order of the reads without ORDER BY)."""
    cols = ", ".join(_STORED)
    marks = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    updates = ", ".join(f"{c}=excluded.{c}" for c in _STORED if c != "key")
    lead, at = COLUMNS.index("lead_time"), COLUMNS.index("created_at")
    assert COLUMNS[:3] == ("key", "unit_id", "annotator_id") and at == lead + 1
    insert = f"INSERT INTO annotations (campaign, {cols}) VALUES ({marks}) ON CONFLICT "
    by_pair = f"{insert}(campaign, unit, annotator_id, key) DO UPDATE SET {updates}"
    by_key = f"{insert}(campaign, key) WHERE key != '' DO UPDATE SET {updates}"
    rows = list(rows)
    have = numbers(db, [r[1] for r in rows])
    packed = [(campaign, kept_key(r[0], r[1], r[2]), have[r[1]], *r[2:lead], seconds(r[lead]),
               *packed_times(r[at], r[at + 1]), *r[at + 2:]) for r in rows]
    if all(p[1] == "" for p in packed) and db.one(
            "SELECT 1 FROM annotations WHERE campaign=? AND key != '' LIMIT 1", campaign) is None:
        db.executemany(by_pair, packed)  # the local backend's: every key kept as '', alone on its pair
        return
    for r, p in zip(rows, packed):  # a written key on a pair: the pair's other keys are written too
        if p[1] == "":
            if db.one(_WRITTEN_ON_PAIR, campaign, p[2], p[3]) is not None:
                p = (campaign, f"{r[1]}:{p[3]}", *p[2:])
        else:
            db.execute(f"UPDATE annotations SET key = {_UNIT_SUB} || ':' || annotator_id WHERE {_BY_PAIR_N}",
                       (campaign, p[2], p[3]))
        db.execute(by_pair if p[1] == "" else by_key, p)


def delete(db: "Store", campaign: str, keys: Iterable[str]) -> list[tuple[str, str, str]]:
    """Delete the annotations of ``keys``; ``(unit, annotator, status)`` of each one deleted."""
    gone = []
    for key in keys:
        row = (db.one(f"SELECT {_UNIT_SUB}, annotator_id, status, rowid FROM annotations WHERE {_BY_KEY}", campaign, key)
               or db.one(f"SELECT {_UNIT_SUB}, annotator_id, status, rowid FROM annotations WHERE {_BY_PAIR}", campaign,
                         *_pair(key)))
        if row is not None:
            db.execute("DELETE FROM annotations WHERE rowid=?", (row[3],))
            gone.append((row[0], row[1], row[2]))
    return gone


def in_order(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    """Every annotation's key, unit, annotator, status and round, per unit earliest first (who keeps a
    place in the unit's planned overlap, and which round's place it is)."""
    return db.all(f"SELECT {_KEY} AS key, {_UNIT} AS unit_id, annotator_id, status, round FROM {_ANN} "
                  f"WHERE campaign=? ORDER BY unit, {_CREATED}, {_KEY}", campaign)


def settle(db: "Store", campaign: str, changes: Iterable[tuple[str, str, int | None]]) -> None:
    """``(key, status, round)``: the status (ok, extra or not_in_pool) and round an annotation settles to."""
    changes = list(changes)
    db.executemany(f"UPDATE annotations SET status=?, round=? WHERE {_BY_KEY}",
                   [(status, rnd, campaign, key) for key, status, rnd in changes])
    db.executemany(f"UPDATE annotations SET status=?, round=? WHERE {_BY_PAIR}",
                   [(status, rnd, campaign, *_pair(key)) for key, status, rnd in changes])


def honeypots_answered(db: "Store", campaign: str) -> tuple[int, dict[str, int]]:
    """(how many honeypots the campaign has, ``{annotator: honeypots they answered (any status)}``)."""
    total = int(db.scalar("SELECT COUNT(*) FROM units WHERE campaign=? AND is_gold=1", campaign) or 0)
    if not total:
        return 0, {}
    # the honeypots drive the join (CROSS JOIN keeps that order): a few thousand units, not every annotation
    seen = {r[0]: int(r[1]) for r in db.all(
        "SELECT a.annotator_id, COUNT(DISTINCT a.unit) FROM units u CROSS JOIN unit_keys k ON k.id = u.id "
        "CROSS JOIN annotations a ON a.campaign = u.campaign AND a.unit = k.n WHERE u.campaign=? AND u.is_gold=1 "
        "GROUP BY a.annotator_id", campaign)}
    return total, seen


def count(db: "Store", campaign: str, status: str | None = None) -> int:
    if status is None:
        return int(db.scalar("SELECT COUNT(*) FROM annotations WHERE campaign=?", campaign) or 0)
    return int(db.scalar("SELECT COUNT(*) FROM annotations WHERE campaign=? AND status=?", campaign, status) or 0)


def extra_counts(db: "Store", campaign: str) -> tuple[int, int]:
    """(units with an extra answer, extra answers): answers beyond a unit's plan, kept but not counted."""
    r = db.one("SELECT COUNT(DISTINCT unit), COUNT(*) FROM annotations WHERE campaign=? AND status='extra'",
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
    return db.all(f"SELECT annotator_id, status, COUNT(*) FROM {_BY_ANNOTATOR} WHERE campaign=? "
                  "GROUP BY annotator_id, status", campaign)


def quarantined(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    # ties in rowid order, as the index by unit gave them before m015
    return db.all(f"SELECT {_UNIT} AS unit_id, annotator_id, reason FROM {_ANN} WHERE campaign=? "
                  "AND status='invalid' ORDER BY unit, annotations.rowid", campaign)


def annotator_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT DISTINCT annotator_id FROM annotations WHERE campaign=?", campaign)}


def answered_pairs(db: "Store", campaign: str) -> set[tuple[str, str]]:
    """(unit, annotator) pairs with any annotation (an answer, a skip or an invalid one)."""
    return {(r[0], r[1]) for r in db.all(f"SELECT {_UNIT}, annotator_id FROM {_ANN} WHERE campaign=?",
                                         campaign)}


def newest_counted(db: "Store", campaign: str) -> str | None:
    return db.scalar(f"SELECT MAX(COALESCE({_UPDATED}, {_CREATED})) FROM annotations WHERE campaign=? "
                     "AND status='ok'", campaign)


# -- a pull from results the store already holds (the local backend's, :class:`.backend.LocalResults`) -------
# The rows are copied in SQL, each distinct result converted once by the caller, in the order and with
# the values :func:`upsert` of the raw annotations (:func:`.backend.iter_local_results`) would store.
_LAST_STAMP = 253402300799  # packing's last packed second
_L_CREATED = stamp_sql("r.created_at")
_L_UPDATED = f"CASE WHEN r.updated_at IS NULL THEN {_L_CREATED} ELSE {stamp_sql('r.updated_at')} END"
_A_UPDATED = _UPDATED.replace("updated_at", "a.updated_at").replace("created_at", "a.created_at")
_A_UNIT = "k.id"  # joined (``{_A_JOIN}``)
_A_JOIN = "CROSS JOIN unit_keys k ON k.n = a.unit"
_A_KEY = f"CASE WHEN a.key = '' THEN {_A_UNIT} || ':' || a.annotator_id ELSE a.key END"  # :data:`_KEY`
_L_KEY = f"{uid('r.unit')} || ':' || r.annotator_id"
# a result's stored annotation (m015): by its unit and annotator, its key kept as '' or written out
_L_PAIR = f"a.unit = r.unit AND a.annotator_id = r.annotator_id AND (a.key = '' OR a.key = {_L_KEY})"
_L_SAME = (f"EXISTS (SELECT 1 FROM annotations a WHERE a.campaign = ?1 AND {_L_PAIR} "
           f"AND {_A_UPDATED} = {_L_UPDATED})")  # stored and unchanged: not written again
# the key a result's annotation is stored with (:func:`kept_key`): '' unless its annotator id has a ``:``
# (or, :func:`upsert`'s slow way, a written key is on its unit and annotator: then written out too)
_L_KEPT = f"CASE WHEN instr(r.annotator_id, ':') = 0 THEN '' ELSE {_L_KEY} END"
_L_KEPT_BESIDE = (f"CASE WHEN instr(r.annotator_id, ':') = 0 AND NOT EXISTS (SELECT 1 FROM annotations w "
                  "WHERE w.campaign = ?2 AND w.unit = r.unit AND w.annotator_id = r.annotator_id "
                  f"AND w.key != '') THEN '' ELSE {_L_KEY} END")
# the numbers of the unit ids with a ``:`` (a list SQLite builds once)
_COLON = "(SELECT n FROM unit_keys WHERE instr(id, ':') > 0)"

def copyable(db: "Store", src) -> bool:
    """Whether every result of ``src`` is kept in the packed form its backend writes (lead time in
    hundredths or none, creation second as an integer, no separate update time, no ``:`` in a unit id,
    so that ``unit:annotator`` keys are distinct): then :func:`copy_stored` stores what the raw
    annotations would. Anything else (a row written by hand) goes the raw annotations' way."""
    return db.one(f"SELECT 1 FROM local_results WHERE campaign=? AND (unit IN {_COLON} "
                  "OR typeof(created_at) != 'integer' OR created_at < 0 OR created_at > ? OR updated_at IS NOT NULL "
                  "OR typeof(lead_time) NOT IN ('integer', 'null') OR abs(lead_time) >= 10000000000000 "
                  "OR typeof(was_cancelled) != 'integer' OR typeof(result_json) NOT IN ('integer', 'text')) LIMIT 1",
                  src.campaign, _LAST_STAMP) is None


def stored_unit_ids(db: "Store", src) -> list[str]:
    """The distinct units ``src``'s results are for."""
    return [r[0] for r in db.tuples(f"SELECT {uid('unit')} FROM (SELECT DISTINCT unit FROM local_results "
                                    "WHERE campaign=? ORDER BY unit)", src.campaign)]


def stage_unknown(db: "Store", rows: list[tuple[str, str]]) -> None:
    """``(unit, reason)``: the units of :func:`stored_unit_ids` the campaign does not have (a temporary table
    of this connection, read by :func:`stored_results` and :func:`copy_stored`)."""
    db.execute("DROP TABLE IF EXISTS temp.pull_unknown")
    db.execute("CREATE TEMP TABLE pull_unknown (unit_id TEXT PRIMARY KEY, reason TEXT, unit INTEGER)")
    db.execute("CREATE INDEX temp.pull_unknown_unit ON pull_unknown (unit)")
    db.executemany(f"INSERT INTO temp.pull_unknown VALUES (?1, ?2, {_num('?1')})", rows)


def stored_results(db: "Store", src) -> list[tuple]:
    """``(ref, result_json, used)`` of each distinct result of ``src`` (``ref`` as stored: an id or the
    text); ``used``: 1 if a row of a known unit (:func:`stage_unknown`), not cancelled, has it."""
    return db.tuples(
        "SELECT r.result_json, CASE WHEN typeof(r.result_json) = 'integer' THEN v.result_json ELSE r.result_json "
        "END, MAX(r.was_cancelled = 0 AND r.unit NOT IN (SELECT unit FROM temp.pull_unknown WHERE unit IS NOT NULL)) "
        "FROM local_results r LEFT JOIN local_result_values v ON v.id = r.result_json WHERE r.campaign=? "
        "GROUP BY r.result_json", src.campaign)


def copy_stored(db: "Store", campaign: str, src, backend: str, verdicts: list[tuple]) -> dict[str, Any]:
    """Store ``src``'s results as annotations of ``campaign`` (new ones added in the raw annotations'
    order, edited ones replaced, unchanged ones left), each with the ``(ref, label_json, status, reason)``
    of its result in ``verdicts`` (the used ones of :func:`stored_results`), a unit of
    :func:`stage_unknown` invalid with its reason, a cancelled result skipped; the round is its
    annotator's planned round (settling decides). Counts: received, unknown_unit, invalid, skipped,
    new, updated, unchanged, written, quarantined, ``first_quarantined`` ``(unit, annotator, reason)``
    in that order (or None), and ``had_any``: whether the campaign had annotations before."""
    db.execute("DROP TABLE IF EXISTS temp.pull_verdicts")
    db.execute("CREATE TEMP TABLE pull_verdicts (ref PRIMARY KEY, label_json TEXT, status TEXT, reason TEXT)")
    db.executemany("INSERT INTO temp.pull_verdicts VALUES (?, ?, ?, ?)", verdicts)
    joins = ("FROM local_results r LEFT JOIN temp.pull_unknown x ON x.unit = r.unit "
             "LEFT JOIN temp.pull_verdicts v ON v.ref = r.result_json AND x.unit_id IS NULL AND r.was_cancelled = 0 ")
    status = ("CASE WHEN x.unit_id IS NOT NULL THEN 'invalid' WHEN r.was_cancelled THEN 'skipped' "
              "ELSE v.status END")
    # the raw annotations' order (:func:`.backend.iter_local_results`): by the creation time's text, which for
    # the whole seconds :func:`copyable` lets through (four-digit years) is the order of the seconds
    order = "ORDER BY r.created_at, r.unit, r.annotator_id"
    stored = db.one("SELECT 1 FROM annotations WHERE campaign=? LIMIT 1", campaign) is not None
    n, unknown, skipped, invalid = db.tuples(
        f"SELECT COUNT(*), COALESCE(SUM(x.unit_id IS NOT NULL), 0), COALESCE(SUM({status} = 'skipped'), 0), "
        f"COALESCE(SUM({status} = 'invalid'), 0) {joins} WHERE r.campaign = ?1", src.campaign)[0]
    counts: dict[str, Any] = {"received": n, "unknown_unit": unknown, "skipped": skipped, "invalid": invalid,
                              "new": n, "updated": 0, "unchanged": 0, "quarantined": 0, "first_quarantined": None,
                              "had_any": stored}
    if stored:
        had, same = db.tuples(
            f"SELECT COUNT(*), COALESCE(SUM({_A_UPDATED} = {_L_UPDATED}), 0) FROM local_results r "
            f"JOIN annotations a ON a.campaign = ?2 AND {_L_PAIR} WHERE r.campaign = ?1", src.campaign,
            campaign)[0]
        counts.update(new=n - had, updated=had - same, unchanged=same)
    fresh = f"NOT {_L_SAME.replace('?1', '?2')}" if stored else "1"
    if invalid:
        bad = db.tuples(f"SELECT {uid('r.unit')}, r.annotator_id, COALESCE(x.reason, v.reason) {joins} WHERE r.campaign = ?1 "
                        f"AND {status} = 'invalid' AND {fresh} {order}", src.campaign, *([campaign] if stored else []))
        counts.update(quarantined=len(bad), first_quarantined=bad[0] if bad else None)
    cols = ", ".join(_STORED)
    updates = ", ".join(f"{c}=excluded.{c}" for c in _STORED if c != "key")
    # a written key in the campaign (Label Studio's, before a switch of backend): each row looks at its pair
    written = stored and db.one("SELECT 1 FROM annotations WHERE campaign=? AND key != '' LIMIT 1",
                                campaign) is not None
    cur = db.execute(
        f"INSERT INTO annotations (campaign, {cols}) SELECT ?2, {_L_KEPT_BESIDE if written else _L_KEPT}, "
        "r.unit, r.annotator_id, "
        f"CASE WHEN {status} = 'ok' THEN v.label_json END, r.lead_time, r.created_at, x'', ?3, '{{}}', {status}, "
        f"CASE WHEN x.unit_id IS NOT NULL THEN x.reason WHEN r.was_cancelled THEN NULL ELSE v.reason END, s.round "
        f"{joins} LEFT JOIN assignments s ON s.campaign = ?2 AND s.unit = r.unit "
        f"AND s.annotator_id = r.annotator_id AND s.cancelled IS NULL "
        f"WHERE r.campaign = ?1 AND {fresh} {order} ON CONFLICT (campaign, unit, annotator_id, key) "
        f"DO UPDATE SET {updates} ON CONFLICT (campaign, key) WHERE key != '' DO UPDATE SET {updates}",
        (src.campaign, campaign, backend))
    counts["written"] = cur.rowcount
    db.execute("DROP TABLE temp.pull_verdicts")
    db.execute("DROP TABLE temp.pull_unknown")
    return counts


def gone_stored(db: "Store", campaign: str, src) -> list[str]:
    """Keys of ``campaign``'s annotations with no result in ``src`` (``unit:annotator``), in
    :func:`stored_versions`' order."""
    key = _A_KEY
    return [r[0] for r in db.tuples(
        f"SELECT {key} FROM annotations a INDEXED BY annotations_annotator {_A_JOIN} WHERE a.campaign=?1 AND NOT CASE WHEN a.key = '' AND "
        f"a.unit NOT IN {_COLON} THEN EXISTS (SELECT 1 FROM local_results r WHERE r.campaign = ?2 AND "
        f"r.unit = a.unit AND r.annotator_id = a.annotator_id) ELSE (instr({key}, ':') > 0 AND EXISTS "
        f"(SELECT 1 FROM local_results r WHERE r.campaign = ?2 AND r.unit = {_num(f'substr({key}, 1, instr({key}, ?3) - 1)')} "
        f"AND r.annotator_id = substr({key}, instr({key}, ':') + 1))) END", campaign, src.campaign, ":")]


_SETTLING = (f"SELECT {_A_KEY}, {_A_UNIT}, a.annotator_id, a.status, a.round, s.round FROM annotations a {_A_JOIN} "
             "LEFT JOIN assignments s ON s.campaign = a.campaign AND s.unit = a.unit "
             "AND s.annotator_id = a.annotator_id AND s.cancelled IS NULL WHERE a.campaign=? ")
_SETTLING_ORDER = f"ORDER BY a.unit, {_CREATED.replace('created_at', 'a.created_at')}, {_A_KEY}"


def settling_after(db: "Store", campaign: str, after: str | None, limit: int, in_order: bool = True) -> list[tuple]:
    """The annotations of the units after ``after``, at most ``limit`` rows, as tuples, each with its
    annotator's planned round in the unit (None: not planned, or cancelled): ``(key, unit, annotator,
    status, round, planned round)``, in :func:`in_order`'s order; ``in_order=False``: a unit's rows in
    any order (no time stamp read and sorted)."""
    order = _SETTLING_ORDER if in_order else "ORDER BY a.unit"
    if after is None:
        return db.tuples(f"{_SETTLING}{order} LIMIT ?", campaign, limit)
    return db.tuples(f"{_SETTLING}AND a.unit > {_after()} {order} LIMIT ?", campaign, after, limit)


def settling_between(db: "Store", campaign: str, after: str | None, upto: str) -> list[tuple]:
    """:func:`settling_after`'s rows (in order) of the units after ``after`` (None: from the first) up to ``upto``."""
    if after is None:
        return db.tuples(f"{_SETTLING}AND a.unit <= {_after()} {_SETTLING_ORDER}", campaign, upto)
    return db.tuples(f"{_SETTLING}AND a.unit > {_after()} AND a.unit <= {_after()} {_SETTLING_ORDER}", campaign,
                     after, upto)


def settling_of(db: "Store", campaign: str, unit: str) -> list[tuple]:
    """:func:`settling_after`'s rows of one unit."""
    return db.tuples(f"{_SETTLING}AND a.unit = {_num()} {_SETTLING_ORDER}", campaign, unit)

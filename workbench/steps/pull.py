"""The pull step: raw backend results -> validated annotations in the store.

Every result is converted by the task type and checked against its schema; one that does not fit
is quarantined (status ``invalid``, with the reason), never dropped and never aggregated. A skipped
task is recorded as ``skipped``. An edit replaces the stored version (same key); a deletion in the
backend removes it. Per unit, annotations beyond the planned number of annotators are kept but
flagged ``extra`` (earliest first keep their place). Each annotation carries the round whose
place it takes: the round of its annotator's assignment to the unit, or (Label Studio hands a task
to whoever asks first, not to the planned annotator) the unit's earliest round with a place left. The backend's cursor is stored in the same transaction as the annotations,
so a pull that fails to store anything resumes from where the last good one ended.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..backends import PULL_CURSOR, PullBatch
from ..models import AnnotationStatus, LabelError, label_key
from ..store import campaigns as campaigns_sql
from ..store import gating as gating_sql
from ..store import labels as labels_sql
from ..store import work as work_sql

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext

CURSOR = PULL_CURSOR


def run(ctx: "StepContext") -> dict[str, Any]:
    ctx.require("pull", "push")
    backend = ctx.backend
    known = _Decoded(lambda: labels_sql.backend_ids(ctx.store, ctx.name, ""))
    batch = backend.pull(known)
    with ctx.store.page_cache(PAGE_CACHE_MB), ctx.store.transaction():
        summary = apply_pull(ctx, batch)
        if batch.cursor is not None:
            ctx.backend_state.put(CURSOR, batch.cursor)
        ctx.record("pull", summary)
    return summary


def simulated(ctx: "StepContext") -> dict[str, Any] | None:
    """Store what the last ``simulate`` made as its backend answered each save (no whole pull, no
    cursor moved: the next pull still reads all that changed and finds these unchanged); None when
    the backend offers no such thing (then a pull is needed)."""
    batch = ctx.backend.simulated()
    if batch is None:
        return None
    with ctx.store.page_cache(PAGE_CACHE_MB), ctx.store.transaction():
        return apply_pull(ctx, batch)


#: SQLite's page cache while a pull writes (MB): 2 MB spilled each index page to the WAL again and again
#: (5 MB: 263 MB written by the copy with 2 MB, 76 MB with 256)
PAGE_CACHE_MB = 256


class _Decoded(Mapping[str, Any]):
    """``{key: backend_ids}`` read from the store when a backend first looks, each entry decoded from
    its stored JSON when read (the local backend reads none: a million keys read and JSON texts
    decoded for nothing took seconds)."""

    def __init__(self, read: Callable[[], dict[str, str]]):
        self._read = read
        self._loaded: dict[str, str] | None = None

    @property
    def _texts(self) -> dict[str, str]:
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded

    def __getitem__(self, key: str) -> Any:
        return json.loads(self._texts[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


#: annotations stored per block by a pull (same transaction, same order as one statement)
UPSERT_BLOCK = 20_000


def apply_pull(ctx: "StepContext", batch: PullBatch) -> dict[str, Any]:
    """Store ``batch`` (inside the caller's transaction); counts of what happened."""
    db, name = ctx.store, ctx.name
    copied = _copy_stored(ctx, batch) if batch.in_store is not None else None
    if copied is None:
        counts, written, deleted, quarantined = _store_raw(ctx, batch)
    else:
        counts, written, deleted, quarantined = copied
    counts["deleted"] = len(deleted)
    flipped, counts["extra"] = settle(ctx)
    counts["total_ok"] = labels_sql.count(db, name, "ok")
    counts["not_in_pool"] = labels_sql.count(db, name, "not_in_pool")
    if written or counts["deleted"] or flipped:
        campaigns_sql.bump_annotations_rev(db, name)
    notes = pull_notes(ctx.spec.backend, deleted, quarantined)
    if notes:
        counts["notes"] = notes
    return counts


def _store_raw(ctx: "StepContext", batch: PullBatch) -> tuple[dict[str, Any], int, list, tuple[int, tuple | None]]:
    """Store ``batch.annotations`` one at a time: (counts, rows written, the deleted, (how many
    quarantined now, the first one's ``(unit, annotator, reason)``))."""
    db, name = ctx.store, ctx.name
    units = ctx.state.units_by_id
    tt = ctx.task_type
    counts = {"received": len(batch.annotations), "new": 0, "updated": 0, "unchanged": 0, "deleted": 0,
              "invalid": 0, "skipped": 0, "unknown_unit": 0}
    stored = labels_sql.stored_versions(db, name)
    seen: set[str] = set()
    rows: list[tuple] = []
    written = 0  # rows stored so far: stored in blocks, not held all at once (a million pulled)
    quarantined, first = 0, None  # how many were quarantined, and the first (unit, annotator, reason), for the notes
    for raw in batch.annotations:
        unit = units.get(raw.unit_id)
        label_json, status, reason = None, AnnotationStatus.OK, None
        if unit is None:
            status, reason = AnnotationStatus.INVALID, f"unit {raw.unit_id!r} is not in this campaign"
            counts["unknown_unit"] += 1
        elif raw.error:
            status, reason = AnnotationStatus.INVALID, raw.error
        elif raw.was_cancelled:
            status = AnnotationStatus.SKIPPED
        else:
            try:
                label_json = label_key(tt.from_ls_result(raw.result or [], unit))
            except (LabelError, KeyError, TypeError, ValueError) as exc:
                status, reason = AnnotationStatus.INVALID, f"{type(exc).__name__}: {exc}"
        if status is AnnotationStatus.INVALID:
            counts["invalid"] += 1
            label_json = None
        elif status is AnnotationStatus.SKIPPED:
            counts["skipped"] += 1
        if raw.key in stored:
            seen.add(raw.key)  # only stored keys: a new one cannot be gone
            if stored[raw.key] == raw.updated_at and raw.updated_at is not None:
                counts["unchanged"] += 1
                continue
            counts["updated"] += 1
        else:
            counts["new"] += 1
        rows.append((raw.key, raw.unit_id, raw.annotator_id, label_json, raw.lead_time, raw.created_at,
                     raw.updated_at, ctx.spec.backend, json.dumps(raw.backend_ids), status.value, reason, None))
        if status is AnnotationStatus.INVALID and reason:
            quarantined += 1
            first = first or (raw.unit_id, raw.annotator_id, reason)
        if len(rows) >= UPSERT_BLOCK:
            labels_sql.upsert(db, name, rows)
            written += len(rows)
            rows = []
    labels_sql.upsert(db, name, rows)
    written += len(rows)
    gone = list(batch.deleted)
    if batch.complete:
        gone += [k for k in stored if k not in seen]
    deleted = labels_sql.delete(db, name, gone)
    return counts, written, deleted, (quarantined, first)


def _copy_stored(ctx: "StepContext", batch: PullBatch) -> tuple[dict[str, Any], int, list, tuple[int, tuple | None]] | None:
    """:func:`_store_raw` for a batch whose results the store holds (``batch.in_store``): the rows copied in
    SQL, each distinct result converted once (the task type's conversion reads nothing of the unit,
    :meth:`~workbench.tasktype.TaskType.unit_free_results`), the same rows, values and order stored. None
    when it cannot be done so (a conversion that reads the unit; rows the store cannot copy as they are)."""
    db, name, src, tt = ctx.store, ctx.name, batch.in_store, ctx.task_type
    if batch.deleted or not tt.unit_free_results() or not labels_sql.copyable(db, src):
        return None
    units = ctx.state.units_by_id
    labels_sql.stage_unknown(db, [(u, f"unit {u!r} is not in this campaign")
                                  for u in labels_sql.stored_unit_ids(db, src) if u not in units])
    some_unit = next(iter(units.values()), None)
    verdicts = []
    for ref, text, used in labels_sql.stored_results(db, src):
        result = json.loads(text)  # every result decoded, as the raw annotations are
        if not used or some_unit is None:
            continue
        try:
            verdicts.append((ref, label_key(tt.from_ls_result(result or [], some_unit)), "ok", None))
        except (LabelError, KeyError, TypeError, ValueError) as exc:
            verdicts.append((ref, None, "invalid", f"{type(exc).__name__}: {exc}"))
    copied = labels_sql.copy_stored(db, name, src, ctx.spec.backend, verdicts)
    counts = {k: copied[k] for k in ("received", "new", "updated", "unchanged")}
    counts.update(deleted=0, invalid=copied["invalid"], skipped=copied["skipped"], unknown_unit=copied["unknown_unit"])
    deleted = labels_sql.delete(db, name, labels_sql.gone_stored(db, name, src)) if batch.complete and copied["had_any"] else []
    return counts, copied["written"], deleted, (copied["quarantined"], copied["first_quarantined"])


def pull_notes(backend: str, deleted: list[tuple[str, str, str]], quarantined: tuple[int, tuple | None]) -> list[str]:
    """What a person must hear about a pull: labels deleted in the backend (by whom, no backend
    records) and labels quarantined now (how many, the first one's ``(unit, annotator, reason)``)."""
    notes = []
    if deleted:
        shown = ", ".join(f"{a} on {u}" for u, a, _ in deleted[:5]) + (", ..." if len(deleted) > 5 else "")
        notes.append(f"{len(deleted)} annotation(s) deleted in {backend} since the last pull ({shown}): gone from "
                     "the store, their places are open again (who deleted them is not recorded there)")
    n, first = quarantined
    if n and first is not None:
        notes.append(f"{n} annotation(s) quarantined, not counted (first: {first[1]} on "
                     f"{first[0]}: {first[2]}); `workbench status` lists them")
    return notes


def settle(ctx: "StepContext") -> tuple[int, int]:
    """Give every annotation its place. Per unit, the earliest answers by annotators of the pool fill
    its planned places and later ones are ``extra`` (a place freed later is taken back); each answer
    in a place takes its annotator's own round, or the unit's earliest round with a place left. An
    answer by someone the pool does not name is ``not_in_pool``: kept, never counted, until they are
    accepted (`workbench annotators accept`); one by an annotator gating excluded is ``excluded``
    (kept, takes no place, never counted, until they are included back). Returns how many
    annotations changed and how many are extra."""
    db, name = ctx.store, ctx.name
    pool = {r["id"] for r in work_sql.annotators(db, name)} | {a.id for a in ctx.spec.annotators}
    excluded = set(gating_sql.excluded(db, name))  # their answers are kept, take no place, never count
    changes, extra = 0, 0
    # a page of units at a time, with their planned places (both read in unit order): the whole
    # table's rows, plans and changes held at once took gigabytes on a million annotations
    after: str | None = None
    while True:
        # the units' rows in any order first: a unit whose every answer has its own place needs no order
        rows = labels_sql.settling_after(db, name, after, SETTLE_PAGE, in_order=False)
        if not rows:
            break
        if len(rows) == SETTLE_PAGE:  # the last unit may go on in the next page: read it whole
            last = rows[-1][1]
            rows = [r for r in rows if r[1] != last] or labels_sql.settling_of(db, name, last)
        upto = rows[-1][1]
        page_changes, page_extra = _settle_page(db, name, after, upto, rows, pool, excluded, ctx.spec.overlap)
        labels_sql.settle(db, name, page_changes)
        changes += len(page_changes)
        extra += page_extra
        after = upto
    return changes, extra


#: annotations read per page by the settling pass
SETTLE_PAGE = 20_000

#: the statuses of answers (they take a place, or are kept beside the places)
_ANSWERS = frozenset(("ok", "extra", "not_in_pool", "excluded"))


def _settle_page(db, name: str, after: str | None, upto: str, rows: list[tuple], pool: set[str], excluded: set[str],
                 overlap: int) -> tuple[list[tuple[str, str, int | None]], int]:
    """:func:`settle` on one page of whole units (``(key, unit, annotator, status, round, planned round)``,
    grouped by unit, from after ``after`` up to ``upto``): the changes, and how many are extra. A unit
    whose answers are each by a different annotator of the pool with a planned place there gives each
    its own place (what :func:`_settle_units` gives them, in any order of its rows); the others go
    through :func:`_settle_units`, their rows read again earliest first."""
    changes: list[tuple[str, str, int | None]] = []
    other: set[str] = set()  # units for the general pass
    for unit, group in groupby(rows, key=itemgetter(1)):
        unit_rows = list(group)
        who = [r[2] for r in unit_rows if r[3] in _ANSWERS]
        if all(r[5] is not None for r in unit_rows if r[3] in _ANSWERS) and len(set(who)) == len(who) \
                and pool.issuperset(who) and excluded.isdisjoint(who):
            for key, _, _, status, rnd, own in unit_rows:
                want = "ok" if status in _ANSWERS else status
                if want != status or own != rnd:
                    changes.append((key, want, own))
        else:
            other.add(unit)
    if not other:
        return changes, 0
    # the general pass needs each unit's rows earliest first: the page read again in that order
    ordered = [r for r in labels_sql.settling_between(db, name, after, upto) if r[1] in other]
    slots: dict[str, list[int]] = {}  # unit -> the rounds of its planned places
    pair_round: dict[tuple[str, str], int] = {}
    for unit, annotator, rnd in work_sql.planned_rounds_between(db, name, after, upto):
        slots.setdefault(unit, []).append(rnd)
        pair_round[(unit, annotator)] = rnd
    named = [{"key": r[0], "unit_id": r[1], "annotator_id": r[2], "status": r[3], "round": r[4]} for r in ordered]
    more, extra = _settle_units(named, slots, pair_round, pool, excluded, overlap)
    return changes + more, extra


def _settle_units(rows: list, slots: dict[str, list[int]], pair_round: dict[tuple[str, str], int],
                  pool: set[str], excluded: set[str], overlap: int) -> tuple[list[tuple[str, str, int | None]], int]:
    """:func:`settle` on the rows of whole units (in unit order): the changes, and how many are extra."""
    changes, extra = [], 0
    for start, end in _runs([r["unit_id"] for r in rows]):
        unit_rows = rows[start:end]
        # a unit nothing was planned for (not through assign) has the spec's overlap of places, in no round
        free = list(slots.get(unit_rows[0]["unit_id"], [None] * overlap))
        answers = [r for r in unit_rows if r["status"] in ("ok", "extra", "not_in_pool", "excluded")]
        outsiders = [r for r in answers if r["annotator_id"] not in pool]
        banned = [r for r in answers if r["annotator_id"] in excluded]
        answers = [r for r in answers if r["annotator_id"] in pool and r["annotator_id"] not in excluded]
        kept, over = answers[:len(free)], answers[len(free):]
        want: dict[str, tuple[str, int | None]] = {r["key"]: ("extra", None) for r in over}
        want.update({r["key"]: ("not_in_pool", None) for r in outsiders})
        want.update({r["key"]: ("excluded", pair_round.get((r["unit_id"], r["annotator_id"]))) for r in banned})
        for r in kept:  # the annotator's own place first
            rnd = pair_round.get((r["unit_id"], r["annotator_id"]))
            if rnd is not None and rnd in free:
                free.remove(rnd)
                want[r["key"]] = ("ok", rnd)
        for r in kept:  # then the earliest free place
            if r["key"] not in want:
                want[r["key"]] = ("ok", free.pop(0))
        for r in unit_rows:
            status, rnd = want.get(r["key"], (r["status"], pair_round.get((r["unit_id"], r["annotator_id"]))))
            extra += status == "extra"
            if (status, rnd) != (r["status"], r["round"]):
                changes.append((r["key"], status, rnd))
    return changes, extra


def _runs(keys: list[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of equal consecutive keys."""
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            out.append((start, i))
            start = i
    return out

"""SQL for what the campaign computed: consensus per unit, agreement metrics, annotator quality."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Iterable, Iterator

from .ids import numbers
from .packing import Aggregates, NamedRow

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store

AGGREGATE_COLUMNS = ("unit_id", "label_json", "confidence", "n_annotations", "agreement", "method",
                     "posteriors_json", "tie")
QUALITY_COLUMNS = ("annotator", "n_annotations", "gold_n", "gold_accuracy", "consensus_agreement", "ds_accuracy",
                   "spammer_score", "flags_json", "confusion_json", "gold_accuracy_low", "gold_accuracy_high")
UNIT_COLUMNS = ("unit_id", "n_annotations", "agreement", "consensus_share", "disputed")


def _insert(db: "Store", table: str, campaign: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    marks = ", ".join("?" for _ in range(len(columns) + 1))
    db.executemany(f"INSERT INTO {table} (campaign, {', '.join(columns)}) VALUES ({marks})",
                   ((campaign, *r) for r in rows))  # rows may be a generator: not all held at once


#: the aggregates' columns as stored (migration ``m016_compact_aggregates``, :class:`.packing.Aggregates`; the
#: unit as its number, ``m017_unit_numbers``, :mod:`.ids`)
_STORED = ("unit", "label_json", "confidence", "n_annotations", "agreement", "method", "pkeys", "posteriors",
           "tie")
#: the stored columns read back with the unit's id, in unit order (the numbers follow the ids' order)
_READ = (f"SELECT k.id, {', '.join(_STORED[1:])} FROM aggregates CROSS JOIN unit_keys k ON k.n = aggregates.unit "
         "WHERE campaign=? ORDER BY unit")
#: rows numbered and written per block (a generator of a million rows is not held at once)
_BLOCK = 50_000


def replace_aggregates(db: "Store", campaign: str, rows: Iterable[tuple]) -> None:
    """One row per unit in :data:`AGGREGATE_COLUMNS` order."""
    db.execute("DELETE FROM aggregates WHERE campaign=?", (campaign,))
    packer = Aggregates(db)
    rows = iter(rows)
    have = None
    while block := [packer.packed(r) for r in islice(rows, _BLOCK)]:
        have = numbers(db, [r[0] for r in block], have)
        _insert(db, "aggregates", campaign, _STORED, [(have[r[0]], *r[1:]) for r in block])
    packer.flush()


class AggregateRow(NamedRow):
    """An aggregate's row in :data:`AGGREGATE_COLUMNS` order, by name (``row["label_json"]``) or position."""

    __slots__ = ()
    columns = AGGREGATE_COLUMNS


def aggregates(db: "Store", campaign: str) -> list[AggregateRow]:
    """Every aggregate, in unit order."""
    unpacked = Aggregates(db).unpacked
    return [AggregateRow(unpacked(r)) for r in
            db.tuples(_READ, campaign)]


def iter_consensus_rows(db: "Store", campaign: str) -> Iterator[tuple]:
    """Every aggregate but its posteriors, a row at a time, in unit order (the consensus rows of the read model)."""
    consensus = Aggregates(db).consensus
    return map(consensus, db.execute(_READ, (campaign,)))


#: rows per block of the readers by block (a few thousand: each block's strings still in the cache)
BLOCK = 4096


def consensus_blocks(db: "Store", campaign: str) -> Iterator[list[tuple[str, str]]]:
    """Every aggregate's ``(unit_id, label_json)``, in unit order, in blocks of plain tuples (the consensus
    labels)."""
    consensus = Aggregates(db).consensus
    for block in db.blocks(_READ, campaign, size=BLOCK):
        yield [(r[0], r[1]) for r in map(consensus, block)]


def posterior_blocks(db: "Store", campaign: str) -> Iterator[list[tuple[str, int, str, str | None]]]:
    """Every aggregate's ``(unit_id, n_annotations, method, posteriors_json)`` in unit order (as
    :func:`aggregates`), in blocks of plain tuples."""
    unpacked = Aggregates(db).unpacked
    for block in db.blocks(_READ, campaign, size=BLOCK):
        yield [(r[0], r[3], r[5], r[6]) for r in map(unpacked, block)]


def replace_agreement(db: "Store", campaign: str, metrics: Iterable[tuple], quality: Iterable[tuple],
                      units: Iterable[tuple]) -> None:
    """Metrics ``(metric, position, value, note, detail_json, ci_low, ci_high)``, quality rows and per-unit rows."""
    for table in ("metrics", "annotator_quality", "unit_agreement"):
        db.execute(f"DELETE FROM {table} WHERE campaign=?", (campaign,))
    _insert(db, "metrics", campaign, ("metric", "position", "value", "note", "detail_json", "ci_low", "ci_high"),
            metrics)
    _insert(db, "annotator_quality", campaign, QUALITY_COLUMNS, quality)
    units = sorted(units, key=lambda r: r[0])  # key order (the numbers follow the ids' order)
    have = numbers(db, [r[0] for r in units])
    _insert(db, "unit_agreement", campaign, ("unit", *UNIT_COLUMNS[1:]), [(have[r[0]], *r[1:]) for r in units])


def metrics(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT metric, value, note, detail_json, ci_low, ci_high FROM metrics WHERE campaign=? ORDER BY position", campaign)


def quality(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all(f"SELECT {', '.join(QUALITY_COLUMNS)} FROM annotator_quality WHERE campaign=? ORDER BY annotator",
                  campaign)


def unit_agreement(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all(f"SELECT k.id AS unit_id, {', '.join(UNIT_COLUMNS[1:])} FROM unit_agreement CROSS JOIN unit_keys k "
                  "ON k.n = unit_agreement.unit WHERE campaign=? ORDER BY agreement, unit", campaign)

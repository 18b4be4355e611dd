"""SQL for the planned corpus: documents and units (with gold labels, honeypot flags and pre-labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from .ids import number_units
from .packing import INSERT_UNIT, JOIN, NamedRow, packed_in

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store

UNIT_COLUMNS = ("id", "position", "document_id", "start", "end", "text", "context", "is_gold", "gold_json",
                "prelabel_json", "prelabel_score")


def replace(db: "Store", campaign: str, documents: Iterable[tuple], units: Iterable[tuple]) -> None:
    """The campaign's documents ``(id, title, source, sha256, text, metadata_json)`` and units (rows in
    :data:`UNIT_COLUMNS` order) replace what was planned before."""
    documents = list(documents)
    replace_rows(db, campaign, documents, unit_rows(campaign, {d[0]: d[4] for d in documents}, units))


def unit_rows(campaign: str, texts: Mapping[str, str], units: Iterable[tuple]) -> list[tuple]:
    """The rows :func:`replace` stores for units (in :data:`UNIT_COLUMNS` order) of the documents whose
    texts are ``texts`` (by id), made ahead: :func:`replace_rows` writes them (the plan makes each
    document's rows while its segmentation workers run)."""
    usable: dict[str, str | None] = {}  # each document's text, None where packed() would not use it
    out = []
    for u in units:
        if u[2] in usable:
            doc = usable[u[2]]
        else:
            text = texts.get(u[2])
            doc = usable[u[2]] = None if text is None or "\0" in text else text
        out.append(packed_in(campaign, doc, u))
    return out


def replace_rows(db: "Store", campaign: str, documents: Iterable[tuple], rows: Iterable[tuple]) -> None:
    """:func:`replace` with the units' rows made by :func:`unit_rows` (every unit's, of these documents)."""
    db.execute("DELETE FROM documents WHERE campaign=?", (campaign,))
    db.executemany("INSERT INTO documents (campaign, id, title, source, sha256, text, metadata_json) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [(campaign, *d) for d in documents])
    db.execute("DELETE FROM units WHERE campaign=?", (campaign,))
    # in key order: the table is its key's b-tree, and appending keeps its pages full
    db.executemany(INSERT_UNIT, sorted(rows, key=lambda r: r[1]))
    # every unit numbered now (:mod:`.ids`): a unit between two known ones renumbers the store here
    number_units(db, campaign)


def documents(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT id, title, source, sha256, text, metadata_json FROM documents WHERE campaign=? "
                  "ORDER BY id", campaign)


class UnitRow(NamedRow):
    """A unit's row in :data:`UNIT_COLUMNS` order, by name (``row["text"]``) or position."""

    __slots__ = ()
    columns = UNIT_COLUMNS


def units(db: "Store", campaign: str) -> list[UnitRow]:
    """Every unit in plan order; a text or context stored as offsets (:func:`.packing.packed`) is cut from its
    document here (in Python: in SQL, ``substr`` of a document of 200 KB per unit took seconds)."""
    docs = {r[0]: r[1] for r in db.all("SELECT id, text FROM documents WHERE campaign=?", campaign)}
    out = []
    for (uid, position, document_id, start, end, text, context, is_gold, gold_json, prelabel_json, prelabel_score,
         c1, n1, c2, n2) in db.execute('SELECT id, position, document_id, start, "end", text, context, is_gold, '
                                       "gold_json, prelabel_json, prelabel_score, c1, n1, c2, n2 FROM units "
                                       "WHERE campaign=? ORDER BY position", (campaign,)):
        if text is None or c1 is not None:
            doc = docs[document_id]
            if text is None:
                text = doc[start:end]
            if c1 is not None:
                at = start + c1
                context = doc[at:at + n1]
                if c2 is not None:
                    at = start + c2
                    context = context + JOIN + doc[at:at + n2]
        out.append(UnitRow((uid, position, document_id, start, end, text, context, is_gold, gold_json, prelabel_json,
                            prelabel_score)))
    return out


def stored_units(db: "Store", campaign: str) -> "sqlite3.Cursor":
    """Every unit in plan order as stored, a row at a time: ``(id, document_id, start, end, text, context,
    c1, n1, c2, n2, is_gold, gold_json)``, the text None when it is its document's ``text[start:end]``
    and the context as offsets when ``c1`` is not None (:func:`.packing.packed`; :func:`units` cuts them)."""
    return db.execute('SELECT id, document_id, start, "end", text, context, c1, n1, c2, n2, is_gold, gold_json '
                      "FROM units WHERE campaign=? ORDER BY position", (campaign,))


def prelabels(db: "Store", campaign: str) -> "sqlite3.Cursor":
    """``(id, prelabel_json, prelabel_score)`` of every pre-labeled unit, in plan order, a row at a time."""
    return db.execute("SELECT id, prelabel_json, prelabel_score FROM units WHERE campaign=? AND prelabel_json "
                      "IS NOT NULL ORDER BY position", (campaign,))


def unit_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT id FROM units WHERE campaign=?", campaign)}


def honeypot_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT id FROM units WHERE campaign=? AND is_gold=1", campaign)}


def count(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM units WHERE campaign=?", campaign) or 0)

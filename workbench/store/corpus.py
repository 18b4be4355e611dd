"""SQL for the planned corpus: documents and units (with gold labels, honeypot flags and pre-labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store

UNIT_COLUMNS = ("id", "position", "document_id", "start", "end", "text", "context", "is_gold", "gold_json",
                "prelabel_json", "prelabel_score")


#: a unit's row as stored (:func:`packed`): the columns of :data:`UNIT_COLUMNS`, then the offsets of its
#: context's parts (``c1, n1, c2, n2``: start relative to the unit's start, and length)
INSERT_UNIT = ('INSERT INTO units (campaign, id, position, document_id, start, "end", text, context, is_gold, '
               "gold_json, prelabel_json, prelabel_score, c1, n1, c2, n2) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

#: how a context's parts are joined (a unit's neighbouring sentences, ``workbench/tasktype.py``)
JOIN = " … "


def _cut(doc: str, start: int, end: int, part: str) -> int:
    """Where ``part`` is in ``doc``: just before the unit (its previous sentence), just after it (its
    next one), else anywhere; -1 if nowhere. (A document can be a file of 200 KB: no search of all of
    it per unit.)"""
    near = len(part) + 64
    at = doc.rfind(part, max(0, start - near), start)
    if at < 0:
        at = doc.find(part, end, end + near)
    if at < 0:
        at = doc.find(part)
    return at


def packed(campaign: str, doc: str | None, row) -> tuple:
    """A unit's row (in :data:`UNIT_COLUMNS` order) as :data:`INSERT_UNIT` stores it: its text NULL when
    it is ``doc[start:end]``, its context as offsets into ``doc`` when it is one or two pieces of it
    joined by :data:`JOIN` (checked here: :func:`units` gives back exactly what was written)."""
    uid, position, document_id, start, end, text, context, *rest = row
    offsets: list[int | None] = [None, None, None, None]
    if doc is not None and "\0" not in doc and isinstance(start, int) and isinstance(end, int):
        if 0 <= start <= end and isinstance(text, str) and doc[start:end] == text:
            text = None
        if isinstance(context, str) and 0 <= start:
            parts = context.split(JOIN)
            if len(parts) <= 2:
                at = [_cut(doc, start, end, p) for p in parts]
                if min(at) >= 0 and JOIN.join(doc[a:a + len(p)] for a, p in zip(at, parts)) == context:
                    for i, (a, p) in enumerate(zip(at, parts)):
                        offsets[2 * i], offsets[2 * i + 1] = a - start, len(p)
                    context = None
    return (campaign, uid, position, document_id, start, end, text, context, *rest, *offsets)


def replace(db: "Store", campaign: str, documents: Iterable[tuple], units: Iterable[tuple]) -> None:
    """The campaign's documents ``(id, title, source, sha256, text, metadata_json)`` and units (rows in
    :data:`UNIT_COLUMNS` order) replace what was planned before."""
    documents = list(documents)
    texts = {d[0]: d[4] for d in documents}
    db.execute("DELETE FROM documents WHERE campaign=?", (campaign,))
    db.executemany("INSERT INTO documents (campaign, id, title, source, sha256, text, metadata_json) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [(campaign, *d) for d in documents])
    db.execute("DELETE FROM units WHERE campaign=?", (campaign,))
    # in key order: the table is its key's b-tree, and appending keeps its pages full
    db.executemany(INSERT_UNIT, sorted((packed(campaign, texts.get(u[2]), u) for u in units), key=lambda r: r[1]))


def documents(db: "Store", campaign: str) -> list["sqlite3.Row"]:
    return db.all("SELECT id, title, source, sha256, text, metadata_json FROM documents WHERE campaign=? "
                  "ORDER BY id", campaign)


_INDEX = {name: i for i, name in enumerate(UNIT_COLUMNS)}


class UnitRow(tuple):
    """A unit's row, by name (``row["text"]``) or position, like ``sqlite3.Row`` (as small as a tuple:
    the read model keeps every unit's row)."""

    __slots__ = ()

    def __getitem__(self, key, _get=tuple.__getitem__, _index=_INDEX):  # type: ignore[override]
        return _get(self, _index[key] if key.__class__ is str else key)

    def keys(self) -> list[str]:
        return list(UNIT_COLUMNS)


def units(db: "Store", campaign: str) -> list[UnitRow]:
    """Every unit in plan order; a text or context stored as offsets (:func:`packed`) is cut from its
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


def unit_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT id FROM units WHERE campaign=?", campaign)}


def honeypot_ids(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT id FROM units WHERE campaign=? AND is_gold=1", campaign)}


def count(db: "Store", campaign: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM units WHERE campaign=?", campaign) or 0)

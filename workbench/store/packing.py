"""How the store keeps its big tables small (migrations ``m014_compact_store``, ``m016_compact_aggregates``)
and reads them back as written.

The migrations and the tables' modules (:mod:`.corpus`, :mod:`.backend`, :mod:`.labels`, :mod:`.results`)
pack rows with these functions; this module imports none of the store's others. The aggregates'
columns hold packed values (:class:`Aggregates`): SQL that reads them goes through it.

A lead time (seconds, a float: the simulated ones have two decimals) that is a whole number of
hundredths is kept as that number, an integer (1 or 2 bytes instead of 8); :func:`seconds_sql`
divides it back (``474 / 100.0`` is the same double as Python's ``474 / 100``, which is ``4.74``).
A time stamp in the workbench's own format (``2026-12-02T13:35:52+00:00``, :func:`workbench.store.now`)
is kept as its Unix time, an integer (5 bytes instead of 25), in columns without a type (SQLite
would turn the integer back into text in a TEXT column); any other text is kept as it is.
:func:`stamp_sql` turns the column back into the same text in SQL, so readers and ``ORDER BY`` see
what was written.
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, ClassVar, Iterable

from ..models import CONTEXT_JOIN as JOIN  # how a context's parts are joined (its neighbouring sentences)
from .ids import numbers


class NamedRow(tuple):
    """A row read by column name (``row["text"]``) or position, like ``sqlite3.Row``, as small as a tuple
    (the read model keeps a row per unit). A subclass names its ``columns`` and sets ``__slots__ = ()``."""

    __slots__ = ()
    columns: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        index = {name: i for i, name in enumerate(cls.columns)}

        def __getitem__(self, key, _get=tuple.__getitem__, _index=index):  # the names bound once: a hot path
            return _get(self, _index[key] if key.__class__ is str else key)

        cls.__getitem__ = __getitem__  # type: ignore[method-assign,assignment]

    def keys(self) -> list[str]:
        return list(self.columns)

#: SQLite's spelling of :func:`workbench.store.now`'s format (UTC, whole seconds)
_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"

#: the last second :func:`stamp` packs (9999-12-31T23:59:59+00:00): both spellings have four-digit years
_LAST = 253402300799

#: an ``updated_at`` equal to the row's ``created_at`` (annotations, where NULL is a value of its own)
SAME = b""


def _text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


@lru_cache(maxsize=65536)
def _packed(value: str) -> int | str:
    try:
        seconds = int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return value
    return seconds if 0 <= seconds <= _LAST and _text(seconds) == value else value


def stamp(value):
    """``value`` as stored: a time stamp in the workbench's format as an integer, anything else as is."""
    if type(value) is str and len(value) == 25 and value.endswith("+00:00"):
        return _packed(value)
    return value


def stamp_sql(column: str) -> str:
    """SQL giving back the text :func:`stamp` was given, for ``column``."""
    return f"CASE WHEN typeof({column}) = 'integer' THEN strftime('{_FORMAT}', {column}, 'unixepoch') ELSE {column} END"


def seconds(value):
    """A lead time as stored: a whole number of hundredths as an integer; anything else as a REAL column
    would keep it (an integer as a float)."""
    if type(value) is int:
        value = float(value)
    if type(value) is float and math.isfinite(value) and abs(value) < 1e12:
        hundredths = round(value * 100)
        if hundredths / 100 == value and (hundredths or math.copysign(1.0, value) > 0):
            return hundredths
    return value


def seconds_sql(column: str) -> str:
    """SQL giving back the float :func:`seconds` was given, for ``column``."""
    return f"CASE WHEN typeof({column}) = 'integer' THEN {column} / 100.0 ELSE {column} END"


# -- rows -------------------------------------------------------------------------------------------
#: a unit's row as stored (:func:`packed`): the columns of :data:`.corpus.UNIT_COLUMNS`, then the offsets of its
#: context's parts (``c1, n1, c2, n2``: start relative to the unit's start, and length)
INSERT_UNIT = ('INSERT INTO units (campaign, id, position, document_id, start, "end", text, context, is_gold, '
               "gold_json, prelabel_json, prelabel_score, c1, n1, c2, n2) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")



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
    """A unit's row (in :data:`.corpus.UNIT_COLUMNS` order) as :data:`INSERT_UNIT` stores it: its text NULL when
    it is ``doc[start:end]``, its context as offsets into ``doc`` when it is one or two pieces of it
    joined by :data:`JOIN` (checked here: :func:`.corpus.units` gives back exactly what was written)."""
    return packed_in(campaign, None if doc is None or "\0" in doc else doc, row)


def packed_in(campaign: str, doc: str | None, row) -> tuple:
    """:func:`packed` with its check of the document made by the caller, once per document rather than
    once per row (a document can be a file of 200 KB): ``doc`` holds no NUL character, or is None (the
    row is kept as given)."""
    uid, position, document_id, start, end, text, context, *rest = row
    offsets: list[int | None] = [None, None, None, None]
    if doc is not None and isinstance(start, int) and isinstance(end, int):
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


def packed_times(created, updated) -> tuple:
    """``(created_at, updated_at)`` as stored."""
    return stamp(created), SAME if updated == created and created is not None else stamp(updated)


def insert_local_results(db: Any, campaign: str, rows: Iterable[tuple],
                         table: str = "local_results") -> None:
    """``(unit, annotator, result_json, lead_time, created_at, updated_at, was_cancelled)`` rows into
    ``table`` through ``db`` (a :class:`~workbench.store.Store`, or the migration's connection), stored
    compactly (:mod:`.backend`) in key order (the table is its key's b-tree: appending keeps its pages full)."""
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    seen: dict[str, int] = {}
    for r in rows:
        seen[r[2]] = seen.get(r[2], 0) + 1
    write_local_results(db, campaign, [j for j, n in seen.items() if n > 1], [rows], table)


def write_local_results(db: Any, campaign: str, repeated: Iterable[str], blocks: Iterable[Iterable[tuple]],
                        table: str = "local_results") -> None:
    """What :func:`insert_local_results` stores of one batch of rows, from rows already in key order
    and given a block at a time (each block stored before the next is asked for: a million rows need
    not be held at once). ``repeated``: the results that come more than once in the batch, in the
    order they first come; each is kept once in ``local_result_values`` (a result kept there before
    is used as it is), and the rows hold its id."""
    known = {j: i for i, j in db.execute("SELECT id, result_json FROM local_result_values").fetchall()}
    for j in repeated:
        if j not in known:
            known[j] = db.execute("INSERT INTO local_result_values (result_json) VALUES (?)", (j,)).lastrowid
    # the units as numbers (m017, :mod:`.ids`); m014 wrote its own table of text ids (``local_results_new``)
    numbered = table == "local_results"
    sql = (f"INSERT INTO {table} (campaign, {'unit' if numbered else 'unit_id'}, annotator_id, result_json, lead_time, created_at, "
           "updated_at, was_cancelled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    # each distinct time stamp, and each distinct positive lead time, packed once (a million rows
    # have a few hundred of each; 0.0 and -0.0, equal as keys, are packed differently: not kept)
    times: dict[Any, Any] = {}
    leads: dict[float, Any] = {}
    have: dict[str, int] | None = None
    for rows in blocks:
        rows = list(rows)
        if numbered:
            have = numbers(db, [r[0] for r in rows], have)
        db.executemany(sql, [
            (campaign, have[u] if have is not None else u, a, known.get(j, j),
             (leads[lead] if lead in leads else leads.setdefault(lead, seconds(lead)))
             if lead.__class__ is float and lead > 0 else seconds(lead),
             times[created] if created in times else times.setdefault(created, stamp(created)),
             None if updated == created else stamp(updated), cancelled)
            for u, a, j, lead, created, updated, cancelled in rows])


# -- aggregates (migration ``m016_compact_aggregates``) ---------------------------------------------
# A row's posteriors (``{"check-worthy": 0.208..., ...}``, about 110 bytes of JSON) are kept as their
# doubles (8 bytes each) when the same classes come again: the classes once in ``aggregate_keys`` and
# the row's ``pkeys`` naming them. Its label, when it is one of those classes, is kept as the class's
# index (an integer), and its confidence as NULL when it is that class's posterior; its method as
# the id of its name in ``aggregate_methods``. Every row is
# checked as it is packed: :meth:`Aggregates.unpacked` gives back exactly the text and numbers given;
# any other row is kept as given.
_DOUBLE = struct.Struct("<d")
_AS_TEXT = sqlite3.connect(":memory:", check_same_thread=False)
_MAX_METHODS = 256  # methods kept by id (a campaign's aggregations use a handful)
_MAX_CACHED = 65_536  # distinct posteriors remembered packed (and read back)
_MAX_SEEN = 100_000  # class sets seen once, remembered to be packed when they come again (span tasks:
                     # a set per unit, never repeated)


class _Form:
    """One set of classes: the JSON text of posteriors over them (``%`` with the doubles), the doubles'
    struct, and each class's label text."""

    __slots__ = ("keys", "text", "struct", "labels", "index")

    def __init__(self, keys: tuple[str, ...]):
        self.keys = keys
        self.text = "{" + ", ".join(json.dumps(k).replace("%", "%%") + ": %r" for k in keys) + "}"
        self.struct = struct.Struct(f"<{len(keys)}d")
        self.labels = [json.dumps(k, ensure_ascii=False) for k in keys]
        self.index = {t: i for i, t in enumerate(self.labels)}


class Aggregates:
    """Packs and unpacks the aggregates' rows of one connection (``db``: a :class:`~workbench.store.Store`
    or the migration's connection); the class sets are read from ``aggregate_keys`` when made."""

    def __init__(self, db: Any):
        self.db = db
        self.forms: dict[int, _Form] = {}
        self.ids: dict[tuple[str, ...], int] = {}
        for i, keys_json in db.execute("SELECT id, keys_json FROM aggregate_keys").fetchall():
            keys = tuple(json.loads(keys_json))
            self.forms[i], self.ids[keys] = _Form(keys), i
        self.seen: set[tuple[str, ...]] = set()
        self.new: list[tuple[int, str]] = []
        self.names: dict[int, str] = dict(db.execute("SELECT id, method FROM aggregate_methods").fetchall())
        self.methods = {m: i for i, m in self.names.items()}
        self.new_methods: list[tuple[int, str]] = []
        self.packs: dict[str, tuple[int, bytes]] = {}
        self.texts: dict[tuple[int, bytes], str] = {}

    def _id(self, keys: tuple[str, ...]) -> int | None:
        """The id of a class set, made the second time it is seen."""
        i = self.ids.get(keys)
        if i is None:
            if keys not in self.seen:
                if len(self.seen) < _MAX_SEEN:
                    self.seen.add(keys)
                return None
            i = max(self.forms, default=0) + 1
            self.forms[i], self.ids[keys] = _Form(keys), i
            self.new.append((i, json.dumps(list(keys))))
        return i

    def packed(self, row: tuple) -> tuple:
        """A row ``(unit, label_json, confidence, n_annotations, agreement, method, posteriors_json, tie)`` as
        stored: ``(unit, label, confidence, n_annotations, agreement, method, pkeys, posteriors, tie)``."""
        unit, label, confidence, n, agreement, method, posteriors, tie = row
        if confidence is None or confidence != confidence:  # NaN: SQLite stores NULL (the column was NOT NULL)
            raise sqlite3.IntegrityError("NOT NULL constraint failed: aggregates.confidence")
        if label.__class__ is int or label.__class__ is float:  # the TEXT column kept a number as its text
            label = _AS_TEXT.execute("SELECT CAST(? AS TEXT)", (label,)).fetchone()[0]
        if method.__class__ is int or method.__class__ is float:
            method = _AS_TEXT.execute("SELECT CAST(? AS TEXT)", (method,)).fetchone()[0]
        if method.__class__ is str:
            method = self._method(method)
        if posteriors.__class__ is str and label.__class__ is str:
            hit = self.packs.get(posteriors)
            if hit is None:
                hit = self._pack(posteriors)
            if hit is not None:
                i, blob = hit
                at = self.forms[i].index.get(label)
                if at is not None:
                    label = at
                    # (not -0.0: a REAL column gives it back as 0.0)
                    if (confidence.__class__ is float and blob[8 * at:8 * at + 8] == _DOUBLE.pack(confidence)
                            and (confidence or math.copysign(1.0, confidence) > 0)):
                        confidence = None
                return unit, label, confidence, n, agreement, method, i, blob, tie
        return unit, label, confidence, n, agreement, method, None, posteriors, tie

    def _pack(self, posteriors: str) -> tuple[int, bytes] | None:
        """``(pkeys, doubles)`` of a posteriors' text, or None to keep the text; the packed ones are kept in
        :attr:`packs` (a campaign's units share a few hundred distinct posteriors: each is parsed once)."""
        try:
            values = json.loads(posteriors)
        except ValueError:
            return None
        if values.__class__ is not dict or not values:
            return None
        i = self._id(tuple(values))
        if i is None:
            return None
        form = self.forms[i]
        try:
            blob = form.struct.pack(*values.values())
        except (struct.error, OverflowError):  # not numbers
            return None
        if form.text % form.struct.unpack(blob) != posteriors:  # as :meth:`unpacked` reads it back
            return None
        if len(self.packs) < _MAX_CACHED:
            self.packs[posteriors] = i, blob
        return i, blob

    def _method(self, method: str) -> int | str:
        """A method's id (its name kept once in ``aggregate_methods``; a few hundred at most)."""
        i = self.methods.get(method)
        if i is None:
            if len(self.names) >= _MAX_METHODS:
                return method
            i = max(self.names, default=0) + 1
            self.names[i], self.methods[method] = method, i
            self.new_methods.append((i, method))
        return i

    def flush(self) -> None:
        """Store the class sets and methods made since the last flush."""
        self.db.executemany("INSERT INTO aggregate_keys (id, keys_json) VALUES (?, ?)", self.new)
        self.db.executemany("INSERT INTO aggregate_methods (id, method) VALUES (?, ?)", self.new_methods)
        self.new, self.new_methods = [], []

    def unpacked(self, row: tuple) -> tuple:
        """A stored row (:meth:`packed`) as it was given."""
        unit, label, confidence, n, agreement, method, i, posteriors, tie = row
        if method.__class__ is int:
            method = self.names[method]
        if i is not None:
            form = self.forms[i]
            if label.__class__ is int:
                if confidence is None:
                    confidence = _DOUBLE.unpack_from(posteriors, 8 * label)[0]
                label = form.labels[label]
            text = self.texts.get((i, posteriors))
            if text is None:
                text = form.text % form.struct.unpack(posteriors)
                if len(self.texts) < _MAX_CACHED:
                    self.texts[i, posteriors] = text
            posteriors = text
        return unit, label, confidence, n, agreement, method, posteriors, tie

    def consensus(self, row: tuple) -> tuple:
        """A stored row without ``pkeys`` and posteriors, as given without its posteriors."""
        unit, label, confidence, n, agreement, method, i, posteriors, tie = row
        if method.__class__ is int:
            method = self.names[method]
        if label.__class__ is int and i is not None:
            form = self.forms[i]
            if confidence is None:
                confidence = _DOUBLE.unpack_from(posteriors, 8 * label)[0]
            label = form.labels[label]
        return unit, label, confidence, n, agreement, method, tie

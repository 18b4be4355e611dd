"""The records of a :class:`~workbench.export.records.Records` selection written from its columns.

The bytes are those of the record-by-record writers: a JSON line is ``json.dumps(record,
ensure_ascii=False)`` (or with ``sort_keys``), laid out field by field the way the C encoder lays out
a dict (``{"key": value, ...}``: strings by ``json.encoder.encode_basestring``, integers by
``int.__repr__``, floats by ``float.__repr__`` or ``NaN``/``Infinity``, lists and dicts by the encoder
itself, once per shared value); a CSV row holds the cells :func:`csv_cell` gives. A block of
records at a time: never every line at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from .records import FIELDS

#: records laid out at a time (their lines or cells are dropped after each block)
BLOCK = 1024

#: texts of lists and dicts kept by identity at most (values of one record each are not shared)
MEMO = 65536

_INF = float("inf")
_BOOLS = {True: "true", False: "false"}


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


def json_values(values: list, sort_keys: bool = False, memo: dict[int, str] | None = None) -> list[str]:
    """Each value as ``json.dumps(value, ensure_ascii=False, sort_keys=sort_keys)`` writes it inside a
    record. ``memo`` keeps the text of lists and dicts by identity: only for values that stay alive
    as long as it does (a selection's columns)."""
    dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=sort_keys).encode
    memo = {} if memo is None else memo
    kinds = set(map(type, values))
    if kinds == {str}:  # text: one value repeated (a campaign's name), or each its own
        if values and values.count(values[0]) == len(values):
            return [encode_basestring(values[0])] * len(values)
        return list(map(encode_basestring, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))
    if kinds <= {bool}:
        return [_BOOLS[v] for v in values]
    if kinds <= {list, dict}:  # shared lists (votes, review reasons): each laid out once
        ids = list(map(id, values))
        if len(memo) + len(ids) > MEMO:
            memo.clear()
        for v in values:
            if id(v) not in memo:
                memo[id(v)] = dumps(v)
        return list(map(memo.__getitem__, ids))
    out = []
    add = out.append
    for v in values:
        t = type(v)
        if t is str:
            add(encode_basestring(v))
        elif v is None:
            add("null")
        elif v is True:
            add("true")
        elif v is False:
            add("false")
        elif t is int:
            add(int.__repr__(v))
        elif t is float:
            add(_float(v))
        elif t is list or t is dict:
            key = id(v)
            text = memo.get(key)
            if text is None:
                if len(memo) >= MEMO:
                    memo.clear()
                text = memo[key] = dumps(v)
            add(text)
        else:  # anything else as the encoder writes it (or refuses it)
            add(dumps(v))
    return out


def json_lines(columns: Mapping[str, Sequence], sort_keys: bool = False) -> Iterator[list[str]]:
    """Blocks of records as JSON texts (no newline), in order."""
    names = sorted(FIELDS) if sort_keys else list(FIELDS)
    layout = "{" + ", ".join(f"{encode_basestring(n)}: %s" for n in names) + "}"
    n = len(columns[names[0]]) if names else 0
    memos: dict[str, dict[int, str]] = {name: {} for name in names}
    for start in range(0, n, BLOCK):
        encoded = [json_values(columns[name][start:start + BLOCK], sort_keys, memos[name]) for name in names]
        yield [layout % row for row in zip(*encoded)]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A record value as a CSV cell: nested values as JSON, text that would run as a formula defused."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


FORMULA_CHARS = frozenset(FORMULA_START)
PLAIN_TYPES = frozenset((int, float, bool, type(None)))


def csv_cells(values: list, memo: dict[int, Any]) -> list:
    """:func:`csv_cell` of each value (lists and dicts as JSON, kept by identity in ``memo``)."""
    kinds = set(map(type, values))
    if kinds <= PLAIN_TYPES:  # numbers, flags, empty cells: as they are
        return values
    if kinds == {str}:
        formula = FORMULA_CHARS
        return ["'" + v if v[:1] in formula else v for v in values]
    out = []
    add = out.append
    for v in values:
        t = type(v)
        if t is str:
            add("'" + v if v and v[0] in FORMULA_CHARS else v)
        elif t in PLAIN_TYPES:
            add(v)
        elif t is list or t is dict:
            key = id(v)
            cell = memo.get(key, memo)
            if cell is memo:
                if len(memo) >= MEMO:
                    memo.clear()
                cell = memo[key] = csv_cell(v)
            add(cell)
        else:
            add(csv_cell(v))
    return out


def _csv_rendering() -> tuple[str, ...] | None:
    """The characters that make ``csv.writer`` (``lineterminator="\\n"``, the rest as its defaults)
    quote a field, probed in this Python (3.11: the comma, the quote and the newline; not ``\\r``);
    None if a probed field is written in another way than quoted with its quotes doubled (then the
    CSV is written by ``csv.writer`` itself). Only ASCII and Latin-1 are probed: the writer quotes
    for its dialect's characters and line ends (a test holds the rest of Unicode to it)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    special = []
    for c in map(chr, range(256)):
        buf.seek(0)
        buf.truncate()
        writer.writerow(["a" + c + "b", ""])
        text = buf.getvalue()
        if text == "a" + c + "b,\n":
            continue
        if text != '"' + ("a" + c + "b").replace('"', '""') + '",\n':
            return None
        special.append(c)
    return tuple(special)


#: what makes a CSV cell quoted (None: the CSV is written by ``csv.writer``)
CSV_QUOTED = _csv_rendering()


def csv_text(cell: Any) -> str:
    """A cell (:func:`csv_cell`'s value) as ``csv.writer`` writes it in a row of several fields."""
    kind = type(cell)
    if kind is str:
        text = cell
    elif cell is None:
        return ""
    elif kind is int or kind is bool:
        return str(cell)
    elif kind is float:
        return float.__repr__(cell)
    else:  # anything else exactly as the writer writes it
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([cell, ""])
        return buf.getvalue()[:-2]
    for c in CSV_QUOTED or ():
        if c in text:
            return '"' + text.replace('"', '""') + '"'
    return text


def csv_texts(values: list, memo: dict[int, Any]) -> list[str]:
    """:func:`csv_text` of :func:`csv_cell` of each value (shared lists and dicts once, by identity)."""
    kinds = set(map(type, values))
    special = CSV_QUOTED or ()
    if kinds == {str}:
        formula = FORMULA_CHARS
        if len(special) == 3:
            a, b, c = special
            return ['"' + v.replace('"', '""') + '"' if a in v or b in v or c in v else v
                    for v in ["'" + v if v[:1] in formula else v for v in values]]
        return [csv_text("'" + v if v[:1] in formula else v) for v in values]
    if kinds <= {float, type(None)}:
        return ["" if v is None else float.__repr__(v) for v in values]
    if kinds <= {int, bool, type(None)}:
        return ["" if v is None else str(v) for v in values]
    out = []
    add = out.append
    for v in values:
        t = type(v)
        if t is list or t is dict:
            key = id(v)
            text = memo.get(key)
            if text is None:
                if len(memo) >= MEMO:
                    memo.clear()
                text = memo[key] = csv_text(csv_cell(v))
            add(text)
        else:
            add(csv_text(csv_cell(v)))
    return out


def csv_lines(columns: dict[str, list]) -> Iterator[str]:
    """Blocks of CSV lines (each record's cells as ``csv.writer`` lays them out, ``\\n`` after each)."""
    n = len(columns[FIELDS[0]])
    memos: dict[str, dict[int, Any]] = {name: {} for name in FIELDS}
    for start in range(0, n, BLOCK):
        cells = [csv_texts(columns[name][start:start + BLOCK], memos[name]) for name in FIELDS]
        yield "\n".join(map(",".join, zip(*cells))) + "\n"


def csv_rows(columns: dict[str, list]) -> Iterator[list[tuple]]:
    """Blocks of CSV rows (the cells of each record, in :data:`FIELDS` order)."""
    n = len(columns[FIELDS[0]])
    memos: dict[str, dict[int, Any]] = {name: {} for name in FIELDS}
    for start in range(0, n, BLOCK):
        cells = [csv_cells(columns[name][start:start + BLOCK], memos[name]) for name in FIELDS]
        yield list(zip(*cells))

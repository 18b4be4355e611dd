"""How the store keeps its big tables small (migration ``m014_compact_store``) and reads them back as written.

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

import math
from datetime import datetime, timezone
from functools import lru_cache

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

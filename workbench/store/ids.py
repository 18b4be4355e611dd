"""Unit ids as small integers inside the store (migration ``m017_unit_numbers``).

A unit id (``claims-0002500c55418719``, 23 bytes) was written about 926 000 times in a 5 MB run's
store: in the annotations and their pair index, the local backend's results, the assignments, the
aggregates, the per-unit agreement and the backend tasks (:data:`NUMBERED`). Those tables now keep a
number (``unit``, 1-3 bytes) and ``unit_keys`` keeps each id once with its number (its rowid ``n``;
one dictionary for the whole store, ids are text). Reads give the id back by joining ``unit_keys``. The numbers follow the
ids' text order (SQLite's ``BINARY``, which for UTF-8 is Python's ``str`` order), so ``ORDER BY unit``
is ``ORDER BY unit_id`` and ``unit > n`` is ``unit_id > id``. An id that sorts after every id known is
given the next number; one that falls between two known ids makes :func:`numbers` renumber every id
(``1..N`` in text order) and every table that holds numbers (:data:`NUMBERED`), in the caller's
transaction. Ids are never removed (a unit planned away may still have annotations).
"""

from __future__ import annotations

from typing import Any, Iterable

#: (table, column) of every column holding unit numbers
NUMBERED = (("annotations", "unit"), ("local_results", "unit"), ("assignments", "unit"), ("aggregates", "unit"),
            ("unit_agreement", "unit"), ("backend_tasks", "unit"))


def uid(column: str) -> str:
    """SQL giving back the unit id of the number in ``column``."""
    return f"(SELECT id FROM unit_keys WHERE n = {column})"


def num(param: str = "?") -> str:
    """SQL giving the number of the unit id in ``param`` (NULL if the store has not seen it)."""
    return f"(SELECT n FROM unit_keys WHERE id = {param})"


def after(param: str = "?") -> str:
    """SQL giving a number ``b`` such that ``unit > b`` is ``unit_id > param`` for any text ``param``
    (the number of the last id not after it; 0 when there is none)."""
    return f"COALESCE((SELECT n FROM unit_keys WHERE id <= {param} ORDER BY id DESC LIMIT 1), 0)"


def known(db: Any) -> dict[str, int]:
    """``{id: number}`` of every unit id of the store."""
    conn = getattr(db, "conn", db)  # a Store's connection makes sqlite3.Rows: plain tuples cost half
    cur = conn.cursor()
    cur.row_factory = None
    return dict(cur.execute("SELECT id, n FROM unit_keys").fetchall())


def numbers(db: Any, ids: Iterable[str], have: dict[str, int] | None = None) -> dict[str, int]:
    """``{id: number}`` with every one of ``ids`` in it (and every other id known): the ones the store
    has not seen are given numbers (:mod:`this module <.ids>`), which may renumber the store's. ``db`` is a
    :class:`~workbench.store.Store` in a transaction or the migrations' connection; ``have``: what an
    earlier call returned, in the same transaction (updated in place and returned)."""
    if have is None:
        have = known(db)
    new = sorted({u for u in ids if u not in have})
    if not new:
        return have
    last = max(have) if have else None
    if last is None or new[0] > last:
        top = len(have)  # numbers are 1..N
        rows = [(top + i, u) for i, u in enumerate(new, 1)]
        db.executemany("INSERT INTO unit_keys (n, id) VALUES (?, ?)", rows)
        have.update((u, n) for n, u in rows)
        return have
    _renumber(db, have, new)
    return have


def _renumber(db: Any, have: dict[str, int], new: list[str]) -> None:
    """Every id (known and ``new``) numbered ``1..N`` in text order, and every numbered column changed
    to match: first to the new numbers negated (no new number meets an old one on a unique key),
    then to the new numbers."""
    every = sorted([*have, *new])
    renum = [(have[u], n) for n, u in enumerate(every, 1) if u in have and have[u] != n]
    db.execute("DROP TABLE IF EXISTS temp.unit_renumber")
    db.execute("CREATE TEMP TABLE unit_renumber (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
    db.executemany("INSERT INTO temp.unit_renumber (old, new) VALUES (?, ?)", renum)
    for table, column in NUMBERED:
        db.execute(f"UPDATE {table} SET {column} = -(SELECT new FROM temp.unit_renumber WHERE old = {column}) "
                   f"WHERE {column} IN (SELECT old FROM temp.unit_renumber)")
        db.execute(f"UPDATE {table} SET {column} = -{column} WHERE {column} < 0")
    db.execute("DROP TABLE temp.unit_renumber")
    db.execute("DELETE FROM unit_keys")
    db.executemany("INSERT INTO unit_keys (n, id) VALUES (?, ?)", list(enumerate(every, 1)))
    have.clear()
    have.update((u, n) for n, u in enumerate(every, 1))


def number_units(db: Any, campaign: str) -> None:
    """Every unit of ``campaign``'s plan (the ``units`` table) numbered: in SQL when the new ids all sort
    after the known ones (a first plan), else by :func:`numbers` (which renumbers)."""
    new = "FROM units u WHERE u.campaign=? AND NOT EXISTS (SELECT 1 FROM unit_keys k WHERE k.id = u.id)"
    first = db.execute(f"SELECT MIN(u.id) {new}", (campaign,)).fetchone()[0]
    if first is None:
        return
    last = db.execute("SELECT MAX(id) FROM unit_keys").fetchone()[0]
    if last is None or first > last:  # rowids go on from the last: 1..N stays dense
        db.execute(f"INSERT INTO unit_keys (id) SELECT u.id {new} ORDER BY u.id", (campaign,))
    else:
        numbers(db, [r[0] for r in db.execute("SELECT id FROM units WHERE campaign=?", (campaign,)).fetchall()])

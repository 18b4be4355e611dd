"""Campaign state in SQLite: one file under the workbench home, all of the workbench's SQL in this package.

The home is ``.workbench/`` in the current folder unless ``--home`` or ``WORKBENCH_HOME`` says
otherwise. Opening a store applies the migrations it has not had (:mod:`.migrations`). Every
statement goes through :class:`Store`, which turns SQLite's failures (full disk, read-only home,
damaged file) into one-line :class:`~.errors.StoreError`\\ s; the modules beside it hold the SQL
for each group of tables (:mod:`.campaigns`, :mod:`.corpus`, :mod:`.work`, :mod:`.labels`,
:mod:`.results`, :mod:`.backend`), so no other module writes SQL.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import WorkbenchError
from .errors import StoreError, store_error

__all__ = ["Store", "StoreError", "default_home", "now"]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_home() -> Path:
    return Path(os.environ.get("WORKBENCH_HOME") or ".workbench")


class Store:
    """The connection to ``<home>/workbench.db``: opened (and migrated) on first use."""

    def __init__(self, home: Path | str | None = None):
        self.home = Path(home) if home is not None else default_home()
        self.path = self.home / "workbench.db"
        self._conn: sqlite3.Connection | None = None
        self.migrated: list[str] = []  # migrations applied when this store was opened

    # -- connection -----------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._open()
        return self._conn

    def _open(self) -> None:
        from . import migrations

        if self.home.exists() and not self.home.is_dir():
            raise StoreError(f"{self.home}: the workbench home is a file, not a folder")
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise store_error(exc, self.home) from None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            # a big step's transaction grows the WAL to hundreds of MB; give the disk back after checkpoints
            conn.execute("PRAGMA journal_size_limit=67108864")
            todo = migrations.pending(conn)
            if todo:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    todo = migrations.pending(conn)  # another process may have migrated meanwhile
                    self.migrated = migrations.migrate(conn, todo, now())
                except BaseException:
                    _rollback(conn)
                    raise
                conn.execute("COMMIT")
                _give_back(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise store_error(exc, self.path) from None
        except WorkbenchError as exc:  # a store from a newer release, or not a workbench store
            conn.close()
            raise StoreError(f"{self.path}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- transactions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator["Store"]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: a step changes all or nothing.

        Nested use joins the enclosing transaction. A SQLite failure inside becomes a StoreError
        naming the real cause (SQLite rolls back by itself on a full disk; a second ROLLBACK would
        hide that cause behind "no transaction is active").
        """
        conn = self.conn
        if conn.in_transaction:
            yield self
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from None
        try:
            yield self
        except sqlite3.Error as exc:
            _rollback(conn)
            raise store_error(exc, self.path) from None
        except BaseException:
            _rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise store_error(exc, self.path) from None

    @contextlib.contextmanager
    def page_cache(self, megabytes: int) -> Iterator["Store"]:
        """A page cache of ``megabytes`` for this connection inside the block (SQLite's default is 2 MB):
        a transaction that writes a million rows into indexed tables spills a small cache to the WAL
        page by page, again and again. The caller's size is set back when the block ends."""
        conn = self.conn
        with self._failing():
            before = conn.execute("PRAGMA cache_size").fetchone()[0]
            conn.execute(f"PRAGMA cache_size={-int(megabytes) * 1024}")
        try:
            yield self
        finally:
            with self._failing():
                conn.execute(f"PRAGMA cache_size={int(before)}")

    # -- statements (the SQL modules call these) -----------------------------------------------
    @contextlib.contextmanager
    def _failing(self) -> Iterator[None]:
        """A SQLite failure outside a transaction becomes a StoreError here; inside one, the
        transaction turns it into one after rolling back."""
        try:
            yield
        except sqlite3.Error as exc:
            if self._conn is not None and self._conn.in_transaction:
                raise
            raise store_error(exc, self.path) from None

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._failing():
            return self.conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> sqlite3.Cursor:
        with self._failing():
            return self.conn.executemany(sql, rows)

    def one(self, sql: str, *args) -> sqlite3.Row | None:
        with self._failing():
            return self.conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args) -> list[sqlite3.Row]:
        with self._failing():
            return self.conn.execute(sql, args).fetchall()

    def tuples(self, sql: str, *args) -> list[tuple]:
        """:meth:`all` as plain tuples (a :class:`sqlite3.Row` per row costs more on a million rows)."""
        with self._failing():
            cur = self.conn.cursor()
            cur.row_factory = None
            return cur.execute(sql, args).fetchall()

    def blocks(self, sql: str, *args, size: int = 50_000) -> Iterator[list[tuple]]:
        """The rows of ``sql`` as plain tuples, in lists of at most ``size`` (a million rows read a
        block at a time, each block unpacked by column)."""
        with self._failing():
            cur = self.conn.cursor()
            cur.row_factory = None
            cur.execute(sql, args)
            while block := cur.fetchmany(size):
                yield block

    def scalar(self, sql: str, *args) -> Any:
        row = self.one(sql, *args)
        return None if row is None else row[0]


def _give_back(conn: sqlite3.Connection) -> None:
    """After migrations that rebuilt tables (``m014_compact_store``), most of the file may be free
    pages: VACUUM gives them back to the disk (a migrated store is as small as a new one)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    if pages and free * 4 > pages:
        try:
            conn.execute("VACUUM")
        except sqlite3.OperationalError:  # another process is reading it: the free pages are reused later
            pass


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the original failure is the one to report

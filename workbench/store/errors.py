"""Store and disk failures as one line a person can act on.

SQLite reports a full disk, a read-only folder and a damaged file with terse codes; these turn them
into a :class:`StoreError` naming the store's path, the cause and what to do. File writes outside
the store (exports, reports, label files) use :func:`file_error` for the same kinds of failure.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from ..errors import WorkbenchError


class StoreError(WorkbenchError):
    """The workbench store could not be read or written (full disk, read-only home, damaged file)."""


#: (substring of SQLite's message, what it means, what to do)
_SQLITE = (
    ("database or disk is full", "the disk is full", "free some space and run the command again; "
                                                      "nothing was half-written"),
    ("attempt to write a readonly database", "the workbench home is read-only",
     "run from a writable home (--home or WORKBENCH_HOME)"),
    ("readonly database", "the workbench home is read-only", "run from a writable home (--home or WORKBENCH_HOME)"),
    ("unable to open database file", "the store cannot be opened (is the home folder writable?)",
     "check the folder's permissions or use another --home"),
    ("file is not a database", "the store is corrupt or not a workbench store",
     "restore it from a backup, or move it aside to start a new store"),
    ("database disk image is malformed", "the store is corrupt (truncated or damaged)",
     "restore it from a backup, or move it aside to start a new store"),
    ("malformed database schema", "the store is corrupt (truncated or damaged)",
     "restore it from a backup, or move it aside to start a new store"),
    ("disk i/o error", "a disk I/O error (full disk, failing disk or a removed drive?)",
     "check the disk and run the command again"),
    ("database is locked", "another workbench process is writing to the store",
     "wait for it to finish and run the command again"),
)


#: below this many free bytes, a write error on the store's disk is taken for a full disk
LOW_SPACE = 4 * 1024 * 1024


def free_bytes(path: Path | str) -> int | None:
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def store_error(exc: BaseException, path: Path | str) -> StoreError:
    """A :class:`StoreError` for an exception raised by SQLite (or the file system under it).

    SQLite often reports a full disk as a plain I/O error (its shared-memory or log file could not
    grow); when the store's disk has (almost) no free space left, that is what the message says.
    """
    if isinstance(exc, StoreError):
        return exc
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if isinstance(exc, OSError) and exc.errno is not None:
        what = _os_cause(exc)
        return StoreError(f"{path}: {what} ({exc.strerror or text})")
    code = getattr(exc, "sqlite_errorname", None)
    if code and (code.startswith("SQLITE_IOERR") or code == "SQLITE_FULL") or "disk i/o error" in low:
        free = free_bytes(path)
        if free is not None and free < LOW_SPACE:
            return StoreError(f"{path}: the disk is full ({free} bytes free; SQLite: {text}); free some space and "
                              "run the command again; nothing was half-written")
    for needle, what, todo in _SQLITE:
        if needle in low:
            return StoreError(f"{path}: {what} (SQLite: {text}); {todo}")
    return StoreError(f"{path}: the workbench store failed: {text}")


def _os_cause(exc: OSError) -> str:
    return {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "a file is in the way (a part of the path is a file, not a folder)",
        errno.EISDIR: "the path is a folder, not a file",
        errno.ENOENT: "no such file or folder",
        errno.EIO: "a disk I/O error",
    }.get(exc.errno, "cannot write")


def file_error(exc: OSError, path: Path | str, what: str = "cannot write") -> WorkbenchError:
    """One line for a failed file operation: ``<what> <path>: <cause> (<system message>)``."""
    return WorkbenchError(f"{what} {path}: {_os_cause(exc)} ({exc.strerror or exc})")


def is_store_failure(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.Error)

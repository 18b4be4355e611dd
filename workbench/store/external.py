"""SQL the workbench runs on another program's SQLite file: the managed Label Studio's database.

Label Studio owns that file and its schema (its own Django migrations); the workbench only chooses how
SQLite writes it, from the process that serves it (``workbench.backends.labelstudio.appserver``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: for each connection (Django's ``init_command``): in WAL mode a commit is an append to the log with no
#: fsync, and still crash-safe (a power cut may lose the last commits, never corrupt the file)
SYNCHRONOUS_NORMAL = "PRAGMA synchronous=NORMAL"


def use_wal(path: Path) -> None:
    """Put the database at ``path`` in WAL mode: readers stop waiting for a writer; kept by the file."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()

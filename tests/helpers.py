"""Small builders shared by tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "tasks" / "articles"


def pool(*members: tuple[str, str]) -> str:
    """``[[annotators]]`` tables for (id, persona) pairs."""
    return "".join(f'\n[[annotators]]\nid = "{i}"\npersona = "{p}"' for i, p in members) + "\n"


POOL = pool(("ana", "expert"), ("ben", "careful"), ("dev", "hasty"), ("sam", "spammer"))


def write_spec(folder: Path, name: str = "c1", task_type: str = "sentiment", documents: str | None = None,
               extra: str = "", pool: str = POOL, overlap: int = 3, gold: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    documents = documents or str(ARTICLES / "00[01]_*.txt")
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ntask_type = "{task_type}"\ndocuments = "{documents}"\noverlap = {overlap}\nseed = 5\n'
        f"{extra}\n{gold}\n{pool}\n", "utf-8")
    return path


def dump_store(home: Path) -> list:
    """Every row of every table, to check a failed command changed nothing."""
    db = home / "workbench.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return [(t, sorted(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall()))) for t in tables]
    finally:
        conn.close()

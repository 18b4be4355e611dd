"""SQL for campaigns, their spec versions, the steps they ran, and the store's own settings (``meta``)."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    from . import Store


def get(db: "Store", name: str) -> "sqlite3.Row | None":
    return db.one("SELECT name, fingerprint, spec_path, spec_json, task_type, backend, created_at, spec_version, "
                  "identity_json, annotations_rev, schema_json FROM campaigns WHERE name=?", name)


def pin_schema(db: "Store", name: str, schema_json: str) -> None:
    """Keep the label schema the campaign is planned with (only the first one counts)."""
    db.execute("UPDATE campaigns SET schema_json=? WHERE name=? AND schema_json IS NULL", (schema_json, name))


def names(db: "Store") -> list[str]:
    return [r[0] for r in db.all("SELECT name FROM campaigns ORDER BY name")]


def create(db: "Store", name: str, *, spec_path: str, spec_json: str, fingerprint: str, identity_json: str,
           task_type: str, backend: str, stamp: str, changes: list[str]) -> None:
    db.execute("INSERT INTO campaigns (name, fingerprint, spec_path, spec_json, task_type, backend, created_at, "
               "spec_version, identity_json, annotations_rev) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, 0)",
               (name, fingerprint, spec_path, spec_json, task_type, backend, stamp, identity_json))
    _version(db, name, 1, spec_path, spec_json, fingerprint, identity_json, changes, stamp)


def record_version(db: "Store", name: str, *, spec_path: str, spec_json: str, fingerprint: str,
                   identity_json: str, task_type: str, backend: str, stamp: str, changes: list[str]) -> int:
    """A new current spec for ``name``; returns its version number."""
    version = int(db.scalar("SELECT COALESCE(MAX(version), 0) FROM spec_versions WHERE campaign=?", name)) + 1
    _version(db, name, version, spec_path, spec_json, fingerprint, identity_json, changes, stamp)
    db.execute("UPDATE campaigns SET fingerprint=?, spec_path=?, spec_json=?, task_type=?, backend=?, "
               "spec_version=?, identity_json=? WHERE name=?",
               (fingerprint, spec_path, spec_json, task_type, backend, version, identity_json, name))
    return version


def _version(db, name, version, spec_path, spec_json, fingerprint, identity_json, changes, stamp) -> None:
    db.execute("INSERT INTO spec_versions (campaign, version, fingerprint, spec_path, spec_json, identity_json, "
               "changes_json, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (name, version, fingerprint, spec_path, spec_json, identity_json, json.dumps(changes), stamp))


def set_identity(db: "Store", name: str, identity_json: str) -> None:
    """Fill in the identity of the current version (a store made by 0.1 had none)."""
    db.execute("UPDATE campaigns SET identity_json=? WHERE name=?", (identity_json, name))
    db.execute("UPDATE spec_versions SET identity_json=? WHERE campaign=? AND version="
               "(SELECT spec_version FROM campaigns WHERE name=?)", (identity_json, name, name))


def versions(db: "Store", name: str) -> list[dict[str, Any]]:
    return [{"version": r["version"], "recorded_at": r["recorded_at"], "fingerprint": r["fingerprint"],
             "spec_path": r["spec_path"], "changes": json.loads(r["changes_json"])}
            for r in db.all("SELECT version, recorded_at, fingerprint, spec_path, changes_json FROM spec_versions "
                            "WHERE campaign=? ORDER BY version", name)]


def bump_annotations_rev(db: "Store", name: str) -> None:
    db.execute("UPDATE campaigns SET annotations_rev = annotations_rev + 1 WHERE name=?", (name,))


def annotations_rev(db: "Store", name: str) -> int:
    return int(db.scalar("SELECT annotations_rev FROM campaigns WHERE name=?", name) or 0)


# -- steps -----------------------------------------------------------------------------------------
def record_step(db: "Store", campaign: str, step: str, summary: dict[str, Any], stamp: str,
                inputs: dict[str, Any] | None = None) -> int:
    """Record what ``step`` produced; returns its run number (increasing over the campaign's steps)."""
    seq = int(db.scalar("SELECT COALESCE(MAX(seq), 0) FROM steps WHERE campaign=?", campaign)) + 1
    db.execute("INSERT INTO steps (campaign, step, finished_at, summary_json, seq, inputs_json) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, step) DO UPDATE SET "
               "finished_at=excluded.finished_at, summary_json=excluded.summary_json, seq=excluded.seq, "
               "inputs_json=excluded.inputs_json",
               (campaign, step, stamp, json.dumps(summary, default=str), seq,
                None if inputs is None else json.dumps(inputs)))
    return seq


def steps(db: "Store", campaign: str) -> dict[str, dict[str, Any]]:
    """``{step: {finished_at, summary, seq, inputs}}`` of the steps the campaign has run."""
    return {r["step"]: {"finished_at": r["finished_at"], "summary": json.loads(r["summary_json"]), "seq": r["seq"],
                        "inputs": json.loads(r["inputs_json"]) if r["inputs_json"] else None}
            for r in db.all("SELECT step, finished_at, summary_json, seq, inputs_json FROM steps WHERE campaign=?",
                            campaign)}


def clear_steps(db: "Store", campaign: str, names: list[str]) -> None:
    db.executemany("DELETE FROM steps WHERE campaign=? AND step=?", [(campaign, s) for s in names])


# -- meta ------------------------------------------------------------------------------------------
def pseudonym_key(db: "Store") -> bytes:
    """The store's secret for pseudonyms, made once (random) and kept in ``meta``."""
    row = db.one("SELECT value FROM meta WHERE key='pseudonym_key'")
    if row is None:
        with db.transaction():  # INSERT OR IGNORE: two exports at once agree on one key
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('pseudonym_key', ?)", (secrets.token_hex(32),))
        row = db.one("SELECT value FROM meta WHERE key='pseudonym_key'")
    return bytes.fromhex(row[0])


def migrations(db: "Store") -> list[dict[str, str]]:
    return [{"name": r[0], "applied_at": r[1]} for r in db.all("SELECT name, applied_at FROM _migrations ORDER BY rowid")]


#: (name, SQL over one campaign ``?``) of each counter in :func:`change_marks`
_MARKS = (
    ("seq", "SELECT COALESCE(MAX(seq), 0) FROM steps WHERE campaign=?"),
    ("spec_version", "SELECT spec_version FROM campaigns WHERE name=?"),
    ("annotations_rev", "SELECT annotations_rev FROM campaigns WHERE name=?"),
    ("annotations", "SELECT COUNT(*) FROM annotations WHERE campaign=?"),
    ("assignments", "SELECT COUNT(*) FROM assignments WHERE campaign=?"),
    ("cancelled", "SELECT COUNT(cancelled) FROM assignments WHERE campaign=?"),
    ("rounds", "SELECT COUNT(*) FROM rounds WHERE campaign=?"),
    ("annotators", "SELECT COUNT(*) || '/' || COALESCE(SUM(status = 'retired'), 0) FROM annotators WHERE campaign=?"),
    ("gating", "SELECT COUNT(*) FROM gating_events WHERE campaign=?"),
    ("dropped_gold", "SELECT COUNT(*) FROM suspect_gold WHERE campaign=? AND dropped=1"),
    ("reviews", "SELECT COUNT(*) || '/' || COUNT(answered_at) FROM reviews WHERE campaign=?"),
    ("local_results", "SELECT COUNT(*) FROM local_results WHERE campaign=?"),
    ("backend_state", "SELECT MAX(updated_at) FROM backend_state WHERE campaign=?"),
)


def change_marks(db: "Store", campaign: str) -> dict[str, Any]:
    """Counters that move whenever anything a run reads or writes changes: the last step's run
    number, the spec version, the annotations' revision, and the rows of the work tables (a round,
    an assignment cancelled, a gating event, a review, a local result, the backend's state)."""
    sql = "SELECT " + ", ".join(f"({q})" for _, q in _MARKS)
    row = db.one(sql, *([campaign] * len(_MARKS)))
    return {name: None if row is None else row[i] for i, (name, _) in enumerate(_MARKS)}


def run_marks(db: "Store", campaign: str) -> dict[str, Any] | None:
    """The marks recorded when the campaign's last whole run ended (None: none recorded)."""
    row = db.one("SELECT marks_json FROM run_marks WHERE campaign=?", campaign)
    return None if row is None else json.loads(row[0])


def put_run_marks(db: "Store", campaign: str, marks: dict[str, Any], stamp: str) -> None:
    db.execute("INSERT INTO run_marks (campaign, marks_json, recorded_at) VALUES (?, ?, ?) "
               "ON CONFLICT (campaign) DO UPDATE SET marks_json=excluded.marks_json, recorded_at=excluded.recorded_at",
               (campaign, json.dumps(marks, sort_keys=True), stamp))

"""Collecting annotations: raw backend results -> validated annotations in the store.

Every result is converted by the task type and checked against its schema; one that does not fit
is quarantined (status ``invalid``, with the reason), never dropped and never aggregated. A skipped
task is recorded as ``skipped``. An edit replaces the stored version (same key); a deletion in the
backend removes it. Per unit, annotations beyond the planned overlap are kept but flagged
``extra`` (earliest first keep their place).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .backends import PullBatch
from .models import AnnotationStatus, LabelError, label_key

if TYPE_CHECKING:  # pragma: no cover
    from .campaign import Campaign


def apply_pull(campaign: "Campaign", batch: PullBatch) -> dict[str, Any]:
    db = campaign.store.conn
    name = campaign.name
    units = {u.id: u for u in campaign.units()}
    tt = campaign.task_type
    counts = {"received": len(batch.annotations), "new": 0, "updated": 0, "unchanged": 0, "deleted": 0,
              "invalid": 0, "skipped": 0, "unknown_unit": 0}
    stored = {r[0]: r[1] for r in db.execute(
        "SELECT key, updated_at FROM annotations WHERE campaign=?", (name,))}
    seen = set()
    for raw in batch.annotations:
        seen.add(raw.key)
        unit = units.get(raw.unit_id)
        label_json, status, reason = None, AnnotationStatus.OK, None
        if unit is None:
            status, reason = AnnotationStatus.INVALID, f"unit {raw.unit_id!r} is not in this campaign"
            counts["unknown_unit"] += 1
        elif raw.error:
            status, reason = AnnotationStatus.INVALID, raw.error
        elif raw.was_cancelled:
            status = AnnotationStatus.SKIPPED
        else:
            try:
                label_json = label_key(tt.from_ls_result(raw.result or [], unit))
            except (LabelError, KeyError, TypeError, ValueError) as exc:
                status, reason = AnnotationStatus.INVALID, f"{type(exc).__name__}: {exc}"
        if status is AnnotationStatus.INVALID:
            counts["invalid"] += 1
            label_json = None
        elif status is AnnotationStatus.SKIPPED:
            counts["skipped"] += 1
        if raw.key in stored:
            if stored[raw.key] == raw.updated_at and raw.updated_at is not None:
                counts["unchanged"] += 1
                continue
            counts["updated"] += 1
        else:
            counts["new"] += 1
        db.execute(
            "INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, raw.key, raw.unit_id, raw.annotator_id, label_json, raw.lead_time, raw.created_at,
             raw.updated_at, campaign.spec.backend, json.dumps(raw.backend_ids), status.value, reason))
    gone = list(batch.deleted)
    if batch.complete:
        gone += [k for k in stored if k not in seen]
    for key in gone:
        counts["deleted"] += db.execute("DELETE FROM annotations WHERE campaign=? AND key=?", (name, key)).rowcount
    counts["extra"] = flag_extras(campaign)
    counts["total_ok"] = db.execute(
        "SELECT COUNT(*) FROM annotations WHERE campaign=? AND status='ok'", (name,)).fetchone()[0]
    return counts


def flag_extras(campaign: "Campaign") -> int:
    """Mark annotations past each unit's planned overlap ``extra``; restore them when room frees up."""
    db = campaign.store.conn
    name = campaign.name
    planned = {r[0]: r[1] for r in db.execute(
        "SELECT unit_id, COUNT(*) FROM assignments WHERE campaign=? GROUP BY unit_id", (name,))}
    rows = db.execute(
        "SELECT key, unit_id, status FROM annotations WHERE campaign=? AND status IN ('ok', 'extra') "
        "ORDER BY unit_id, created_at, key", (name,)).fetchall()
    seen: dict[str, int] = {}
    extra = 0
    for key, unit, status in rows:
        seen[unit] = seen.get(unit, 0) + 1
        want = "extra" if seen[unit] > planned.get(unit, campaign.spec.overlap) else "ok"
        extra += want == "extra"
        if want != status:
            db.execute("UPDATE annotations SET status=? WHERE campaign=? AND key=?", (want, name, key))
    return extra

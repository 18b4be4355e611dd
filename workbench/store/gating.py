"""SQL for gating: exclusions and inclusions of annotators (``gating_events``) and suspect gold."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from . import Store


def add_event(db: "Store", campaign: str, annotator: str, action: str, rule: str, reason: str, stamp: str,
              detail: dict[str, Any] | None = None) -> int:
    """Record that ``annotator`` was excluded or included (``action``) by ``rule``; its number."""
    seq = int(db.scalar("SELECT COALESCE(MAX(seq), 0) FROM gating_events WHERE campaign=?", campaign)) + 1
    db.execute("INSERT INTO gating_events (campaign, seq, annotator, action, rule, reason, at, detail_json) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (campaign, seq, annotator, action, rule, reason, stamp, None if detail is None else json.dumps(detail)))
    return seq


def events(db: "Store", campaign: str) -> list[dict[str, Any]]:
    """Every exclusion and inclusion, oldest first."""
    return [{"seq": r["seq"], "annotator": r["annotator"], "action": r["action"], "rule": r["rule"],
             "reason": r["reason"], "at": r["at"],
             "detail": json.loads(r["detail_json"]) if r["detail_json"] else None}
            for r in db.all("SELECT seq, annotator, action, rule, reason, at, detail_json FROM gating_events "
                            "WHERE campaign=? ORDER BY seq", campaign)]


def excluded(db: "Store", campaign: str) -> dict[str, dict[str, Any]]:
    """``{annotator: their latest exclusion}`` of those excluded now (not included back since)."""
    out: dict[str, dict[str, Any]] = {}
    for e in events(db, campaign):
        if e["action"] == "exclude":
            out[e["annotator"]] = e
        else:
            out.pop(e["annotator"], None)
    return out


def replace_suspects(db: "Store", campaign: str, rows: Iterable[tuple[str, str, str, int, int, int]]) -> None:
    """``(unit, gold_json, answer_json, strong_n, against_n, dropped)`` of each suspect honeypot."""
    db.execute("DELETE FROM suspect_gold WHERE campaign=?", (campaign,))
    db.executemany("INSERT INTO suspect_gold (campaign, unit_id, gold_json, answer_json, strong_n, against_n, "
                   "dropped) VALUES (?, ?, ?, ?, ?, ?, ?)", [(campaign, *r) for r in rows])


def suspects(db: "Store", campaign: str) -> list[dict[str, Any]]:
    return [{"unit": r[0], "gold": json.loads(r[1]), "answer": json.loads(r[2]), "strong_n": r[3],
             "against_n": r[4], "dropped": bool(r[5])}
            for r in db.all("SELECT unit_id, gold_json, answer_json, strong_n, against_n, dropped FROM suspect_gold "
                            "WHERE campaign=? ORDER BY unit_id", campaign)]


def dropped_units(db: "Store", campaign: str) -> set[str]:
    return {r[0] for r in db.all("SELECT unit_id FROM suspect_gold WHERE campaign=? AND dropped=1", campaign)}

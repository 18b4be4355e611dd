"""Curated records: one per aggregated unit, with its document, consensus, votes and review flags.

Votes carry pseudonymous annotator ids, a keyed hash (HMAC-SHA256) of the annotator id with a
random key kept in the store: stable from one export to the next, but an email or name cannot be
recovered by hashing guesses, because the key never leaves the store. Every timestamp comes from the
stored state, never the clock, so the same state always gives the same records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any

from ..models import Label, label_to_json

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign
    from ..store import Store

#: every record has exactly these fields, in this order (the Arrow schema follows it too)
FIELDS = (
    "unit_id", "split", "text", "context", "document_id", "document_title", "document_source",
    "start", "end", "label", "confidence", "agreement", "n_annotations", "votes", "tie", "review",
    "review_reasons", "is_gold", "gold_label", "method", "task_type", "campaign", "plugin",
    "plugin_version", "exported_at",
)

#: a consensus with at most this confidence has no real majority behind it
WEAK_CONFIDENCE = 0.5

#: why a unit is flagged for review (the ``review_reasons`` values), as the data card explains them
REVIEW_REASONS = {
    "tie": "the top labels got the same number of votes; the tie rule picked one",
    "no_majority": f"the consensus confidence is at most {WEAK_CONFIDENCE} (no clear majority behind it)",
    "single_annotation": "fewer than two counted annotations: nothing to check the label against",
    "gold_mismatch": "the unit has a gold label and the consensus differs from it",
}

_KEY_NAME = "pseudonym_key"


def pseudonym_key(store: "Store") -> bytes:
    """The store's secret for pseudonyms, made once (random) and kept in the ``meta`` table."""
    row = store.one("SELECT value FROM meta WHERE key=?", _KEY_NAME)
    if row is None:
        with store.transaction() as db:  # INSERT OR IGNORE: two exports at once agree on one key
            db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (_KEY_NAME, secrets.token_hex(32)))
        row = store.one("SELECT value FROM meta WHERE key=?", _KEY_NAME)
    return bytes.fromhex(row[0])


def pseudonym(key: bytes, campaign: str, annotator: str) -> str:
    """``ann-`` and 10 hex digits; per campaign, so one person is not linkable across campaigns."""
    digest = hmac.new(key, f"{campaign}\0{annotator}".encode(), hashlib.sha256).hexdigest()
    return "ann-" + digest[:10]


def review_reasons(label: Label, confidence: float, n_annotations: int, tie: bool,
                   gold: Label | None) -> list[str]:
    """Why a unit should be looked at again before anyone trains on it (see :data:`REVIEW_REASONS`)."""
    reasons = []
    if tie:
        reasons.append("tie")
    if confidence <= WEAK_CONFIDENCE + 1e-9:
        reasons.append("no_majority")
    if n_annotations < 2:
        reasons.append("single_annotation")
    if gold is not None and label != gold:
        reasons.append("gold_mismatch")
    return reasons


def state_time(campaign: "Campaign") -> str | None:
    """When the exported state was made: the newest counted annotation (created or edited).

    Re-running ``aggregate`` on the same annotations does not move it, so exports stay identical;
    new or edited annotations do. Falls back to when ``aggregate`` last ran.
    """
    row = campaign.store.one(
        "SELECT MAX(COALESCE(updated_at, created_at)) FROM annotations WHERE campaign=? AND status='ok'",
        campaign.name)
    if row is not None and row[0]:
        return row[0]
    row = campaign.store.one("SELECT finished_at FROM steps WHERE campaign=? AND step='aggregate'", campaign.name)
    return row[0] if row else None


def build_records(campaign: "Campaign") -> list[dict[str, Any]]:
    """Every aggregated unit of the campaign, in unit order, with ``split`` still unset (None)."""
    from ..campaign import plugin_info

    schema = campaign.task_type.schema
    docs = campaign.documents()
    agg = {r["unit_id"]: r for r in campaign.store.all("SELECT * FROM aggregates WHERE campaign=?", campaign.name)}
    names = annotator_pseudonyms(campaign)
    votes: dict[str, list[dict[str, Any]]] = {}
    for a in campaign.annotations():
        if a.status.value != "ok" or a.label is None:
            continue
        votes.setdefault(a.unit_id, []).append({"annotator": names[a.annotator_id], "label": label_to_json(a.label)})
    plugin, version = plugin_info(campaign)
    as_of = state_time(campaign)
    records = []
    for u in campaign.units():
        row = agg.get(u.id)
        if row is None:
            continue
        doc = docs[u.document_id]
        label = schema.normalize(json.loads(row["label_json"]))
        confidence = round(float(row["confidence"]), 6)
        reasons = review_reasons(label, confidence, int(row["n_annotations"]), bool(row["tie"]), u.gold_label)
        records.append({
            "unit_id": u.id, "split": None, "text": u.text, "context": u.context,
            "document_id": doc.id, "document_title": doc.title, "document_source": doc.source,
            "start": u.start, "end": u.end,
            "label": label_to_json(label),
            "confidence": confidence,
            "agreement": None if row["agreement"] is None else round(float(row["agreement"]), 6),
            "n_annotations": int(row["n_annotations"]),
            "votes": sorted(votes.get(u.id, []), key=lambda v: v["annotator"]),
            "tie": bool(row["tie"]),
            "review": bool(reasons),
            "review_reasons": reasons,
            "is_gold": u.is_gold,
            "gold_label": label_to_json(u.gold_label) if u.gold_label is not None else None,
            "method": row["method"], "task_type": campaign.spec.task_type, "campaign": campaign.name,
            "plugin": plugin, "plugin_version": version, "exported_at": as_of,
        })
    return records


def annotator_pseudonyms(campaign: "Campaign") -> dict[str, str]:
    """``{annotator id: pseudonym}`` for everyone in the spec or the annotations."""
    key = pseudonym_key(campaign.store)
    ids = {a.id for a in campaign.spec.annotators}
    ids |= {r[0] for r in campaign.store.all("SELECT DISTINCT annotator_id FROM annotations WHERE campaign=?",
                                              campaign.name)}
    return {i: pseudonym(key, campaign.name, i) for i in sorted(ids)}

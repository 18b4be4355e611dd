"""Review rounds: the units the crowd left in doubt go to a reviewer, whose verdict overrides the consensus.

``workbench review CAMPAIGN`` picks the units that need it (by the campaign's ``[review]`` table:
ties, a consensus confidence below ``min_confidence``, a honeypot whose consensus differs from its
gold label, pairwise agreement below ``min_agreement``, a vote by an annotator excluded since), asks
the campaign's backend to put them in a review queue (Label Studio: a review project showing the
text, its context, every vote under a pseudonym with its share, and the consensus pre-selected;
local: the store), lets simulated reviewers answer, and brings the verdicts back.

Held-out gold is never a reason for review: it measures the consensus, and review is measured on it
(accuracy of the final labels on held-out gold, before and after). A simulated reviewer is a seeded
persona answering around the reference label the simulation knows (gold where one exists, as for
simulated annotators; :mod:`workbench.simulate`): a documented stand-in for a person, so the gain it
shows describes the simulation, not people.

A verdict overrides the consensus; a unit with several verdicts takes the most common one (a tie:
the one equal to the consensus, else the earliest). Reviewers' work is never an annotator's label:
it is not in the agreement or the annotator quality tables. A unit is sent to review once; running
``review`` again sends only units that newly need it, and pulls verdicts given since.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError
from ..models import Label, LabelKind, Unit, label_key, label_to_json

if TYPE_CHECKING:  # pragma: no cover
    from ..spec import ReviewSpec
    from ..state import CampaignState
    from ..store import Store

#: why a unit is sent to review (the ``reasons`` stored with each request)
REASONS = {
    "tie": "the top labels got the same number of votes",
    "low_confidence": "the consensus confidence is below `review.min_confidence`",
    "gold_mismatch": "a honeypot whose consensus differs from its gold label",
    "low_agreement": "pairwise agreement below `review.min_agreement`",
    "excluded_annotator": "an annotator who labeled it has been excluded since",
}


@dataclass(frozen=True)
class ReviewTask:
    """One unit in front of one reviewer: what they are shown."""

    unit: Unit
    reviewer: str
    round: int
    consensus: Label
    confidence: float
    #: ``(who, label)`` of every counted vote, ``who`` a pseudonymous display name ("annotator A")
    votes: tuple[tuple[str, Label], ...] = ()
    reasons: tuple[str, ...] = ()

    def votes_text(self) -> str:
        """The votes as a reviewer reads them: each label with its share and who gave it."""
        n = len(self.votes)
        by_label: dict[str, list[str]] = {}
        shown: dict[str, Any] = {}
        for who, label in self.votes:
            key = label_key(label)
            by_label.setdefault(key, []).append(who)
            shown[key] = label
        lines = []
        for key, whos in sorted(by_label.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"{_show(shown[key], self.unit.text)}: {len(whos)} of {n} ({', '.join(whos)})")
        lines.append(f"consensus (pre-selected): {_show(self.consensus, self.unit.text)}")
        if self.reasons:
            lines.append("sent to review: " + ", ".join(r.replace("_", " ") for r in self.reasons))
        return "\n".join(lines)


def _show(label: Label, text: str = "") -> str:
    """A label as a reviewer reads it; spans with the words they cover: ``ORG "Meta" [0:4]``."""
    value = label_to_json(label)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "; ".join(f"{s['label']} \"{text[s['start']:s['end']]}\" [{s['start']}:{s['end']}]" for s in value)
    return ", ".join(map(str, value)) if isinstance(value, list) and value else "(none)"


@dataclass(frozen=True)
class RawVerdict:
    """A reviewer's answer as the backend has it (Label Studio's result format)."""

    unit_id: str
    reviewer: str
    result: list[dict] | None
    answered_at: str | None = None
    skipped: bool = False
    backend_ids: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Review:
    """A stored review request and its verdict (``label`` None: not answered yet)."""

    unit_id: str
    reviewer: str
    round: int
    reasons: tuple[str, ...]
    consensus: Label
    requested_at: str
    task_id: str | None
    label: Label | None
    overturned: bool | None
    answered_at: str | None


def read(store: "Store", campaign: str, schema) -> list[Review]:
    from ..store import review as review_sql

    if not store.path.exists():
        return []
    norm = schema.normalize
    return [Review(r["unit_id"], r["reviewer"], r["round"], tuple(json.loads(r["reasons_json"])),
                   norm(json.loads(r["consensus_json"])), r["requested_at"], r["task_id"],
                   None if r["label_json"] is None else norm(json.loads(r["label_json"])),
                   None if r["overturned"] is None else bool(r["overturned"]), r["answered_at"])
            for r in review_sql.reviews(store, campaign)]


def excluded_annotators(state: "CampaignState") -> set[str]:
    """Annotators excluded from the campaign now (their labels no longer trusted): by gating's record
    (calibration, rolling accuracy, or `workbench annotators exclude`)."""
    from ..store import gating as gating_sql

    return set(gating_sql.excluded(state.store, state.name)) | {m.id for m in state.pool if m.status == "excluded"}


def select(state: "CampaignState", review: "ReviewSpec", excluded: set[str] | None = None) -> dict[str, list[str]]:
    """``{unit: reasons}`` of the units that need review, the most disputed first (lowest agreement,
    then lowest confidence, then unit id); at most ``review.max_units`` of them."""
    excluded = excluded if excluded is not None else excluded_annotators(state)
    by_excluded = {a.unit_id for a in state.annotations if a.annotator_id in excluded}
    honeypots = state.honeypot_gold
    out: dict[str, list[str]] = {}
    order: dict[str, tuple] = {}
    for row in state.aggregates:
        u, label = row["unit_id"], row["label"]
        reasons = []
        if review.ties and row["tie"]:
            reasons.append("tie")
        if review.min_confidence is not None and row["confidence"] < review.min_confidence - 1e-12:
            reasons.append("low_confidence")
        if review.gold_mismatch and u in honeypots and honeypots[u] != label:
            reasons.append("gold_mismatch")
        if (review.min_agreement is not None and row["agreement"] is not None
                and row["agreement"] < review.min_agreement - 1e-12):
            reasons.append("low_agreement")
        if review.excluded and u in by_excluded:
            reasons.append("excluded_annotator")
        if reasons:
            out[u] = reasons
            agreement = row["agreement"] if row["agreement"] is not None else 1.0
            order[u] = (agreement, row["confidence"], u)
    ranked = sorted(out, key=lambda u: order[u])
    if review.max_units is not None:
        ranked = ranked[:review.max_units]
    return {u: out[u] for u in ranked}


def assign_reviewers(units: list[str], reviewers: list[str], per_unit: int, seed: int, round_: int,
                     load: Counter | None = None) -> list[tuple[str, str]]:
    """``(unit, reviewer)`` pairs: each unit to ``per_unit`` reviewers, the least loaded first (seeded)."""
    rng = random.Random(f"{seed}:review:{round_}")
    load = Counter(load or {})
    pairs = []
    for u in units:
        for r in sorted(reviewers, key=lambda r: (load[r], rng.random()))[:per_unit]:
            pairs.append((u, r))
            load[r] += 1
    return pairs


def decide(reviews: list[Review]) -> dict[str, tuple[Label, list[str]]]:
    """``{unit: (final label, reviewers who answered)}`` from the answered reviews (see the module doc)."""
    by_unit: dict[str, list[Review]] = {}
    for r in reviews:
        if r.label is not None:
            by_unit.setdefault(r.unit_id, []).append(r)
    out = {}
    for u, rs in by_unit.items():
        rs = sorted(rs, key=lambda r: (r.answered_at or "", r.reviewer))
        counts = Counter(label_key(r.label) for r in rs)
        top = max(counts.values())
        best = [r for r in rs if counts[label_key(r.label)] == top]
        chosen = next((r for r in best if r.label == r.consensus), best[0])
        out[u] = (chosen.label, sorted({r.reviewer for r in rs}))
    return out


def reviewer_agreement(reviews: list[Review]) -> dict[str, Any]:
    """On units with two or more verdicts: the share of reviewer pairs that gave the same label."""
    by_unit: dict[str, list[str]] = {}
    for r in reviews:
        if r.label is not None:
            by_unit.setdefault(r.unit_id, []).append(label_key(r.label))
    agree = pairs = units = 0
    for labels in by_unit.values():
        if len(labels) < 2:
            continue
        units += 1
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                pairs += 1
                agree += labels[i] == labels[j]
    return {"units": units, "pairs": pairs, "agreement": agree / pairs if pairs else None}


def final_labels(consensus: dict[str, Label], reviews: list[Review]) -> dict[str, Label]:
    """The consensus with every verdict applied."""
    out = dict(consensus)
    out.update({u: label for u, (label, _) in decide(reviews).items()})
    return out


def annotator_overturns(annotations, reviews: list[Review]) -> dict[str, dict[str, int]]:
    """Per annotator: counted votes on reviewed units (``reviewed``) and how many of them the final
    verdict differs from (``overturned``)."""
    verdicts = decide(reviews)
    out: dict[str, dict[str, int]] = {}
    for a in annotations:
        if a.status.value != "ok" or a.label is None or a.unit_id not in verdicts:
            continue
        row = out.setdefault(a.annotator_id, {"reviewed": 0, "overturned": 0})
        row["reviewed"] += 1
        row["overturned"] += a.label != verdicts[a.unit_id][0]
    return out


def summary_facts(state: "CampaignState", reviews: list[Review], spans: bool) -> dict[str, Any]:
    """What the card, the report and the demo line say about review: counts, reviewer agreement,
    held-out gold accuracy of the consensus and of the final labels."""
    from ..aggregate.choose import gold_accuracy

    verdicts = decide(reviews)
    consensus = state.consensus
    final = final_labels(consensus, reviews)
    held = state.held_out_gold
    overturned = sorted(u for u, (label, _) in verdicts.items() if u in consensus and label != consensus[u])
    requested = {r.unit_id for r in reviews}
    reviewed_held = [u for u in verdicts if u in held]
    return {
        "rounds": max((r.round for r in reviews), default=0),
        "sent": len(requested), "reviewed": len(verdicts), "pending": len(requested - set(verdicts)),
        "overturned": len(overturned),
        "reasons": dict(sorted(Counter(x for u in requested for x in _reasons_of(reviews, u)).items())),
        "reviewers": sorted({r.reviewer for r in reviews if r.label is not None}),
        "reviewer_agreement": reviewer_agreement(reviews),
        "held_out_before": gold_accuracy(consensus, held, spans),
        "held_out_after": gold_accuracy(final, held, spans),
        "held_out_reviewed": len(reviewed_held),
    }


def _reasons_of(reviews: list[Review], unit: str) -> tuple[str, ...]:
    return next(r.reasons for r in reviews if r.unit_id == unit)


def require_review(spec) -> "ReviewSpec":
    if spec.review is None:
        raise WorkbenchError(f"{spec.path}: review: campaign {spec.name!r} has no [review] table (add one: "
                             "`[review] reviewers = [{id = \"rita\", persona = \"expert\"}]`; docs/campaigns.md)")
    return spec.review


def is_spans(schema) -> bool:
    return schema.kind is LabelKind.SPANS

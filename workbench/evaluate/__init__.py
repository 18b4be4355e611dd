"""Model evaluation: a model's predictions scored against a campaign's consensus and its gold labels.

``workbench evaluate CAMPAIGN --predictions FILE`` (or ``--prelabels``, the task type's own
pre-labeler) scores the predictions twice: against the curated consensus (the aggregate step's
labels) and against the hand-written gold labels (honeypots and held-out gold alike). The figures
are in :mod:`.metrics`; each evaluation is stored in the campaign (the last one per model name) and
shown by the HTML report.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..bootstrap import LEVEL, RESAMPLES
from ..errors import WorkbenchError
from ..store import evaluations as evaluations_sql
from ..store import now
from .metrics import BINS, score_against

if TYPE_CHECKING:  # pragma: no cover
    from ..state import CampaignState
    from ..steps import StepContext

PRELABELS = "pre-labels"
REFERENCES = {"consensus": "the campaign's consensus (aggregated labels)",
              "gold": "the hand-written gold labels (honeypots and held-out gold)"}


def prelabel_predictions(state: "CampaignState") -> pd.DataFrame:
    """The task type's pre-labels as predictions ``unit, label, score``."""
    items = list(state.prelabels.items())
    return pd.DataFrame({"unit": pd.Series([u for u, _ in items], dtype=object),
                         "label": pd.Series([p.label for _, p in items], dtype=object),
                         "score": pd.Series([np.nan if p.score is None else float(p.score) for _, p in items],
                                            dtype=float)})


def evaluate_state(state: "CampaignState", predictions: pd.DataFrame, model: str, source: str,
                   resamples: int = RESAMPLES, seed: int | None = 0, bins: int = BINS,
                   level: float = LEVEL, voted: bool = False) -> dict[str, Any]:
    """The evaluation of ``predictions`` on a campaign's read model (nothing is written). ``voted``:
    the model is one of the campaign's ``[models]`` sources, so it voted in the consensus."""
    if resamples < 0:
        raise WorkbenchError(f"--resamples: expected 0 or more, got {resamples}")
    if bins < 1:
        raise WorkbenchError(f"--bins: expected 1 or more calibration bins, got {bins}")
    if predictions.empty:
        raise WorkbenchError(f"{source}: no predictions to evaluate")
    schema = state.schema
    references: dict[str, Any] = {}
    for name, labels in (("consensus", state.consensus), ("gold", state.gold)):
        if not labels:
            why = ("no consensus yet: run `aggregate` first" if name == "consensus"
                   else "the campaign has no gold labels")
            references[name] = {"units": 0, "reference_units": 0, "not_predicted": 0, "note": why}
            continue
        references[name] = score_against(predictions, labels, schema, resamples, seed, bins, level)
    if not any(r.get("units") for r in references.values()):
        raise WorkbenchError(f"{source}: none of its {len(predictions)} predicted units has a consensus or gold "
                             "label to compare with")
    notes = []
    without_gold = sum(1 for u in state.consensus if u not in state.gold)
    if source == PRELABELS and without_gold and any(m.simulated for m in state.pool):
        notes.append("simulated annotators answer around the pre-label where a unit has no gold label, so "
                     "pre-labels vs consensus overstates the pre-labeler; the gold figures do not have that bias")
    if voted:
        notes.append(f"model {model!r} votes in the campaign's aggregation ([models]), so its score vs consensus "
                     "is not independent of it; judge it by the gold figures")
    if not predictions["score"].notna().any():
        notes.append("no score column (or no score): calibration is not measured")
    return {"model": model, "source": source, "kind": schema.kind.value, "labels": list(schema.labels),
            "predictions": int(len(predictions)), "units": len(state.units), "resamples": resamples, "seed": seed,
            "level": level, "bins": bins, "references": references, "notes": notes}


def run(ctx: "StepContext", predictions: pd.DataFrame, model: str, source: str, **options) -> dict[str, Any]:
    """Evaluate and store the result as the model's last evaluation."""
    state = ctx.state
    models = getattr(ctx.spec, "models", None)
    sources = set(getattr(models, "sources", ()) or ())
    voted = f"model:{'prelabel' if source == PRELABELS else model}" in sources
    result = evaluate_state(state, predictions, model, source, seed=options.pop("seed", ctx.spec.seed), voted=voted,
                            **options)
    agg = state.steps.get("aggregate")
    stamp = now()
    with ctx.store.transaction():
        evaluations_sql.put(ctx.store, ctx.name, model, source, stamp, agg["seq"] if agg else None,
                            json.dumps(result, default=str))
    return {"campaign": ctx.name, "evaluated_at": stamp, **result}


def headline(ref: dict[str, Any], kind: str) -> str:
    """``accuracy 0.712 [0.660, 0.760], macro-F1 0.604 [0.540, 0.660]`` for one reference."""
    from ..bootstrap import show_interval

    if not ref.get("units"):
        return ref.get("note") or "nothing to compare"

    def part(name: str, key: str) -> str:
        value = ref.get(key)
        ci = show_interval(ref.get(f"{key}_ci"))
        return f"{name} {'n/a' if value is None else f'{value:.3f}'}" + (f" {ci}" if ci else "")

    parts = ([part("span F1", "micro_f1"), part("macro-F1", "macro_f1"), part("exact units", "accuracy")]
             if kind == "spans" else
             [part("micro-F1", "micro_f1"), part("macro-F1", "macro_f1"), part("exact sets", "accuracy")]
             if kind == "multi" else [part("accuracy", "accuracy"), part("macro-F1", "macro_f1")])
    cal = ref.get("calibration")
    if cal:
        parts.append(f"ECE {cal['ece']:.3f}")
    return ", ".join(parts) + f" on {ref['units']} units"

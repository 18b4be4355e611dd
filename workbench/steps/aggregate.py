"""The aggregate step: pick the method, run it on the campaign's long table, store one label per unit.

Model sources (the spec's ``[models]``: the task type's pre-labeler, predictions files, plugin
models) vote as annotators of their own, ``model:<name>``, on the units people labeled: a method
that estimates each annotator's confusion (Dawid-Skene, one-coin, MACE, weighted majority) learns
the model's from the data, so a good model helps and a bad one is discounted; majority vote counts
a model as one vote. People's agreement, quality and gold scores never include them; the step's
summary says what the models did (``models``: each source's estimated accuracy, and the units whose
consensus would differ without them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..aggregate.choose import aggregate_table, gold_accuracy
from ..agreement.units import unit_agreement
from ..errors import WorkbenchError
from ..models import Label, LabelKind, label_key
from ..predictions import (
    MODEL_PREFIX,
    ModelTable,
    ModelVotes,
    is_model,
    predicted_frame,
    prelabel_frame,
    read_predictions,
    with_min_score,
)
from ..store import results as results_sql

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from ..aggregate import AggregateResult
    from ..models import PreLabel, Unit
    from ..registry import Registry
    from ..spec import CampaignSpec
    from ..tasktype import TaskType
    from . import StepContext

#: a model source that gives one label to at least this share of its units is noted as near-constant
NEAR_CONSTANT = 0.9
#: the per-annotator estimate each method reports, in the order looked for
ESTIMATES = ("accuracy", "competence", "skill", "weight")


def model_sources(ctx: "StepContext") -> ModelTable:
    """The votes of the spec's ``[models]`` sources on the campaign's units (empty when it names none)."""
    if not ctx.spec.models:
        return ModelTable()
    return sources_for(ctx.spec, ctx.registry, ctx.task_type, ctx.state.units, ctx.state.prelabels, ctx.name)


def sources_for(spec: "CampaignSpec", registry: "Registry", task_type: "TaskType", units: "Sequence[Unit]",
                prelabels: "Mapping[str, PreLabel | None]", campaign: str) -> ModelTable:
    """The votes of ``spec``'s ``[models]`` sources on ``units`` (``prelabels``: the task type's
    pre-labels of them). Raises WorkbenchError naming the field and the file or model at fault."""
    models = spec.models
    out = ModelTable()
    if not models:
        return out
    schema = task_type.schema
    if models.prelabels:
        pre = {u: p for u, p in prelabels.items() if p is not None}
        if not pre:
            raise WorkbenchError(
                f"{spec.path}: models.prelabels: task type {spec.task_type!r} pre-labeled no unit of campaign "
                f"{campaign!r}, so there is no pre-labeler to vote; set prelabels = false")
        out.sources.append(ModelVotes(MODEL_PREFIX + "prelabel", f"pre-labeler of task type {spec.task_type}",
                                      prelabel_frame(pre)))
    unit_ids = {u.id for u in units}
    for name, file in models.predictions:
        path = spec.resolve(file)
        try:
            frame = read_predictions(path, schema, unit_ids)
        except WorkbenchError as exc:
            raise WorkbenchError(f"models.predictions.{name}: {exc}") from None
        out.sources.append(ModelVotes(MODEL_PREFIX + name, str(path), frame))
    for i, name in enumerate(models.plugins):
        try:
            model = registry.model(name)
        except WorkbenchError as exc:
            raise WorkbenchError(f"{spec.path}: models.plugins[{i}]: {exc}") from None
        with registry.guard("models", name, f"predict() on {len(units)} units"):
            answers = list(model.predict(units, task_type))
        out.sources.append(ModelVotes(MODEL_PREFIX + name, f"model {name!r} (plugin)",
                                      predicted_frame(name, units, answers, schema)))
    out.sources = [with_min_score(s, models.min_score) for s in out.sources]
    return out


def models_digest(ctx: "StepContext") -> str | None:
    """What the model sources' votes are now (None: the spec names none), to tell a stale consensus."""
    return model_sources(ctx).digest() if ctx.spec.models else None


def run(ctx: "StepContext", method: str | None = None, **options) -> dict[str, Any]:
    """Aggregate with the spec's method and options, or with ``method`` and its own defaults
    (``options`` given here apply to it)."""
    ctx.require("aggregate", "pull")
    spec, state = ctx.spec, ctx.state
    if method is None or method == spec.aggregate_method:
        method, options = spec.aggregate_method, {**spec.aggregate_options, **options}
    schema = ctx.task_type.schema
    table = state.table
    if table.empty:
        raise WorkbenchError(f"campaign {ctx.name!r}: no annotations to aggregate yet (run `pull`)")
    clash = sorted({a for a in pd.unique(table["annotator"]) if is_model(a)})
    if clash and spec.models:
        raise WorkbenchError(f"campaign {ctx.name!r}: annotator {clash[0]!r} has a model source's name "
                             f"({MODEL_PREFIX}...): rename the annotator or drop [models]")
    models = model_sources(ctx)
    units = state.units_by_id
    model_table = models.long_table(units=pd.unique(table["unit"])) if models.sources else None
    full = table if model_table is None or model_table.empty else pd.concat([table, model_table],
                                                                            ignore_index=True)
    result = aggregate_table(ctx.registry, schema, full, method, gold=state.honeypot_gold, units=units, **options)
    # per-unit agreement (pairwise share; span tasks: pooled pairwise span F1), among people, for export filters
    per_unit = dict(unit_agreement(table, schema)[["unit", "agreement"]].itertuples(index=False))
    labels = dict(zip(result.labels["unit"], result.labels["label"]))
    # n_annotations counts people (and personas): a model's vote is not an annotation
    people = table.groupby("unit", sort=False).size()
    spans = schema.kind is LabelKind.SPANS
    # one dict per unit, built once: a .loc lookup per unit is the slow part on big campaigns
    posteriors: Mapping[str, dict] = _Posteriors(result.posteriors)
    if "span_scores" in result.labels:  # span methods that score each span: {"start:end:label": score}
        posteriors = {u: {f"{s.start}:{s.end}:{s.label}": x for s, x in zip(lab, sc)}
                      for u, lab, sc in result.labels[["unit", "label", "span_scores"]].itertuples(index=False)}
    ties = set(result.ties)
    # made as they are stored (a generator), not a list of every unit's row and posteriors first
    rows = ((u, label_key(lab), float(conf), int(people.get(u, 0)), per_unit.get(u), result.method,
             json.dumps({str(k): float(v) for k, v in posteriors[u].items()}) if u in posteriors else None,
             int(u in ties))
            for u, lab, conf in result.labels[["unit", "label", "confidence"]].itertuples(index=False))
    summary = {
        "method": result.method, "units": len(labels), "annotations": int(len(table)),
        "ties": len(ties), "notes": result.notes,
        "accuracy_held_out_gold": gold_accuracy(labels, state.held_out_gold, spans),
        "accuracy_all_gold": gold_accuracy(labels, state.gold, spans),
    }
    if models.sources:
        options_used = options if result.method == method else {}
        without = aggregate_table(ctx.registry, schema, table, result.method, gold=state.honeypot_gold, units=units,
                                  **options_used)
        summary["models"] = models_summary(models, model_table, result, without, n_people=int(len(table)),
                                           honeypots=state.honeypot_gold, held_out=state.held_out_gold, spans=spans)
    with ctx.store.transaction():
        results_sql.replace_aggregates(ctx.store, ctx.name, rows)
        ctx.record("aggregate", summary, inputs={"annotations_rev": state.annotations_rev, "method": method,
                                                "options": options,
                                                "models": models.digest() if spec.models else None})
    return summary


class _Posteriors(Mapping[str, dict]):
    """``posteriors.to_dict("index")`` (``{unit: {class: value}}``), each unit's dict made when it is
    read: a dict per unit for every unit at once was tens of MB per 100 000 units."""

    def __init__(self, frame: "pd.DataFrame | None"):
        self._at: dict = {}
        if frame is None:
            return
        self._columns = list(frame.columns)
        self._values = frame.to_numpy()
        self._at = {u: i for i, u in enumerate(frame.index)}  # the last row of a unit, as to_dict's

    def __getitem__(self, unit: str) -> dict:
        return dict(zip(self._columns, self._values[self._at[unit]].tolist()))

    def __contains__(self, unit: object) -> bool:
        return unit in self._at

    def __iter__(self):
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


def _key(label: Label) -> str:
    return label if isinstance(label, str) else label_key(label)


def models_summary(models: ModelTable, model_table: pd.DataFrame | None, result: "AggregateResult",
                   without: "AggregateResult", *, n_people: int, honeypots: dict, held_out: dict,
                   spans: bool) -> dict[str, Any]:
    """What the model sources did to the consensus.

    - ``sources``: per source, where it came from, the units it voted on (of the aggregated ones),
      its votes dropped by ``min_score``, the method's estimate of it (Dawid-Skene's expected
      accuracy, MACE's competence, ...), its agreement with the consensus, and its own accuracy on
      the honeypots and on the held-out gold (``honeypots``, ``held_out``: ``{unit: label}``);
    - ``vote_share``: model votes / all votes counted (people's and models');
    - ``changed``: units whose consensus differs from the consensus of the same method on the
      people's labels alone; ``by_label``, per consensus label: units, units a model voted on, and
      units that label would not have without the models (and their share);
    - ``accuracy_held_out_gold_without_models``: that people-only consensus on the held-out gold.
    """
    labels = dict(zip(result.labels["unit"], result.labels["label"]))
    info = result.annotators.set_index("annotator") if result.annotators is not None and \
        "annotator" in result.annotators.columns else None
    voted = model_table if model_table is not None else pd.DataFrame(columns=["unit", "annotator", "label"])
    sources, notes = [], []
    for s in models.sources:
        mine = voted[voted["annotator"] == s.source]
        mine_labels = dict(zip(mine["unit"], mine["label"]))
        agree = [labels[u] == lab for u, lab in mine_labels.items() if u in labels]
        estimate = None
        if info is not None and s.source in info.index:
            for col in ESTIMATES:
                if col in info.columns and pd.notna(info.at[s.source, col]):
                    estimate = {"measure": col, "value": round(float(info.at[s.source, col]), 6)}
                    break
        if len(mine):
            top = mine["label"].map(_key).value_counts()
            if top.iloc[0] / len(mine) >= NEAR_CONSTANT:
                notes.append(f"{s.source} gave {top.index[0]!r} to {top.iloc[0] / len(mine):.0%} of its units: a "
                             "near-constant source tells little"
                             + ("; one-coin Dawid-Skene can mistake it for a reliable annotator (its errors are "
                                "not spread over the labels): prefer dawid_skene or mace"
                                if result.method == "one_coin_dawid_skene" else ""))
        everything = dict(zip(s.frame["unit"], s.frame["label"]))
        score = s.frame["score"]
        sources.append({
            "source": s.source, "origin": s.origin, "predictions": int(len(s.frame)), "units": int(len(mine)),
            "dropped_low_score": s.dropped_low_score,
            "mean_score": round(float(score.mean()), 6) if score.notna().any() else None,
            "estimate": estimate,
            "agrees_with_consensus": round(sum(agree) / len(agree), 6) if agree else None,
            "accuracy_honeypots": gold_accuracy(everything, honeypots, spans),
            "accuracy_held_out_gold": gold_accuracy(everything, held_out, spans),
        })
    before = dict(zip(without.labels["unit"], without.labels["label"]))
    changed = sorted(u for u, lab in labels.items() if u in before and before[u] != lab)
    with_vote = set(voted["unit"])
    by_label: dict[str, dict[str, Any]] = {}
    for u, lab in labels.items():
        row = by_label.setdefault(_key(lab), {"units": 0, "model_voted": 0, "changed": 0})
        row["units"] += 1
        row["model_voted"] += u in with_vote
    for u in changed:
        by_label[_key(labels[u])]["changed"] += 1
    for row in by_label.values():
        row["changed_share"] = round(row["changed"] / row["units"], 6)
    n_model = int(len(voted))
    return {
        "sources": sources, "model_votes": n_model,
        "vote_share": round(n_model / (n_model + n_people), 6) if n_model + n_people else None,
        "units_with_model_vote": len(with_vote & set(labels)),
        "changed": len(changed), "changed_units": changed[:50],
        "by_label": dict(sorted(by_label.items())),
        "accuracy_held_out_gold_without_models": gold_accuracy(before, held_out, spans),
        "notes": notes,
    }

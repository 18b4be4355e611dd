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

import numpy as np
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
    from collections.abc import Iterator, Sequence

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
    from ..table.encode import shared_codes

    with shared_codes():  # the fit and the per-unit agreement code the people's table once
        result = aggregate_table(ctx.registry, schema, full, method, gold=state.honeypot_gold, units=units,
                                 **options)
        # per-unit agreement (pairwise share; span tasks: pooled pairwise span F1), among people, for export filters
        per_unit = unit_agreement(table, schema)[["unit", "agreement"]]
    labels, n_units = _gold_labels(result.labels, state.gold)
    # n_annotations counts people (and personas): a model's vote is not an annotation
    people = table.groupby("unit", sort=False).size()
    spans = schema.kind is LabelKind.SPANS
    ties = set(result.ties)
    # made as they are stored (a generator, a block of units at a time), not a list of every unit's
    # row and posteriors first
    rows = _aggregate_rows(result, people, per_unit, ties)
    summary = {
        "method": result.method, "units": n_units, "annotations": int(len(table)),
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


def _gold_labels(frame: pd.DataFrame, gold: Mapping) -> tuple[dict, int]:
    """The consensus labels of the ``gold`` units (``{unit: label}``: all that the gold accuracies
    read) and the number of units: no dict of every unit's label."""
    units = pd.Index(frame["unit"])
    if not units.is_unique:  # a unit twice: its last label, as a dict of them all
        every = dict(zip(frame["unit"], frame["label"]))
        return {u: every[u] for u in gold if u in every}, len(every)
    keys = list(gold)
    pos = units.get_indexer(keys) if keys else np.zeros(0, dtype=np.int64)
    found = pos >= 0
    picked = frame["label"].take(pos[found]).to_numpy(dtype=object)
    return dict(zip([u for u, ok in zip(keys, found) if ok], picked)), len(units)


#: the aggregates' rows are made this many units at a time (a list of values per column per block)
ROW_BLOCK = 8192


def _aggregate_rows(result: "AggregateResult", people: pd.Series, per_unit: pd.DataFrame,
                    ties: set) -> "Iterator[tuple]":
    """The ``aggregates`` rows of ``result``, in its order: unit, label key, confidence, the people's
    annotations (``people``: per unit), the per-unit agreement (``per_unit``: unit, agreement; None
    for a unit not in it), method, the posteriors' JSON (None for a unit without), tie. Made from the
    columns a block of units at a time: the label keys once per label, the counts and agreements
    looked up for all units at once, the posteriors' JSON laid out from a template per row (the same
    text as ``json.dumps`` of ``{column: float}``)."""
    frame = result.labels
    n = len(frame)
    units = frame["unit"]
    index = pd.Index(units)
    counts = people.reindex(index, fill_value=0).to_numpy() if len(people) else np.zeros(n, dtype=np.int64)
    at = pd.Index(per_unit["unit"]).get_indexer(index) if len(per_unit) else np.full(n, -1)
    agreement = per_unit["agreement"].to_numpy()
    keys = _label_keys(frame["label"])
    confidence = frame["confidence"]
    if "span_scores" in frame:  # span methods that score each span: {"start:end:label": score}
        spans: Mapping[str, dict] = {u: {f"{s.start}:{s.end}:{s.label}": x for s, x in zip(lab, sc)}
                                     for u, lab, sc in frame[["unit", "label", "span_scores"]].itertuples(index=False)}
        posteriors = _json_of(spans)
    else:
        posteriors = _posterior_json(result.posteriors, index)
    method = result.method
    for lo in range(0, n, ROW_BLOCK):
        hi = min(lo + ROW_BLOCK, n)
        block_units = units.iloc[lo:hi].tolist()
        where = at[lo:hi]
        agree = agreement.take(np.maximum(where, 0)).tolist() if len(agreement) else [None] * (hi - lo)
        yield from ((u, k, float(c), int(m), a if w >= 0 else None, method, p, int(u in ties))
                    for u, k, c, m, a, w, p in zip(block_units, keys(lo, hi), confidence.iloc[lo:hi].tolist(),
                                                   counts[lo:hi].tolist(), agree, where.tolist(),
                                                   posteriors(block_units, lo, hi)))


def _label_keys(labels: pd.Series):
    """``keys(lo, hi)``: ``label_key`` of the labels of rows lo..hi, each distinct label keyed once."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        cats = np.empty(len(labels.cat.categories) + 1, dtype=object)
        cats[:-1] = [label_key(c) for c in labels.cat.categories]
        cats[-1] = label_key(float("nan"))  # code -1: a missing label, as label_key(nan)
        codes = labels.cat.codes.to_numpy()
        return lambda lo, hi: cats.take(codes[lo:hi]).tolist()
    seen: dict = {}

    def key(label) -> str:
        kind = type(label)
        # a text or a set of texts: keyed once (1, 1.0 and True are equal keys of a dict, not of label_key)
        if kind is str or (kind is tuple and all(type(x) is str for x in label)):
            found = seen.get(label)
            if found is None:
                found = seen[label] = label_key(label)
            return found
        return label_key(label)

    return lambda lo, hi: [key(x) for x in labels.iloc[lo:hi].tolist()]


def _json_of(posteriors: Mapping[str, dict]):
    """``json_of(units, lo, hi)``: each unit's posteriors as ``json.dumps({str(k): float(v)})``, None
    for a unit without."""
    def json_of(units: list, lo: int, hi: int) -> list:
        return [json.dumps({str(k): float(v) for k, v in posteriors[u].items()}) if u in posteriors else None
                for u in units]

    return json_of


def _posterior_json(frame: "pd.DataFrame | None", units: pd.Index):
    """:func:`_json_of` for a posteriors frame (one row per unit, one column per class; a unit's
    last row if it has several). Float columns, each name a different string, every value finite,
    rows in the units' order (the built-in methods'): each row's JSON from one template, ``%r``
    being ``json.dumps``'s float text; else a dict per unit, as before."""
    if frame is None:
        return lambda u, lo, hi: [None] * (hi - lo)
    names = [str(c) for c in frame.columns]
    values = frame.to_numpy()
    if (values.dtype.kind == "f" and len(set(names)) == len(names) and frame.index.equals(units)
            and units.is_unique and bool(np.isfinite(values).all())):
        # keys as json.dumps writes them; % doubled so that only the values are formatted
        template = "{" + ", ".join(json.dumps(c).replace("%", "%%") + ": %r" for c in names) + "}"
        fmt = template.__mod__
        return lambda u, lo, hi: list(map(fmt, map(tuple, values[lo:hi].astype(float, copy=False).tolist())))
    return _json_of(_Posteriors(frame))


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

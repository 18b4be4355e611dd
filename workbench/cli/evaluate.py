"""``workbench evaluate``: score a model's predictions against a campaign's consensus and gold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import WorkbenchError
from .common import emit_json, fmt, pass_state, table


def attach(main: click.Group) -> None:
    @main.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.option("--predictions", "predictions_path", type=click.Path(dir_okay=False),
                  help="The model's predictions: CSV, JSONL or Parquet of (unit, label[, score]) rows.")
    @click.option("--prelabels", is_flag=True, help="Score the task type's built-in pre-labels instead.")
    @click.option("--model", help="The model's name (default: the file's stem; `pre-labels` with --prelabels). "
                                  "The last evaluation of each name is kept and shown by `workbench report`.")
    @click.option("--resamples", type=int, default=1000, show_default=True,
                  help="Bootstrap resamples of units for the 95% intervals (0: none).")
    @click.option("--seed", type=int, help="Seed of the bootstrap (default: the campaign's seed).")
    @click.option("--bins", type=int, default=10, show_default=True, help="Calibration bins (equal width).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output (every figure).")
    @pass_state
    def evaluate(state, campaign, predictions_path, prelabels, model, resamples, seed, bins, as_json):
        """Score a model's predictions against the campaign's consensus and its gold labels:
        per-class precision, recall and F1, accuracy and macro-F1 with bootstrap 95% intervals, the
        confusion matrix and, when the file has a score column, calibration (ECE, reliability table).
        Span tasks are scored on exact spans (offsets and label)."""
        from ..predictions import read_predictions

        if bool(predictions_path) == bool(prelabels):
            raise WorkbenchError("evaluate: give --predictions FILE or --prelabels (one of them)")
        if resamples < 0:
            raise WorkbenchError(f"--resamples: expected 0 or more, got {resamples}")
        if bins < 1:
            raise WorkbenchError(f"--bins: expected 1 or more, got {bins}")
        c = state.open(campaign)
        options: dict[str, Any] = {"resamples": resamples, "bins": bins}
        if seed is not None:
            options["seed"] = seed
        with state.step(f"{c.name}: evaluate"):
            if prelabels:
                result = c.evaluate(None, model, **options)
            else:
                path = Path(predictions_path)
                units = {u.id for u in c.units()}
                if not units:
                    raise WorkbenchError(f"campaign {c.name!r} has no units yet: run `workbench run` (or `plan`) first")
                preds = read_predictions(path, c.task_type.schema, units)
                result = c.evaluate(preds, model or path.stem, str(path), **options)
        if as_json:
            emit_json(result)
        else:
            print_evaluation(result)


def print_evaluation(result: dict[str, Any]) -> None:
    from ..bootstrap import show_interval
    from ..evaluate import REFERENCES, headline

    kind = result["kind"]
    click.echo(f"evaluate {result['campaign']}: model {result['model']} ({result['source']}), "
               f"{result['predictions']} predictions; {int(result['level'] * 100)}% intervals from "
               f"{result['resamples']} bootstrap resamples of units (seed {result['seed']})")
    for name, ref in result["references"].items():
        click.echo("")
        click.secho(f"vs {name} ({REFERENCES[name]}): {headline(ref, kind)}", bold=True)
        if not ref.get("units"):
            continue
        if ref.get("not_predicted"):
            click.echo(f"  {ref['not_predicted']} of {ref['reference_units']} {name} units have no prediction "
                       "(left out of the scores)")
        if kind in ("spans", "multi"):
            click.echo(f"  micro precision {fmt(ref['micro_precision'])}, recall {fmt(ref['micro_recall'])}; "
                       f"{ref['items']['matched']} of {ref['items']['reference']} reference items matched, "
                       f"{ref['items']['predicted']} predicted; exact units: {ref.get('accuracy_note')}")
        table(None, ["label", "precision", "recall", "f1", "support", "predicted"],
              [[r["label"], fmt(r["precision"]), fmt(r["recall"]), fmt(r["f1"]), r["support"], r["predicted"]]
               for r in ref["per_class"]])
        click.echo(f"  macro-F1 {fmt(ref['macro_f1'])} {show_interval(ref.get('macro_f1_ci'))}; "
                   f"micro-F1 {fmt(ref['micro_f1'])} {show_interval(ref.get('micro_f1_ci'))}"
                   + (f"; weighted F1 {fmt(ref['weighted_f1'])}" if ref.get("weighted_f1") is not None else ""))
        cm = ref.get("confusion")
        if cm:
            click.echo(f"  confusion ({cm['note']}):")
            table(None, ["", *cm["columns"]], [[r, *row] for r, row in zip(cm["rows"], cm["matrix"])])
        cal = ref.get("calibration")
        if cal:
            click.echo(f"  calibration on {cal['scored']} scored units: ECE {cal['ece']:.3f} ({cal['bins']} bins), "
                       f"Brier {cal['brier']:.3f}, mean confidence {cal['mean_confidence']:.3f} vs accuracy "
                       f"{cal['accuracy']:.3f}" + (f"; {cal['without_score']} without a score"
                                                   if cal["without_score"] else ""))
            table(None, ["confidence bin", "units", "mean confidence", "accuracy", "gap"],
                  [[b["bin"], b["n"], fmt(b["confidence"]), fmt(b["accuracy"]), fmt(b["gap"])]
                   for b in cal["table"] if b["n"]])
    for note in result.get("notes") or []:
        click.echo(f"note: {note}")

"""Quality commands: ``workbench annotators``, and aggregation / agreement of outside label files.

``aggregate``, ``agreement`` and ``annotators`` take a campaign, or a CSV / TSV / Parquet file of
``(unit, annotator, label)`` rows (crowd-kit's ``task, worker, label`` too), so labels collected
elsewhere can be aggregated and measured. Labels are read as text; ``--kind`` and ``--labels`` say
what they are (default: single choice over the labels found, sorted).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema, with_long_columns
from .common import emit_json, fmt, pass_state, table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
PREVIEW = 20
#: `annotators FILE` on at least this many rows fits the quality table's Dawid-Skene on a background
#: thread while `auto` picks and fits the consensus
BACKGROUND_ROWS = 100_000


def is_label_file(ref: str) -> bool:
    return Path(ref).suffix.lower() in SUFFIXES


def label_file_options(command):
    """``--kind``, ``--labels`` and ``--gold``: how to read a label file (ignored for campaigns)."""
    command = click.option("--gold", "gold_path", type=click.Path(dir_okay=False),
                           help="Label file only: known labels, a CSV/Parquet of (unit, label) rows.")(command)
    command = click.option("--labels", help="Label file only: the allowed labels, comma-separated "
                                            "(ordinal: in scale order). Default: the labels found.")(command)
    command = click.option("--kind", type=click.Choice(["single", "ordinal", "multi"]), default=None,
                           help="Label file only: single choice (default), an ordinal scale, or label sets "
                                "(multi: each label a JSON list such as [\"a\", \"b\"]).")(command)
    return command


def _read(path: Path) -> "pd.DataFrame":
    import pandas as pd

    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file")
    fmt_ = SUFFIXES.get(path.suffix.lower())
    try:
        if fmt_ == "parquet":
            df = pd.read_parquet(path)
        else:  # only empty cells are missing: "NA", "null" ... are labels like any other text
            df = pd.read_csv(path, sep="\t" if fmt_ == "tsv" else ",", dtype=str, keep_default_na=False,
                             na_values=[""])
    except Exception as exc:  # pandas and pyarrow raise many kinds; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(f"{path}: cannot read as {fmt_}: {first}") from None
    return df


def _text(col: "pd.Series") -> "pd.Series":
    return col if col.dtype == "str" else col.astype("str")  # NaN stays missing


def _schema(path: Path, labels_found: "pd.Series", kind: str | None,
            labels: str | None) -> tuple[LabelSchema, str | None]:
    import pandas as pd

    kind_ = LabelKind(kind or "single")
    note = None
    if labels:
        allowed = tuple(x.strip() for x in labels.split(",") if x.strip())
        if len(set(allowed)) != len(allowed):
            raise WorkbenchError(f"--labels: a label appears twice in {labels!r}")
    else:
        found = [x for x in pd.unique(labels_found.dropna())]
        if kind_ is LabelKind.MULTI:  # the labels inside the sets
            found = sorted({x for s in found for x in s})
        if not found:
            raise WorkbenchError(f"{path}: no labels in column 'label'")
        numeric = all(_is_number(x) for x in found)
        if kind_ is LabelKind.ORDINAL and not numeric:
            raise WorkbenchError(f"{path}: --kind ordinal needs --labels in scale order (e.g. --labels low,mid,high); "
                                 "only numeric labels can be ordered without it")
        allowed = tuple(sorted(found, key=float) if numeric else sorted(found))
        note = f"labels from the file: {', '.join(allowed)}" + (" (numeric order)" if numeric else "")
    try:
        return LabelSchema(kind_, allowed), note
    except ValueError as exc:
        raise WorkbenchError(f"--labels: {exc}") from None


def _is_number(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


def load_label_file(ref: str, kind: str | None, labels: str | None) -> tuple["pd.DataFrame", LabelSchema, str | None]:
    """The long table and schema of a label file; one clear error for the first bad row."""
    import pandas as pd

    from ..table.encode import encode

    path = Path(ref)
    df = _read(path)
    df = with_long_columns(df, where=str(path))
    if df.empty:
        raise WorkbenchError(f"{path}: no rows")
    tbl = pd.DataFrame({c: _text(df[c]) for c in ("unit", "annotator")})
    tbl["label"] = _label_sets(path, df["label"]) if kind == "multi" else _text(df["label"])
    schema, note = _schema(path, tbl["label"], kind, labels)
    encode(tbl, schema, what=str(path))  # every check at once: NaN, unknown labels, duplicates
    return tbl, schema, note


def _label_sets(path: Path, col: "pd.Series") -> "pd.Series":
    """Label sets as sorted tuples: JSON lists in text files (``["a", "b"]``, ``[]``), list columns in Parquet."""
    import json

    import pandas as pd

    out = []
    for i, value in enumerate(col.tolist()):
        if value is None or isinstance(value, float) and value != value:
            out.append(None)  # missing: encode() names the row
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if isinstance(value, str) or not hasattr(value, "__iter__") or isinstance(value, dict):
            raise WorkbenchError(f"{path}: row {i + 1}: label {col.iloc[i]!r} is not a label set "
                                 '(--kind multi expects a JSON list such as ["a", "b"])')
        out.append(tuple(sorted({str(x) for x in value})))
    return pd.Series(out, index=col.index, dtype=object)


def load_gold(ref: str | None, schema: LabelSchema) -> dict[str, Any]:
    import numpy as np

    if not ref:
        return {}
    path = Path(ref)
    df = _read(path).rename(columns={"task": "unit", "true_label": "label"})
    missing = [c for c in ("unit", "label") if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{path}: missing column(s) {', '.join(missing)}: expected unit, label")
    units = _text(df["unit"])
    if schema.kind is LabelKind.MULTI:
        sets = _label_sets(path, df["label"])
        for i, value in enumerate(sets):
            if value is None or not set(value) <= set(schema.labels):
                raise WorkbenchError(f"{path}: row {i + 1}: gold label {df['label'].iloc[i]!r} is not a set of "
                                     f"{list(schema.labels)}")
        return dict(zip(units, sets))
    labels = _text(df["label"])
    bad = np.flatnonzero(~labels.isin(schema.labels).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise WorkbenchError(f"{path}: row {i + 1}: gold label {labels.iloc[i]!r} is not one of {list(schema.labels)}")
    return dict(zip(units, labels))


def _write_atomic(result, path: Path) -> None:
    """The labels (and per-class posteriors) to CSV or Parquet: a temp file renamed into place."""
    import pandas as pd

    from ..models import label_key

    out = result.labels.copy()
    out["label"] = out["label"].astype(object)
    if len(out) and isinstance(out["label"].iloc[0], tuple):  # label sets: their JSON key, as the store keeps them
        out["label"] = [label_key(x) for x in out["label"]]
    if result.posteriors is not None:
        post = result.posteriors.add_prefix("p_").reset_index(drop=True)
        out = pd.concat([out.reset_index(drop=True), post], axis=1)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise WorkbenchError(f"--out {path}: expected a .csv, .tsv or .parquet file name")
    from ..export.files import atomic_write
    from ..store.errors import file_error

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "parquet":
            # dictionary pages only for the label column: unit ids and posteriors are (nearly) all
            # distinct, and trying a dictionary for them was most of the write (0.15 of 0.18 s for
            # 200 000 units) for a larger file
            atomic_write(path, lambda tmp: out.to_parquet(tmp, index=False, use_dictionary=["label"]))
        else:
            atomic_write(path, lambda tmp: out.to_csv(tmp, index=False, sep="\t" if kind == "tsv" else ","))
    except OSError as exc:
        raise file_error(exc, path, "--out: cannot write") from None


def _consensus(registry, schema, tbl, gold) -> tuple[dict, Any]:
    from ..aggregate.choose import aggregate_table

    res = aggregate_table(registry, schema, tbl, "auto", gold=gold)
    return unit_labels(res), res


def unit_labels(result) -> dict:
    """``{unit: label}`` of an aggregate result (as plain Python values, not one Arrow scalar per row)."""
    return dict(zip(result.labels["unit"].to_numpy(dtype=object).tolist(),
                    result.labels["label"].to_numpy(dtype=object).tolist()))


def load_prediction_sources(refs, schema: LabelSchema, units) -> tuple[Any, list[str]]:
    """``--predictions [NAME=]FILE`` as model sources voting on ``units`` (other units' predictions
    are left out, with a note)."""
    from ..predictions import MODEL_PREFIX, ModelTable, ModelVotes, read_predictions
    from ..spec import NAME_RE

    models, notes = ModelTable(), []
    keep = set(units)
    for ref in refs:
        name, _, file = ref.rpartition("=") if "=" in ref else ("", "", ref)
        name = name or Path(file).stem
        if not NAME_RE.match(name):
            raise WorkbenchError(f"--predictions {ref}: source name {name!r}: expected letters, digits, '-', '_' "
                                 "or '.' (give one: --predictions NAME=FILE)")
        if any(s.name == name for s in models.sources):
            raise WorkbenchError(f"--predictions {ref}: source name {name!r} is given twice "
                                 "(name them: --predictions NAME=FILE)")
        frame = read_predictions(Path(file), schema)
        outside = ~frame["unit"].isin(keep)
        if outside.any():
            notes.append(f"model:{name}: {int(outside.sum())} prediction(s) on units without a label in the file "
                         "were not counted")
            frame = frame[~outside].reset_index(drop=True)
        models.sources.append(ModelVotes(MODEL_PREFIX + name, file, frame))
    return models, notes


def print_models(m: dict, without_key: str = "accuracy_held_out_gold_without_models",
                 gold: str = "held-out gold") -> None:
    """The model sources' part of an aggregate summary, for people."""
    without_gold = m.get(without_key)
    click.echo(f"  models: {m['model_votes']} votes ({fmt(m['vote_share'])} of all); {m['changed']} unit(s) "
               "would have another label without them"
               + (f"; accuracy vs {gold} without them: {without_gold['accuracy']:.3f}" if without_gold else ""))
    for s in m["sources"]:
        est = s["estimate"]
        honeypots = s["accuracy_honeypots"]
        click.echo(f"    {s['source']}: {s['units']} units, "
                   + (f"{est['measure']} {est['value']:.3f}" if est else "no estimate by this method")
                   + (f", right on {honeypots['accuracy']:.3f} of {honeypots['n']} {gold if gold == 'gold' else 'honeypots'}"
                      if honeypots else ""))
    for n in m.get("notes") or []:
        click.echo(f"    note: {n}")


def aggregate_file(state, ref: str, method: str | None, kind, labels, gold_path, out: str | None,
                   as_json: bool, predictions=()) -> None:
    from ..table.encode import shared_codes

    with shared_codes():  # the file's check and the fit code the table once
        _aggregate_file(state, ref, method, kind, labels, gold_path, out, as_json, predictions)


def _aggregate_file(state, ref: str, method: str | None, kind, labels, gold_path, out: str | None,
                    as_json: bool, predictions=()) -> None:
    import pandas as pd

    from ..aggregate.choose import aggregate_table, gold_accuracy
    from ..registry import get_registry

    tbl, schema, note = load_label_file(ref, kind, labels)
    gold = load_gold(gold_path, schema)
    models, model_notes = load_prediction_sources(predictions, schema, tbl["unit"]) if predictions else (None, [])
    if models is not None:
        from ..predictions import is_model

        clash = sorted({a for a in pd.unique(tbl["annotator"]) if is_model(a)})
        if clash:
            raise WorkbenchError(f"{ref}: annotator {clash[0]!r} has a model source's name (model:...); rename it "
                                 "or leave out --predictions")
    model_table = models.long_table() if models is not None else None
    full = tbl if model_table is None else pd.concat([tbl, model_table], ignore_index=True)
    with state.step(f"{Path(ref).name}: aggregate"):
        result = aggregate_table(get_registry(), schema, full, method or "auto", gold=gold)
        without = (aggregate_table(get_registry(), schema, tbl, result.method, gold=gold)
                   if models is not None else None)
    if out:
        _write_atomic(result, Path(out))
    consensus = unit_labels(result) if gold else {}
    summary = {"file": ref, "method": result.method, "units": int(len(result.labels)),
               "annotations": int(len(tbl)), "annotators": int(tbl["annotator"].nunique()),
               "ties": len(result.ties), "notes": ([note] if note else []) + model_notes + result.notes,
               "accuracy_gold": gold_accuracy(consensus, gold, False), "out": out}
    if models is not None and without is not None:
        from ..steps.aggregate import models_summary

        summary["models"] = models_summary(models, model_table, result, without, n_people=int(len(tbl)),
                                           honeypots=gold, held_out={}, spans=False)
        del summary["models"]["accuracy_held_out_gold_without_models"]  # a label file's gold is all it has
        summary["models"]["accuracy_gold_without_models"] = gold_accuracy(unit_labels(without), gold, False)
    if as_json:
        emit_json(summary)
        return
    click.echo("aggregate: " + ", ".join(f"{k}={fmt(v)}" for k, v in summary.items()
                                         if not isinstance(v, (dict, list)) and v is not None))
    if summary["accuracy_gold"]:
        clamped = any("clamped" in n for n in result.notes)
        click.echo(f"  accuracy vs gold: {summary['accuracy_gold']['accuracy']:.3f} on "
                   f"{summary['accuracy_gold']['n']} units"
                   + (" (the method clamps gold units: this is not a held-out measure)" if clamped else ""))
    if "models" in summary:
        print_models(summary["models"], "accuracy_gold_without_models", "gold")
    for n in summary["notes"]:
        click.echo(f"  note: {n}")
    if not out:
        rows = result.labels.head(PREVIEW)
        table(None, ["unit", "label", "confidence", "n"], rows[["unit", "label", "confidence", "n_annotations"]]
              .astype(object).values.tolist())
        click.echo(f"first {len(rows)} of {len(result.labels)} units (--out FILE writes them all)")


def _metrics_table(metrics: dict) -> None:
    from ..bootstrap import show_interval

    table("agreement", ["metric", "value", "95% interval", "note"],
          [[name, fmt(m["value"]), show_interval(m.get("interval")), m.get("note") or ""] for name, m in metrics.items()])


def _quality_table(rows: list[dict]) -> None:
    from ..bootstrap import show_interval

    seen = any("gold_seen" in r for r in rows)  # a campaign: honeypots each annotator has seen
    reviewed = any("overturned_by_review" in r for r in rows)
    table("annotators", ["annotator", "labels", "gold n", *(["gold seen"] if seen else []), "gold acc", "95% interval",
                         "w/ consensus", "DS acc", "spammer", *(["overturned by review"] if reviewed else []), "flags"],
          [[r["annotator"], r["n_annotations"], r["gold_n"],
            *([f"{r['gold_seen']['seen']}/{r['gold_seen']['of']}" if r.get("gold_seen") else "0"] if seen else []),
            fmt(r["gold_accuracy"]), show_interval(r.get("gold_accuracy_ci")), fmt(r["consensus_agreement"]),
            fmt(r["ds_accuracy"]), fmt(r["spammer_score"]),
            *([_overturned(r.get("overturned_by_review"))] if reviewed else []),
            "; ".join([*(r["flags"] or []), *([r["note"]] if r.get("note") else [])])]
           for r in rows])


def _overturned(row: dict | None) -> str:
    if not row or not row.get("reviewed"):
        return "0 of 0"
    return f"{row['overturned']} of {row['reviewed']} ({fmt(row['overturned'] / row['reviewed'])})"


def with_review(c, rows: list[dict]) -> list[dict]:
    """Each row with how often review overturned the annotator's votes (``{reviewed, overturned}``),
    when the campaign has had a review round."""
    from ..review import annotator_overturns, read

    reviews = read(c.store, c.name, c.task_type.schema)
    if not reviews:
        return rows
    per = annotator_overturns(c.state.annotations, reviews)
    return [{**r, "overturned_by_review": per.get(r["annotator"], {"reviewed": 0, "overturned": 0})} for r in rows]


def _print_report(report: dict) -> None:
    from ..bootstrap import show_interval

    click.echo("agreement: " + ", ".join(f"{k}={fmt(m['value'])}" + (f" {show_interval(m.get('interval'))}"
                                                                     if m.get("interval") else "")
                                         for k, m in report["metrics"].items()))
    _metrics_table(report["metrics"])
    _quality_table(report["annotators"])
    d = report["disputed"]
    click.echo(f"disputed units (agreement < {d['threshold']}): {d['count']} of {d['units_with_pairs']}")
    for u in d["units"][:10]:
        click.echo(f"  {u['unit']}: agreement {fmt(u['agreement'])}, {u['n_annotations']} labels")


def agreement_command(state, ref: str, kind, labels, gold_path, as_json: bool) -> None:
    """``workbench agreement``: a campaign's agreement step, or the same report for a label file."""
    from ..agreement.report import agreement_report
    from ..registry import get_registry

    if is_label_file(ref):
        from ..agreement.intervals import start_intervals
        from ..table.encode import shared_codes

        with shared_codes(), state.step(f"{Path(ref).name}: agreement"):
            tbl, schema, _ = load_label_file(ref, kind, labels)
            gold = load_gold(gold_path, schema)
            early = start_intervals(get_registry(), schema, tbl)  # Cohen's kappa's, while the consensus is fitted
            try:
                consensus, _ = _consensus(get_registry(), schema, tbl, gold)
                report = agreement_report(get_registry(), schema, tbl, consensus=consensus, gold=gold, early=early)
            finally:
                if early is not None:
                    early.stop()
        report = {"file": ref, **report}
    else:
        from ..steps.agreement import stored_report

        c = state.open(ref)
        with state.step(f"{c.name}: agreement"):
            c.agreement()
        report = stored_report(c.state)
    if as_json:
        emit_json(report)
    else:
        _print_report(report)


def attach(main: click.Group) -> None:
    """The label-file commands live with ``aggregate`` and ``agreement``; ``annotators`` is in :mod:`.pool`."""


def add_show(group: click.Group) -> None:
    """``workbench annotators [show] CAMPAIGN``: the quality table (``show`` may be left out)."""

    @group.command(name="show")
    @click.argument("campaign", metavar="CAMPAIGN")
    @label_file_options
    @click.option("--min-gold-accuracy", type=float, default=0.6, show_default=True,
                  help="Flag annotators whose accuracy on gold units is below this.")
    @click.option("--min-consensus", type=float, default=0.5, show_default=True,
                  help="Flag annotators who agree with the consensus less often than this.")
    @click.option("--min-spammer-score", type=float, default=0.2, show_default=True,
                  help="Flag annotators whose spammer score (0 = answers ignore the truth) is below this.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with confusion matrices).")
    @pass_state
    def show(state, campaign, kind, labels, gold_path, min_gold_accuracy, min_consensus, min_spammer_score, as_json):
        """Per-annotator quality: gold accuracy, agreement with the consensus, Dawid-Skene accuracy and
        confusion matrix, spammer score, flags. CAMPAIGN is a campaign or a CSV/Parquet label file."""
        from ..agreement.quality import Thresholds, annotator_quality, flags_for
        from ..agreement.report import quality_rows
        from ..registry import get_registry

        thresholds = Thresholds(min_gold_accuracy, min_consensus, min_spammer_score)
        if is_label_file(campaign):
            from ..table.encode import shared_codes

            with shared_codes():  # the file's check, the consensus and the quality table code it once
                tbl, schema, _ = load_label_file(campaign, kind, labels)
                gold = load_gold(gold_path, schema)
                if len(tbl) >= BACKGROUND_ROWS and schema.kind is not LabelKind.SPANS:
                    from ..aggregate.choose import start_dawid_skene_fit

                    start_dawid_skene_fit(tbl, schema, gold)  # the quality table's, while auto picks and fits
                consensus, _ = _consensus(get_registry(), schema, tbl, gold)
                rows = quality_rows(annotator_quality(tbl, schema, gold, consensus, thresholds))
        else:  # the agreement step's stored table, flagged under these thresholds
            c = state.open(campaign)
            rows = [{**r, "flags": flags_for(r["gold_n"], r["gold_accuracy"], r["consensus_agreement"],
                                              r["spammer_score"], thresholds)}
                    for r in c.quality()]
            rows += outsider_rows(c, {r["annotator"] for r in rows})
            rows = with_review(c, rows)
            health = gating_rows(c, rows)
        if as_json:
            emit_json(rows)
        else:
            _quality_table(rows)
            flagged = [r["annotator"] for r in rows if r["flags"]]
            click.echo(f"flagged: {', '.join(flagged) if flagged else 'none'}")
            if not is_label_file(campaign):
                from ..gating import status_lines

                for line in status_lines(health):
                    click.echo(line)


def outsider_rows(c, listed: set[str]) -> list[dict]:
    """Quality rows for whoever has no counted label: someone who labeled without being counted, with
    why (not in the pool, beyond the overlap, invalid), and a pool member who has not labeled yet; so
    nobody vanishes from the table."""
    from ..export.facts import uncounted
    from ..steps.export import status_counts

    def row(aid: str, flags: list[str], note: str | None = None) -> dict:
        return {"annotator": aid, "n_annotations": 0, "gold_n": 0, "gold_accuracy": None,
                "consensus_agreement": None, "ds_accuracy": None, "spammer_score": None,
                "flags": flags, "note": note, "confusion": None}

    statuses = status_counts(c.state)
    kept, idle = uncounted(statuses, listed, [a.id for a in c.spec.active_annotators])
    rows = []
    for aid, what in kept:
        if aid not in listed:
            hint = (f" (`workbench annotators accept {c.name} {aid}` counts them)"
                    if statuses[aid].get("not_in_pool") else "")
            rows.append(row(aid, [f"kept, not counted: {what}{hint}"]))
    planned = Counter(a.annotator for a in c.state.assignments if a.planned)
    return rows + [row(aid, [], f"no labels yet ({planned[aid]} assigned)") for aid in idle]


def gating_rows(c, rows: list[dict]) -> dict:
    """Add gating to the quality rows (in place): an excluded annotator's flag with the reason, and
    everyone's honeypot exposure (``gold_seen``: honeypots answered, of how many; whoever saw more
    than ``max_exposure`` of them is named in a line below the table, not flagged: it says nothing
    of their work); returns the campaign's gating view (exclusions, suspect gold, over-exposed)."""
    from ..gating import gold_health

    info = gold_health(c.state, c.spec)
    excluded = {e["annotator"]: e for e in info["excluded"]}
    for r in rows:
        seen = info["exposure"].get(r["annotator"])
        r["gold_seen"] = seen
        e = excluded.get(r["annotator"])
        r["excluded"] = None if e is None else {"rule": e["rule"], "reason": e["reason"], "at": e["at"]}
        if e is not None:
            r["flags"] = [f"excluded ({e['rule']}): {e['reason']}",
                          *[f for f in r["flags"] if not f.startswith("kept, not counted")]]
    return info

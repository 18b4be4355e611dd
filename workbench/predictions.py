"""Model predictions as annotators: reading a predictions file, and the model sources of a campaign.

A predictions file holds one model's label per unit: columns ``unit, label`` and an optional
``score`` (the model's confidence, 0..1). CSV (``.csv``, ``.tsv``), JSON lines (``.jsonl``,
``.ndjson``) and Parquet (``.parquet``, ``.pq``), by suffix. crowd-kit's ``task`` is accepted for
``unit``. Labels are checked against the task's schema: a single or ordinal label is one of the
labels; a label set (multi) or a span list is a JSON list (a JSON string in a CSV cell).

A mistake is one line naming the file, the line (or row) and field, and what was expected.

Model sources enter aggregation as annotators named ``model:<name>`` (:data:`MODEL_PREFIX`), so a
method that estimates each annotator's confusion learns the model's too: a good model helps, a
bad one is discounted. They never count as people: agreement, annotator quality and gold scores
are computed on the people's (and personas') table only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .errors import WorkbenchError
from .models import Label, LabelError, LabelSchema, PreLabel

#: annotator ids of model sources start with this (``model:prelabel``, ``model:<file or plugin name>``)
MODEL_PREFIX = "model:"

SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
            ".pq": "parquet"}
PREDICTION_COLUMNS = ["unit", "label", "score"]


def is_model(annotator: Any) -> bool:
    """Is this annotator id a model source?"""
    return isinstance(annotator, str) and annotator.startswith(MODEL_PREFIX)


def _read_frame(path: Path) -> tuple[pd.DataFrame, str]:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise WorkbenchError(f"{path}: expected a predictions file ending in "
                             f"{', '.join(sorted(SUFFIXES))}, got {path.suffix or 'no suffix'!r}")
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such predictions file")
    try:
        if kind == "parquet":
            df = pd.read_parquet(path)
        elif kind == "jsonl":
            rows = []
            with path.open(encoding="utf-8") as fh:
                for i, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise WorkbenchError(f"{path}: line {i}: not JSON ({exc.msg})") from None
                    if not isinstance(row, dict):
                        raise WorkbenchError(f"{path}: line {i}: expected a JSON object {{unit, label[, score]}}, "
                                             f"got {type(row).__name__}")
                    rows.append({**row, "_line": i})
            df = pd.DataFrame(rows)
            if df.empty:
                df = pd.DataFrame(columns=["unit", "label", "_line"])
        else:  # only empty cells are missing: "NA", "null" ... are labels like any other text
            df = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", dtype=str, keep_default_na=False,
                             na_values=[""])
    except WorkbenchError:
        raise
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text") from None
    except Exception as exc:  # noqa: BLE001 - pandas and pyarrow raise many kinds; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(f"{path}: cannot read as {kind}: {first}") from None
    return df, kind


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or value is pd.NA
    except TypeError:
        return False


def read_predictions(path: Path, schema: LabelSchema, units: set[str] | None = None) -> pd.DataFrame:
    """One model's predictions: a frame ``unit, label, score`` (label normalized by ``schema``,
    score a float, NaN when the file has none). ``units``: the units predictions may name (a unit
    outside it is an error). Raises :class:`WorkbenchError` naming the file, line and field."""
    path = Path(path)
    df, kind = _read_frame(path)
    if "unit" not in df.columns and "task" in df.columns:
        df = df.rename(columns={"task": "unit"})
    missing = [c for c in ("unit", "label") if c not in df.columns]
    if missing:
        found = ", ".join(str(c) for c in df.columns if c != "_line") or "none"
        raise WorkbenchError(f"{path}: missing column(s) {', '.join(missing)}: expected unit, label and an "
                             f"optional score; found {found}")

    def where(i: int) -> str:
        if kind == "jsonl":
            return f"line {int(df['_line'].iloc[i])}"
        if kind == "parquet":
            return f"row {i + 1}"
        return f"line {i + 2}"  # the header is line 1

    text = kind in ("csv", "tsv")
    categorical = schema.categorical
    if categorical:
        fast = _categorical_fast(df, schema, units)
        if fast is not None:
            return fast
    out_units: list[str] = []
    out_labels: list[Label] = []
    scores: list[float] = []
    seen: dict[str, int] = {}
    has_score = "score" in df.columns
    unit_col, label_col = df["unit"].tolist(), df["label"].tolist()
    score_col = df["score"].tolist() if has_score else None
    for i, (u, raw) in enumerate(zip(unit_col, label_col)):
        if _missing(u) or (isinstance(u, str) and not u.strip()):
            raise WorkbenchError(f"{path}: {where(i)}: unit: is empty (expected a unit id)")
        u = str(u)
        if u in seen:
            raise WorkbenchError(f"{path}: {where(i)}: unit {u!r} appears twice (first on {where(seen[u])}); "
                                 "expected one prediction per unit")
        seen[u] = i
        if units is not None and u not in units:
            raise WorkbenchError(f"{path}: {where(i)}: unit {u!r} is not a unit of the campaign "
                                 "(expected the unit ids of the campaign's units: `workbench units CAMPAIGN`)")
        if _missing(raw):
            raise WorkbenchError(f"{path}: {where(i)}: label: is empty (expected one of {list(schema.labels)})"
                                 if categorical else f"{path}: {where(i)}: label: is empty")
        value = raw
        if not categorical and text and isinstance(raw, str):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                raise WorkbenchError(f"{path}: {where(i)}: label: expected a JSON list, got {raw!r}") from None
        elif not categorical and hasattr(raw, "tolist"):  # Parquet list columns come back as arrays
            value = raw.tolist()
        try:
            label = schema.normalize(value)
        except LabelError as exc:
            raise WorkbenchError(f"{path}: {where(i)}: label: {exc}") from None
        score = math.nan
        if score_col is not None and not _missing(score_col[i]) and score_col[i] != "":
            try:
                score = float(score_col[i])
            except (TypeError, ValueError):
                score = math.nan
                bad = True
            else:
                bad = not 0.0 <= score <= 1.0
            if bad:
                raise WorkbenchError(f"{path}: {where(i)}: score: expected a number in [0, 1] (the model's "
                                     f"confidence), got {score_col[i]!r}")
        out_units.append(u)
        out_labels.append(label)
        scores.append(score)
    labels = pd.Series(out_labels, dtype=object) if out_labels else pd.Series([], dtype=object)
    return pd.DataFrame({"unit": pd.Series(out_units, dtype=object), "label": labels,
                         "score": pd.Series(scores, dtype=float)})


def _categorical_fast(df: pd.DataFrame, schema: LabelSchema, units: set[str] | None) -> pd.DataFrame | None:
    """A single or ordinal predictions frame checked column-wise (a big file is read in one pass);
    None when any row is wrong, so the row-by-row reader finds and names the first one."""
    if df["unit"].isna().any() or df["label"].isna().any():
        return None
    # object arrays: pandas' hash tables check a million ids in a blink (Arrow strings' isin does not)
    label = pd.Series(df["label"].to_numpy(dtype=object), dtype=object)
    if pd.api.types.infer_dtype(label, skipna=False) != "string":  # a number is not a label, even if it reads as one
        return None
    unit = pd.Series(df["unit"].astype(str).to_numpy(dtype=object), dtype=object)
    if unit.duplicated().any() or not label.isin(schema.labels).all() or (unit.str.strip() == "").any():
        return None
    if units is not None and not unit.isin(pd.Series(list(units), dtype=object)).all():
        return None
    if "score" in df.columns:
        raw = df["score"]
        score = pd.to_numeric(raw.where(raw != "", None), errors="coerce").astype(float)
        given = raw.notna() & (raw != "")
        if (given & (score.isna() | (score < 0) | (score > 1))).any():
            return None
    else:
        score = pd.Series(float("nan"), index=df.index, dtype=float)
    return pd.DataFrame({"unit": unit, "label": label, "score": pd.Series(score.to_numpy(dtype=float), dtype=float)})


# ------------------------------------------------------------------------------------------------
# a campaign's model sources

@dataclass
class ModelVotes:
    """One model source's votes: ``frame`` has ``unit, label, score``; ``origin`` says where it came
    from (``pre-labeler of task type claims``, a file path, ``plugin model x``)."""

    source: str  # the annotator id: model:<name>
    origin: str
    frame: pd.DataFrame
    dropped_low_score: int = 0

    @property
    def name(self) -> str:
        return self.source[len(MODEL_PREFIX):]


@dataclass
class ModelTable:
    """The model sources' votes of one aggregation, and what they were made from."""

    sources: list[ModelVotes] = field(default_factory=list)

    def long_table(self, units: Iterable[str] | None = None) -> pd.DataFrame:
        """``unit, annotator, label`` rows of every source (only ``units``, when given)."""
        keep = None if units is None else set(units)
        parts = []
        for s in self.sources:
            f = s.frame if keep is None else s.frame[s.frame["unit"].isin(keep)]
            parts.append(pd.DataFrame({"unit": f["unit"].to_numpy(dtype=object),
                                       "annotator": s.source, "label": f["label"].to_numpy(dtype=object)}))
        if not parts:
            return pd.DataFrame(columns=["unit", "annotator", "label"])
        return pd.concat(parts, ignore_index=True)

    def votes(self) -> dict[str, list[tuple[str, Label, float]]]:
        """Each unit's model votes ``(source, label, score)``, sources in order."""
        out: dict[str, list[tuple[str, Label, float]]] = {}
        for s in self.sources:
            for u, lab, sc in s.frame[["unit", "label", "score"]].itertuples(index=False):
                out.setdefault(u, []).append((s.source, lab, float(sc)))
        return out

    def digest(self) -> str:
        """A hash of every vote: a change in a predictions file or a model changes it."""
        import hashlib

        from .models import label_key

        h = hashlib.sha256()
        for s in self.sources:
            h.update(s.source.encode() + b"\0")
            for u, lab, sc in sorted((u, label_key(lab), sc) for u, lab, sc in
                                     s.frame[["unit", "label", "score"]].itertuples(index=False)):
                h.update(f"{u}\0{lab}\0{sc!r}\n".encode())
        return h.hexdigest()[:16]


def prelabel_frame(prelabels: Mapping[str, PreLabel]) -> pd.DataFrame:
    """The stored pre-labels as a predictions frame."""
    items = sorted(prelabels.items())
    return pd.DataFrame({"unit": pd.Series([u for u, _ in items], dtype=object),
                         "label": pd.Series([p.label for _, p in items], dtype=object),
                         "score": pd.Series([float(p.score) for _, p in items], dtype=float)})


def predicted_frame(model_name: str, units: Sequence, predictions: Sequence[PreLabel | None],
                    schema: LabelSchema) -> pd.DataFrame:
    """A model plugin's answers (one per unit, in order) checked and made a predictions frame."""
    if len(predictions) != len(units):
        raise WorkbenchError(f"model {model_name!r}: predict() returned {len(predictions)} answers for "
                             f"{len(units)} units (expected one PreLabel or None per unit, in order)")
    rows_u, rows_l, rows_s = [], [], []
    for unit, pred in zip(units, predictions):
        if pred is None:
            continue
        if not isinstance(pred, PreLabel):
            raise WorkbenchError(f"model {model_name!r}: unit {unit.id}: predict() returned "
                                 f"{type(pred).__name__}, expected a PreLabel or None")
        try:
            label = schema.normalize(pred.label, text_length=len(unit.text))
        except LabelError as exc:
            raise WorkbenchError(f"model {model_name!r}: unit {unit.id}: label: {exc}") from None
        score = float(pred.score) if pred.score is not None else math.nan
        if score == score and not 0.0 <= score <= 1.0:
            raise WorkbenchError(f"model {model_name!r}: unit {unit.id}: score: expected a number in [0, 1], "
                                 f"got {pred.score!r}")
        rows_u.append(unit.id)
        rows_l.append(label)
        rows_s.append(score)
    return pd.DataFrame({"unit": pd.Series(rows_u, dtype=object), "label": pd.Series(rows_l, dtype=object),
                         "score": pd.Series(rows_s, dtype=float)})


def with_min_score(votes: ModelVotes, min_score: float | None) -> ModelVotes:
    """Drop the votes whose score is below ``min_score`` (a vote without a score is kept)."""
    if min_score is None:
        return votes
    low = (votes.frame["score"] < min_score).to_numpy()
    if not low.any():
        return votes
    return ModelVotes(votes.source, votes.origin, votes.frame[~low].reset_index(drop=True), int(low.sum()))

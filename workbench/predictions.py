"""A model's predictions for a campaign's units: ``unit, label, score`` from CSV, JSONL or Parquet.

One row per unit. ``label`` must fit the campaign's label schema: a label for single and ordinal
tasks, a list of labels (multi) or of ``{start, end, label}`` spans (spans), as JSON text in a CSV
cell. ``score`` is optional: the model's confidence in its label, a probability in [0, 1] (empty
cells are missing). ``task`` and ``unit_id`` are accepted for ``unit``. Anything wrong gives one
line naming the file, the row (CSV and JSONL: the line) and what was expected.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import WorkbenchError
from .models import LabelError, LabelKind, LabelSchema

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
           ".pq": "parquet"}
UNIT_ALIASES = ("unit", "task", "unit_id")
COLUMNS = ["unit", "label", "score"]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, list[int]]:
    rows, lines = [], []
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise WorkbenchError(f"{path}: line {number}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise WorkbenchError(f"{path}: line {number}: expected a JSON object with unit, label "
                                         f"(and score), got {type(row).__name__}")
                rows.append(row)
                lines.append(number)
    except UnicodeDecodeError as exc:
        raise WorkbenchError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return pd.DataFrame(rows), lines


def _read(path: Path) -> tuple[pd.DataFrame, str, list[int] | None]:
    """The raw table, its format, and per row the line it came from (None: Parquet, rows)."""
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise WorkbenchError(f"{path}: expected a .csv, .tsv, .jsonl or .parquet file of predictions")
    if fmt == "jsonl":
        df, lines = _read_jsonl(path)
        return df, fmt, lines
    try:
        if fmt == "parquet":
            return pd.read_parquet(path), fmt, None
        df = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False, na_values=[""])
    except WorkbenchError:
        raise
    except Exception as exc:  # pandas and pyarrow raise many kinds; the user needs one line
        raise WorkbenchError(f"{path}: cannot read as {fmt}: {_first_line(exc)}") from None
    return df, fmt, list(range(2, len(df) + 2))  # line 1 is the header


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    """Parquet's list and struct values (numpy arrays, dicts of numpy scalars) as plain Python."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _label(value: Any, schema: LabelSchema) -> Any:
    value = _plain(value)
    if schema.categorical:
        if isinstance(value, bool):
            raise LabelError(f"expected one of {list(schema.labels)}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # a JSON number for a numeric scale: 3 and 3.0 are the label "3" where the scale says so
            for candidate in (str(value), str(int(value)) if float(value).is_integer() else None):
                if candidate in schema.labels:
                    return candidate
        return schema.normalize(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            what = "labels" if schema.kind is LabelKind.MULTI else "spans {start, end, label}"
            raise LabelError(f"expected a JSON list of {what}, got {value!r}") from None
    return schema.normalize(value)


def read_predictions(path: Path, schema: LabelSchema, units: set[str] | None = None) -> pd.DataFrame:
    """The predictions in ``path`` as a DataFrame ``unit, label, score`` (labels normalized by
    ``schema``; score a float, NaN where absent). ``units``: the campaign's units; a prediction for
    any other unit is refused."""
    path = Path(path)
    df, fmt, lines = _read(path)

    def where(i: int) -> str:
        return f"{path}: line {lines[i]}" if lines is not None else f"{path}: row {i + 1}"

    if df.empty:
        raise WorkbenchError(f"{path}: no predictions (expected rows of unit, label[, score])")
    unit_col = next((c for c in UNIT_ALIASES if c in df.columns), None)
    missing = [name for name, col in (("unit", unit_col), ("label", "label" if "label" in df.columns else None))
               if col is None]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise WorkbenchError(f"{path}: missing column(s) {', '.join(missing)}: expected unit, label and optionally "
                             f"score; found {found}")
    out_units, out_labels, out_scores = [], [], []
    first_row: dict[str, int] = {}
    has_score = "score" in df.columns
    for i, (unit, label, score) in enumerate(zip(df[unit_col], df["label"],
                                                 df["score"] if has_score else [None] * len(df))):
        if _missing(unit) or (isinstance(unit, str) and not unit.strip()):
            raise WorkbenchError(f"{where(i)}: field {unit_col}: empty; expected a unit id")
        unit = str(_plain(unit))
        if unit in first_row:
            j = first_row[unit]
            raise WorkbenchError(f"{where(i)}: field {unit_col}: unit {unit!r} appears twice "
                                 f"(first at {where(j).split(': ', 1)[1]}); expected one prediction per unit")
        first_row[unit] = i
        if units is not None and unit not in units:
            raise WorkbenchError(f"{where(i)}: field {unit_col}: {unit!r} is not a unit of the campaign")
        if not isinstance(label, (list, tuple, dict)) and not hasattr(label, "tolist") and _missing(label):
            raise WorkbenchError(f"{where(i)}: field label: empty; expected a label of the schema "
                                 f"({schema.kind.value}: {', '.join(schema.labels)})")
        try:
            out_labels.append(_label(label, schema))
        except LabelError as exc:
            raise WorkbenchError(f"{where(i)}: field label: {exc}") from None
        out_scores.append(_score(score, where(i)))
        out_units.append(unit)
    return pd.DataFrame({"unit": pd.Series(out_units, dtype=object),
                         "label": pd.Series(out_labels, dtype=object),
                         "score": pd.Series(out_scores, dtype=float)}, columns=COLUMNS)


def _score(value: Any, where: str) -> float:
    value = _plain(value)
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return float("nan")
    if isinstance(value, bool):
        raise WorkbenchError(f"{where}: field score: {value!r} is not a number; expected a probability in [0, 1]")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise WorkbenchError(f"{where}: field score: {value!r} is not a number; expected a probability in [0, 1] "
                             "(or an empty cell)") from None
    if not 0.0 <= x <= 1.0:
        raise WorkbenchError(f"{where}: field score: {value!r} is outside [0, 1]; expected the model's probability "
                             "for its label")
    return x

"""Line-oriented writers: JSONL, CSV (nested fields as JSON strings) and spaCy-style JSONL.

Each writer takes ``(records, path, *, context)``; the core writes to a temporary name and renames.
A CSV cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is written with a leading ``'``, as OWASP advises against CSV injection;
numbers are written as numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..models import LabelKind
from .context import ExportContext
from .records import FIELDS


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_jsonl(records: list[dict], path: Path, **_kw) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(_dumps(r) + "\n")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A record value as a CSV cell: nested values as JSON, text that would run as a formula defused."""
    if isinstance(value, (dict, list)):
        value = _dumps(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(records: list[dict], path: Path, **_kw) -> None:
    fields = list(records[0].keys()) if records else list(FIELDS)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: csv_cell(v) for k, v in r.items()})


def spacy_record(record: dict, kind: LabelKind, labels: tuple[str, ...]) -> dict[str, Any]:
    """One line of spaCy-style JSONL.

    Span tasks: ``spans``, every consensus span as ``{start, end, label}`` (the Prodigy form, for
    ``doc.char_span(**span)`` and ``doc.spans``, where spans may overlap), and ``entities`` as
    ``[start, end, label]`` for ``spacy.training.Example.from_dict``, where they may not: overlapping
    spans are resolved as ``spacy.util.filter_spans`` does (longest first, then earliest). Offsets
    are in the unit's text. Choice tasks: ``cats``, one score per label (textcat / textcat_multilabel).
    """
    out: dict[str, Any] = {"text": record["text"]}
    if kind is LabelKind.SPANS:
        spans = record["label"]
        out["entities"] = [[s["start"], s["end"], s["label"]] for s in non_overlapping(spans)]
        out["spans"] = [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in spans]
    else:
        chosen = {record["label"]} if isinstance(record["label"], str) else set(record["label"])
        out["cats"] = {label: 1.0 if label in chosen else 0.0 for label in labels}
    out["meta"] = {k: record[k] for k in ("unit_id", "split", "document_id", "start", "end", "confidence",
                                          "agreement", "review")}
    return out


def non_overlapping(spans: list[dict]) -> list[dict]:
    """The longest spans first (then the earliest), skipping any that overlaps one already kept."""
    kept: list[dict] = []
    for s in sorted(spans, key=lambda s: (-(s["end"] - s["start"]), s["start"])):
        if all(s["end"] <= k["start"] or k["end"] <= s["start"] for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: (s["start"], s["end"]))


def write_spacy(records: list[dict], path: Path, *, context: ExportContext, **_kw) -> None:
    schema = context.schema
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(_dumps(spacy_record(r, schema.kind, schema.labels)) + "\n")

"""Line-oriented writers: JSONL, CSV (nested fields as JSON strings) and spaCy-style JSONL.

Each writer takes ``(records, path, *, context)``; the core writes to a temporary name and renames.
A CSV cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is written with a leading ``'``, as OWASP advises against CSV injection;
numbers are written as numbers.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..models import LabelKind
from .columns import CSV_QUOTED, FORMULA_CHARS, PLAIN_TYPES, csv_cell, csv_lines, csv_rows, csv_text, json_lines
from .context import ExportContext
from .records import FIELDS, Records


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_jsonl(records: Iterable[dict], path: Path, **_kw) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        if isinstance(records, Records):  # the same lines, laid out from the selection's columns
            for lines in json_lines(records.columns()):
                fh.write("\n".join(lines) + "\n")
            return
        for r in records:
            fh.write(_dumps(r) + "\n")


def _cells(record: dict, fields: list[str]) -> list[Any]:
    """``csv_cell`` of each field, in ``fields`` order, as ``csv.DictWriter`` lays out a record (a
    missing field is empty; a field not in ``fields`` is an error); common types without a call each."""
    if len(record) != len(fields) or any(k not in record for k in fields):
        extra = [k for k in record if k not in fields]
        if extra:
            raise ValueError("dict contains fields not in fieldnames: " + ", ".join(map(repr, extra)))
    out = []
    for k in fields:
        v = record.get(k, "")
        t = type(v)
        if t is str:
            out.append("'" + v if v and v[0] in FORMULA_CHARS else v)
        elif t in PLAIN_TYPES:
            out.append(v)
        else:
            out.append(csv_cell(v))
    return out


def write_csv(records: Iterable[dict], path: Path, **_kw) -> None:
    if isinstance(records, Records):  # the same cells, from the selection's columns
        with open(path, "w", encoding="utf-8", newline="") as fh:
            if CSV_QUOTED is not None:  # laid out as csv.writer lays them out, a block of lines at a time
                fh.write(",".join(map(csv_text, FIELDS)) + "\n")
                for lines in csv_lines(records.columns()):
                    fh.write(lines)
                return
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(FIELDS)
            for rows in csv_rows(records.columns()):
                writer.writerows(rows)
        return
    it = iter(records)
    first = next(it, None)
    fields = list(first.keys()) if first is not None else list(FIELDS)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(fields)
        if first is not None:
            writer.writerow(_cells(first, fields))
            writer.writerows(_cells(r, fields) for r in it)


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


def write_spacy(records: Iterable[dict], path: Path, *, context: ExportContext, **_kw) -> None:
    schema = context.schema
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(_dumps(spacy_record(r, schema.kind, schema.labels)) + "\n")

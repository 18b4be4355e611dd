"""JSONL and CSV writers (nested fields become JSON strings in CSV)."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def write_jsonl(records: list[dict], path: Path, **_kw) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n")


def write_csv(records: list[dict], path: Path, **_kw) -> None:
    fields = list(records[0].keys())
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in records:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                             for k, v in r.items()})

"""Export: curated records of the aggregated campaign, written by registered exporters.

Each record carries the unit, its document, the consensus and how sure we are of it, and the
individual votes under pseudonymous annotator ids (never emails or names). Files are written to a
temporary name and renamed, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError
from ..models import label_to_json

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign

FILTERS = {"min_confidence": float, "min_agreement": float, "include_gold": bool}


def pseudonym(campaign: str, annotator: str) -> str:
    return "ann-" + hashlib.sha256(f"{campaign}\0{annotator}".encode()).hexdigest()[:10]


def build_records(campaign: "Campaign") -> list[dict[str, Any]]:
    from ..campaign import plugin_info

    schema = campaign.task_type.schema
    docs = campaign.documents()
    agg = {r["unit_id"]: r for r in campaign.store.all("SELECT * FROM aggregates WHERE campaign=?", campaign.name)}
    votes: dict[str, dict[str, Any]] = {}
    for a in campaign.annotations():
        if a.status.value == "ok":
            votes.setdefault(a.unit_id, {})[pseudonym(campaign.name, a.annotator_id)] = label_to_json(a.label)
    plugin, version = plugin_info(campaign)
    state_time = campaign.store.one("SELECT finished_at FROM steps WHERE campaign=? AND step='aggregate'",
                                    campaign.name)[0]
    records = []
    for u in campaign.units():
        row = agg.get(u.id)
        if row is None:
            continue
        doc = docs[u.document_id]
        records.append({
            "unit_id": u.id, "text": u.text, "context": u.context,
            "document_id": doc.id, "document_title": doc.title, "document_source": doc.source,
            "start": u.start, "end": u.end,
            "label": label_to_json(schema.normalize(json.loads(row["label_json"]))),
            "confidence": round(row["confidence"], 6),
            "agreement": None if row["agreement"] is None else round(row["agreement"], 6),
            "n_annotations": row["n_annotations"], "tie": bool(row["tie"]),
            "is_gold": u.is_gold, "gold_label": label_to_json(u.gold_label) if u.gold_label is not None else None,
            "votes": dict(sorted(votes.get(u.id, {}).items())),
            "method": row["method"], "campaign": campaign.name, "task_type": campaign.spec.task_type,
            "plugin": plugin, "plugin_version": version, "exported_at": state_time,
        })
    return records


def apply_filters(records: list[dict], filters: dict[str, Any]) -> list[dict]:
    out = records
    if filters.get("min_confidence") is not None:
        out = [r for r in out if r["confidence"] >= filters["min_confidence"]]
    if filters.get("min_agreement") is not None:
        out = [r for r in out if r["agreement"] is not None and r["agreement"] >= filters["min_agreement"]]
    if filters.get("include_gold") is False:
        out = [r for r in out if not r["is_gold"]]
    return out


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``; on failure remove the temporary file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_export(campaign: "Campaign", formats, out_dir: str | None, filters: dict[str, Any]) -> dict[str, Any]:
    spec = campaign.spec
    options = {k: v for k, v in spec.export_options.items() if k in FILTERS}
    options.update({k: v for k, v in filters.items() if v is not None})
    exporters = [campaign.registry.get("exporters", f) for f in formats]
    records = apply_filters(build_records(campaign), options)
    if not records:
        raise WorkbenchError(f"campaign {campaign.name!r}: the export filters {options} leave no record; nothing written")
    if out_dir is not None:
        folder = Path(out_dir)
    elif spec.export_dir:
        folder = spec.resolve(spec.export_dir)
    else:
        folder = campaign.store.home / "exports" / campaign.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"permission denied: {folder}")
    except OSError as exc:
        raise WorkbenchError(f"export folder {folder} is not writable: {exc}") from None
    files = []
    context = {"campaign": campaign, "filters": options}
    for exporter in exporters:
        path = folder / f"{campaign.name}.{exporter.suffix}"
        atomic_write(path, lambda tmp, e=exporter: e.write(records, tmp, context=context))
        files.append(str(path))
    with campaign.store.transaction():
        summary = {"records": len(records), "files": files, "filters": options}
        campaign.store.record_step(campaign.name, "export", summary)
    return summary

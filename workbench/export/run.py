"""The export step: records -> filters -> split -> every format and the data card, all or nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import WorkbenchError
from .card import render_card
from .facts import gather
from .files import Staging
from .filters import apply_filters
from .records import build_records
from .settings import resolve_settings
from .split import assign_splits

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign

CARD = "README.md"


def export_folder(campaign: "Campaign", out_dir: str | None) -> Path:
    spec = campaign.spec
    if out_dir is not None:
        return Path(out_dir)
    if spec.export_dir:
        return spec.resolve(spec.export_dir)
    return campaign.store.home / "exports" / campaign.name


def _digest(path: Path) -> tuple[int, str]:
    """Bytes and sha256 of a file, or of a folder (its files' relative names and contents, sorted)."""
    h = hashlib.sha256()
    if path.is_file():
        data = path.read_bytes()
        return len(data), hashlib.sha256(data).hexdigest()
    size = 0
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        data = p.read_bytes()
        size += len(data)
        h.update(p.relative_to(path).as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
    return size, h.hexdigest()


def run_export(campaign: "Campaign", formats: Iterable[str], out_dir: str | None,
               filters: dict[str, Any]) -> dict[str, Any]:
    """Write the curated dataset in ``formats`` with its data card; returns the step summary."""
    settings = resolve_settings(campaign.spec, filters)
    formats = list(dict.fromkeys(formats))  # the same format twice is one file
    exporters = [campaign.registry.get("exporters", f) for f in formats]
    folder = export_folder(campaign, out_dir)
    all_records = build_records(campaign)
    records, log = apply_filters(all_records, settings)
    if not records:
        applied = "; ".join(f"{x['filter']} removed {x['removed']}" for x in log) or "no filter"
        raise WorkbenchError(f"campaign {campaign.name!r}: the export filters leave no record of "
                             f"{len(all_records)} ({applied}); nothing written")
    notes: list[str] = []
    if settings.split is not None:
        splits, notes = assign_splits(records, settings.split, settings.split_seed)
        records = [{**r, "split": s} for r, s in zip(records, splits)]
    context = {"campaign": campaign, "schema": campaign.task_type.schema, "settings": settings}
    advance = campaign.progress(f"{campaign.name}: export", len(exporters) + 1)
    files = []
    with Staging(folder) as stage:
        for exporter in exporters:
            name = f"{campaign.name}.{exporter.suffix}"
            path = stage.path(name)
            exporter.write(records, path, context=context)
            if not path.exists():
                raise WorkbenchError(f"export format {exporter.name!r} wrote nothing to {name}")
            size, sha = _digest(path)
            files.append({"name": name, "format": exporter.name, "bytes": size, "sha256": sha})
            advance(1)
        facts = gather(campaign, settings, all_records, records, log, notes, files)
        stage.path(CARD).write_text(render_card(facts), "utf-8", newline="\n")
        written = stage.commit()
        advance(1)
    paths = [str(p) for p in written]
    summary = {
        "records": len(records), "aggregated": len(all_records), "files": paths[:-1], "card": paths[-1],
        "folder": str(folder), "filters": settings.as_dict(), "removed": log,
        "splits": {k: v["units"] for k, v in facts["splits"].items()}, "flagged": facts["flagged"],
        "notes": notes, "as_of": facts["as_of"],
    }
    with campaign.store.transaction():
        campaign.store.record_step(campaign.name, "export", summary)
    return summary


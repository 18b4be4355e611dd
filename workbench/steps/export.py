"""The export step: records -> filters -> split -> every format and the data card, all or nothing.

It reads the campaign through the read model (units, documents, consensus, votes, the stored
agreement and quality tables, spec versions, rounds) and hands tables and records to
:mod:`workbench.export`. A ``README.md`` in the export folder that this campaign's exports did not
write is never replaced without ``force``; what killed exports left in the folder is removed.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .. import review
from ..agreement.report import compute_metrics
from ..errors import WorkbenchError
from ..export.card import is_own_card, render_card
from ..export.context import ExportContext
from ..export.facts import annotator_rows, gather, rounded
from ..export.files import Staging
from ..export.filters import apply_filters
from ..export.records import CountedVotes, Records, model_vote_records, pseudonym, pseudonyms
from ..export.settings import resolve_settings
from ..export.split import assign_splits
from ..gating import card_facts as gating_facts
from ..redundancy import progress as redundancy_progress
from ..registry import plugin_version
from ..spec.check import check_exporters
from ..store import campaigns as campaigns_sql
from ..store import labels as labels_sql
from ..store import work as work_sql
from ..store.errors import file_error
from . import collector_paused_in, return_memory
from .aggregate import model_sources

if TYPE_CHECKING:  # pragma: no cover
    from ..state import CampaignState
    from . import StepContext

CARD = "README.md"

#: what the export reads of the campaign's read model and lets go of once the records' columns are
#: made, and once the card's figures are
CONSENSUS_ROWS = ("consensus_rows", "aggregates")
CAMPAIGN_TABLES = ("table", "counted", "annotations", "consensus")


def export_folder(ctx: "StepContext", out_dir: str | None) -> Path:
    spec = ctx.spec
    if out_dir is not None:
        return Path(out_dir)
    if spec.export_dir:
        return spec.resolve(spec.export_dir)
    return ctx.store.home / "exports" / ctx.name


def _digest(path: Path) -> tuple[int, str]:
    """Bytes and sha256 of a file, or of a folder (its files' relative names and contents, sorted)."""
    if path.is_file():
        return _file_digest(path)
    h = hashlib.sha256()
    size = 0
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        n, digest = _file_digest(p)
        size += n
        h.update(p.relative_to(path).as_posix().encode() + b"\0" + bytes.fromhex(digest))
    return size, h.hexdigest()


def _file_digest(path: Path) -> tuple[int, str]:
    """Bytes and sha256 of a file, read in blocks (an export file can be hundreds of MB)."""
    with open(path, "rb") as fh:
        return os.fstat(fh.fileno()).st_size, hashlib.file_digest(fh, "sha256").hexdigest()


def names(ctx: "StepContext") -> dict[str, str]:
    """``{annotator id: pseudonym}`` for everyone in the pool or in the annotations."""
    state = ctx.state
    ids = ({a.id for a in state.pool} | {a.id for a in ctx.spec.annotators}
           | labels_sql.annotator_ids(ctx.store, ctx.name))
    return pseudonyms(campaigns_sql.pseudonym_key(ctx.store), ctx.name, ids)


def plugin_info(ctx: "StepContext") -> tuple[str, str | None]:
    return plugin_version(ctx.registry, "task_types", ctx.spec.task_type)


def records(ctx: "StepContext", pseudonym_of: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every aggregated unit of the campaign as a record (``split`` unset)."""
    return list(record_set(ctx, pseudonym_of))


def record_set(ctx: "StepContext", pseudonym_of: dict[str, str] | None = None) -> Records:
    """:func:`records` as a :class:`Records` sequence: each record made when it is read."""
    state = ctx.state
    pseudonym_of = pseudonym_of if pseudonym_of is not None else names(ctx)
    plugin, version = plugin_info(ctx)
    verdicts = {u: (label, [reviewer_name(ctx, r) for r in who])
                for u, (label, who) in review.decide(review.read(ctx.store, ctx.name, ctx.task_type.schema)).items()}
    model_votes = model_vote_records(model_sources(ctx).votes()) if ctx.spec.models else None
    return Records(state.units, state.documents, state.consensus_rows, CountedVotes(state.table, pseudonym_of),
                   campaign=ctx.name, task_type=ctx.spec.task_type, plugin=plugin, plugin_version=version,
                   as_of=review_as_of(ctx, as_of(state)), model_votes=model_votes, verdicts=verdicts)


def reviewer_name(ctx: "StepContext", reviewer: str) -> str:
    """A reviewer's pseudonym (``rev-`` and 10 hex digits; a keyed hash, as for annotators)."""
    return "rev-" + pseudonym(campaigns_sql.pseudonym_key(ctx.store), ctx.name, "review\0" + reviewer)[4:]


def review_as_of(ctx: "StepContext", stamp: str | None) -> str | None:
    """The exported state's time: a verdict newer than every annotation moves it."""
    answered = [r.answered_at for r in review.read(ctx.store, ctx.name, ctx.task_type.schema) if r.answered_at]
    return max([stamp, *answered]) if answered and stamp else stamp


def as_of(state: "CampaignState") -> str | None:
    """When the exported state was made: the newest counted annotation (created or edited).

    Re-running ``aggregate`` on the same annotations does not move it, so exports stay identical;
    new or edited annotations do. Falls back to when ``aggregate`` last ran.
    """
    newest = state.newest_counted()
    if newest:
        return newest
    row = state.steps.get("aggregate")
    return row["finished_at"] if row else None


def check_readme(folder: Path, campaign: str, force: bool) -> None:
    card = folder / CARD
    if force or not card.is_file():
        return
    try:
        text = card.read_text("utf-8", errors="replace")
    except OSError as exc:
        raise file_error(exc, card, "cannot read") from None
    if not is_own_card(text, campaign):
        raise WorkbenchError(
            f"{card}: a README.md that exports of campaign {campaign!r} did not write is in the export folder; "
            "move it, export elsewhere (--out), or pass --force to replace it with the data card")


@collector_paused_in
def run(ctx: "StepContext", formats: Iterable[str] | None = None, out_dir: str | None = None,
        force: bool = False, **filters) -> dict[str, Any]:
    """Write the curated dataset in ``formats`` (default: the spec's) with its data card."""
    ctx.require("export", "aggregate")
    ctx.require("export", "agreement")
    spec, state = ctx.spec, ctx.state
    settings = resolve_settings(spec, filters)
    given = bool(formats)
    formats = list(dict.fromkeys(formats or spec.export_formats))  # the same format twice is one file
    exporters = check_exporters(None if given else spec, ctx.registry, formats,
                                "--format" if given else "export.formats")
    folder = export_folder(ctx, out_dir)
    check_readme(folder, ctx.name, force)
    pseudonym_of = names(ctx)
    all_records = record_set(ctx, pseudonym_of)  # made as they are read: a million dicts took gigabytes
    kept, log = apply_filters(all_records, settings)
    if not len(kept):
        applied = "; ".join(f"{x['filter']} removed {x['removed']}" for x in log) or "no filter"
        raise WorkbenchError(f"campaign {ctx.name!r}: the export filters leave no record of "
                             f"{len(all_records)} ({applied}); nothing written")
    notes: list[str] = []
    if settings.split is not None:
        # the split reads two fields of each record, not whole records
        splits, notes = assign_splits([{"document_id": d, "label": label} for d, label
                                       in kept.fields("document_id", "label")], settings.split, settings.split_seed)
        kept = kept.with_splits(splits)
    schema = ctx.task_type.schema
    context = ExportContext(campaign=ctx.name, schema=schema, settings=settings, task_type=spec.task_type,
                            description=spec.description, task_options=dict(ctx.task_type.settings))
    advance = ctx.progress(f"{ctx.name}: export", len(exporters) + 1)
    # The records' columns, made once, are what every built-in writer and the card read: from here on
    # the records are made from them, and the campaign's tables go as soon as nothing reads them (the
    # units' votes and consensus rows after the columns, the vote table after the card's figures:
    # hundreds of MB at 50 MB) before the formats build their own.
    kept.columns()
    _ = state.consensus  # what the card's metrics read of the consensus rows
    kept.detach()
    state.forget(*CONSENSUS_ROWS)
    return_memory()
    files: list[dict] = []  # the card lists them: filled as they are written
    facts = card_facts(ctx, settings, all_records, kept, log, notes, files, pseudonym_of)
    state.forget(*CAMPAIGN_TABLES)
    return_memory()
    try:
        with Staging(folder) as stage:
            for exporter in exporters:
                name = f"{ctx.name}.{exporter.suffix}"
                path = stage.path(name)
                with ctx.registry.guard("exporters", exporter.name, f"writing {name}"):
                    # a plugin that does not say it reads records as a sequence gets a list, as it always did
                    exporter.write(kept if exporter.streaming else list(kept), path, context=context)
                if not path.exists():
                    raise WorkbenchError(f"export format {exporter.name!r} wrote nothing to {name}")
                size, sha = _digest(path)
                files.append({"name": name, "format": exporter.name, "bytes": size, "sha256": sha})
                return_memory()  # one format's table freed before the next builds its own
                advance(1)
            stage.path(CARD).write_text(render_card(facts), "utf-8", newline="\n")
            written = stage.commit()
            advance(1)
    except OSError as exc:
        raise file_error(exc, folder, "cannot write the export to") from None
    paths = [str(p) for p in written]
    summary = {
        "records": len(kept), "aggregated": len(all_records), "files": paths[:-1], "card": paths[-1],
        "folder": str(folder), "filters": settings.as_dict(), "removed": log,
        "splits": {k: v["units"] for k, v in facts["splits"].items()}, "flagged": facts["flagged"],
        "notes": notes, "as_of": facts["as_of"],
    }
    if stage.swept:
        summary["cleaned_up"] = [str(p) for p in stage.swept]
    with ctx.store.transaction():
        ctx.record("export", summary, inputs={"aggregate": state.steps["aggregate"]["seq"],
                                              "agreement": state.steps["agreement"]["seq"]})
    return summary


def status_counts(state: "CampaignState") -> dict[str, dict[str, int]]:
    """``{annotator: {status: n}}`` of every annotation (counted in SQL: a million rows)."""
    return labels_sql.status_counts(state.store, state.name)


def card_facts(ctx: "StepContext", settings, all_records: Sequence[dict], kept: Sequence[dict], log: list[dict],
               notes: list[str], files: list[dict], pseudonym_of: dict[str, str]) -> dict[str, Any]:
    state, spec, tt = ctx.state, ctx.spec, ctx.task_type
    plugin, version = plugin_info(ctx)
    exported_ids, votes_exported, exported_reviewed = set(), Counter(), 0
    read: Iterable[dict] | dict[str, list] = kept
    if isinstance(kept, Records):  # from the selection's columns: no record made again
        columns = kept.columns()
        exported_ids = set(columns["unit_id"])
        shared = {id(v): v for v in columns["votes"]}  # records with the same votes share one list
        for key, n in Counter(map(id, columns["votes"])).items():
            for v in shared[key]:
                votes_exported[v["annotator"]] += n
        exported_reviewed = columns["label_source"].count("review")
        read = columns
    else:  # one pass over the records
        for r in kept:
            exported_ids.add(r["unit_id"])
            votes_exported.update(v["annotator"] for v in r["votes"])
            exported_reviewed += r["label_source"] == "review"
    table = state.table
    if isinstance(kept, Records) and exported_ids.issuperset(kept.voted_units()):
        inside = None  # every unit of the table is exported (a set comparison, not a column's isin)
    else:
        inside = table["unit"].isin(exported_ids)
        inside = None if inside.all() else inside
    subset = compute_metrics(ctx.registry, tt.schema, table if inside is None else table[inside], spec.metrics,
                             digits=4, errors="note", units=state.units_by_id, consensus=state.consensus,
                             gold=state.honeypot_gold)
    pool = {a.id: a for a in state.pool}
    reviews = review.read(ctx.store, ctx.name, tt.schema)
    overturns = review.annotator_overturns(state.counted, reviews) if reviews else {}
    rows = annotator_rows(pseudonym_of, pool, state.quality, (), status_counts(state), exported=votes_exported)
    by_pseudonym = {pseudonym_of[a]: v for a, v in overturns.items() if a in pseudonym_of}
    for row in rows:
        row["review"] = by_pseudonym.get(row["annotator"])
    facts = gather(
        campaign={"name": ctx.name, "description": spec.description, "backend": spec.backend,
                  "overlap": spec.overlap, "gold_rate": spec.gold_rate,
                  "simulated": sum(1 for a in spec.active_annotators if a.simulated),
                  "people": sum(1 for a in spec.active_annotators if not a.simulated),
                  "show_prelabels": spec.show_prelabels,
                  "redundancy": None if spec.redundancy is None else redundancy_progress(
                      spec.redundancy, state.rounds, work_sql.planned_per_unit(ctx.store, ctx.name),
                      state.step("redundancy"))},
        task={"task_type": spec.task_type, "description": tt.description, "instructions": tt.instructions,
              "schema": tt.schema, "plugin": plugin, "plugin_version": version, "options": dict(tt.settings)},
        documents=state.documents.values(), settings=settings, all_records=all_records, records=read,
        filter_log=log, split_notes=notes, files=files,
        annotators=rows,
        metrics_all=rounded(state.metrics), metrics_exported=subset,
        plan=state.step("plan"), aggregate=state.step("aggregate"), versions=state.versions, rounds=state.rounds)
    facts["gating"] = gating_facts(state, spec, pseudonym_of)
    if reviews:
        facts["review_round"] = {**review.summary_facts(state, reviews, review.is_spans(tt.schema)),
                                 "exported_reviewed": exported_reviewed}
    return facts


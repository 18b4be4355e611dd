"""What may change in a running campaign, and what changed between two versions of its spec.

A campaign's **identity** is what decides its units and its gold: the task type and its ``[task]``
options, the documents (their ids and contents), the gold file (its contents) and rate, and the seed (which picks the
honeypots and the simulated crowd's answers). Once work has been handed out (``assign``), the
identity is fixed: a different one is a new campaign. Everything else may change: annotators join
or retire, overlap goes up, the aggregation method and its options, metrics, export settings and
backend settings. :func:`diff` lists those changes for the spec's version history.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..errors import WorkbenchError
from . import AnnotatorSpec, CampaignSpec

#: identity fields, in the order they are compared and named
IDENTITY = ("task_type", "task_options", "documents", "gold", "gold_rate", "seed")

#: how each identity field is written in the spec, for messages
FIELD_NAMES = {"task_type": "task_type", "task_options": "task", "documents": "documents", "gold": "gold.file",
               "gold_rate": "gold.rate", "seed": "seed"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def documents_digest(documents) -> str:
    """One hash over the documents' ids and contents (their order does not matter)."""
    return _sha("\n".join(sorted(f"{d.id}\0{d.sha256}" for d in documents)).encode())


def gold_digest(spec: CampaignSpec) -> str | None:
    if not spec.gold_file:
        return None
    path = spec.resolve(spec.gold_file)
    try:
        return _sha(path.read_bytes())
    except OSError as exc:
        raise WorkbenchError(f"{spec.path}: gold.file: cannot read {path} ({exc.strerror or exc})") from None


def identity(spec: CampaignSpec, documents) -> dict[str, Any]:
    """The identity of ``spec`` with its documents loaded."""
    return {"task_type": spec.task_type, "task_options": dict(sorted(spec.task_options.items())),
            "documents": documents_digest(documents), "gold": gold_digest(spec), "gold_rate": spec.gold_rate,
            "seed": spec.seed}


def identity_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The identity fields that differ; a field the old record does not know (a store made by
    workbench 0.1 kept no document or gold digest) is taken as unchanged."""
    old = old or {}
    return [f for f in IDENTITY if f in old and old[f] is not None and old[f] != new.get(f)]


def refuse_identity_change(spec: CampaignSpec, fields: list[str], old: dict, new: dict) -> WorkbenchError:
    f = fields[0]
    detail = {
        "task_type": f"was {old.get('task_type')!r}, now {new.get('task_type')!r}",
        "task_options": f"was {_show(old.get('task_options'))}, now {_show(new.get('task_options'))}",
        "documents": "the documents it matches (or their contents) are not the ones the campaign was planned with",
        "gold": "the gold file's contents changed",
        "gold_rate": f"was {old.get('gold_rate')}, now {new.get('gold_rate')}",
        "seed": f"was {old.get('seed')}, now {new.get('seed')}",
    }[f]
    more = f" (also: {', '.join(FIELD_NAMES[x] for x in fields[1:])})" if len(fields) > 1 else ""
    return WorkbenchError(
        f"{spec.path}: {FIELD_NAMES[f]}: changed after campaign {spec.name!r} handed out work ({detail}){more}; "
        f"it decides the campaign's units and gold, so it is fixed now: restore it, or start a new campaign "
        f"(give the spec another name) for the new {FIELD_NAMES[f]}")


def _who(a: AnnotatorSpec) -> str:
    return f"{a.id} (person {a.email})" if a.email and not a.persona else f"{a.id} ({a.persona})"


def diff(old: CampaignSpec, new: CampaignSpec) -> list[str]:
    """Human-readable changes from ``old`` to ``new`` outside the identity, e.g. ``overlap: 3 -> 4``."""
    out: list[str] = []

    def compare(name: str, a: Any, b: Any) -> None:
        if a != b:
            out.append(f"{name}: {_show(a)} -> {_show(b)}")

    compare("description", old.description, new.description)
    compare("overlap", old.overlap, new.overlap)
    for key in ("max", "target", "target_by", "budget", "per_round", "calibration", "calibration_labels",
                "one_coin_prior", "disputed_share", "disputed_with",
                "disputed_order"):
        compare(f"redundancy.{key}", getattr(old.redundancy, key, None), getattr(new.redundancy, key, None))
    compare("show_prelabels", old.show_prelabels, new.show_prelabels)
    before = {a.id: a for a in old.annotators}
    after = {a.id: a for a in new.annotators}
    for aid, a in after.items():
        b = before.get(aid)
        if b is None:
            out.append(f"annotators: + {_who(a)}" + (" (retired)" if a.retired else ""))
        elif b.retired != a.retired:
            out.append(f"annotators: {aid} " + ("retired" if a.retired else "back from retirement"))
        elif (b.persona, b.lean, b.email) != (a.persona, a.lean, a.email):
            out.append(f"annotators: {aid}: {_who(b)}{f' lean {b.lean}' if b.lean else ''} -> "
                       f"{_who(a)}{f' lean {a.lean}' if a.lean else ''}")
    for aid, b in before.items():
        if aid not in after and not b.retired:
            out.append(f"annotators: - {aid} (no longer in the spec: retired, their labels kept)")
    compare("backend.name", old.backend, new.backend)
    for key in sorted(set(old.backend_options) | set(new.backend_options)):
        compare(f"backend.{key}", old.backend_options.get(key), new.backend_options.get(key))
    compare("aggregate.method", old.aggregate_method, new.aggregate_method)
    for key in sorted(set(old.aggregate_options) | set(new.aggregate_options)):
        compare(f"aggregate.{key}", old.aggregate_options.get(key), new.aggregate_options.get(key))
    compare("models.prelabels", old.models.prelabels, new.models.prelabels)
    compare("models.predictions", {n: f for n, f in old.models.predictions} or None,
            {n: f for n, f in new.models.predictions} or None)
    compare("models.plugins", list(old.models.plugins) or None, list(new.models.plugins) or None)
    compare("models.min_score", old.models.min_score, new.models.min_score)
    compare("metrics", list(old.metrics), list(new.metrics))
    compare("review", old.raw.get("review"), new.raw.get("review"))
    compare("export.formats", list(old.export_formats), list(new.export_formats))
    compare("export.dir", old.export_dir, new.export_dir)
    for key, value in vars(new.gating).items():
        compare(f"gating.{key}", getattr(old.gating, key), value)
    for key in sorted(set(old.export_options) | set(new.export_options)):
        compare(f"export.{key}", old.export_options.get(key), new.export_options.get(key))
    return out


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"  # as the campaign file writes it
    if isinstance(value, str):
        return repr(value) if value else "''"
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def refuse_running_change(old: CampaignSpec, new: CampaignSpec, assigned: bool, pushed: bool) -> None:
    """Changes outside the identity that a campaign in progress still cannot take."""
    if assigned and new.overlap < old.overlap:
        raise WorkbenchError(
            f"{new.path}: {'redundancy.initial' if new.redundancy else 'overlap'}: lowered from {old.overlap} to {new.overlap} after campaign {new.name!r} handed "
            "out work; labels already planned are kept, so overlap can only go up (to keep fewer labels per unit, "
            "filter the export instead)")
    if pushed and new.backend != old.backend:
        raise WorkbenchError(
            f"{new.path}: backend.name: changed from {old.backend!r} to {new.backend!r} after campaign "
            f"{new.name!r} was pushed; its tasks and labels live in {old.backend!r}: restore it, or start a new "
            "campaign (another name) on the new backend")

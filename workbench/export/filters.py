"""Curation filters: which records make it into the dataset, and how many each filter removed."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .records import Records
from .settings import ExportSettings

R = TypeVar("R", list[dict], Records)


#: the fields the filters read (a selection's filters read only these of each record)
FILTERED = ("confidence", "agreement", "is_gold", "review")


def _steps(settings: ExportSettings) -> list[tuple[str, Callable[[dict], bool]]]:
    steps: list[tuple[str, Callable[[dict], bool]]] = []
    if settings.min_confidence is not None:
        t = settings.min_confidence
        steps.append((f"confidence >= {t:g}", lambda r: r["confidence"] >= t - 1e-9))
    if settings.min_agreement is not None:
        t = settings.min_agreement
        # a unit with one annotation has no agreement to measure: it does not pass an agreement bar
        steps.append((f"unit agreement >= {t:g}", lambda r: r["agreement"] is not None and r["agreement"] >= t - 1e-9))
    if not settings.include_gold:
        steps.append(("no gold (honeypot) units", lambda r: not r["is_gold"]))
    if settings.drop_flagged:
        steps.append(("no units flagged for review", lambda r: not r["review"]))
    return steps


def apply_filters(records: R, settings: ExportSettings) -> tuple[R, list[dict[str, Any]]]:
    """The records that pass every filter, and per filter (in order) how many it removed (a list, or
    for :class:`Records` a selection of them, read once)."""
    if isinstance(records, Records):
        steps = _steps(settings)
        if not steps:
            return records, []
        removed = [0] * len(steps)
        chosen = []
        read = FILTERED
        for k, r in enumerate(dict(zip(read, values)) for values in records.fields(*read)):
            for j, (_, keep) in enumerate(steps):
                if not keep(r):  # the first filter it fails removes it, as the filters run in turn
                    removed[j] += 1
                    break
            else:
                chosen.append(k)
        return records.select(chosen), [{"filter": name, "removed": n} for (name, _), n in zip(steps, removed)]
    kept = records
    log = []
    for name, keep in _steps(settings):
        before = len(kept)
        kept = [r for r in kept if keep(r)]
        log.append({"filter": name, "removed": before - len(kept)})
    return kept, log

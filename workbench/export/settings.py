"""Export settings: the curation filters and the split, from the spec's ``[export]`` table and the CLI.

Command-line values override the spec's. Every value is checked; a bad one is one line naming
where it came from (the spec file and field, or the option) and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import WorkbenchError

SPLITS = ("train", "dev", "test")

#: the ``[export]`` fields this module reads (``formats`` and ``dir`` are read with the spec)
KEYS = ("min_confidence", "min_agreement", "include_gold", "drop_flagged", "split", "split_seed")


@dataclass(frozen=True)
class ExportSettings:
    min_confidence: float | None = None
    min_agreement: float | None = None
    include_gold: bool = True  # gold units here are honeypots (``is_gold``), the units that score annotators
    drop_flagged: bool = False
    split: tuple[float, float, float] | None = None  # train, dev, test ratios; None: no split
    split_seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["split"] = None if self.split is None else dict(zip(SPLITS, self.split))
        return d


def _threshold(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise WorkbenchError(f"{where}: expected a number from 0 to 1, got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise WorkbenchError(f"{where}: expected true or false, got {value!r}")
    return value


def parse_split(value: Any, where: str) -> tuple[float, float, float] | None:
    """``[train, dev, test]``, ``{train, dev, test}`` or ``"0.8,0.1,0.1"``; ``false``/``"none"``: no split."""
    if value is False or value is None or (isinstance(value, str) and value.strip().lower() in ("none", "no", "")):
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            value = [float(p) for p in parts]
        except ValueError:
            raise WorkbenchError(f"{where}: expected three ratios like 0.8,0.1,0.1 (train, dev, test), "
                                 f"got {value!r}") from None
    if isinstance(value, dict):
        extra = sorted(set(value) - set(SPLITS))
        if extra:
            raise WorkbenchError(f"{where}: unknown split {extra[0]!r} (expected train, dev, test)")
        value = [value.get(s, 0.0) for s in SPLITS]
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise WorkbenchError(f"{where}: expected three ratios (train, dev, test), got {value!r}")
    ratios = []
    for name, r in zip(SPLITS, value):
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r < 0:
            raise WorkbenchError(f"{where}: the {name} ratio must be a number >= 0, got {r!r}")
        ratios.append(float(r))
    total = sum(ratios)
    if abs(total - 1) > 1e-6:
        shown = " + ".join(f"{r:g}" for r in ratios)
        raise WorkbenchError(f"{where}: the ratios must sum to 1 (train + dev + test), got {shown} = {total:g}")
    if ratios[0] == 0:
        raise WorkbenchError(f"{where}: the train ratio must be above 0")
    return ratios[0], ratios[1], ratios[2]


def resolve_settings(spec, overrides: dict[str, Any]) -> ExportSettings:
    """The spec's ``[export]`` values, then the non-None ``overrides`` (from the command line)."""
    values: dict[str, Any] = {"split_seed": spec.seed}
    unknown = sorted(set(spec.export_options) - set(KEYS))
    if unknown:
        raise WorkbenchError(f"{spec.path}: export.{unknown[0]}: unknown field "
                             f"(expected one of dir, formats, {', '.join(KEYS)})")
    sources = [(k, v, f"{spec.path}: export.{k}") for k, v in spec.export_options.items()]
    sources += [(k, v, f"--{k.replace('_', '-')}") for k, v in overrides.items() if v is not None]
    for key, value, where in sources:
        if key not in KEYS:
            raise WorkbenchError(f"{where}: unknown export setting (expected one of {', '.join(KEYS)})")
        if key in ("min_confidence", "min_agreement"):
            values[key] = _threshold(value, where)
        elif key in ("include_gold", "drop_flagged"):
            values[key] = _flag(value, where)
        elif key == "split":
            values[key] = parse_split(value, where)
        else:
            if isinstance(value, bool) or not isinstance(value, int):
                raise WorkbenchError(f"{where}: expected a whole number, got {value!r}")
            values[key] = value
    return ExportSettings(**values)

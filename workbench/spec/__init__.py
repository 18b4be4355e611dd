"""Campaign specs: a TOML file that says what to label, by whom, where, and how to ship it.

Reading a spec checks its structure (this module); :mod:`.check` then checks every name and option
against the loaded plugins, so a whole spec is known good before any step runs. :mod:`.changes`
says which fields are the campaign's identity (fixed once work is handed out) and what changed
between two versions. A mistake gives one line naming the file, the field and what was expected.
See ``docs/campaigns.md`` for the full reference.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError
from .redundancy import RedundancySpec, parse_redundancy

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AnnotatorSpec:
    id: str
    persona: str | None = None  # simulated when set
    lean: str | None = None  # favourite label of a biased or constant persona
    email: str | None = None  # a person, who annotates in Label Studio
    retired: bool = False  # kept for their labels, given no new work
    #: excluded by gating (calibration, rolling gold accuracy, or by hand): labels kept, never counted,
    #: given no new work. Set from the store (``Campaign.effective_spec``), never from the file.
    excluded: bool = False

    @property
    def simulated(self) -> bool:
        return self.persona is not None


@dataclass(frozen=True)
class GatingSpec:
    """``[gating]``: who gets production work, judged on honeypots (see :mod:`workbench.gating`)."""

    #: a newcomer's first ``calibration`` tasks are honeypots; below ``min_accuracy`` on them, no more work
    calibration: int = 0
    min_accuracy: float = 0.7
    #: during the campaign: accuracy over the last ``window`` honeypots below ``rolling_min_accuracy``
    #: (judged once an annotator has answered ``min_gold``) excludes them too
    window: int = 10
    min_gold: int = 5
    rolling_min_accuracy: float | None = None  # None: no rolling check
    #: honeypots most strong annotators answer otherwise than gold are dropped from scoring
    drop_suspect_gold: bool = False
    #: warn when an annotator has seen more than this share of the campaign's honeypots
    max_exposure: float = 0.8

    @property
    def enabled(self) -> bool:
        return self.calibration > 0 or self.rolling_min_accuracy is not None


@dataclass(frozen=True)
class ModelsSpec:
    """The ``[models]`` table: models that vote in aggregation as annotators of their own.

    ``prelabels``: the task type's pre-labeler (source ``model:prelabel``); ``predictions``:
    ``(name, path)`` of predictions files (source ``model:<name>``); ``plugins``: models registered
    by plugins (source ``model:<name>``); ``min_score``: votes with a lower score do not count.
    """

    prelabels: bool = False
    predictions: tuple[tuple[str, str], ...] = ()
    plugins: tuple[str, ...] = ()
    min_score: float | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The annotator ids the model sources vote under, in order."""
        return tuple(f"model:{n}" for n in (["prelabel"] if self.prelabels else [])
                     + [n for n, _ in self.predictions] + list(self.plugins))

    def __bool__(self) -> bool:
        return bool(self.prelabels or self.predictions or self.plugins)


@dataclass(frozen=True)
class ReviewerSpec:
    """Who reviews disputed units: a simulated persona, or a person (``email``) in Label Studio."""

    id: str
    persona: str | None = None
    email: str | None = None

    @property
    def simulated(self) -> bool:
        return self.persona is not None


@dataclass(frozen=True)
class ReviewSpec:
    """The ``[review]`` table: which units go to review, and who reviews them."""

    reviewers: tuple[ReviewerSpec, ...] = ()
    #: a unit whose pairwise agreement is below this goes to review (None: agreement is not a reason)
    min_agreement: float | None = 0.5
    #: a unit whose consensus confidence (vote share or posterior) is below this goes to review
    min_confidence: float | None = None
    ties: bool = True  # a tied vote goes to review
    gold_mismatch: bool = True  # a gold unit whose consensus differs from its gold label
    excluded: bool = True  # a unit labeled by an annotator who was excluded (retired) since
    #: reviewers per unit (two measure reviewer agreement)
    per_unit: int = 1
    #: at most this many units per review round (the most disputed first); None: all
    max_units: int | None = None


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    task_type: str
    documents: str
    path: Path
    task_options: dict = field(default_factory=dict)  # the [task] table, checked by the task type
    overlap: int = 3
    seed: int = 0
    description: str = ""
    #: whether people see the plugin's pre-labels as suggestions (anchoring: off unless asked for)
    show_prelabels: bool = False
    gold_file: str | None = None
    gold_rate: float = 0.0
    annotators: tuple[AnnotatorSpec, ...] = ()
    backend: str = "local"
    backend_options: dict = field(default_factory=dict)
    aggregate_method: str = "majority"
    aggregate_options: dict = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    export_formats: tuple[str, ...] = ("jsonl",)
    export_dir: str | None = None
    export_options: dict = field(default_factory=dict)
    gating: GatingSpec = field(default_factory=GatingSpec)
    models: ModelsSpec = field(default_factory=ModelsSpec)
    #: adaptive labels per unit (``[redundancy]``); None: every unit gets ``overlap`` annotators
    redundancy: RedundancySpec | None = None
    review: ReviewSpec | None = None  # the [review] table (None: no review)
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def active_annotators(self) -> tuple[AnnotatorSpec, ...]:
        return tuple(a for a in self.annotators if not a.retired and not a.excluded)

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.base / p

    @property
    def fingerprint(self) -> str:
        """Hash of the spec's content; the same campaign name with another fingerprint is a clash."""
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()[:16]


TOP = {"name", "task_type", "task", "documents", "overlap", "seed", "description", "show_prelabels",
       "gold", "annotators", "backend", "aggregate", "metrics", "export", "models", "redundancy",
       "review", "gating"}

REVIEW_FIELDS = {"reviewers", "min_agreement", "min_confidence", "ties", "gold_mismatch", "excluded", "per_unit",
                 "max_units"}


class _Checker:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, msg: str):
        raise WorkbenchError(f"{self.path}: {where}: {msg}")

    def get(self, table: dict, key: str, types, where: str, default=..., required=False):
        if key not in table:
            if required:
                self.fail(where, "is required")
            return default
        value = table[key]
        if types is int and isinstance(value, bool) or not isinstance(value, types):
            names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
            self.fail(where, f"expected {names}, got {value!r}")
        return value

    def only(self, table: dict, allowed: set, where: str):
        extra = sorted(set(table) - allowed)
        if extra:
            self.fail(f"{where}{extra[0]}" if where else extra[0],
                      f"unknown field (expected one of {', '.join(sorted(allowed))})")


def load_spec(path: str | Path) -> CampaignSpec:
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such campaign file")
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{path}: malformed TOML: {exc}") from None
    return parse_spec(raw, path)


def parse_spec(raw: dict, path: Path) -> CampaignSpec:
    c = _Checker(path)
    c.only(raw, TOP, "")
    name = c.get(raw, "name", str, "name", required=True)
    if not NAME_RE.match(name):
        c.fail("name", f"expected letters, digits, '-', '_' or '.' (at most 64), got {name!r}")
    task_type = c.get(raw, "task_type", str, "task_type", required=True)
    task_options = c.get(raw, "task", dict, "task", {})
    documents = c.get(raw, "documents", str, "documents", required=True)
    overlap = c.get(raw, "overlap", int, "overlap", 3)
    if overlap < 1:
        c.fail("overlap", f"expected at least 1 annotator per unit, got {overlap}")
    redundancy = None
    if "redundancy" in raw:  # adaptive: every unit starts with `initial` annotators (the overlap)
        redundancy = parse_redundancy(raw["redundancy"], overlap if "overlap" in raw else None, c.fail)
        overlap = redundancy.initial
    seed = c.get(raw, "seed", int, "seed", 0)

    gold = c.get(raw, "gold", dict, "gold", {})
    c.only(gold, {"file", "rate"}, "gold.")
    gold_file = c.get(gold, "file", str, "gold.file", None)
    gold_rate = float(c.get(gold, "rate", (int, float), "gold.rate", 0.1 if gold_file else 0.0))
    if not 0 <= gold_rate < 1:
        c.fail("gold.rate", f"expected a share of each annotator's work in [0, 1), got {gold_rate}")
    if gold_rate > 0 and not gold_file:
        c.fail("gold.rate", "needs gold.file (where the gold labels are)")

    annotators = []
    for i, a in enumerate(c.get(raw, "annotators", list, "annotators", [])):
        where = f"annotators[{i}]"
        a, aid, persona, email = _someone(c, a, where, {"lean", "retired"}, "annotator", f"{i + 1}")
        retired = c.get(a, "retired", bool, where + ".retired", False)
        annotators.append(AnnotatorSpec(aid, persona, c.get(a, "lean", str, where + ".lean", None), email, retired))
    ids = [a.id for a in annotators]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        c.fail("annotators", f"annotator id {dupes[0]!r} appears twice")
    emails = [a.email.lower() for a in annotators if a.email]
    twice = sorted({x for x in emails if emails.count(x) > 1})
    if twice:
        c.fail("annotators", f"email {twice[0]!r} appears twice (one person, one annotator)")
    active = [a for a in annotators if not a.retired]
    if not active:
        c.fail("annotators", "expected at least one annotator (not retired)")
    if overlap > len(active):
        c.fail("redundancy.initial" if redundancy and "overlap" not in raw else "overlap", f"{overlap} annotators per unit, but the pool has only {len(active)}"
               + (f" active ({len(annotators) - len(active)} retired)" if len(active) < len(annotators) else ""))

    backend = c.get(raw, "backend", dict, "backend", {})
    backend_name = c.get(backend, "name", str, "backend.name", "local")
    aggregate = c.get(raw, "aggregate", dict, "aggregate", {})
    method = c.get(aggregate, "method", str, "aggregate.method", "majority")
    metrics = c.get(raw, "metrics", list, "metrics", [])
    if not all(isinstance(m, str) for m in metrics):
        c.fail("metrics", f"expected a list of metric names, got {metrics!r}")
    export = c.get(raw, "export", dict, "export", {})
    formats = c.get(export, "formats", list, "export.formats", ["jsonl"])
    if not formats or not all(isinstance(f, str) for f in formats):
        c.fail("export.formats", f"expected a non-empty list of format names, got {formats!r}")
    export_dir = c.get(export, "dir", str, "export.dir", None)
    gating = parse_gating(c, c.get(raw, "gating", dict, "gating", {}), gold_rate)
    models = _models(c, c.get(raw, "models", dict, "models", {}))
    return CampaignSpec(
        name=name, task_type=task_type, task_options=dict(task_options), documents=documents, path=path.resolve(),
        overlap=overlap, seed=seed,
        description=c.get(raw, "description", str, "description", ""),
        show_prelabels=c.get(raw, "show_prelabels", bool, "show_prelabels", False),
        gold_file=gold_file, gold_rate=gold_rate, annotators=tuple(annotators),
        backend=backend_name, backend_options={k: v for k, v in backend.items() if k != "name"},
        aggregate_method=method, aggregate_options={k: v for k, v in aggregate.items() if k != "method"},
        metrics=tuple(metrics), export_formats=tuple(formats), export_dir=export_dir,
        export_options={k: v for k, v in export.items() if k not in ("formats", "dir")},
        models=models, redundancy=redundancy,
        gating=gating,
        review=_review(c, raw, annotators) if "review" in raw else None,
        raw=raw,
    )


GATING_FIELDS = {"calibration", "min_accuracy", "window", "min_gold", "rolling_min_accuracy",
                 "drop_suspect_gold", "max_exposure"}


def parse_gating(c: _Checker, table: dict, gold_rate: float) -> GatingSpec:
    """The ``[gating]`` table; one line for the first bad value."""
    c.only(table, GATING_FIELDS, "gating.")

    def share(key: str, default):
        value = c.get(table, key, (int, float), f"gating.{key}", default)
        if value is not None and (isinstance(value, bool) or not 0 <= value <= 1):
            c.fail(f"gating.{key}", f"expected a share in [0, 1], got {value!r}")
        return None if value is None else float(value)

    def count(key: str, default: int, least: int) -> int:
        value = c.get(table, key, int, f"gating.{key}", default)
        if value < least:
            c.fail(f"gating.{key}", f"expected a whole number of honeypots >= {least}, got {value}")
        return value

    calibration = count("calibration", 0, 0)
    window = count("window", 10, 1)
    min_gold = count("min_gold", min(5, window), 1)
    if min_gold > window:
        c.fail("gating.min_gold", f"expected at most gating.window ({window}) honeypots, got {min_gold}")
    min_accuracy = share("min_accuracy", 0.7)
    rolling = share("rolling_min_accuracy", None)
    drop = c.get(table, "drop_suspect_gold", bool, "gating.drop_suspect_gold", False)
    exposure = share("max_exposure", 0.8)
    if (calibration or rolling is not None) and gold_rate <= 0:
        c.fail("gating", "judges annotators on honeypots: it needs gold.file and gold.rate > 0")
    return GatingSpec(calibration, min_accuracy, window, min_gold, rolling, drop, exposure)


def _models(c: _Checker, table: dict) -> ModelsSpec:
    """The ``[models]`` table: names checked here, files and plugin names by :mod:`.check`."""
    c.only(table, {"prelabels", "predictions", "plugins", "min_score"}, "models.")
    prelabels = c.get(table, "prelabels", bool, "models.prelabels", False)
    preds = c.get(table, "predictions", (list, dict), "models.predictions", [])
    named: list[tuple[str, str]] = []
    if isinstance(preds, dict):
        for key, path in preds.items():
            if not isinstance(path, str):
                c.fail(f"models.predictions.{key}", f"expected the path of a predictions file, got {path!r}")
            named.append((key, path))
    else:
        for i, path in enumerate(preds):
            if not isinstance(path, str):
                c.fail(f"models.predictions[{i}]", f"expected the path of a predictions file, got {path!r}")
            named.append((Path(path).stem, path))
    plugins = c.get(table, "plugins", list, "models.plugins", [])
    for i, name in enumerate(plugins):
        if not isinstance(name, str):
            c.fail(f"models.plugins[{i}]", f"expected a model name (`workbench plugins` lists them), got {name!r}")
    min_score = c.get(table, "min_score", (int, float), "models.min_score", None)
    if min_score is not None and (isinstance(min_score, bool) or not 0 <= min_score <= 1):
        c.fail("models.min_score", f"expected a score in [0, 1], got {min_score!r}")
    names = (["prelabel"] if prelabels else []) + [n for n, _ in named] + list(plugins)
    for n, path in named:
        if not NAME_RE.match(n):
            where = f"models.predictions.{n}" if isinstance(preds, dict) else "models.predictions"
            c.fail(where, f"source name {n!r} (from {path!r}): expected letters, digits, '-', '_' or '.'; "
                          "name the files in a table: predictions = { name = \"file.csv\" }")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        c.fail("models", f"model source {twice[0]!r} is named twice (each source needs its own name; "
                         "`prelabel` is the pre-labeler's): name the predictions files in a table, "
                         "predictions = { name = \"file.csv\" }")
    return ModelsSpec(prelabels, tuple(named), tuple(plugins),
                      None if min_score is None else float(min_score))


def _share(c: _Checker, table: dict, key: str, default: float | None) -> float | None:
    where = f"review.{key}"
    if key not in table:
        return default
    value = table[key]
    if value is False:
        return None  # `min_agreement = false`: not a reason for review
    if value is True:
        c.fail(where, "expected a number in [0, 1] (or false), got true")
    value = c.get(table, key, (int, float), where)
    if not 0 <= value <= 1:
        c.fail(where, f"expected a number in [0, 1] (or false), got {value!r}")
    return float(value)


def _someone(c: _Checker, entry: Any, where: str, extra: set[str], role: str, n: str,
             prefix: str = "") -> tuple[dict, str, str | None, str | None]:
    """One ``[[annotators]]`` or ``[review] reviewers`` entry: a persona name, ``{id, persona}`` (simulated)
    or ``{id, email}`` (a person). Returns the table, the id (``{prefix}{persona}-{n}`` or the email when
    not given), the persona and the email."""
    if isinstance(entry, str):
        entry = {"persona": entry}
    if not isinstance(entry, dict):
        c.fail(where, f"expected a table {{id, persona}} or {{id, email}} or a persona name, got {entry!r}")
    c.only(entry, {"id", "persona", "email"} | extra, where + ".")
    persona = c.get(entry, "persona", str, where + ".persona", None)
    email = c.get(entry, "email", str, where + ".email", None)
    if (persona is None) == (email is None):
        c.fail(where, f"expected either persona (a simulated {role}) or email (a person)")
    given = c.get(entry, "id", str, where + ".id", None)
    ident = given or (f"{prefix}{persona}-{n}" if persona else email)
    if not NAME_RE.match(ident) and not email:
        c.fail(where + ".id", f"expected letters, digits, '-', '_' or '.', got {ident!r}")
    return entry, ident, persona, email


def _review(c: _Checker, raw: dict, annotators: list[AnnotatorSpec]) -> ReviewSpec:
    """The ``[review]`` table, checked field by field (one line naming the first mistake)."""
    table = c.get(raw, "review", dict, "review")
    c.only(table, REVIEW_FIELDS, "review.")
    reviewers = []
    for i, r in enumerate(c.get(table, "reviewers", list, "review.reviewers", [])):
        _, rid, persona, email = _someone(c, r, f"review.reviewers[{i}]", set(), "reviewer", f"{i + 1}",
                                          prefix="reviewer-")
        reviewers.append(ReviewerSpec(rid, persona, email))
    if not reviewers:
        c.fail("review.reviewers", "expected at least one reviewer ({id, persona} or {id, email})")
    ids = [r.id for r in reviewers]
    twice = sorted({x for x in ids if ids.count(x) > 1})
    if twice:
        c.fail("review.reviewers", f"reviewer id {twice[0]!r} appears twice")
    clash = sorted(set(ids) & {a.id for a in annotators})
    if clash:
        c.fail("review.reviewers", f"{clash[0]!r} is also an annotator: a reviewer judges the annotators' votes, "
                                   "so give the reviewer another id")
    per_unit = c.get(table, "per_unit", int, "review.per_unit", 1)
    if not 1 <= per_unit <= len(reviewers):
        c.fail("review.per_unit", f"expected 1 to {len(reviewers)} (the reviewers named), got {per_unit}")
    max_units = c.get(table, "max_units", int, "review.max_units", None)
    if max_units is not None and max_units < 1:
        c.fail("review.max_units", f"expected at least 1, got {max_units}")
    return ReviewSpec(
        reviewers=tuple(reviewers), min_agreement=_share(c, table, "min_agreement", 0.5),
        min_confidence=_share(c, table, "min_confidence", None),
        ties=c.get(table, "ties", bool, "review.ties", True),
        gold_mismatch=c.get(table, "gold_mismatch", bool, "review.gold_mismatch", True),
        excluded=c.get(table, "excluded", bool, "review.excluded", True),
        per_unit=per_unit, max_units=max_units)

"""The data model every stage shares: documents, units, annotations and label schemas.

These small frozen dataclasses are the contract between the core, plugins and backends.
Aggregation and metrics work on the long table ``(unit, annotator, label)`` built by
:func:`long_table`, the convention crowd-kit users already know (``task, worker, label``).
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Union

from .errors import WorkbenchError

if TYPE_CHECKING:  # pragma: no cover - pandas is imported where a table is made (a CLI's --help needs none)
    import pandas as pd

Label = Union[str, tuple[str, ...], tuple["Span", ...]]  # single/ordinal, multi, spans (normalized)


class LabelKind(str, enum.Enum):
    SINGLE = "single"
    MULTI = "multi"
    SPANS = "spans"
    ORDINAL = "ordinal"


@dataclass(frozen=True, order=True)
class Span:
    """A labeled character span, offsets relative to the unit's text (end exclusive)."""

    start: int
    end: int
    label: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label}


class LabelError(ValueError):
    """A label that does not fit a schema."""


@dataclass(frozen=True)
class LabelSchema:
    """What a task type's labels look like.

    ``labels`` are the allowed values; for ordinal schemas their order is the scale order.
    """

    kind: LabelKind
    labels: tuple[str, ...]

    def __post_init__(self):
        if not self.labels:
            raise ValueError("a label schema needs at least one label")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"duplicate labels in schema: {self.labels}")

    @property
    def categorical(self) -> bool:
        return self.kind in (LabelKind.SINGLE, LabelKind.ORDINAL)

    def normalize(self, value: Any, text_length: int | None = None) -> Label:
        """Return the canonical, hashable form of ``value`` or raise :class:`LabelError`.

        single/ordinal -> str; multi -> sorted tuple of str; spans -> sorted tuple of :class:`Span`.
        Accepts the JSON forms too (lists and ``{start, end, label}`` dicts).
        """
        if self.categorical:
            if not isinstance(value, str):
                raise LabelError(f"expected one of {list(self.labels)}, got {value!r}")
            if value not in self.labels:
                raise LabelError(f"label {value!r} is not one of {list(self.labels)}")
            return value
        if self.kind is LabelKind.MULTI:
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise LabelError(f"expected a list of labels from {list(self.labels)}, got {value!r}")
            values = tuple(sorted(set(value)))
            bad = [v for v in values if v not in self.labels]
            if bad:
                raise LabelError(f"labels {bad} are not in {list(self.labels)}")
            return values
        # spans
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise LabelError(f"expected a list of spans, got {value!r}")
        spans = []
        for item in value:
            span = item if isinstance(item, Span) else _span_from(item)
            if span.label not in self.labels:
                raise LabelError(f"span label {span.label!r} is not one of {list(self.labels)}")
            if span.start < 0 or span.end <= span.start:
                raise LabelError(f"span offsets {span.start}..{span.end} are not a non-empty range")
            if text_length is not None and span.end > text_length:
                raise LabelError(f"span end {span.end} is past the unit's text ({text_length} chars)")
            spans.append(span)
        return tuple(sorted(set(spans)))


def schema_to_json(schema: LabelSchema) -> str:
    return json.dumps({"kind": schema.kind.value, "labels": list(schema.labels)})


def schema_from_json(text: str) -> LabelSchema:
    data = json.loads(text)
    return LabelSchema(LabelKind(data["kind"]), tuple(data["labels"]))


def _span_from(item: Any) -> Span:
    try:
        return Span(int(item["start"]), int(item["end"]), str(item["label"]))
    except (TypeError, KeyError, ValueError):
        raise LabelError(f"expected a span {{start, end, label}}, got {item!r}") from None


def label_to_json(label: Label) -> Any:
    """The JSON form of a normalized label (spans become dicts, tuples lists)."""
    if isinstance(label, tuple):
        return [x.to_dict() if isinstance(x, Span) else x for x in label]
    return label


def label_key(label: Label) -> str:
    """A stable string for a label, for storage and hashing."""
    return json.dumps(label_to_json(label), sort_keys=True, ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    source: str
    text: str
    sha256: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


def unit_id(task_type: str, document_sha256: str, start: int, end: int) -> str:
    """Stable unit id: the same task type, document content and span always give the same id."""
    digest = hashlib.sha256(f"{task_type}\0{document_sha256}\0{start}\0{end}".encode()).hexdigest()
    return f"{task_type}-{digest[:16]}"


@dataclass(frozen=True, slots=True)
class Unit:
    """One item to label: a slice ``text == document.text[start:end]`` of a document.

    Slotted (no ``__dict__`` per unit: a million units are read at once). The units the read model
    reads back from the store are :class:`StoredUnit` objects, the same fields with the text and context
    cut from the document when read."""

    id: str
    task_type: str
    document_id: str
    start: int
    end: int
    text: str
    context: str | None = None
    is_gold: bool = False
    gold_label: Label | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


#: how a unit's context joins its neighbouring sentences (``workbench/tasktype.py`` joins them, the
#: store's ``packing`` and :class:`StoredUnit` cut them back out of the document)
CONTEXT_JOIN = " … "
#: a unit's own slots for its text and context (:class:`StoredUnit` reads them through properties)
_TEXT_SLOT, _CONTEXT_SLOT = Unit.__dict__["text"], Unit.__dict__["context"]
_SET = object.__setattr__
#: the bits of each of a :class:`StoredUnit`'s context offsets in its packed ``_cut``
_BITS = 40
_MASK = (1 << _BITS) - 1


def _fields(u: Unit) -> tuple:
    return (u.id, u.task_type, u.document_id, u.start, u.end, u.text, u.context, u.is_gold, u.gold_label, u.metadata)


class StoredUnit(Unit):
    """A :class:`Unit` as the store keeps it: a text equal to ``document.text[start:end]`` and a context
    made of one or two pieces of the document (joined by ``" … "``) are cut from the document's text
    when read, not kept per unit (text and context were most of the read model's memory: a million
    units hold three times the corpus in them). Equal to, and hashed, printed and pickled as, the
    plain :class:`Unit` with the same fields; ``dataclasses.replace`` and ``copy`` give a plain
    :class:`Unit`. Its ``metadata`` is always empty (the store keeps none for units)."""

    __slots__ = ("_doc", "_cut")
    _doc: str  # None when neither text nor context is cut from it
    _cut: int | None

    def __new__(cls, *args, **kwargs):
        # what ``dataclasses.replace`` and copies call: a plain unit with the given fields
        return Unit(*args, **kwargs)

    @classmethod
    def _read(cls, uid: str, task_type: str, document_id: str, start: int, end: int, doc: str | None,
              text: str | None, context: str | None, cut: tuple | None, is_gold: bool,
              gold_label: Label | None) -> Unit:
        """``text`` None: ``doc[start:end]``; ``cut`` ``(c1, n1, c2, n2)`` (``c2, n2`` may be None): the
        context is ``doc`` from ``start + c1`` for ``n1`` characters, then the join and the second piece."""
        self = object.__new__(cls)
        _SET(self, "id", uid)
        _SET(self, "task_type", task_type)
        _SET(self, "document_id", document_id)
        _SET(self, "start", start)
        _SET(self, "end", end)
        _SET(self, "is_gold", is_gold)
        _SET(self, "gold_label", gold_label)
        _TEXT_SLOT.__set__(self, text)
        _CONTEXT_SLOT.__set__(self, context)
        _SET(self, "_doc", doc if text is None or cut is not None else None)
        packed = None
        if cut is not None:
            c1, n1, c2, n2 = cut
            packed = (start + c1) | (n1 << _BITS)
            if c2 is not None:
                packed |= ((start + c2 + 1) << (2 * _BITS)) | (n2 << (3 * _BITS))
        _SET(self, "_cut", packed)
        return self

    @property
    def text(self) -> str:
        text = _TEXT_SLOT.__get__(self)
        return self._doc[self.start:self.end] if text is None else text

    @property
    def context(self) -> str | None:
        packed = self._cut
        if packed is None:
            return _CONTEXT_SLOT.__get__(self)
        doc, at = self._doc, packed & _MASK
        context = doc[at:at + ((packed >> _BITS) & _MASK)]
        second = (packed >> (2 * _BITS)) & _MASK
        if second:
            at = second - 1
            context = context + CONTEXT_JOIN + doc[at:at + (packed >> (3 * _BITS))]
        return context

    @property
    def metadata(self) -> Mapping[str, Any]:
        return {}

    def __reduce__(self):
        return (Unit, (self.id, self.task_type, self.document_id, self.start, self.end, self.text, self.context,
                       self.is_gold, self.gold_label, {}))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Unit and other.__class__ is not StoredUnit:
            return NotImplemented
        return _fields(self) == _fields(other)

    __hash__ = Unit.__hash__



@dataclass(frozen=True, slots=True)
class PreLabel:
    """A plugin's guess for a unit, sent to Label Studio as a prediction."""

    label: Label
    score: float


class AnnotationStatus(str, enum.Enum):
    OK = "ok"
    SKIPPED = "skipped"  # the annotator skipped the task: no label
    EXTRA = "extra"  # beyond the campaign's overlap: kept, flagged, never aggregated
    INVALID = "invalid"  # failed validation: quarantined with a reason, never aggregated
    NOT_IN_POOL = "not_in_pool"  # by someone the campaign's pool does not name: kept, not counted until accepted
    EXCLUDED = "excluded"  # by an annotator gating excluded (workbench.gating): kept, not counted unless included


@dataclass(frozen=True, slots=True)
class Annotation:
    unit_id: str
    annotator_id: str
    label: Label | None
    lead_time: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    backend: str = "local"
    backend_ids: Mapping[str, Any] = field(default_factory=dict)
    status: AnnotationStatus = AnnotationStatus.OK
    reason: str | None = None
    round: int | None = None  # the round whose assignment it answers (None: not planned for this annotator)


def long_table(annotations: Iterable[Annotation]) -> pd.DataFrame:
    """The ``(unit, annotator, label)`` table of the annotations that count (status ok)."""
    rows = [
        (a.unit_id, a.annotator_id, a.label)
        for a in annotations
        if a.status is AnnotationStatus.OK and a.label is not None
    ]
    import pandas as pd

    return pd.DataFrame(rows, columns=["unit", "annotator", "label"])


CROWDKIT_COLUMNS = {"task": "unit", "worker": "annotator"}
LONG_COLUMNS = ("unit", "annotator", "label")


class LabelTableError(WorkbenchError, ValueError):
    """A label table without the columns of the long format."""


def with_long_columns(df: pd.DataFrame, where: str = "label table") -> pd.DataFrame:
    """``df`` with workbench's column names (crowd-kit's ``task, worker`` renamed where workbench's
    are absent); other columns are kept. Raises :class:`LabelTableError` naming what is missing."""
    renames = {old: new for old, new in CROWDKIT_COLUMNS.items() if new not in df.columns and old in df.columns}
    if renames:
        df = df.rename(columns=renames)
    missing = [c for c in LONG_COLUMNS if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise LabelTableError(
            f"{where}: missing column(s) {', '.join(missing)}: expected unit, annotator, label "
            f"(or crowd-kit's task, worker, label); found {found}")
    return df


def as_long_table(df: pd.DataFrame) -> pd.DataFrame:
    """Accept a workbench ``(unit, annotator, label)`` or crowd-kit ``(task, worker, label)`` table."""
    return with_long_columns(df)[list(LONG_COLUMNS)]

"""The base class a task type plugin subclasses.

A task type says what is labeled (its :class:`~workbench.models.LabelSchema`), how a document is
cut into units, what Label Studio shows (the label config) and how Label Studio results map to
normalized labels. Sensible defaults cover choice tasks over sentences and span tasks; a plugin
usually sets ``name``, ``schema`` and maybe ``prelabel``. A task type that needs something from the
campaign (the subject of a stance, a list of topics) declares ``options``; a campaign gives them in
its ``[task]`` table and gets its own configured copy (:meth:`TaskType.configure`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping
from xml.sax.saxutils import quoteattr

from .models import (
    CONTEXT_JOIN,
    Document,
    Label,
    LabelError,
    LabelKind,
    LabelSchema,
    PreLabel,
    Span,
    Unit,
    unit_id,
)
from .segment import sentences

REQUIRED: Any = object()  # a TaskOption default meaning "the campaign must give it"

_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list"}


class TaskOptionError(ValueError):
    """A ``[task]`` value that does not fit the task type's options (the message names the option)."""


@dataclass(frozen=True)
class TaskOption:
    """One option a task type takes from a campaign's ``[task]`` table.

    ``type`` is ``str``, ``int``, ``float``, ``bool`` or ``list`` (of strings); ``default`` is used
    when the campaign does not give it (``REQUIRED``: it must); ``choices`` limits the values.
    """

    type: type = str
    default: Any = REQUIRED
    description: str = ""
    choices: tuple | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, name: str, value: Any) -> Any:
        """``value`` as this option's type, or :class:`TaskOptionError` naming ``name``."""
        ok = isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if self.type is float and ok and not math.isfinite(value):
            ok = False
        if self.type is list:
            ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
        if not ok:
            what = _TYPE_NAMES.get(self.type, self.type.__name__) + (" of strings" if self.type is list else "")
            raise TaskOptionError(f"{name}: expected {what}, got {value!r}")
        if self.choices is not None:
            bad = [x for x in (value if self.type is list else [value]) if x not in self.choices]
            if bad:
                raise TaskOptionError(f"{name}: {bad[0]!r} is not one of {list(self.choices)}")
        return value


class TaskType:
    #: unique name, used in campaign specs (``task_type = "..."``)
    name: str = ""
    #: one line for ``workbench plugins``
    description: str = ""
    schema: LabelSchema
    #: Label Studio tag names: the control tag (``from_name``) and the object tag (``to_name``)
    from_name: str = "label"
    to_name: str = "text"
    #: the question shown to annotators above the text
    instructions: str = ""
    #: what a campaign may (or must) give in its ``[task]`` table: ``{name: TaskOption}``
    options: ClassVar[Mapping[str, TaskOption]] = {}
    #: the campaign's ``[task]`` values, defaults filled in (empty until :meth:`configure`)
    settings: Mapping[str, Any] = MappingProxyType({})

    # ----- options -------------------------------------------------------------------------
    def configure(self, values: Mapping[str, Any]) -> "TaskType":
        """A copy of this task type set up with a campaign's ``[task]`` values (checked against
        :attr:`options`; :class:`TaskOptionError` names the first bad one). A subclass that derives
        its schema or instructions from its options overrides :meth:`configured`."""
        unknown = sorted(set(values) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise TaskOptionError(f"{unknown[0]}: unknown option of task type {self.name!r} (known: {known})")
        checked = {}
        for name, option in self.options.items():
            if name in values:
                checked[name] = option.check(name, values[name])
            elif option.required:
                raise TaskOptionError(f"{name}: task type {self.name!r} needs it ({option.description or 'required'})")
            else:
                checked[name] = option.default
        clone = copy.copy(self)
        clone.settings = MappingProxyType(checked)
        clone.configured()
        return clone

    def configured(self) -> None:
        """Called on the campaign's copy once :attr:`settings` are set (say, to build the schema)."""

    def option(self, name: str) -> Any:
        """The campaign's value of option ``name`` (or its default)."""
        if name not in self.options:
            raise KeyError(f"task type {self.name!r} has no option {name!r}")
        return self.settings.get(name, self.options[name].default)

    # ----- units -------------------------------------------------------------------------
    def units(self, document: Document) -> list[Unit]:
        """One unit per sentence, with the neighbouring sentences as context."""
        sents = sentences(document.text)
        out = []
        for i, s in enumerate(sents):
            neighbours = [
                n.text for n in (sents[i - 1] if i else None, sents[i + 1] if i + 1 < len(sents) else None)
                if n is not None and n.paragraph == s.paragraph
            ]
            out.append(
                Unit(
                    id=unit_id(self.name, document.sha256, s.start, s.end),
                    task_type=self.name,
                    document_id=document.id,
                    start=s.start,
                    end=s.end,
                    text=s.text,
                    context=CONTEXT_JOIN.join(neighbours) or None,
                )
            )
        return out

    # ----- Label Studio --------------------------------------------------------------------
    def label_config(self) -> str:
        """The Label Studio XML config; label values are escaped."""
        header = f'  <Header value={quoteattr(self.instructions)}/>\n' if self.instructions else ""
        context = '  <Text name="context" value="$context"/>\n'
        if self.schema.kind is LabelKind.SPANS:
            labels = "".join(f"    <Label value={quoteattr(v)}/>\n" for v in self.schema.labels)
            return (
                "<View>\n" + header
                + f'  <Labels name={quoteattr(self.from_name)} toName={quoteattr(self.to_name)}>\n'
                + labels + "  </Labels>\n"
                + f'  <Text name={quoteattr(self.to_name)} value="$text"/>\n'
                + "</View>\n"
            )
        multi = self.schema.kind is LabelKind.MULTI
        choice = "multiple" if multi else "single-radio"
        # a label set may be empty (no topic applies): only a single choice must be made
        required = "" if multi else ' required="true"'
        choices = "".join(f"    <Choice value={quoteattr(v)}/>\n" for v in self.schema.labels)
        return (
            "<View>\n" + header
            + f'  <Text name={quoteattr(self.to_name)} value="$text"/>\n'
            + f'  <Choices name={quoteattr(self.from_name)} toName={quoteattr(self.to_name)} '
            + f'choice="{choice}"{required}>\n'
            + choices + "  </Choices>\n"
            + '  <View style="color: #666; font-size: 0.85em">\n  ' + context + "  </View>\n"
            + "</View>\n"
        )

    def task_data(self, unit: Unit) -> dict[str, Any]:
        """The ``data`` of a Label Studio task (gold status is never included)."""
        return {"text": unit.text, "context": unit.context or "", "unit_id": unit.id}

    def to_ls_result(self, label: Label, unit: Unit) -> list[dict]:
        """A normalized label as a Label Studio ``result`` list."""
        base = {"from_name": self.from_name, "to_name": self.to_name, "origin": "manual"}
        if self.schema.kind is LabelKind.SPANS:
            spans = [s for s in label if isinstance(s, Span)]
            return [
                {
                    **base,
                    "id": f"s{i}",
                    "type": "labels",
                    "value": {"start": s.start, "end": s.end, "text": unit.text[s.start:s.end], "labels": [s.label]},
                }
                for i, s in enumerate(spans)
            ]
        choices = list(label) if self.schema.kind is LabelKind.MULTI else [label]
        return [{**base, "id": "c0", "type": "choices", "value": {"choices": choices}}]

    def from_ls_result(self, result: list[dict], unit: Unit) -> Label:
        """A Label Studio ``result`` list as a normalized label; raises LabelError if it does not fit."""
        mine = [r for r in result or [] if r.get("from_name") == self.from_name]
        if self.schema.kind is LabelKind.SPANS:
            spans = []
            for r in mine:
                v = r.get("value") or {}
                for lab in v.get("labels") or []:
                    spans.append(Span(int(v["start"]), int(v["end"]), lab))
            return self.schema.normalize(spans, text_length=len(unit.text))
        choices = [c for r in mine for c in (r.get("value") or {}).get("choices") or []]
        if self.schema.kind is LabelKind.MULTI:
            return self.schema.normalize(choices)
        if len(choices) != 1:
            raise LabelError(f"expected exactly one choice for {self.from_name!r}, got {choices}")
        return self.schema.normalize(choices[0])

    def unit_free_results(self) -> bool:
        """Whether :meth:`from_ls_result` reads nothing of its unit, so that equal results give equal
        labels (or equal errors) on any unit: a pull then converts each distinct result once. True for
        this class's own conversion of choice tasks; a span task reads the unit's text, and a subclass
        that overrides :meth:`from_ls_result` gets False unless it overrides this too."""
        return type(self).from_ls_result is TaskType.from_ls_result and self.schema.kind is not LabelKind.SPANS

    # ----- pre-labels ----------------------------------------------------------------------
    def prelabel(self, unit: Unit) -> PreLabel | None:
        """An automatic guess for ``unit`` (label and score 0..1), or None."""
        return None

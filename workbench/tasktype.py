"""The base class a task type plugin subclasses.

A task type says what is labeled (its :class:`~workbench.models.LabelSchema`), how a document is
cut into units, what Label Studio shows (the label config) and how Label Studio results map to
normalized labels. Sensible defaults cover choice tasks over sentences and span tasks; a plugin
usually sets ``name``, ``schema`` and maybe ``prelabel``.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from .models import (
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
                    context=" … ".join(neighbours) or None,
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
        choice = "multiple" if self.schema.kind is LabelKind.MULTI else "single-radio"
        choices = "".join(f"    <Choice value={quoteattr(v)}/>\n" for v in self.schema.labels)
        return (
            "<View>\n" + header
            + f'  <Text name={quoteattr(self.to_name)} value="$text"/>\n'
            + f'  <Choices name={quoteattr(self.from_name)} toName={quoteattr(self.to_name)} '
            + f'choice="{choice}" required="true">\n'
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
            return [
                {
                    **base,
                    "id": f"s{i}",
                    "type": "labels",
                    "value": {"start": s.start, "end": s.end, "text": unit.text[s.start:s.end], "labels": [s.label]},
                }
                for i, s in enumerate(label)
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

    # ----- pre-labels ----------------------------------------------------------------------
    def prelabel(self, unit: Unit) -> PreLabel | None:
        """An automatic guess for ``unit`` (label and score 0..1), or None."""
        return None

"""A new task type, from outside the core: the topics a sentence touches (several may apply)."""

import re

from workbench import hookimpl
from workbench.models import LabelKind, LabelSchema, PreLabel
from workbench.tasktype import TaskType

CUES = {
    "money": r"\$|billion|million|invest|revenue|valuation|stake",
    "people": r"\b(?:CEO|founder|Wang|Zuckerberg|team|talent|workforce)\b",
    "technology": r"\bAI\b|model|data|infrastructure|compute|algorithm",
}


class Topics(TaskType):
    name = "topics"
    description = "which topics a sentence touches: money, people, technology (any number)"
    schema = LabelSchema(LabelKind.MULTI, tuple(CUES))
    from_name = "topics"
    instructions = "Which topics does this sentence touch? Pick all that apply."

    def prelabel(self, unit):
        found = tuple(t for t, rx in CUES.items() if re.search(rx, unit.text, re.I))
        return PreLabel(found, 0.6)


@hookimpl
def register_task_types(register):
    register(Topics())

"""Two task types from outside the core: the topics a sentence touches (several may apply), and its
stance toward a subject the campaign names in its [task] table."""

import re

from workbench.api import LabelKind, LabelSchema, PreLabel, TaskOption, TaskType, Unit, hookimpl

CUES = {
    "money": r"\$|billion|million|invest|revenue|valuation|stake",
    "people": r"\b(?:CEO|founder|Wang|Zuckerberg|team|talent|workforce)\b",
    "technology": r"\bAI\b|model|data|infrastructure|compute|algorithm",
}
FAVOR = r"\b(?:boost|strengthen|lead|leading|innovat\w*|growth|success\w*|groundbreaking|benefit\w*)\b"
AGAINST = r"\b(?:concern\w*|risk\w*|criticis\w*|lawsuit|decline\w*|loss\w*|scrutiny|fail\w*)\b"


class Topics(TaskType):
    name = "topics"
    description = "which topics a sentence touches: money, people, technology (any number)"
    schema = LabelSchema(LabelKind.MULTI, tuple(CUES))
    from_name = "topics"
    instructions = "Which topics does this sentence touch? Pick all that apply."

    def prelabel(self, unit: Unit) -> PreLabel:
        found = tuple(t for t, rx in CUES.items() if re.search(rx, unit.text, re.I))
        return PreLabel(found, 0.6)


class Stance(TaskType):
    name = "stance"
    description = "stance of each sentence naming a subject toward it: favor / against / neutral"
    schema = LabelSchema(LabelKind.SINGLE, ("favor", "against", "neutral"))
    from_name = "stance"
    options = {
        "subject": TaskOption(str, description="what the stance is about, e.g. 'Scale AI'"),
        "aliases": TaskOption(list, default=[], description="other names of the subject"),
    }

    def configured(self) -> None:
        self.instructions = f"What stance does this sentence take toward {self.option('subject')}?"

    def units(self, document):
        names = [self.option("subject"), *self.option("aliases")]
        return [u for u in super().units(document) if any(n.lower() in u.text.lower() for n in names)]

    def prelabel(self, unit: Unit) -> PreLabel:
        favor, against = len(re.findall(FAVOR, unit.text, re.I)), len(re.findall(AGAINST, unit.text, re.I))
        if favor == against:
            return PreLabel("neutral", 0.5)
        return PreLabel("favor" if favor > against else "against", 0.6)


@hookimpl
def register_task_types(register):
    register(Topics())
    register(Stance())

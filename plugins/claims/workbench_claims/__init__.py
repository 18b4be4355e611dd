"""Check-worthiness of sentences, in the ClaimBuster scheme (Hassan et al., 2017):

- ``check-worthy``: a check-worthy factual claim (CFS), a fact the public would want verified;
- ``unimportant``: an unimportant factual sentence (UFS), true or false but not worth checking;
- ``non-factual``: a non-factual sentence (NFS): opinion, prediction, question, heading.

The pre-labeler reads surface cues: figures, money and percentages make a sentence checkable;
attributions ("said", "according to") mark reported facts; hedges ("reportedly", "could"),
predictions and questions mark non-facts; short lines without a verb are headings.
"""

from __future__ import annotations

import re

from workbench.api import LabelKind, LabelSchema, PreLabel, TaskType, Unit, hookimpl

__version__ = "0.1.0"

FIGURE = re.compile(r"\d")
MONEY = re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s?(?:billion|million|trillion|bn)\b", re.I)
PERCENT = re.compile(r"\d\s?%|\bper ?cent\b", re.I)
ATTRIBUTION = re.compile(r"\b(?:said|says|according to|reported|announced|confirmed|stated|told)\b", re.I)
HEDGE = re.compile(r"\b(?:reportedly|allegedly|may|might|could|would|likely|perhaps|possibly|rumou?red|"
                   r"expected to|aims? to|will|should|believe[sd]?|suggests?)\b", re.I)
OPINION = re.compile(r"\b(?:bold|groundbreaking|monumental|crucial|pivotal|game-changer|remarkable|"
                     r"clearly|undoubtedly|arguably|essential|significant)\b", re.I)
VERBISH = re.compile(r"\b(?:is|are|was|were|has|have|had|be|been|\w+ed|\w+s)\b")
#: the case-insensitive cues as case-sensitive patterns, for lowered ASCII text: the same matches
#: (in ASCII, ignoring case is lowering), found without case folding at every position (faster)
_LOWER = {p: re.compile(p.pattern) if p.pattern == p.pattern.lower() else p
          for p in (MONEY, PERCENT, ATTRIBUTION, HEDGE, OPINION)}
_CUES = (MONEY, PERCENT, ATTRIBUTION, HEDGE, OPINION)
_CUES_LOWER = tuple(_LOWER[p] for p in _CUES)
#: OPINION's words without its \b (a search led by a \b tries every position; this one skips to the
#: words' first letters): a text without any has no OPINION match
_OPINION_WORDS = re.compile(OPINION.pattern.replace(r"\b", ""))


class Claims(TaskType):
    name = "claims"
    description = "check-worthiness of each sentence: check-worthy / unimportant / non-factual (ClaimBuster)"
    schema = LabelSchema(LabelKind.SINGLE, ("check-worthy", "unimportant", "non-factual"))
    from_name = "claim"
    instructions = "Is this sentence a factual claim worth checking?"

    def prelabel(self, unit: Unit) -> PreLabel:
        text = unit.text
        end = text.rstrip()
        if end.endswith("?"):
            return PreLabel("non-factual", 0.9)
        figure = FIGURE.search(text) is not None
        if not figure and not end.endswith((".", "!")) and len(text.split()) <= 12:
            return PreLabel("non-factual", 0.8)  # a heading
        if text.isascii():
            seen = text.lower()
            money, percent, attribution, hedge, opinion = _CUES_LOWER
            # in the lowered ASCII text, a MONEY match holds "$", or a digit (\d, as FIGURE's) and
            # "illion" or "bn"; a PERCENT match "%" or "cent"; an OPINION match one of its words:
            # no scan without them
            hard = ((figure and ("$" in seen or "illion" in seen or "bn" in seen) and money.search(seen) is not None)
                    + (("%" in seen or "cent" in seen) and percent.search(seen) is not None) + figure)
            attributed = bool(attribution.search(seen))
            hedges = len(hedge.findall(seen))
            if _OPINION_WORDS.search(seen) is not None:
                hedges += len(opinion.findall(seen))
        else:
            seen = text
            money, percent, attribution, hedge, opinion = _CUES
            # money needs a digit (\d, as FIGURE's)
            hard = ((figure and money.search(seen) is not None) + (percent.search(seen) is not None) + figure)
            attributed = bool(attribution.search(seen))
            hedges = len(hedge.findall(seen)) + len(opinion.findall(seen))
        if hard and hedges <= 1:
            return PreLabel("check-worthy", round(min(0.95, 0.6 + 0.1 * hard + 0.05 * attributed), 2))
        if hedges >= 2 or (hedges and not hard and not attributed):
            return PreLabel("non-factual", round(min(0.9, 0.5 + 0.1 * hedges), 2))
        if attributed or hard:
            return PreLabel("check-worthy" if hard else "unimportant", 0.55)
        if VERBISH.search(text):
            return PreLabel("unimportant", 0.5)
        return PreLabel("non-factual", 0.5)


@hookimpl
def register_task_types(register):
    register(Claims())

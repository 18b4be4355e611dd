"""Sentence sentiment: negative / neutral / positive, an ordinal scale.

Pre-labels come from VADER (vaderSentiment, which ships its own validated lexicon): the compound
score's usual thresholds (+-0.05) pick the label, and its distance from them is the score.
"""

from __future__ import annotations

from functools import lru_cache

from workbench.api import LabelKind, LabelSchema, PreLabel, TaskType, Unit, hookimpl

__version__ = "0.1.0"

THRESHOLD = 0.05


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


class Sentiment(TaskType):
    name = "sentiment"
    description = "sentiment of each sentence: negative / neutral / positive (ordinal)"
    schema = LabelSchema(LabelKind.ORDINAL, ("negative", "neutral", "positive"))
    from_name = "sentiment"
    instructions = "What is the sentiment of this sentence?"

    def prelabel(self, unit: Unit) -> PreLabel:
        compound = _analyzer().polarity_scores(unit.text)["compound"]
        if compound >= THRESHOLD:
            return PreLabel("positive", round(min(1.0, 0.5 + compound / 2), 4))
        if compound <= -THRESHOLD:
            return PreLabel("negative", round(min(1.0, 0.5 - compound / 2), 4))
        return PreLabel("neutral", round(1 - abs(compound) / THRESHOLD * 0.5, 4))


@hookimpl
def register_task_types(register):
    register(Sentiment())

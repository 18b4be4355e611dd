"""The three built-in task types: Label Studio configs, result round trips, pre-labelers."""

from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from workbench.documents import load_documents
from workbench.models import Document, LabelKind, LabelSchema, Unit, sha256_text
from workbench.registry import get_registry
from workbench.steps.plan import cut_units, load_gold
from workbench.tasktype import TaskType

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("text", "claims", "sentiment")


def tt(name):
    return get_registry().get("task_types", name)


def doc(text, id="d1"):
    return Document(id, "t", "s", text, sha256_text(text))


@pytest.mark.parametrize("name", TASKS)
def test_label_config_is_valid_label_studio(name):
    li = LabelInterface(tt(name).label_config())
    assert [c.name for c in li.controls] == [tt(name).from_name]
    assert set(list(li.controls)[0].labels) == set(tt(name).schema.labels)


@pytest.mark.parametrize("name", TASKS)
def test_every_gold_label_round_trips_through_label_studio_results(name):
    task = tt(name)
    units = cut_units(task, load_documents("tasks/articles/*.txt", ROOT))
    gold = load_gold(ROOT / "tasks" / "gold" / f"{name}.jsonl", task, units)
    li = LabelInterface(task.label_config())
    by_id = {u.id: u for u in units}
    assert len(gold) >= (40 if name == "text" else len(units))
    for uid, label in gold.items():
        result = task.to_ls_result(label, by_id[uid])
        if result:
            assert li.validate_annotation({"result": result}), (uid, result)
        assert task.from_ls_result(result, by_id[uid]) == label


def test_label_values_are_escaped_in_the_config():
    class Odd(TaskType):
        name = "odd"
        schema = LabelSchema(LabelKind.SINGLE, ('a "quoted" <tag> & co', "plain"))

    li = LabelInterface(Odd().label_config())
    assert set(list(li.controls)[0].labels) == {'a "quoted" <tag> & co', "plain"}


def test_results_for_other_controls_and_bad_values_are_rejected():
    from workbench.models import LabelError

    task = tt("claims")
    unit = task.units(doc("Meta paid $14.3 billion for 49% of Scale AI."))[0]
    with pytest.raises(LabelError):
        task.from_ls_result([{"from_name": "claim", "value": {"choices": ["maybe"]}}], unit)
    with pytest.raises(LabelError, match="exactly one"):
        task.from_ls_result([{"from_name": "other", "value": {"choices": ["check-worthy"]}}], unit)
    spans = tt("text")
    unit = spans.units(doc("Meta paid $14.3 billion."))[0]
    with pytest.raises(LabelError, match="past the unit"):
        spans.from_ls_result([{"from_name": "entities", "value": {"start": 0, "end": 99, "labels": ["ORG"]}}], unit)


def test_units_are_sentences_with_context_and_stable_ids():
    text = "Meta invested. Scale AI grew fast.\nA heading\nLast one here."
    units = tt("sentiment").units(doc(text))
    assert [u.text for u in units] == ["Meta invested.", "Scale AI grew fast.", "A heading", "Last one here."]
    assert units[0].context == "Scale AI grew fast." and units[2].context is None
    assert [u.id for u in units] == [u.id for u in tt("sentiment").units(doc(text))]
    assert units[0].id != tt("claims").units(doc(text))[0].id


def test_sentiment_prelabels_with_vader():
    task = tt("sentiment")
    pos, neg, neu = task.units(doc("This is a wonderful, brilliant success. It was a terrible, painful failure. "
                                   "The meeting is on Tuesday."))
    assert task.prelabel(pos).label == "positive"
    assert task.prelabel(neg).label == "negative"
    assert task.prelabel(neu).label == "neutral"
    assert all(0 <= task.prelabel(u).score <= 1 for u in (pos, neg, neu))


def test_claims_prelabels_from_cues():
    task = tt("claims")
    units = task.units(doc("Meta paid $14.3 billion for a 49% stake, according to Reuters.\n"
                           "Why Does It Matter?\nThis bold move could reshape the industry."))
    assert [task.prelabel(u).label for u in units] == ["check-worthy", "non-factual", "non-factual"]


def _claims_as_first_written(text):
    """The claims pre-labeler as it was first written: every case-insensitive cue on the text as is."""
    import workbench_claims as c

    words = text.split()
    if text.rstrip().endswith("?"):
        return ("non-factual", 0.9)
    if len(words) <= 12 and not text.rstrip().endswith((".", "!")) and not c.FIGURE.search(text):
        return ("non-factual", 0.8)
    hard = bool(c.MONEY.search(text)) + bool(c.PERCENT.search(text)) + bool(c.FIGURE.search(text))
    attributed = bool(c.ATTRIBUTION.search(text))
    hedges = len(c.HEDGE.findall(text)) + len(c.OPINION.findall(text))
    if hard and hedges <= 1:
        return ("check-worthy", round(min(0.95, 0.6 + 0.1 * hard + 0.05 * attributed), 2))
    if hedges >= 2 or (hedges and not hard and not attributed):
        return ("non-factual", round(min(0.9, 0.5 + 0.1 * hedges), 2))
    if attributed or hard:
        return ("check-worthy" if hard else "unimportant", 0.55)
    if c.VERBISH.search(text):
        return ("unimportant", 0.5)
    return ("non-factual", 0.5)


def test_claims_prelabels_are_the_first_written_ones():
    """The claims pre-labeler's shortcuts (lowered ASCII, scans skipped without "$", "illion", "bn", "%",
    "cent" or an opinion word, the heading's words counted last) against the pre-labeler as first
    written, on random sentences of its cues in any case, glued to letters, with and without figures,
    currency signs and text beyond ASCII."""
    import random

    task = tt("claims")
    r = random.Random(15)
    pieces = ["said", "says", "according to", "reported", "told", "may", "could", "will", "likely", "rumoured",
              "expected to", "aims to", "aim to", "believes", "suggest", "bold", "crucial", "game-changer",
              "significant", "clearly", "billion", "million", "bn", "trillion", "per cent", "percent", "cent", "%",
              "$", "€", "£", "¥", "3", "14.3", "1,200", "49", " ", " ", " ", "the", "officials", "was", "walked",
              "prices", "x", "-", ".", "!", "?", "\u212a", "\u0130", "\u00e9", "\u00a0", "MAY", "Said", "Bold", "BN"]
    texts = []
    for _ in range(20_000):
        words = [r.choice(pieces) for _ in range(r.randint(1, 25))]
        texts.append("".join(w + r.choice([" ", " ", "", "\t"]) for w in words).strip() + r.choice(["", ".", "!", "?", " "]))
    texts += ["Meta paid $14.3 billion for a 49% stake, according to Reuters.", "Why Does It Matter?",
              "This bold move could reshape the industry.", "Prices rose 5 per cent.", "Sales: 3bn."]
    seen = set()
    for text in texts:
        got = task.prelabel(Unit("u", "claims", "d1", 0, len(text), text))
        assert (got.label, got.score) == _claims_as_first_written(text), text
        seen.add(got.label)
    assert seen == {"check-worthy", "unimportant", "non-factual"}


def test_text_prelabels_pattern_entities():
    task = tt("text")
    unit = task.units(doc("Meta Platforms paid $14.3 billion for 49% of Scale AI in June 2025 in San Francisco."))[0]
    got = {(unit.text[s.start:s.end], s.label) for s in task.prelabel(unit).label}
    assert {("$14.3 billion", "MONEY"), ("49%", "PERCENT"), ("June 2025", "DATE"), ("San Francisco", "GPE"),
            ("Meta Platforms", "ORG"), ("Scale AI", "ORG")} <= got


def test_text_prelabels_agree_with_gold_somewhat():
    """The pre-labeler is a start for annotators: it must find a fair share of the gold entities."""
    task = tt("text")
    units = cut_units(task, load_documents("tasks/articles/*.txt", ROOT))
    gold = load_gold(ROOT / "tasks" / "gold" / "text.jsonl", task, units)
    by_id = {u.id: u for u in units}
    tp = fn = 0
    for uid, spans in gold.items():
        pred = set(task.prelabel(by_id[uid]).label)
        tp += len(set(spans) & pred)
        fn += len(set(spans) - pred)
    assert tp / (tp + fn) > 0.5

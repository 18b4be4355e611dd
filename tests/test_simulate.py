"""Simulated personas: accuracy around the reference, seeded, order-independent."""

from collections import Counter

import pytest

from workbench.models import LabelKind, LabelSchema, Span, Unit
from workbench.registry import get_registry
from workbench.simulate import SimulatedAnnotator

ORD = LabelSchema(LabelKind.ORDINAL, ("neg", "neu", "pos"))
SPANS = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON"))
MULTI = LabelSchema(LabelKind.MULTI, ("a", "b", "c"))


def units(n, text="Meta and Scale AI met Alexandr Wang today."):
    return [Unit(f"u{i}", "t", "d", 0, len(text), text) for i in range(n)]


def persona(name):
    return get_registry().get("annotators", name)


@pytest.mark.parametrize("name,accuracy", [("expert", 0.95), ("careful", 0.85), ("hasty", 0.65)])
def test_accuracy_is_as_documented(name, accuracy):
    ann = SimulatedAnnotator("x", persona(name))
    got = [ann.label(u, "neu", ORD, seed=1)[0] for u in units(3000)]
    assert got.count("neu") / len(got) == pytest.approx(accuracy, abs=0.03)


def test_ordinal_mistakes_favour_neighbours():
    ann = SimulatedAnnotator("x", persona("hasty"))
    got = Counter(ann.label(u, "neg", ORD, seed=1)[0] for u in units(3000))
    assert got["neu"] > 2 * got["pos"]


def test_spammer_is_constant_and_biased_leans():
    spam = SimulatedAnnotator("s", persona("spammer"))
    assert len({spam.label(u, "neu", ORD, seed=1)[0] for u in units(200)}) == 1
    lean = SimulatedAnnotator("s", persona("spammer"), lean="pos")
    assert {lean.label(u, "neg", ORD, seed=1)[0] for u in units(50)} == {"pos"}
    biased = SimulatedAnnotator("b", persona("biased"), lean="pos")
    got = Counter(biased.label(u, "neg", ORD, seed=1)[0] for u in units(3000))
    assert got["pos"] / 3000 == pytest.approx(0.4 + 0.6 * 0.15 * 0.2, abs=0.04)  # lean + share of mistakes


def test_random_is_uniform():
    ann = SimulatedAnnotator("r", persona("random"))
    got = Counter(ann.label(u, "neu", ORD, seed=1)[0] for u in units(3000))
    assert all(v / 3000 == pytest.approx(1 / 3, abs=0.04) for v in got.values())


def test_answers_are_seeded_and_order_independent():
    ann = SimulatedAnnotator("x", persona("hasty"))
    us = units(100)
    forward = [ann.label(u, "neu", ORD, seed=7) for u in us]
    backward = [ann.label(u, "neu", ORD, seed=7) for u in reversed(us)][::-1]
    assert forward == backward
    assert forward != [ann.label(u, "neu", ORD, seed=8) for u in us]
    other = SimulatedAnnotator("y", persona("hasty"))
    assert forward != [other.label(u, "neu", ORD, seed=7) for u in us]


def test_span_answers_are_valid_and_mostly_right():
    ref = (Span(0, 4, "ORG"), Span(9, 17, "ORG"), Span(22, 35, "PERSON"))
    ann = SimulatedAnnotator("x", persona("careful"))
    got = [ann.label(u, ref, SPANS, seed=3)[0] for u in units(1000)]
    exact = sum(g == ref for g in got) / len(got)
    assert 0.4 < exact < 0.9  # 0.85 per span, three spans, plus spurious extras
    kept = sum(len(set(g) & set(ref)) for g in got) / (3 * len(got))
    assert kept == pytest.approx(0.85, abs=0.03)
    for g in got:
        SPANS.normalize(g, text_length=len(units(1)[0].text))


def test_multi_answers():
    ann = SimulatedAnnotator("x", persona("expert"))
    got = [ann.label(u, ("a", "c"), MULTI, seed=3)[0] for u in units(1000)]
    assert sum(g == ("a", "c") for g in got) / 1000 > 0.85

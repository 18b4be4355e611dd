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


SINGLE = LabelSchema(LabelKind.SINGLE, ("claim", "no_claim", "unsure"))


@pytest.mark.parametrize("schema", [SINGLE, ORD, MULTI, SPANS], ids=lambda s: s.kind.value)
@pytest.mark.parametrize("lean", [None, "first"])
def test_label_all_gives_what_label_gives(schema, lean):
    """The fast path of a whole queue: the same labels and lead times as :meth:`label` one unit at a
    time, for every persona, reference (none, each label) and text length."""
    texts = ["Meta and Scale AI met Alexandr Wang today.", "x", "", "A much longer sentence, " * 12]
    if schema.kind is LabelKind.SPANS:  # references inside every text
        texts = [texts[0], texts[3], texts[0], texts[3]]
    us = [Unit(f"doc-{i:04d}-{i % 7}", "t", "d", 0, len(texts[i % 4]), texts[i % 4]) for i in range(400)]
    if schema.kind is LabelKind.SPANS:
        choices = [None, (), (Span(0, 4, "ORG"),), (Span(0, 4, "ORG"), Span(22, 36, "PERSON"))]
    elif schema.kind is LabelKind.MULTI:
        choices = [None, (), ("a",), ("a", "c")]
    else:
        choices = [None, *schema.labels]
    refs = {u.id: choices[i % len(choices)] for i, u in enumerate(us)}
    refs.pop(us[5].id)  # a unit with no reference at all
    for name in get_registry().names("annotators"):
        ann = SimulatedAnnotator(f"{name}-1", persona(name), lean=schema.labels[0] if lean else None)
        for seed in (0, 14, 2**40):
            one = [ann.label(u, refs.get(u.id), schema, seed) for u in us]
            assert list(ann.label_all(us, refs, schema, seed)) == one, (name, seed)


def test_label_all_keeps_errors_and_plugin_personas():
    from dataclasses import dataclass

    from workbench.models import LabelError
    from workbench.simulate import Persona

    us = units(50)
    bad = {u.id: "nope" for u in us}
    with pytest.raises(LabelError):
        list(SimulatedAnnotator("x", persona("expert")).label_all(us, bad, SINGLE, 1))
    with pytest.raises(ValueError):
        list(SimulatedAnnotator("x", persona("hasty")).label_all(us, bad, ORD, 1))
    with pytest.raises(LabelError):  # a lean that is not a label, as label() says
        list(SimulatedAnnotator("x", persona("spammer"), lean="nope").label_all(us, {}, SINGLE, 1))
    assert list(SimulatedAnnotator("x", persona("spammer"), lean="nope").label_all([], {}, SINGLE, 1)) == []

    @dataclass(frozen=True)
    class Contrary(Persona):
        def answer(self, unit, reference, schema, rng, lean=None):
            return schema.labels[-1] if rng.random() < 0.5 else schema.labels[0]

    ann = SimulatedAnnotator("c", Contrary("contrary", 0.5))
    refs = {u.id: "neu" for u in us}
    assert list(ann.label_all(us, refs, ORD, 3)) == [ann.label(u, "neu", ORD, 3) for u in us]

"""Simulated annotators: personas that stand in for people in dry runs, demos and tests.

This is a simulation, plainly: a persona answers around a *reference label* (the gold label where
one exists, else the task type's pre-label) with a fixed accuracy, and its mistakes follow simple,
documented rules. Every answer is seeded by (campaign seed, annotator, unit), so a campaign is
reproducible and the order in which units are answered does not matter. Real people annotate
through Label Studio.
"""

from __future__ import annotations

import _random
import hashlib
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from .models import Label, LabelKind, LabelSchema, Span, Unit


@dataclass(frozen=True)
class Persona:
    """A kind of annotator. ``behaviour`` is one of accurate, constant, random, biased."""

    name: str
    accuracy: float
    description: str = ""
    behaviour: str = "accurate"
    #: biased personas: how often they give their favourite label when the truth is another
    strength: float = 0.0
    #: seconds per character of text, for simulated lead times
    pace: float = 0.05

    def answer(self, unit: Unit, reference: Label | None, schema: LabelSchema, rng: random.Random,
               lean: str | None = None) -> Label:
        if schema.kind is LabelKind.SPANS:
            return self._answer_spans(unit, reference or (), schema, rng)
        if schema.kind is LabelKind.MULTI:
            return self._answer_multi(reference or (), schema, rng)
        return self._answer_choice(unit, reference, schema, rng, lean)

    # -- single / ordinal ------------------------------------------------------------------
    def _answer_choice(self, unit, reference, schema, rng, lean):
        labels = schema.labels
        if self.behaviour == "constant":
            return lean or labels[_stable_int(self.name) % len(labels)]
        if self.behaviour == "random" or reference is None:
            return rng.choice(labels)
        if self.behaviour == "biased":
            lean = lean or labels[-1]
            if reference != lean and rng.random() < self.strength:
                return lean
        if rng.random() < self.accuracy:
            return reference
        others = [label for label in labels if label != reference]
        if schema.kind is LabelKind.ORDINAL:
            # people confuse neighbouring points of a scale far more than its ends
            pos = labels.index(reference)
            weights = [1.0 / abs(labels.index(o) - pos) ** 2 for o in others]
            return rng.choices(others, weights)[0]
        return rng.choice(others)

    # -- multi -------------------------------------------------------------------------------
    def _answer_multi(self, reference, schema, rng):
        if self.behaviour in ("random", "constant"):
            return tuple(sorted(label for label in schema.labels if rng.random() < 0.5))
        flip = (1 - self.accuracy) / 2
        chosen = {label for label in schema.labels if (label in reference) != (rng.random() < flip)}
        return tuple(sorted(chosen))

    # -- spans -------------------------------------------------------------------------------
    def _answer_spans(self, unit, reference, schema, rng):
        words = _word_bounds(unit.text)
        if self.behaviour in ("random", "constant"):
            n = rng.randint(0, 2)
            picks = rng.sample(words, min(n, len(words)))
            return tuple(sorted({Span(s, e, rng.choice(schema.labels)) for s, e in picks}))
        out = set()
        for span in reference:
            if rng.random() < self.accuracy:
                out.add(span)
                continue
            roll = rng.random()
            if roll < 0.4:
                continue  # missed it
            if roll < 0.7:
                others = [x for x in schema.labels if x != span.label]
                out.add(Span(span.start, span.end, rng.choice(others)))
            else:
                out.add(_nudge(span, words, rng))
        if words and rng.random() < (1 - self.accuracy) / 2:
            s, e = rng.choice(words)
            if not any(x.start < e and s < x.end for x in out):
                out.add(Span(s, e, rng.choice(schema.labels)))
        return tuple(sorted(out))

    def lead_time(self, unit: Unit, rng: random.Random) -> float:
        return round(max(1.0, len(unit.text) * self.pace * rng.uniform(0.6, 1.6)), 2)


def _word_bounds(text: str) -> list[tuple[int, int]]:
    import re

    return [(m.start(), m.end()) for m in re.finditer(r"\w[\w.'%$-]*\w|\w", text)]


def _nudge(span: Span, words: list[tuple[int, int]], rng: random.Random) -> Span:
    """Move one boundary of ``span`` by a word: a typical boundary disagreement."""
    inside = [w for w in words if span.start <= w[0] and w[1] <= span.end]
    if len(inside) > 1 and rng.random() < 0.5:
        return Span(inside[1][0], span.end, span.label) if rng.random() < 0.5 else Span(span.start, inside[-2][1], span.label)
    after = [w for w in words if w[0] >= span.end]
    if after:
        return Span(span.start, after[0][1], span.label)
    return span


def _stable_int(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def rng_for(seed: int, annotator_id: str, unit_id: str) -> random.Random:
    """The random stream of one annotator on one unit: independent of the order of work."""
    return random.Random(_stable_int(f"{seed}\0{annotator_id}\0{unit_id}"))


@dataclass(frozen=True)
class SimulatedAnnotator:
    """One member of a campaign's simulated crowd: an id, a persona and its options."""

    id: str
    persona: Persona
    lean: str | None = None

    def label(self, unit: Unit, reference: Label | None, schema: LabelSchema, seed: int) -> tuple[Label, float]:
        rng = rng_for(seed, self.id, unit.id)
        label = self.persona.answer(unit, reference, schema, rng, lean=self.lean)
        return schema.normalize(label, text_length=len(unit.text)), self.persona.lead_time(unit, rng)

    def label_all(self, units: Iterable[Unit], references: Mapping[str, Label | None], schema: LabelSchema,
                  seed: int) -> Iterator[tuple[Label, float]]:
        """:meth:`label` of each of ``units`` in turn (``references``: by unit id), the same answers
        and lead times, made faster for a million: one random stream re-seeded per unit (the state
        :func:`rng_for` gives), the unit's seed hashed from a prefix made once, and a persona of this
        module's own on a single or ordinal choice answered by a copy of :meth:`Persona.answer`'s
        rules with what they need worked out once (the same draws from the same stream)."""
        if type(self.persona) is not Persona:  # a persona of a plugin's own: its own rules, as they are
            yield from (self.label(u, references.get(u.id), schema, seed) for u in units)
            return
        sha, take = hashlib.sha256, int.from_bytes
        prefix = f"{seed}\0{self.id}\0"
        rng = random.Random()
        reseed = _random.Random.seed  # random.Random.seed also clears gauss()'s spare value: Persona never has one
        persona, lean, pace = self.persona, self.lean, self.persona.pace
        wide = 1.6 - 0.6  # Persona.lead_time's rng.uniform(0.6, 1.6): 0.6 + (1.6 - 0.6) * random()
        answer = None if not schema.categorical else _choice_rules(persona, schema, lean)
        normalize = schema.normalize
        for unit in units:
            reseed(rng, take(sha((prefix + unit.id).encode()).digest()[:4], "big"))
            n = len(unit.text)
            if answer is None:
                label = normalize(persona.answer(unit, references.get(unit.id), schema, rng, lean=lean), text_length=n)
            else:
                label = answer(references.get(unit.id), rng)
            yield label, round(max(1.0, n * pace * (0.6 + wide * rng.random())), 2)


def _choice_rules(persona: Persona, schema: LabelSchema,
                  lean: str | None) -> Callable[[Label | None, random.Random], Label]:
    """``persona``'s :meth:`Persona.answer` on a single or ordinal choice, normalized: the same draws
    in the same order, each reference's wrong answers (and an ordinal scale's weights) found once."""
    labels = schema.labels
    valid = frozenset(labels)
    if persona.behaviour == "constant":
        constant = lean or labels[_stable_int(persona.name) % len(labels)]
        return lambda reference, rng: constant if type(constant) is str and constant in valid else schema.normalize(constant)
    wrong: dict = {}

    def others(reference):
        found = wrong.get(reference)
        if found is None:
            rest = [label for label in labels if label != reference]
            weights = None
            if schema.kind is LabelKind.ORDINAL:
                pos = labels.index(reference)
                weights = [1.0 / abs(labels.index(o) - pos) ** 2 for o in rest]
            found = wrong[reference] = (rest, weights)
        return found

    accuracy, strength, behaviour = persona.accuracy, persona.strength, persona.behaviour
    favourite = (lean or labels[-1]) if behaviour == "biased" else None

    def answer(reference, rng):
        if behaviour == "random" or reference is None:
            label = rng.choice(labels)
        elif favourite is not None and reference != favourite and rng.random() < strength:
            label = favourite
        elif rng.random() < accuracy:
            label = reference
        else:
            rest, weights = others(reference)
            label = rng.choice(rest) if weights is None else rng.choices(rest, weights)[0]
        return label if type(label) is str and label in valid else schema.normalize(label)

    return answer

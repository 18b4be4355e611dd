"""A synthetic crowd of span annotators with known true spans, for benchmarks and the span tests.

Each unit is a sentence of ``length`` words (``w0 w1 ...``, single spaces) holding 0-3 entities of
1-4 words, of types drawn with skewed frequencies (the first type is the most common, as ORG in
the sample corpus). ``overlap`` distinct annotators label each unit. An annotator is one of:

- *good*: each entity marked exactly with probability ``accuracy`` (drawn per annotator from
  ``good_accuracy``); otherwise missed, mistyped or moved by a word, one third each;
- *short*: cuts multi-word entities short by their last word (or first, one time in four) with
  probability ``strength``, else like a good annotator;
- *long*: runs entities on by the next word (or the previous one, one time in four) with
  probability ``strength``;
- *confuser*: gives a fixed wrong type instead of each true type (their own mapping) with
  probability ``strength``;
- *misser*: misses each entity with probability ``strength``;
- *spammer*: 0-3 random spans of random types and lengths, whatever the truth.

Non-spammers also add a spurious one-word span with probability ``(1 - accuracy) / 2``. Every
role but *good* is a systematic error a per-annotator confusion matrix can learn; a vote cannot.
Everything is seeded; the same arguments give the same crowd.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from workbench.models import LabelKind, LabelSchema, Span

TYPES = ("ORG", "PERSON", "MONEY", "DATE", "GPE", "PERCENT")
TYPE_WEIGHTS = (0.45, 0.2, 0.12, 0.1, 0.08, 0.05)
ROLES = ("good", "short", "long", "confuser", "misser", "spammer")


@dataclass
class SpanCrowd:
    table: pd.DataFrame  # unit, annotator, label (a sorted tuple of Span)
    truth: dict  # unit -> sorted tuple of Span
    units: dict  # unit -> object with .text
    role: dict  # annotator -> role
    schema: LabelSchema


def make_span_crowd(n_units: int = 500, n_annotators: int = 12, overlap: int = 3, length: int = 14,
                    roles: dict[str, float] | None = None, strength: float = 0.6,
                    good_accuracy: tuple[float, float] = (0.75, 0.95), seed: int = 0) -> SpanCrowd:
    """``roles``: share of annotators per role (the rest are good), e.g. ``{"short": 0.25, "spammer": 0.1}``."""
    if overlap > n_annotators:
        raise ValueError("overlap cannot exceed the number of annotators")
    rng = np.random.default_rng(seed)
    schema = LabelSchema(LabelKind.SPANS, TYPES)
    roles = roles or {}
    role = np.full(n_annotators, "good", dtype=object)
    order = rng.permutation(n_annotators)
    at = 0
    for name in ROLES[1:]:
        n = int(round(roles.get(name, 0.0) * n_annotators))
        role[order[at:at + n]] = name
        at += n
    acc = rng.uniform(good_accuracy[0], good_accuracy[1], n_annotators)
    swap = np.array([rng.permutation(len(TYPES)) for _ in range(n_annotators)])
    for a in range(n_annotators):  # a derangement-ish mapping: every type to another one
        fixed = swap[a] == np.arange(len(TYPES))
        swap[a][fixed] = (np.arange(len(TYPES))[fixed] + 1) % len(TYPES)
    words_at = [(i * 5, i * 5 + 4) for i in range(length)]  # "w000 w001 ..." with fixed width
    text = " ".join(f"w{i:03d}" for i in range(length))
    names = [f"u{i:06d}" for i in range(n_units)]
    ann_names = [f"a{j:03d}" for j in range(n_annotators)]
    truth: dict = {}
    rows_u, rows_a, rows_l = [], [], []
    for u, name in enumerate(names):
        gold = _entities(rng, length, words_at)
        truth[name] = gold
        for a in rng.choice(n_annotators, size=overlap, replace=False):
            rows_u.append(name)
            rows_a.append(ann_names[a])
            rows_l.append(_answer(rng, gold, str(role[a]), float(acc[a]), strength, swap[a], length, words_at))
    table = pd.DataFrame({"unit": rows_u, "annotator": rows_a, "label": rows_l})
    units = {n: SimpleNamespace(text=text) for n in names}
    return SpanCrowd(table, truth, units, dict(zip(ann_names, role.tolist())), schema)


def _entities(rng, length, words_at) -> tuple:
    n = int(rng.choice(4, p=(0.2, 0.35, 0.3, 0.15)))
    taken = np.zeros(length + 1, dtype=bool)
    out = []
    for _ in range(n):
        w = int(rng.choice(4, p=(0.45, 0.3, 0.15, 0.1))) + 1
        s = int(rng.integers(0, length - w + 1))
        # keep a word of O between entities, so "run on by a word" does not merge two of them
        if taken[max(s - 1, 0):s + w + 1].any():
            continue
        taken[s:s + w] = True
        out.append((s, s + w, int(rng.choice(len(TYPES), p=TYPE_WEIGHTS))))
    return tuple(sorted(Span(words_at[s][0], words_at[e - 1][1], TYPES[t]) for s, e, t in out))


def _answer(rng, gold, role, acc, strength, swap, length, words_at) -> tuple:
    if role == "spammer":
        out = set()
        for _ in range(int(rng.integers(0, 4))):
            w = int(rng.integers(1, 4))
            s = int(rng.integers(0, length - w + 1))
            out.add(Span(words_at[s][0], words_at[s + w - 1][1], TYPES[int(rng.integers(len(TYPES)))]))
        return _no_overlap(out)
    word_of = {b[0]: i for i, b in enumerate(words_at)}
    word_end = {b[1]: i for i, b in enumerate(words_at)}
    out = set()
    for span in gold:
        s, e, t = word_of[span.start], word_end[span.end] + 1, TYPES.index(span.label)
        systematic = rng.random() < strength
        if role == "misser" and systematic:
            continue
        if role == "short" and systematic and e - s > 1:
            s, e = (s, e - 1) if rng.random() < 0.75 else (s + 1, e)
        elif role == "long" and systematic:
            if rng.random() < 0.75 and e < length:
                e += 1
            elif s > 0:
                s -= 1
        elif role == "confuser" and systematic:
            t = int(swap[t])
        elif rng.random() >= acc:
            roll = rng.random()
            if roll < 1 / 3:
                continue
            if roll < 2 / 3:
                t = int((t + rng.integers(1, len(TYPES))) % len(TYPES))
            elif e - s > 1 and rng.random() < 0.5:
                s += 1
            elif e < length:
                e += 1
        out.add(Span(words_at[s][0], words_at[e - 1][1], TYPES[t]))
    if rng.random() < (1 - acc) / 2:
        s = int(rng.integers(0, length))
        out.add(Span(words_at[s][0], words_at[s][1], TYPES[int(rng.integers(len(TYPES)))]))
    return _no_overlap(out)


def _no_overlap(spans: set) -> tuple:
    """An annotator's own spans do not overlap (the labeling tool would not let them)."""
    kept: list[Span] = []
    for sp in sorted(spans):
        if not kept or sp.start >= kept[-1].end:
            kept.append(sp)
    return tuple(kept)


def span_f1(labels: dict, truth: dict) -> float:
    """Micro F1 over exact spans (offsets and type), as the campaign's held-out gold measure."""
    from workbench.table.score import span_f1 as pooled

    units = list(truth)
    return float(pooled(pd.Series([labels.get(u, ()) for u in units]), pd.Series([truth[u] for u in units])))

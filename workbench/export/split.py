"""Deterministic train/dev/test split, grouped by document and stratified by label.

A whole document goes to one split, so no article leaks from train into dev or test. Documents are
placed greedily, largest first (ties in a seeded shuffled order): each goes to the split where it
best closes the gap between what the split holds and its share of every label and of all units.
While splits with a positive ratio are still empty and only as many documents remain, those
documents go to the empty splits, so with at least three documents every split gets one.
With few documents the split follows document boundaries first; label balance is best effort.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np

from .settings import SPLITS

NONE_KEY = "(none)"


def strata(label) -> list[str]:
    """What a record counts toward: its label; each label of a set; each span's label."""
    if isinstance(label, str):
        return [label]
    keys = [x["label"] if isinstance(x, dict) else str(x) for x in label or ()]
    return keys or [NONE_KEY]


def assign_splits(records: list[dict], ratios: tuple[float, float, float], seed: int) -> tuple[list[str], list[str]]:
    """The split of each record (same order) and notes on what could not be honoured."""
    by_doc: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_doc.setdefault(r["document_id"], []).append(i)
    docs = sorted(by_doc)
    profiles = [Counter(k for i in by_doc[d] for k in strata(records[i]["label"])) for d in docs]
    labels = sorted(set().union(*profiles)) if profiles else []
    col = {label: j for j, label in enumerate(labels)}
    vec = np.zeros((len(docs), max(len(labels), 1)))
    for g, profile in enumerate(profiles):
        for label, n in profile.items():
            vec[g, col[label]] = n
    sizes = np.array([len(by_doc[d]) for d in docs], dtype=float)
    ratio = np.array(ratios, dtype=float)
    label_target = ratio[:, None] * vec.sum(axis=0)[None, :]
    size_target = ratio * sizes.sum()
    weight = 1.0 / np.maximum(vec.sum(axis=0), 1.0)  # rare labels count as much as common ones
    held = np.zeros_like(label_target)
    held_size = np.zeros(len(SPLITS))
    filled = [0] * len(SPLITS)
    active = [s for s in range(len(SPLITS)) if ratio[s] > 0]

    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda g: -sizes[g])  # stable: equal sizes keep the seeded order

    def cost(s: int, g: int) -> float:
        # change in squared distance to target if document g joins split s
        lab = ((held[s] + vec[g] - label_target[s]) ** 2 - (held[s] - label_target[s]) ** 2) @ weight
        size = ((held_size[s] + sizes[g] - size_target[s]) ** 2 - (held_size[s] - size_target[s]) ** 2)
        return float(lab + size / max(sizes.sum(), 1.0))

    where: dict[int, int] = {}
    for n, g in enumerate(order):
        empty = [s for s in active if filled[s] == 0]
        candidates = empty if len(order) - n <= len(empty) else active
        best = min(candidates, key=lambda s: (round(cost(s, g), 12), -(size_target[s] - held_size[s]), s))
        where[g] = best
        held[best] += vec[g]
        held_size[best] += sizes[g]
        filled[best] += 1

    out = [""] * len(records)
    for g, d in enumerate(docs):
        for i in by_doc[d]:
            out[i] = SPLITS[where[g]]
    notes = [f"the {SPLITS[s]} split is empty: {len(docs)} document(s) cannot fill {len(active)} splits "
             "without splitting a document" for s in active if filled[s] == 0]
    return out, notes

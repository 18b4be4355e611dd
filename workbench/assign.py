"""Assignment: who labels what.

Every regular unit goes to ``overlap`` distinct annotators, always the least-loaded ones (seeded
tie-breaks), so loads differ by at most one. Honeypots go to every annotator. Each annotator's
queue is then shuffled (seeded) so gold units are mixed in, not bunched.
"""

from __future__ import annotations

import random


def assign(regular: list[str], honeypots: list[str], annotators: list[str], overlap: int,
           seed: int) -> list[tuple[str, str, int]]:
    """``(unit, annotator, position in that annotator's queue)`` rows."""
    if overlap > len(annotators):
        raise ValueError(f"overlap {overlap} is larger than the pool ({len(annotators)})")
    rng = random.Random(seed)
    load = {a: 0 for a in annotators}
    queues: dict[str, list[str]] = {a: [] for a in annotators}
    order = list(regular)
    rng.shuffle(order)
    for unit in order:
        ranked = sorted(annotators, key=lambda a: (load[a], rng.random()))
        for a in ranked[:overlap]:
            queues[a].append(unit)
            load[a] += 1
    for unit in honeypots:
        for a in annotators:
            queues[a].append(unit)
    rows = []
    for a in annotators:
        q = sorted(queues[a])
        random.Random(f"{seed}:{a}").shuffle(q)
        rows.extend((u, a, i) for i, u in enumerate(q))
    return rows

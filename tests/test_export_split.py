"""The train/dev/test split: whole documents, label shares close to the ratios, seeded and stable."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from workbench.errors import WorkbenchError
from workbench.export.settings import parse_split
from workbench.export.split import assign_splits, strata

LABELS = ("neg", "neu", "pos")


def corpus(n_docs: int = 60, seed: int = 1) -> list[dict]:
    """Documents of 5-30 units each, every document leaning toward one label (as real articles do)."""
    rng = random.Random(seed)
    records = []
    for d in range(n_docs):
        lean = LABELS[d % 3] if d % 5 else "pos"  # pos is the common label overall
        for u in range(rng.randint(5, 30)):
            label = lean if rng.random() < 0.6 else rng.choice(LABELS)
            records.append({"document_id": f"doc{d:03d}", "unit_id": f"{d}-{u}", "label": label})
    return records


def shares(records, splits, split):
    rows = [r for r, s in zip(records, splits) if s == split]
    counts = Counter(r["label"] for r in rows)
    return len(rows), {x: counts[x] / max(len(rows), 1) for x in LABELS}


def test_whole_documents_go_to_one_split():
    records = corpus()
    splits, notes = assign_splits(records, (0.8, 0.1, 0.1), seed=7)
    where: dict[str, set] = {}
    for r, s in zip(records, splits):
        where.setdefault(r["document_id"], set()).add(s)
    assert all(len(s) == 1 for s in where.values())
    assert set(splits) == {"train", "dev", "test"} and notes == []


def test_sizes_and_label_shares_follow_the_ratios():
    records = corpus()
    splits, _ = assign_splits(records, (0.7, 0.15, 0.15), seed=3)
    overall = Counter(r["label"] for r in records)
    total = len(records)
    for split, ratio in (("train", 0.7), ("dev", 0.15), ("test", 0.15)):
        n, share = shares(records, splits, split)
        assert n / total == pytest.approx(ratio, abs=0.03), split
        for label in LABELS:
            assert share[label] == pytest.approx(overall[label] / total, abs=0.06), (split, label)


def test_stratifying_beats_placing_documents_by_size_alone():
    records = corpus(seed=5)
    ours, _ = assign_splits(records, (0.8, 0.1, 0.1), seed=2)
    overall = {x: n / len(records) for x, n in Counter(r["label"] for r in records).items()}

    def worst(splits):
        return max(abs(shares(records, splits, s)[1][x] - overall[x]) for s in ("dev", "test") for x in LABELS)

    # the same greedy packing without labels: every record counts as one label
    blind, _ = assign_splits([{**r, "label": "x"} for r in records], (0.8, 0.1, 0.1), seed=2)
    assert worst(ours) < worst(blind)


def test_the_seed_decides_and_the_same_seed_repeats():
    records = corpus(n_docs=30)
    a, _ = assign_splits(records, (0.6, 0.2, 0.2), seed=1)
    assert assign_splits(records, (0.6, 0.2, 0.2), seed=1)[0] == a
    assert any(assign_splits(records, (0.6, 0.2, 0.2), seed=s)[0] != a for s in range(2, 8))


def test_three_documents_fill_three_splits_even_with_small_ratios():
    records = [r for r in corpus(n_docs=3)]
    splits, notes = assign_splits(records, (0.8, 0.1, 0.1), seed=0)
    assert set(splits) == {"train", "dev", "test"} and notes == []


def test_too_few_documents_say_which_split_is_empty():
    records = corpus(n_docs=2)
    splits, notes = assign_splits(records, (0.8, 0.1, 0.1), seed=0)
    assert len(set(splits)) == 2 and len(notes) == 1
    assert "split is empty: 2 document(s) cannot fill 3 splits" in notes[0]


def test_a_zero_ratio_split_gets_nothing():
    splits, notes = assign_splits(corpus(n_docs=10), (0.75, 0.0, 0.25), seed=0)
    assert set(splits) == {"train", "test"} and notes == []


def test_strata_of_each_label_kind():
    assert strata("pos") == ["pos"]
    assert strata(["a", "b"]) == ["a", "b"] and strata([]) == ["(none)"]
    assert strata([{"start": 0, "end": 2, "label": "ORG"}, {"start": 3, "end": 4, "label": "ORG"}]) == ["ORG", "ORG"]


@pytest.mark.parametrize("value, expected", [
    ("0.8,0.1,0.1", (0.8, 0.1, 0.1)), ([0.7, 0.2, 0.1], (0.7, 0.2, 0.1)),
    ({"train": 0.9, "test": 0.1}, (0.9, 0.0, 0.1)), ("none", None), (False, None),
])
def test_parse_split(value, expected):
    assert parse_split(value, "x") == expected


@pytest.mark.parametrize("value, message", [
    ([0.7, 0.2, 0.2], "must sum to 1 (train + dev + test), got 0.7 + 0.2 + 0.2 = 1.1"),
    ({"train": 0.5, "validation": 0.5}, "unknown split 'validation'"),
    ([0.5, True, 0.5], "the dev ratio must be a number >= 0"),
    ("1", "expected three ratios"),
])
def test_parse_split_refuses(value, message):
    with pytest.raises(WorkbenchError) as err:
        parse_split(value, "where")
    assert str(err.value).startswith("where: ") and message in str(err.value)

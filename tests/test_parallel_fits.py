"""Fits on worker threads give what one thread gives: MACE's restarts side by side (the same
posteriors and pick to the bit) and ``auto``'s comparison of the built-in methods on two threads
(the same scores, the same pick), with a plugin's method kept off the threads."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate import choose, mace
from workbench.aggregate.choose import compare_on_gold
from workbench.models import LabelKind, LabelSchema
from workbench.plugin import Aggregator
from workbench.registry import get_registry
from workbench.table.encode import shared_codes

from benchmarks.crowd import make_crowd


@pytest.fixture(scope="module")
def crowd():
    return make_crowd(n_tasks=1500, n_workers=40, n_classes=3, overlap=4, spammers=0.15, biased=0.1, seed=3)


def _fit(crowd, workers: int, monkeypatch, **options):
    monkeypatch.setattr(mace, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(mace, "WORKERS", workers)
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(zip(crowd.truth.index[:50], crowd.truth.to_numpy()[:50]))
    return mace.mace(crowd.long_table(), schema, gold=gold, **options)


@pytest.mark.parametrize("options", [{}, {"method": "em", "restarts": 5}, {"restarts": 3, "max_iter": 4}])
def test_mace_restarts_on_threads_match_one_thread(crowd, monkeypatch, options):
    one = _fit(crowd, 1, monkeypatch, **options)
    two = _fit(crowd, 2, monkeypatch, **options)
    assert np.array_equal(one.posteriors.to_numpy(), two.posteriors.to_numpy())
    assert np.array_equal(np.asarray(one.annotators["competence"], dtype=float),
                          np.asarray(two.annotators["competence"], dtype=float))
    assert one.notes == two.notes
    pd.testing.assert_frame_equal(one.labels, two.labels)


def test_mace_restarts_keep_the_first_of_equal_fits(crowd, monkeypatch):
    """Restarts that reach the same log-likelihood: the first is kept, on threads too (the first
    restart of four starts where a single restart does: the starts are drawn in order)."""
    monkeypatch.setattr(mace, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(mace, "WORKERS", 2)
    real = mace._fit_once
    monkeypatch.setattr(mace, "_fit_once", lambda prep, start, opts: (0.0, *real(prep, start, opts)[1:]))
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    first = mace.mace(crowd.long_table(), schema, restarts=1)
    got = mace.mace(crowd.long_table(), schema, restarts=4)
    assert np.array_equal(got.posteriors.to_numpy(), first.posteriors.to_numpy())
    last = mace.mace(crowd.long_table(), schema, restarts=4, seed=1)
    assert not np.array_equal(got.posteriors.to_numpy(), last.posteriors.to_numpy())  # the starts matter


def test_comparison_on_threads_matches_one_thread(crowd, monkeypatch):
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    table = crowd.long_table()
    gold = dict(zip(crowd.truth.index[:200], crowd.truth.to_numpy()[:200]))
    methods = ["majority", "wawa", "weighted_majority", "dawid_skene", "mace", "glad"]
    registry = get_registry()
    runs = {}
    for workers in (1, 2):
        monkeypatch.setattr(choose, "PARALLEL_ROWS", 0)
        monkeypatch.setattr(choose, "COMPARE_WORKERS", workers)
        with shared_codes():
            runs[workers] = compare_on_gold(registry, schema, table, gold, methods)
    assert [(s.method, s.correct, s.n, s.error) for s in runs[1]] == [(s.method, s.correct, s.n, s.error)
                                                                       for s in runs[2]]
    assert all(s.n == 200 and s.error is None for s in runs[2])


def test_a_plugins_method_runs_on_the_calling_thread(crowd, monkeypatch):
    import threading

    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    real = get_registry()
    majority = real.get("aggregators", "majority").func
    seen = []

    def plugin_vote(table, schema, *, gold=None, units=None, **options):
        seen.append(threading.current_thread())
        return majority(table, schema, gold=gold, units=units)

    plugin_vote.__module__ = "some_plugin.votes"

    class Registry:  # the built-in methods, and one a plugin registered
        def get(self, kind, name):
            return Aggregator(name, plugin_vote) if name == "plugin_vote" else real.get(kind, name)

        def guard(self, *args):
            return contextlib.nullcontext()

    monkeypatch.setattr(choose, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(choose, "COMPARE_WORKERS", 2)
    gold = dict(zip(crowd.truth.index[:100], crowd.truth.to_numpy()[:100]))
    scores = compare_on_gold(Registry(), schema, crowd.long_table(), gold, ["majority", "plugin_vote", "wawa"])
    assert [s.method for s in scores] == ["majority", "plugin_vote", "wawa"]
    assert [s.correct for s in scores][:2] == [scores[0].correct] * 2  # the plugin's votes are majority's
    assert seen and all(t is threading.main_thread() for t in seen)

"""Inside ``shared_codes()``, ``auto``'s Dawid-Skene consensus and the annotator quality table's
confusion matrices are one fit (the built-in method, default options, the same table and gold),
and each caller still gets its own notes."""

from __future__ import annotations

from workbench.aggregate import dawid_skene as ds
from workbench.aggregate.choose import aggregate_table
from workbench.agreement.quality import annotator_quality
from workbench.models import LabelKind, LabelSchema
from workbench.registry import get_registry
from workbench.table.encode import shared_codes

from benchmarks.crowd import make_crowd


def test_consensus_and_quality_share_one_dawid_skene_fit(monkeypatch):
    crowd = make_crowd(n_tasks=400, n_workers=12, n_classes=3, overlap=3, seed=5)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(zip(crowd.truth.index[:10], crowd.truth.to_numpy()[:10]))  # too few to compare on: the count rule
    get_registry().get("aggregators", "dawid_skene")  # registered before the count below wraps the function
    calls = []
    real = ds.dawid_skene

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ds, "dawid_skene", counted)
    alone = annotator_quality(table, schema, gold, {})
    assert len(calls) == 1
    calls.clear()
    with shared_codes():
        first = aggregate_table(get_registry(), schema, table, "auto", gold=gold)
        second = aggregate_table(get_registry(), schema, table, "auto", gold=gold)
        quality = annotator_quality(table, schema, gold, {})
    assert first.method == "dawid_skene" and len(calls) == 1
    assert first.notes == second.notes and sum("auto: picked" in n for n in second.notes) == 1
    assert quality["ds_accuracy"].tolist() == alone["ds_accuracy"].tolist()
    assert first.labels.equals(real(table, schema, gold=gold).labels)
    calls.clear()
    with shared_codes():  # other gold: another fit
        aggregate_table(get_registry(), schema, table, "auto", gold=gold)
        annotator_quality(table, schema, dict(gold), {})
    assert len(calls) == 2


def test_a_fit_started_early_is_the_one_taken(monkeypatch):
    from workbench.aggregate.choose import dawid_skene_fit, start_dawid_skene_fit

    crowd = make_crowd(n_tasks=300, n_workers=10, n_classes=3, overlap=3, seed=6)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(zip(crowd.truth.index[:40], crowd.truth.to_numpy()[:40]))
    calls = []
    real = ds.dawid_skene

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ds, "dawid_skene", counted)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with shared_codes():
        start_dawid_skene_fit(table, schema, gold)
        got = dawid_skene_fit(table, schema, gold)
        again = dawid_skene_fit(table, schema, gold)
    assert got is again and len(calls) == 1
    assert got.labels.equals(real(table, schema, gold=gold).labels)
    start_dawid_skene_fit(table, schema, gold)  # outside shared_codes(): nothing to keep it for, nothing started
    assert len(calls) == 1

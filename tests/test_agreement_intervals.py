"""Bootstrap intervals of the agreement metrics and of gold accuracy: against plain bootstraps that
re-run the metric on each resample, and how intervals behave (cover the estimate, narrow with more
units, follow the seed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import bootstrap
from workbench.agreement import count_matrix, intervals
from workbench.agreement.alpha import (
    krippendorff_alpha_interval,
    krippendorff_alpha_nominal,
    krippendorff_alpha_ordinal,
)
from workbench.agreement.basic import percent_agreement
from workbench.agreement.intervals import (
    cohen_interval,
    gold_accuracy_intervals,
    gwet_interval,
    metric_intervals,
    nominal_alpha_interval,
    percent_interval,
    scale_alpha_interval,
)
from workbench.agreement.kappa import cohen_kappa, fleiss_kappa, gwet_ac1
from workbench.agreement.quality import annotator_quality
from workbench.agreement.report import agreement_report
from workbench.models import LabelKind, LabelSchema, Span
from workbench.registry import get_registry

from benchmarks.crowd import make_crowd


def plain_sums(contrib, resamples, seed, key=None):
    """The plain bootstrap (unit indices drawn one by one) in place of the pattern shortcut."""
    return bootstrap.resampled_sums(contrib, resamples, seed)


B = 100


def crowd_table(n_tasks: int, seed: int = 1, overlap: int = 3, n_workers: int = 6):
    crowd = make_crowd(n_tasks=n_tasks, n_workers=n_workers, n_classes=3, overlap=overlap, accuracy=(0.55, 0.9),
                       spammers=0.2, seed=seed)
    table = crowd.long_table()
    table = table.assign(unit=table["unit"].astype(str), annotator=table["annotator"].astype(str),
                         label=table["label"].astype(str))
    return table, LabelSchema(LabelKind.ORDINAL, crowd.classes), crowd


def resampled_table(table: pd.DataFrame, units: np.ndarray, idx: np.ndarray) -> pd.DataFrame:
    """The long table of a resample: each drawn unit's rows, copies renamed so they stay distinct units."""
    rows_of = _rows_of(table, units)
    rows = np.concatenate([rows_of[i] for i in idx])
    copy = np.repeat(np.arange(len(idx)), [len(rows_of[i]) for i in idx])
    out = table.iloc[rows].reset_index(drop=True)
    return out.assign(unit=out["unit"].to_numpy(dtype=object) + "#" + copy.astype(str).astype(object))


def _rows_of(table: pd.DataFrame, units: np.ndarray) -> list[np.ndarray]:
    groups = table.groupby("unit", sort=False).indices
    return [groups[u] for u in units]


def plain_percentiles(values) -> list[float]:
    v = np.asarray([x for x in values if x is not None and x == x], dtype=float)
    return list(np.quantile(v, [0.025, 0.975]))


@pytest.fixture
def plain_draws(monkeypatch):
    """Make the pattern shortcut draw units one by one, so a loop over the same draws can check it."""
    monkeypatch.setattr(intervals, "pattern_sums", plain_sums)


@pytest.mark.parametrize("name", ["nominal", "ordinal", "interval", "fleiss", "ac1", "percent"])
def test_count_based_intervals_equal_a_plain_bootstrap_that_reruns_the_metric(plain_draws, name):
    table, schema, _ = crowd_table(50, seed=3)
    counts, _, cats = count_matrix(table, schema)
    counts = counts.astype(float)
    n = len(counts)
    fast = {
        "nominal": lambda: nominal_alpha_interval(counts, B, 7),
        "ordinal": lambda: scale_alpha_interval(counts, "ordinal", None, B, 7),
        "interval": lambda: scale_alpha_interval(counts, "interval", None, B, 7),
        "fleiss": lambda: gwet_interval(counts, "fleiss", len(cats), B, 7),
        "ac1": lambda: gwet_interval(counts, "ac1", len(cats), B, 7),
        "percent": lambda: percent_interval(counts, B, 7),
    }[name]()
    metric = {"nominal": krippendorff_alpha_nominal, "ordinal": krippendorff_alpha_ordinal,
              "interval": krippendorff_alpha_interval, "fleiss": fleiss_kappa, "ac1": gwet_ac1,
              "percent": percent_agreement}[name]
    idx = np.random.default_rng(7).integers(0, n, size=(B, n))
    # count_matrix orders units as encode does; rebuild the resampled tables from the same order
    _, names, _ = count_matrix(table, schema)
    units = names.to_numpy(dtype=object)
    values = [metric(resampled_table(table, units, row), schema).value for row in idx]
    low, high = plain_percentiles(values)
    assert fast.low == pytest.approx(low, abs=1e-9) and fast.high == pytest.approx(high, abs=1e-9)


def test_cohen_interval_equals_a_plain_bootstrap_of_mean_pairwise_kappa():
    table, schema, _ = crowd_table(40, seed=4)
    fast = cohen_interval(table, LabelSchema(LabelKind.SINGLE, schema.labels), B, 11)
    from workbench.table.encode import encode

    enc = encode(table, schema)
    units = enc.unit_names.to_numpy(dtype=object)
    idx = np.random.default_rng(11).integers(0, len(units), size=(B, len(units)))
    values = [cohen_kappa(resampled_table(table, units, row), schema).value for row in idx]
    low, high = plain_percentiles(values)
    assert fast.low == pytest.approx(low, abs=1e-9) and fast.high == pytest.approx(high, abs=1e-9)


def test_gold_accuracy_interval_equals_a_plain_bootstrap_on_a_small_case():
    table = pd.DataFrame([
        ("u1", "a", "x"), ("u1", "b", "y"), ("u2", "a", "x"), ("u2", "b", "x"), ("u3", "a", "y"),
        ("u3", "b", "y"), ("u4", "a", "x"), ("u5", "b", "y"), ("u6", "a", "y"), ("u6", "b", "x"),
    ], columns=["unit", "annotator", "label"])
    schema = LabelSchema(LabelKind.SINGLE, ("x", "y"))
    gold = {"u1": "x", "u2": "x", "u3": "y", "u4": "y", "u5": "y"}  # u6 has no gold
    got = gold_accuracy_intervals(table, schema, gold, ["a", "b"], resamples=500, seed=3)
    gold_units = ["u1", "u2", "u3", "u4", "u5"]  # in the order the table meets them
    rng = np.random.default_rng(3)
    draws = rng.integers(0, 5, size=(500, 5))
    for who in ("a", "b"):
        rows = table[table["annotator"] == who].set_index("unit")["label"]
        values = []
        for d in draws:
            answered = [gold_units[i] for i in d if gold_units[i] in rows.index]
            values.append(np.mean([rows[u] == gold[u] for u in answered]) if answered else np.nan)
        low, high = plain_percentiles(values)
        assert got[who].low == pytest.approx(low) and got[who].high == pytest.approx(high), who
    point = annotator_quality(table, schema, gold).set_index("annotator")["gold_accuracy"]
    assert got["a"].low <= point["a"] <= got["a"].high


def test_span_gold_f1_interval_covers_the_stored_score():
    s = LabelSchema(LabelKind.SPANS, ("ORG", "PER"))
    table = pd.DataFrame([
        ("u1", "a", (Span(0, 3, "ORG"),)), ("u2", "a", (Span(0, 2, "PER"), Span(4, 6, "ORG"))),
        ("u3", "a", ()), ("u4", "a", (Span(1, 3, "ORG"),)),
        ("u1", "b", ()), ("u2", "b", (Span(0, 2, "PER"),)), ("u3", "b", (Span(0, 1, "PER"),)),
    ], columns=["unit", "annotator", "label"])
    gold = {"u1": (Span(0, 3, "ORG"),), "u2": (Span(0, 2, "PER"),), "u3": (), "u4": (Span(1, 3, "ORG"),)}
    got = gold_accuracy_intervals(table, s, gold, ["a", "b"], resamples=300, seed=1)
    point = annotator_quality(table, s, gold).set_index("annotator")["gold_accuracy"]
    for who in ("a", "b"):
        assert got[who].low <= point[who] <= got[who].high


def test_intervals_cover_the_estimate_narrow_with_more_units_and_follow_the_seed():
    reg = get_registry()
    widths = {}
    for n in (100, 1600):
        table, schema, crowd = crowd_table(n, seed=2)
        gold = {str(u): str(crowd.truth[u]) for u in list(crowd.truth.index)[: n // 5]}
        report = agreement_report(reg, schema, table, gold=gold, seed=5)
        for name in ("krippendorff_alpha", "krippendorff_alpha_ordinal", "krippendorff_alpha_interval",
                     "fleiss_kappa", "gwet_ac1", "cohen_kappa", "percent_agreement"):
            m = report["metrics"][name]
            low, high = m["interval"]
            assert low <= m["value"] <= high, (n, name, m)
            widths.setdefault(name, []).append(high - low)
        for row in report["annotators"]:
            if row["gold_n"]:
                low, high = row["gold_accuracy_ci"]
                assert low <= row["gold_accuracy"] <= high, row
    for name, (small, large) in widths.items():
        assert large < small / 2, (name, small, large)  # 16x the units: about a quarter of the width
    table, schema, _ = crowd_table(200, seed=2)
    m = {"krippendorff_alpha": {"value": 0.5}, "cohen_kappa": {"value": 0.5}}
    once = metric_intervals(reg, schema, table, m, seed=9)
    again = metric_intervals(reg, schema, table, m, seed=9)
    other = metric_intervals(reg, schema, table, m, seed=10)
    assert once == again
    assert once["krippendorff_alpha"] != other["krippendorff_alpha"]


def test_a_replaced_metric_gets_no_interval(with_plugin):
    from workbench.api import LabelKind as K
    from workbench.api import Metric, MetricResult, hookimpl

    class Plugin:
        @hookimpl
        def register_metrics(self, register):
            register(Metric("krippendorff_alpha", lambda t, s, **kw: MetricResult("krippendorff_alpha", 0.5),
                            "someone else's alpha", frozenset(K)))

    reg = with_plugin(Plugin())
    table, schema, _ = crowd_table(50)
    got = metric_intervals(reg, schema, table, {"krippendorff_alpha": {"value": 0.5}, "fleiss_kappa": {"value": 0.1}})
    assert "krippendorff_alpha" not in got and "fleiss_kappa" in got


def test_chunked_draws_are_the_same_stream_as_one_draw(monkeypatch):
    contrib = np.random.default_rng(0).random((50, 3))
    whole = bootstrap.resampled_sums(contrib, 40, seed=2)
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 50 * 7)  # chunks of 7 resamples
    assert np.allclose(bootstrap.resampled_sums(contrib, 40, seed=2), whole)
    idx = np.random.default_rng(2).integers(0, 50, size=(40, 50))
    assert np.allclose(whole, np.stack([contrib[i].sum(axis=0) for i in idx]))


def test_token_alpha_interval_equals_a_plain_bootstrap(plain_draws):
    from workbench.agreement.intervals import token_alpha_interval
    from workbench.agreement.spans import token_alpha

    schema = LabelSchema(LabelKind.SPANS, ("ORG", "PER"))
    rng = np.random.default_rng(5)
    rows = []
    for u in range(30):
        truth = (Span(0, 4, "ORG"),) if u % 3 else (Span(2, 6, "PER"), Span(8, 10, "ORG"))
        for a in ("a", "b", "c"):
            noisy = tuple(s for s in truth if rng.random() < 0.8) + ((Span(5, 7, "PER"),) if rng.random() < 0.2 else ())
            rows.append((f"u{u:02d}", a, tuple(sorted(set(noisy)))))
    table = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    fast = token_alpha_interval(table, schema, None, B, 4)
    from workbench.table.spans import explode_spans

    units = explode_spans(table, schema).unit_names.to_numpy(dtype=object)
    idx = np.random.default_rng(4).integers(0, len(units), size=(B, len(units)))
    values = [token_alpha(resampled_table(table, units, row), schema).value for row in idx]
    low, high = plain_percentiles(values)
    assert fast.low == pytest.approx(low, abs=1e-9) and fast.high == pytest.approx(high, abs=1e-9)


def test_agreement_json_card_and_report_carry_the_intervals(tmp_path, home):
    import json

    from click.testing import CliRunner

    from workbench.cli import cli

    from helpers import write_spec

    spec = write_spec(tmp_path, name="ci")
    run = lambda *a: CliRunner().invoke(cli(), ["--home", str(home), *a])  # noqa: E731
    assert run("run", str(spec)).exit_code == 0
    result = run("agreement", "ci", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    alpha = data["metrics"]["krippendorff_alpha"]
    assert alpha["interval"][0] <= alpha["value"] <= alpha["interval"][1]
    assert data["metrics"]["disputed_units"]["interval"] is None
    assert run("agreement", "ci", "--json").output == result.output  # seeded: the same again
    table = run("agreement", "ci")
    assert "95% interval" in table.output and f"{alpha['interval'][0]:.3f}" in table.output
    card = (home / "exports" / "ci" / "README.md").read_text("utf-8")
    assert f"{alpha['value']:.3f} [{alpha['interval'][0]:.3f}, {alpha['interval'][1]:.3f}]" in card
    assert "bootstrap 95% intervals" in card
    page_path = tmp_path / "r.html"
    assert run("report", "ci", "--out", str(page_path)).exit_code == 0
    page = page_path.read_text("utf-8")
    assert f"[{alpha['interval'][0]:.3f}, {alpha['interval'][1]:.3f}]" in page and 'id="evaluations"' not in page


def test_cohen_interval_in_narrow_types_equals_float64_throughout(monkeypatch):
    """The int16 product and float32 planes are exact: forcing float64 everywhere gives the same
    resampled kappas (to rounding of the last digit), so the same interval."""
    table, schema, _ = crowd_table(300, seed=6, overlap=4, n_workers=9)
    s = LabelSchema(LabelKind.SINGLE, schema.labels)
    narrow = cohen_interval(table, s, 200, 3)
    assert intervals._count_types(100) == (np.int16, np.float32)
    assert intervals._count_types(5000) == (np.int16, np.float64)
    assert intervals._count_types(40_000) == (np.int32, np.float64)
    monkeypatch.setattr(intervals, "_count_types", lambda top: (np.float64, np.float64))
    wide = cohen_interval(table, s, 200, 3)
    assert narrow.resamples == wide.resamples == 200
    assert narrow.low == pytest.approx(wide.low, abs=1e-12) and narrow.high == pytest.approx(wide.high, abs=1e-12)


def test_an_interval_started_early_is_the_one_computed_in_place():
    reg = get_registry()
    table, schema, _ = crowd_table(200, seed=3)
    m = {"cohen_kappa": {"value": 0.4}, "fleiss_kappa": {"value": 0.3}}
    plain = metric_intervals(reg, schema, table, m, seed=4)
    early = intervals.start_intervals(reg, schema, table, seed=4)
    assert early is not None
    assert metric_intervals(reg, schema, table, m, seed=4, early=early) == plain
    # started with another seed: not taken, computed in place
    early = intervals.start_intervals(reg, schema, table, seed=5)
    assert metric_intervals(reg, schema, table, m, seed=4, early=early) == plain
    # the metric has no value: no interval, and the early one is stopped
    early = intervals.start_intervals(reg, schema, table, seed=4)
    got = metric_intervals(reg, schema, table, {"cohen_kappa": {"value": None}}, seed=4, early=early)
    assert "cohen_kappa" not in got and early._cancel.is_set()
    assert intervals.start_intervals(reg, schema, table, names=("fleiss_kappa",)) is None
    assert agreement_report(reg, schema, table, seed=4)["metrics"]["cohen_kappa"]["interval"] == \
        plain["cohen_kappa"].as_list()


def test_unit_agreement_is_made_once_inside_shared_codes_and_copied_out():
    from workbench.agreement.units import unit_agreement
    from workbench.table.encode import shared_codes

    table, schema, _ = crowd_table(100, seed=8)
    alone = unit_agreement(table, schema)
    with shared_codes():
        first = unit_agreement(table, schema)
        first.loc[0, "agreement"] = -1.0  # a caller's change stays its own
        second = unit_agreement(table, schema)
        consensus = {u: schema.labels[0] for u in table["unit"]}
        other = unit_agreement(table, schema, consensus)
    pd.testing.assert_frame_equal(second, alone)
    assert other["consensus_share"].notna().all() and alone["consensus_share"].isna().all()

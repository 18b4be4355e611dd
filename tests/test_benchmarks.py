"""The aggregation benchmark still runs end to end (tiny sizes, no crowd-kit, nothing timed or
judged here: `make bench` measures)."""

from __future__ import annotations

import json

from benchmarks import bench_aggregate


def test_aggregation_benchmark_runs_on_a_tiny_crowd(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = bench_aggregate.main(["--tasks", "300", "--workers", "12", "--mace-tasks", "200", "--alpha-units", "400",
                                 "--glad-tasks", "200", "--mmsr-tasks", "200", "--kos-tasks", "300",
                                 "--multi-tasks", "200", "--ordinal-tasks", "300", "--repeats", "1", "--min-time", "0", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    methods = [r["method"] for r in results["aggregators"]]
    assert methods == [*bench_aggregate.METHODS, "mace", *bench_aggregate.MORE]
    for r in results["aggregators"]:
        assert f"| {r['method']} |" in printed and 0.5 < r["accuracy"] <= 1.0
    majority = results["aggregators"][0]
    assert majority["dictionary_seconds"] > 0 and majority["dictionary_shuffled_seconds"] > 0
    assert results["alpha"]["abs_difference"] < 1e-9  # the same alpha as the krippendorff package
    assert ">= 30x" not in printed and ">= 20x" not in printed  # targets are judged at 1M annotations only


def test_redundancy_replay_runs_the_campaign_policy(monkeypatch):
    """The replay benchmark (benchmarks/bench_redundancy.py) on a tiny simulated crowd: fixed k takes each
    unit's first k answers; adaptive draws one more answer per round for the units `decide` picks."""
    from workbench import redundancy
    from workbench.spec.redundancy import RedundancySpec

    from benchmarks import bench_redundancy as bench

    data = bench.simulated("tiny", 3, n_tasks=60, accuracy=(0.5, 0.9))
    acc, n = bench.fixed(data, 0, 3, "majority")
    assert n == 180 and 0.4 < acc <= 1.0
    calls = []
    real_decide = redundancy.decide
    monkeypatch.setattr(bench, "decide", lambda *a, **k: calls.append(1) or real_decide(*a, **k))
    pol = RedundancySpec(initial=2, max=4, target=0.75)
    acc2, n2, rounds = bench.adaptive(data, 0, pol, "majority")
    assert len(calls) == rounds + 1 and rounds >= 1
    assert 120 < n2 <= 240  # between everyone at initial and everyone at max
    r = bench.Replay(data, 0)
    unit = sorted(r.rows)[0]
    first = r.rows[unit].iloc[:2]
    r.take([unit], 2)
    assert r.table().equals(first.reset_index(drop=True))

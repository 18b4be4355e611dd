"""The aggregation benchmark still runs end to end (tiny sizes, no crowd-kit, nothing timed or
judged here: `make bench` measures)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

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
    # --disputed: the budgeted replay finds the disputes with the campaign step's own function, every round
    found = []
    real_disputes = bench.disputes
    monkeypatch.setattr(bench, "disputes", lambda *a, **k: found.append(real_disputes(*a, **k)) or found[-1])
    pol = RedundancySpec(initial=1, max=4, target=0.99, target_by="one_coin", budget=150, per_round=6,
                         disputed_share=0.5, disputed_order="dawid_skene")
    acc3, n3, rounds3 = bench.adaptive(data, 0, pol, "majority")
    assert n3 == 150 and len(found) == rounds3 + 1 and 0.3 < acc3 <= 1.0
    # the printed standard error is that of the paired differences over the replay orders
    assert bench.paired_se([0.70, 0.74, 0.72], [0.71, 0.71, 0.71]) == pytest.approx(0.02 / 3 ** 0.5)
    assert math.isnan(bench.paired_se([0.7], [0.71]))
    rows = bench.run([data], 2, {"majority": [], "dawid_skene": [], "one_coin": []}, 2, 4, budgets=(2.5,),
                     per_round=0.1)
    for x in rows:
        k5 = next(y for y in rows if y["method"] == x["method"] and y.get("k") == 5)
        assert len(x["per_seed"]) == 2 and x["acc_vs_k5"] == pytest.approx(x["accuracy"] - k5["accuracy"])
        assert x["acc_vs_k5_se"] == pytest.approx(bench.paired_se(x["per_seed"], k5["per_seed"]))
    r = bench.Replay(data, 0)
    unit = sorted(r.rows)[0]
    first = r.rows[unit].iloc[:2]
    r.take([unit], 2)
    assert r.table().equals(first.reset_index(drop=True))


def test_real_crowd_benchmark_runs_on_tiny_stand_in_files(tmp_path, capsys):
    """The real crowds are not in CI clones: three tiny simulated ones stand in for them (the code
    path only: reading the files, every registered method, the table and verdict lines)."""
    from benchmarks import bench_realcrowd
    from benchmarks.crowd import make_crowd

    for name, classes in (("face", 4), ("dog", 4), ("duck", 2)):
        crowd = make_crowd(n_tasks=60, n_workers=8, n_classes=classes, overlap=3, spammers=0.2, seed=classes)
        crowd.long_table().to_csv(tmp_path / f"{name}.labels.csv", index=False)
        crowd.truth.rename_axis("unit").rename("label").reset_index().to_csv(tmp_path / f"{name}.truth.csv",
                                                                          index=False)
    out = tmp_path / "results.json"
    code = bench_realcrowd.main(["--data", str(tmp_path), "--repeats", "1", "--min-time", "0", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert [d["name"] for d in results["datasets"]] == ["face", "dog", "duck"]
    expected = bench_realcrowd.workbench_methods()
    assert "majority" in expected and "dawid_skene" in expected and "spans" not in expected
    for d in results["datasets"]:
        assert [r["method"] for r in d["methods"]] == expected
        assert f"**{d['name']}**: 60 units, 8 annotators, 180 labels" in printed
        ran = {r["method"]: r for r in d["methods"] if "skipped" not in r}
        assert all(0.3 < r["accuracy"] <= 1.0 for r in ran.values())
        assert {"majority", "wawa", "dawid_skene", "one_coin_dawid_skene", "mace"} <= set(ran)
    assert "skipped: weighted_majority needs gold" in printed  # no gold in these files: said, not hidden


def test_real_crowd_benchmark_skips_in_one_line_without_the_data(tmp_path, capsys):
    from benchmarks import bench_realcrowd

    assert bench_realcrowd.main(["--data", str(tmp_path / "nowhere")]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("real-crowd benchmark skipped:")


def test_cli_benchmark_times_whole_processes_on_a_tiny_crowd(capsys):
    from benchmarks import bench_cli

    bench_cli.main(["--tasks", "300", "--workers", "12", "--repeats", "1", "--cohen-units", "200",
                    "--cohen-annotators", "10"])
    out = capsys.readouterr().out
    for row in ("aggregate dawid_skene", "aggregate majority", "agreement", "annotators", "annotators 1% gold"):
        line = next(x for x in out.splitlines() if x.startswith(row + " "))
        assert float(line[len(row):].split()[0]) > 0, line
    assert "Cohen's kappa bootstrap interval" in out and "interval [" in out


def test_redundancy_bound_labels_with_the_known_crowd_and_spends_the_budget():
    """benchmarks/bench_redundancy_bound.py on a tiny simulated crowd: the known crowd (Dawid-Skene on every
    answer) labels the full table as the fit itself does, and both steerings spend exactly the budget."""
    from workbench.spec.redundancy import RedundancySpec

    from benchmarks import bench_redundancy as bench
    from benchmarks import bench_redundancy_bound as bound

    data = bench.simulated("tiny", 4, n_tasks=60, accuracy=(0.5, 0.9))
    crowd = bound.known_crowd(data)
    assert set(crowd.log_confusion) == set(data.labels["annotator"])
    units, post = crowd.posteriors(data.labels)
    fit = bench.aggregate_table(bench.get_registry(), data.schema, data.labels, "dawid_skene").labels
    mine = dict(zip(units, [crowd.classes[i] for i in post.argmax(axis=1)]))
    same = np.mean([mine[str(u)] == lab for u, lab in zip(fit["unit"], fit["label"])])
    assert same >= 0.95 and np.allclose(post.sum(axis=1), 1.0)
    assert crowd.accuracy(data, data.labels) == pytest.approx(bench.accuracy(data, data.labels, "dawid_skene"), abs=0.05)
    policy = RedundancySpec(initial=1, max=5, target=0.99, target_by="one_coin", budget=150, per_round=6)
    for steer in bound.STEERS:
        t = bound.replay(data, 0, policy, steer, crowd)
        assert len(t) == 150 and t.groupby("unit").size().max() <= 5
    rows = bound.run([data], 2, budget=2.5, per_round=0.1, most=5)
    k5 = next(r for r in rows if r["run"] == "fixed k=5")
    assert k5["fitted_vs_k5"] == 0.0 and k5["per_unit"] == 5.0
    assert [r["per_unit"] for r in rows[1:]] == [2.5, 2.5]

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

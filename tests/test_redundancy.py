"""Adaptive redundancy (issue 12): units below target get one more annotator round after round,
until they reach the target, ``max`` or the budget; ``run`` loops by itself and stops."""

import json
import math
from collections import Counter

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench import redundancy
from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.redundancy import COLUMNS, PRIOR_ACCURACY, PRIOR_ANSWERS, decide, one_coin_scores
from workbench.spec import load_spec
from workbench.spec.redundancy import RedundancySpec
from workbench.steps import redundancy as step
from workbench.store import Store

from helpers import pool, write_spec

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("chloe", "careful"), ("dev", "hasty"), ("eve", "hasty"),
             ("sam", "spammer"), ("tom", "spammer"))
GOLD = '[gold]\nfile = "{gold}"\nrate = 0.3\n'


def spec_file(tmp_path, redundancy: str, initial: int = 2, method: str = "majority", gold: bool = False,
              crowd: str = CROWD):
    from helpers import ROOT

    g = GOLD.format(gold=ROOT / "tasks" / "gold" / "sentiment.jsonl") if gold else ""
    return write_spec(tmp_path, pool=crowd, overlap=initial, gold=g,
                      documents=str(ROOT / "tasks" / "articles" / "*.txt") if gold else None,
                      extra=f'[aggregate]\nmethod = "{method}"\n[redundancy]\n{redundancy}\n')


def per_unit(c) -> Counter:
    return Counter(a.unit for a in c.state.assignments if a.planned)


def shares(c) -> dict[str, float]:
    """Each unit's majority share over its counted labels (gold not used)."""
    t = c.table()
    out = {}
    for u, g in t.groupby("unit"):
        out[u] = g["label"].astype(str).value_counts().iloc[0] / len(g)
    return out


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


# -- the policy, a plain function ----------------------------------------------------------------------------
def table(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def test_decide_settles_by_target_max_no_one_left_and_waits_for_open_places():
    pol = RedundancySpec(initial=2, max=4, target=0.8)
    d = decide(table([("a", 2, 0, 1.0, 3), ("b", 4, 0, 0.5, 3), ("c", 3, 0, 0.5, 0), ("d", 2, 1, 0.5, 3),
                      ("e", 2, 0, 0.5, 3), ("f", 3, 0, math.nan, 2)]), pol)
    assert d.settled == {"a": "target", "b": "max", "c": "no one left"}
    assert d.waiting == ["d"] and d.open_places == 1
    assert d.more == ["f", "e"]  # no score yet counts as the least settled
    assert d.spent == 16 and d.budget_left is None and not d.done


def test_decide_spends_the_budget_on_the_least_settled_first():
    pol = RedundancySpec(initial=2, max=5, target=0.9, budget=13)
    d = decide(table([("a", 2, 0, 0.5, 3), ("b", 2, 0, 0.7, 3), ("c", 3, 0, 0.5, 3), ("d", 2, 0, 0.6, 3),
                      ("e", 2, 0, 0.95, 3)]), pol)
    assert d.spent == 11 and d.more == ["a", "c"] and d.budget_left == 0
    assert d.settled == {"e": "target", "b": "budget", "d": "budget"}
    with pytest.raises(ValueError, match="no column 'free'"):
        decide(table([])[["unit", "labels", "open", "score"]], pol)


def test_decide_per_round_defers_all_but_the_least_settled():
    rows = [("a", 2, 0, 0.5, 3), ("b", 2, 0, 0.7, 3), ("c", 3, 0, 0.5, 3), ("d", 2, 0, 0.6, 3), ("e", 2, 0, 0.95, 3)]
    d = decide(table(rows), RedundancySpec(initial=2, max=5, target=0.9, per_round=2))
    assert d.more == ["a", "c"] and d.deferred == ["d", "b"] and d.settled == {"e": "target"}
    assert not d.done and d.summary()["deferred"] == 2
    # with a budget: the budget's room is the cap first; units past it are settled (budget), not deferred
    d = decide(table(rows), RedundancySpec(initial=2, max=5, target=0.9, per_round=1, budget=13))
    assert d.more == ["a"] and d.deferred == ["c"] and d.settled == {"e": "target", "d": "budget", "b": "budget"}


def test_decide_calibration_units_come_first_whatever_their_score():
    rows = [(f"u{i}", 2, 0, 1.0 if i % 2 else 0.5, 3) for i in range(20)]
    pol = RedundancySpec(initial=2, max=5, target=0.9, calibration=0.1, calibration_labels=4)
    picked = redundancy.calibration_units([r[0] for r in rows], pol)
    assert len(picked) == 2 and picked == redundancy.calibration_units([r[0] for r in reversed(rows)], pol)
    d = decide(table(rows), pol)
    assert d.more[:2] == sorted(picked, key=redundancy._draw)  # first, even a unit at score 1.0 (above target)
    assert set(d.more[2:]) == {r[0] for r in rows if r[3] < 0.9} - picked
    assert not set(d.settled) & picked
    # up to calibration_labels: then the score rules again (here: settled by target or still below it)
    done = [(u, 4 if u in picked else n, o, sc, f) for u, n, o, sc, f in rows]
    d = decide(table(done), pol)
    assert not set(d.more) & {u for u in picked if dict((r[0], r[3]) for r in rows)[u] >= 0.9}
    # a budget and per_round apply to them like to any unit, and no one left settles them
    d = decide(table(rows), RedundancySpec(initial=2, max=5, target=0.9, calibration=0.1, per_round=1))
    assert d.more == sorted(picked, key=redundancy._draw)[:1]
    lonely = [(u, n, o, sc, 0 if u in picked else f) for u, n, o, sc, f in rows]
    assert set(decide(table(lonely), pol).settled) >= picked
    assert "10% of the units get 4 annotator(s) first (calibration)" in redundancy.describe(pol)
    assert "calibration" not in redundancy.describe(RedundancySpec())


def test_decide_disputed_share_goes_to_the_disputed_units_least_settled_first():
    rows = [(f"u{i}", 2, 0, 0.3 + 0.02 * i, 3) for i in range(20)]
    disputed = {"u4", "u9", "u15", "u17"}
    t = table(rows)
    t["disputed"] = [u in disputed for u in t["unit"]]
    pol = RedundancySpec(initial=2, max=5, target=0.99, per_round=10, disputed_share=0.2)
    d = decide(t, pol)
    # 2 of the 10 places: the two least settled disputed units, then the 8 least settled of the rest
    assert d.more == ["u4", "u9", "u0", "u1", "u2", "u3", "u5", "u6", "u7", "u8"]
    assert set(d.deferred) == {f"u{i}" for i in range(20)} - set(d.more)
    # without the share the same table goes by the score alone
    assert decide(t, RedundancySpec(initial=2, max=5, target=0.99, per_round=10)).more == [f"u{i}" for i in range(10)]
    # places the disputed units do not fill go by the score: no unit is left out for want of a dispute
    d = decide(t, RedundancySpec(initial=2, max=5, target=0.99, per_round=10, disputed_share=1.0))
    assert d.more[:4] == ["u4", "u9", "u15", "u17"] and d.more[4:] == ["u0", "u1", "u2", "u3", "u5", "u6"]
    t0 = t.assign(disputed=False)
    assert decide(t0, pol).more == [f"u{i}" for i in range(10)]
    # settled and waiting units are never picked for a dispute; a budget caps the round as per_round does
    t2 = t.copy()
    t2.loc[t2["unit"] == "u4", "score"] = 1.0
    t2.loc[t2["unit"] == "u9", "open"] = 1
    d = decide(t2, RedundancySpec(initial=2, max=5, target=0.99, budget=45, disputed_share=0.5))
    assert d.settled["u4"] == "target" and "u9" in d.waiting
    assert d.more == ["u15", "u17", "u0", "u1", "u2"]  # 5 places: round(2.5) = 2 to the disputes
    # calibration units still come first
    pol_c = RedundancySpec(initial=2, max=5, target=0.99, per_round=10, disputed_share=0.2, calibration=0.1)
    picked = sorted(redundancy.calibration_units(t["unit"], pol_c), key=redundancy._draw)
    d = decide(t, pol_c)
    assert d.more[:2] == picked and d.more[2:4] == [u for u in ["u4", "u9", "u15"] if u not in picked][:2]
    with pytest.raises(ValueError, match="disputed_share is set but the unit table has no column 'disputed'"):
        decide(table(rows), pol)
    assert ("20% of each round's places first to the units where Dawid-Skene and majority vote disagree"
            in redundancy.describe(pol))
    assert "Dawid-Skene and one-coin disagree" in redundancy.describe(
        RedundancySpec(per_round=3, disputed_share=0.2, disputed_with="one_coin"))
    assert "disagree" not in redundancy.describe(RedundancySpec(per_round=3))
    # disputed_order = "dawid_skene": the disputed units by their dispute_rank (Dawid-Skene's posterior), lowest first
    t["dispute_rank"] = [{"u4": 0.9, "u9": 0.99, "u15": 0.6, "u17": 0.7}.get(u, math.nan) for u in t["unit"]]
    pol_d = RedundancySpec(initial=2, max=5, target=0.99, per_round=10, disputed_share=0.2, disputed_order="dawid_skene")
    assert decide(t, pol_d).more[:3] == ["u15", "u17", "u0"]
    assert "lowest Dawid-Skene posterior first" in redundancy.describe(pol_d)


def test_disputes_are_where_dawid_skene_and_the_other_model_differ():
    from workbench.models import LabelKind, LabelSchema
    from workbench.registry import get_registry

    # five annotators: a, b, c always right; s1 and s2 always answer "x" (spammers). On the units where the
    # two spammers answer with one honest annotator, majority vote says "x"; Dawid-Skene, having learnt
    # the spammers' confusion from the other units, follows the honest one
    rows = []
    truth = {}
    for i in range(30):
        y = "yz"[i % 2]
        truth[f"u{i}"] = y
        for a in ("a", "b", "c"):
            rows.append((f"u{i}", a, y))
        for s in ("s1", "s2"):
            rows.append((f"u{i}", s, "x"))
    for i in range(30, 36):
        y = "yz"[i % 2]
        rows += [(f"u{i}", "a", y), (f"u{i}", "s1", "x"), (f"u{i}", "s2", "x")]
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    schema = LabelSchema(LabelKind.SINGLE, ("x", "y", "z"))
    mv = RedundancySpec(per_round=3, disputed_share=0.2)
    found = step.disputes(get_registry(), schema, t, mv)
    assert set(found) == {f"u{i}" for i in range(30, 36)}
    assert all(0.5 < p <= 1 for p in found.values())  # Dawid-Skene's posterior of its own label
    # against one-coin (a coin for every annotator, no confusion): the spammers are right on no unit, so
    # their weight is low and one-coin follows the honest answer too: no dispute
    oc = RedundancySpec(per_round=3, disputed_share=0.2, disputed_with="one_coin")
    assert redundancy.one_coin_labels(t, 3)["u30"] == "y"
    assert step.disputes(get_registry(), schema, t, oc) == {}
    assert step.disputes(get_registry(), schema, t.iloc[:0], mv) == {}
    spans = LabelSchema(LabelKind.SPANS, ("PER",))
    with pytest.raises(WorkbenchError, match="disputed_share needs one label per answer"):
        step.disputes(get_registry(), spans, t, mv)


# -- the loop on the local backend -----------------------------------------------------------------------------
def reference_one_coin(rows, k, iterations=10, prior_answers=PRIOR_ANSWERS):
    """The smoothed one-coin posterior written plainly, one answer at a time."""
    q = {a: PRIOR_ACCURACY for _, a, _ in rows}
    units = sorted({u for u, _, _ in rows})
    post = {}
    for _ in range(iterations):
        for u in units:
            w = {c: 0.0 for c in range(k)}
            for uu, a, y in rows:
                if uu == u:
                    qa = min(max(q[a], 1e-3), 1 - 1e-3)
                    w[int(y)] += math.log(qa * (k - 1) / (1 - qa))
            top = max(w.values())
            z = sum(math.exp(v - top) for v in w.values())
            post[u] = {c: math.exp(v - top) / z for c, v in w.items()}
        for a in q:
            mine = [(uu, y) for uu, aa, y in rows if aa == a]
            q[a] = (sum(post[uu][int(y)] for uu, y in mine) + prior_answers * PRIOR_ACCURACY) / (len(mine) + prior_answers)
    return {u: max(p.values()) for u, p in post.items()}


def test_one_coin_scores_match_a_plain_reference_and_are_not_over_confident():
    import numpy as np

    rng = np.random.default_rng(7)
    rows = []
    for u in range(40):
        truth = int(rng.integers(3))
        for a in rng.choice(8, size=int(rng.integers(1, 5)), replace=False):
            right = rng.random() < (0.9 if a < 4 else 0.4)
            rows.append((f"u{u}", f"a{a}", str(truth if right else int(rng.integers(3)))))
    table_ = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    got = one_coin_scores(table_, 3)
    want = reference_one_coin([(u, a, int(y)) for u, a, y in rows], 3)
    assert set(got) == set(want)
    for u in want:
        assert got[u] == pytest.approx(want[u], abs=1e-9), u
    # [redundancy] one_coin_prior: a prior worth more answers, the same reference
    got6 = one_coin_scores(table_, 3, prior_answers=6)
    want6 = reference_one_coin([(u, a, int(y)) for u, a, y in rows], 3, prior_answers=6)
    for u in want6:
        assert got6[u] == pytest.approx(want6[u], abs=1e-9), u
    assert any(abs(got6[u] - got[u]) > 1e-3 for u in got)
    # two newcomers who agree: far from certain (Dawid-Skene would say 0.99+); a dissent lowers it
    two = pd.DataFrame([("x", "p", "a"), ("x", "q", "a")], columns=["unit", "annotator", "label"])
    three = pd.concat([two, pd.DataFrame([("x", "r", "b")], columns=two.columns)])
    s2, s3 = one_coin_scores(two, 4)["x"], one_coin_scores(three, 4)["x"]
    assert 0.85 < s2 < 0.99 and s3 < s2
    # the same two agreeing answers weigh more from annotators who agree with others elsewhere
    good = table_[table_["annotator"].isin(["a0", "a1"])]
    bad = table_[table_["annotator"].isin(["a6", "a7"])]
    assert np.mean(list(one_coin_scores(good, 3).values())) > np.mean(list(one_coin_scores(bad, 3).values()))


@pytest.mark.parametrize("prior", [None, 6])
def test_target_by_one_coin_runs_the_loop_on_the_one_coin_posterior(tmp_path, home, prior):
    extra = "" if prior is None else f"\none_coin_prior = {prior}"
    c = Campaign(load_spec(spec_file(tmp_path, 'initial = 2\nmax = 5\ntarget = 0.9\ntarget_by = "one_coin"' + extra,
                                     method="dawid_skene")), Store(home))
    out = c.run()
    assert out["redundancy"]["stopped"] == "every unit settled" and len(out["redundancy"]["rounds"]) >= 1
    counts = per_unit(c)
    score = one_coin_scores(c.table(), len(c.task_type.schema.labels), prior_answers=prior)
    for u, n in counts.items():  # every unit stopped at the one-coin target (with the campaign's prior) or at max
        assert score[u] >= 0.9 - 1e-9 or n == 5, (u, n, score[u])
    assert min(counts.values()) == 2 and sum(counts.values()) < 5 * len(counts)
    assert any(n > 2 for n in counts.values())
    st = c.status()["redundancy"]
    assert st["target_by"] == "one_coin" and "one_coin is below 0.9" in st["policy"]
    assert st["one_coin_prior"] == (prior or 2.0)
    assert ("one-coin prior worth 6 answer(s) per annotator" in st["policy"]) == (prior == 6)


def test_run_loops_until_every_unit_reaches_target_or_max(tmp_path, home):
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.9")), Store(home))
    out = c.run()
    loop = out["redundancy"]
    assert loop["stopped"] == "every unit settled" and len(loop["rounds"]) >= 2
    rounds = c.state.rounds
    assert [r["kind"] for r in rounds] == ["initial"] + ["adaptive"] * len(loop["rounds"])
    counts, share = per_unit(c), shares(c)
    assert min(counts.values()) == 2 and max(counts.values()) == 5
    for u, n in counts.items():  # every unit stopped for a reason the policy names
        assert share[u] >= 0.9 or n == 5, (u, n, share[u])
    # a settled unit gets no more: each adaptive round's units are among the previous round's
    by_round: dict[int, set] = {}
    for a in c.state.assignments:
        by_round.setdefault(a.round, set()).add(a.unit)
    adaptive = sorted(r["round"] for r in rounds if r["kind"] == "adaptive")
    for r1, r2 in zip(adaptive, adaptive[1:]):
        assert by_round[r2] <= by_round[r1]
    # every answer is in, each from someone who had not labeled the unit before
    assert all(r["answered"] == r["assignments"] for r in rounds)
    pairs = [(a.unit_id, a.annotator_id) for a in c.annotations()]
    assert len(pairs) == len(set(pairs)) == sum(counts.values())
    # adaptive spends less than giving every unit 5
    assert sum(counts.values()) < 5 * len(counts)
    again = c.run()  # nothing left: a re-run makes no round
    assert again["redundancy"]["rounds"] == [] and len(c.state.rounds) == len(rounds)
    st = c.status()["redundancy"]
    assert st["adaptive_rounds"] == len(adaptive) and st["spent"] == sum(counts.values()) == st["answered"]
    assert st["settled"]["target"] + st["settled"]["max"] == len(counts) and st["waiting"] == 0
    assert st["units_by_annotators"]["2"] == sum(1 for n in counts.values() if n == 2)


def test_units_stop_at_max_and_when_no_one_is_left(tmp_path, home):
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 3\ntarget = 1.0")), Store(home))
    c.run()
    counts, share = per_unit(c), shares(c)
    assert max(counts.values()) == 3
    assert all(n == 3 for u, n in counts.items() if share[u] < 1.0)
    assert c.status()["redundancy"]["settled"]["max"] == sum(1 for u in counts if share[u] < 1.0) > 0
    # a pool of three: nobody is left after three, whatever max says
    small = pool(("ana", "expert"), ("dev", "hasty"), ("sam", "spammer"))
    c2 = Campaign(load_spec(spec_file(tmp_path / "b", "initial = 2\nmax = 6\ntarget = 1.0", crowd=small)),
                  Store(tmp_path / "home2"))
    c2.run()
    counts2 = per_unit(c2)
    assert max(counts2.values()) == 3
    assert c2.status()["redundancy"]["settled"]["no one left"] > 0


def test_the_budget_is_respected_exactly(tmp_path, home):
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.9")), Store(home))
    c.run(until="assign")
    n_units = len(c.units())
    budget = 2 * n_units + 7
    spec = spec_file(tmp_path, f"initial = 2\nmax = 5\ntarget = 0.9\nbudget = {budget}")
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    assert sum(per_unit(c).values()) == budget
    st = c.status()["redundancy"]
    assert st["spent"] == budget and st["budget"] == budget and st["settled"]["budget"] > 0
    assert len(c.annotations()) == budget


def test_per_round_spends_the_budget_least_certain_first_over_more_rounds(tmp_path, home):
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.9")), Store(home))
    c.run(until="assign")
    n_units = len(c.units())
    budget = 2 * n_units + 9
    spec = spec_file(tmp_path / "p", f"initial = 2\nmax = 5\ntarget = 0.9\nbudget = {budget}\nper_round = 4",
                     crowd=CROWD)
    c = Campaign(load_spec(spec), Store(tmp_path / "home-p"))
    out = c.run()
    assert sum(per_unit(c).values()) == budget
    adaptive = [r for r in c.state.rounds if r["kind"] == "adaptive"]
    assert len(adaptive) == 3 and [r["assignments"] for r in adaptive] == [4, 4, 1]
    assert "deferred: per_round 4" in adaptive[0]["reason"] and "deferred" not in adaptive[-1]["reason"]
    st = c.status()["redundancy"]
    assert st["spent"] == budget and st["per_round"] == 4 and out is not None


def test_calibration_gives_its_share_of_units_their_labels_first(tmp_path, home):
    spec = spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.99\ntarget_by = \"one_coin\"\n"
                               "calibration = 0.2\ncalibration_labels = 4\nper_round = 3")
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    counts = per_unit(c)
    picked = redundancy.calibration_units(list(counts), c.spec.redundancy)
    assert len(picked) == round(0.2 * len(counts)) >= 2
    assert all(counts[u] >= 4 for u in picked)
    # they came first: the first adaptive rounds went to them only, per_round at a time
    adaptive = sorted(r["round"] for r in c.state.rounds if r["kind"] == "adaptive")
    first = {a.unit for a in c.state.assignments if a.round == adaptive[0]}
    assert first <= picked and len(first) == 3
    st = c.status()["redundancy"]
    assert st["calibration"] == 0.2 and st["calibration_labels"] == 4
    assert "20% of the units get 4 annotator(s) first (calibration)" in st["policy"]
    text = run(home, "status", "c1").output
    assert "(calibration)" in text
    # changing it is a new spec version
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.99\ntarget_by = \"one_coin\"\n"
                                               "calibration = 0.3\ncalibration_labels = 4\nper_round = 3")),
                 Store(home))
    c.run()
    assert "redundancy.calibration: 0.2 -> 0.3" in c.state.versions[-1]["changes"]


def test_disputed_share_gives_the_disputed_units_their_places_first(tmp_path, home, monkeypatch):
    body = ("initial = 2\nmax = 5\ntarget = 0.99\ntarget_by = \"one_coin\"\nper_round = 4\n"
            "disputed_share = 0.5\ndisputed_with = \"{with_}\"")
    spec = spec_file(tmp_path, body.format(with_="majority"))
    found: list[set[str]] = []
    checks: list[tuple[pd.DataFrame, redundancy.Decision]] = []
    real, real_decide = step.disputes, step.decide

    def spy(*args, **kw):
        out = real(*args, **kw)
        found.append(set(out))
        return out

    def spy_decide(units, policy, spent=None):
        checks.append((units, real_decide(units, policy, spent)))
        return checks[-1][1]

    monkeypatch.setattr(step, "disputes", spy)
    monkeypatch.setattr(step, "decide", spy_decide)
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    adaptive = sorted(r["round"] for r in c.state.rounds if r["kind"] == "adaptive")
    assert len(adaptive) >= 2 and len(found) == len(checks) >= len(adaptive)
    # each check: the table's column is what disputes found, and of its 4 places the first 2 go to
    # disputed units below target (as many as there are), the others by the score
    for n, (units, d) in enumerate(checks):
        assert set(units.loc[units["disputed"], "unit"]) == found[n] and "dispute_rank" not in units
        wanting = [u for u in d.more + d.deferred if u in found[n]]
        assert set(d.more[:min(2, len(wanting))]) <= found[n], (n, d.more, wanting)
    # and the rounds written are those decisions
    made = [d.more for _, d in checks if d.more]
    assert [sorted(m) for m in made] == [sorted({a.unit for a in c.state.assignments if a.round == r})
                                         for r in adaptive]
    assert sum(1 for n, (_, d) in enumerate(checks) if set(d.more) & found[n]) >= 2, \
        "the crowd with spammers gives Dawid-Skene and majority vote something to dispute"
    st = c.status()["redundancy"]
    assert st["disputed_share"] == 0.5 and st["disputed_with"] == "majority"
    assert "50% of each round's places first to the units where Dawid-Skene and majority vote disagree" in st["policy"]
    assert "majority vote disagree" in run(home, "status", "c1").output
    card = open(c.state.step("export")["card"], encoding="utf-8").read()
    assert "majority vote disagree" in card
    # changing it is a new spec version
    checks.clear()
    c = Campaign(load_spec(spec_file(tmp_path, body.format(with_="one_coin") + '\ndisputed_order = "dawid_skene"')),
                 Store(home))
    c.run()
    assert "redundancy.disputed_with: 'majority' -> 'one_coin'" in c.state.versions[-1]["changes"]
    assert "redundancy.disputed_order: 'score' -> 'dawid_skene'" in c.state.versions[-1]["changes"]
    assert c.status()["redundancy"]["disputed_with"] == "one_coin"
    assert checks and all("dispute_rank" in units for units, _ in checks)


def test_honeypots_follow_the_same_rule(tmp_path, home):
    # dawid_skene clamps gold units to their gold label: the policy judges without gold, so honeypots
    # still get more annotators when their answers disagree, like any unit
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.9", method="dawid_skene",
                                     gold=True)), Store(home))
    c.run()
    counts = per_unit(c)
    pots = [u.id for u in c.units() if u.is_gold]
    regular = [u.id for u in c.units() if not u.is_gold]
    assert len(pots) >= 5
    assert any(counts[u] > 2 for u in pots)
    mean_pot = sum(counts[u] for u in pots) / len(pots)
    mean_reg = sum(counts[u] for u in regular) / len(regular)
    assert abs(mean_pot - mean_reg) < 1.0, (mean_pot, mean_reg)
    # the honeypots' numbers come from the same scores: recompute them without gold

    c._fresh()
    with c._working():
        plan, decision = step.check(c.context())
    assert decision.done and set(decision.settled) == set(counts)


def test_people_with_open_places_do_not_hold_the_loop(tmp_path, home):
    crowd = CROWD + '\n[[annotators]]\nid = "you"\nemail = "you@example.org"\n'
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.9", crowd=crowd)), Store(home))
    for name in ("plan", "assign", "push", "simulate", "pull", "aggregate"):  # round 1 only, no check yet
        getattr(c, name)()
    c._fresh()
    with c._working():
        _, first_check = step.check(c.context())
    you = {a.unit for a in c.state.assignments if a.annotator == "you"}
    assert set(first_check.waiting) == you  # right after the round that gave them out, the places are fresh
    out = c.run()["redundancy"]
    assert out["stopped"] == "every unit settled" and out["waiting"] == 0
    assert you == {a.unit for a in c.state.assignments if a.annotator == "you" and a.round == 1}
    # new places go to those who keep up, never to a queue left untouched; and once the person's places
    # were overdue (a whole round went by), their units were judged on the answers they had: the unsure
    # ones got another annotator instead of waiting for someone who does not come
    later = {a.unit for a in c.state.assignments if a.round > 1}
    assert you & later
    again = c.run()["redundancy"]  # nothing left to do: a re-run ends at once
    assert again["rounds"] == [] and again["stopped"] == out["stopped"]


def test_status_and_card_show_rounds_settled_and_spent(tmp_path, home):
    spec = spec_file(tmp_path, "initial = 2\nmax = 4\ntarget = 0.9\nbudget = 1000")
    result = run(home, "run", str(spec))
    assert result.exit_code == 0, result.output
    assert "redundancy: start with 2 annotator(s) per unit" in result.output
    st = json.loads(run(home, "status", "c1", "--json").output)["redundancy"]
    assert st["adaptive_rounds"] >= 1 and st["rounds"] == st["adaptive_rounds"] + 1
    assert st["spent"] == sum(r["assignments"] for r in json.loads(run(home, "status", "c1", "--json").output)
                              ["rounds"])
    text = run(home, "status", "c1").output
    assert f"annotations spent: {st['spent']} (answered {st['answered']}, budget 1000)" in text
    assert "last check: settled" in text
    c = Campaign.open("c1", Store(home))
    exp = c.state.step("export")
    card = open(exp["card"], encoding="utf-8").read()
    assert "adaptive redundancy" in card and f"{st['spent']} annotations spent" in card
    assert "every unit went to" not in card


@pytest.mark.parametrize("table_, message", [
    ("initial = 0", "redundancy.initial: expected at least 1 annotator per unit to start with, got 0"),
    ("initial = 3\nmax = 2", "redundancy.max: expected at least initial (3) annotators per unit, got 2"),
    ("target = 1.5", "redundancy.target: expected a posterior or agreement in (0, 1] a unit must reach, got 1.5"),
    ('target = "high"', "redundancy.target: expected a posterior or agreement in (0, 1]"),
    ('target_by = "votes"', "redundancy.target_by: expected one of posterior, agreement, one_coin, got 'votes'"),
    ("budget = 0", "redundancy.budget: expected a total number of annotations of at least 1, got 0"),
    ("max = 2.5", "redundancy.max: expected a whole number, got 2.5"),
    ("maximum = 4", "redundancy.maximum: unknown field (expected one of budget, calibration, calibration_labels, "
                    "disputed_order, disputed_share, disputed_with, initial, max, one_coin_prior, per_round, target, target_by)"),
    ('per_round = 4\ndisputed_share = 0.2\ndisputed_order = "margin"', "redundancy.disputed_order: expected one of "
                                                                      "score, dawid_skene (how the disputed units are "
                                                                      "ranked), got 'margin'"),
    ('per_round = 4\ndisputed_order = "score"', "redundancy.disputed_order: is set but redundancy.disputed_share is not"),
    ("per_round = 4\ndisputed_share = 0", "redundancy.disputed_share: expected the share in (0, 1] of a round's "
                                         "places kept for the units where Dawid-Skene and disputed_with disagree, got 0"),
    ("per_round = 4\ndisputed_share = 1.5", "redundancy.disputed_share: expected the share in (0, 1]"),
    ("per_round = 4\ndisputed_share = true", "redundancy.disputed_share: expected the share in (0, 1]"),
    ("disputed_share = 0.2", "redundancy.disputed_share: is set but neither redundancy.per_round nor "
                             "redundancy.budget is"),
    ('per_round = 4\ndisputed_share = 0.2\ndisputed_with = "glad"', "redundancy.disputed_with: expected one of "
                                                                    "majority, one_coin (compared with Dawid-Skene's "
                                                                    "labels), got 'glad'"),
    ('per_round = 4\ndisputed_with = "majority"', "redundancy.disputed_with: is set but redundancy.disputed_share "
                                                   "is not"),
    ("calibration = 1.5", "redundancy.calibration: expected the share of the units in (0, 1) given calibration_labels "
                          "annotators first, got 1.5"),
    ('calibration = "10%"', "redundancy.calibration: expected the share of the units in (0, 1)"),
    ("calibration = 0.1\ncalibration_labels = 6", "redundancy.calibration_labels: expected a number of annotators "
                                                  "from initial (2) to max (5), got 6"),
    ("calibration_labels = 4", "redundancy.calibration_labels: is set but redundancy.calibration is not"),
    ('target_by = "one_coin"\none_coin_prior = 0', "redundancy.one_coin_prior: expected the number of answers "
                                                 "(> 0, at most 1000) the one-coin prior on every annotator is worth, got 0"),
    ("one_coin_prior = 4", "redundancy.one_coin_prior: is set but redundancy.target_by is 'posterior'"),
    ("per_round = 0", "redundancy.per_round: expected a number of units of at least 1 per round, got 0"),
    ('per_round = "5%"', "redundancy.per_round: expected a whole number, got '5%'"),
    ("initial = 9", "redundancy.initial: 9 annotators per unit, but the pool has only 7"),
])
def test_bad_redundancy_values_are_one_clear_line(tmp_path, home, table_, message):
    path = tmp_path / "bad.toml"
    spec = spec_file(tmp_path, table_).read_text("utf-8").replace("overlap = 2\n", "")
    path.write_text(spec, "utf-8")
    result = run(home, "run", str(path))
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_overlap_and_initial_must_agree_and_old_files_keep_working(tmp_path, home):
    spec = spec_file(tmp_path, "initial = 3", initial=2)
    with pytest.raises(WorkbenchError, match="overlap: is 2 but redundancy.initial is 3"):
        load_spec(spec)
    s = load_spec(spec_file(tmp_path, "max = 4", initial=2))  # overlap is the initial number
    assert s.redundancy.initial == 2 and s.overlap == 2 and s.redundancy.max == 4
    old = load_spec(write_spec(tmp_path / "old", overlap=3))
    assert old.redundancy is None and old.overlap == 3
    with pytest.raises(WorkbenchError, match=r"redundancy: expected a table"):
        load_spec(write_spec(tmp_path / "x", extra="redundancy = 3"))


def test_changing_the_policy_is_a_new_spec_version(tmp_path, home):
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 3\ntarget = 0.9")), Store(home))
    c.run()
    before = sum(per_unit(c).values())
    c = Campaign(load_spec(spec_file(tmp_path, "initial = 2\nmax = 5\ntarget = 0.9")), Store(home))
    c.run()
    assert "redundancy.max: 3 -> 5" in c.state.versions[-1]["changes"]
    assert sum(per_unit(c).values()) > before and max(per_unit(c).values()) > 3


def test_one_coin_on_a_span_task_is_one_clear_line(tmp_path, home):
    path = write_spec(tmp_path, task_type="text", pool=CROWD, overlap=2,
                      extra='[redundancy]\ninitial = 2\nmax = 4\ntarget = 0.9\ntarget_by = "one_coin"\n')
    result = run(home, "run", str(path))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert ('redundancy.target_by = "one_coin" needs one label per answer (single or ordinal); '
            "this task's are spans") in result.output
    assert len(result.output.strip().splitlines()) == 1

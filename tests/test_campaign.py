"""The campaign engine on the local backend: steps, idempotency, gold, validation on pull."""

import json
from collections import Counter

import pytest

from workbench.campaign import Campaign
from workbench.models import AnnotationStatus
from workbench.registry import get_registry
from workbench.spec import load_spec
from workbench.steps.plan import honeypot_count
from workbench.store import Store

from helpers import write_spec


def gold_from_prelabels(tmp_path, task_type="sentiment", documents=None):
    """A gold file for the mechanics tests: the labels themselves do not matter here."""
    spec = write_spec(tmp_path / "g", name="g", task_type=task_type, documents=documents)
    c = Campaign(load_spec(spec), Store(tmp_path / "ghome"))
    c.plan()
    path = tmp_path / "gold.jsonl"
    with open(path, "w") as fh:
        for uid, pre in c.prelabels().items():
            fh.write(json.dumps({"unit_id": uid, "label": pre.label}) + "\n")
    return path


@pytest.fixture
def campaign(tmp_path, home):
    gold = gold_from_prelabels(tmp_path)
    spec = write_spec(tmp_path, gold=f'[gold]\nfile = "{gold}"\nrate = 0.2')
    return Campaign(load_spec(spec), Store(home))


def test_full_run_gives_k_distinct_annotators_per_unit(campaign):
    results = campaign.run()
    units = campaign.units()
    plan = results["plan"]
    assert plan["units"] == len(units) > 50 and plan["gold_units"] == len(units)
    per_unit = Counter(a.unit_id for a in campaign.annotations())
    pairs = Counter((a.unit_id, a.annotator_id) for a in campaign.annotations())
    assert max(pairs.values()) == 1
    # honeypots are blind: the same overlap as any unit
    assert any(u.is_gold for u in units)
    for u in units:
        assert per_unit[u.id] == 3, u
    loads = Counter(a.annotator_id for a in campaign.annotations())
    assert max(loads.values()) - min(loads.values()) <= 1
    gold = {u.id for u in units if u.is_gold}
    gold_loads = Counter(a.annotator_id for a in campaign.annotations() if a.unit_id in gold)
    assert len(gold_loads) == 4 and max(gold_loads.values()) - min(gold_loads.values()) <= 1
    assert results["aggregate"]["units"] == len(units)
    assert results["export"]["records"] == len(units)


def test_gold_share_matches_the_rate(campaign):
    campaign.run(until="assign")
    shares = campaign.state.step("assign")["gold_share"]
    for share in shares.values():
        assert share == pytest.approx(0.2, abs=0.03)


def test_the_first_rounds_summary_is_what_sql_counts(campaign):
    """The first round's summary, counted from the rows it wrote, is what the store's SQL counts of the
    same assignments give: the same annotators in the same order, the same numbers to the bit."""
    from workbench.steps.assign import first_counts
    from workbench.store import work as work_sql

    summary = campaign.run(until="assign")["assign"]
    store, name = campaign.store, campaign.name
    loads, share = work_sql.planned_per_annotator(store, name), work_sql.gold_share(store, name)
    assert summary["per_annotator"] == loads and list(summary["per_annotator"]) == list(loads)
    assert summary["gold_share"] == {a: round(v, 3) for a, v in share.items()}
    assert list(summary["gold_share"]) == list(share) and summary["assignments"] == sum(loads.values())
    rows = [(a.unit, a.annotator, a.position) for a in campaign.state.assignments]
    pots = {u.id for u in campaign.units() if u.is_gold}
    assert 0 < len(pots) < len(campaign.units())
    counted = first_counts(rows[::-1], pots)
    assert counted == (loads, share) and list(counted[0]) == list(loads) and list(counted[1]) == list(share)
    assert all(type(v) is float for v in counted[1].values())


def test_honeypot_count_formula():
    # honeypots have the same overlap as other units: G / N == r
    assert honeypot_count(n_units=200, n_gold=200, rate=0.2) == 40
    assert honeypot_count(200, 5, 0.5) == 5  # never more than the gold there is
    assert honeypot_count(200, 100, 0.0) == 0
    assert honeypot_count(3, 3, 0.01) == 1  # a rate above zero gives at least one


def test_every_step_is_idempotent(campaign):
    campaign.run()
    rows = lambda t: sorted(map(tuple, campaign.store.all(f"SELECT * FROM {t} WHERE campaign=?", campaign.name)))
    before = {t: rows(t) for t in ("units", "assignments", "local_results", "annotations", "aggregates")}
    campaign.run()
    assert {t: rows(t) for t in before} == before


def test_same_seed_same_labels_in_another_home(tmp_path, campaign):
    campaign.run()
    other = Campaign(campaign.spec, Store(tmp_path / "home2"))
    other.run()
    key = lambda c: sorted((a.unit_id, a.annotator_id, str(a.label)) for a in c.annotations())
    assert key(campaign) == key(other)


def test_personas_score_in_order_on_gold(campaign):
    campaign.run()
    quality = {r["annotator"]: r for r in campaign.state.quality}
    assert quality["ana"]["gold_accuracy"] > quality["dev"]["gold_accuracy"] > quality["sam"]["gold_accuracy"]
    assert quality["ana"]["gold_accuracy"] > 0.85


def test_pull_quarantines_invalid_flags_extra_records_skips_and_deletes(campaign):
    campaign.run(until="pull")
    db = campaign.store.conn
    units = [u for u in campaign.units() if not u.is_gold]
    bad, extra, skip = units[0].id, units[1].id, units[2].id
    db.execute("UPDATE local_results SET result_json=?, updated_at='9999' WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id="
               "(SELECT MIN(annotator_id) FROM local_results WHERE unit=(SELECT n FROM unit_keys WHERE id=?))",
               (json.dumps([{"from_name": "sentiment", "to_name": "text", "type": "choices",
                             "value": {"choices": ["ecstatic"]}}]), campaign.name, bad, bad))
    done = {r[0] for r in db.execute("SELECT annotator_id FROM local_results WHERE unit=(SELECT n FROM unit_keys WHERE id=?)", (extra,))}
    outsider = next(a.id for a in campaign.spec.annotators if a.id not in done)
    db.execute("INSERT INTO local_results VALUES (?, (SELECT n FROM unit_keys WHERE id=?), ?, ?, 1.0, '9999', '9999', 0)",
               (campaign.name, extra, outsider, json.dumps(
                   [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neutral"]}}])))
    db.execute("UPDATE local_results SET was_cancelled=1, updated_at='9999' WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) "
               "AND annotator_id=(SELECT MIN(annotator_id) FROM local_results WHERE unit=(SELECT n FROM unit_keys WHERE id=?))",
               (campaign.name, skip, skip))
    gone = db.execute("SELECT (SELECT id FROM unit_keys WHERE n=unit), annotator_id FROM local_results WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?)",
                      (campaign.name, units[3].id)).fetchone()
    db.execute("DELETE FROM local_results WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?",
               (campaign.name, gone[0], gone[1]))
    summary = campaign.pull()
    assert summary["invalid"] == 1 and summary["skipped"] == 1 and summary["deleted"] == 1 and summary["extra"] == 1
    by_status = Counter(a.status for a in campaign.annotations())
    assert by_status[AnnotationStatus.INVALID] == 1 and by_status[AnnotationStatus.EXTRA] == 1
    status = campaign.status()
    assert status["quarantined"][0]["unit"] == bad and "ecstatic" in status["quarantined"][0]["reason"]
    table = campaign.table()
    assert not ((table["unit"] == extra) & (table["annotator"] == outsider)).any()
    assert len(table[table["unit"] == bad]) == len(table[table["unit"] == units[5].id]) - 1
    # pulling again changes nothing
    again = campaign.pull()
    assert again["new"] == 0 and again["updated"] == 0 and again["deleted"] == 0


def test_span_campaign_runs_end_to_end(tmp_path, home):
    spec = write_spec(tmp_path, task_type="text")
    c = Campaign(load_spec(spec), Store(home))
    results = c.run()
    assert results["aggregate"]["units"] == results["plan"]["units"]
    labels = [a.label for a in c.annotations()]
    assert all(isinstance(lab, tuple) for lab in labels)
    assert any(len(lab) for lab in labels)


def test_status_counts_per_annotator(campaign):
    campaign.run()
    st = campaign.status()
    assert set(st["annotators"]) == {"ana", "ben", "dev", "sam"}
    for row in st["annotators"].values():
        assert row["assigned"] == row["ok"] > 0
    assert all(v["done"] for v in st["steps"].values())


def test_registry_is_used_for_the_task_type(campaign):
    assert type(campaign.task_type) is type(get_registry().get("task_types", "sentiment"))


def test_changed_gold_after_assignment_is_refused(campaign):
    from workbench.errors import WorkbenchError

    campaign.run(until="assign")
    gold = campaign.spec.resolve(campaign.spec.gold_file)
    lines = gold.read_text().splitlines()
    gold.write_text("\n".join(lines[: len(lines) // 3]) + "\n")
    with pytest.raises(WorkbenchError, match=r"gold.file: changed after campaign 'c1' handed out work \(the gold "
                                             r"file's contents changed\).*start a new campaign"):
        campaign.plan()
    # and the store still holds the old plan
    assert sum(u.is_gold for u in campaign.units()) == campaign.state.step("plan")["honeypots"]


@pytest.mark.parametrize("page", [1, 2, 4, 7])
def test_settling_by_pages_gives_every_answer_the_same_place(campaign, monkeypatch, page):
    """The settling pass reads the annotations a page of units at a time: a unit cut by a page's end
    (or longer than a page) is read whole, and every answer gets the place one pass over all gives."""
    from workbench.steps import pull as pull_step

    campaign.run(until="pull")
    db = campaign.store.conn
    units = [u for u in campaign.units() if not u.is_gold]
    for unit in units[:3]:  # answers beyond the plan (extra) and by someone outside the pool
        done = {r[0] for r in db.execute("SELECT annotator_id FROM local_results WHERE unit=(SELECT n FROM unit_keys WHERE id=?)", (unit.id,))}
        other = next(a.id for a in campaign.spec.annotators if a.id not in done)
        for who in (other, "outsider"):
            db.execute("INSERT INTO local_results VALUES (?, (SELECT n FROM unit_keys WHERE id=?), ?, ?, 1.0, '9999', '9999', 0)",
                       (campaign.name, unit.id, who, json.dumps([{"from_name": "sentiment", "to_name": "text",
                                                                  "type": "choices", "value": {"choices": ["neutral"]}}])))
    campaign.pull()
    rows = lambda: sorted(map(tuple, db.execute("SELECT (SELECT id FROM unit_keys WHERE n=unit), annotator_id, key, status, round FROM annotations WHERE campaign=?",
                                                (campaign.name,))))
    settled = rows()
    assert {r[3] for r in settled} >= {"ok", "extra", "not_in_pool"} and len(settled) > 3 * page
    db.execute("UPDATE annotations SET status='ok', round=NULL WHERE campaign=?", (campaign.name,))
    monkeypatch.setattr(pull_step, "SETTLE_PAGE", page)
    with campaign.store.transaction():
        changed, extra = pull_step.settle(campaign.context())
    assert rows() == settled and extra == 3 and changed == len(settled)

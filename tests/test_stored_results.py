"""The aggregate step's rows made from columns, and the agreement step's quality table from the
consensus's stored Dawid-Skene fit: the same values as the per-unit and fitting paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate.dawid_skene import StoredFit, dawid_skene, stored_annotators
from workbench.agreement.quality import annotator_quality
from workbench.campaign import Campaign
from workbench.spec import load_spec
from workbench.state import CampaignState
from workbench.steps.aggregate import _label_keys, _posterior_json, _Posteriors
from workbench.steps.agreement import _stored_fit
from workbench.store import Store
from workbench.table.encode import encode

from helpers import ROOT, write_spec

DS = '[aggregate]\nmethod = "dawid_skene"\n'


def bits(values) -> list:
    return [np.asarray(v, dtype=float).view(np.int64).tolist() for v in values]


@pytest.fixture
def campaign(tmp_path, home):
    c = Campaign(load_spec(write_spec(tmp_path, task_type="claims", overlap=3, extra=DS)), Store(home))
    c.run()
    return c


def test_the_quality_table_from_the_stored_fit_is_the_fit_again(campaign):
    ctx = campaign.context()
    state, schema = ctx.state, ctx.task_type.schema
    stored = _stored_fit(ctx)
    assert stored is not None and len(stored.units) == len(state.consensus) > 20
    enc = encode(state.table, schema)
    made = stored_annotators(enc, stored)
    fitted = dawid_skene(state.table, schema).annotators
    assert made is not None
    assert list(made["annotator"]) == list(fitted["annotator"])
    assert list(made["n_annotations"]) == list(fitted["n_annotations"])
    assert bits(made["accuracy"]) == bits(fitted["accuracy"])  # bit for bit
    assert bits(made["confusion"]) == bits(fitted["confusion"])
    # the whole quality table, with and without it
    with_fit = annotator_quality(state.table, schema, {}, state.consensus, stored_fit=stored)
    again = annotator_quality(state.table, schema, {}, state.consensus)
    assert with_fit.to_dict("records") == again.to_dict("records")
    # the stored quality rows are those
    assert [q["ds_accuracy"] for q in state.quality] == list(again["ds_accuracy"])


def test_a_stored_fit_of_another_table_is_not_used(campaign):
    ctx = campaign.context()
    state, schema = ctx.state, ctx.task_type.schema
    stored = _stored_fit(ctx)
    enc = encode(state.table, schema)
    swapped = list(stored.units)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    counts = stored.n_annotations.copy()
    counts[0] += 1
    for other in (StoredFit(swapped, stored.n_annotations, stored.posteriors, stored.classes),
                  StoredFit(stored.units, counts, stored.posteriors, stored.classes),
                  StoredFit(stored.units[1:], stored.n_annotations[1:], stored.posteriors[1:], stored.classes),
                  StoredFit(stored.units, stored.n_annotations, stored.posteriors, stored.classes[::-1])):
        assert stored_annotators(enc, other) is None
    # with gold the stored fit is not the one to use: the quality table fits with the gold clamped
    some = {state.table["unit"].iloc[0]: stored.classes[0]}
    assert annotator_quality(state.table, schema, some, state.consensus, stored_fit=stored).to_dict("records") == \
        annotator_quality(state.table, schema, some, state.consensus).to_dict("records")


def test_the_stored_fit_is_taken_only_when_it_is_the_quality_tables_fit(campaign):
    assert _stored_fit(campaign.context()) is not None
    campaign.aggregate("dawid_skene", max_iter=30)  # options: not the default fit
    assert _stored_fit(campaign.context()) is None
    campaign.aggregate("majority")
    assert _stored_fit(campaign.context()) is None
    campaign.aggregate("dawid_skene")
    assert _stored_fit(campaign.context()) is not None
    campaign.store.execute("UPDATE campaigns SET annotations_rev = annotations_rev + 1 WHERE name=?",
                           (campaign.name,))  # the annotations changed since
    campaign._fresh()
    assert _stored_fit(campaign.context()) is None


def test_no_stored_fit_with_honeypots(tmp_path, home):
    folder = tmp_path / "g"
    folder.mkdir()
    gold = folder / "gold.jsonl"
    rows = (ROOT / "tasks" / "gold" / "sentiment.jsonl").read_text("utf-8").splitlines()
    gold.write_text("\n".join(r for r in rows if json.loads(r)["document"].startswith(("000", "001"))) + "\n", "utf-8")
    spec = write_spec(folder, extra=DS, gold=f'[gold]\nfile = "{gold}"\nrate = 0.2\n')
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    assert c.state.honeypot_gold
    assert _stored_fit(c.context()) is None


def test_the_consensus_read_by_blocks_is_the_rows(campaign):
    s = campaign.state
    plain = CampaignState(campaign.store, campaign.name, s.schema, s.task_type)
    rows = CampaignState(campaign.store, campaign.name, s.schema, s.task_type)
    assert rows.consensus_rows
    assert list(plain.consensus.items()) == list(rows.consensus.items())


def test_posterior_json_is_json_dumps():
    units = pd.Index(["u1", "u2", "u3"])
    cols = ["a%s", 'say "hi"', "é%%", "x: y, z"]
    frame = pd.DataFrame([[0.1, 0.2, 1 / 3, 1e-300], [1.0, 0.0, 5e-324, 2.5], [0.3, 0.7, 0.0, 1e20]],
                         index=units, columns=cols)
    want = [json.dumps({str(k): float(v) for k, v in _Posteriors(frame)[u].items()}) for u in units]
    assert _posterior_json(frame, units)(list(units), 0, 3) == want
    assert _posterior_json(frame, units)(["u2", "u3"], 1, 3) == want[1:]
    # NaN (JSON's NaN), other orders, repeated units and integer columns: a dict per unit, as before
    odd = frame.copy()
    odd.iloc[1, 1] = float("nan")
    assert _posterior_json(odd, units)(list(units), 0, 3)[1] == json.dumps(
        {str(k): float(v) for k, v in _Posteriors(odd)["u2"].items()})
    assert "NaN" in _posterior_json(odd, units)(list(units), 0, 3)[1]
    flipped = frame.iloc[::-1]
    assert _posterior_json(flipped, units)(list(units), 0, 3) == want
    ints = pd.DataFrame([[1, 0]], index=pd.Index(["u1"]), columns=[0, 1])
    assert _posterior_json(ints, pd.Index(["u1"]))(["u1"], 0, 1) == ['{"0": 1.0, "1": 0.0}']
    assert _posterior_json(None, units)(list(units), 0, 3) == [None] * 3


def test_label_keys_are_label_key():
    from workbench.models import label_key

    cat = pd.Series(pd.Categorical(["b", "a", None, "b"], categories=["a", "b"]))
    assert _label_keys(cat)(0, 4) == [label_key(x) for x in ["b", "a", float("nan"), "b"]]
    mixed = pd.Series([("x", "y"), "a", 1, 1.0, True, ("x", "y")], dtype=object)
    assert _label_keys(mixed)(1, 6) == [label_key(x) for x in mixed.iloc[1:6]]


def test_the_steps_of_a_run_share_the_vote_table_of_one_revision(tmp_path, home, monkeypatch):
    c = Campaign(load_spec(write_spec(tmp_path, task_type="claims", overlap=3, extra=DS)), Store(home))
    reads = []
    real = CampaignState._read_table

    def counting(self):
        table = real(self)
        reads.append((self.annotations_rev, table))
        return table

    monkeypatch.setattr(CampaignState, "_read_table", counting)
    c.run()
    # read once for aggregate, agreement and export (the pull changed the revision before them)
    assert len(reads) == 1 and reads[0][0] == c.state.annotations_rev
    assert c._tables is None  # the run's table is not kept after it
    alone = c.state.table  # outside a run: read from the rows, as before, the same table
    assert len(reads) == 2 and alone is not reads[0][1] and alone.equals(reads[0][1])
    # a new revision (the annotations changed) is read again inside a run
    c._tables = {}
    first = CampaignState(c.store, c.name, c.state.schema, c.state.task_type, table_cache=c._tables).table
    again = CampaignState(c.store, c.name, c.state.schema, c.state.task_type, table_cache=c._tables).table
    assert again is first and len(reads) == 3
    c.store.execute("UPDATE campaigns SET annotations_rev = annotations_rev + 1 WHERE name=?", (c.name,))
    newer = CampaignState(c.store, c.name, c.state.schema, c.state.task_type, table_cache=c._tables).table
    assert newer is not first and newer.equals(first) and len(reads) == 4
    # a step that lets go of the table (the export, before its formats) lets go of the run's copy too
    state = CampaignState(c.store, c.name, c.state.schema, c.state.task_type, table_cache=c._tables)
    assert state.table is newer and c._tables
    state.forget("table")
    assert "table" not in state.__dict__ and not c._tables

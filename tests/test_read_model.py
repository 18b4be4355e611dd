"""The read model's compact records (issue 14: a million units on one machine) read the same as the plain
ones: stored units with their text and context cut from the document when read, queues from the
assignments' rows, consensus rows without a dict per unit."""

import copy
import dataclasses
import pickle

import pytest

from workbench.campaign import Campaign
from workbench.models import CONTEXT_JOIN, StoredUnit, Unit
from workbench.spec import load_spec
from workbench.state import CampaignState, ConsensusRow
from workbench.store import Store
from workbench.store import corpus as corpus_sql
from workbench.store.packing import JOIN

from helpers import write_spec

DOC = "Hello world. Next one. Third."
PLAIN = Unit("u1", "claims", "d", 13, 22, "Next one.", "Hello world." + JOIN + "Third.", False, None)


def stored(**changes) -> Unit:
    fields = dict(uid="u1", task_type="claims", document_id="d", start=13, end=22, doc=DOC, text=None, context=None,
                  cut=(-13, 12, 10, 6), is_gold=False, gold_label=None)
    fields.update(changes)
    return StoredUnit._read(**fields)


def test_a_stored_unit_is_the_plain_unit():
    assert CONTEXT_JOIN == JOIN
    s = stored()
    assert isinstance(s, Unit)
    assert (s.text, s.context, s.metadata) == ("Next one.", "Hello world." + JOIN + "Third.", {})
    assert s == PLAIN and PLAIN == s and not s != PLAIN
    assert s != dataclasses.replace(PLAIN, text="Next one!") and dataclasses.replace(PLAIN, is_gold=True) != s
    assert dataclasses.asdict(s) == dataclasses.asdict(PLAIN)
    for made in (pickle.loads(pickle.dumps(s)), copy.copy(s), copy.deepcopy(s)):
        assert type(made) is Unit and made == PLAIN
    changed = dataclasses.replace(s, is_gold=True)
    assert type(changed) is Unit and changed.is_gold and changed.text == "Next one."
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.text = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.is_gold = True  # type: ignore[misc]


def test_a_stored_unit_keeps_what_is_not_cut_from_its_document():
    one = stored(cut=(13, 9, None, None), start=0, end=12)
    assert (one.text, one.context) == ("Hello world.", "Next one.")
    kept = stored(text="own text", context="own context", cut=None)
    assert (kept.text, kept.context) == ("own text", "own context")
    none = stored(doc=None, text="t", context=None, cut=None)
    assert (none.text, none.context) == ("t", None)


@pytest.fixture
def campaign(tmp_path, home):
    spec = write_spec(tmp_path, task_type="claims", overlap=3)
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    return c


def test_the_read_model_reads_what_the_store_holds(campaign):
    state = CampaignState(campaign.store, campaign.name, campaign.state.schema, campaign.state.task_type)
    rows = corpus_sql.units(campaign.store, campaign.name)
    assert len(state.units) == len(rows) > 20
    assert any(u.context and JOIN in u.context for u in state.units)
    for u, r in zip(state.units, rows):
        assert isinstance(u, StoredUnit)
        assert (u.id, u.document_id, u.start, u.end, u.text, u.context, u.is_gold) == (
            r["id"], r["document_id"], r["start"], r["end"], r["text"], r["context"], bool(r["is_gold"]))
    # prelabels keyed in unit order, as the rows have them
    assert list(state.prelabels) == [r["id"] for r in rows if r["prelabel_json"] is not None]

    # the queues made from the assignments' rows are those made from the assignment records
    from_rows = dict(state.queues)
    other = CampaignState(campaign.store, campaign.name, state.schema, state.task_type)
    assert other.assignments
    assert {a: [u.id for u in q] for a, q in other.queues.items()} == {a: [u.id for u in q] for a, q in from_rows.items()}
    assert list(other.queues) == list(from_rows)

    # the consensus rows read as the stored aggregates without their posteriors
    rows_now = state.consensus_rows
    assert rows_now and all(isinstance(r, ConsensusRow) for r in rows_now)
    want = [{k: v for k, v in r.items() if k != "posteriors"} for r in other.aggregates]
    assert [dict(r) for r in rows_now] == want
    assert rows_now == want and list(rows_now[0]) == list(want[0]) and rows_now[0]["label"] == want[0]["label"]
    assert state.consensus == other.consensus
    with pytest.raises(KeyError):
        rows_now[0]["posteriors"]
    assert rows_now[0].get("posteriors") is None and "tie" in rows_now[0]


def test_queues_read_unsorted_are_in_queue_order(tmp_path, home):
    """The queues read from the assignments' rows as stored (no sort in SQL), put in order by position
    per annotator, are those SQL's ``ORDER BY annotator_id, position`` gives, over several rounds and
    cancelled assignments; where an annotator's positions repeat, SQL's order is used as it was."""
    from workbench.store import work as work_sql

    c = Campaign(load_spec(write_spec(tmp_path, task_type="claims", overlap=2)), Store(home))
    c.run("pull")
    ids = [u.id for u in c.state.units]
    c.add_round(ids[::3], extra=1)
    pairs = [(a.unit, a.annotator) for a in c.state.assignments if a.planned][::7]
    with c.store.transaction():
        work_sql.cancel_assignments(c.store, c.name, pairs, "test")

    def fresh() -> CampaignState:
        return CampaignState(c.store, c.name, c.state.schema, c.state.task_type)

    def ids_of(queues) -> dict:
        return {a: [u.id for u in q] for a, q in queues.items()}

    state = fresh()
    queues = state.queues
    assert sum(map(len, queues.values())) == sum(1 for a in state.assignments if a.planned) > 20
    in_sql = fresh()._queues_sorted_in_sql()
    assert list(queues) == list(in_sql) == sorted(queues) and ids_of(queues) == ids_of(in_sql)
    records = fresh()
    assert records.assignments and ids_of(records.queues) == ids_of(queues)
    assert all(u is state.units_by_id[u.id] for q in queues.values() for u in q)
    # two planned places of one annotator at the same position: SQL's order, whatever it is
    first = next(iter(queues))
    with c.store.transaction():
        c.store.execute("UPDATE assignments SET position=0 WHERE campaign=? AND annotator_id=? AND unit=(SELECT n FROM unit_keys WHERE id=?)",
                        (c.name, first, queues[first][1].id))
    tied = fresh()
    assert ids_of(tied.queues) == ids_of(fresh()._queues_sorted_in_sql())

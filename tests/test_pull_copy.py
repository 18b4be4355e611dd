"""A pull from results the store holds (the local backend's, ``PullBatch.in_store``) is copied in SQL with
each distinct result converted once: the same annotations (rowids, every column), counts and notes as
the raw annotations stored one at a time, for new, edited, unchanged, deleted, skipped, invalid,
unknown-unit, extra and outsiders' answers, on a first pull and on a later one."""
import json
import shutil

import pytest

from workbench.backends import PullBatch
from workbench.backends import local as local_backend
from workbench.campaign import Campaign
from workbench.spec import load_spec
from workbench.store import Store
from workbench.store import labels as labels_sql
from workbench.store.ids import numbers
from workbench.tasktype import TaskType

from helpers import write_spec


def _result(*choices: str) -> str:
    return json.dumps([{"from_name": "sentiment", "to_name": "text", "type": "choices",
                        "value": {"choices": list(choices)}}])


def _mutate(db, name: str, units: list[str], pool: list[str]) -> None:
    """Changes a backend could show, each row kept in the packed form the local backend writes."""
    row = "SELECT annotator_id FROM local_results WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) ORDER BY annotator_id LIMIT 1"
    first = [db.execute(row, (name, u)).fetchone()[0] for u in units[:8]]
    db.execute("UPDATE local_results SET result_json=?, created_at = created_at + 60 WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?",
               (_result("ecstatic"), name, units[0], first[0]))  # invalid: not a label
    db.execute("UPDATE local_results SET result_json=?, created_at = created_at + 60 WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?",
               (_result("positive", "negative"), name, units[1], first[1]))  # invalid: two choices
    db.execute("UPDATE local_results SET was_cancelled=1, created_at = created_at + 60 WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?",
               (name, units[2], first[2]))  # skipped
    db.execute("DELETE FROM local_results WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?",
               (name, units[3], first[3]))  # deleted
    db.execute("UPDATE local_results SET created_at = created_at + 60, result_json=? WHERE campaign=? "
               "AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?", (_result("negative"), name, units[4], first[4]))  # edited
    stamp = db.execute("SELECT MAX(created_at) FROM local_results WHERE campaign=?", (name,)).fetchone()[0]
    done = {r[0] for r in db.execute("SELECT annotator_id FROM local_results WHERE unit=(SELECT n FROM unit_keys WHERE id=?)", (units[5],))}
    other = next(a for a in pool if a not in done)
    add = "INSERT INTO local_results VALUES (?, (SELECT n FROM unit_keys WHERE id=?), ?, ?, ?, ?, NULL, 0)"
    db.execute(add, (name, units[5], other, _result("neutral"), 123, stamp + 5))  # extra: beyond the plan
    db.execute(add, (name, units[6], "stranger", _result("neutral"), None, stamp + 6))  # not in the pool
    numbers(db, ["sentiment-nowhere"])  # a unit the store has not seen: numbered first (m017)
    db.execute(add, (name, "sentiment-nowhere", pool[0], _result("neutral"), 77, stamp + 7))  # unknown unit
    db.execute(add, (name, units[7], "stranger", _result("ecstatic"), 5, stamp + 8))  # invalid outsider


def _pull_both(tmp_path, spec, snapshot, monkeypatch) -> list:
    """Pull on two copies of ``snapshot``: copied in SQL, then one raw annotation at a time."""
    out = []
    for way in ("copied", "raw"):
        home = tmp_path / f"home-{way}-{len(list(tmp_path.iterdir()))}"
        home.mkdir()
        shutil.copy(snapshot, home / "workbench.db")
        calls = []
        real = labels_sql.copy_stored
        monkeypatch.setattr(labels_sql, "copy_stored", lambda *a, **k: calls.append(1) or real(*a, **k))
        if way == "raw":
            monkeypatch.setattr(local_backend.LocalBackend, "pull", lambda self, known: PullBatch(
                local_backend._Results(self.ctx.store, self.campaign), complete=True))
        c = Campaign(load_spec(spec), Store(home))
        summary = c.pull()
        db = c.store.conn
        rows = db.execute(  # the unit's id for its number (m017)
            "SELECT a.rowid, a.campaign, a.key, k.id, a.annotator_id, a.label_json, a.lead_time, a.created_at, "
            "a.updated_at, a.backend, a.backend_ids_json, a.status, a.reason, a.round FROM annotations a "
            "JOIN unit_keys k ON k.n = a.unit ORDER BY a.rowid").fetchall()
        rev = db.execute("SELECT annotations_rev FROM campaigns").fetchall()
        out.append((summary, [tuple(r) for r in rows], [tuple(r) for r in rev]))
        assert calls == ([1] if way == "copied" else [])
        c.store.close()
        monkeypatch.undo()
    return out


def _written_keys(c: Campaign, units: list[str], ls: bool) -> None:
    """Keys m015 keeps as written: a local result of an annotator id with a colon (its key cannot be
    kept as ''), and with ``ls`` Label Studio keys beside the local ones, one on a pair with a local
    answer, edited since (the pair's local key is written out), one on a pair of its own."""
    db = c.store.conn
    stamp = db.execute("SELECT MAX(created_at) FROM local_results").fetchone()[0]
    db.execute("INSERT INTO local_results VALUES (?, (SELECT n FROM unit_keys WHERE id=?), ?, ?, ?, ?, NULL, 0)",
               (c.name, units[11], "team:b", _result("neutral"), 9, stamp + 9))
    if not ls:
        return
    pair = db.execute("SELECT (SELECT id FROM unit_keys WHERE n=unit), annotator_id FROM annotations WHERE unit=(SELECT n FROM unit_keys WHERE id=?) LIMIT 1", (units[9],)).fetchone()
    with c.store.transaction():
        labels_sql.upsert(c.store, c.name, [
            ("ls:1:7", pair[0], pair[1], '"positive"', 1.5, "2026-01-01T00:00:00+00:00", None, "label_studio",
             "{}", "ok", None, 1),
            ("ls:1:8", units[10], "someone", '"negative"', None, "2026-01-01T00:00:01+00:00", None, "label_studio",
             "{}", "ok", None, None)])
    db.execute("UPDATE local_results SET created_at = created_at + 30 WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) AND annotator_id=?",
               (c.name, pair[0], pair[1]))
    assert db.execute("SELECT COUNT(*) FROM annotations WHERE key != ''").fetchone()[0] == 3


@pytest.mark.parametrize("first_pull,written", [(False, None), (True, None), (False, "colon"), (True, "colon"),
                                                (False, "ls")])
def test_copied_pull_stores_what_the_raw_pull_stores(tmp_path, monkeypatch, first_pull, written):
    spec = write_spec(tmp_path / "spec")
    home = tmp_path / "home"
    c = Campaign(load_spec(spec), Store(home))
    c.run(until="pull")
    db = c.store.conn
    units = [u.id for u in c.units()]
    _mutate(db, c.name, units, [a.id for a in c.spec.annotators])
    if written:
        _written_keys(c, units, written == "ls")
    if first_pull:
        db.execute("DELETE FROM annotations")
    c.store.close()
    snapshot = tmp_path / "snapshot.db"
    shutil.copy(home / "workbench.db", snapshot)
    work = tmp_path / "pulls"
    work.mkdir()
    (copied, raw) = _pull_both(work, spec, snapshot, monkeypatch)
    assert copied == raw
    summary = copied[0]
    assert summary["invalid"] == 4 and summary["skipped"] == 1 and summary["unknown_unit"] == 1
    assert summary["extra"] == 1 and summary["not_in_pool"] == (2 if written else 1)
    assert summary["deleted"] == (0 if first_pull else 3 if written == "ls" else 1)
    assert summary["updated"] == (0 if first_pull else 5 if written == "ls" else 4)
    if written:
        assert any(r[2] == f"{units[11]}:team:b" for r in copied[1])
    if written == "ls":  # the local key written out stays written (its pair's Label Studio key deleted after)
        assert any(r[2] == f"{r[3]}:{r[4]}" for r in copied[1])
    assert any("quarantined" in n for n in summary["notes"])


def test_a_repull_with_nothing_changed_writes_nothing(tmp_path):
    c = Campaign(load_spec(write_spec(tmp_path / "spec")), Store(tmp_path / "home"))
    c.run(until="pull")
    rev = c.store.conn.execute("SELECT annotations_rev FROM campaigns").fetchone()[0]
    summary = c.pull()
    assert summary["unchanged"] == summary["received"] and summary["new"] == summary["updated"] == 0
    assert c.store.conn.execute("SELECT annotations_rev FROM campaigns").fetchone()[0] == rev


def test_rows_written_by_hand_go_the_raw_way(tmp_path, monkeypatch):
    """A local result not in the packed form (a text time stamp) is read as a raw annotation."""
    c = Campaign(load_spec(write_spec(tmp_path / "spec")), Store(tmp_path / "home"))
    c.run(until="simulate")
    c.store.conn.execute("UPDATE local_results SET created_at='2020' WHERE unit = "
                         "(SELECT MIN(unit) FROM local_results)")
    calls = []
    monkeypatch.setattr(labels_sql, "copy_stored", lambda *a, **k: calls.append(1))
    summary = c.pull()
    assert calls == [] and summary["new"] == summary["received"] > 0


def test_unit_free_results():
    from workbench.registry import get_registry

    reg = get_registry()
    assert reg.get("task_types", "sentiment").unit_free_results()
    assert not reg.get("task_types", "text").unit_free_results()  # spans read the unit's text

    class Mine(type(reg.get("task_types", "sentiment"))):
        def from_ls_result(self, result, unit):
            return super().from_ls_result(result, unit)

    assert not Mine().unit_free_results()
    assert issubclass(Mine, TaskType)

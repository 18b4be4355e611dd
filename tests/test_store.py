"""The store: named migrations (a store written by workbench 0.1 is migrated), and every store or disk
failure is one line naming the path and the cause, with nothing half-written (issue 9)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.store import Store, StoreError
from workbench.store.backend import BackendState
from workbench.store.migrations import MIGRATIONS, SCHEMA_VERSION

from helpers import ARTICLES, ROOT, dump_store, write_spec

FIXTURE = ROOT / "tests" / "fixtures" / "store-0.1.0"


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def one_line(result, *needles):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [x for x in result.output.strip().splitlines() if x.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def lay_out(fixture: Path, root: Path) -> Path:
    """A stored fixture (its store, its spec files) and the article, laid out under ``root`` as when
    the store was made."""
    shutil.copytree(fixture / "specs", root / "specs")
    (root / "docs").mkdir()
    for p in ARTICLES.glob("000_*.txt"):
        shutil.copy(p, root / "docs")
    shutil.copy(ARTICLES / "index.toml", root / "docs")
    (root / "home").mkdir()
    shutil.copy(fixture / "workbench.db", root / "home" / "workbench.db")
    return root


@pytest.fixture
def legacy(tmp_path) -> Path:
    """The 0.1 store with its spec files and the article, laid out as when it was made."""
    return lay_out(FIXTURE, tmp_path / "legacy")


# -- migrations ----------------------------------------------------------------------------------

def test_a_store_written_by_0_1_is_migrated(legacy):
    raw = sqlite3.connect(legacy / "home" / "workbench.db")
    before = {t: raw.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in
              ("units", "annotations", "assignments", "aggregates", "annotators", "local_results")}
    cursors = dict(raw.execute("SELECT campaign || ':' || name, value FROM cursors").fetchall())
    raw.close()
    store = Store(legacy / "home")
    store.conn  # opened (and migrated) on first use
    assert store.migrated == [m.name for m in MIGRATIONS]  # 0.1 recorded none
    after = {t: store.scalar(f"SELECT COUNT(*) FROM {t}") for t in before}
    assert after == before  # nothing lost
    assert store.scalar("SELECT value FROM meta WHERE key='schema_version'") == str(SCHEMA_VERSION)
    assert store.one("SELECT 1 FROM sqlite_master WHERE name='cursors'") is None  # moved to the backends' table
    project = BackendState(store, "legacy-ls", "labelstudio").get("project")
    assert project == json.loads(cursors["legacy-ls:labelstudio:project"]) and project["project"] == 1
    assert BackendState(store, "legacy-ls", "labelstudio").get("pull_cursor") == cursors["legacy-ls:pull"]
    assert [tuple(r) for r in store.all("SELECT campaign, version FROM spec_versions ORDER BY campaign")] == [
        ("legacy-local", 1), ("legacy-ls", 1)]
    assert [tuple(r) for r in store.all("SELECT campaign, round, kind FROM rounds ORDER BY campaign")] == [
        ("legacy-local", 1, "initial"), ("legacy-ls", 1, "initial")]
    assert store.scalar("SELECT COUNT(*) FROM annotations WHERE round IS NULL") == 0  # each answers round 1
    store.close()
    again = Store(legacy / "home")
    again.conn
    assert again.migrated == []  # a migrated store has nothing more to do


def test_a_migrated_campaign_works_on(legacy, monkeypatch):
    home = legacy / "home"
    status = run(home, "status", "legacy-local", "--json")
    assert status.exit_code == 0, status.output
    st = json.loads(status.output)
    assert st["units"] == 49 and st["spec_version"] == 1 and st["rounds"][0]["answered"] == st["rounds"][0][
        "assignments"]
    # export and report: agreement was only a JSON summary in 0.1, so it is measured again, once
    result = run(home, "export", "legacy-local", "--json")
    assert result.exit_code == 0, result.output
    assert "consensus changed since the last agreement" not in result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert summary["records"] == 49
    c = Campaign.open("legacy-local", Store(home))
    records = c.records()
    stored = {r["unit_id"]: r["label"] for r in c.state.aggregates}
    assert {r["unit_id"]: r["label"] for r in records} == stored  # 0.1's consensus, exported as it was
    assert c.state.metrics and c.state.quality  # the agreement tables are filled now
    # the same spec file again: recognised as the same campaign, nothing redone
    result = run(home, "run", str(legacy / "specs" / "legacy-local.toml"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    assert out["simulate"]["labels_made"] == 0 and out["pull"]["new"] == 0 and "round" not in out["assign"]
    assert [v["version"] for v in json.loads(run(home, "status", "legacy-local", "--json").output)["versions"]] == [1]
    # an edit is a new version, as for any campaign
    spec = legacy / "specs" / "legacy-local.toml"
    spec.write_text(spec.read_text().replace("max_iter = 50", "max_iter = 60"))
    assert run(home, "run", str(spec)).exit_code == 0
    st = json.loads(run(home, "status", "legacy-local", "--json").output)
    assert st["versions"][1]["changes"] == ["aggregate.max_iter: 50 -> 60"]


M013 = ROOT / "tests" / "fixtures" / "store-m013"

#: what the store's functions read from the tables m014 rebuilds, as the code before it read them
BEFORE_M014 = {
    "units": 'SELECT id, position, document_id, start, "end", text, context, is_gold, gold_json, prelabel_json, '
             "prelabel_score FROM units WHERE campaign=? ORDER BY position",
    "local_results": "SELECT unit_id, annotator_id, result_json, lead_time, created_at, updated_at, was_cancelled "
                     "FROM local_results WHERE campaign=? ORDER BY created_at, unit_id, annotator_id",
    "backend_tasks": "SELECT unit_id, task_id, overlap FROM backend_tasks WHERE campaign=? ORDER BY unit_id",
    "assignments": "SELECT unit_id, annotator_id, position, round, cancelled FROM assignments WHERE campaign=? "
                   "ORDER BY annotator_id, position",
    "unit_agreement": "SELECT unit_id, n_annotations, agreement, consensus_share, disputed FROM unit_agreement "
                      "WHERE campaign=? ORDER BY agreement, unit_id",
    "annotations": "SELECT key, unit_id, annotator_id, label_json, lead_time, created_at, updated_at, backend, "
                   "backend_ids_json, status, reason, round FROM annotations WHERE campaign=? "
                   "ORDER BY unit_id, annotator_id, key",
    "in_order": "SELECT key, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                "ORDER BY unit_id, created_at, key",
    # no ORDER BY: read through the index by annotator (then rowid), as the store reads them
    "versions": "SELECT key, updated_at FROM annotations INDEXED BY annotations_annotator WHERE campaign=?",
    "newest": "SELECT MAX(COALESCE(updated_at, created_at)) FROM annotations WHERE campaign=? AND status='ok'",
    # no ORDER BY: read through the key's index (unit order)
    "aggregates": "SELECT unit_id, label_json, confidence, n_annotations, agreement, method, posteriors_json, tie "
                  "FROM aggregates WHERE campaign=?",
}


def after_m014(store: Store, campaign: str) -> dict[str, list[tuple]]:
    from workbench.store import backend, corpus, labels, results, work

    return {"units": [tuple(r) for r in corpus.units(store, campaign)],
            "local_results": [tuple(r) for r in backend.local_results(store, campaign)],
            "backend_tasks": [(u, t, n) for u, (t, n) in sorted(work.backend_tasks(store, campaign).items())],
            "assignments": [tuple(r) for r in work.assignments(store, campaign)],
            "unit_agreement": [tuple(r) for r in results.unit_agreement(store, campaign)],
            "annotations": [tuple(r) for r in labels.annotations(store, campaign)],
            "in_order": [tuple(r) for r in labels.in_order(store, campaign)],
            "versions": list(labels.stored_versions(store, campaign).items()),
            "newest": [(labels.newest_counted(store, campaign),)],
            "aggregates": [tuple(r) for r in results.aggregates(store, campaign)]}


@pytest.fixture
def before_m014(tmp_path) -> Path:
    """A store made before m014 (two campaigns run to the end), laid out as when it was made."""
    return lay_out(M013, tmp_path / "m013")


def test_the_compact_store_migration_keeps_every_row(before_m014):
    db = before_m014 / "home" / "workbench.db"
    raw = sqlite3.connect(db)
    campaigns = [r[0] for r in raw.execute("SELECT name FROM campaigns ORDER BY name")]
    before = {c: {t: raw.execute(q, (c,)).fetchall() for t, q in BEFORE_M014.items()} for c in campaigns}
    rebuilt = ("units", "local_results", "backend_tasks", "assignments", "unit_agreement", "annotations",
               "aggregates", "_migrations", "meta")
    untouched = [t for t in dict(dump_store(db.parent)) if t not in rebuilt]
    others = {t: rows for t, rows in dump_store(db.parent) if t in untouched}
    size = db.stat().st_size
    raw.close()
    assert campaigns == ["m013-claims", "m013-text"]
    assert all(before[c][t] for c in campaigns for t in BEFORE_M014)  # something to compare in each table
    store = Store(db.parent)
    store.conn
    assert store.migrated == ["m014_compact_store", "m015_annotation_keys", "m016_compact_aggregates", "m017_unit_numbers"]
    for c in campaigns:
        assert after_m014(store, c) == before[c], c
    assert {t: rows for t, rows in dump_store(db.parent) if t in untouched} == others
    # what it saved: texts and contexts cut from the documents, results shared, one b-tree per table
    assert store.scalar("SELECT COUNT(*) FROM units WHERE text IS NOT NULL OR context IS NOT NULL") == 0
    assert store.scalar("SELECT COUNT(*) FROM local_result_values") > 0  # the classification's few results
    assert store.scalar("SELECT COUNT(*) FROM local_results WHERE campaign='m013-text' "
                        "AND typeof(result_json) = 'text'") > 0  # a span result given once is kept inline
    assert store.scalar("SELECT COUNT(*) FROM backend_tasks WHERE task_id IS NOT NULL") == 0
    assert store.scalar("SELECT COUNT(*) FROM annotations WHERE typeof(created_at) != 'integer' "
                        "OR typeof(updated_at) != 'blob' OR typeof(lead_time) != 'integer'") == 0  # all packed
    assert store.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'sqlite_autoindex_%' AND tbl_name IN "
                        "('units', 'local_results', 'backend_tasks', 'assignments', 'unit_agreement')") == 0
    assert store.scalar("PRAGMA freelist_count") == 0  # vacuumed after the rebuild
    store.close()
    assert db.stat().st_size < size * 0.8


def _pull_quarantined_again(home, spec, name: str) -> dict:
    """Delete the campaign's quarantined answers (the fixtures' invalid ones, answers again then) and run
    it: the pull must bring them back. The run's ``--json`` output."""
    store = Store(home)
    with store.transaction():
        store.execute("DELETE FROM annotations WHERE campaign=? AND status='invalid'", (name,))
    store.close()
    result = run(home, "run", str(spec), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def _run_again_changes_nothing(home, spec, name: str):
    """``workbench run`` again on a migrated campaign: nothing simulated or pulled, the same consensus.
    Gives the campaign and its consensus ``{unit: label}``."""
    stored = {r["unit_id"]: r["label"] for r in Campaign.open(name, Store(home)).state.aggregates}
    result = run(home, "run", str(spec), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    assert out["simulate"]["labels_made"] == 0 and out["pull"]["new"] == 0, out
    c = Campaign.open(name, Store(home))
    assert {r["unit_id"]: r["label"] for r in c.state.aggregates} == stored
    return c, stored


def test_a_campaign_migrated_to_the_compact_store_works_on(before_m014):
    home = before_m014 / "home"
    for name in ("m013-claims", "m013-text"):
        c, stored = _run_again_changes_nothing(home, before_m014 / "specs" / f"{name}.toml", name)
        if name == "m013-claims":
            assert {r["unit_id"]: r["label"] for r in c.records()} == stored  # the same consensus, exported


def test_packed_values_read_back_as_written():
    """The compact store's packing (time stamps as integers, lead times in hundredths) gives back, in
    SQL, exactly the values written: the same text, the same float (and its sign), anything it does not
    pack as is."""
    import random

    from workbench.store import now
    from workbench.store.packing import seconds, seconds_sql, stamp, stamp_sql

    rnd = random.Random(14)
    stamps = [datetime.fromtimestamp(rnd.randrange(0, 253402300800), timezone.utc).isoformat(timespec="seconds")
              for _ in range(3000)]
    stamps += [now(), "1970-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "9999", "",
               "2026-12-02T13:35:52.123+00:00", "2026-12-02T13:35:52Z", "2026-12-02T14:35:52+01:00",
               "2026-13-02T13:35:52+00:00", "2026-12-02T13:35:52-00:00", None]
    leads = [round(rnd.uniform(0, 600), 2) for _ in range(3000)]
    leads += [0.0, -0.0, 1.0, -4.74, 0.1 + 0.2, 1e-9, 1e15, float("inf"), float("-inf"), None]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, s, x)")
    conn.executemany("INSERT INTO t (s, x) VALUES (?, ?)",
                     [(stamp(s), seconds(x)) for s, x in zip(stamps, leads + [1.5] * (len(stamps) - len(leads)))])
    got = conn.execute(f"SELECT {stamp_sql('s')}, {seconds_sql('x')} FROM t ORDER BY i").fetchall()
    assert [g[0] for g in got] == stamps
    assert [repr(g[1]) for g in got[:len(leads)]] == [repr(x) for x in leads]
    assert isinstance(stamp(now()), int) and isinstance(seconds(4.74), int)  # what the engine writes is packed
    assert seconds(3) == 300 and conn.execute(f"SELECT {seconds_sql('300')}").fetchone()[0] == 3.0  # as REAL


def test_a_store_from_a_newer_release_is_refused(tmp_path):
    home = tmp_path / "home"
    Store(home).conn.execute("INSERT INTO _migrations (name, applied_at) VALUES ('m999_future', 'x')")
    one_line(run(home, "status", "anything"), str(home / "workbench.db"), "newer workbench", "m999_future",
             "upgrade workbench")


# -- failures: one line, nothing half-written ------------------------------------------------------

def test_corrupt_store(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "workbench.db").write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    for args in (["status", "c1"], ["run", str(write_spec(tmp_path))]):
        one_line(run(home, *args), str(home / "workbench.db"), "corrupt", "restore it from a backup")


def test_truncated_store(tmp_path):
    home = tmp_path / "home"
    assert run(home, "run", str(write_spec(tmp_path))).exit_code == 0
    Store(home).conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = home / "workbench.db"
    data = db.read_bytes()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(data[: len(data) // 3])
    one_line(run(home, "export", "c1"), str(db), "corrupt")


def test_home_is_a_file(tmp_path):
    home = tmp_path / "home"
    home.write_text("x")
    one_line(run(home, "status", "c1"), str(home), "is a file, not a folder")


def test_store_errors_carry_the_cause():
    from workbench.store.errors import store_error

    full = store_error(sqlite3.OperationalError("database or disk is full"), "/x/workbench.db")
    assert isinstance(full, StoreError) and "the disk is full" in str(full) and "/x/workbench.db" in str(full)
    assert "read-only" in str(store_error(sqlite3.OperationalError("attempt to write a readonly database"), "p"))


def test_aggregate_out_into_an_unwritable_folder(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("unit,annotator,label\nu1,a,x\nu1,b,x\nu2,a,y\nu2,b,x\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli(), ["aggregate", str(labels), "--out", str(blocker / "out.csv")])
    one_line(result, "--out: cannot write", "out.csv", "a part of the path is a file")


# -- a real read-only home and a real full disk, in a private mount namespace -------------------------

def _namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) as root of a private mount namespace, so it can mount a tiny tmpfs or a
    read-only bind mount without touching the machine; ``$WB`` runs the workbench CLI."""
    if shutil.which("unshare") is None:
        pytest.fail("these tests need util-linux's unshare (Debian: apt-get install util-linux)")
    env_script = f'WB="{sys.executable} -m workbench"\n' + script
    done = subprocess.run(["unshare", "-rm", "sh", "-eu", "-c", env_script], capture_output=True, text=True,
                          timeout=900, cwd=tmp_path)
    if "unshare failed" in done.stderr or "Operation not permitted" in done.stderr[:200]:
        pytest.fail(f"unshare -rm is not allowed here: {done.stderr.strip()[:300]}")
    return done


def _dump(tmp_path: Path, home: str, name: str) -> str:
    """A line of the script that writes every row of the store to ``name`` (outside the namespace's mounts)."""
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); from helpers import dump_store; "
            f"from pathlib import Path; Path({str(tmp_path / name)!r}).write_text(json.dumps(dump_store(Path({home!r}))))")
    return f"{sys.executable} -c {json.dumps(code)}\n"


def test_full_disk(tmp_path):
    spec = write_spec(tmp_path, documents=str(ARTICLES / "*.txt"))
    disk = tmp_path / "disk"
    disk.mkdir()
    home = str(disk / "home")
    script = f"""
mount -t tmpfs -o size=6m tmpfs {disk}
$WB --home {home} -q run {spec} --until plan > {tmp_path}/plan.out 2>&1
{_dump(tmp_path, home, "before.json")}
dd if=/dev/zero of={disk}/fill bs=4k > /dev/null 2>&1 || true
set +e
$WB --home {home} -q run {spec} > {tmp_path}/full.out 2>&1
echo $? > {tmp_path}/full.rc
set -e
rm {disk}/fill
{_dump(tmp_path, home, "after.json")}
$WB --home {home} -q run {spec} > {tmp_path}/again.out 2>&1
echo $? > {tmp_path}/again.rc
"""
    done = _namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr + (tmp_path / "plan.out").read_text() if (tmp_path / "plan.out").exists() \
        else done.stderr
    out = (tmp_path / "full.out").read_text()
    assert (tmp_path / "full.rc").read_text().strip() == "1", out
    lines = [x for x in out.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in out, out
    assert "the disk is full" in lines[0] and "no transaction is active" not in out, lines[0]
    assert json.loads((tmp_path / "before.json").read_text()) == json.loads((tmp_path / "after.json").read_text())
    assert (tmp_path / "again.rc").read_text().strip() == "0", (tmp_path / "again.out").read_text()


def test_read_only_home(tmp_path):
    spec = write_spec(tmp_path)
    home = tmp_path / "home"
    assert run(home, "run", str(spec), "--until", "assign").exit_code == 0
    before = dump_store(home)
    script = f"""
mount --bind {home} {home}
mount -o remount,bind,ro {home}
set +e
$WB --home {home} -q run {spec} > {tmp_path}/run.out 2>&1; echo $? > {tmp_path}/run.rc
$WB --home {home} -q status c1 > {tmp_path}/status.out 2>&1; echo $? > {tmp_path}/status.rc
"""
    done = _namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr
    out = (tmp_path / "run.out").read_text()
    assert (tmp_path / "run.rc").read_text().strip() == "1", out
    lines = [x for x in out.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in out, out
    assert str(home) in lines[0] and "read-only" in lines[0], lines[0]
    # reading needs no writing: status works on a read-only home
    assert (tmp_path / "status.rc").read_text().strip() == "0", (tmp_path / "status.out").read_text()
    assert dump_store(home) == before


@pytest.mark.parametrize("block", [1, 2, 5, 1000])
def test_local_results_stored_in_blocks_are_the_rows_of_one_batch(tmp_path, block):
    """write_local_results_sorted (rows in key order, a block at a time, the repeated results
    named first) stores what add_local_results stores of the same rows at once: the same rows and
    the same ids of the repeated results, a result kept before reused."""
    import random as _random

    from workbench.store import backend as backend_sql

    r = _random.Random(block)
    results = [json.dumps([{"value": {"choices": [c]}}]) for c in "abc"] + [json.dumps([{"n": i}]) for i in range(40)]
    rows = [(f"u{u:03d}", f"a{a}", r.choice(results[:3]) if r.random() < 0.6 else r.choice(results),
             r.choice([1.0, 2.5, 3.14, 12.07]), "2026-12-03T02:00:0%d+00:00" % r.randrange(3), None)
            for u in range(60) for a in range(3) if r.random() < 0.8]
    rows = [(u, a, j, lead, at, at) for u, a, j, lead, at, _ in rows]

    def stored(write):
        store = Store(tmp_path / f"s{len(list(tmp_path.iterdir()))}")
        with store.transaction():
            backend_sql.add_local_results(store, "old", [("z", "a0", results[5], 1.0, rows[0][4], rows[0][4])] * 1)
            write(store)
        db = sqlite3.connect(store.path)
        return (db.execute("SELECT * FROM local_result_values ORDER BY id").fetchall(),
                db.execute("SELECT * FROM local_results ORDER BY campaign, unit, annotator_id").fetchall())

    at_once = stored(lambda s: backend_sql.add_local_results(s, "c", list(reversed(rows))))
    ordered = sorted(rows, key=lambda x: (x[0], x[1]))
    seen: dict[str, int] = {}
    for x in ordered:
        seen[x[2]] = seen.get(x[2], 0) + 1
    repeated = [j for j, n in seen.items() if n > 1]
    blocks = [ordered[i:i + block] for i in range(0, len(ordered), block)]
    assert stored(lambda s: backend_sql.write_local_results_sorted(s, "c", repeated, iter(blocks))) == at_once
    assert len(at_once[0]) > 3 and any(type(x[3]) is str for x in at_once[1])  # ids and texts both


M014 = ROOT / "tests" / "fixtures" / "store-m014"


def _before_m015() -> dict[str, str]:
    """What the store's annotation functions return, as the code before m015 read them from its table
    (main at 866c5d9: times and lead times packed by m014)."""
    from workbench.store.packing import seconds_sql, stamp_sql

    created = stamp_sql("created_at")
    updated = f"CASE WHEN typeof(updated_at) = 'blob' THEN {created} ELSE {stamp_sql('updated_at')} END"
    return {
        "annotations": f"SELECT key, unit_id, annotator_id, label_json, {seconds_sql('lead_time')}, {created}, {updated}, "
                       "backend, backend_ids_json, status, reason, round FROM annotations WHERE campaign=? "
                       "ORDER BY unit_id, annotator_id, key",
        "in_order": "SELECT key, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                    f"ORDER BY unit_id, {created}, key",
        "versions": f"SELECT key, {updated} FROM annotations WHERE campaign=?",  # its plan: the index by annotator
        "newest": f"SELECT MAX(COALESCE({updated}, {created})) FROM annotations WHERE campaign=? AND status='ok'",
        **_BEFORE_M015}


_BEFORE_M015 = {
    "counted": "SELECT unit_id, annotator_id, label_json FROM annotations WHERE campaign=? AND status='ok' "
               "AND label_json IS NOT NULL ORDER BY unit_id, annotator_id, key",
    "backend_ids": "SELECT key, backend_ids_json FROM annotations INDEXED BY annotations_annotator WHERE campaign=?",
    "quarantined": "SELECT unit_id, annotator_id, reason FROM annotations INDEXED BY annotations_unit "
                   "WHERE campaign=? AND status='invalid' ORDER BY unit_id",
    "per_annotator": "SELECT annotator_id, status, COUNT(*) FROM annotations WHERE campaign=? "
                     "GROUP BY annotator_id, status",
    "pairs": "SELECT DISTINCT unit_id, annotator_id FROM annotations WHERE campaign=? ORDER BY 1, 2",
}


def after_m015(store: Store, campaign: str) -> dict[str, list[tuple]]:
    from workbench.store import labels

    return {"annotations": [tuple(r) for r in labels.annotations(store, campaign)],
            "in_order": [tuple(r) for r in labels.in_order(store, campaign)],
            "versions": list(labels.stored_versions(store, campaign).items()),
            "newest": [(labels.newest_counted(store, campaign),)],
            "counted": labels.counted(store, campaign),
            "backend_ids": list(labels.backend_ids(store, campaign, "").items()),
            "quarantined": [tuple(r) for r in labels.quarantined(store, campaign)],
            "per_annotator": [tuple(r) for r in labels.per_annotator(store, campaign)],
            "pairs": sorted(labels.answered_pairs(store, campaign))}


@pytest.fixture
def before_m015(tmp_path) -> Path:
    """A store made before m015 (two campaigns run to the end), laid out as when it was made, with
    annotations whose key is not ``unit:annotator`` added (Label Studio's keys; an annotator id with a
    colon; a second answer of one annotator on a unit) and a few quarantined ones."""
    root = lay_out(M014, tmp_path / "m014")
    raw = sqlite3.connect(root / "home" / "workbench.db")
    rows = raw.execute("SELECT unit_id, annotator_id FROM annotations WHERE campaign='m014-claims' "
                       "ORDER BY rowid LIMIT 4").fetchall()
    extra = [("ls:7:101", rows[0][0], "ana"), ("ls:7:102", rows[1][0], "ben"), (f"{rows[2][0]}:x:y", rows[2][0], "x:y"),
             (f"{rows[3][0]}:ana:", rows[3][0], "ana:"), ("ls:7:103", rows[0][0], rows[0][1])]
    raw.executemany("INSERT INTO annotations (campaign, key, unit_id, annotator_id, label_json, lead_time, created_at, "
                    "updated_at, backend, backend_ids_json, status, reason, round) VALUES ('m014-claims', ?, ?, ?, "
                    "NULL, 3.5, '2026-12-03T01:02:03.456Z', NULL, 'labelstudio', '{\"task\": 7}', 'invalid', "
                    "'bad label', NULL)", extra)
    raw.execute("UPDATE annotations SET status='invalid', reason='late' WHERE campaign='m014-text' AND rowid % 9 = 0")
    raw.commit()
    raw.close()
    return root


def test_the_annotation_keys_migration_keeps_every_row(before_m015):
    db = before_m015 / "home" / "workbench.db"
    raw = sqlite3.connect(db)
    campaigns = [r[0] for r in raw.execute("SELECT name FROM campaigns ORDER BY name")]
    plan = raw.execute("EXPLAIN QUERY PLAN " + _before_m015()["versions"], ("x",)).fetchall()
    assert "annotations_annotator" in str(plan)  # the order the old code read them in
    before = {c: {t: raw.execute(q, (c,)).fetchall() for t, q in _before_m015().items()} for c in campaigns}
    untouched = [t for t in dict(dump_store(db.parent)) if t not in (
        "annotations", "aggregates", "_migrations", "meta", "local_results", "assignments",
        "unit_agreement", "backend_tasks")]  # m017: numbers
    others = {t: rows for t, rows in dump_store(db.parent) if t in untouched}
    size = db.stat().st_size
    raw.close()
    assert campaigns == ["m014-claims", "m014-text"]
    assert all(before[c][t] for c in campaigns for t in _before_m015())  # something to compare in each read
    store = Store(db.parent)
    store.conn
    assert store.migrated == ["m015_annotation_keys", "m016_compact_aggregates", "m017_unit_numbers"]
    for c in campaigns:
        assert after_m015(store, c) == before[c], c
    assert {t: rows for t, rows in dump_store(db.parent) if t in untouched} == others
    # the local backend's keys kept as '', the others as written
    written = [tuple(r) for r in store.all("SELECT key, (SELECT id FROM unit_keys WHERE n = unit), annotator_id "
                                           "FROM annotations WHERE key != '' "
                                           "ORDER BY rowid")]
    added = [k for k, _, _ in written if k.startswith("ls:") or k.endswith((":x:y", ":ana:"))]
    assert len(added) == 5 and added[:2] == ["ls:7:101", "ls:7:102"] and added[4] == "ls:7:103"
    shared = [(u, a) for k, u, a in written if k == f"{u}:{a}" and ":" not in a]  # beside a written key: written
    assert shared and all(store.scalar("SELECT COUNT(*) FROM annotations WHERE unit=(SELECT n FROM unit_keys WHERE id=?) "
                                       "AND annotator_id=?", u, a) > 1
                          for u, a in shared)
    assert store.scalar("SELECT COUNT(*) FROM annotations a WHERE key = '' AND (SELECT COUNT(*) FROM annotations x "
                        "WHERE x.campaign = a.campaign AND x.unit = a.unit AND x.annotator_id = a.annotator_id) "
                        "> 1") == 0  # a key kept as '' is alone on its unit and annotator
    names = {r[0] for r in store.all("SELECT name FROM sqlite_master WHERE tbl_name='annotations'")}
    assert names == {"annotations", "annotations_pair", "annotations_key", "annotations_annotator"}
    used = (store.scalar("PRAGMA page_count") - store.scalar("PRAGMA freelist_count")) * store.scalar("PRAGMA page_size")
    assert used < size  # the key's index and the index by unit gone (a small store: not vacuumed)
    store.close()


def test_annotations_by_key_after_the_annotation_keys_migration(before_m015):
    """Upsert, settle and delete find an annotation by its key whether it is kept as '' or as written."""
    from workbench.store import labels

    store = Store(before_m015 / "home")
    c = "m014-claims"
    rows = {r["key"]: r for r in labels.annotations(store, c)}
    local = next(k for k, r in rows.items() if r["status"] == "ok" and not k.startswith("ls:"))
    unit, annotator = rows[local]["unit_id"], rows[local]["annotator_id"]
    colon = next(k for k, r in rows.items() if r["annotator_id"] == "x:y")
    n = labels.count(store, c)
    with store.transaction():
        labels.upsert(store, c, [
            (local, unit, annotator, '"x"', 1.0, "2026-12-03T00:00:00+00:00", "2026-12-03T00:00:01+00:00", "local",
             "{}", "ok", None, 1),
            ("ls:7:101", rows["ls:7:101"]["unit_id"], "ana", '"y"', 2.0, "a", "b", "labelstudio", "{}", "ok", None, 2),
            (colon, rows[colon]["unit_id"], "x:y", '"z"', 3.0, "c", "d", "local", "{}", "ok", None, 1),
            ("ls:7:999", unit, annotator, '"w"', None, None, None, "labelstudio", "{}", "ok", None, None)])
        assert labels.count(store, c) == n + 1  # three replaced, one new (a second key on the same pair)
        assert store.scalar("SELECT key FROM annotations WHERE campaign=? AND unit=(SELECT n FROM unit_keys WHERE id=?) "
                            "AND annotator_id=? "
                            "AND key NOT LIKE 'ls:%'", c, unit, annotator) == local  # written now: not alone
        after = {r["key"]: r for r in labels.annotations(store, c)}
        assert (after[local]["label_json"], after[local]["updated_at"]) == ('"x"', "2026-12-03T00:00:01+00:00")
        assert (after["ls:7:101"]["label_json"], after[colon]["label_json"]) == ('"y"', '"z"')
        assert labels.stored_versions(store, c)["ls:7:999"] is None  # a new key beside the pair's own
        labels.settle(store, c, [(local, "extra", None), ("ls:7:101", "not_in_pool", None), (colon, "ok", 3)])
        after = {r["key"]: r for r in labels.annotations(store, c)}
        assert [(after[k]["status"], after[k]["round"]) for k in (local, "ls:7:101", colon)] == [
            ("extra", None), ("not_in_pool", None), ("ok", 3)]
        assert after["ls:7:999"]["status"] == "ok"  # the same pair, another key: untouched
        gone = labels.delete(store, c, [local, "ls:7:101", colon, "ls:7:nothing", "nothing"])
        assert gone == [(unit, annotator, "extra"), (rows["ls:7:101"]["unit_id"], "ana", "not_in_pool"),
                        (rows[colon]["unit_id"], "x:y", "ok")]
        assert labels.count(store, c) == n - 2
    store.close()


def test_a_campaign_migrated_to_annotation_keys_works_on(before_m015):
    home = before_m015 / "home"
    name = "m014-text"
    stored = {r["unit_id"]: r["label"] for r in Campaign.open(name, Store(home)).state.aggregates}
    out = _pull_quarantined_again(home, before_m015 / "specs" / f"{name}.toml", name)
    assert out["simulate"]["labels_made"] == 0 and 0 < out["pull"]["new"] < 147, out  # only the deleted ones again
    c = Campaign.open(name, Store(home))
    assert {r["unit_id"]: r["label"] for r in c.state.aggregates} == stored
    assert len(c.state.annotations) == 147 and {a.status.value for a in c.state.annotations} == {"ok"}


M015 = ROOT / "tests" / "fixtures" / "store-m015"

#: what the store's aggregate functions return, as the code before m016 read them (main at 31130f6); their
#: plan went through the key's index (unit order), as the test checks
_BEFORE_M016 = {
    "aggregates": "SELECT unit_id, label_json, confidence, n_annotations, agreement, method, posteriors_json, tie "
                  "FROM aggregates WHERE campaign=?",
    "consensus": "SELECT unit_id, label_json, confidence, n_annotations, agreement, method, tie FROM aggregates "
                 "WHERE campaign=?",
}


def after_m016(store: Store, campaign: str) -> dict[str, list[tuple]]:
    from workbench.store import results

    return {"aggregates": [tuple(r) for r in results.aggregates(store, campaign)],
            "consensus": [tuple(r) for r in results.iter_consensus_rows(store, campaign)]}


@pytest.fixture
def before_m016(tmp_path) -> Path:
    """A store made before m016 (three campaigns run to the end, one reviewed; Label Studio keys, an
    annotator id with a colon and quarantined answers among the annotations), laid out as when it was made."""
    return lay_out(M015, tmp_path / "m015")


def test_the_compact_aggregates_migration_keeps_every_row(before_m016):
    db = before_m016 / "home" / "workbench.db"
    raw = sqlite3.connect(db)
    campaigns = [r[0] for r in raw.execute("SELECT name FROM campaigns ORDER BY name")]
    for q in _BEFORE_M016.values():
        assert "sqlite_autoindex_aggregates_1" in str(raw.execute("EXPLAIN QUERY PLAN " + q, ("x",)).fetchall())
    before = {c: {t: raw.execute(q, (c,)).fetchall() for t, q in _BEFORE_M016.items()} for c in campaigns}
    untouched = [t for t in dict(dump_store(db.parent)) if t not in (
        "aggregates", "_migrations", "meta", "annotations", "local_results", "assignments",
        "unit_agreement", "backend_tasks")]  # m017: numbers
    others = {t: rows for t, rows in dump_store(db.parent) if t in untouched}
    raw.close()
    assert campaigns == ["m015-claims", "m015-sentiment", "m015-text"]
    assert all(before[c][t] for c in campaigns for t in _BEFORE_M016)
    store = Store(db.parent)
    store.conn
    assert store.migrated == ["m016_compact_aggregates", "m017_unit_numbers"]
    for c in campaigns:
        assert after_m016(store, c) == before[c], c
    assert {t: rows for t, rows in dump_store(db.parent) if t in untouched} == others
    assert {"reviews", "units"} <= set(untouched)
    assert store.scalar("SELECT COUNT(*) FROM reviews") > 0 and store.scalar(
        "SELECT COUNT(*) FROM annotations WHERE key LIKE 'ls:%' OR annotator_id LIKE '%:%'") == 5
    # what was packed: the posteriors of the two classifications as doubles, their labels as indexes, their
    # confidences (each the label's posterior) as NULL, but the first row of a class set (packed from the
    # second on); the spans' (no posteriors) as they were
    packed = {r[0]: tuple(r[1:]) for r in store.all(
        "SELECT campaign, COUNT(*), SUM(typeof(posteriors) = 'blob'), SUM(typeof(label_json) = 'integer'), "
        "SUM(confidence IS NULL), COUNT(DISTINCT pkeys) FROM aggregates GROUP BY campaign")}
    assert packed == {"m015-claims": (49, 48, 48, 48, 1), "m015-sentiment": (49, 48, 48, 48, 1),
                      "m015-text": (49, 0, 0, 0, 0)}
    assert store.scalar("SELECT COUNT(*) FROM aggregate_keys") == 2
    assert [tuple(r) for r in store.all("SELECT id, method FROM aggregate_methods ORDER BY id")] == [
        (1, "dawid_skene"), (2, "majority")]
    assert store.scalar("SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'aggregates' "
                        "AND name LIKE 'sqlite_autoindex_%'") == 0  # WITHOUT ROWID: one b-tree
    store.close()


def test_a_campaign_migrated_to_compact_aggregates_works_on(before_m016):
    """Aggregated again: the same rows as before the migration (the aggregate step packs them as the
    migration did); run and reviewed again: the same consensus."""
    from workbench.store import results

    home = before_m016 / "home"
    raw = sqlite3.connect(home / "workbench.db")
    names = [r[0] for r in raw.execute("SELECT name FROM campaigns ORDER BY name")]
    before = {c: raw.execute(_BEFORE_M016["aggregates"], (c,)).fetchall() for c in names}
    raw.close()
    for name in names:
        result = run(home, "aggregate", name)
        assert result.exit_code == 0, result.output
        store = Store(home)
        assert [tuple(r) for r in results.aggregates(store, name)] == before[name], name
        store.close()
        _run_again_changes_nothing(home, before_m016 / "specs" / f"{name}.toml", name)
    result = run(home, "review", "m015-sentiment", "--json")
    assert result.exit_code == 0, result.output


def test_aggregates_read_back_as_written(tmp_path):
    """Every kind of row the aggregate step (or a plugin) could give comes back exactly: posteriors packed
    or kept as text, labels and confidences kept or implied, -0.0, NaN and infinities, text that is not
    Python's own spelling of its numbers, classes with quotes, ``%`` and non-ASCII, a class set given once."""
    from workbench.store import results

    keys = ["a", 'q"%s', "é", "x y"]
    dump = json.dumps

    def post(values, ks=keys):
        return dump(dict(zip(ks, values)))

    rows = [
        ("u01", '"a"', 0.5, 3, 0.25, "m", post([0.5, 0.25, 0.125, 0.125]), 0),
        ("u02", dump('q"%s'), 0.25, 2, None, "m", post([0.5, 0.25, 0.125, 0.125]), 1),  # label's posterior
        ("u03", dump("é", ensure_ascii=False), 0.3, 2, 1.0, "m", post([0.5, 0.0, 0.1, 0.4]), 0),  # another conf
        ("u04", '"x y"', -0.0, 2, 0.0, "m", post([0.0, 1.0, -0.0, -0.0]), 0),
        ("u05", '"a"', 0.5, 2, 0.5, "m", post([float("nan"), 1.0, 0.0, 0.0]), 0),  # NaN: text
        ("u06", '"a"', 1.0, 2, 0.5, "m", post([float("inf"), 1.0, 0.0, 0.0]), 0),
        ("u07", '"a"', 1.0, 2, 0.5, "m", '{"a": 1.00, "q\\"%s": 0.0, "\\u00e9": 0.0, "x y": 0.0}', 0),
        ("u08", '"a"', 1.0, 2, 0.5, "m", '{"a":1.0,"q\\"%s":0.0,"\\u00e9":0.0,"x y":0.0}', 0),
        ("u09", '"a"', 1.0, 2, 0.5, "m", '{"a": 1, "q\\"%s": 0.0, "\\u00e9": 0.0, "x y": 0.0}', 0),  # an int
        ("u10", '"a"', 1.0, 2, 0.5, "m", '{"a": 1.0, "a": 0.0, "\\u00e9": 0.0, "x y": 0.0}', 0),  # a key twice
        ("u11", '"b"', 5e-324, 2, 0.5, "m", post([5e-324, 1e308, 0.1, 0.2]), 0),  # a label not a class
        ("u12", '{"spans": []}', 1, 2, 0.5, "m", post([1.0, 0.0, 0.0, 0.0]), 0),  # an int confidence
        ("u13", '"a"', 0.9, 2, 0.5, "m", None, 0),
        ("u14", '"a"', 0.9, 2, 0.5, "m", "not json", 0),
        ("u15", '"a"', 0.9, 2, 0.5, "m", "[]", 0),
        ("u16", '"a"', 0.9, 2, 0.5, "m", post([0.9, 0.1], ["0:4:ORG", "5:9:PER"]), 0),  # a class set given once
        ("u17", '"a"', 0.9, 2, 0.5, "m", post([0.9], ["a"]), 0),
        ("u18", '"a"', 0.9, 2, 0.5, "m", post([0.9], ["a"]), 0),
        ("u19", 7, 0.9, 2, 0.5, "m", post([0.9], ["a"]), 0),  # a label that is a number: kept as text
        ("u20", 0.1, 0.9, 2, 0.5, "m", None, 0),
        ("u21", '"a"', 0.9, 2, 0.5, "other", None, 0),
        ("u22", '"a"', 0.9, 2, 0.5, 3, None, 0),  # a method that is a number: kept as text
    ]
    store = Store(tmp_path / "home")
    with store.transaction():
        results.replace_aggregates(store, "c", iter(rows))
        results.replace_aggregates(store, "d", iter(rows[::-1]))
    old = sqlite3.connect(":memory:")  # the table before m016, as m001 made it
    old.execute("CREATE TABLE aggregates (campaign TEXT NOT NULL, unit_id TEXT NOT NULL, label_json TEXT NOT NULL, "
                "confidence REAL NOT NULL, n_annotations INTEGER NOT NULL, agreement REAL, method TEXT NOT NULL, "
                "posteriors_json TEXT, tie INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, unit_id))")
    old.executemany("INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [("c", *r) for r in rows])
    written = old.execute(_BEFORE_M016["aggregates"], ("c",)).fetchall()
    assert written[11][2] == 1.0 and [r[0] for r in written] == [r[0] for r in rows]  # a REAL column's float
    for campaign in ("c", "d"):
        back = [tuple(r) for r in results.aggregates(store, campaign)]
        assert [repr(r) for r in back] == [repr(r) for r in written]  # repr: NaN and -0.0 compared too
        assert [type(x) for r in back for x in r] == [type(x) for r in written for x in r]
        consensus = [tuple(r) for r in results.iter_consensus_rows(store, campaign)]
        assert [repr(r) for r in consensus] == [repr((*r[:6], r[7])) for r in written]
    def kinds(campaign):
        return dict(store.all("SELECT (SELECT id FROM unit_keys WHERE n = unit), typeof(posteriors) || '/' || "
                              "typeof(label_json) || '/' || typeof(confidence) FROM aggregates WHERE campaign=?",
                              campaign))

    first, kind = kinds("c"), kinds("d")  # "c" saw each class set first, "d" knew them
    assert first["u01"] == first["u17"] == "text/text/real" and first["u02"] == first["u18"] == "blob/integer/null"
    assert kind["u01"] == kind["u02"] == kind["u17"] == "blob/integer/null"
    assert kind["u03"] == "blob/integer/real" and kind["u11"] == "blob/text/real"
    assert kind["u04"] == "blob/integer/real"  # -0.0 (a REAL column gives back 0.0) kept
    assert {kind[u] for u in ("u05", "u06", "u07", "u08", "u09", "u10", "u16")} == {"text/text/real"}
    assert kind["u13"] == "null/text/real"
    assert store.scalar("SELECT COUNT(*) FROM aggregate_keys") == 2  # not the one given once
    assert [tuple(r) for r in store.all("SELECT id, method FROM aggregate_methods ORDER BY id")] == [
        (1, "m"), (2, "other"), (3, "3")]
    assert store.scalar("SELECT COUNT(*) FROM aggregates WHERE typeof(method) != 'integer'") == 0
    with pytest.raises(StoreError, match="UNIQUE constraint failed: aggregates.campaign, aggregates.unit"):
        with store.transaction():
            results.replace_aggregates(store, "c", [rows[0], rows[0]])
    for confidence in (None, float("nan")):  # as the NOT NULL column refused them (NaN is NULL in SQLite)
        with pytest.raises(StoreError, match="NOT NULL constraint failed: aggregates.confidence"):
            with store.transaction():
                results.replace_aggregates(store, "c", [(*rows[0][:2], confidence, *rows[0][3:])])
    assert [tuple(r) for r in results.aggregates(store, "c")] == back
    store.close()


M016 = ROOT / "tests" / "fixtures" / "store-m016"


def _before_m017() -> dict[str, str]:
    """What the store's functions over the annotations, local results and assignments return, as the
    code before m017 read them (main at acc130f: unit ids as text)."""
    from workbench.store.packing import seconds_sql, stamp_sql

    created = stamp_sql("created_at")
    updated = f"CASE WHEN typeof(updated_at) = 'blob' THEN {created} ELSE {stamp_sql('updated_at')} END"
    key = "CASE WHEN key = '' THEN unit_id || ':' || annotator_id ELSE key END"
    a_key = "CASE WHEN a.key = '' THEN a.unit_id || ':' || a.annotator_id ELSE a.key END"
    r_created = stamp_sql("r.created_at")
    settling = (f"SELECT {a_key}, a.unit_id, a.annotator_id, a.status, a.round, s.round FROM annotations a "
                "LEFT JOIN assignments s ON s.campaign = a.campaign AND s.unit_id = a.unit_id "
                "AND s.annotator_id = a.annotator_id AND s.cancelled IS NULL WHERE a.campaign=? "
                f"ORDER BY a.unit_id, {stamp_sql('a.created_at')}, {a_key}")
    return {
        "annotations": f"SELECT {key}, unit_id, annotator_id, label_json, {seconds_sql('lead_time')}, {created}, "
                       f"{updated}, backend, backend_ids_json, status, reason, round FROM annotations WHERE campaign=? "
                       "ORDER BY unit_id, annotator_id, key",
        "counted": "SELECT unit_id, annotator_id, label_json FROM annotations WHERE campaign=? AND status='ok' "
                   "AND label_json IS NOT NULL ORDER BY unit_id, annotator_id, key",
        "in_order": f"SELECT {key}, unit_id, annotator_id, status, round FROM annotations WHERE campaign=? "
                    f"ORDER BY unit_id, {created}, {key}",
        "versions": f"SELECT {key}, {updated} FROM annotations INDEXED BY annotations_annotator WHERE campaign=?",
        "backend_ids": f"SELECT {key}, backend_ids_json FROM annotations INDEXED BY annotations_annotator "
                       "WHERE campaign=?",
        "quarantined": "SELECT unit_id, annotator_id, reason FROM annotations WHERE campaign=? AND status='invalid' "
                       "ORDER BY unit_id, rowid",
        "pairs": "SELECT DISTINCT unit_id, annotator_id FROM annotations WHERE campaign=? ORDER BY 1, 2",
        "status_firsts": f"SELECT annotator_id, status, COUNT(*), MIN(unit_id || char(0) || {key}) FROM annotations "
                         "INDEXED BY annotations_annotator WHERE campaign=? GROUP BY annotator_id, status",
        "extra": "SELECT COUNT(DISTINCT unit_id), COUNT(*) FROM annotations WHERE campaign=? AND status='extra'",
        "honeypots": "SELECT a.annotator_id, COUNT(DISTINCT a.unit_id) FROM units u CROSS JOIN annotations a "
                     "ON a.campaign = u.campaign AND a.unit_id = u.id WHERE u.campaign=? AND u.is_gold=1 "
                     "GROUP BY a.annotator_id ORDER BY 1",
        "settling": settling,
        "local_results": f"SELECT r.unit_id, r.annotator_id, CASE WHEN typeof(r.result_json) = 'integer' THEN "
                         f"v.result_json ELSE r.result_json END, {seconds_sql('r.lead_time')}, {r_created}, "
                         f"CASE WHEN r.updated_at IS NULL THEN {r_created} ELSE {stamp_sql('r.updated_at')} END, "
                         "r.was_cancelled FROM local_results r LEFT JOIN local_result_values v ON v.id = r.result_json "
                         f"WHERE r.campaign=? ORDER BY {r_created}, r.unit_id, r.annotator_id",
        "assignments": "SELECT unit_id, annotator_id, position, round, cancelled FROM assignments WHERE campaign=? "
                       "ORDER BY annotator_id, position",
        "planned_rounds": "SELECT unit_id, annotator_id, round FROM assignments WHERE campaign=? AND cancelled IS NULL "
                          "ORDER BY unit_id, round, annotator_id",
        "per_unit": "SELECT unit_id, COUNT(*) FROM assignments WHERE campaign=? AND cancelled IS NULL GROUP BY unit_id",
        "planned_for": "SELECT DISTINCT unit_id FROM assignments WHERE campaign=? AND cancelled IS NULL "
                       "AND annotator_id IN ('ana', 'ben') ORDER BY 1",
        "unit_agreement": "SELECT unit_id, n_annotations, agreement, consensus_share, disputed FROM unit_agreement "
                          "WHERE campaign=? ORDER BY agreement, unit_id",
        "tasks": "SELECT unit_id, COALESCE(task_id, unit_id), overlap FROM backend_tasks WHERE campaign=?",
        "gold_share": "SELECT annotator_id, AVG(unit_id IN (SELECT id FROM units WHERE campaign=?1 AND is_gold)) "
                      "FROM assignments WHERE campaign=?1 AND cancelled IS NULL "
                      "AND unit_id IN (SELECT id FROM units WHERE campaign=?1) GROUP BY annotator_id ORDER BY 1",
    }


def after_m017(store: Store, campaign: str) -> dict[str, list]:
    from workbench.store import backend, labels, results, work

    firsts = store.all(f"SELECT annotator_id, status, COUNT(*), MIN({labels._UNIT} || char(0) || {labels._KEY}) "
                       f"FROM {labels._ANN} WHERE campaign=? GROUP BY annotator_id, status", campaign)
    return {"annotations": [tuple(r) for r in labels.annotations(store, campaign)],
            "counted": labels.counted(store, campaign),
            "in_order": [tuple(r) for r in labels.in_order(store, campaign)],
            "versions": list(labels.stored_versions(store, campaign).items()),
            "backend_ids": list(labels.backend_ids(store, campaign, "").items()),
            "quarantined": [tuple(r) for r in labels.quarantined(store, campaign)],
            "pairs": sorted(labels.answered_pairs(store, campaign)),
            "status_firsts": [tuple(r) for r in firsts],
            "extra": [labels.extra_counts(store, campaign)],
            "honeypots": sorted(labels.honeypots_answered(store, campaign)[1].items()),
            "settling": labels.settling_after(store, campaign, None, 10 ** 9),
            "local_results": [tuple(r) for r in backend.local_results(store, campaign)],
            "assignments": [tuple(r) for r in work.assignments(store, campaign)],
            "planned_rounds": [tuple(r) for r in work.planned_rounds(store, campaign)],
            "per_unit": list(work.planned_per_unit(store, campaign).items()),
            "planned_for": sorted((u,) for u in work.units_planned_for(store, campaign, {"ana", "ben"})),
            "unit_agreement": [tuple(r) for r in results.unit_agreement(store, campaign)],
            "tasks": [(u, *t) for u, t in work.backend_tasks(store, campaign).items()],
            "aggregates": [tuple(r) for r in results.aggregates(store, campaign)],
            "consensus": [tuple(r) for r in results.iter_consensus_rows(store, campaign)],
            "gold_share": sorted(work.gold_share(store, campaign).items())}


@pytest.fixture
def before_m017(tmp_path) -> Path:
    """A store made before m017 (three campaigns run to the end, one reviewed; Label Studio keys, annotator
    ids with a colon and quarantined answers among the annotations), laid out as when it was made."""
    return lay_out(M016, tmp_path / "m016")


def test_the_unit_numbers_migration_keeps_every_row(before_m017):
    from workbench.store import labels
    from workbench.store.packing import Aggregates

    db = before_m017 / "home" / "workbench.db"
    raw = sqlite3.connect(db)
    campaigns = [r[0] for r in raw.execute("SELECT name FROM campaigns ORDER BY name")]
    before = {c: {t: [tuple(r) for r in raw.execute(q, (c,))] for t, q in _before_m017().items()} for c in campaigns}
    packer = Aggregates(raw)  # main's aggregates reads: its stored rows (m016) in unit order, unpacked
    stored = "SELECT unit_id, label_json, confidence, n_annotations, agreement, method, pkeys, posteriors, tie " \
             "FROM aggregates WHERE campaign=? ORDER BY unit_id"
    for c in campaigns:
        before[c]["aggregates"] = [packer.unpacked(r) for r in raw.execute(stored, (c,))]
        before[c]["consensus"] = [packer.consensus(r) for r in raw.execute(stored, (c,))]
    status_counts = {}
    for c in campaigns:  # main's status_counts, from the rows of main's SQL
        rows = before[c]["status_firsts"]
        status_counts[c] = labels.status_counts_of(rows)
        before[c]["status_firsts"] = sorted(rows)
    rebuilt = ("annotations", "local_results", "assignments", "aggregates", "unit_agreement", "backend_tasks",
               "_migrations", "meta")
    untouched = [t for t in dict(dump_store(db.parent)) if t not in rebuilt]
    others = {t: rows for t, rows in dump_store(db.parent) if t in untouched}
    ids = {r[0] for r in raw.execute("SELECT id FROM units UNION SELECT unit_id FROM annotations UNION "
                                     "SELECT unit_id FROM local_results UNION SELECT unit_id FROM assignments UNION "
                                     "SELECT unit_id FROM aggregates UNION SELECT unit_id FROM unit_agreement UNION "
                                     "SELECT unit_id FROM backend_tasks")}
    raw.close()
    assert campaigns == ["m015-claims", "m015-sentiment", "m015-text"]
    assert all(any(before[c][t] for c in campaigns) for t in before["m015-claims"])  # something in each read
    assert before["m015-claims"]["extra"][0][1] > 0 and all(before[c]["quarantined"] for c in ("m015-claims", "m015-text"))
    store = Store(db.parent)
    store.conn
    assert store.migrated == ["m017_unit_numbers"]
    for c in campaigns:
        after = after_m017(store, c)
        after["status_firsts"] = sorted(after["status_firsts"])
        assert after == before[c], c
        assert labels.status_counts(store, c) == status_counts[c]
        # settling in pages and between two units: the same rows
        units = sorted({r[1] for r in before[c]["settling"]})
        mid = units[len(units) // 2]
        assert labels.settling_after(store, c, mid, 10 ** 9) == [r for r in before[c]["settling"] if r[1] > mid]
        assert labels.settling_between(store, c, units[3], mid) == [
            r for r in before[c]["settling"] if units[3] < r[1] <= mid]
        assert labels.settling_of(store, c, mid) == [r for r in before[c]["settling"] if r[1] == mid]
    assert {t: rows for t, rows in dump_store(db.parent) if t in untouched} == others
    # the numbers: one per unit id, in the ids' text order; the three tables keep no text id
    keys = store.tuples("SELECT n, id FROM unit_keys ORDER BY n")
    assert [k[1] for k in keys] == sorted(ids) and [k[0] for k in keys] == list(range(1, len(ids) + 1))
    for table in ("annotations", "local_results", "assignments", "aggregates", "unit_agreement", "backend_tasks"):
        columns = [r[1] for r in store.all(f"PRAGMA table_info({table})")]
        assert "unit" in columns and "unit_id" not in columns
        assert store.scalar(f"SELECT COUNT(*) FROM {table} WHERE typeof(unit) != 'integer'") == 0
    assert store.scalar("SELECT COUNT(*) FROM annotations WHERE key LIKE 'ls:%' OR annotator_id LIKE '%:%'") == 5
    store.close()


def test_a_campaign_migrated_to_unit_numbers_works_on(before_m017):
    """Run again: nothing new, the same consensus; its annotations pulled again from the local results
    (the pull's SQL copy over numbers) are the rows they were."""
    from workbench.store import labels

    home = before_m017 / "home"
    for name in ("m015-claims", "m015-sentiment", "m015-text"):
        _run_again_changes_nothing(home, before_m017 / "specs" / f"{name}.toml", name)
    name = "m015-text"
    store = Store(home)
    kept = [tuple(r) for r in labels.annotations(store, name)]
    store.close()
    out = _pull_quarantined_again(home, before_m017 / "specs" / f"{name}.toml", name)
    assert out["simulate"]["labels_made"] == 0 and 0 < out["pull"]["new"] < len(kept), out
    store = Store(home)
    again = [tuple(r) for r in labels.annotations(store, name)]
    assert len(again) == len(kept) and {r[9] for r in again} == {"ok"}
    assert [r[:3] for r in again] == [r[:3] for r in kept]
    store.close()
    result = run(home, "review", "m015-sentiment", "--json")
    assert result.exit_code == 0, result.output


def test_units_between_known_ones_renumber_the_store(tmp_path):
    """A unit id that falls between two numbered ones (a later plan) renumbers every id and every table
    that holds numbers; the reads in unit order keep the ids' text order."""
    from workbench.store import backend, corpus, labels, results, work

    store = Store(tmp_path / "home")
    first = [f"u{i:03d}" for i in range(0, 40, 4)]
    with store.transaction():
        results.replace_aggregates(store, "c", [(u, '"x"', 0.5, 1, None, "m", None, 0) for u in reversed(first)])
        results.replace_agreement(store, "c", [], [], [(u, 1, 1.0, 1.0, 0) for u in first])
        work.record_tasks(store, "c", "local", {u: u if u < "u02" else f"t{u}" for u in first}, {first[1]: 3},
                          "2026-12-03T00:00:00+00:00")
        work.add_assignments(store, "c", [(u, a, i, 1) for i, u in enumerate(first) for a in ("b", "a")])
        backend.add_local_results(store, "c", [(u, "a", '"x"', 1.0, "2026-12-03T00:00:00+00:00",
                                                "2026-12-03T00:00:00+00:00") for u in first])
        labels.upsert(store, "c", [(f"{u}:a", u, "a", '"x"', 1.0, "2026-12-03T00:00:00+00:00",
                                    "2026-12-03T00:00:00+00:00", "local", "{}", "ok", None, 1) for u in first])
    assert store.tuples("SELECT id FROM unit_keys ORDER BY n") == [(u,) for u in first]
    later = ["u002", "u041", "t", "u0035", "u021"]  # between, after, before every one
    with store.transaction():
        work.add_assignments(store, "c", [(u, "a", 100 + i, 2) for i, u in enumerate(later)])
        backend.add_local_results(store, "c", [(u, "b", '"y"', 2.0, "2026-12-03T00:00:01+00:00",
                                                "2026-12-03T00:00:01+00:00") for u in later])
        labels.upsert(store, "c", [(f"{u}:b", u, "b", '"y"', 1.0, "2026-12-03T00:00:01+00:00",
                                    "2026-12-03T00:00:01+00:00", "local", "{}", "ok", None, 2) for u in later])
    every = sorted(first + later)
    assert store.tuples("SELECT id FROM unit_keys ORDER BY n") == [(u,) for u in every]
    assert [r[0] for r in results.aggregates(store, "c")] == first  # renumbered with the rest
    assert [r[0] for r in results.unit_agreement(store, "c")] == first
    assert work.backend_tasks(store, "c") == {u: (u if u < "u02" else f"t{u}", 3 if u == first[1] else None)
                                              for u in first} and list(work.backend_tasks(store, "c")) == first
    with store.transaction():
        results.replace_aggregates(store, "d", [(u, '"x"', 0.5, 1, None, "m", None, 0) for u in [*later, *first]])
    assert [r[0] for r in results.iter_consensus_rows(store, "d")] == every
    assert [r[0] for r in store.tuples("SELECT n FROM unit_keys ORDER BY n")] == list(range(1, len(every) + 1))
    assert [r[0] for r in labels.counted(store, "c")] == sorted(
        [*first, *later])  # by unit (one answer each), text order
    assert [(r["unit_id"], r["annotator_id"]) for r in labels.annotations(store, "c")] == sorted(
        [(u, "a") for u in first] + [(u, "b") for u in later])
    assert [(r[0], r[1]) for r in work.planned_rounds(store, "c")] == sorted(
        [(u, a) for u in first for a in ("a", "b")] + [(u, "a") for u in later])
    assert list(work.planned_per_unit(store, "c")) == every
    assert [r[1] for r in labels.settling_after(store, "c", "u01", 100)] == [u for u in every if u > "u01"]
    assert [r[1] for r in labels.settling_between(store, "c", "t", "u02")] == [u for u in every if "t" < u <= "u02"]
    assert sorted(backend.local_done(store, "c")) == sorted([(u, "a") for u in first] + [(u, "b") for u in later])
    assert labels.stored_unit_ids(store, backend.LocalResults("c")) == every
    # the store's own numbers agree with the text: every table's numbers name the right ids
    for table in ("annotations", "local_results", "assignments"):
        pairs = store.tuples(f"SELECT k.id, t.annotator_id FROM {table} t JOIN unit_keys k ON k.n = t.unit "
                             "ORDER BY t.unit, t.annotator_id")
        assert [p[0] for p in pairs] == sorted(p[0] for p in pairs)
    assert sorted(store.tuples("SELECT k.id, t.annotator_id FROM assignments t JOIN unit_keys k ON k.n = t.unit")) == \
        sorted([(u, a) for u in first for a in ("a", "b")] + [(u, "a") for u in later])
    # a plan that brings units between known ones numbers them then (the store renumbered in its transaction)
    planned = [*first, "u0005", "s", "v"]
    with store.transaction():
        corpus.replace(store, "c", [("d", "t", "src", "sha", "x" * 10, "{}")],
                       [(u, i, "d", 0, 1, "x", None, 0, None, None, None) for i, u in enumerate(planned)])
    every = sorted({*every, *planned})
    assert store.tuples("SELECT id FROM unit_keys ORDER BY n") == [(u,) for u in every]
    assert [r[0] for r in store.tuples("SELECT n FROM unit_keys ORDER BY n")] == list(range(1, len(every) + 1))
    assert [(r["unit_id"], r["annotator_id"]) for r in labels.annotations(store, "c")] == sorted(
        [(u, "a") for u in first] + [(u, "b") for u in later])
    assert [r[1] for r in labels.settling_after(store, "c", "u0", 100)] == [u for u in every if u > "u0"
                                                                           and u not in ("u0005", "v")]
    assert list(work.planned_per_unit(store, "c")) == [u for u in every if u not in ("u0005", "s", "v")]
    store.close()

"""The store's schema as an ordered list of named migrations (the pattern of simonw/llm's ``migrations.py``).

Each ``@migration`` function changes the schema one step; :func:`migrate` runs the ones a store has
not had yet, in order, in one transaction, and records their names in ``_migrations``. A store made
by workbench 0.1 (which had only ``meta.schema_version = 1`` and created its tables directly) is
migrated like any other: ``m001_initial`` is that release's schema, written so it finds its tables
already there. A store carrying a migration this code does not know was written by a newer
release and is refused. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Callable

from ..errors import WorkbenchError

#: what ``meta.schema_version`` says after a migration: workbench 0.1 refuses any value above 1,
#: so an older release never writes into a store it does not understand
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append(Migration(fn.__name__, fn))
    return fn


def _run(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):  # executescript would commit the migration's transaction
        if statement.strip():
            db.execute(statement)


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def _add_column(db: sqlite3.Connection, table: str, definition: str) -> None:
    if definition.split()[0].strip('"') not in _columns(db, table):
        db.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    """The schema of workbench 0.1 (its stores already have these tables)."""
    _run(db, """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
    name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, spec_path TEXT NOT NULL, spec_json TEXT NOT NULL,
    task_type TEXT NOT NULL, backend TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    campaign TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
    sha256 TEXT NOT NULL, text TEXT NOT NULL, metadata_json TEXT NOT NULL,
    PRIMARY KEY (campaign, id));
CREATE TABLE IF NOT EXISTS units (
    campaign TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, document_id TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, context TEXT,
    is_gold INTEGER NOT NULL DEFAULT 0, gold_json TEXT,
    prelabel_json TEXT, prelabel_score REAL,
    PRIMARY KEY (campaign, id));
CREATE TABLE IF NOT EXISTS annotators (
    campaign TEXT NOT NULL, id TEXT NOT NULL, persona TEXT, lean TEXT, email TEXT,
    PRIMARY KEY (campaign, id));
CREATE TABLE IF NOT EXISTS assignments (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (campaign, unit_id, annotator_id));
CREATE TABLE IF NOT EXISTS backend_tasks (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, backend TEXT NOT NULL, task_id TEXT NOT NULL,
    pushed_at TEXT NOT NULL, PRIMARY KEY (campaign, unit_id));
CREATE TABLE IF NOT EXISTS local_results (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL, result_json TEXT NOT NULL,
    lead_time REAL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, was_cancelled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, unit_id, annotator_id));
CREATE TABLE IF NOT EXISTS annotations (
    campaign TEXT NOT NULL, key TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL,
    label_json TEXT, lead_time REAL, created_at TEXT, updated_at TEXT, backend TEXT NOT NULL,
    backend_ids_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    PRIMARY KEY (campaign, key));
CREATE INDEX IF NOT EXISTS annotations_unit ON annotations (campaign, unit_id);
CREATE TABLE IF NOT EXISTS aggregates (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, label_json TEXT NOT NULL, confidence REAL NOT NULL,
    n_annotations INTEGER NOT NULL, agreement REAL, method TEXT NOT NULL, posteriors_json TEXT,
    tie INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, unit_id));
CREATE TABLE IF NOT EXISTS steps (
    campaign TEXT NOT NULL, step TEXT NOT NULL, finished_at TEXT NOT NULL, summary_json TEXT NOT NULL,
    PRIMARY KEY (campaign, step));
CREATE TABLE IF NOT EXISTS cursors (
    campaign TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (campaign, name))
""")


@migration
def m002_spec_versions(db: sqlite3.Connection) -> None:
    """Every version of a campaign's spec, what changed, and which one is current."""
    _run(db, """
CREATE TABLE spec_versions (
    campaign TEXT NOT NULL, version INTEGER NOT NULL, fingerprint TEXT NOT NULL, spec_path TEXT NOT NULL,
    spec_json TEXT NOT NULL, identity_json TEXT, changes_json TEXT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (campaign, version))
""")
    _add_column(db, "campaigns", "spec_version INTEGER NOT NULL DEFAULT 1")
    _add_column(db, "campaigns", "identity_json TEXT")
    _add_column(db, "campaigns", "annotations_rev INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "INSERT INTO spec_versions (campaign, version, fingerprint, spec_path, spec_json, identity_json, "
        "changes_json, recorded_at) SELECT name, 1, fingerprint, spec_path, spec_json, NULL, ?, created_at "
        "FROM campaigns", (json.dumps(["first version (recorded by workbench 0.1)"]),))


@migration
def m003_annotator_lifecycle(db: sqlite3.Connection) -> None:
    """Annotators join and retire over a campaign's life (retired ones keep their labels)."""
    _add_column(db, "annotators", "status TEXT NOT NULL DEFAULT 'active'")
    _add_column(db, "annotators", "since_version INTEGER NOT NULL DEFAULT 1")
    _add_column(db, "annotators", "retired_version INTEGER")


@migration
def m004_rounds(db: sqlite3.Connection) -> None:
    """Rounds: which round of work planned each assignment and produced each annotation."""
    _run(db, """
CREATE TABLE rounds (
    campaign TEXT NOT NULL, round INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
    spec_version INTEGER NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (campaign, round))
""")
    _add_column(db, "assignments", "round INTEGER NOT NULL DEFAULT 1")
    _add_column(db, "assignments", "cancelled TEXT")  # NULL: planned; else why it no longer is
    _add_column(db, "annotations", "round INTEGER")
    _add_column(db, "backend_tasks", "overlap INTEGER")  # annotators the backend was last told to collect
    db.execute(
        "INSERT INTO rounds (campaign, round, kind, reason, spec_version, created_at) "
        "SELECT a.campaign, 1, 'initial', 'the first assignment', 1, COALESCE(s.finished_at, c.created_at) "
        "FROM (SELECT DISTINCT campaign FROM assignments) a JOIN campaigns c ON c.name = a.campaign "
        "LEFT JOIN steps s ON s.campaign = a.campaign AND s.step = 'assign'")
    db.execute("UPDATE annotations SET round = 1 WHERE status != 'extra'")  # 0.1 had one round
    db.execute(
        "UPDATE backend_tasks SET overlap = (SELECT COUNT(*) FROM assignments x WHERE "
        "x.campaign = backend_tasks.campaign AND x.unit_id = backend_tasks.unit_id)")


@migration
def m005_step_inputs(db: sqlite3.Connection) -> None:
    """Each step's run number and what it was computed from, so a stale result is recomputed."""
    _add_column(db, "steps", "seq INTEGER NOT NULL DEFAULT 0")
    _add_column(db, "steps", "inputs_json TEXT")


@migration
def m006_agreement_tables(db: sqlite3.Connection) -> None:
    """The agreement step's results as tables (the data card and the report read them back)."""
    _run(db, """
CREATE TABLE metrics (
    campaign TEXT NOT NULL, metric TEXT NOT NULL, position INTEGER NOT NULL, value REAL, note TEXT,
    detail_json TEXT, PRIMARY KEY (campaign, metric));
CREATE TABLE annotator_quality (
    campaign TEXT NOT NULL, annotator TEXT NOT NULL, n_annotations INTEGER NOT NULL, gold_n INTEGER NOT NULL,
    gold_accuracy REAL, consensus_agreement REAL, ds_accuracy REAL, spammer_score REAL,
    flags_json TEXT NOT NULL, confusion_json TEXT, PRIMARY KEY (campaign, annotator));
CREATE TABLE unit_agreement (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, n_annotations INTEGER NOT NULL, agreement REAL,
    consensus_share REAL, disputed INTEGER NOT NULL, PRIMARY KEY (campaign, unit_id))
""")


@migration
def m007_backend_state(db: sqlite3.Connection) -> None:
    """A backend's own state in its own table (0.1 kept it among the core's cursors)."""
    _run(db, """
CREATE TABLE backend_state (
    campaign TEXT NOT NULL, backend TEXT NOT NULL, key TEXT NOT NULL, value_json TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (campaign, backend, key))
""")
    db.execute(
        "INSERT INTO backend_state (campaign, backend, key, value_json, updated_at) "
        "SELECT c.campaign, 'labelstudio', 'project', c.value, COALESCE(p.created_at, '') FROM cursors c "
        "JOIN campaigns p ON p.name = c.campaign WHERE c.name = 'labelstudio:project'")
    db.execute(
        "INSERT INTO backend_state (campaign, backend, key, value_json, updated_at) "
        "SELECT c.campaign, p.backend, 'pull_cursor', json_quote(c.value), COALESCE(p.created_at, '') "
        "FROM cursors c JOIN campaigns p ON p.name = c.campaign WHERE c.name = 'pull'")
    db.execute("DROP TABLE cursors")


@migration
def m008_indexes(db: sqlite3.Connection) -> None:
    """Lookups the engine makes per unit and per annotator."""
    _run(db, """
CREATE INDEX IF NOT EXISTS assignments_annotator ON assignments (campaign, annotator_id, position);
CREATE INDEX IF NOT EXISTS annotations_annotator ON annotations (campaign, annotator_id)
""")


@migration
def m009_pinned_schema(db: sqlite3.Connection) -> None:
    """The label schema a campaign was planned with (a plugin's later labels do not change it)."""
    _add_column(db, "campaigns", "schema_json TEXT")


@migration
def m010_intervals_and_evaluations(db: sqlite3.Connection) -> None:
    """Bootstrap intervals of the agreement metrics and of each annotator's gold accuracy, and the
    last evaluation of each model's predictions (``workbench evaluate``)."""
    _add_column(db, "metrics", "ci_low REAL")
    _add_column(db, "metrics", "ci_high REAL")
    _add_column(db, "annotator_quality", "gold_accuracy_low REAL")
    _add_column(db, "annotator_quality", "gold_accuracy_high REAL")
    _run(db, """
CREATE TABLE evaluations (
    campaign TEXT NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL, evaluated_at TEXT NOT NULL,
    aggregate_seq INTEGER, result_json TEXT NOT NULL, PRIMARY KEY (campaign, model))
""")


@migration
def m011_reviews(db: sqlite3.Connection) -> None:
    """Review rounds: a unit sent to a reviewer, why, the consensus then, and the verdict."""
    _run(db, """
CREATE TABLE reviews (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, reviewer TEXT NOT NULL, round INTEGER NOT NULL,
    reasons_json TEXT NOT NULL, consensus_json TEXT NOT NULL, requested_at TEXT NOT NULL,
    task_id TEXT, label_json TEXT, overturned INTEGER, answered_at TEXT,
    PRIMARY KEY (campaign, unit_id, reviewer))
""")


@migration
def m012_gating(db: sqlite3.Connection) -> None:
    """Gating: every exclusion and inclusion of an annotator, with when, why and by what rule; and
    the honeypots judged suspect (gold that most strong annotators answer otherwise)."""
    _run(db, """
CREATE TABLE gating_events (
    campaign TEXT NOT NULL, seq INTEGER NOT NULL, annotator TEXT NOT NULL, action TEXT NOT NULL,
    rule TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL, detail_json TEXT,
    PRIMARY KEY (campaign, seq));
CREATE TABLE suspect_gold (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, gold_json TEXT NOT NULL, answer_json TEXT NOT NULL,
    strong_n INTEGER NOT NULL, against_n INTEGER NOT NULL, dropped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, unit_id))
""")


@migration
def m013_run_marks(db: sqlite3.Connection) -> None:
    """What the store looked like when a campaign's last whole run ended, so that a re-run with
    nothing changed since (an in-process backend: no one else can add labels) does nothing."""
    _run(db, """
CREATE TABLE run_marks (
    campaign TEXT PRIMARY KEY, marks_json TEXT NOT NULL, recorded_at TEXT NOT NULL)
""")


@migration
def m014_compact_store(db: sqlite3.Connection) -> None:
    """A smaller store (issue 14: 36 MB per MB of text before). Tables read by their key become
    ``WITHOUT ROWID`` (no second copy of the key in an index): units, local results, assignments,
    backend tasks, per-unit agreement. A unit's text and context are kept as offsets into its
    document when they are cut from it. The local backend keeps a repeated result once
    (``local_result_values``). Time stamps in the workbench's format and lead times in hundredths are
    kept as integers (:mod:`.packing`), an ``updated_at`` equal to ``created_at`` as a marker; a
    backend task whose id is its unit's id as NULL. The assignments lose their index by annotator
    (m008): reading them in annotator order through it cost more than sorting the table. Annotations
    keep their rowids (the order of reads without ORDER BY). What the store's functions return is
    the same as before."""
    from .packing import INSERT_UNIT, insert_local_results, packed, packed_times, seconds

    # units: text NULL when it is its document's text between start and end; context as offsets
    db.execute("""CREATE TABLE units_new (
    campaign TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, document_id TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT, context TEXT,
    is_gold INTEGER NOT NULL DEFAULT 0, gold_json TEXT, prelabel_json TEXT, prelabel_score REAL,
    c1 INTEGER, n1 INTEGER, c2 INTEGER, n2 INTEGER,
    PRIMARY KEY (campaign, id)) WITHOUT ROWID""")
    campaigns = [r[0] for r in db.execute("SELECT DISTINCT campaign FROM units ORDER BY campaign")]
    for campaign in campaigns:
        docs = dict(db.execute("SELECT id, text FROM documents WHERE campaign=?", (campaign,)).fetchall())
        rows = db.execute('SELECT id, position, document_id, start, "end", text, context, is_gold, gold_json, '
                          "prelabel_json, prelabel_score FROM units WHERE campaign=? ORDER BY id", (campaign,))
        while block := rows.fetchmany(50_000):
            db.executemany(INSERT_UNIT.replace("INTO units", "INTO units_new"),
                           [packed(campaign, docs.get(r[2]), r) for r in block])
    _run(db, """
DROP TABLE units;
ALTER TABLE units_new RENAME TO units;

CREATE TABLE local_result_values (id INTEGER PRIMARY KEY, result_json TEXT NOT NULL);
CREATE TABLE local_results_new (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL, result_json NOT NULL,
    lead_time, created_at NOT NULL, updated_at, was_cancelled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, unit_id, annotator_id)) WITHOUT ROWID
""")
    for campaign in [r[0] for r in db.execute("SELECT DISTINCT campaign FROM local_results ORDER BY campaign")]:
        rows = db.execute("SELECT unit_id, annotator_id, result_json, lead_time, created_at, updated_at, was_cancelled "
                          "FROM local_results WHERE campaign=? ORDER BY unit_id, annotator_id", (campaign,))
        while block := rows.fetchmany(50_000):
            insert_local_results(db, campaign, block, table="local_results_new")
    _run(db, """
DROP TABLE local_results;
ALTER TABLE local_results_new RENAME TO local_results;

CREATE TABLE assignments_new (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL, position INTEGER NOT NULL,
    round INTEGER NOT NULL DEFAULT 1, cancelled TEXT,
    PRIMARY KEY (campaign, unit_id, annotator_id)) WITHOUT ROWID;
INSERT INTO assignments_new (campaign, unit_id, annotator_id, position, round, cancelled)
    SELECT campaign, unit_id, annotator_id, position, round, cancelled FROM assignments
    ORDER BY campaign, unit_id, annotator_id;
DROP TABLE assignments;
ALTER TABLE assignments_new RENAME TO assignments;

CREATE TABLE backend_tasks_new (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, backend TEXT NOT NULL, task_id TEXT,
    pushed_at NOT NULL, overlap INTEGER, PRIMARY KEY (campaign, unit_id)) WITHOUT ROWID;
INSERT INTO backend_tasks_new (campaign, unit_id, backend, task_id, pushed_at, overlap)
    SELECT campaign, unit_id, backend, CASE WHEN task_id = unit_id THEN NULL ELSE task_id END,
    CASE WHEN strftime('%Y-%m-%dT%H:%M:%S+00:00', pushed_at) = pushed_at AND pushed_at LIKE '____-__-__T__:__:__+00:00'
    THEN CAST(strftime('%s', pushed_at) AS INTEGER) ELSE pushed_at END, overlap
    FROM backend_tasks ORDER BY campaign, unit_id;
DROP TABLE backend_tasks;
ALTER TABLE backend_tasks_new RENAME TO backend_tasks;

CREATE TABLE annotations_new (
    campaign TEXT NOT NULL, key TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL,
    label_json TEXT, lead_time, created_at, updated_at, backend TEXT NOT NULL,
    backend_ids_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, round INTEGER,
    PRIMARY KEY (campaign, key))
""")
    # the same rows with the same rowids (the order of every read without ORDER BY), time stamps packed
    old = db.execute("SELECT rowid, campaign, key, unit_id, annotator_id, label_json, lead_time, created_at, "
                     "updated_at, backend, backend_ids_json, status, reason, round FROM annotations ORDER BY rowid")
    while rows := old.fetchmany(50_000):
        db.executemany(
            "INSERT INTO annotations_new (rowid, campaign, key, unit_id, annotator_id, label_json, lead_time, "
            "created_at, updated_at, backend, backend_ids_json, status, reason, round) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r[:6], seconds(r[6]), *packed_times(r[7], r[8]), *r[9:]) for r in rows])
    _run(db, """
DROP TABLE annotations;
ALTER TABLE annotations_new RENAME TO annotations;
CREATE INDEX annotations_unit ON annotations (campaign, unit_id);
CREATE INDEX annotations_annotator ON annotations (campaign, annotator_id);

CREATE TABLE unit_agreement_new (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, n_annotations INTEGER NOT NULL, agreement REAL,
    consensus_share REAL, disputed INTEGER NOT NULL, PRIMARY KEY (campaign, unit_id)) WITHOUT ROWID;
INSERT INTO unit_agreement_new (campaign, unit_id, n_annotations, agreement, consensus_share, disputed)
    SELECT campaign, unit_id, n_annotations, agreement, consensus_share, disputed FROM unit_agreement
    ORDER BY campaign, unit_id;
DROP TABLE unit_agreement;
ALTER TABLE unit_agreement_new RENAME TO unit_agreement
""")


@migration
def m015_annotation_keys(db: sqlite3.Connection) -> None:
    """Annotations without a second copy of their unit and annotator (issue 14: the annotations and
    their three indexes were 41% of the store). A key that is ``unit:annotator`` (the local
    backend's; an annotator id without ``:``, so the key tells them apart) is kept as ``''`` when it is
    the only annotation of its unit and annotator; any other (Label Studio's ``ls:project:id``) as
    written. (So ``ORDER BY unit_id, annotator_id, key`` is the order of the keys as written.) One unique index on ``(campaign, unit_id,
    annotator_id, key)`` replaces the key's index and the index by unit; a partial unique index keeps
    the written keys unique. The index by annotator stays (the order of the reads without ORDER BY).
    Rows keep their rowids. What the store's functions return is the same as before."""
    _run(db, """
CREATE TABLE annotations_new (
    campaign TEXT NOT NULL, key TEXT NOT NULL, unit_id TEXT NOT NULL, annotator_id TEXT NOT NULL,
    label_json TEXT, lead_time, created_at, updated_at, backend TEXT NOT NULL,
    backend_ids_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, round INTEGER);
INSERT INTO annotations_new (rowid, campaign, key, unit_id, annotator_id, label_json, lead_time, created_at,
    updated_at, backend, backend_ids_json, status, reason, round)
    SELECT rowid, campaign, CASE WHEN key = unit_id || ':' || annotator_id AND instr(annotator_id, ':') = 0
    AND (SELECT COUNT(*) FROM annotations x INDEXED BY annotations_unit WHERE x.campaign = a.campaign
         AND x.unit_id = a.unit_id
         AND x.annotator_id = a.annotator_id) = 1
    THEN '' ELSE key END, unit_id, annotator_id, label_json, lead_time, created_at, updated_at, backend,
    backend_ids_json, status, reason, round FROM annotations a ORDER BY rowid;
DROP TABLE annotations;
ALTER TABLE annotations_new RENAME TO annotations;
CREATE UNIQUE INDEX annotations_pair ON annotations (campaign, unit_id, annotator_id, key);
CREATE UNIQUE INDEX annotations_key ON annotations (campaign, key) WHERE key != '';
CREATE INDEX annotations_annotator ON annotations (campaign, annotator_id)
""")



@migration
def m016_compact_aggregates(db: sqlite3.Connection) -> None:
    """Smaller aggregates (issue 14: 15 MB of an 81 MB store at 5 MB of text). The table becomes
    ``WITHOUT ROWID`` (its key's index, a second copy of every unit id, goes; the reads went through
    that index, so they keep their unit order). Posteriors over a set of classes that comes more than
    once are kept as doubles, the classes once in ``aggregate_keys``; a label that is one of them as
    its index, a confidence that is that class's posterior as NULL, the method as the id of its name
    in ``aggregate_methods`` (:class:`.packing.Aggregates`,
    which checks that each row reads back as given). What the store's functions return is the same."""
    from .packing import Aggregates

    _run(db, """
CREATE TABLE aggregate_keys (id INTEGER PRIMARY KEY, keys_json TEXT NOT NULL);
CREATE TABLE aggregate_methods (id INTEGER PRIMARY KEY, method TEXT NOT NULL);
CREATE TABLE aggregates_new (
    campaign TEXT NOT NULL, unit_id TEXT NOT NULL, label_json NOT NULL, confidence REAL,
    n_annotations INTEGER NOT NULL, agreement REAL, method NOT NULL, pkeys INTEGER, posteriors,
    tie INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, unit_id)) WITHOUT ROWID
""")
    packer = Aggregates(db)
    rows = db.execute("SELECT campaign, unit_id, label_json, confidence, n_annotations, agreement, method, "
                      "posteriors_json, tie FROM aggregates ORDER BY campaign, unit_id")
    while block := rows.fetchmany(50_000):
        db.executemany("INSERT INTO aggregates_new (campaign, unit_id, label_json, confidence, n_annotations, "
                       "agreement, method, pkeys, posteriors, tie) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [(r[0], *packer.packed(r[1:])) for r in block])
    packer.flush()
    _run(db, """
DROP TABLE aggregates;
ALTER TABLE aggregates_new RENAME TO aggregates
""")


@migration
def m017_unit_numbers(db: sqlite3.Connection) -> None:
    """Unit ids as numbers in the tables that repeat them (issue 14: a unit id, 23 bytes, was written
    about 926 000 times in a 5 MB run's store of 71 MB). ``unit_keys`` keeps each unit id once, its
    rowid ``n`` the number, numbered in the ids' text order (:mod:`.ids`); the annotations (with
    their rowids and indexes), the local backend's results, the assignments, the aggregates, the
    per-unit agreement and the backend tasks keep ``unit``, the number, in place of ``unit_id``. What the store's functions return is the same."""
    _run(db, """
CREATE TABLE unit_keys (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
INSERT INTO unit_keys (id) SELECT id FROM (SELECT id FROM units UNION SELECT unit_id FROM annotations
    UNION SELECT unit_id FROM local_results UNION SELECT unit_id FROM assignments UNION SELECT unit_id FROM aggregates
    UNION SELECT unit_id FROM unit_agreement UNION SELECT unit_id FROM backend_tasks) ORDER BY id;

CREATE TABLE annotations_new (
    campaign TEXT NOT NULL, key TEXT NOT NULL, unit INTEGER NOT NULL, annotator_id TEXT NOT NULL,
    label_json TEXT, lead_time, created_at, updated_at, backend TEXT NOT NULL,
    backend_ids_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, round INTEGER);
INSERT INTO annotations_new (rowid, campaign, key, unit, annotator_id, label_json, lead_time, created_at,
    updated_at, backend, backend_ids_json, status, reason, round)
    SELECT a.rowid, a.campaign, a.key, k.n, a.annotator_id, a.label_json, a.lead_time, a.created_at, a.updated_at,
    a.backend, a.backend_ids_json, a.status, a.reason, a.round FROM annotations a CROSS JOIN unit_keys k
    ON k.id = a.unit_id ORDER BY a.rowid;
DROP TABLE annotations;
ALTER TABLE annotations_new RENAME TO annotations;
CREATE UNIQUE INDEX annotations_pair ON annotations (campaign, unit, annotator_id, key);
CREATE UNIQUE INDEX annotations_key ON annotations (campaign, key) WHERE key != '';
CREATE INDEX annotations_annotator ON annotations (campaign, annotator_id);

CREATE TABLE local_results_new (
    campaign TEXT NOT NULL, unit INTEGER NOT NULL, annotator_id TEXT NOT NULL, result_json NOT NULL,
    lead_time, created_at NOT NULL, updated_at, was_cancelled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, unit, annotator_id)) WITHOUT ROWID;
INSERT INTO local_results_new (campaign, unit, annotator_id, result_json, lead_time, created_at, updated_at,
    was_cancelled)
    SELECT r.campaign, k.n, r.annotator_id, r.result_json, r.lead_time, r.created_at, r.updated_at, r.was_cancelled
    FROM local_results r CROSS JOIN unit_keys k ON k.id = r.unit_id ORDER BY r.campaign, k.n, r.annotator_id;
DROP TABLE local_results;
ALTER TABLE local_results_new RENAME TO local_results;

CREATE TABLE assignments_new (
    campaign TEXT NOT NULL, unit INTEGER NOT NULL, annotator_id TEXT NOT NULL, position INTEGER NOT NULL,
    round INTEGER NOT NULL DEFAULT 1, cancelled TEXT,
    PRIMARY KEY (campaign, unit, annotator_id)) WITHOUT ROWID;
INSERT INTO assignments_new (campaign, unit, annotator_id, position, round, cancelled)
    SELECT s.campaign, k.n, s.annotator_id, s.position, s.round, s.cancelled
    FROM assignments s CROSS JOIN unit_keys k ON k.id = s.unit_id ORDER BY s.campaign, k.n, s.annotator_id;
DROP TABLE assignments;
ALTER TABLE assignments_new RENAME TO assignments;

CREATE TABLE aggregates_new (
    campaign TEXT NOT NULL, unit INTEGER NOT NULL, label_json NOT NULL, confidence REAL,
    n_annotations INTEGER NOT NULL, agreement REAL, method NOT NULL, pkeys INTEGER, posteriors,
    tie INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, unit)) WITHOUT ROWID;
INSERT INTO aggregates_new (campaign, unit, label_json, confidence, n_annotations, agreement, method, pkeys,
    posteriors, tie)
    SELECT g.campaign, k.n, g.label_json, g.confidence, g.n_annotations, g.agreement, g.method, g.pkeys,
    g.posteriors, g.tie FROM aggregates g CROSS JOIN unit_keys k ON k.id = g.unit_id ORDER BY g.campaign, k.n;
DROP TABLE aggregates;
ALTER TABLE aggregates_new RENAME TO aggregates;

CREATE TABLE unit_agreement_new (
    campaign TEXT NOT NULL, unit INTEGER NOT NULL, n_annotations INTEGER NOT NULL, agreement REAL,
    consensus_share REAL, disputed INTEGER NOT NULL, PRIMARY KEY (campaign, unit)) WITHOUT ROWID;
INSERT INTO unit_agreement_new (campaign, unit, n_annotations, agreement, consensus_share, disputed)
    SELECT u.campaign, k.n, u.n_annotations, u.agreement, u.consensus_share, u.disputed
    FROM unit_agreement u CROSS JOIN unit_keys k ON k.id = u.unit_id ORDER BY u.campaign, k.n;
DROP TABLE unit_agreement;
ALTER TABLE unit_agreement_new RENAME TO unit_agreement;

CREATE TABLE backend_tasks_new (
    campaign TEXT NOT NULL, unit INTEGER NOT NULL, backend TEXT NOT NULL, task_id TEXT,
    pushed_at NOT NULL, overlap INTEGER, PRIMARY KEY (campaign, unit)) WITHOUT ROWID;
INSERT INTO backend_tasks_new (campaign, unit, backend, task_id, pushed_at, overlap)
    SELECT t.campaign, k.n, t.backend, t.task_id, t.pushed_at, t.overlap
    FROM backend_tasks t CROSS JOIN unit_keys k ON k.id = t.unit_id ORDER BY t.campaign, k.n;
DROP TABLE backend_tasks;
ALTER TABLE backend_tasks_new RENAME TO backend_tasks
""")


def pending(db: sqlite3.Connection) -> list[Migration]:
    """The migrations this store has not had yet; raises when it has one this code does not know."""
    has_table = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='_migrations'").fetchone()
    applied = {r[0] for r in db.execute("SELECT name FROM _migrations")} if has_table else set()
    known = {m.name for m in MIGRATIONS}
    unknown = sorted(applied - known)
    if unknown:
        raise WorkbenchError(f"the store was written by a newer workbench (it has migration {unknown[0]!r}, "
                             "unknown here): upgrade workbench to use it")
    if not has_table:
        row = (db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
               if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() else None)
        if row is not None and int(row[0]) > 1:
            raise WorkbenchError(f"the store says schema version {row[0]} but has no migration record: it was not "
                                 "written by workbench")
    return [m for m in MIGRATIONS if m.name not in applied]


def migrate(db: sqlite3.Connection, todo: list[Migration], stamp: str) -> list[str]:
    """Apply ``todo`` (from :func:`pending`) inside the caller's transaction; their names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for m in todo:
        m.apply(db)
        db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (m.name, stamp))
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    return [m.name for m in todo]

"""Builders for the export and report tests: small campaigns run end to end on the local backend.

Gold labels here come from the plugin's pre-labels: the export and report mechanics do not depend
on the gold being right, only on some units having it (the hand-written gold is for the demo).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from workbench import registry as registry_mod
from workbench.campaign import Campaign
from workbench.spec import load_spec
from workbench.store import Store

from helpers import ARTICLES, POOL

PERSON = "maria.lopez@example.org"



@contextlib.contextmanager
def builtin_plugins():
    """The built-in plugins only, for fixtures wider than one test (conftest's fixture is per test)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_LOAD_PLUGINS", "text,claims,sentiment")
        mp.delenv("WORKBENCH_HOME", raising=False)
        registry_mod.reset_registry()
        try:
            yield
        finally:
            registry_mod.reset_registry()


def write_campaign(folder: Path, name: str, task_type: str, documents: str = "00[0-3]_*.txt", extra: str = "",
                   person: bool = False, gold_every: int = 2, gold_rate: float = 0.15, overlap: int = 3) -> Path:
    """A campaign file with gold for every ``gold_every``-th unit (0: no gold)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = (f'name = "{name}"\ntask_type = "{task_type}"\ndocuments = "{ARTICLES / documents}"\n'
            f"overlap = {overlap}\nseed = 11\n")
    pool = POOL + (f'[[annotators]]\nemail = "{PERSON}"\n' if person else "")
    gold = ""
    if gold_every:
        probe = folder / f"{name}-probe.toml"
        probe.write_text(head + pool, "utf-8")
        c = Campaign(load_spec(probe), Store(folder / "probe-home"))
        c.plan()
        path = folder / f"{name}-gold.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for i, (uid, pre) in enumerate(sorted(c.prelabels().items())):
                if i % gold_every == 0:
                    label = [s.to_dict() for s in pre.label] if isinstance(pre.label, tuple) else pre.label
                    fh.write(json.dumps({"unit_id": uid, "label": label}) + "\n")
        c.store.close()
        gold = f'[gold]\nfile = "{path}"\nrate = {gold_rate}\n'
    spec = folder / f"{name}.toml"
    spec.write_text(head + gold + extra + "\n" + pool, "utf-8")
    return spec


def person_labels(c: Campaign) -> int:
    """The person labels their queue by hand (as Label Studio would report it): always the first label."""
    schema = c.task_type.schema
    first = () if schema.kind.value == "spans" else schema.labels[0]
    n = 0
    with c.store.transaction() as db:
        for unit in c.queues().get(PERSON, []):
            result = c.task_type.to_ls_result(schema.normalize(first), unit)
            db.execute("INSERT OR REPLACE INTO local_results (campaign, unit, annotator_id, result_json, "
                       "lead_time, created_at, updated_at, was_cancelled) VALUES (?, (SELECT n FROM unit_keys WHERE id=?), ?, ?, ?, ?, ?, 0)",
                       (c.name, unit.id, PERSON, json.dumps(result), 3.0, "2026-01-02T03:04:05+00:00",
                        "2026-01-02T03:04:05+00:00"))
            n += 1
    return n


def run_campaign(spec: Path, home: Path, person: bool = False) -> Campaign:
    c = Campaign(load_spec(spec), Store(home))
    c.run(until="simulate")
    if person:
        person_labels(c)
    c.pull()
    c.aggregate()
    c.agreement()
    return c

"""Push and pull against a real Label Studio: the workbench backend vs a naive per-task SDK loop.

Starts a managed Label Studio in a temp home (or uses ``--url`` with ``$LABEL_STUDIO_API_KEY``),
then on the same server:

- push: ``--units`` units (default 10 000) through the backend (batched import, predictions inline)
  vs the SDK one task at a time (``tasks.create`` then ``predictions.create``);
- pull: a project of ``--units`` tasks with ``--per-task`` annotations each (default 3: 30 000)
  through the backend (one export, validated) and an incremental pull with nothing changed, vs the
  SDK listing the tasks page by page and asking ``annotations.list`` for each.

The naive loops run on ``--naive-sample`` units/tasks (default 300) and are extrapolated linearly
to the full size (they are one request per item, so their time is linear; running them in full
would take most of an hour). The printed ratios compare time per item.
Usage: ``python -m benchmarks.bench_labelstudio [--units N] [--per-task K] [--naive-sample S]``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from workbench.backends import BackendContext
from workbench.backends.labelstudio.backend import LabelStudioBackend
from workbench.backends.labelstudio.client import LabelStudioAPI
from workbench.backends.labelstudio.server import ManagedServer
from workbench.models import PreLabel, Unit
from workbench.registry import get_registry
from workbench.spec import parse_spec
from workbench.store import Store

LABELS = ("check-worthy", "unimportant", "non-factual")


def units(n: int, tag: str) -> list[Unit]:
    rng = random.Random(n)
    words = "the company said revenue rose percent in march while analysts expected growth".split()
    return [Unit(id=f"claims-{tag}{i:08d}", task_type="claims", document_id=f"d{i // 50}", start=0, end=0,
                 text=" ".join(rng.choice(words) for _ in range(rng.randint(8, 25))).capitalize() + ".")
            for i in range(n)]


def backend_for(home: Path, name: str, url: str, key_env: str | None, overlap: int = 3,
                person: str | None = None) -> LabelStudioBackend:
    """A claims campaign on the server; ``person``: the email of a person in its pool (the account the
    pull benchmark's answers are seeded as: answers by someone outside the pool are kept, not counted)."""
    backend = {"name": "labelstudio", "batch_size": 1000}
    if key_env:
        backend.update(url=url, api_key_env=key_env)
    annotators: list[dict] = [{"id": f"a{i}", "persona": "careful"} for i in range(max(3, overlap))]
    if person:
        annotators.append({"id": "seeder", "email": person})
    raw = {"name": name, "task_type": "claims", "documents": "none", "overlap": overlap, "backend": backend,
           "annotators": annotators}
    spec = parse_spec(raw, home / f"{name}.toml")
    registry = get_registry()
    return LabelStudioBackend(BackendContext(spec, Store(home), registry.get("task_types", "claims"), registry))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_push(backend: LabelStudioBackend, sdk, n: int, sample: int) -> dict:
    us = units(n, "p")
    pre = {u.id: PreLabel(LABELS[i % 3], 0.7) for i, u in enumerate(us)}
    mapping, ours = timed(lambda: backend.push(us, pre, {u.id: 3 for u in us}, lambda tasks: None))
    assert len(mapping) == n, len(mapping)
    tt = backend.ctx.task_type
    project = sdk.projects.create(title="naive push", label_config=tt.label_config(), maximum_annotations=3)
    naive_units = units(sample, "n")

    def naive():
        for u in naive_units:
            task = sdk.tasks.create(project=project.id, data=tt.task_data(u))
            sdk.predictions.create(task=task.id, result=tt.to_ls_result(pre.get(u.id, PreLabel("unimportant", 0.7)).label, u),
                                   score=0.7, model_version="claims 0.1.0")

    _, naive_time = timed(naive)
    return {"ours": ours, "naive_sample": naive_time, "naive_full": naive_time * n / sample}


def seed_annotations(api: LabelStudioAPI, project: int, n: int, per_task: int, user: int) -> None:
    """Setup, not measured: tasks with ``per_task`` annotations each, imported in bulk."""
    us = units(n, "a")
    for start in range(0, n, 1000):
        body = [{"data": {"text": u.text, "context": "", "unit_id": u.id},
                 "annotations": [{"result": [{"id": f"r{k}", "from_name": "claim", "to_name": "text",
                                              "type": "choices", "value": {"choices": [LABELS[(i + k) % 3]]}}],
                                  "completed_by": user, "lead_time": 3.0} for k in range(per_task)]}
                for i, u in enumerate(us[start:start + 1000])]
        api.post(f"/api/projects/{project}/import", body, what="seeding annotations")


def bench_pull(backend: LabelStudioBackend, sdk, api: LabelStudioAPI, n: int, per_task: int, sample: int) -> dict:
    from workbench.backends.labelstudio.pull import MARGIN, pull_annotations
    from workbench.campaign import Campaign
    from workbench.steps.pull import apply_pull
    from workbench.store import corpus

    ctx = backend.ctx
    campaign = Campaign(ctx.spec, ctx.store, ctx.registry, from_file=False)
    with ctx.store.transaction():  # the planned units, so every pulled result is validated for real
        corpus.replace(ctx.store, campaign.name, [], [(u.id, i, u.document_id, 0, len(u.text), u.text, "", 0, None,
                                                       None, None) for i, u in enumerate(units(n, "a"))])
    project = backend.project(create=True)
    seed_annotations(api, project.id, n, per_task, backend.conn.me["id"])
    time.sleep(MARGIN.total_seconds() + 1)  # so "nothing changed" really is nothing, margin included
    batch, fetch = timed(lambda: pull_annotations(backend.conn, None, {}))
    assert len(batch.annotations) == n * per_task, len(batch.annotations)

    def apply():
        with ctx.store.transaction():
            return apply_pull(campaign.context(), batch)

    summary, store_time = timed(apply)
    assert summary["total_ok"] == n * per_task, summary
    known = {a.key: a.backend_ids for a in batch.annotations}
    quiet, incremental = timed(lambda: pull_annotations(backend.conn, batch.cursor, known))
    assert quiet.annotations == [] and quiet.deleted == [], (len(quiet.annotations), len(quiet.deleted))
    for a in batch.annotations[:100]:  # people edit 100 answers
        api.patch(f"/api/annotations/{a.backend_ids['annotation']}/",
                  {"result": [{"id": "e", "from_name": "claim", "to_name": "text", "type": "choices",
                               "value": {"choices": ["non-factual"]}}]})
    edited, after_edits = timed(lambda: pull_annotations(backend.conn, quiet.cursor, known))
    assert len({a.backend_ids["task"] for a in edited.annotations}) <= 100

    def naive():
        from label_studio_sdk.core.api_error import ApiError

        got = 0
        try:
            for task in sdk.tasks.list(project=project.id, fields="task_only"):
                got += len(sdk.annotations.list(id=task.id))
                if got >= sample * per_task:
                    return got
        except ApiError as exc:  # the SDK's pager asks for the page after the last one: 404
            if exc.status_code != 404:
                raise
        return got

    got, naive_time = timed(naive)
    tasks_read = got / per_task
    return {"ours": fetch + store_time, "fetch": fetch, "store": store_time,
            "incremental_nothing_changed": incremental, "incremental_100_edits": after_edits,
            "naive_sample": naive_time, "naive_full": naive_time * n / tasks_read}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=10_000)
    ap.add_argument("--per-task", type=int, default=3)
    ap.add_argument("--naive-sample", type=int, default=300)
    ap.add_argument("--url", help="an existing Label Studio (key in $LABEL_STUDIO_API_KEY); default: start one")
    args = ap.parse_args(argv)
    os.environ.setdefault("WORKBENCH_LOAD_PLUGINS", "claims")
    from label_studio_sdk import LabelStudio

    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        home = Path(tmp)
        server = None
        if args.url:
            url, key, key_env = args.url, os.environ["LABEL_STUDIO_API_KEY"], "LABEL_STUDIO_API_KEY"
        else:
            server = ManagedServer(home)
            print("starting Label Studio ...", file=sys.stderr)
            server.start()
            url, key, key_env = server.status()["url"], server.token(), None
        try:
            sdk = LabelStudio(base_url=url, api_key=key, timeout=600)
            api = LabelStudioAPI(url, key, timeout=600)
            n = args.units
            push = bench_push(backend_for(home, "bench-push", url, key_env), sdk, n, args.naive_sample)
            pull = bench_pull(backend_for(home, "bench-pull", url, key_env, args.per_task, api.whoami()["email"]), sdk,
                              api, n, args.per_task, args.naive_sample)
        finally:
            if server is not None:
                server.stop()
    print(f"Label Studio push/pull on one server ({url}); naive loops timed on {args.naive_sample} items, "
          "extrapolated linearly")
    print(f"push {n} units:        workbench {push['ours']:8.1f} s   naive SDK loop ~{push['naive_full']:8.1f} s   "
          f"ratio {push['naive_full'] / push['ours']:6.1f}x")
    print(f"pull {n * args.per_task} annotations: workbench {pull['ours']:8.1f} s   naive SDK loop ~{pull['naive_full']:8.1f} s   "
          f"ratio {pull['naive_full'] / pull['ours']:6.1f}x")
    print(f"  (workbench pull = export and validation {pull['fetch']:.1f} s + store {pull['store']:.1f} s)")
    print(f"incremental pull, nothing changed: {pull['incremental_nothing_changed']:.2f} s; "
          f"after 100 edits: {pull['incremental_100_edits']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

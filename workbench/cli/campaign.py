"""Campaign commands: init, run, the steps one by one, status and the demo."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import WorkbenchError
from .common import emit_json, fmt, pass_state, table
from .quality import aggregate_file, agreement_command, is_label_file, label_file_options, print_models

CAMPAIGN = click.argument("campaign", metavar="CAMPAIGN")
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
#: the demo's managed server: gunicorn with 2 worker processes on SQLite saved the claims sample's 963
#: answers in 57 s against 110 s on the development server (2 cores; docs/labelstudio.md)
DEMO_SERVER_WORKERS = 2

TEMPLATE = '''# A workbench campaign. Reference: docs/campaigns.md
name = "{name}"
task_type = "{task_type}"          # `workbench plugins` lists the task types
documents = "{documents}"          # glob, relative to this file
overlap = 3                        # annotators per unit
seed = 1

[gold]
# file = "gold.jsonl"              # {{"unit_id": ..., "label": ...}} per line
# rate = 0.15                      # share of each annotator's queue that is gold (honeypots)

# Simulated annotators (a dry-run crowd) and/or people (email) who work in Label Studio.
[[annotators]]
persona = "expert"
[[annotators]]
persona = "careful"
[[annotators]]
persona = "hasty"

[backend]
name = "local"                     # in-process dry run

[aggregate]
method = "majority"

[export]
formats = ["jsonl", "csv"]
'''


def _print_summary(step: str, summary: dict, as_json: bool) -> None:
    if as_json:
        emit_json(summary)
        return
    click.echo(f"{step}: " + ", ".join(f"{k}={fmt(v)}" for k, v in summary.items()
                                       if not isinstance(v, (dict, list))))
    for note in summary.get("notes", []) or []:
        click.echo(f"  note: {note}")
    if summary.get("models"):
        print_models(summary["models"])


def _step_command(main: click.Group, step: str, help_text: str):
    @main.command(name=step, help=help_text)
    @CAMPAIGN
    @JSON
    @pass_state
    def command(state, campaign, as_json):
        c = state.open(campaign)
        with state.step(f"{c.name}: {step}"):
            summary = getattr(c, step)()
        _print_summary(step, summary, as_json)

    return command


def attach(main: click.Group) -> None:
    for step, help_text in [
        ("plan", "Cut the documents into units and attach gold labels and pre-labels."),
        ("assign", "Give each unit to `overlap` annotators (honeypots blind among them)."),
        ("push", "Send the units not yet sent to the campaign's backend."),
        ("simulate", "Let the simulated annotators label their queues (a dry-run crowd)."),
        ("pull", "Collect annotations from the backend (validated; edits and deletions applied)."),
    ]:
        _step_command(main, step, help_text)

    @main.command()
    @CAMPAIGN
    @click.option("--method", help="Aggregation method (default: the spec's, `auto` for a label file).")
    @label_file_options
    @click.option("--out", type=click.Path(dir_okay=False), help="Label file only: write the labels here.")
    @click.option("--predictions", multiple=True, metavar="[NAME=]FILE",
                  help="Label file only: a model's predictions (CSV/JSONL/Parquet of unit, label[, score]) that "
                       "vote as annotator model:NAME (default NAME: the file's stem). Repeatable. Campaigns name "
                       "their models in the spec's [models] table.")
    @JSON
    @pass_state
    def aggregate(state, campaign, method, kind, labels, gold_path, out, predictions, as_json):
        """Aggregate the annotations into one label per unit. CAMPAIGN is a campaign or a
        CSV/Parquet file of (unit, annotator, label) rows."""
        if is_label_file(campaign):
            return aggregate_file(state, campaign, method, kind, labels, gold_path, out, as_json, predictions)
        if predictions:
            raise WorkbenchError("--predictions: only for a label file; a campaign names its models in its spec's "
                                 "[models] table (predictions = [\"file.csv\"]), see docs/campaigns.md")
        c = state.open(campaign)
        with state.step(f"{c.name}: aggregate"):
            summary = c.aggregate(method)
        _print_summary("aggregate", summary, as_json)

    @main.command()
    @CAMPAIGN
    @label_file_options
    @JSON
    @pass_state
    def agreement(state, campaign, kind, labels, gold_path, as_json):
        """Measure agreement, per-annotator quality and disputed units. CAMPAIGN is a campaign or a
        CSV/Parquet file of (unit, annotator, label) rows."""
        agreement_command(state, campaign, kind, labels, gold_path, as_json)

    @main.command()
    @CAMPAIGN
    @click.option("--format", "formats", multiple=True, help="Export format (repeatable; default: the spec's).")
    @click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
    @click.option("--min-confidence", type=float, help="Keep units whose consensus confidence is at least this.")
    @click.option("--min-agreement", type=float, help="Keep units whose pairwise agreement is at least this.")
    @click.option("--include-gold/--exclude-gold", default=None, help="Keep or drop gold (honeypot) units.")
    @click.option("--drop-flagged/--keep-flagged", default=None,
                  help="Drop units flagged for review (ties, no majority, one annotation, gold mismatch).")
    @click.option("--split", help="train,dev,test ratios summing to 1 (e.g. 0.8,0.1,0.1), or 'none'.")
    @click.option("--seed", "split_seed", type=int, help="Seed of the split (default: the spec's seed).")
    @click.option("--force", is_flag=True, help="Replace a README.md in the export folder that this campaign's "
                                                "exports did not write.")
    @JSON
    @pass_state
    def export(state, campaign, formats, out, min_confidence, min_agreement, include_gold, drop_flagged, split,
               split_seed, force, as_json):
        """Write the curated dataset and its data card (README.md)."""
        c = state.open(campaign)
        with state.step(f"{c.name}: export"):
            summary = c.export(tuple(formats) or None, out, force, min_confidence=min_confidence,
                               min_agreement=min_agreement, include_gold=include_gold, drop_flagged=drop_flagged,
                               split=split, split_seed=split_seed)
        if as_json:
            emit_json(summary)
        else:
            click.echo(f"export: {summary['records']} records")
            for f in [*summary["files"], summary["card"]]:
                click.echo(f"  {f}")

    @main.command()
    @click.argument("spec", type=click.Path(dir_okay=False))
    @click.option("--until", type=click.Choice(["plan", "assign", "push", "simulate", "pull", "aggregate",
                                                "agreement", "export"]), default="export",
                  help="Stop after this step.")
    @JSON
    @pass_state
    def run(state, spec, until, as_json):
        """Run every step of a campaign (each is idempotent: a re-run resumes). With a [redundancy] table,
        after aggregate it goes round after round (one more annotator for the units below target) until
        every unit is settled or only answers from people are awaited."""
        c = state.open(spec)
        results = state.run_steps(c, until)
        if as_json:
            emit_json(results)
        else:
            print_campaign_report(c)

    @main.command(name="round")
    @CAMPAIGN
    @click.option("--unit", "units", multiple=True, help="A unit that needs more labels (repeatable).")
    @click.option("--units-file", type=click.Path(dir_okay=False, exists=True),
                  help="A file of unit ids, one per line.")
    @click.option("--disputed", is_flag=True, help="Every unit the last agreement step found disputed.")
    @click.option("--extra", type=click.IntRange(1), default=1, show_default=True,
                  help="More annotators per unit.")
    @JSON
    @pass_state
    def round_command(state, campaign, units, units_file, disputed, extra, as_json):
        """Start a new round by hand: more annotators for some units. `run` (or push, simulate, pull) then
        does the work; aggregation counts it."""
        c = state.open(campaign)
        wanted = list(units)
        if units_file:
            try:
                lines = Path(units_file).read_text("utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise WorkbenchError(f"{units_file}: cannot read the unit ids ({exc})") from None
            wanted += [x.strip() for x in lines if x.strip() and not x.startswith("#")]
        if disputed:
            wanted += list(c.disputed_units())
        if not wanted:
            raise WorkbenchError("round: name the units (--unit, --units-file or --disputed)")
        summary = c.add_round(wanted, extra)
        if as_json:
            emit_json(summary)
            return
        click.echo(f"round {summary['round']}: {summary['assignments']} more assignment(s) for {summary['units']} "
                   f"unit(s); `workbench run {campaign}` does the work" if summary["round"] else
                   "no new round: every active annotator already has these units")
        if summary.get("note"):
            click.echo(f"  note: {summary['note']}")

    @main.command()
    @CAMPAIGN
    @click.option("--pull", "pull_only", is_flag=True,
                  help="Only bring back the verdicts given since the last round (send nothing new).")
    @JSON
    @pass_state
    def review(state, campaign, pull_only, as_json):
        """Send the units that need review (the spec's [review] table: ties, low confidence, honeypot
        mismatch, low agreement, excluded annotators) to the review queue and bring the verdicts back;
        a verdict overrides the consensus in the next export."""
        c = state.open(campaign)
        with state.step(f"{c.name}: review"):
            summary = c.review(pull_only=pull_only)
        if as_json:
            emit_json(summary)
            return
        click.echo(review_line(summary))
        for note in summary.get("notes") or []:
            click.echo(f"  {note}")

    @main.command()
    @CAMPAIGN
    @JSON
    @pass_state
    def status(state, campaign, as_json):
        """Progress per step and per annotator, and quarantined annotations."""
        c = state.open(campaign)
        st = c.status()
        reviewed = c.state.step("review")
        if reviewed:
            st["review"] = reviewed
        if as_json:
            emit_json(st)
            return
        click.echo(f"campaign {st['campaign']} ({st['task_type']}, backend {st['backend']}): {st['units']} units; "
                   f"spec version {st['spec_version'] or 'n/a'}")
        table("steps", ["step", "done", "finished", "summary"], [
            [s, "yes" if v["done"] else "no", v["finished_at"] or "",
             ", ".join(f"{k}={fmt(x)}" for k, x in (v["summary"] or {}).items() if not isinstance(x, (dict, list)))]
            for s, v in st["steps"].items()])
        table("annotators", ["annotator", "kind", "persona", "status", "assigned", "ok", "skipped", "invalid",
                             "extra", "not in pool", "excluded"], [
            [a, v["kind"], v["persona"] or "", v["status"], v["assigned"], v["ok"], v["skipped"], v["invalid"],
             v["extra"], v["not_in_pool"], v.get("excluded", 0)] for a, v in st["annotators"].items()])
        outsiders = [a for a, v in st["annotators"].items() if v["not_in_pool"]]
        if outsiders:
            click.echo(f"not counted: {', '.join(outsiders)} labeled without being in the pool; "
                       f"`workbench annotators accept {st['campaign']} ID` counts their labels")
        if st["rounds"]:
            table("rounds", ["round", "kind", "why", "spec", "units", "assigned", "answered", "cancelled"], [
                [r["round"], r["kind"], r["reason"], f"v{r['spec_version']}", r["units"], r["assignments"],
                 r["answered"], r["cancelled"]] for r in st["rounds"]])
        if st.get("redundancy"):
            print_redundancy(st["redundancy"])
        if len(st["versions"]) > 1:
            table("spec versions", ["version", "recorded", "changes"], [
                [v["version"], v["recorded_at"], "; ".join(v["changes"])] for v in st["versions"]])
        if reviewed:
            click.echo(review_line(reviewed))
        if st["quarantined"]:
            table("quarantined (invalid, not aggregated)", ["unit", "annotator", "reason"],
                  [[q["unit"], q["annotator"], q["reason"]] for q in st["quarantined"]])
        from ..gating import status_lines

        for line in status_lines(st["gating"]):
            click.echo(line)
        from ..status import coverage_lines

        for line in coverage_lines(st["campaign"], st["coverage"]):
            click.echo(line)

    @main.command()
    @click.argument("name")
    @click.option("--task-type", default="sentiment", show_default=True)
    @click.option("--documents", default="documents/*.txt", show_default=True)
    @click.option("--dir", "folder", type=click.Path(file_okay=False), default=".", show_default=True)
    def init(name, task_type, documents, folder):
        """Scaffold a campaign file NAME.toml."""
        from ..spec import NAME_RE

        if not NAME_RE.match(name):
            raise WorkbenchError(f"campaign name {name!r}: expected letters, digits, '-', '_' or '.'")
        path = Path(folder) / f"{name}.toml"
        if path.exists():
            raise WorkbenchError(f"{path} already exists; not overwriting it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATE.format(name=name, task_type=task_type, documents=documents), "utf-8")
        click.echo(f"wrote {path}; edit it, then `workbench run {path}`")

    @main.command()
    @click.option("--campaigns", "folder", type=click.Path(file_okay=False), default="tasks/campaigns",
                  show_default=True, help="Folder of the sample campaign files.")
    @click.option("--backend", type=click.Choice(backend_names()),
                  help="Run the samples on this backend instead of the one their files name (local: no server).")
    @click.option("--workers", type=click.IntRange(0, 64), default=DEMO_SERVER_WORKERS, show_default=True,
                  help="Worker processes of the managed Label Studio, if the demo starts it "
                       "(0: Django's development server).")
    @JSON
    @pass_state
    def demo(state, folder, backend, workers, as_json):
        """Run the sample campaigns (text, claims, sentiment) over the sample articles."""
        specs = sorted(Path(folder).glob("*.toml"))
        if not specs:
            raise WorkbenchError(f"{folder}: no campaign files (*.toml); run the demo from the repository root")
        campaigns = [open_demo_campaign(state, str(spec), backend) for spec in specs]
        for c in campaigns:
            c.backend.prepare(server_workers=workers)  # say, start the managed Label Studio before the first step
        results = {}
        for c in campaigns:
            results[c.name] = state.run_steps(c)
            with state.step(f"{c.name}: evaluate pre-labels"):
                evaluation = evaluate_prelabels(c)
            if evaluation is not None:
                results[c.name]["evaluate"] = evaluation
            if c.spec.review is not None:  # a review round over what remains disputed, then export again
                with state.step(f"{c.name}: review"):
                    results[c.name]["review"] = c.review()
                with state.step(f"{c.name}: export"):
                    results[c.name]["export"] = c.export()
            with state.step(f"{c.name}: report"):
                results[c.name]["report"] = c.report()
            if not as_json:
                print_campaign_report(c)
                if evaluation is not None:
                    print_prelabel_line(evaluation)
                click.echo(f"report: {results[c.name]['report']['path']}")
        if as_json:
            emit_json(results)
            return
        notes = list(dict.fromkeys(line for c in campaigns for line in c.backend.closing_notes()))
        if notes:
            click.echo("")
            click.secho(notes[0], bold=True)
            for line in notes[1:]:
                click.echo(line)
            where = invoked_as()
            if where != "workbench":
                click.echo(f"(`workbench` above is {where}; `source {Path(where).parent}/activate` puts it on your PATH)")


def evaluate_prelabels(c) -> dict | None:
    """The demo scores the task type's built-in pre-labeler (None when it gives no pre-labels)."""
    if not c.prelabels():
        return None
    return c.evaluate(None)


def print_prelabel_line(result: dict) -> None:
    """``pre-labels vs consensus: accuracy 0.710 [0.660, 0.760], macro-F1 ...; vs gold: ...``"""
    from ..evaluate import headline

    refs = result["references"]
    click.echo(f"pre-labels vs consensus: {headline(refs['consensus'], result['kind'])}; "
               f"vs gold: {headline(refs['gold'], result['kind'])}")
    for note in result.get("notes") or []:
        click.echo(f"  note: {note}")


def invoked_as() -> str:
    """How the user can run this same ``workbench`` again: ``workbench`` when that is on the PATH and
    is this one, else the path of this program (relative to the current folder when under it)."""
    import shutil
    import sys

    me = Path(sys.argv[0]).absolute() if sys.argv and sys.argv[0] else None
    if me is None or me.name != "workbench":
        return "workbench"
    found = shutil.which("workbench")
    if found and Path(found).resolve() == me.resolve():
        return "workbench"
    try:
        return str(me.relative_to(Path.cwd()))
    except ValueError:
        return str(me)


def backend_names() -> list[str]:
    from ..registry import get_registry

    return get_registry().names("backends")


def open_demo_campaign(state, spec_path: str, backend: str | None):
    """A sample campaign, its backend replaced when the demo is asked for another one (``--backend``)."""
    from ..campaign import Campaign
    from ..spec import load_spec, parse_spec

    spec = load_spec(spec_path)
    if backend and backend != spec.backend:
        spec = parse_spec({**spec.raw, "backend": {"name": backend}}, spec.path)
    return Campaign(spec, state.store, progress=state.progress(), wait=state.wait, notify=state.notify)


def print_redundancy(r: dict) -> None:
    """The ``[redundancy]`` lines of status and of a run's report."""
    click.echo(f"redundancy: {r['policy']}")
    spread = ", ".join(f"{n}: {k}" for n, k in r["units_by_annotators"].items())
    click.echo(f"  rounds: {r['rounds']} ({r['adaptive_rounds']} adaptive); annotations spent: {r['spent']} "
               f"(answered {r['answered']}"
               + (f", budget {r['budget']}" if r["budget"] is not None else "") + f"); units per annotators: {spread}")
    if r["checked"]:
        settled = r["settled"] or {}
        click.echo(f"  last check: settled {sum(settled.values())} unit(s) ("
                   + ", ".join(f"{why} {n}" for why, n in settled.items() if n) + f"); waiting {r['waiting']} "
                   f"unit(s) with {r['open_places']} answer(s) awaited")


def print_campaign_report(c) -> None:
    """What a campaign run produced, for people."""
    st = c.state
    plan, pull, agg = st.step("plan") or {}, st.step("pull") or {}, st.step("aggregate") or {}
    agr, exp, push = st.step("agreement") or {}, st.step("export") or {}, st.step("push") or {}
    click.echo("")
    click.secho(f"== {c.name} ({c.spec.task_type}, backend {c.spec.backend})", bold=True)
    click.echo(f"units: {plan.get('units')} from {plan.get('documents')} documents; gold units: "
               f"{plan.get('gold_units')} ({plan.get('honeypots')} used as honeypots)")
    click.echo(f"annotations: {pull.get('total_ok')} counted, {pull.get('invalid', 0)} quarantined, "
               f"{pull.get('skipped', 0)} skipped, {pull.get('extra', 0)} extra")
    # counts come from SQL (the report after a no-op run must not read a million assignments)
    from ..status import redundancy_view

    if c.spec.redundancy is not None:
        print_redundancy(redundancy_view(c.effective_spec(), st))
    elif (n_rounds := st.round_count) > 1 or len(st.versions) > 1:
        click.echo(f"rounds: {n_rounds}; spec version {st.versions[-1]['version'] if st.versions else 1} "
                   "(`workbench status` lists them)")
    for key in ("url", "login"):
        if push.get(key):
            click.echo(f"{key}: {push[key]}")
    if agg:
        held = agg.get("accuracy_held_out_gold") or {}
        click.echo(f"aggregation: {agg.get('method')}; accuracy vs held-out gold: {fmt(held.get('accuracy'))} "
                   f"on {held.get('n', 0)} units; ties: {agg.get('ties')}")
        for note in agg.get("notes") or []:
            click.echo(f"  note: {note}")
        if agg.get("models"):
            print_models(agg["models"])
    if agr:
        from ..bootstrap import show_interval

        click.echo("agreement: " + ", ".join(
            f"{m}={fmt(v['value'])}" + (f" {show_interval(v['interval'])}" if v.get("interval") else "")
            + (f" ({v['note']})" if v.get("note") else "")
            for m, v in st.metrics.items())
            + ("; [brackets]: 95% bootstrap intervals" if any(v.get("interval") for v in st.metrics.values()) else ""))
        table(None, ["annotator", "labels", "gold n", "gold accuracy", "95% interval", "agrees w/ consensus"], [
            [a["annotator"], a["n_annotations"], a["gold_n"], fmt(a["gold_accuracy"]),
             show_interval(a.get("gold_accuracy_ci")), fmt(a["consensus_agreement"])]
            for a in st.quality])
        labeled = {a["annotator"] for a in st.quality}
        idle = [a.id for a in c.effective_spec().active_annotators if a.id not in labeled]
        if idle:
            waiting = st.planned_per_annotator
            click.echo(f"no labels yet: {', '.join(f'{a} ({waiting.get(a, 0)} assigned)' for a in idle)}")
    from ..gating import gold_health, summary_line

    click.echo(summary_line(gold_health(st, c.spec)))
    rev = st.step("review")
    if rev:
        click.echo(review_line(rev))
    for f in exp.get("files", []):
        click.echo(f"exported: {f}")
    if exp.get("card"):
        click.echo(f"data card: {exp['card']} ({exp.get('records')} records"
                   + (", split " + ", ".join(f"{k} {v}" for k, v in exp["splits"].items())
                      if "all" not in (exp.get("splits") or {"all": 0}) else "")
                   + ")")


def review_line(s: dict) -> str:
    """One line about the review: units reviewed, overturned, held-out gold accuracy before -> after."""
    before, after = s.get("held_out_before") or {}, s.get("held_out_after") or {}
    line = (f"review: round {s.get('round')}; {s.get('sent')} unit(s) sent, {s.get('reviewed')} reviewed, "
            f"{s.get('overturned')} overturned, {s.get('pending')} waiting")
    if before.get("n"):
        line += (f"; held-out gold accuracy {fmt(before.get('accuracy'))} -> {fmt(after.get('accuracy'))} "
                 f"on {before['n']} units ({s.get('held_out_reviewed', 0)} reviewed)")
    ra = s.get("reviewer_agreement") or {}
    if ra.get("units"):
        line += f"; reviewer agreement {fmt(ra.get('agreement'))} on {ra['units']} unit(s)"
    return line

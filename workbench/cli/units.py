"""``workbench units CAMPAIGN``: the campaign's units, to read or to write gold labels against."""

from __future__ import annotations

import csv
import json
import sys

import click

from ..export.formats import csv_cell
from ..models import label_to_json
from .common import emit_json, pass_state, table

COLUMNS = ("unit_id", "document", "start", "end", "text", "context", "honeypot", "gold", "prelabel", "prelabel_score")
PREVIEW = 20


def rows(c) -> list[dict]:
    pre = c.prelabels()
    out = []
    for u in c.units():
        p = pre.get(u.id)
        out.append({
            "unit_id": u.id, "document": u.document_id, "start": u.start, "end": u.end, "text": u.text,
            "context": u.context, "honeypot": u.is_gold,
            "gold": label_to_json(u.gold_label) if u.gold_label is not None else None,
            "prelabel": label_to_json(p.label) if p else None, "prelabel_score": p.score if p else None,
        })
    return out


def attach(main: click.Group) -> None:
    @main.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.option("--json", "fmt", flag_value="json", help="Every unit as a JSON array.")
    @click.option("--csv", "fmt", flag_value="csv", help="Every unit as CSV (labels as JSON; a cell a spreadsheet "
                                                       "would run as a formula starts with ').")
    @click.option("--gold-template", "fmt", flag_value="gold",
                  help="A gold file to edit: one JSON line per unit (unit_id, document, text, label), the label "
                       "being the unit's gold or, where it has none, the plugin's pre-label.")
    @pass_state
    def units(state, campaign, fmt):
        """The campaign's units (after `plan`): id, document, offsets, text, context, gold, pre-label."""
        c = state.open(campaign)
        if c.state.step("plan") is None:
            from ..errors import WorkbenchError

            raise WorkbenchError(f"campaign {c.name!r}: run `plan` before `units`")
        data = rows(c)
        if fmt == "json":
            emit_json(data)
        elif fmt == "csv":
            writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            for r in data:
                writer.writerow({k: csv_cell(v) for k, v in r.items()})
        elif fmt == "gold":
            for r in data:
                label = r["gold"] if r["gold"] is not None else r["prelabel"]
                click.echo(json.dumps({"unit_id": r["unit_id"], "document": r["document"], "text": r["text"],
                                       "label": label}, ensure_ascii=False))
        else:
            table(None, ["unit", "document", "offsets", "text", "gold", "pre-label"], [
                [r["unit_id"], r["document"], f"{r['start']}-{r['end']}", r["text"],
                 "" if r["gold"] is None else json.dumps(r["gold"], ensure_ascii=False),
                 "" if r["prelabel"] is None else json.dumps(r["prelabel"], ensure_ascii=False)]
                for r in data[:PREVIEW]])
            click.echo(f"{min(PREVIEW, len(data))} of {len(data)} units (--csv, --json or --gold-template: all)")

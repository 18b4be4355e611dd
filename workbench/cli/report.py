"""``workbench report CAMPAIGN``: the campaign's self-contained HTML report."""

from __future__ import annotations

import click

from .common import emit_json, pass_state


def attach(main: click.Group) -> None:
    @main.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.option("--out", type=click.Path(dir_okay=False), help="HTML file to write (default: <home>/reports/CAMPAIGN.html).")
    @click.option("--top", type=int, default=12, show_default=True, help="How many disputed units to show.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_state
    def report(state, campaign, out, top, as_json):
        """Write the campaign's report, one self-contained HTML file.

        Label distribution, annotator accuracy and agreement, the pairwise agreement heatmap,
        consensus vs gold, confidence, the most disputed units with their votes, and progress.
        Figures are embedded: the file opens offline.
        """
        c = state.open(campaign)
        with state.step(f"{c.name}: report"):
            summary = c.report(out, top)
        if as_json:
            emit_json(summary)
        else:
            click.echo(f"report: {summary['path']} ({len(summary['figures'])} figures, "
                       f"{summary['disputed_units']} disputed units)")

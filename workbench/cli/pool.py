"""``workbench annotators``: who labels a campaign. ``show`` (the default) is the quality table; ``add``
brings a person into a running campaign, ``accept`` counts the labels of someone who labeled without
being in the pool; ``exclude`` and ``include`` are gating's manual override. Both write the campaign file (its ``[[annotators]]``), so the file stays what the
campaign is, and apply the change as a new round at once."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import click

from ..errors import WorkbenchError
from ..spec import NAME_RE
from .common import emit_json, pass_state
from .quality import add_show


class DefaultGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, goes to ``show``."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


def append_annotator(path: Path, aid: str, email: str, why: str) -> None:
    """Add an ``[[annotators]]`` table to the campaign file (written to a temporary file, then renamed)."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot read the campaign file ({exc.strerror or exc}); add "
                             f'[[annotators]] id = "{aid}" email = "{email}" to it yourself') from None
    block = (f"\n# {why}\n[[annotators]]\nid = {_toml(aid)}\nemail = {_toml(email)}\n")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text.rstrip("\n") + "\n" + block)
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WorkbenchError(f"{path}: cannot write the campaign file ({exc.strerror or exc})") from None


def _toml(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def join(state, campaign: str, email: str, aid: str | None, why: str) -> dict:
    """Put a person in the pool through the campaign file, then plan (and send) their share."""
    from ..campaign import Campaign
    from ..spec import load_spec

    c = state.open(campaign)
    if "@" not in email or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise WorkbenchError(f"EMAIL: expected an email address, got {email!r}")
    aid = aid or email
    if aid != email and not NAME_RE.match(aid):
        raise WorkbenchError(f"--id: expected letters, digits, '-', '_' or '.', got {aid!r}")
    pool = c.effective_spec().annotators
    clash = [a for a in pool if a.id == aid or (a.email or "").lower() == email.lower()]
    if clash:
        a = clash[0]
        raise WorkbenchError(f"{email} is already in campaign {c.name!r}'s pool as {a.id!r}"
                             + (" (retired: remove `retired = true` from its entry in the campaign file)"
                                if a.retired else ""))
    append_annotator(c.spec.path, aid, email, why)
    fresh = Campaign(load_spec(c.spec.path), state.store, progress=state.progress(), wait=state.wait,
                     notify=state.notify)
    out = {"campaign": fresh.name, "annotator": aid, "email": email, "file": str(c.spec.path),
           "assign": fresh.assign()}
    if fresh.state.step("push") is not None:
        out["push"] = fresh.push()
    mine = [a for a in fresh.state.assignments if a.annotator == aid and a.planned]
    honeypots = {u.id for u in fresh.units() if u.is_gold}
    out["planned"] = len(mine)
    out["honeypots"] = sum(a.unit in honeypots for a in mine)
    return out


def attach(main: click.Group) -> None:
    @main.group(cls=DefaultGroup)
    def annotators():
        """Who labels a campaign: `show` (the default) the quality table, `add` a person, `accept` someone's
        labels, `exclude` / `include` someone (gating's manual override)."""

    add_show(annotators)

    @annotators.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.argument("email")
    @click.option("--id", "aid", help="The annotator's id in the campaign (default: the email).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_state
    def add(state, campaign, email, aid, as_json):
        """Bring a person (EMAIL) into a running campaign: the campaign file gets their [[annotators]]
        entry and they get work at once (unanswered work from the busiest, else one more label on the
        units that need it most; honeypots among it in the campaign's proportion)."""
        out = join(state, campaign, email, aid, "added by `workbench annotators add`")
        if as_json:
            emit_json(out)
            return
        click.echo(f"{email} joined {out['campaign']} (added to {out['file']}): {out['planned']} task(s) planned, "
                   f"{out['honeypots']} of them honeypots")
        click.echo(f"next: `workbench invite {out['campaign']} {email}` gives them the link")

    @annotators.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.argument("annotator")
    @click.option("--reason", default="manual", show_default=True, help="Why, as the record will say it.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_state
    def exclude(state, campaign, annotator, reason, as_json):
        """Exclude ANNOTATOR from a campaign (the manual override of [gating]): their labels are kept but
        never counted, their unanswered work and one more place on each unit they answered go to others
        as a new round; a simulated persona stops. Recorded with REASON; `include` undoes it."""
        c = state.open(campaign)
        out = c.exclude(annotator, reason if reason == "manual" else f"manual: {reason}")
        if as_json:
            emit_json(out)
            return
        click.echo(f"{annotator} excluded from {c.name} ({out['reason']}): {out['labels_excluded']} label(s) kept, "
                   f"not counted; {out['cancelled']} unanswered assignment(s) cancelled, {out['reassigned']} given "
                   "to others" + (f" (round {out['round']})" if out["round"] else "")
                   + (f"; {out['short']} unit(s) short of annotators: nobody else is free for them"
                      if out["short"] else ""))

    @annotators.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.argument("annotator")
    @click.option("--reason", default="manual", show_default=True, help="Why, as the record will say it.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_state
    def include(state, campaign, annotator, reason, as_json):
        """Undo the exclusion of ANNOTATOR: their labels count again (work given to others stays with them;
        gating will not judge their calibration again). Recorded with REASON."""
        c = state.open(campaign)
        out = c.include(annotator, reason if reason == "manual" else f"manual: {reason}")
        if as_json:
            emit_json(out)
            return
        click.echo(f"{annotator} included in {c.name} again: {out['labels_counted']} of their labels count")

    @annotators.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.argument("annotator")
    @click.option("--email", help="Their email, when the annotator id is not one.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_state
    def accept(state, campaign, annotator, email, as_json):
        """Count the labels of ANNOTATOR, who labeled without being in the pool: they join the pool (the
        campaign file gets their entry), the units they labeled are planned for them, and the next pull
        counts those labels."""
        c = state.open(campaign)
        seen = {a.annotator_id for a in c.annotations() if a.status.value == "not_in_pool"}
        if annotator not in seen:
            raise WorkbenchError(f"campaign {c.name!r} has no labels by {annotator!r} that are not counted "
                                 f"(not in the pool: {', '.join(sorted(seen)) or 'nobody'})")
        address = email or annotator
        out = join(state, campaign, address, annotator if address != annotator else None,
                   "accepted by `workbench annotators accept` (their earlier labels count)")
        from ..campaign import Campaign
        from ..spec import load_spec

        fresh = Campaign(load_spec(out["file"]), state.store, progress=state.progress(), wait=state.wait,
                         notify=state.notify)
        out["pull"] = fresh.pull()
        if as_json:
            emit_json(out)
            return
        counted = sum(1 for a in fresh.annotations() if a.annotator_id == annotator and a.status.value == "ok")
        click.echo(f"{annotator} is in {out['campaign']}'s pool now: {counted} of their labels count; "
                   f"{out['planned']} task(s) planned for them")

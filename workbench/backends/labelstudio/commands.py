"""The Label Studio backend's commands: ``workbench server ...`` (the managed Label Studio) and
``workbench invite`` (people). Added through ``register_commands``, as any plugin adds commands."""

from __future__ import annotations

import click

from ...api import WorkbenchError, emit_json, pass_state

JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _server(state):
    from .server import ManagedServer

    # the home's path only (a Store opens its database on first query, not here)
    return ManagedServer(state.store.home)


def _print_login(info: dict) -> None:
    click.echo(f"log in as {info['admin']} with the password in {info['password_file']} (readable by you only)")


def add_commands(main: click.Group) -> None:
    @main.group()
    def server():
        """The managed Label Studio of this workbench home (127.0.0.1 only)."""

    @server.command()
    @click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: the last one, else a "
                                                              "free one).")
    @click.option("--database", metavar="DSN",
                  help="sqlite (default) or postgresql://USER:PASSWORD@HOST:PORT/NAME; fixed at first start.")
    @click.option("--host", help="Address to listen on (default: 127.0.0.1, this machine only). 0.0.0.0 lets "
                                 "colleagues on other machines reach it: see docs/labelstudio.md first.")
    @click.option("--public-url", help="The address people use (say https://labels.team.example behind your proxy): "
                                       "invitation and task links are built from it ('' forgets it).")
    @click.option("--workers", type=click.IntRange(0, 64),
                  help="0: Label Studio's development server (one process); N: Label Studio under gunicorn with N "
                       "worker processes, for a team (best with a postgresql --database; see docs/labelstudio.md). "
                       "Default: the last choice, else 0.")
    @click.option("--timeout", type=float, default=300, show_default=True, help="Seconds to wait for /health/.")
    @JSON
    @pass_state
    def start(state, port, database, host, public_url, workers, timeout, as_json):
        """Start Label Studio, or report the one already running."""
        from .server import is_loopback

        srv = _server(state)
        was_running = srv.status()["running"]
        srv.start(port=port, database=database, timeout=timeout, host=host, public_url=public_url, workers=workers)
        info = srv.status()
        if as_json:
            emit_json(info)
            return
        click.echo(f"Label Studio {'already running' if was_running else 'started'} at {info['url']} "
                   f"(pid {info['pid']}, {info['app_server']}, database {info['database']})")
        if info["workers"] > 1 and info["database"] == "sqlite":
            click.echo("note: several workers share one SQLite file and wait on its lock; a team server wants "
                       "--database postgresql://... (docs/labelstudio.md)", err=True)
        if not is_loopback(info["host"]):
            click.echo(f"warning: it listens on {info['host']}: anyone who can reach this machine can open it, and "
                       "Label Studio Community has no roles (every account sees every project); send invitation "
                       "links only to people you trust, over a network you trust (docs/labelstudio.md)", err=True)
        if info["public_url"]:
            click.echo(f"people reach it at {info['public_url']} (the links workbench prints use it)")
        _print_login(info)

    @server.command()
    @JSON
    @pass_state
    def stop(state, as_json):
        """Stop the server this home started (by its pid file, nothing else)."""
        stopped = _server(state).stop()
        if as_json:
            emit_json({"stopped": stopped})
        else:
            click.echo("Label Studio stopped" if stopped else "Label Studio was not running")

    @server.command()
    @JSON
    @pass_state
    def status(state, as_json):
        """Is it running, where, on which database, where its log is."""
        info = _server(state).status()
        if as_json:
            emit_json(info)
            return
        if not info["running"]:
            click.echo(f"Label Studio is not running (data dir {info['data_dir']}); `workbench server start`")
            return
        health = "healthy" if info["healthy"] else "NOT answering /health/"
        click.echo(f"Label Studio running at {info['url']} (pid {info['pid']}, {health}, since {info['started_at']})")
        click.echo(f"{info['app_server']}; database: {info['database']}; data dir: {info['data_dir']}; "
                   f"log: {info['log']}")
        _print_login(info)

    @server.command()
    @click.option("-n", "--lines", type=int, default=40, show_default=True, help="How many lines from the end.")
    @pass_state
    def logs(state, lines):
        """The last lines of the server's log."""
        click.echo(_server(state).logs(lines))

    @server.command("forget-project")
    @click.argument("campaign", metavar="CAMPAIGN")
    @pass_state
    def forget_project(state, campaign):
        """Unlink CAMPAIGN from its Label Studio project (say, deleted on the server); the next push makes a
        new one. Pulled annotations stay in the store; nothing is deleted on the server."""
        c = _labelstudio_campaign(state, campaign)
        old = (c.backend.conn.recorded() or {}).get("project")
        c.forget_backend()
        click.echo(f"campaign {campaign}: forgot project {old}; `workbench push {campaign}` creates a new one"
                   if old else f"campaign {campaign} had no Label Studio project")

    @main.command()
    @click.argument("campaign", metavar="CAMPAIGN")
    @click.argument("email")
    @click.option("--new-link", is_flag=True, help="Make a new invitation link (links sent before stop working).")
    @JSON
    @pass_state
    def invite(state, campaign, email, new_link, as_json):
        """Give a person (EMAIL) a way into CAMPAIGN's Label Studio project, and say what waits for them."""
        if "@" not in email:
            raise WorkbenchError(f"EMAIL: expected an email address, got {email!r}")
        c = _labelstudio_campaign(state, campaign)
        info = c.backend.invite(email, new_link=new_link)
        if as_json:
            emit_json(info)
            return
        if info["has_account"]:
            click.echo(f"{email} already has an account: they log in at {info['login_url']}")
        else:
            click.echo(f"send {email} this sign-up link: {info['invite_url']}")
            click.echo(f"they sign up as {email} (the email the campaign knows them by) with a password of their own")
        click.echo(f"it opens the labeling stream of {c.name!r} ({info['project_url']}): one task at a time, "
                   "Submit or Skip; nobody else's answers are shown there")
        if info["waiting"]:
            from .backend import waiting_words

            planned = info["planned"] if info["in_pool"] else info["waiting"]
            click.echo(waiting_words(info["waiting"], planned, "them") + (" there" if planned >= info["waiting"] else ""))
        else:
            click.echo(f"warning: nothing waits for {email}: every task has all its annotators; "
                       f"`workbench annotators add {c.name} {email}` gives them a share")
        if not info["in_pool"]:
            click.echo(f"note: {email} is not in the campaign's pool: their labels are kept but not counted; "
                       f"`workbench annotators add {c.name} {email}` adds them and plans their work")
        if info["loopback"]:
            click.echo("note: the link works on this machine only; for colleagues on other machines see "
                       "`workbench server start --help` (--host, --public-url) and docs/labelstudio.md")


def _labelstudio_campaign(state, campaign: str):
    c = state.open(campaign)
    if c.spec.backend != "labelstudio":
        raise WorkbenchError(f"campaign {c.name!r} uses backend {c.spec.backend!r}, not labelstudio")
    return c


def _labelstudio(state, campaign: str):
    return _labelstudio_campaign(state, campaign).backend

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
    @click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: a free one).")
    @click.option("--database", metavar="DSN",
                  help="sqlite (default) or postgresql://USER:PASSWORD@HOST:PORT/NAME; fixed at first start.")
    @click.option("--timeout", type=float, default=300, show_default=True, help="Seconds to wait for /health/.")
    @JSON
    @pass_state
    def start(state, port, database, timeout, as_json):
        """Start Label Studio, or report the one already running."""
        srv = _server(state)
        was_running = srv.status()["running"]
        srv.start(port=port, database=database, timeout=timeout)
        info = srv.status()
        if as_json:
            emit_json(info)
            return
        click.echo(f"Label Studio {'already running' if was_running else 'started'} at {info['url']} "
                   f"(pid {info['pid']}, database {info['database']})")
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
        click.echo(f"database: {info['database']}; data dir: {info['data_dir']}; log: {info['log']}")
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
    @JSON
    @pass_state
    def invite(state, campaign, email, as_json):
        """Give a person (EMAIL) a way into CAMPAIGN's Label Studio project."""
        if "@" not in email:
            raise WorkbenchError(f"EMAIL: expected an email address, got {email!r}")
        info = _labelstudio(state, campaign).invite(email)
        if as_json:
            emit_json(info)
            return
        if info["has_account"]:
            click.echo(f"{email} already has an account: they log in and open {info['project_url']}")
        else:
            click.echo(f"send {email} this sign-up link: {info['invite_url']}")
            click.echo(f"after signing up with {email}, they open {info['project_url']}")
        if not info["in_spec"]:
            click.echo(f"note: {email} is not in the campaign's annotators: add [[annotators]] email = \"{email}\" "
                       "to the campaign file and run it (`workbench run FILE`) so their work is planned and counted")


def _labelstudio_campaign(state, campaign: str):
    c = state.open(campaign)
    if c.spec.backend != "labelstudio":
        raise WorkbenchError(f"campaign {c.name!r} uses backend {c.spec.backend!r}, not labelstudio")
    return c


def _labelstudio(state, campaign: str):
    return _labelstudio_campaign(state, campaign).backend

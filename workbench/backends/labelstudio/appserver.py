"""Label Studio under gunicorn: the managed server's team shape (``workbench server start --workers N``).

Run by :class:`~workbench.backends.labelstudio.server.ManagedServer` as
``python -m workbench.backends.labelstudio.appserver --data-dir DIR --bind HOST:PORT --workers N``, in the
same environment ``label-studio start`` gets (database, secrets, offline settings). It does what
``label-studio start`` does before it serves - migrations, the admin account with its token - with Label
Studio's own functions, then serves Label Studio's WSGI application with N gunicorn worker processes
instead of Django's single-process development server. Static files (the UI's JS and CSS) are served by
Label Studio's own ``/static/`` view from the ``static_build`` the package ships, as under
``label-studio start``.

Why gunicorn and not the uWSGI of Label Studio's docker image: it is pure Python (a wheel, no C
build on the user's machine), and on this workload each request is CPU-bound in Label Studio's own
code, so the server in front matters less than the number of processes (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from ...store.external import SYNCHRONOUS_NORMAL, use_wal

SETTINGS = "label_studio.core.settings.label_studio"
CONN_MAX_AGE = 600  # seconds a worker keeps its database connection (checked before reuse)
#: SQLite shared by several worker processes: Label Studio's settings set no busy timeout (Python's 5 s)
#: and open transactions DEFERRED, so a save that reads then writes (its project summary) fails at once
#: with "database is locked" when another process writes; IMMEDIATE takes the write lock at BEGIN and
#: waits for it, up to the timeout. The database is in WAL mode (set once, it stays with the file), where
#: synchronous=NORMAL is still crash-safe (a power cut may lose the last commits, never corrupt the file)
#: and a commit is an append to the log with no fsync: readers no longer wait for a writer either
SQLITE_OPTIONS = {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": SYNCHRONOUS_NORMAL}
#: where a migrated, still empty Label Studio database is kept for the next new home (see ``seed``)
TEMPLATE_DIR_ENV = "WORKBENCH_LABEL_STUDIO_TEMPLATES"


def template_path() -> Path:
    """The migrated empty database of this Label Studio and Django, kept in the user's cache: Label
    Studio's migrations (about 400) take a minute of CPU on a first start, every new home the same."""
    import django
    import label_studio

    base = os.environ.get(TEMPLATE_DIR_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "workbench")
    return Path(base) / f"labelstudio-{label_studio.__version__}-django-{django.__version__}.sqlite3"


def seed(sqlite_file: Path) -> bool:
    """Start a new home's database (``sqlite_file`` not there yet) as a copy of the kept template, when
    there is one; whether it did. Label Studio's own migrate then finds nothing to do (or only the
    migrations newer than the template, were it made by an earlier install of the same version)."""
    template = template_path()
    if sqlite_file.exists() or not template.is_file():
        return False
    _copy_sqlite(template, sqlite_file)
    return True


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy through SQLite's backup API, written beside ``dst`` and then renamed into place."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    try:
        a, b = sqlite3.connect(src), sqlite3.connect(tmp)
        try:
            a.backup(b)
        finally:
            a.close()
            b.close()
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _prepare(port: str) -> Any:
    """Label Studio's own start-up before serving: settings, migrations, admin account; the WSGI app."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # label-studio start's default (the settings say DEBUG)
    from django.core.wsgi import get_wsgi_application
    from label_studio import server as ls

    sys.path.insert(0, ls.LS_PATH)  # Label Studio's apps import as top-level packages (core, projects, ...)
    from django.conf import settings

    db = settings.DATABASES["default"]  # the settings only: Django's apps, which query it, are not set up yet
    sqlite_file = Path(db["NAME"]) if db["ENGINE"].endswith("sqlite3") else None
    template = (template_path() if sqlite_file is not None and not sqlite_file.exists() and not seed(sqlite_file)
                else None)
    ls._setup_env()
    ls._apply_database_migrations()
    if template is not None:  # a new home migrated from scratch: keep its empty database for the next one
        try:
            _copy_sqlite(sqlite_file, template)
        except (OSError, sqlite3.Error) as exc:  # a read-only cache only costs the next start its minute
            print(f"workbench: could not keep the migrated database in {template}: {exc}", file=sys.stderr)
    if sqlite_file is not None:
        use_wal(sqlite_file)  # the file keeps it: every worker's connection opens it so

    settings.INTERNAL_PORT = port
    if os.environ.get("LABEL_STUDIO_USERNAME") and os.environ.get("LABEL_STUDIO_PASSWORD"):
        args = argparse.Namespace(username="", password="", user_token="", quiet_mode=True,
                                  enable_legacy_api_token=False)  # as label-studio start's defaults
        ls._create_user(args, {})
    from django.db import connections

    for alias in connections:
        # Label Studio's settings leave CONN_MAX_AGE at 0: a new PostgreSQL connection (a new server
        # process) for every request. A worker serves one request at a time, so it keeps one.
        connections.settings[alias].update(CONN_MAX_AGE=CONN_MAX_AGE, CONN_HEALTH_CHECKS=True)
        if connections.settings[alias]["ENGINE"].endswith("sqlite3"):
            connections.settings[alias].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    connections.close_all()  # never share a database connection with the forked workers
    return get_wsgi_application()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="workbench-labelstudio-appserver")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--bind", required=True, help="HOST:PORT")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ["LABEL_STUDIO_BASE_DATA_DIR"] = os.path.abspath(args.data_dir)

    from gunicorn.app.base import BaseApplication

    application = _prepare(args.bind.rsplit(":", 1)[1])

    class LabelStudio(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": [args.bind], "workers": args.workers, "threads": args.threads,
                "worker_class": "gthread" if args.threads > 1 else "sync",
                # Label Studio's own uwsgi.ini kills a request after 360 s (exports, imports)
                "timeout": 360, "graceful_timeout": 10, "keepalive": 5,
                "errorlog": "-", "loglevel": "info", "accesslog": None,
                "proc_name": "workbench-labelstudio",
                "control_socket_disable": True,  # gunicorn 27 would put one in ~/.gunicorn, shared by every home
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    sys.argv = sys.argv[:1]  # gunicorn reads no options of its own from our command line
    LabelStudio().run()


if __name__ == "__main__":
    main()

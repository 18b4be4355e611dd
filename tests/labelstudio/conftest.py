"""A real Label Studio for the integration tests: started once per session on a free loopback port
in a temp data dir, through the workbench's own managed-server code, and stopped at the end."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from workbench.backends.labelstudio.server import ManagedServer

from benchmarks import postgres

KEY_ENV = "WORKBENCH_TEST_LS_KEY"


@pytest.fixture(scope="session")
def ls_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ls-home")


@pytest.fixture(scope="session")
def ls_server(ls_home):
    """``(url, admin token)`` of the session's Label Studio."""
    server = ManagedServer(ls_home)
    server.start()
    yield server.status()["url"], server.token()
    server.stop()


@pytest.fixture
def admin(ls_server):
    url, token = ls_server
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=120) as c:
        yield c


@pytest.fixture
def ls_env(ls_server, monkeypatch):
    """The admin key in the environment, as a user with an existing server would have it."""
    monkeypatch.setenv(KEY_ENV, ls_server[1])
    return ls_server[0]


@pytest.fixture
def name() -> str:
    """A campaign name of its own: persona accounts are per campaign, and the server is shared."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def postgres_dsn(postgres_server):
    """A fresh, empty database on the PostgreSQL server for each test (Label Studio sets its admin up
    only once per database, so two homes cannot share one)."""
    import psycopg

    base = urlsplit(postgres_server)
    db = f"wb_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    yield urlunsplit(base._replace(path=f"/{db}"))
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server: the one CI started ($WORKBENCH_TEST_POSTGRES_DSN), else a throwaway
    cluster of our own on a free loopback port; skipped only when no server binary exists."""
    dsn = os.environ.get("WORKBENCH_TEST_POSTGRES_DSN")
    if dsn:
        yield dsn
        return
    if postgres.server_bindir() is None:
        if os.environ.get("CI"):  # .ci/run starts one; as the browser test, CI must not skip it
            pytest.fail(f"CI must run the PostgreSQL test: {postgres.MISSING}")
        pytest.skip(postgres.MISSING)
    with postgres.throwaway_cluster() as dsn:
        yield dsn

"""Builders for the Label Studio integration tests: campaigns on the session's server, a browser-like
session, and faults injected at the HTTP layer (the server itself is real)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import httpx
from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.spec import load_spec
from workbench.store import Store

from conftest import KEY_ENV
from helpers import ARTICLES, pool, write_spec

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("sam", "spammer"))


def ls_spec(folder: Path, name: str, url: str, *, task_type: str = "claims", extra_backend: str = "",
            pool: str = CROWD, overlap: int = 2, gold: str = "", documents: str | None = None) -> Path:
    backend = (f'[backend]\nname = "labelstudio"\nurl = "{url}"\napi_key_env = "{KEY_ENV}"\nretries = 2\n'
               + extra_backend)
    return write_spec(folder, name=name, task_type=task_type, documents=documents or str(ARTICLES / "000_*.txt"),
                      extra=backend, pool=pool, overlap=overlap, gold=gold)


def open_campaign(spec: Path, home: Path) -> Campaign:
    return Campaign(load_spec(spec), Store(home))


def run(*args: str, home: Path):
    return CliRunner().invoke(cli(), ["--home", str(home), "--quiet", *args])


def project_tasks(admin: httpx.Client, project: int) -> list[dict]:
    r = admin.get("/api/tasks/", params={"project": project, "page_size": 100_000, "fields": "all"})
    r.raise_for_status()
    return r.json()["tasks"]


def project_id(campaign: Campaign) -> int:
    from workbench.store.backend import BackendState

    return BackendState(campaign.store, campaign.name, "labelstudio").get("project")["project"]


class Faults(httpx.HTTPTransport):
    """The real transport, except where ``rule(request, n)`` (n: how many requests so far) says:
    ``"lose"`` sends the request and then loses the answer; ``"503"`` answers 503 without sending."""

    def __init__(self, rule: Callable[[httpx.Request, int], str | None]):
        super().__init__()
        self.rule = rule
        self.n = 0
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.n += 1
        action = self.rule(request, self.n)
        self.seen.append(f"{request.method} {request.url.path} {action or ''}".strip())
        if action == "503":
            return httpx.Response(503, request=request, json={"detail": "injected"})
        response = super().handle_request(request)
        if action == "lose":
            response.read()
            response.close()
            raise httpx.ReadError("injected: connection lost after the server answered", request=request)
        return response

"""Label Studio accounts: a real user for every simulated persona, and invitations for people.

A persona signs up through Label Studio's own sign-up form, exactly as a person would, then takes
an API token of its own (a legacy token where the organization allows them, else a personal access
token), so everything it does on the server is done as itself. Passwords and tokens go to
``<home>/labelstudio/credentials.json`` (0600), never to the store, a log or the screen.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import httpx

from ...errors import WorkbenchError
from .client import LabelStudioAPI
from .server import write_secret

PERSONA_DOMAIN = "simulated.workbench.local"


def persona_email(campaign: str, annotator_id: str) -> str:
    """A persona's account: one per campaign and annotator id (the hash keeps ``Ana`` and ``ana`` apart)."""
    digest = hashlib.sha256(f"{campaign}\0{annotator_id}".encode()).hexdigest()[:6]
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in f"{annotator_id}.{campaign}").lower()
    return f"{slug}.{digest}@{PERSONA_DOMAIN}"


class Credentials:
    """``{server: {email: {password, token}}}`` in a file only the user can read. The server is
    ``managed`` for the home's own Label Studio (whatever port it runs on) or an existing server's
    URL; workbench 0.1 filed the managed server's accounts under its URL of the day, which
    :meth:`get` still finds."""

    def __init__(self, path: Path):
        self.path = path

    def _load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            raise WorkbenchError(f"{self.path}: not valid JSON; delete it to make new persona tokens") from None

    def get(self, server: str, email: str) -> dict[str, str] | None:
        data = self._load()
        found = data.get(server, {}).get(email)
        if found is None and server == "managed":  # 0.1: under http://127.0.0.1:<port of the day>
            found = next((v[email] for k, v in data.items() if k.startswith("http://127.0.0.1:") and email in v),
                         None)
        return found

    def forget(self, server: str, email: str, field: str) -> None:
        data = self._load()
        if data.get(server, {}).get(email, {}).pop(field, None) is not None:
            write_secret(self.path, json.dumps(data, indent=1))

    def put(self, url: str, email: str, **fields: str) -> None:
        data = self._load()
        data.setdefault(url, {}).setdefault(email, {}).update(fields)
        write_secret(self.path, json.dumps(data, indent=1))


def browser(url: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A cookie-keeping client that talks to Label Studio as the web app does (session + CSRF)."""
    return httpx.Client(base_url=url.rstrip("/"), timeout=60, transport=transport, follow_redirects=False)


def csrf_headers(session: httpx.Client) -> dict[str, str]:
    return {"X-CSRFToken": session.cookies.get("csrftoken") or "", "Referer": f"{session.base_url}"}


def _form(session: httpx.Client, path: str, fields: dict[str, str]) -> httpx.Response:
    try:
        session.get(path)
        return session.post(path, data={**fields, "csrfmiddlewaretoken": session.cookies.get("csrftoken") or ""},
                            headers={"Referer": f"{session.base_url}{path}"})
    except httpx.ConnectError as exc:
        raise WorkbenchError(f"cannot reach Label Studio at {session.base_url} ({exc})") from None


def _logged_in(session: httpx.Client) -> bool:
    return session.get("/api/current-user/whoami").status_code == 200


def sign_up(session: httpx.Client, email: str, password: str, invite_token: str | None = None) -> bool:
    """Sign up through the form; True when the session is then logged in as the new user."""
    path = "/user/signup/" + (f"?token={invite_token}" if invite_token else "")
    r = _form(session, path, {"email": email, "password": password})
    return r.status_code in (302, 303) and _logged_in(session)


def log_in(session: httpx.Client, email: str, password: str) -> bool:
    r = _form(session, "/user/login/", {"email": email, "password": password})
    return r.status_code in (302, 303) and _logged_in(session)


def session_token(session: httpx.Client) -> str:
    """The logged-in user's API token: the legacy one if allowed, else a new personal access token."""
    r = session.get("/api/current-user/token")
    if r.status_code == 200 and r.json().get("token"):
        token = r.json()["token"]
        with httpx.Client(base_url=session.base_url, timeout=60) as plain:  # no session cookie: the token alone
            if plain.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"}).status_code == 200:
                return token
    r = session.post("/api/token/", headers=csrf_headers(session))
    if r.status_code == 201 and r.json().get("token"):
        return r.json()["token"]
    raise WorkbenchError(f"Label Studio at {session.base_url} gave no API token to a new annotator account "
                         f"(HTTP {r.status_code}); enable legacy tokens or personal access tokens for the organization")


def persona_api(url: str, email: str, name: str, creds: Credentials,
                transport: httpx.BaseTransport | None = None, server: str | None = None,
                invite_token: str | None = None) -> LabelStudioAPI:
    """An API client acting as the persona's own account, creating the account on first use (through
    the organization's invitation, as a person signs up); ``server`` files its credentials
    (``managed``, or the URL of an existing server)."""
    server = server or url
    known = creds.get(server, email) or {}
    if known.get("token"):
        api = LabelStudioAPI(url, known["token"], key_source=f"the token of {email}", transport=transport)
        if api._works():
            return api
        api.close()
    password = known.get("password") or secrets.token_urlsafe(16)
    with browser(url, transport) as session:
        if not known.get("password"):
            creds.put(server, email, password=password)  # before signing up: never an account we cannot enter
        if not (sign_up(session, email, password, invite_token) or log_in(session, email, password)):
            if not known.get("password"):
                creds.forget(server, email, "password")  # not ours after all: do not keep a wrong one
            raise WorkbenchError(
                f"Label Studio at {url}: cannot sign up or log in as simulated annotator {email}: the account exists "
                f"with another password (made from another workbench home?); that home's {creds.path.name} has it")
        token = session_token(session)
        user = session.get("/api/current-user/whoami").json()
        session.patch(f"/api/users/{user['id']}/", json={"first_name": name, "last_name": "(simulated)"},
                      headers=csrf_headers(session))
    creds.put(server, email, password=password, token=token)
    return LabelStudioAPI(url, token, key_source=f"the token of {email}", transport=transport)


def invite_link(api: LabelStudioAPI) -> str:
    """Label Studio's own invitation link to its organization (the sign-up page with the invite token)."""
    invite = api.get("/api/invite", what="asking for an invitation link")
    return f"{api.url}{invite['invite_url']}"


def invite_token(api: LabelStudioAPI) -> str | None:
    """The organization's invitation token (the ``token`` of the sign-up link)."""
    from urllib.parse import parse_qs, urlsplit

    return (parse_qs(urlsplit(invite_link(api)).query).get("token") or [None])[0]

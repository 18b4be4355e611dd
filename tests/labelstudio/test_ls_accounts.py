"""Persona accounts and their credentials file (no server needed)."""

from __future__ import annotations

import json
import stat

from workbench.backends.labelstudio.accounts import PERSONA_DOMAIN, Credentials, persona_email

from lsutil import run


def test_persona_emails_are_per_campaign_and_case_safe():
    a, b = persona_email("claims-demo", "Ana"), persona_email("claims-demo", "ana")
    assert a != b and a.endswith("@" + PERSONA_DOMAIN) and a == a.lower()
    assert persona_email("text-demo", "ana") != b
    assert persona_email("claims-demo", "ana") == b  # stable: the same account on every run


def test_credentials_file_is_private_and_merges(tmp_path):
    creds = Credentials(tmp_path / "labelstudio" / "credentials.json")
    creds.put("http://127.0.0.1:1", "a@x", password="p1")
    creds.put("http://127.0.0.1:1", "a@x", token="t1")
    creds.put("http://127.0.0.1:2", "a@x", password="p2")
    assert creds.get("http://127.0.0.1:1", "a@x") == {"password": "p1", "token": "t1"}
    assert creds.get("http://127.0.0.1:3", "a@x") is None
    assert stat.S_IMODE(creds.path.stat().st_mode) == 0o600
    assert set(json.loads(creds.path.read_text())) == {"http://127.0.0.1:1", "http://127.0.0.1:2"}


def test_server_status_creates_no_store(tmp_path):
    result = run("server", "status", home=tmp_path / "home")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "home" / "workbench.db").exists()

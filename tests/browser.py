"""Headless Chromium for the browser tests: Debian's Chromium driven by Playwright.

Where there is none the test is skipped with how to get one; in CI (``CI`` set) a missing browser
fails the test instead, so the browser tests always run there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    """Chromium's executable, or skip (fail in CI) saying how to get it."""
    path = os.environ.get("WORKBENCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    why = None
    if not path:
        why = "no Chromium found: install Debian's with `apt-get install chromium` (or set WORKBENCH_CHROMIUM)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "Playwright is not installed: pip install -e '.[test]'"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    return path

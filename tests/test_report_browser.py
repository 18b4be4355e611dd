"""The report in a real browser: headless Chromium (Debian's) opens the file, every figure renders,
nothing is fetched, the console stays clean, and a screenshot is kept under artifacts/.

Skipped, with how to get a browser, where there is none; in CI (``CI`` set) a missing browser fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import ARGS, ARTIFACTS, chromium_path
from export_fixtures import builtin_plugins, run_campaign, write_campaign


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_path()


@pytest.fixture(scope="module")
def reports(chromium, tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    with builtin_plugins():
        out = {}
        for name, task in (("claims", "claims"), ("spans", "text")):
            c = run_campaign(write_campaign(root, name, task, documents="00[01]_*.txt"), root / "home")
            out[name] = c.report(root / f"{name}.html")
            c.store.close()
    return out


@pytest.mark.parametrize("name", ["claims", "spans"])
def test_report_renders_in_chromium(chromium, reports, name):
    from playwright.sync_api import sync_playwright

    summary = reports[name]
    url = Path(summary["path"]).as_uri()
    problems, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load")
            figures = page.evaluate("""() => Array.from(document.querySelectorAll('figure.plot')).map(f => {
                const img = f.querySelector('img'); const box = img.getBoundingClientRect();
                return {key: f.dataset.figure, complete: img.complete, natural: img.naturalWidth,
                        width: box.width, height: box.height, alt: img.alt};
            })""")
            title = page.title()
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"report-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert problems == []
    assert [r for r in requests if not r.startswith(("file:", "data:"))] == []
    assert sorted(f["key"] for f in figures) == summary["figures"] and len(figures) == 6
    for f in figures:
        assert f["complete"] and f["natural"] > 100 and f["width"] > 200 and f["height"] > 100, f
        assert f["alt"]
    assert title.startswith(name)
    assert shot.stat().st_size > 50_000

"""Review on Label Studio (issue 12): a review project whose tasks show the votes with their shares under
pseudonyms and the consensus pre-selected, a simulated reviewer answering through the server's stream
as its own user, a person reviewer answering through the web app's API, and `review --pull` bringing
the verdicts back to override the consensus."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from workbench.backends.labelstudio.accounts import browser, invite_link, sign_up
from workbench.backends.labelstudio.review import MODEL_VERSION, REVIEW_PROJECT
from workbench.review import read, select
from workbench.store.backend import BackendState

from helpers import ARTICLES, ROOT, write_spec
from lsutil import open_campaign, project_tasks, run

CROWD = "".join(f'[[annotators]]\nid = "{i}"\npersona = "{p}"\n'
                for i, p in (("ana", "expert"), ("ben", "careful"), ("dev", "hasty"), ("sam", "spammer")))


def gold(folder) -> str:
    rows = [x for x in (ROOT / "tasks" / "gold" / "claims.jsonl").read_text("utf-8").splitlines()
            if x.strip() and json.loads(x)["document"].startswith("000_")]
    path = folder / "gold.jsonl"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return f'[gold]\nfile = "{path}"\nrate = 0.15\n'


def review_pid(c) -> int:
    return BackendState(c.store, c.name, "labelstudio").get(REVIEW_PROJECT)["project"]


def test_a_review_round_through_label_studio(tmp_path, ls_home, ls_server, admin, name):
    email = f"rev-{name}@example.org"
    tmp_path.mkdir(exist_ok=True)
    review = ('[review]\nreviewers = [{id = "rita", persona = "expert"}, '
              f'{{id = "pia", email = "{email}"}}]\nmin_agreement = 0.5\n')
    spec = write_spec(tmp_path, name=name, task_type="claims", documents=str(ARTICLES / "000_*.txt"),
                      extra='[backend]\nname = "labelstudio"\n' + review, pool=CROWD, overlap=3, gold=gold(tmp_path))
    result = run("run", str(spec), home=ls_home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, ls_home)
    wanted = select(c.state, c.spec.review, set())
    consensus = c.consensus()
    assert 2 < len(wanted) < len(c.units())

    out = run("review", name, "--json", home=ls_home)
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["sent"] == summary["sent_now"] == len(wanted)
    reviews = read(c.store, name, c.task_type.schema)
    # half each (the least loaded first): the simulated reviewer did its own half; the person's share waits
    # for them, with the link to the queue
    share = sum(1 for r in reviews if r.reviewer == "pia")
    assert share in (len(wanted) // 2, (len(wanted) + 1) // 2)
    assert all(r.label is None for r in reviews if r.reviewer == "pia")
    assert all(r.label is not None for r in reviews if r.reviewer == "rita")
    assert summary["reviewed"] == summary["verdicts_made"] == len(wanted) - share and summary["pending"] == share
    assert any("review queue is" in n and "/data?labeling=1" in n for n in summary.get("notes", []))

    # the review project: the votes with shares under pseudonyms, the consensus as a pre-selected prediction
    pid = review_pid(c)
    project = admin.get(f"/api/projects/{pid}/").json()
    assert project["show_collab_predictions"] is True and project["model_version"] == MODEL_VERSION
    assert 'name="review_votes"' in project["label_config"] and 'name="claim"' in project["label_config"]
    tasks = {t["data"]["unit_id"]: t for t in project_tasks(admin, pid)}
    assert set(tasks) == set(wanted)
    votes = {}
    for a in c.annotations():
        if a.status.value == "ok":
            votes.setdefault(a.unit_id, []).append(a.label)
    for u, t in tasks.items():
        text = t["data"]["review_votes"]
        assert "annotator A" in text and f"consensus (pre-selected): {consensus[u]}" in text
        for label in set(votes[u]):
            assert f"{label}: {votes[u].count(label)} of {len(votes[u])} (" in text
        for who in ("ana", "ben", "dev", "sam", "rita", "expert", "spammer"):
            assert who not in text.split("consensus (pre-selected)")[0].replace("annotator", "")
        preds = t["predictions"]
        assert len(preds) == 1 and preds[0]["model_version"] == MODEL_VERSION
        assert preds[0]["result"][0]["value"]["choices"] == [consensus[u]]
        assert t["overlap"] == 1
    done_by_rita = [t for t in tasks.values() if t["annotations"]]
    assert len(done_by_rita) == len(wanted) - share

    # the person: signs up by the invitation, opens the review stream, overturns one consensus, keeps one
    token = parse_qs(urlsplit(invite_link(c.backend.conn.api)).query)["token"][0]
    with browser(ls_server[0]) as ui:
        assert sign_up(ui, email, "pia-Long-pass-51", invite_token=token)
        headers = {"X-CSRFToken": ui.cookies.get("csrftoken", ""), "Referer": str(ui.base_url)}
        answered = {}
        for _ in range(2):
            task = ui.get(f"/api/projects/{pid}/next/").json()
            unit = task["data"]["unit_id"]
            pick = consensus[unit] if answered else next(x for x in c.task_type.schema.labels if x != consensus[unit])
            body = {"lead_time": 4.0, "project": str(pid), "started_at": datetime.now(timezone.utc).isoformat(),
                    "result": [{"value": {"choices": [pick]}, "id": "v1", "from_name": "claim", "to_name": "text",
                                "type": "choices", "origin": "manual"}]}
            r = ui.post(f"/api/tasks/{task['id']}/annotations/", params={"project": pid}, json=body, headers=headers)
            assert r.status_code == 201, r.text
            answered[unit] = pick
    pulled = json.loads(run("review", name, "--pull", "--json", home=ls_home).stdout)
    assert pulled["sent_now"] == 0 and pulled["new_verdicts"] == 2
    assert pulled["reviewed"] == len(wanted) - share + 2 and pulled["pending"] == share - 2
    c = open_campaign(spec, ls_home)
    reviews = {r.unit_id: r for r in read(c.store, name, c.task_type.schema)}
    for unit, pick in answered.items():
        assert reviews[unit].reviewer == "pia" and reviews[unit].label == pick
        assert reviews[unit].overturned == (pick != consensus[unit])
    # rita's verdicts are her persona's seeded answers, pulled back from the server
    from workbench.registry import get_registry
    from workbench.simulate import SimulatedAnnotator

    rita = SimulatedAnnotator("rita", get_registry().get("annotators", "expert"))
    pre = c.prelabels()
    for r in reviews.values():
        if r.reviewer == "rita":
            unit = c.state.units_by_id[r.unit_id]
            ref = unit.gold_label if unit.gold_label is not None else pre[unit.id].label
            assert r.label == rita.label(unit, ref, c.task_type.schema, c.spec.seed)[0]
    # the export: each verdict overrides the consensus and says so
    records = {r["unit_id"]: r for r in c.records()}
    for unit, r in reviews.items():
        if r.label is not None:
            assert records[unit]["label_source"] == "review" and records[unit]["label"] == r.label
            assert records[unit]["reviewed_by"][0].startswith("rev-")
        else:
            assert records[unit]["label_source"] == ("gold" if records[unit]["is_gold"] else "consensus")
    # reviewers are not annotators: nothing of theirs in the labeling project's pull
    assert not {a.annotator_id for a in c.annotations()} & {"rita", "pia", email}
    # a second review round sends nothing new and makes no second review task
    again = json.loads(run("review", name, "--json", home=ls_home).stdout)
    assert again["sent_now"] == 0 and again["new_verdicts"] == 0
    assert len(project_tasks(admin, pid)) == len(wanted)


def test_a_person_reviews_in_the_browser(tmp_path, ls_home, ls_server, admin, name):
    """A person reviewer in the real web app (headless Chromium): the invitation lands them in the
    review stream, the task shows the votes with their shares and the consensus already selected; they
    overturn it, and `review --pull` brings the verdict back. Screenshots go under artifacts/."""
    from playwright.sync_api import sync_playwright

    from browser import ARGS, ARTIFACTS, chromium_path

    chromium = chromium_path()
    email = f"rev-{name}@example.org"
    review = f'[review]\nreviewers = [{{id = "pia", email = "{email}"}}]\nmin_agreement = 0.5\n'
    spec = write_spec(tmp_path, name=name, task_type="claims", documents=str(ARTICLES / "000_*.txt"),
                      extra='[backend]\nname = "labelstudio"\n' + review, pool=CROWD, overlap=3, gold=gold(tmp_path))
    assert run("run", str(spec), home=ls_home).exit_code == 0
    out = run("review", name, "--json", home=ls_home)
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["reviewed"] == 0 and summary["pending"] == summary["sent"] > 0
    link = next(n for n in summary["notes"] if "review queue is" in n).split("sign up at ")[1].split(" ")[0]
    c = open_campaign(spec, ls_home)
    consensus = c.consensus()
    pid = review_pid(c)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(link)
            page.wait_for_selector('input[name="email"]')
            page.fill('input[name="email"]', email)
            page.fill('input[name="password"]', "pia-Long-pass-51")
            with page.expect_response(lambda r: "/api/dm/actions" in r.url and "id=next_task" in r.url) as first:
                page.click('button[type="submit"]')
            task = first.value.json()
            assert f"/projects/{pid}/data" in page.url and "labeling=1" in page.url
            if page.query_selector('button[aria-label="Close modal"]') or True:
                page.wait_for_selector('button[aria-label="Close modal"]')
                page.click('button[aria-label="Close modal"]')
            unit = task["data"]["unit_id"]
            page.wait_for_function("t => { const v = document.querySelector('.lsf-main-view'); "
                                   "return v && v.innerText.includes(t) && document.querySelector('input[type=radio]'); }",
                                   arg=task["data"]["text"])
            shown = page.inner_text(".lsf-main-view")
            assert "consensus (pre-selected)" in shown and " of 3 (annotator" in shown
            checked = [e.get_attribute("name") for e in page.query_selector_all("input[type=radio][name]")
                       if e.is_checked()]
            page.screenshot(path=str(ARTIFACTS / "review-1-task.png"))
            assert checked == [consensus[unit]]  # the consensus is pre-selected
            other = next(x for x in c.task_type.schema.labels if x != consensus[unit])
            page.click(f'input[name="{other}"]')
            with page.expect_response(lambda r: "/annotations" in r.url and r.request.method == "POST") as saved:
                page.click('button[aria-label="Submit current annotation"]')
            assert saved.value.ok
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "review-2-next.png"))
        finally:
            browser.close()
    pulled = json.loads(run("review", name, "--pull", "--json", home=ls_home).stdout)
    assert pulled["reviewed"] == 1 and pulled["overturned"] == 1 and pulled["new_verdicts"] == 1
    records = {r["unit_id"]: r for r in open_campaign(spec, ls_home).records()}
    assert records[unit]["label"] == other and records[unit]["label_source"] == "review"

"""A person in a running campaign, in a real browser: Debian's Chromium through Playwright, against
the session's managed Label Studio (sign-up by invitation only).

The person joins with `workbench annotators add`, signs up through the link `workbench invite`
prints and lands in the project's labeling stream; labels three tasks, skips one, edits one of their
own answers, then opens another annotator's answer in the Data Manager (Label Studio Community has
no roles, so nothing stops them) and changes it. `pull`, `status`, `annotators`, the export and the
report must then show exactly that: the person's three labels (the edited one as edited) counted,
the skip recorded, the tampered answer quarantined with its reason and never counted as its
author's. Screenshots of what the person saw are kept under artifacts/ (docs/labelstudio.md shows
them).
"""

from __future__ import annotations

import json

import pytest

from browser import ARGS, ARTIFACTS, chromium_path
from helpers import ARTICLES, write_spec
from lsutil import open_campaign, project_id, project_tasks, run

CROWD = '[[annotators]]\nid = "ana"\npersona = "expert"\n[[annotators]]\nid = "ben"\npersona = "careful"\n' \
        '[[annotators]]\nid = "cy"\npersona = "careful"\n'
LABELS = ("check-worthy", "unimportant", "non-factual")
PASSWORD = "a-Long-pass-4821"


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_path()


def spec_file(folder, name: str, show_prelabels: bool | None = None):
    extra = (f"show_prelabels = {str(show_prelabels).lower()}\n" if show_prelabels is not None else "") + \
        '[backend]\nname = "labelstudio"\n'
    return write_spec(folder, name=name, task_type="claims", documents=str(ARTICLES / "000_*.txt"),
                      extra=extra, pool=CROWD, overlap=2)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"people-{name}.png"))


def next_task(response) -> bool:
    """The stream asking for the next task (the labeling page's Data Manager action)."""
    return "/api/dm/actions" in response.url and "id=next_task" in response.url


def showing(page, task: dict) -> None:
    """Wait until the labeling view shows ``task`` (its text), not the one before it."""
    page.wait_for_function("t => { const v = document.querySelector('.lsf-main-view'); "
                           "return v && v.innerText.includes(t) && document.querySelector('input[type=radio]'); }",
                           arg=task["data"]["text"])


def checked(page) -> list[str]:
    return [e.get_attribute("name") for e in page.query_selector_all("input[type=radio][name]") if e.is_checked()]


def test_a_person_joins_labels_skips_edits_and_cannot_pass_for_someone_else(
        chromium, tmp_path, ls_home, ls_server, admin, name):
    from playwright.sync_api import sync_playwright

    home = ls_home  # the workbench home whose managed server the session runs
    spec = spec_file(tmp_path, name)
    result = run("run", str(spec), home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    pid = project_id(c)
    pre = c.prelabels()
    assert len(pre) == len(c.units())  # every unit has a pre-label: hiding them is a real choice

    # every place is taken: an invitee would find nothing; `annotators add` gives them a share
    email = f"pat-{name}@example.org"
    added = run("annotators", "add", name, email, "--id", "pat", "--json", home=home)
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["planned"] > 4
    invite = run("invite", name, email, "--json", home=home)
    assert invite.exit_code == 0, invite.output
    info = json.loads(invite.stdout)
    assert info["in_pool"] and not info["has_account"] and info["waiting"] == json.loads(added.stdout)["planned"]
    assert info["project_url"].endswith(f"/projects/{pid}/data?labeling=1")
    assert "next=" in info["invite_url"] and info["invite_url"].startswith(ls_server[0] + "/user/signup/?token=")
    text_of = {u.text: u.id for u in c.units()}

    done: dict[str, str] = {}  # unit -> the label the person gave
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 850})
            page.goto(info["invite_url"])
            page.wait_for_selector('input[name="email"]')
            shot(page, "1-sign-up")
            page.fill('input[name="email"]', email)
            page.fill('input[name="password"]', PASSWORD)
            with page.expect_response(next_task) as first:
                page.click('button[type="submit"]')
            task = first.value.json()
            # the first visit lands in the project's labeling stream, on one of the person's tasks
            assert f"/projects/{pid}/data" in page.url and "labeling=1" in page.url
            page.wait_for_selector('button[aria-label="Close modal"]')  # the instructions open first
            shot(page, "2-instructions")
            assert "Label All Tasks" in page.inner_text("body") and "Skip" in page.inner_text("body")
            page.click('button[aria-label="Close modal"]')
            showing(page, task)
            # nobody else's answer and no pre-label: the radio buttons start empty
            assert checked(page) == []
            assert len(task.get("annotations") or []) == 0

            for i in range(3):  # label three tasks
                showing(page, task)
                unit = task["data"]["unit_id"]
                assert checked(page) == [], unit
                label = LABELS[i % 3]
                page.click(f'input[name="{label}"]')
                if i == 0:
                    shot(page, "3-stream")
                with page.expect_response(next_task) as nxt:
                    page.click('button[aria-label="Submit current annotation"]')
                done[unit] = label
                task = nxt.value.json()
            showing(page, task)
            skipped = task["data"]["unit_id"]  # skip the fourth
            with page.expect_response(next_task) as nxt:
                page.click('button[aria-label="skip-task"]')
            showing(page, nxt.value.json())

            # edit one of their own answers: back through the stream's history to a submitted task
            for _ in range(4):
                page.click('button[aria-label="Previous task"]')
                page.wait_for_timeout(1500)
                if checked(page):
                    break
            shown = page.inner_text(".lsf-main-view")
            edited = next(u for t, u in text_of.items() if t in shown and u in done)
            new_label = next(x for x in LABELS if x != done[edited])
            page.click(f'input[name="{new_label}"]')
            with page.expect_response(lambda r: "/api/annotations/" in r.url and r.request.method == "PATCH") as upd:
                page.click('button[aria-label="submit"]:has-text("Update")')
            assert upd.value.ok
            done[edited] = new_label

            # another annotator's answer, opened from the Data Manager: Label Studio lets them change it
            users = {u["id"]: u["email"] for u in admin.get("/api/users/", params={"page_size": 10_000}).json()}
            target = next(t for t in project_tasks(admin, pid)
                          if t["annotations"] and all(users[a["completed_by"]] != email for a in t["annotations"]))
            page.goto(f"{ls_server[0]}/projects/{pid}/data?task={target['id']}")
            page.wait_for_selector('input[type=radio][name="check-worthy"]')
            if page.query_selector('button[aria-label="Close modal"]'):
                page.click('button[aria-label="Close modal"]')
            shot(page, "4-data-manager-someone-elses-answer")
            before = checked(page)
            assert len(before) == 1  # their answer is shown, editable
            page.click(f'input[name="{next(x for x in LABELS if x not in before)}"]')
            with page.expect_response(lambda r: "/api/annotations/" in r.url and r.request.method == "PATCH") as tam:
                page.click('button[aria-label="submit"]:has-text("Update")')
            tampered = tam.value.json()
            assert tam.value.ok and users[tampered["completed_by"]] != email
        finally:
            browser.close()

    # pull: the person's labels are theirs, the tampered answer is quarantined with its reason
    pulled = run("pull", name, "--json", home=home)
    assert pulled.exit_code == 0, pulled.output
    summary = json.loads(pulled.stdout)
    assert summary["skipped"] >= 1 and summary["invalid"] == 1
    assert any("quarantined" in n for n in summary["notes"])
    c = open_campaign(spec, home)
    mine = {a.unit_id: a for a in c.annotations() if a.annotator_id == "pat"}
    assert {u: a.label for u, a in mine.items() if a.status.value == "ok"} == done
    assert mine[skipped].status.value == "skipped"
    (bad,) = [a for a in c.annotations() if a.status.value == "invalid"]
    author = next(a.id for a in c.spec.annotators if a.id != "pat" and bad.annotator_id == a.id)
    assert bad.unit_id == target["data"]["unit_id"] and bad.backend_ids["annotation"] == tampered["id"]
    assert bad.reason.startswith(f"last changed by pat, not by its author {author}")

    status = json.loads(run("status", name, "--json", home=home).stdout)
    assert status["annotators"]["pat"]["ok"] == 3 and status["annotators"]["pat"]["skipped"] == 1
    assert status["annotators"]["pat"]["kind"] == "person"
    assert status["annotators"][author]["invalid"] == 1
    assert [q["annotator"] for q in status["quarantined"]] == [author]

    rows = {r["annotator"]: r for r in json.loads(run("annotators", name, "--json", home=home).stdout)}
    assert rows["pat"]["n_annotations"] == 3

    exported = run("export", name, "--json", home=home)
    assert exported.exit_code == 0, exported.output
    out = json.loads(exported.stdout)
    records = {json.loads(line)["unit_id"]: json.loads(line)
               for line in open(next(f for f in out["files"] if f.endswith(".jsonl")), encoding="utf-8")}
    votes_on_target = records[target["data"]["unit_id"]]["votes"]
    assert len(votes_on_target) == len(target["annotations"]) - 1  # the tampered answer is not a vote
    assert [v["label"] for v in records[edited]["votes"]].count(done[edited]) >= 1
    card = open(out["card"], encoding="utf-8").read()
    assert "1 (quarantined)" in card and "people did not see them" in card

    report = run("report", name, "--json", home=home)
    assert report.exit_code == 0, report.output
    html = open(json.loads(report.stdout)["path"], encoding="utf-8").read()
    assert "kept, not counted" in html and "person" in html

    # the spec now shows pre-labels: the person's next task opens with the plugin's suggestion
    spec.write_text(spec.read_text().replace("seed = 5\n", "seed = 5\nshow_prelabels = true\n"))
    assert run("push", str(spec), home=home).exit_code == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 850})
            page.goto(info["login_url"])  # straight back to the stream after logging in
            page.fill('input[name="email"]', email)
            page.fill('input[name="password"]', PASSWORD)
            with page.expect_response(next_task) as first:
                page.click('button[type="submit"]')
            task = first.value.json()
            showing(page, task)
            assert checked(page) == [pre[task["data"]["unit_id"]].label]
        finally:
            browser.close()


def test_pre_labels_are_shown_only_when_the_spec_says_so(tmp_path, ls_home, admin, name):
    home = ls_home
    spec = spec_file(tmp_path, name)
    assert run("run", str(spec), "--until", "push", home=home).exit_code == 0
    pid = project_id(open_campaign(spec, home))
    project = admin.get(f"/api/projects/{pid}/").json()
    assert project["show_collab_predictions"] is False and project["show_skip_button"] is True
    assert all(t["predictions"] for t in project_tasks(admin, pid))  # sent, not shown

    spec = spec_file(tmp_path, name, show_prelabels=True)
    assert run("push", str(spec), home=home).exit_code == 0
    project = admin.get(f"/api/projects/{pid}/").json()
    assert project["show_collab_predictions"] is True and project["model_version"] == "claims 0.1.0"

    bad = spec_file(tmp_path, name, show_prelabels=None)
    bad.write_text('show_prelabels = "yes"\n' + bad.read_text())
    result = run("push", str(bad), home=home)
    assert result.exit_code == 1 and f"{bad}: show_prelabels: expected bool, got 'yes'" in result.output

"""Gating: who gets production work, judged on honeypots; and the health of the gold itself.

``[gating]`` in a campaign file (see ``docs/campaigns.md``):

- **calibration**: an annotator's first ``calibration`` honeypot answers are their calibration (the
  assign step puts that many honeypots at the head of a newcomer's queue, so on the local backend
  they are their first tasks; Label Studio's stream picks the order, so there they are the first
  honeypots the annotator happens to answer). Below ``min_accuracy`` on them, they are excluded.
- **rolling**: once an annotator has answered ``min_gold`` honeypots, their accuracy over the last
  ``window`` below ``rolling_min_accuracy`` excludes them too.
- **manual**: ``workbench annotators exclude|include CAMPAIGN NAME``.

Nobody is judged before they answer: a person who has not labeled yet is never excluded nor waited
for. Excluding someone records the event (time, rule, reason) in the store, flags all their labels
``excluded`` (kept, never aggregated nor counted in agreement), cancels their unanswered work and
gives it, and one more place on each unit they answered, to other active annotators as a new round
(kind ``gating``); simulated personas stop. Including them back counts their labels again.

**Suspect gold**: after the agreement step, a honeypot that most of the campaign's strong annotators
(by the campaign's method: Dawid-Skene skill for a Dawid-Skene-like method, else gold accuracy;
strong = at or above the median, not excluded) answer alike and otherwise than its gold label is
listed as suspect; with ``drop_suspect_gold`` it is dropped from scoring (aggregation, annotator
quality and gating stop using it). **Exposure**: the share of the campaign's honeypots each
annotator has answered, with a warning above ``max_exposure``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterable

from .errors import WorkbenchError
from .models import AnnotationStatus, Label, LabelKind, LabelSchema, Span, label_key
from .store import campaigns as campaigns_sql
from .store import gating as gating_sql
from .store import labels as labels_sql
from .store import now

if TYPE_CHECKING:  # pragma: no cover
    from .spec import CampaignSpec, GatingSpec
    from .state import CampaignState
    from .steps import StepContext

#: tasks each simulated persona does per stage of a gated simulation, between two judgments
STAGE = 5

#: answers that say what an annotator gave (a skip or a quarantined result says nothing)
ANSWERED = ("ok", "extra", "excluded", "not_in_pool")


# -- reading -----------------------------------------------------------------------------------------
def excluded_annotators(store, campaign: str) -> dict[str, dict[str, Any]]:
    """``{annotator: {reason, rule, at, ...}}`` of those excluded now (for review, status, the card)."""
    return gating_sql.excluded(store, campaign)


def events(store, campaign: str) -> list[dict[str, Any]]:
    """Every exclusion and inclusion, oldest first, with time, rule and reason."""
    return gating_sql.events(store, campaign)


def excluded_units(state: "CampaignState") -> dict[str, list[str]]:
    """``{unit: [excluded annotators who answered it]}``: units whose labels include one by an
    annotator excluded since (the review helper sends these to review)."""
    out: dict[str, list[str]] = {}
    for a in state.annotations:
        if a.status is AnnotationStatus.EXCLUDED:
            out.setdefault(a.unit_id, []).append(a.annotator_id)
    return {u: sorted(set(v)) for u, v in sorted(out.items())}


def mark_excluded(spec: "CampaignSpec", excluded: Iterable[str]) -> "CampaignSpec":
    """``spec`` with the annotators in ``excluded`` flagged (no new work, labels not counted)."""
    gone = set(excluded)
    if not gone and not any(a.excluded for a in spec.annotators):
        return spec
    return replace(spec, annotators=tuple(replace(a, excluded=a.id in gone) for a in spec.annotators))


def full_honeypot_gold(state: "CampaignState") -> dict[str, Label]:
    """Every honeypot's gold label, suspect ones included."""
    return {u.id: u.gold_label for u in state.units if u.is_gold and u.gold_label is not None}


def scoring_gold(state: "CampaignState") -> dict[str, Label]:
    """The honeypots that score annotators: all of them but the suspect ones dropped."""
    dropped = gating_sql.dropped_units(state.store, state.name)
    return {u: g for u, g in full_honeypot_gold(state).items() if u not in dropped}


def score(label: Label | None, gold: Label, schema: LabelSchema) -> float:
    """How right one answer is on one honeypot: 1 or 0; span tasks: F1 of the spans (exact offsets
    and label) against the gold spans (no spans on either side: 1)."""
    if label is None:
        return 0.0
    if schema.kind is not LabelKind.SPANS:
        return float(label == gold)
    mine = {s for s in label if isinstance(s, Span)}
    ref = {s for s in gold if isinstance(s, Span)}  # type: ignore[union-attr]
    if not mine and not ref:
        return 1.0
    tp = len(mine & ref)
    return 2 * tp / (len(mine) + len(ref))


def honeypot_answers(state: "CampaignState", gold: dict[str, Label]) -> dict[str, list[tuple[str, float, str]]]:
    """``{annotator: [(honeypot, score, gold class), ...]}`` in the order they answered (time, then
    queue order); the gold class is the gold label's key (one class for span tasks)."""
    position = {(a.unit, a.annotator): a.position for a in state.assignments}
    rows = [a for a in state.annotations if a.unit_id in gold and a.status.value in ANSWERED and a.label is not None]
    rows.sort(key=lambda a: (a.annotator_id, a.created_at or "", position.get((a.unit_id, a.annotator_id), 1 << 30),
                             a.unit_id))
    out: dict[str, list[tuple[str, float]]] = {}
    for a in rows:
        ref = gold[a.unit_id]
        cls = "spans" if state.schema.kind is LabelKind.SPANS else label_key(ref)
        out.setdefault(a.annotator_id, []).append((a.unit_id, score(a.label, ref, state.schema), cls))
    return out


def balanced(answers: list[tuple[str, float, str]]) -> float:
    """The lower of plain accuracy and accuracy with each gold class weighing the same.

    Someone who always gives the commonest gold label is right on its class and wrong on the others,
    so they do not pass on a skewed run of honeypots (Label Studio's stream decides which honeypots a
    person meets first). Each class's accuracy is shrunk towards the plain one by one pseudo-answer,
    so a single honeypot of a class does not decide alone (one miss there would halve a careful
    annotator's figure); the plain figure keeps a random labeler lucky on a class from passing.
    With one class both are the plain mean."""
    plain = sum(sc for _, sc, _ in answers) / len(answers)
    per: dict[str, list[float]] = {}
    for _, sc, cls in answers:
        per.setdefault(cls, []).append(sc)
    by_class = sum((sum(v) + plain) / (len(v) + 1) for v in per.values()) / len(per)
    return min(by_class, plain)


def exposure(state: "CampaignState") -> dict[str, dict[str, Any]]:
    """Per annotator: honeypots answered (any answer), of how many, and the share."""
    total, seen = labels_sql.honeypots_answered(state.store, state.name)  # counted in SQL: a million rows
    return {aid: {"seen": n, "of": total, "share": round(n / total, 3) if total else None}
            for aid, n in sorted(seen.items())}


# -- judging -----------------------------------------------------------------------------------------
def judge(g: "GatingSpec", answers: dict[str, list[tuple[str, float, str]]], candidates: Iterable[str],
          included_at: dict[str, int]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(annotator, rule, reason, detail)`` for each candidate the rules exclude now.

    ``included_at``: for someone included back by hand, how many honeypots they had answered then;
    calibration is not judged again for them, and the rolling window only looks at later answers."""
    out = []
    for aid in sorted(candidates):
        mine = answers.get(aid, [])
        since = included_at.get(aid)
        if g.calibration and since is None and len(mine) >= g.calibration:
            first = mine[:g.calibration]
            acc = balanced(first)
            if acc < g.min_accuracy:
                out.append((aid, "calibration", _reason("calibration", first, acc, g.min_accuracy),
                            {"accuracy": round(acc, 4), "honeypots": [u for u, _, _ in first]}))
                continue
        if g.rolling_min_accuracy is not None:
            later = mine[since or 0:]
            if len(later) >= g.min_gold:
                last = later[-g.window:]
                acc = balanced(last)
                if acc < g.rolling_min_accuracy:
                    out.append((aid, "rolling", _reason("rolling", last, acc, g.rolling_min_accuracy),
                                {"accuracy": round(acc, 4), "honeypots": [u for u, _, _ in last]}))
    return out


def _reason(rule: str, answers: list[tuple[str, float, str]], acc: float, bar: float) -> str:
    """``calibration 2/6 = 0.33 < 0.5``, ``rolling accuracy 0.40 over the last 10 honeypots < 0.5``;
    when the per-class figure is the lower one, it is said too."""
    right = sum(sc for _, sc, _ in answers)
    plain = right / len(answers)
    head = (f"calibration {_num(right)}/{len(answers)} = {plain:.2f}" if rule == "calibration"
            else f"rolling accuracy {plain:.2f} over the last {len(answers)} honeypots")
    if abs(plain - acc) < 1e-9:
        return f"{head} < {bar}"
    classes = len({cls for _, _, cls in answers})
    return f"{head}, {acc:.2f} averaged over the {classes} gold classes < {bar}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def _included_at(store, campaign: str) -> dict[str, int]:
    """For whoever was included back by hand (and not excluded since), how many honeypots they had
    answered then."""
    out: dict[str, int] = {}
    for e in gating_sql.events(store, campaign):
        if e["action"] == "include":
            out[e["annotator"]] = int((e["detail"] or {}).get("honeypots_answered", 0))
    return out


def gate(ctx: "StepContext") -> dict[str, Any]:
    """Judge every active pool member who has answered honeypots; exclude whoever fails a rule."""
    g = ctx.spec.gating
    if not g.enabled:
        return {"excluded": []}
    state = ctx.state
    answers = honeypot_answers(state, scoring_gold(state))
    candidates = [a.id for a in ctx.spec.active_annotators if answers.get(a.id)]
    verdicts = judge(g, answers, candidates, _included_at(ctx.store, ctx.name))
    done = []
    for aid, rule, reason, detail in verdicts:
        done.append(exclude(ctx, aid, rule, reason, detail))
        ctx = fresh(ctx)
    return {"excluded": done}


# -- excluding and including -------------------------------------------------------------------------
def fresh(ctx: "StepContext") -> "StepContext":
    """The context again, with the pool's exclusions and a new read model (after a write)."""
    from .state import CampaignState

    state = CampaignState(ctx.store, ctx.name, ctx.state.schema, ctx.state.task_type)
    spec = mark_excluded(ctx.spec, gating_sql.excluded(ctx.store, ctx.name))
    return replace(ctx, spec=spec, state=state)


def exclude(ctx: "StepContext", annotator: str, rule: str, reason: str,
            detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Exclude ``annotator``: record why, flag their labels, give their work to others (a new round)."""
    from .steps.assign import Plan
    from .steps.pull import settle

    known = {a.id for a in ctx.spec.annotators}
    if annotator not in known:
        raise WorkbenchError(f"campaign {ctx.name!r} has no annotator {annotator!r} (the pool: "
                             f"{', '.join(sorted(known))})")
    if annotator in gating_sql.excluded(ctx.store, ctx.name):
        raise WorkbenchError(f"campaign {ctx.name!r}: {annotator} is already excluded")
    with ctx.store.transaction():
        gating_sql.add_event(ctx.store, ctx.name, annotator, "exclude", rule, reason, now(), detail)
        ctx = fresh(ctx)
        plan = Plan(ctx)
        annotations = ctx.state.annotations
        counted = {a.unit_id for a in annotations if a.annotator_id == annotator and a.status is AnnotationStatus.OK}
        own = {a.unit_id for a in annotations if a.annotator_id == annotator}
        active = set(plan.active)
        target: dict[str, int] = {}
        cancelled = 0
        for u, who in plan.planned.items():
            if annotator in who:
                target[u] = len(who) + (u in counted)
                if u in own:
                    continue
                plan.cancel(u, annotator, f"{annotator} excluded ({reason})")
                cancelled += 1
                # their place was taken by someone the plan did not name (Label Studio's stream): the
                # plan says so now, so that annotator's share counts it
                takers = sorted({a.annotator_id for a in annotations if a.unit_id == u and a.annotator_id in active
                                 and a.annotator_id not in who and a.status is AnnotationStatus.OK})
                if takers:
                    plan.add(u, takers[0])
        for u in counted:  # answers in places planned for someone else (Label Studio's stream)
            if u not in target:
                target[u] = len(plan.planned.get(u, ())) + 1
        added = plan.top_up(list(target), target)
        # (who: in the gating record; a round's reason goes into the data card, which names nobody)
        why = (f"an annotator excluded ({reason}): {cancelled} unanswered assignment(s) cancelled, "
               f"{added} assignment(s) given to others")
        number = plan.write("gating", why)
        settle(ctx)
        campaigns_sql.bump_annotations_rev(ctx.store, ctx.name)
    short = sum(1 for u, n in target.items() if len(plan.planned.get(u, ())) < n)
    return {"annotator": annotator, "rule": rule, "reason": reason, "round": number, "cancelled": cancelled,
            "reassigned": added, "short": short,
            "labels_excluded": sum(1 for a in ctx.state.annotations if a.annotator_id == annotator
                                   and a.status.value in ANSWERED)}


def include(ctx: "StepContext", annotator: str, reason: str = "manual") -> dict[str, Any]:
    """Undo an exclusion: their labels count again (automatic rules will not judge their calibration
    again; the rolling window looks only at later honeypots). Work given to others stays with them."""
    from .steps.pull import settle

    if annotator not in gating_sql.excluded(ctx.store, ctx.name):
        raise WorkbenchError(f"campaign {ctx.name!r}: {annotator} is not excluded")
    answered = len(honeypot_answers(ctx.state, scoring_gold(ctx.state)).get(annotator, []))
    with ctx.store.transaction():
        gating_sql.add_event(ctx.store, ctx.name, annotator, "include", "manual", reason, now(),
                             {"honeypots_answered": answered})
        ctx = fresh(ctx)
        settle(ctx)
        campaigns_sql.bump_annotations_rev(ctx.store, ctx.name)
    return {"annotator": annotator, "reason": reason,
            "labels_counted": sum(1 for a in fresh(ctx).state.annotations
                                  if a.annotator_id == annotator and a.status is AnnotationStatus.OK)}


# -- the gold's health -------------------------------------------------------------------------------
def strength(quality: list[dict[str, Any]], method: str | None) -> dict[str, float]:
    """Each annotator's skill by the campaign's method: Dawid-Skene's accuracy for a method that
    models annotators (Dawid-Skene, MACE, token votes with a Dawid-Skene fit), else gold accuracy."""
    key = "ds_accuracy" if method and any(m in method for m in ("dawid", "mace", "ds")) else "gold_accuracy"
    out = {}
    for r in quality:
        value = r.get(key)
        if value is None:
            value = r.get("gold_accuracy")
        if value is not None and value == value:
            out[r["annotator"]] = float(value)
    return out


def suspect_gold(state: "CampaignState", quality: list[dict[str, Any]], method: str | None,
                 excluded: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Honeypots that most strong annotators answer alike and otherwise than the gold label.

    Strong: not excluded, skill (:func:`strength`) at or above the median. A honeypot needs at least
    two strong annotators' answers; it is suspect when more than half of them gave one same answer
    that is not the gold label."""
    skill = {a: s for a, s in strength(quality, method).items() if a not in set(excluded)}
    if len(skill) < 2:
        return []
    bar = statistics.median(skill.values())
    strong = {a for a, s in skill.items() if s >= bar}
    gold = full_honeypot_gold(state)
    answers: dict[str, list[Label]] = {}
    for a in state.annotations:
        if a.unit_id in gold and a.annotator_id in strong and a.status is AnnotationStatus.OK and a.label is not None:
            answers.setdefault(a.unit_id, []).append(a.label)
    out = []
    for unit, given in sorted(answers.items()):
        if len(given) < 2:
            continue
        top, n = Counter(label_key(x) for x in given).most_common(1)[0]
        if top != label_key(gold[unit]) and n * 2 > len(given):
            out.append({"unit": unit, "gold": label_key(gold[unit]), "answer": top, "strong_n": len(given),
                        "against_n": n})
    return out


def health(ctx: "StepContext") -> dict[str, Any]:
    """Find the suspect honeypots (after the agreement step) and store them; with
    ``drop_suspect_gold`` they are dropped from scoring. Returns whether the dropped set changed."""
    state = ctx.state
    agg = state.step("aggregate") or {}
    excluded = gating_sql.excluded(ctx.store, ctx.name)
    found = suspect_gold(state, state.quality, agg.get("method"), excluded)
    drop = ctx.spec.gating.drop_suspect_gold
    before = gating_sql.dropped_units(ctx.store, ctx.name)
    with ctx.store.transaction():
        gating_sql.replace_suspects(ctx.store, ctx.name, [
            (s["unit"], s["gold"], s["answer"], s["strong_n"], s["against_n"], int(drop)) for s in found])
    after = {s["unit"] for s in found} if drop else set()
    return {"suspect_gold": [s["unit"] for s in found], "dropped": sorted(after), "changed": after != before}


def gold_health(state: "CampaignState", spec: "CampaignSpec") -> dict[str, Any]:
    """What the status, ``annotators``, the report and the data card show about gating and gold."""
    store, name = state.store, state.name
    ex = gating_sql.excluded(store, name)
    seen = exposure(state)
    cap = spec.gating.max_exposure
    return {
        "enabled": spec.gating.enabled,
        "rules": {k: v for k, v in vars(spec.gating).items()},
        "excluded": [{"annotator": a, "rule": e["rule"], "reason": e["reason"], "at": e["at"]}
                     for a, e in sorted(ex.items())],
        "events": gating_sql.events(store, name),
        "excluded_labels": labels_sql.count(store, name, AnnotationStatus.EXCLUDED.value),
        "suspect_gold": gating_sql.suspects(store, name),
        "exposure": seen,
        "overexposed": sorted(a for a, v in seen.items() if v["share"] is not None and v["share"] > cap),
        "max_exposure": cap,
    }


def summary_line(info: dict[str, Any]) -> str:
    """One line about exclusions, for the demo and the report."""
    ex = info["excluded"]
    if not ex:
        return "gating: nobody excluded" + ("" if info["enabled"] else " (no [gating] rules)")
    return "gating: excluded " + "; ".join(f"{e['annotator']} ({e['reason']})" for e in ex) + \
        f"; {info['excluded_labels']} of their labels kept, not counted"


# -- a gated simulation ------------------------------------------------------------------------------
def staged_simulation(campaign, simulate) -> dict[str, Any]:
    """The simulated crowd works in stages: each persona up to its calibration first, then
    :data:`STAGE` more tasks at a time (or half what they have done, if more); after each stage
    what they made is stored (as the backend answered the saves: no whole pull, see
    :meth:`Campaign.take_simulated`) and gating judges them (an excluded persona stops, its work
    goes to others and is pushed); people's answers are judged at the pull after the simulation. ``simulate(limits)`` runs the simulate step with
    ``{annotator: tasks in all}``; ``campaign`` is the engine (its ``pull``, ``state``, ``spec``)."""
    g = campaign.spec.gating
    limit = 0
    made, stages, excluded = 0, 0, []
    summary: dict[str, Any] = {"simulated_annotators": 0, "labels_made": 0}
    while True:
        campaign._fresh()
        state = campaign.state
        spec = campaign.effective_spec()
        queues = state.queues
        done = Counter(a.annotator_id for a in state.annotations)
        waiting = [a.id for a in spec.active_annotators if a.simulated and len(queues.get(a.id, [])) > done[a.id]]
        if not waiting:
            break
        # the least advanced persona with work left does a stage (its calibration first)
        least = min(done[a] for a in waiting)
        # stages grow with the work done (5 tasks, or half what they have done if more): frequent
        # judgments early, few pulls late on a long campaign
        limit = max(limit, (g.calibration or STAGE) if least < g.calibration else least + max(STAGE, least // 2))
        crowd = [a.id for a in spec.active_annotators if a.simulated]
        summary = simulate({a: limit for a in crowd})
        stages += 1
        made += summary["labels_made"]
        pulled = campaign.take_simulated()
        out = (pulled.get("gating") or {}).get("excluded") or []
        excluded += [{k: e[k] for k in ("annotator", "rule", "reason", "round")} for e in out]
        if not summary["labels_made"] and not out:
            break  # nothing more comes (the server has nothing left for them)
    final = {**summary, "labels_made": made, "stages": stages, "excluded": excluded}
    return campaign._step(_record_simulation, final)


def _record_simulation(ctx: "StepContext", summary: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        ctx.record("simulate", summary)
    return summary


def card_facts(state: "CampaignState", spec: "CampaignSpec", pseudonym_of: dict[str, str]) -> dict[str, Any]:
    """Gating as the data card tells it: annotators under their pseudonyms only."""
    info = gold_health(state, spec)

    def who(aid: str) -> str:
        return pseudonym_of.get(aid, "(an annotator with no exported label)")

    return {
        "enabled": info["enabled"], "rules": info["rules"],
        "excluded": [{**e, "annotator": who(e["annotator"])} for e in info["excluded"]],
        "events": [{"annotator": who(e["annotator"]), "action": e["action"], "rule": e["rule"],
                    "reason": e["reason"].replace("|", "/"), "at": e["at"]} for e in info["events"]],
        "excluded_labels": info["excluded_labels"],
        "suspect_gold": info["suspect_gold"],
        "overexposed": [who(a) for a in info["overexposed"]], "max_exposure": info["max_exposure"],
    }


def card_lines(g: dict[str, Any] | None) -> list[str]:
    """The data card's ``## Gating`` section (nothing when gating had nothing to say)."""
    if not g or (not g["enabled"] and not g["events"] and not g["suspect_gold"]):
        return []
    r = g["rules"]
    rules = []
    if r["calibration"]:
        rules.append(f"calibration on each annotator's first {r['calibration']} honeypots (at least "
                     f"{r['min_accuracy']:g} right)")
    if r["rolling_min_accuracy"] is not None:
        rules.append(f"rolling accuracy over the last {r['window']} honeypots at least {r['rolling_min_accuracy']:g} "
                     f"(judged from {r['min_gold']})")
    out = ["## Gating", "",
           ("Annotators were judged on honeypots: " + "; ".join(rules) + "." if rules
            else "No automatic gating rule was set.") + " An excluded annotator's labels are kept in the store "
           "but never aggregated nor counted in agreement; their open work went to others.", ""]
    if g["events"]:
        out += ["Exclusions and inclusions:", ""]
        out += ["| when | annotator | action | rule | reason |", "| --- | --- | --- | --- | --- |"]
        out += [f"| {e['at']} | {e['annotator']} | {e['action']} | {e['rule']} | {e['reason']} |"
                for e in g["events"]]
        out += ["", f"{g['excluded_labels']} label(s) by annotators excluded now are not counted.", ""]
    else:
        out += ["Nobody was excluded.", ""]
    if g["suspect_gold"]:
        dropped = sum(s["dropped"] for s in g["suspect_gold"])
        out += [f"Suspect gold: {len(g['suspect_gold'])} honeypot(s) that most strong annotators answered alike and "
                f"otherwise than the gold label" + (f"; {dropped} dropped from scoring" if dropped else
                                                     " (still used for scoring)") + ":", ""]
        out += [f"- `{s['unit']}`: gold {s['gold']}, {s['against_n']} of {s['strong_n']} strong annotators said "
                f"{s['answer']}" for s in g["suspect_gold"]] + [""]
    if g["overexposed"]:
        out += [f"Honeypot exposure: {', '.join(g['overexposed'])} saw more than {g['max_exposure']:.0%} of the "
                "honeypots (they may learn to recognise them).", ""]
    return out


def status_lines(view: dict[str, Any]) -> list[str]:
    """``workbench status``'s lines about gating: every exclusion and inclusion, suspect gold, exposure."""
    out = []
    if view["events"]:
        out.append("gating (exclusions and inclusions, oldest first):")
        out += [f"  {e['at']}  {e['action']} {e['annotator']} ({e['rule']}): {e['reason']}" for e in view["events"]]
        if view["excluded"]:
            out.append(f"  excluded now: {', '.join(e['annotator'] for e in view['excluded'])}; "
                       f"{view['excluded_labels']} of their labels kept, not counted "
                       "(`workbench annotators include CAMPAIGN NAME` counts them again)")
    elif view["enabled"]:
        out.append("gating: nobody excluded")
    if view["suspect_gold"]:
        out.append(f"suspect gold: {len(view['suspect_gold'])} honeypot(s) most strong annotators answer otherwise: "
                   + ", ".join(f"{s['unit']} (gold {s['gold']}, {s['against_n']}/{s['strong_n']} said {s['answer']}"
                               + (", dropped" if s["dropped"] else "") + ")" for s in view["suspect_gold"]))
    if view["overexposed"]:
        out.append(f"honeypot exposure above {view['max_exposure']:.0%}: {', '.join(view['overexposed'])}")
    return out


def report_lines(info: dict[str, Any], names: dict[str, str]) -> list[str]:
    """The report's lines about gating (``names``: how the report shows each annotator)."""
    view = {**info,
            "events": [{**e, "annotator": names.get(e["annotator"], e["annotator"])} for e in info["events"]],
            "excluded": [{**e, "annotator": names.get(e["annotator"], e["annotator"])} for e in info["excluded"]],
            "overexposed": [names.get(a, a) for a in info["overexposed"]]}
    lines = [line.strip() for line in status_lines(view)]
    if info["enabled"] or info["events"]:
        lines.insert(0, summary_line(view))
    return [x for x in lines if not x.startswith("gating (exclusions")]

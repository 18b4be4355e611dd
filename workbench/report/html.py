"""The report as one self-contained HTML page: inline CSS, figures as embedded SVG, no script, no network."""

from __future__ import annotations

import base64
import re
from html import escape
from typing import Any

from ..export.records import REVIEW_REASONS
from .figures import NONE_COLOUR, label_colours

CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --card:#fff; --accent:#0072b2;
        --good:#009e73; --warn:#e69f00; --bad:#d55e00; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color:var(--ink); background:var(--bg); }
header.top { background:linear-gradient(120deg,#0b3a5b,#0072b2); color:#fff; padding:28px 40px 22px; }
header.top h1 { margin:0 0 4px; font-size:26px; letter-spacing:-.01em; }
header.top p { margin:2px 0; opacity:.9; }
header.top .meta { font-size:13px; opacity:.8; }
nav { position:sticky; top:0; z-index:2; background:#fff; border-bottom:1px solid var(--line);
      padding:8px 40px; display:flex; flex-wrap:wrap; gap:4px 18px; font-size:14px; }
nav a { color:var(--accent); text-decoration:none; } nav a:hover { text-decoration:underline; }
main { max-width:1180px; margin:0 auto; padding:24px 40px 60px; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit,minmax(135px,1fr)); gap:12px; margin:0 0 22px; }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px;
       border-top:4px solid var(--accent); }
.kpi.good { border-top-color:var(--good); } .kpi.warn { border-top-color:var(--warn); }
.kpi.bad { border-top-color:var(--bad); }
.kpi .v { font-size:24px; font-weight:700; } .kpi .k { font-size:13px; color:var(--muted); font-weight:600; } .kpi .s { font-size:12px; color:var(--muted); }
section { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 22px;
          margin:0 0 20px; }
section h2 { margin:0 0 4px; font-size:19px; } section .how { color:var(--muted); margin:0 0 12px; font-size:14px; }
figure.plot { margin:8px 0; } figure.plot img { width:100%; height:auto; display:block; }
figure.plot figcaption { color:var(--muted); font-size:13px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:18px; align-items:start; }
@media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } main, nav, header.top { padding-left:16px;
  padding-right:16px; } }
table.t { border-collapse:collapse; width:100%; font-size:14px; }
table.t th, table.t td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
table.t th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
table.t td.n { text-align:right; font-variant-numeric:tabular-nums; }
.chip { display:inline-block; padding:1px 9px; border-radius:999px; font-size:13px; font-weight:600;
        background:color-mix(in srgb, var(--c) 16%, white); color:color-mix(in srgb, var(--c) 70%, black);
        border:1px solid color-mix(in srgb, var(--c) 45%, white); margin:1px 2px; white-space:nowrap; }
.flag { display:inline-block; padding:0 7px; border-radius:4px; font-size:12px; background:#fff4e0;
        color:#8a5a00; border:1px solid #f3d19c; margin:0 3px 0 0; }
.ci { color:var(--muted); font-size:12px; white-space:nowrap; }
.ok { color:var(--good); font-weight:700; } .miss { color:var(--bad); font-weight:700; }
.checks li { margin:4px 0; }
.unit { border:1px solid var(--line); border-radius:10px; padding:12px 16px; margin:12px 0; }
.unit .head { font-size:13px; color:var(--muted); display:flex; flex-wrap:wrap; gap:6px 14px; align-items:center; }
.unit .text { font-size:16px; margin:8px 0 4px; }
.unit .ctx { font-size:13px; color:var(--muted); margin:0 0 8px; }
.unit table.votes td { padding:4px 10px 4px 0; border:0; vertical-align:top; } .unit table.votes td.who {
        color:var(--muted); white-space:nowrap; font-size:13px; }
.unit .row { display:flex; flex-wrap:wrap; gap:4px 16px; align-items:center; margin:4px 0; font-size:13px; }
.unit .row .who { color:var(--muted); } .unit .row b { color:var(--ink); }
mark { background:color-mix(in srgb, var(--c) 22%, white); border-bottom:2px solid var(--c); padding:0 1px;
       color:inherit; }
sup.tag { font-size:10px; font-weight:700; color:color-mix(in srgb, var(--c) 75%, black); margin:0 2px 0 1px; }
footer { color:var(--muted); font-size:13px; text-align:center; padding:10px; }
code { font-size:12.5px; background:#f1f5f9; padding:0 4px; border-radius:4px; }
"""

SECTIONS = [("overview", "Overview"), ("progress", "Progress"), ("labels", "Labels"),
            ("annotators", "Annotators"), ("pairwise", "Pairwise agreement"), ("gold", "Consensus vs gold"),
            ("confidence", "Confidence"), ("disputed", "Most disputed units")]


def _pct(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _ci(pair: Any, pct: bool = False) -> str:
    """`` [0.448, 0.571]`` (or in percent): a bootstrap 95% interval after its figure; empty without one."""
    if not pair or pair[0] is None or pair[1] is None:
        return ""
    if pct:
        return f' <span class="ci">[{100 * pair[0]:.1f}, {100 * pair[1]:.1f}]</span>'
    return f' <span class="ci">[{pair[0]:.3f}, {pair[1]:.3f}]</span>'


def _evaluations(d) -> str:
    """The last evaluation of each model: headline figures per reference, then per-class F1."""
    spans = d.spans
    multi = d.kind.value == "multi"
    rows = []
    for e in d.evaluations:
        for ref_name, ref in e["references"].items():
            if not ref.get("units"):
                rows.append([escape(e["model"]), escape(ref_name), 0, escape(ref.get("note") or ""), "", "", ""][
                    :7 if spans or multi else 6])
                continue
            main = ("micro_f1" if spans or multi else "accuracy")
            cal = ref.get("calibration")
            stale = ' <span class="flag">consensus changed since</span>' if e.get("stale") and ref_name == "consensus" \
                else ""
            exact = [_num(ref.get("accuracy")) + _ci(ref.get("accuracy_ci"))] if spans or multi else []
            rows.append([escape(e["model"]) + stale, escape(ref_name), ref["units"],
                         _num(ref.get(main)) + _ci(ref.get(f"{main}_ci")),
                         _num(ref.get("macro_f1")) + _ci(ref.get("macro_f1_ci")), *exact,
                         _num(cal["ece"]) if cal else "no scores"])
    main_name = "span F1 (micro)" if spans else "micro-F1" if multi else "accuracy"
    columns = ["model", "vs", "units", main_name, "macro-F1", *(["exact units"] if spans or multi else []), "ECE"]
    table = _table(columns, rows, set(range(2, len(columns))))
    per_class = []
    for e in d.evaluations:
        refs = {k: {r["label"]: r for r in v.get("per_class") or []} for k, v in e["references"].items()}
        if not any(refs.values()):
            continue
        body = [[escape(label)] + [
            (_num(refs[k][label]["f1"]) + f' <span class="ci">({refs[k][label]["support"]})</span>')
            if label in refs[k] else "n/a" for k in refs] for label in d.labels]
        per_class.append(f"<h3>{escape(e['model'])}: F1 per label</h3><p class=\"how\">Support (reference "
                         f"{'spans' if spans else 'units'}) in brackets; source {escape(str(e['source']))}, "
                         f"evaluated {escape(str(e['evaluated_at']))}.</p>"
                         + _table(["label", *[f"F1 vs {k}" for k in refs]], body, set(range(1, len(refs) + 1))))
    notes = sorted({n for e in d.evaluations for n in e.get("notes") or []})
    return table + "".join(per_class) + "".join(f'<p class="how">Note: {escape(n)}.</p>' for n in notes)


def chip(label: str, colours: dict[str, str]) -> str:
    return f'<span class="chip" style="--c:{colours.get(label, NONE_COLOUR)}">{escape(label)}</span>'


def marked(text: str, spans: list[dict], colours: dict[str, str]) -> str:
    """The text with its spans highlighted (innermost span's colour where spans overlap), labels after each."""
    if not spans:
        return escape(text) + ' <span class="flag">no spans</span>'
    cuts = sorted({0, len(text)} | {s["start"] for s in spans} | {s["end"] for s in spans})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        covering = sorted((s for s in spans if s["start"] <= a and b <= s["end"]), key=lambda s: s["end"] - s["start"])
        piece = escape(text[a:b])
        if covering:
            c = colours.get(covering[0]["label"], NONE_COLOUR)
            piece = f'<mark style="--c:{c}" title="{escape(covering[0]["label"])}">{piece}</mark>'
        out.append(piece)
        for s in spans:
            if s["end"] == b:
                out.append(f'<sup class="tag" style="--c:{colours.get(s["label"], NONE_COLOUR)}">'
                           f'{escape(s["label"])}</sup>')
    return "".join(out)


def show_label(label: Any, colours: dict[str, str], text: str | None = None) -> str:
    if isinstance(label, str):
        return chip(label, colours)
    if label and isinstance(label[0], dict):
        return marked(text or "", list(label), colours)
    if text is not None and label == []:
        return marked(text, [], colours)
    return "".join(chip(x, colours) for x in label) or '<span class="flag">none</span>'


def _figure(figures: dict, key: str, caption: str, scale: float = 1.1) -> str:
    if key not in figures:
        return ""
    svg, alt = figures[key]
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    # shown at ``scale`` times the size matplotlib drew (pt -> px), and never wider than the column
    m = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
    width = f' style="max-width:{float(m.group(1)) * scale * 4 / 3:.0f}px"' if m else ""
    return (f'<figure class="plot" data-figure="{key}"><img alt="{escape(alt)}"{width} '
            f'src="data:image/svg+xml;base64,{data}"><figcaption>{escape(caption)}</figcaption></figure>')


def checks(d) -> list[str]:
    """Plain-language things worth a look, derived from the numbers."""
    out = []
    alpha = (d.metrics.get("krippendorff_alpha") or {}).get("value")
    if alpha is not None and alpha < 0.667:
        out.append(f"Krippendorff's alpha is <b>{alpha:.3f}</b>, below 0.667, the lowest value advised even for "
                   "tentative conclusions: look at the guidelines and the disputed units below.")
    for a in d.annotators:
        acc, cons = a["gold_accuracy"], a["consensus_agreement"]
        if a["flags"]:  # the quality table's own thresholds, where it sets them
            out.append(f"<b>{escape(a['annotator'])}</b> is flagged: {escape('; '.join(a['flags']))}. Check their "
                       "work, or drop them and re-aggregate.")
        elif (acc is not None and acc < 0.5) or (cons is not None and cons < 0.5):
            out.append(f"<b>{escape(a['annotator'])}</b> scores {_pct(acc)} on honeypots and agrees with the "
                       f"consensus on {_pct(cons)} of units: check their work, or drop them and re-aggregate.")
    flagged = int(d.unit_stats["flagged"].sum()) if not d.unit_stats.empty else 0
    if flagged:
        out.append(f"{flagged} of {len(d.unit_stats)} units are flagged for review (ties, no majority, one "
                   "annotation or a gold mismatch); export with <code>--drop-flagged</code> to leave them out.")
    p = d.progress
    if p["complete"] < p["units"]:
        out.append(f"{p['units'] - p['complete']} units still lack some of their {d.overlap} annotations.")
    held = d.aggregate.get("accuracy_held_out_gold") or {}
    if held.get("n") and held.get("accuracy") is not None and held["accuracy"] < 0.9:
        out.append(f"The consensus matches held-out gold on {_pct(held['accuracy'], 1)} of {held['n']} units: "
                   "expect label errors at about that rate.")
    if any(a["kind"].startswith("simulated") for a in d.annotators):
        out.append("Some or all annotators are <b>simulated</b> (seeded personas): these numbers describe a dry run, "
                   "not people.")
    return out


def _kpis(d) -> str:
    alpha = (d.metrics.get("krippendorff_alpha") or {}).get("value")
    pa = (d.metrics.get("percent_agreement") or {}).get("value")
    held = d.aggregate.get("accuracy_held_out_gold") or {}
    flagged = int(d.unit_stats["flagged"].sum()) if not d.unit_stats.empty else 0
    p = d.progress
    done = p["complete"] / p["units"] if p["units"] else 0
    cards = [
        ("Units", f"{d.units}", f"from {d.documents} documents", ""),
        ("Progress", _pct(done), f"{p['complete']} of {p['units']} units fully labeled", "good" if done >= 1 else "warn"),
        ("Annotations", f"{d.annotations}", f"{len(d.annotators)} annotators, {d.overlap} per unit", ""),
        ("Krippendorff's α", _num(alpha), (_ci_text((d.metrics.get("krippendorff_alpha") or {}).get("interval"))
                                           + "≥ 0.8 reliable, ≥ 0.667 tentative"),
         "" if alpha is None else "good" if alpha >= 0.8 else "warn" if alpha >= 0.667 else "bad"),
        ("Percent agreement", _pct(pa), "pairs of annotators agreeing", ""),
        ("Gold accuracy", _pct(held.get("accuracy"), 1),
         f"consensus on {held.get('n', 0)} held-out gold units" + (" (span F1)" if d.spans else ""),
         "" if held.get("accuracy") is None else "good" if held["accuracy"] >= 0.9 else "warn"),
        ("Flagged", f"{flagged}", f"{_pct(flagged / len(d.unit_stats) if len(d.unit_stats) else None)} of units "
                                 "need review", "warn" if flagged else "good"),
    ]
    return '<div class="kpis">' + "".join(
        f'<div class="kpi {cls}"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="s">{escape(s)}</div></div>' for k, v, s, cls in cards) + "</div>"


def _ci_text(pair: Any) -> str:
    return f"95% interval {pair[0]:.3f} to {pair[1]:.3f}; " if pair and None not in pair else ""


def _table(columns: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="n">{v}</td>' if i in numeric else f"<td>{v}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _disputed(d, colours) -> str:
    if not d.disputed:
        return "<p>No unit with two or more annotations yet.</p>"
    out = []
    for u in d.disputed:
        flags = "".join(f'<span class="flag" title="{escape(REVIEW_REASONS.get(r, r))}">{escape(r)}</span>'
                        for r in u.reasons)
        ctx = f'<p class="ctx">Context: {escape(u.context)}</p>' if u.context else ""
        if u.gold is None:
            verdict = ""
        elif u.gold == u.consensus:
            verdict = ' <span class="ok">✓ matches</span>'
        else:
            verdict = ' <span class="miss">✗ differs</span>'
        if d.spans:  # one line of highlighted text per vote: spans need their context to be read
            rows = [(escape(who), show_label(label, colours, u.text)) for who, label in u.votes]
            rows.append(("<b>consensus</b>", show_label(u.consensus, colours, u.text)))
            if u.gold is not None:
                rows.append(("<b>gold</b>", show_label(u.gold, colours, u.text) + verdict))
            body = ctx + '<table class="votes">' + "".join(
                f'<tr><td class="who">{who}</td><td>{what}</td></tr>' for who, what in rows) + "</table>"
        else:
            votes = " ".join(f'<span><span class="who">{escape(who)}</span> {show_label(label, colours)}</span>'
                             for who, label in u.votes)
            result = f'<span><b>consensus</b> {show_label(u.consensus, colours)}</span>'
            if u.gold is not None:
                result += f'<span><b>gold</b> {show_label(u.gold, colours)}{verdict}</span>'
            body = (f'<p class="text">{escape(u.text)}</p>{ctx}<div class="row">{votes}</div>'
                    f'<div class="row">{result}</div>')
        out.append(
            f'<div class="unit"><div class="head"><span>{escape(u.document)}</span><code>{escape(u.unit_id)}</code>'
            f"<span>agreement {_pct(u.agreement)}</span><span>confidence {_pct(u.confidence)}</span>{flags}</div>"
            f"{body}</div>")
    return "".join(out)


def _gating(d) -> str:
    """The annotators section's gating part: exclusions with their reasons, suspect gold, exposure."""
    lines = getattr(d, "gating", None) or []
    if not lines:
        return ""
    return "<h3>Gating</h3><ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"


def _models(d) -> str:
    """The model sources that voted in the aggregation (the campaign's ``[models]``), apart from annotators."""
    m = d.aggregate.get("models")
    if not m:
        return ""
    rows = [[escape(s["source"]), escape(s["origin"]), s["units"],
             escape(f"{s['estimate']['measure']} {s['estimate']['value']:.3f}") if s.get("estimate") else "n/a",
             _pct((s.get("accuracy_honeypots") or {}).get("accuracy"), 1), _pct(s.get("agrees_with_consensus"), 1)]
            for s in m["sources"]]
    return (f"""<h3>Model sources</h3><p class="how">Models that voted as annotators of their own (not counted above):
{_pct(m.get("vote_share"), 1)} of the votes; {m["changed"]} unit(s) would have another label without them.</p>"""
            + _table(["source", "from", "units voted", "method's estimate", "honeypot accuracy",
                      "agrees with consensus"], rows, {2, 4, 5}))


def _review(d) -> str:
    """The review rounds: what went to review, what was overturned, the effect on held-out gold, and
    per annotator how often the review overturned their vote."""
    r = d.review
    if not r:
        return ""
    before, after = r.get("held_out_before") or {}, r.get("held_out_after") or {}
    held = (f"<p>On {before['n']} held-out gold units (never a reason for review) the consensus was right "
            f"{_pct(before.get('accuracy'), 1)} of the time; with the verdicts, {_pct(after.get('accuracy'), 1)} "
            f"({r.get('held_out_reviewed', 0)} of them were reviewed).</p>") if before.get("n") else ""
    ra = r.get("reviewer_agreement") or {}
    agree = (f"<p>Reviewer agreement: {_pct(ra.get('agreement'), 1)} of reviewer pairs agreed, on {ra['units']} "
             "units with two or more verdicts.</p>" if ra.get("units") else
             "<p>Reviewer agreement is not measured: no unit had two reviewers.</p>")
    reasons = ", ".join(f"{escape(k.replace('_', ' '))} {v}" for k, v in (r.get("reasons") or {}).items()) or "n/a"
    rows = [[escape(a), v["reviewed"], v["overturned"], _pct(v["overturned"] / v["reviewed"], 1) if v["reviewed"]
             else "n/a"] for a, v in sorted((r.get("per_annotator") or {}).items())]
    return f"""<section id="review"><h2>Review</h2>
<p class="how">{r['sent']} units went to review in {r['rounds']} round(s) (why: {reasons}); {r['reviewed']} have a
verdict ({r['pending']} waiting), and the verdict overturned the consensus on {r['overturned']}. A verdict replaces
the consensus in the export (<code>label_source</code> = review). Reviewers are not annotators: their verdicts are
not in the agreement or quality figures above.</p>
{held}{agree}
<h3>How often the review overturned each annotator</h3>
{_table(["annotator", "votes on reviewed units", "overturned", "share"], rows, {1, 2, 3})}</section>"""


def render(d, figures: dict[str, tuple[str, str]]) -> str:
    colours = label_colours(d.kind, d.labels)
    p = d.progress
    sections = SECTIONS + ([("review", "Review")] if d.review else []) + ([("evaluations", "Model evaluation")] if d.evaluations else [])
    nav = "".join(f'<a href="#{k}">{escape(v)}</a>' for k, v in sections)
    evaluations = (f"""<section id="evaluations"><h2>Model evaluation</h2>
<p class="how">The last evaluation of each model (<code>workbench evaluate</code>): its predictions against the
consensus and against the gold labels. Brackets: bootstrap 95% intervals (units resampled with replacement).
ECE: expected calibration error of the model's scores.</p>
{_evaluations(d)}</section>
""" if d.evaluations else "")
    check_items = "".join(f"<li>{c}</li>" for c in checks(d)) or "<li>Nothing stands out.</li>"
    metric_rows = [[escape(m), _num(v["value"]), _ci(v.get("interval")), escape(v["note"] or "")]
                   for m, v in d.metrics.items()]
    ann_rows = [[escape(a["annotator"]), escape(a["kind"]), a["labels"], a["gold_n"],
                 _pct(a["gold_accuracy"], 1) + _ci(a.get("gold_accuracy_ci"), pct=True),
                 _pct(a["consensus_agreement"], 1), "".join(f'<span class="flag">{escape(f)}</span>' for f in a["flags"])]
                for a in d.annotators]
    step_rows = [[escape(s["step"]), '<span class="ok">done</span>' if s["done"] else "not yet",
                  escape(s["finished_at"] or "")] for s in p["steps"]]
    notes = "".join(f"<li>{escape(n)}</li>" for n in d.aggregate.get("notes") or [])
    gold_part = (_figure(figures, "confusion", "Rows: the gold label; columns: what the consensus said. "
                                               "The diagonal is agreement with gold.", 1.0)
                 if "confusion" in figures else "<p>No unit has a gold label, so the consensus cannot be checked.</p>")
    labels = " ".join(chip(x, colours) for x in d.labels)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>{escape(d.campaign)}: campaign report</title><style>{CSS}</style></head>
<body>
<header class="top"><h1>{escape(d.campaign)}</h1>
<p>{escape(d.description or d.task_description)}</p>
<p class="meta">task type <b>{escape(d.task_type)}</b> · backend <b>{escape(d.backend)}</b> ·
aggregation <b>{escape(str(d.aggregate.get("method", "n/a")))}</b> · state as of {escape(d.as_of or "n/a")}</p></header>
<nav>{nav}</nav>
<main>
<section id="overview"><h2>Overview</h2>
<p class="how">{escape(d.instructions)} Labels: {labels}</p>
{_kpis(d)}
<h3>Worth a look</h3><ul class="checks">{check_items}</ul></section>

<section id="progress"><h2>Progress</h2>
<p class="how">{p['complete']} of {p['units']} units have all their annotations; {p['started']} have at least one.
{p['quarantined']} annotations were quarantined as invalid.</p>
<div class="grid2">{_figure(figures, "progress", "Per annotator: labeled, skipped, quarantined and still to do.")}
<div>{_table(["step", "status", "finished"], step_rows)}</div></div></section>

<section id="labels"><h2>Labels</h2>
<p class="how">How often the consensus uses each label, next to how often annotators chose it. A label far more
common in the votes than in the consensus is one annotators reach for when unsure.</p>
{_figure(figures, "labels", "Solid: consensus; pale: all votes. Numbers are counts" + ("; (none): units with no span." if d.spans else "."))}</section>

<section id="annotators"><h2>Annotators</h2>
<p class="how">Accuracy on honeypots (gold units mixed into every queue) and agreement with the consensus. Both low:
a careless or adversarial annotator. Accuracy high but agreement low: the crowd may be the one that is wrong.</p>
{_figure(figures, "annotators", "Sorted by honeypot accuracy.")}
{_table(["annotator", "kind", "labels", "honeypots", "honeypot accuracy", "agrees with consensus", "flags"], ann_rows,
        {2, 3, 4, 5})}{_models(d)}
{_gating(d)}</section>

<section id="pairwise"><h2>Pairwise agreement</h2>
<p class="how">{escape(d.pairwise.measure[0].upper() + d.pairwise.measure[1:])} for every pair of annotators on the units both labeled
({escape(d.pairwise.source)}). A row that is pale or red everywhere belongs to an annotator who agrees with no one.</p>
{_figure(figures, "pairwise", "Each cell: the value and the number of shared units; – where fewer than two.", 1.0)}
<h3>All agreement measures</h3>
<p class="how">Intervals: bootstrap 95% intervals (units resampled with replacement 1000 times).</p>
{_table(["metric", "value", "95% interval", "note"], metric_rows, {1, 2})}</section>

<section id="gold"><h2>Consensus vs gold</h2>
<p class="how">Every unit with a hand-written gold label, honeypots and held-out units alike.</p>
{gold_part}</section>

<section id="confidence"><h2>Confidence</h2>
<p class="how">How sure the aggregation is of each unit's label, and how much its annotators agreed. Orange units are
flagged for review.</p>
{_figure(figures, "confidence", "Left: consensus confidence; right: per-unit share of agreeing annotator pairs.")}
<ul>{notes}</ul></section>

<section id="disputed"><h2>Most disputed units</h2>
<p class="how">The units with the lowest agreement, with every vote. These are where guidelines are unclear or units
are genuinely ambiguous.</p>
{_disputed(d, colours)}</section>
{_review(d)}
{evaluations}</main>
<footer>Made by <code>workbench report</code> from the campaign's stored state; open offline, nothing is fetched.</footer>
</body></html>
"""

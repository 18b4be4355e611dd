"""The data card: a ``README.md`` in the export folder saying what the dataset is and how far to trust it.

Rendered from the facts :mod:`workbench.export.facts` gathers, so it is as reproducible as the
records: the same state gives the same card, byte for byte. Text that comes from users and plugins
(descriptions, document titles and sources, instructions) is escaped, so HTML and Markdown in it
are shown, never run. A marker line says which campaign wrote the card: an export replaces only
its own card, never a README.md someone else put in the folder (unless told to with ``--force``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..gating import card_lines
from .records import REVIEW_REASONS

MARKER = "<!-- workbench data card: campaign {name}; each export rewrites this file -->"


class Md(str):
    """Markdown the card builds itself (links, code spans, emphasis): written as is."""


def md_text(value: Any, block: bool = False) -> str:
    """Text from users or plugins as literal Markdown: no HTML tag or entity can start (``<`` and an
    entity's ``&`` are escaped), emphasis, code, links and table pipes are backslash-escaped, and a
    line cannot start a heading, quote or list. Plain text (``confidence >= 0.5``, ``snake_case``)
    stays as it reads. ``block``: the text starts a line of the card (a paragraph of its own)."""
    text = re.sub(r"&(?=#?\w+;)", "&amp;", str(value)).replace("<", "&lt;")
    text = re.sub(r"([\\`*\[\]|~])", r"\\\1", text)
    text = re.sub(r"(?<!\w)_|_(?!\w)", r"\\_", text)  # intraword underscores are not emphasis
    start = "^" if block else r"(?<=\n)"  # an inline fragment starts mid-line: only its later lines can
    text = re.sub(rf"(?m){start}(\s*)([#>+=-])", r"\1\\\2", text)
    return re.sub(rf"(?m){start}(\s*)(\d+)([.)])", r"\1\2\\\3", text)


def code(value: Any) -> Md:
    """A code span that holds any text (a backtick inside gets a longer fence)."""
    text = str(value).replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return Md(f"{fence}{pad}{text}{pad}{fence}")


def is_own_card(text: str, campaign: str) -> bool:
    """Did an export of ``campaign`` write this README.md (the marker, or 0.1's front matter)?"""
    if MARKER.format(name=campaign) in text:
        return True
    head = text.split("\n---\n", 1)[0] if text.startswith("---\n") else ""
    return f"\npretty_name: {campaign}\n" in head + "\n" and "\n- workbench\n" in head + "\n"

#: what each record field means (the card's field table; docs/export.md is checked against it)
FIELD_DOCS = {
    "unit_id": "stable id of the unit (task type + document hash + offsets)",
    "split": "train, dev or test (whole documents per split); null when no split was asked for",
    "text": "the unit's text (one sentence by default)",
    "context": "neighbouring sentences of the same paragraph, as annotators saw them (may be null)",
    "document_id": "the source document's id (its file name without extension)",
    "document_title": "the document's title",
    "document_source": "where the document came from",
    "start": "character offset of the unit in the document",
    "end": "end offset (exclusive) of the unit in the document",
    "label": "the unit's label (see `label_source`): the consensus, unless a reviewer or gold decided it "
             "(spans: `{start, end, label}` with offsets in the unit's text)",
    "label_source": "where `label` came from: `review` (a reviewer's verdict, which overrides the rest), `gold` "
                    "(a honeypot's hand-written gold label) or `consensus` (the aggregation)",
    "reviewed_by": "pseudonymous ids of the reviewers who gave a verdict on the unit (empty when not reviewed)",
    "confidence": "how sure the aggregation method is of the consensus (vote share or posterior)",
    "agreement": "share of annotator pairs who gave this unit the same label (null with one annotation)",
    "n_annotations": "number of counted annotations of the unit",
    "votes": "every counted vote of a person or simulated annotator: `{annotator, label}`, annotators under "
             "pseudonymous ids",
    "model_votes": "the votes of model sources (the campaign's `[models]`), kept apart from people's: "
                   "`{model, label, score}` (score null when the model gave none); empty without models",
    "tie": "the top labels were tied and the tie rule picked the consensus",
    "review": "true when the unit is flagged for review (see `review_reasons`) and no reviewer has judged it yet",
    "review_reasons": "why it is flagged: " + ", ".join(f"`{k}`" for k in REVIEW_REASONS),
    "is_gold": "the unit is a honeypot: a gold unit mixed blind into the annotators' queues to score them",
    "gold_label": "the hand-written gold label, where the unit has one",
    "method": "the aggregation method",
    "task_type": "the task type (plugin) that defined the label schema",
    "campaign": "the campaign's name",
    "plugin": "the plugin that provided the task type",
    "plugin_version": "its version",
    "exported_at": "time of the exported state (its newest annotation), not of the export run: "
                   "exporting the same state again gives identical files",
}

KRIPPENDORFF_TENTATIVE = 0.667


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, Md):
        return value.replace("|", "\\|").replace("\n", " ")
    return md_text(value).replace("\n", " ")


def with_interval(value: float | None, interval: list | None) -> Any:
    """``0.512 [0.448, 0.571]``: a figure and its bootstrap 95% interval (the figure alone without one)."""
    if value is None or not interval:
        return value
    return Md(f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]")


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 document``, ``2 documents``, ``1 person``, ``3 people``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def limitations(f: dict[str, Any]) -> list[str]:
    out = []
    simulated = [a for a in f["annotators"] if a["kind"].startswith("simulated") and a["labels"]]
    if simulated and len(simulated) == len([a for a in f["annotators"] if a["labels"]]):
        out.append("Every label comes from **simulated annotators** (seeded personas), not from people: this is "
                   "a dry run of the pipeline. A simulated annotator answers around a reference label (the gold "
                   "label where one exists, else the plugin's pre-label), so agreement and accuracy here describe "
                   "the simulation, not how hard the task is for people.")
    elif simulated:
        out.append(f"{len(simulated)} of the annotators are simulated (seeded personas), not people.")
    held = (f["aggregate"].get("accuracy_held_out_gold") or {})
    if held.get("n"):
        out.append(f"On {held['n']} held-out gold units the consensus matched gold {_pct(held.get('accuracy'))} "
                   "of the time: expect label errors at about that rate.")
    elif not f["plan"].get("gold_units"):
        out.append("There are no gold labels, so the accuracy of the consensus is unknown.")
    alpha_entry = f["metrics_all"].get("krippendorff_alpha") or {}
    alpha, alpha_ci = alpha_entry.get("value"), alpha_entry.get("interval")
    if alpha is not None and alpha < KRIPPENDORFF_TENTATIVE:
        ci = f" (95% interval {alpha_ci[0]:.3f} to {alpha_ci[1]:.3f})" if alpha_ci else ""
        out.append(f"Krippendorff's alpha is {alpha:.3f}{ci}, below {KRIPPENDORFF_TENTATIVE}, the lowest value "
                   "Krippendorff advises even for tentative conclusions: annotators often disagreed.")
    if f["flagged"] and not f["settings"]["drop_flagged"]:
        out.append(f"{f['flagged']} exported units are flagged for review (`review` is true); drop them with "
                   "`--drop-flagged` for a cleaner, smaller set.")
    n_docs = len([d for d in f["documents"] if d["units"]])
    if f["settings"]["split"] and n_docs < 20:
        out.append(f"Only {plural(n_docs, 'document')}: splits keep whole documents together, so dev and test hold few "
                   "articles and scores on them are noisy.")
    models = (f["aggregate"] or {}).get("models")
    if models and models.get("changed"):
        out.append(f"{plural(models['changed'], 'unit')} owe their label to model votes (see Model sources): "
                   "those labels are as good as the models' answers where people were split.")
    if f["spans"]:
        out.append("Span consensus needs annotators to agree on exact offsets; a span placed one character "
                   "differently counts as a different span.")
    if f["people"] and f["backend"] != "local" and f["plan"].get("prelabeled") and f.get("show_prelabels"):
        out.append("People saw the plugin's pre-labels as suggestions (`show_prelabels = true`); their labels may "
                   "lean toward them.")
    out += [note[0].upper() + note[1:] + "." for note in f["split_notes"]]
    return out


def render_card(f: dict[str, Any]) -> str:
    n, agg = f["exported"], f["aggregate"]
    lines = [
        "---",
        f"pretty_name: {f['campaign']}",
        "task_categories:",
        f"- {'token-classification' if f['spans'] else 'text-classification'}",
        "size_categories:",
        f"- {_size_category(n)}",
        "tags:",
        "- workbench",
        "- crowdsourced",
        "---",
        MARKER.format(name=f["campaign"]),
        "",
        f"# {f['campaign']}",
        "",
    ]
    if f["description"]:
        lines += [md_text(f["description"], block=True), ""]
    pool = f"{f['simulated']} simulated" + (f" and {plural(f['people'], 'person', 'people')}" if f["people"] else "")
    n_docs = len([d for d in f["documents"] if d["units"]])
    lines += [
        f"{plural(n, 'unit')} from {plural(n_docs, 'document')}, each labeled by "
        f"{_per_unit(f)} annotators from a pool of {len(f['annotators'])} ({pool}), aggregated by "
        f"{code(agg.get('method', 'n/a'))}. State as of {f['as_of'] or 'n/a'}.",
        "",
        "## What was labeled",
        "",
        f"- Task type: {code(f['task_type'])} from plugin {code(f['plugin'])} {md_text(f['plugin_version'] or '')}: "
        f"{md_text(f['task_description'])}",
        *(["- Task options (the campaign's `[task]` table): " + "; ".join(
            f"{code(k)} = {code(json.dumps(v, ensure_ascii=False))}" for k, v in f["task_options"].items())]
          if f.get("task_options") else []),
        f"- Question shown to annotators: {md_text(f['instructions']) if f['instructions'] else 'n/a'}",
        f"- Label kind: {f['kind']}; labels: " + ", ".join(code(x) for x in f["labels"]),
        "- Units: one sentence each, shown with its neighbouring sentences; `start`/`end` are character "
        "offsets in the document" + ("; span offsets are relative to the unit's text" if f["spans"] else "") + ".",
        "",
        *_table(["document", "title", "source", "units exported"],
                [[d["id"], d["title"], d["source"], d["units"]] for d in f["documents"]]),
        "## How it was labeled",
        "",
        f"- Backend: {code(f['backend'])}; " + (
            f"every unit went to {f['overlap']} distinct annotators." if not f.get("redundancy") else
            f"adaptive redundancy (the campaign's `[redundancy]` table): {md_text(f['redundancy']['policy'])}."),
        *_redundancy(f),
        f"- Gold: {f['plan'].get('gold_units', 0)} units have a hand-written gold label; "
        f"{f['plan'].get('honeypots', 0)} of them were honeypots, mixed unmarked into the queues "
        + ("with the same overlap as any unit" if not f.get("redundancy") else
           "and given more annotators by the same rule as any unit (judged with the gold withheld)")
        + f" (gold rate {f['gold_rate']:g}).",
        f"- Pre-labels: the plugin pre-labeled {f['plan'].get('prelabeled', 0)} units"
        + ("" if not f["people"] else "; people saw them as suggestions" if f.get("show_prelabels")
           else "; people did not see them (their labels are blind to the model)") + ".",
        f"- Aggregation: {code(agg.get('method', 'n/a'))}; {agg.get('ties', 0)} ties"
        + (f"; model sources voted too: {', '.join(code(s['source']) for s in agg['models']['sources'])} "
           "(see Model sources)" if agg.get("models") else "") + ".",
    ]
    lines += [f"  - {md_text(note)}" for note in agg.get("notes") or []]
    held = agg.get("accuracy_held_out_gold") or {}
    if held.get("n"):
        lines.append(f"- Consensus accuracy on {held['n']} held-out gold units (not honeypots): "
                     f"{_pct(held.get('accuracy'))}" + (" (span micro-F1)" if f["spans"] else "") + ".")
    lines += _models(f)
    lines += ["", "## Annotator pool", "",
              "Annotators appear under pseudonymous ids (a keyed hash; names and emails are never exported).", ""]
    reviewed = bool(f.get("review_round"))
    lines += _table(["annotator", "kind", "labels counted", "kept, not counted", "labels exported", "honeypots",
                     "honeypot accuracy", "agrees with consensus", *(["overturned by review"] if reviewed else [])],
                    [[a["annotator"], a["kind"], a["labels"], a.get("not_counted", "0"), a["labels_exported"],
                      a["gold_n"], with_interval(a["gold_accuracy"], a.get("gold_accuracy_ci")),
                      a["consensus_agreement"], *([overturned_cell(a.get("review"))] if reviewed else [])] for a in f["annotators"]])
    if any(a.get("gold_accuracy_ci") for a in f["annotators"]):
        lines += ["Honeypot accuracy is followed by its bootstrap 95% interval (the honeypots resampled 1000 times): "
                  "with few honeypots per annotator it is wide.", ""]
    lines += card_lines(f.get("gating"))
    lines += ["## Agreement", ""]
    lines += _table(["metric", "all units", "exported units", "note"], [
        [m, with_interval(v["value"], v.get("interval")), (f["metrics_exported"].get(m) or {}).get("value"),
         v["note"] or ""]
        for m, v in f["metrics_all"].items()])
    if any(v.get("interval") for v in f["metrics_all"].values()):
        lines += ["Brackets: bootstrap 95% intervals (units resampled with replacement 1000 times, seeded by the "
                  "campaign's seed): how far the figure could move with another sample of units like these.", ""]
    lines += _history(f)
    lines += _review(f)
    sources = f.get("label_sources") or {}
    lines += ["## Curation", "", f"{f['aggregated']} aggregated units; {n} exported. Where the exported labels "
              "came from (`label_source`): " + ", ".join(f"{code(k)} {v}" for k, v in sources.items()) + "."]
    if f["filters"]:
        lines += ["", *_table(["filter", "units removed"], [[x["filter"], x["removed"]] for x in f["filters"]])]
    else:
        lines += ["", "No filter was applied.", ""]
    lines += ["A unit is **flagged for review** when any of these holds (counts in this export):", ""]
    lines += [f"- {code(k)}: {md_text(why)} ({f['review'][k]})" for k, why in REVIEW_REASONS.items()]
    lines += [""]
    lines += _splits(f)
    lines += ["## Files", ""]
    lines += _table(["file", "format", "bytes", "sha256"],
                    [[x["name"], x["format"], x["bytes"], x["sha256"]] for x in f["files"]])
    lines += _loading(f)
    lines += ["## Record fields", ""]
    lines += _table(["field", "meaning"], [[code(k), Md(v)] for k, v in FIELD_DOCS.items()])
    lines += ["## Known limitations", ""]
    lines += [f"- {x}" for x in limitations(f)] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _acc(x: dict | None) -> str:
    return "n/a" if not x or not x.get("n") else f"{_pct(x.get('accuracy'))} of {x['n']}"


def _models(f: dict[str, Any]) -> list[str]:
    """The model sources that voted in the aggregation, and how much of the consensus came from them."""
    m = (f["aggregate"] or {}).get("models")
    if not m:
        return []
    agg = f["aggregate"]
    out = ["", "## Model sources", "",
           "Models voted in the aggregation as annotators of their own (the campaign's `[models]`). A method that "
           "estimates each annotator's confusion (Dawid-Skene, one-coin, MACE, weighted majority) weighs a model "
           "by what it learned of it; majority vote counts a model as one vote. Models voted only on units people "
           "labeled, and they are never counted as annotators: the pool, agreement and honeypot figures below are "
           "people's (and simulated annotators') alone; each record keeps model votes apart (`model_votes`).", ""]
    out += _table(["source", "from", "units voted", "method's estimate", "agrees with consensus",
                   "honeypot accuracy", "held-out gold accuracy"],
                  [[s["source"], s["origin"], s["units"],
                    None if not s.get("estimate") else f"{s['estimate']['measure']} {s['estimate']['value']:.3f}",
                    s.get("agrees_with_consensus"), _acc(s.get("accuracy_honeypots")),
                    _acc(s.get("accuracy_held_out_gold"))] for s in m["sources"]])
    out += [f"- {md_text(note)}" for note in m.get("notes") or []] + ([""] if m.get("notes") else [])
    held, without = agg.get("accuracy_held_out_gold") or {}, m.get("accuracy_held_out_gold_without_models") or {}
    out += [f"Model votes were {_pct(m.get('vote_share'))} of the {m['model_votes'] + agg.get('annotations', 0)} "
            f"votes counted; {m['units_with_model_vote']} of {agg.get('units', 0)} units had a model's vote. "
            f"**{plural(m['changed'], 'unit')}** would have another consensus label without the models (the same "
            f"method on people's labels alone)"
            + (f"; on the held-out gold the consensus scores {_pct(held.get('accuracy'))} with the models and "
               f"{_pct(without.get('accuracy'))} without" if held.get("n") and without.get("n") else "") + ".", ""]
    out += ["Share of each consensus label that came from the models: of the units with that label, those whose "
            "label would differ without the model votes.", ""]
    out += _table(["label", "units", "with a model vote", "label due to models", "share"],
                  [[code(label), r["units"], r["model_voted"], r["changed"], _pct(r["changed_share"])]
                   for label, r in m["by_label"].items()])
    return out[:-1]  # the caller adds the blank line


def _per_unit(f: dict[str, Any]) -> str:
    """How many annotators each unit had: the overlap, or the range under adaptive redundancy."""
    r = f.get("redundancy")
    if not r or not r.get("units_by_annotators"):
        return str(f["overlap"])
    counts = [int(k) for k in r["units_by_annotators"]]
    return str(counts[0]) if len(counts) == 1 else f"{min(counts)} to {max(counts)} (mean {r['mean_annotators']:g})"


def _redundancy(f: dict[str, Any]) -> list[str]:
    """The adaptive rounds: annotations spent, units per number of annotators, why units stopped."""
    r = f.get("redundancy")
    if not r:
        return []
    out = [f"  - {plural(r['adaptive_rounds'], 'adaptive round')} after the first; {r['spent']} annotations "
           f"spent (places handed out, every round), {r['answered']} answered"
           + (f"; budget {r['budget']}" if r.get("budget") is not None else "") + ".",
           "  - Units per number of annotators: " + ", ".join(
               f"{n}: {plural(k, 'unit')}" for n, k in r["units_by_annotators"].items()) + "."]
    settled = r.get("settled") or {}
    if r.get("checked"):
        out.append("  - At the last check: " + ", ".join(
            f"{n} reached the target" if why == "target" else f"{n} stopped at {why}" if why == "max" else
            f"{n} stopped: {why}" for why, n in settled.items() if n) + (
            f"; {r['waiting']} waiting for {r['open_places']} answer(s)" if r.get("waiting") else "") + ".")
    return out


def overturned_cell(row: dict[str, int] | None) -> str:
    """``2 of 9 (22.2%)``: an annotator's votes on reviewed units that the verdict differs from."""
    if not row or not row.get("reviewed"):
        return "0 of 0"
    return f"{row['overturned']} of {row['reviewed']} ({_pct(row['overturned'] / row['reviewed'])})"


def _review(f: dict[str, Any]) -> list[str]:
    """The review rounds: what was sent, what the reviewers overturned, and the effect on held-out gold."""
    r = f.get("review_round")
    if not r:
        return []
    out = ["## Review", "",
           f"{plural(r['sent'], 'unit')} went to review in {plural(r['rounds'], 'round')} (why: "
           + (", ".join(f"{code(k)} {v}" for k, v in r["reasons"].items()) or "n/a") + "); "
           f"{r['reviewed']} have a verdict ({r['pending']} still waiting), and the verdict overturned the "
           f"consensus on {r['overturned']}. A verdict replaces the consensus in `label` (`label_source` is "
           f"`review`, `reviewed_by` names the reviewers under pseudonyms); {r['exported_reviewed']} exported "
           "records carry one. Reviewers' verdicts are not annotators' labels: agreement and annotator quality "
           "above leave them out.", ""]
    before, after = r.get("held_out_before") or {}, r.get("held_out_after") or {}
    if before.get("n"):
        out += [f"- Accuracy on {before['n']} held-out gold units (never a reason for review): consensus "
                f"{_pct(before.get('accuracy'))}, after review {_pct(after.get('accuracy'))} "
                f"({r['held_out_reviewed']} of them were reviewed)."]
    ra = r.get("reviewer_agreement") or {}
    if ra.get("units"):
        out += [f"- Reviewer agreement: on {plural(ra['units'], 'unit')} with two or more verdicts, "
                f"{_pct(ra.get('agreement'))} of reviewer pairs gave the same label."]
    else:
        out += ["- Reviewer agreement: not measured (no unit had two reviewers; `review.per_unit = 2` measures it)."]
    if f["annotators"] and any(a.get("review") for a in f["annotators"]):
        out += ["- Per annotator, how often the review overturned their vote: the **overturned by review** "
                "column of the annotator table."]
    return out + [""]


def _history(f: dict[str, Any]) -> list[str]:
    """The spec's versions and the rounds of work, when the campaign had more than one of either."""
    versions, rounds = f.get("versions") or [], f.get("rounds") or []
    if len(versions) <= 1 and len(rounds) <= 1:
        return []
    out = ["## Campaign history", ""]
    if len(versions) > 1:
        out += ["The campaign's spec changed while it ran (each version is kept in the store):", ""]
        out += _table(["version", "recorded", "changes"],
                      [[v["version"], v["recorded_at"], "; ".join(v["changes"]) or "(none)"] for v in versions])
    if len(rounds) > 1:
        out += ["Work was handed out in rounds (assignments still planned, and answered):", ""]
        out += _table(["round", "kind", "why", "spec version", "units", "assignments", "answered"],
                      [[r["round"], r["kind"], r["reason"], r["spec_version"], r["units"], r["assignments"],
                        r["answered"]] for r in rounds])
    return out


def _splits(f: dict[str, Any]) -> list[str]:
    s = f["settings"]
    out = ["## Splits", ""]
    if s["split"]:
        ratios = ", ".join(f"{k} {v:g}" for k, v in s["split"].items())
        out += [f"Ratios {ratios}; seed {s['split_seed']}. Whole documents go to one split (no article is in "
                "two), and documents are placed to keep each label's share close to the ratios.", ""]
    else:
        out += ["No split was asked for (`split` is null): every record is in one set.", ""]
    names = list(f["splits"])
    labels = sorted({label for v in f["splits"].values() for label in v["labels"]})
    rows = [["documents", *[f["splits"][x]["documents"] for x in names]],
            ["units", *[f["splits"][x]["units"] for x in names]]]
    rows += [[code(label), *[f["splits"][x]["labels"].get(label, 0) for x in names]] for label in labels]
    out += _table(["", *names], rows)
    if f["spans"]:
        out += ["Label rows count spans; `(none)` counts units with no span.", ""]
    return out


def _loading(f: dict[str, Any]) -> list[str]:
    names = {x["format"]: x["name"] for x in f["files"]}
    split = bool(f["settings"]["split"])
    imports, code = [], []
    if "parquet" in names or "jsonl" in names:
        imports.append("import pandas as pd")
        code.append(f"df = pd.read_parquet({names['parquet']!r})" if "parquet" in names
                    else f"df = pd.read_json({names['jsonl']!r}, lines=True)")
        if split:
            code.append("train = df[df['split'] == 'train']")
    if "hf" in names:
        imports.append("from datasets import load_from_disk")
        code.append(f"ds = load_from_disk({names['hf']!r})" + ("  # a DatasetDict: ds['train'], ..." if split else ""))
    if "spacy" in names:
        imports.append("import srsly  # spaCy's JSONL reader")
        code.append(f"examples = list(srsly.read_jsonl({names['spacy']!r}))")
    if not code:
        imports.append("import csv")
        code.append(f"rows = list(csv.DictReader(open({next(iter(names.values()))!r}, encoding='utf-8')))")
    return ["How to load:", "", "```python", *imports, "", *code, "```", ""]

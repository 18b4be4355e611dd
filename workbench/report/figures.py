"""The report's figures, drawn with matplotlib and returned as SVG text (embedded, no network).

Colours: the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies) for
labels, a diverging red-grey-blue for ordinal scales, and one colour per meaning throughout.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ..models import LabelKind

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
NONE_COLOUR = "#9CA3AF"
INK, MUTED, GRID = "#1F2937", "#6B7280", "#E5E7EB"
GOOD, WARN, BAD, PENDING = "#009E73", "#E69F00", "#D55E00", "#E5E7EB"

STYLE = {
    "font.family": "DejaVu Sans", "font.size": 10, "axes.edgecolor": GRID, "axes.labelcolor": INK,
    "axes.titlesize": 11, "axes.titleweight": "bold", "axes.titlecolor": INK, "axes.titlelocation": "left",
    "axes.spines.top": False, "axes.spines.right": False, "xtick.color": MUTED, "ytick.color": INK,
    "axes.grid": False, "grid.color": GRID, "legend.frameon": False, "svg.hashsalt": "workbench-report",
    "svg.fonttype": "path", "figure.dpi": 100,
}


def label_colours(kind: LabelKind, labels: tuple[str, ...]) -> dict[str, str]:
    """One colour per label; ordinal scales run red -> grey -> blue; ``(none)`` and friends are grey."""
    if kind is LabelKind.ORDINAL and len(labels) >= 2:
        from matplotlib.colors import LinearSegmentedColormap, to_hex

        cmap = LinearSegmentedColormap.from_list("ordinal", [OKABE_ITO[5], "#9CA3AF", OKABE_ITO[0]])
        colours = {x: to_hex(cmap(i / (len(labels) - 1))) for i, x in enumerate(labels)}
    else:
        colours = {x: OKABE_ITO[i % len(OKABE_ITO)] for i, x in enumerate(labels)}
    return colours


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def draw_all(data, progress=None) -> dict[str, tuple[str, str]]:
    """``{key: (svg, alt text)}`` for every figure the data supports."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    makers = [("progress", progress_figure), ("labels", labels_figure), ("annotators", annotators_figure),
              ("pairwise", pairwise_figure), ("confusion", confusion_figure), ("confidence", confidence_figure)]
    advance = progress(f"{data.campaign}: figures", len(makers)) if progress else (lambda n=1: None)
    out = {}
    with plt.rc_context(STYLE):
        for key, make in makers:
            made = make(data)
            if made is not None:
                out[key] = made
            advance(1)
    return out


def progress_figure(data) -> tuple[str, str] | None:
    rows = data.progress["annotators"]
    if not rows:
        return None
    names = [r["annotator"] for r in rows][::-1]
    done = np.array([r["done"] for r in rows][::-1])
    skipped = np.array([r["skipped"] for r in rows][::-1])
    invalid = np.array([r["invalid"] for r in rows][::-1])
    left = np.maximum(np.array([r["assigned"] for r in rows][::-1]) - done - skipped - invalid, 0)
    fig, ax = _figure(5.6, 0.36 * len(rows) + 1.3)
    y = np.arange(len(rows))
    base = np.zeros(len(rows))
    for values, colour, name in ((done, GOOD, "labeled"), (skipped, WARN, "skipped"), (invalid, BAD, "quarantined"),
                                 (left, PENDING, "still to do")):
        ax.barh(y, values, left=base, color=colour, height=0.62, label=name)
        base = base + values
    for i, (d, total) in enumerate(zip(done, base)):
        ax.text(total + max(base.max(), 1) * 0.01, i, f"{d}/{int(total)}", va="center", color=MUTED, fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlim(0, max(base.max(), 1) * 1.12)
    ax.set_xlabel("units assigned")
    ax.set_title("Work done per annotator")
    fig.legend(ncols=4, loc="outside lower left", fontsize=9)
    alt = "; ".join(f"{r['annotator']}: {r['done']} of {r['assigned']} labeled" for r in rows)
    return _svg(fig), alt


def labels_figure(data) -> tuple[str, str] | None:
    counts: pd.DataFrame = data.label_counts
    if counts.empty or counts.values.sum() == 0:
        return None
    colours = label_colours(data.kind, data.labels)
    order = list(counts.index)[::-1]
    share = counts / counts.sum().replace(0, 1)
    fig, ax = _figure(7.5, 0.55 * len(order) + 1.4)
    y = np.arange(len(order))
    for i, label in enumerate(order):
        c = colours.get(label, NONE_COLOUR)
        ax.barh(i + 0.2, share.loc[label, "consensus"], height=0.38, color=c)
        ax.barh(i - 0.2, share.loc[label, "votes"], height=0.38, color=c, alpha=0.35)
        ax.text(share.loc[label, "consensus"] + 0.005, i + 0.2, f"{counts.loc[label, 'consensus']}", va="center",
                fontsize=9, color=INK)
        ax.text(share.loc[label, "votes"] + 0.005, i - 0.2, f"{counts.loc[label, 'votes']}", va="center",
                fontsize=9, color=MUTED)
    ax.set_yticks(y, order)
    ax.xaxis.set_major_formatter(_percent)
    ax.set_xlim(0, float(share.values.max()) * 1.15 + 0.01)
    what = "spans" if data.spans else "units"
    ax.set_title(f"Label distribution: consensus (solid) vs all votes (pale), share of {what}")
    alt = "; ".join(f"{x}: {counts.loc[x, 'consensus']} consensus, {counts.loc[x, 'votes']} votes" for x in counts.index)
    return _svg(fig), alt


def _percent(x, _pos=None):
    return f"{100 * x:.0f}%"


def annotators_figure(data) -> tuple[str, str] | None:
    rows = data.annotators
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (r["gold_accuracy"] if r["gold_accuracy"] is not None else -1,
                                       r["consensus_agreement"] or 0))
    fig, ax = _figure(7.5, 0.55 * len(rows) + 1.4)
    y = np.arange(len(rows))
    what = "span F1" if data.spans else "accuracy"
    for offset, key, colour, name in ((0.2, "gold_accuracy", "#0072B2", f"honeypot {what}"),
                                      (-0.2, "consensus_agreement", "#E69F00", "agreement with consensus")):
        vals = [r[key] for r in rows]
        ax.barh(y + offset, [v or 0 for v in vals], height=0.38, color=colour, label=name)
        for i, v in enumerate(vals):
            ax.text((v or 0) + 0.01, i + offset, "no gold" if v is None else f"{v:.2f}", va="center", fontsize=9,
                    color=INK if v is not None else MUTED)
    ax.set_yticks(y, [r["annotator"] for r in rows])
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(_percent)
    ax.set_title("Annotators: gold accuracy and agreement with the consensus")
    fig.legend(ncols=2, loc="outside lower left", fontsize=9)
    alt = "; ".join(f"{r['annotator']}: gold {r['gold_accuracy']}, consensus {r['consensus_agreement']}" for r in rows)
    return _svg(fig), alt


def _heatmap(ax, values: np.ndarray, text: list[list[str]], cmap, vmin: float, vmax: float, rows, cols):
    masked = np.ma.masked_invalid(values.astype(float))
    cmap = cmap.with_extremes(bad="#F3F4F6")
    im = ax.imshow(masked, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    norm = im.norm
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            dark = not np.isnan(v) and abs(norm(v) - 0.5) > 0.3 if vmin < 0 else (not np.isnan(v) and norm(v) > 0.6)
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8.5, color="white" if dark else INK)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    return im


def pairwise_figure(data) -> tuple[str, str] | None:
    import matplotlib

    pw = data.pairwise
    names = list(pw.values.index)
    if len(names) < 2:
        return None
    vals = pw.values.to_numpy(dtype=float)
    shared = pw.shared.to_numpy()
    text = [["" if i == j else ("–" if np.isnan(vals[i, j]) else f"{vals[i, j]:.2f}\nn={shared[i, j]}")
             for j in range(len(names))] for i in range(len(names))]
    kappa = pw.measure.startswith("Cohen")
    size = 0.6 * len(names) + 1.8
    fig, ax = _figure(size + 1.2, size)
    vals_shown = vals.copy()
    np.fill_diagonal(vals_shown, np.nan)
    im = _heatmap(ax, vals_shown, text, matplotlib.colormaps["RdBu" if kappa else "Blues"], -1 if kappa else 0, 1,
                  names, names)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).outline.set_visible(False)
    ax.set_title(f"Pairwise agreement ({pw.measure}, units both labeled)")
    off = vals[~np.eye(len(names), dtype=bool)]
    alt = f"{pw.measure} between annotator pairs, from {np.nanmin(off):.2f} to {np.nanmax(off):.2f}" \
        if np.isfinite(off).any() else f"{pw.measure}: no pair shares two units"
    return _svg(fig), alt


def confusion_figure(data) -> tuple[str, str] | None:
    import matplotlib

    m: pd.DataFrame | None = data.confusion
    if m is None or m.values.sum() == 0:
        return None
    counts = m.to_numpy(dtype=float)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    text = [[str(int(c)) if c else "·" for c in row] for row in counts]
    fig, ax = _figure(0.9 * len(m.columns) + 2.8, 0.6 * len(m.index) + 1.8)
    im = _heatmap(ax, share, text, matplotlib.colormaps["Blues"], 0, 1, list(m.index), list(m.columns))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, format=_percent).outline.set_visible(False)
    ax.set_ylabel("gold")
    ax.set_xlabel("consensus")
    units = "spans, matched on exact offsets" if data.spans else "units with a gold label"
    ax.set_title(f"Consensus vs gold ({units}; colour: share of the gold row)")
    n = int(counts.sum())
    agree = int(sum(m.loc[x, x] for x in m.index if x in m.columns))
    return _svg(fig), f"{agree} of {n} gold {'spans' if data.spans else 'units'} match the consensus"


def confidence_figure(data) -> tuple[str, str] | None:
    import matplotlib.pyplot as plt

    s: pd.DataFrame = data.unit_stats
    if s.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True, layout="constrained")
    bins = np.linspace(0, 1, 11)
    flagged = s["flagged"].to_numpy(dtype=bool)
    for ax, col, title in ((axes[0], "confidence", "Consensus confidence"),
                           (axes[1], "agreement", "Unit agreement (share of agreeing pairs)")):
        v = pd.to_numeric(s[col], errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(v)
        ax.hist([v[ok & ~flagged], v[ok & flagged]], bins=bins, stacked=True, color=[OKABE_ITO[0], WARN],
                label=["clear", "flagged for review"], rwidth=0.9)
        ax.set_title(title)
        ax.xaxis.set_major_formatter(_percent)
        ax.set_xlim(0, 1)
    axes[0].set_ylabel("units")
    axes[0].legend(loc="upper left")
    return _svg(fig), (f"{int(flagged.sum())} of {len(s)} units flagged for review; median confidence "
                       f"{np.median(s['confidence']):.2f}")

"""The built-in aggregation methods (registered last, so a plugin can replace any of them)."""

from workbench.api import Aggregator, LabelKind, hookimpl

#: methods over categories: single and ordinal labels, and label sets (multi) taken whole
CATEGORICAL = frozenset({LabelKind.SINGLE, LabelKind.ORDINAL, LabelKind.MULTI})


@hookimpl(trylast=True)
def register_aggregators(register):
    from workbench.aggregate import binary_relevance as br
    from workbench.aggregate import dawid_skene as ds
    from workbench.aggregate import glad as gl
    from workbench.aggregate import kos as ko
    from workbench.aggregate import mace as mc
    from workbench.aggregate import mmsr as mm
    from workbench.aggregate import spands as spd
    from workbench.aggregate.dawid_skene import dawid_skene, one_coin_dawid_skene
    from workbench.aggregate.mace import mace
    from workbench.aggregate.majority import majority_vote, wawa, weighted_majority
    from workbench.aggregate.ordinal import ordinal_median
    from workbench.aggregate.spands import span_dawid_skene
    from workbench.aggregate.tokenvote import span_vote

    register(Aggregator("majority", majority_vote,
                        "majority vote; a tie is drawn by the unit id (reproducible, no label favoured; spans: exact-span vote)",
                        options=()))
    register(Aggregator("weighted_majority", weighted_majority,
                        "votes weighted by each annotator's accuracy on gold units (log-odds)", CATEGORICAL,
                        options=()))
    register(Aggregator("wawa", wawa, "votes weighted by each annotator's agreement with the majority",
                        CATEGORICAL, options=()))
    register(Aggregator("dawid_skene", dawid_skene,
                        "Dawid-Skene EM: a confusion matrix per annotator; gold units clamped", CATEGORICAL,
                        options=ds.OPTIONS, check=lambda o: ds.parse_options("dawid_skene", o)))
    register(Aggregator("one_coin_dawid_skene", one_coin_dawid_skene,
                        "one-coin Dawid-Skene EM: one accuracy per annotator", CATEGORICAL,
                        options=ds.OPTIONS, check=lambda o: ds.parse_options("one_coin_dawid_skene", o)))
    register(Aggregator("mace", mace, "MACE: competence and spamming strategy per annotator (spammer-aware)",
                        CATEGORICAL, options=mc.OPTIONS, check=mc.parse_options))
    register(Aggregator("glad", gl.glad, "GLAD EM: annotator ability x unit difficulty (Whitehill et al. 2009)",
                        CATEGORICAL, options=gl.OPTIONS, check=gl.parse_options))
    register(Aggregator("mmsr", mm.mmsr, "M-MSR: annotator skills by robust rank-one matrix completion, "
                        "then a weighted vote (Ma and Olshevsky 2020)", CATEGORICAL,
                        options=mm.OPTIONS, check=mm.parse_options))
    register(Aggregator("kos", ko.kos, "KOS message passing for binary labels (Karger, Oh and Shah 2011)",
                        CATEGORICAL, options=ko.OPTIONS, check=ko.parse_options))
    register(Aggregator("binary_relevance", br.binary_relevance,
                        "label sets: each label a yes/no question aggregated by `base` (majority; dawid_skene...)",
                        frozenset({LabelKind.MULTI}), options=None, check=br.parse_options))
    register(Aggregator("ordinal_median", ordinal_median,
                        "ordinal scales: the median grade of the votes (closest to all of them in scale order)",
                        frozenset({LabelKind.ORDINAL}), options=()))
    register(Aggregator("spans", span_vote, "token-level vote turned back into spans", frozenset({LabelKind.SPANS}),
                        options=()))
    register(Aggregator("span_dawid_skene", span_dawid_skene,
                        "token-level BIO Dawid-Skene: boundary and type errors per annotator; valid spans, a score each",
                        frozenset({LabelKind.SPANS}), options=spd.OPTIONS, check=spd.parse_options))

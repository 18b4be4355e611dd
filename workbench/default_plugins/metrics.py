"""The built-in agreement metrics (registered last, so a plugin can replace any of them)."""

from workbench.api import LabelKind, Metric, hookimpl

ALL = frozenset(LabelKind)
CHOICES = frozenset({LabelKind.SINGLE, LabelKind.ORDINAL, LabelKind.MULTI})
ORDINAL = frozenset({LabelKind.ORDINAL})
SPANS = frozenset({LabelKind.SPANS})


@hookimpl(trylast=True)
def register_metrics(register):
    from workbench.agreement.alpha import (
        krippendorff_alpha_interval,
        krippendorff_alpha_nominal,
        krippendorff_alpha_ordinal,
    )
    from workbench.agreement.basic import percent_agreement
    from workbench.agreement.kappa import cohen_kappa, fleiss_kappa, gwet_ac1
    from workbench.agreement.spans import span_f1_exact, span_f1_overlap, token_alpha
    from workbench.agreement.units import disputed_units

    register(Metric("percent_agreement", percent_agreement,
                    "share of annotator pairs giving the same label, averaged over units", ALL))
    register(Metric("krippendorff_alpha", krippendorff_alpha_nominal,
                    "Krippendorff's alpha, nominal distance (label sets and span sets compared whole)", ALL))
    register(Metric("krippendorff_alpha_ordinal", krippendorff_alpha_ordinal,
                    "Krippendorff's alpha, ordinal distance over the scale order", ORDINAL))
    register(Metric("krippendorff_alpha_interval", krippendorff_alpha_interval,
                    "Krippendorff's alpha, interval distance (numeric labels, else scale positions)", ORDINAL))
    register(Metric("cohen_kappa", cohen_kappa, "Cohen's kappa per annotator pair (matrix); value: their mean",
                    CHOICES))
    register(Metric("fleiss_kappa", fleiss_kappa, "Fleiss' kappa (Gwet's form for missing labels)", CHOICES))
    register(Metric("gwet_ac1", gwet_ac1, "Gwet's AC1 (paradox-resistant chance correction)", CHOICES))
    register(Metric("span_f1_exact", span_f1_exact, "pairwise span F1, exact offsets and label", SPANS))
    register(Metric("span_f1_overlap", span_f1_overlap, "pairwise span F1, overlapping spans with the same label",
                    SPANS))
    register(Metric("token_alpha", token_alpha, "Krippendorff's alpha over tokens (O or a label per annotator)",
                    SPANS))
    register(Metric("disputed_units", disputed_units,
                    "share of units whose annotators agree less than 0.5 (detail: every unit)", ALL))

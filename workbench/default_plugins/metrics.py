"""The built-in agreement metrics."""

from workbench import hookimpl
from workbench.models import LabelKind
from workbench.registry import Metric

CATEGORICAL = frozenset({LabelKind.SINGLE, LabelKind.ORDINAL, LabelKind.MULTI, LabelKind.SPANS})


@hookimpl(trylast=True)
def register_metrics(register):
    from workbench.agreement.basic import krippendorff_alpha_nominal, percent_agreement

    register(Metric("percent_agreement", percent_agreement,
                    "share of annotator pairs giving the same label, averaged over units"))
    register(Metric("krippendorff_alpha", krippendorff_alpha_nominal,
                    "Krippendorff's alpha, nominal distance (spans and sets compared whole)"))

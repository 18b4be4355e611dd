"""The built-in aggregation methods."""

from workbench import hookimpl
from workbench.registry import Aggregator


@hookimpl(trylast=True)
def register_aggregators(register):
    from workbench.aggregate.majority import majority_vote

    register(Aggregator("majority", majority_vote, "majority vote; ties go to the first label in schema order"))

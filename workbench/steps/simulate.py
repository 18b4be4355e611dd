"""The simulate step: the simulated annotators label what is planned for them (a documented
simulation, not people; see :mod:`workbench.simulate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..simulate import SimulatedAnnotator
from . import collector_paused_in

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext


def crowd(ctx: "StepContext") -> list[SimulatedAnnotator]:
    """The active simulated annotators (a retired persona labels nothing more)."""
    return [SimulatedAnnotator(a.id, ctx.registry.get("annotators", a.persona), a.lean)
            for a in ctx.spec.active_annotators if a.simulated]


@collector_paused_in
def run(ctx: "StepContext", limits: dict[str, int] | None = None) -> dict[str, Any]:
    """``limits``: ``{annotator: n}``, each persona stops once it has done ``n`` tasks in all (a gated
    campaign simulates in stages, judging annotators between them; see :mod:`workbench.gating`)."""
    ctx.require("simulate", "push")
    state = ctx.state
    members = crowd(ctx)
    pre = state.prelabels
    references = {u.id: u.gold_label if u.gold_label is not None else (pre[u.id].label if u.id in pre else None)
                  for u in state.units}
    # every annotator's queue: the crowd works its own, and a server that hands out tasks itself may give a
    # persona a unit planned for someone else
    extra = {} if limits is None else {"limits": limits}
    made = ctx.backend.simulate(members, state.queues, references, ctx.spec.seed, **extra) if members else 0
    with ctx.store.transaction():
        summary = {"simulated_annotators": len(members), "labels_made": made}
        ctx.record("simulate", summary)
    return summary

"""The ``[redundancy]`` table of a campaign spec: adaptive labels per unit.

Without it a campaign gives every unit ``overlap`` annotators. With it, every unit starts with
``initial`` annotators (``initial`` takes the place of ``overlap``: a file may name both only if
they agree; when only ``overlap`` is set it is the initial number), and after each round the units
still below ``target`` get one more annotator, until they reach the target, ``max`` annotators, or
the campaign has spent ``budget`` annotations in all; ``per_round`` caps how many units get one in a
round (the least settled first), which with a ``budget`` spends it where units are least certain
rather than breadth-first. ``calibration`` (a share of the units, picked by a fixed draw on their ids)
gives those units ``calibration_labels`` annotators ahead of any other, whatever their score, so
that Dawid-Skene sees every annotator on units with enough answers to estimate their confusion.
``disputed_share`` keeps that share of a round's places for the units where Dawid-Skene and
``disputed_with`` (majority vote or the one-coin model, each re-fitted on every answer so far) give
different labels, least settled first (or, ``disputed_order = "dawid_skene"``, lowest Dawid-Skene
posterior first); the rest go by the score as before.
:mod:`workbench.redundancy` is the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

#: how a unit's progress to the target is measured
TARGET_BY = ("posterior", "agreement", "one_coin")
#: what Dawid-Skene's labels are compared with to find the disputed units (``disputed_share``)
DISPUTED_WITH = ("majority", "one_coin")
#: how the disputed units are ranked: by the score (least settled first) or by Dawid-Skene's posterior (lowest first)
DISPUTED_ORDER = ("score", "dawid_skene")
FIELDS = {"initial", "max", "target", "target_by", "budget", "per_round", "calibration", "calibration_labels",
          "one_coin_prior", "disputed_share", "disputed_with",
          "disputed_order"}
#: the default of ``one_coin_prior``: answers the prior on every annotator's accuracy is worth
ONE_COIN_PRIOR = 2.0


@dataclass(frozen=True)
class RedundancySpec:
    initial: int = 2
    max: int = 5
    #: the aggregation's confidence in the unit's label (posterior), its pairwise agreement, or the
    #: smoothed one-coin posterior (:func:`workbench.redundancy.one_coin_scores`), to reach
    target: float = 0.9
    target_by: str = "posterior"
    #: the most annotations (planned places, every round included) the campaign may spend; None: no cap
    budget: int | None = None
    #: the most units that get one more annotator in one round (the least settled first); None: every
    #: unit below target
    per_round: int | None = None
    #: the share of the units (a fixed draw on their ids) given ``calibration_labels`` annotators first,
    #: whatever their score; None: none
    calibration: float | None = None
    calibration_labels: int = 5
    #: ``target_by = "one_coin"``: the prior on every annotator's accuracy is worth this many answers (at 0.7)
    one_coin_prior: float = ONE_COIN_PRIOR
    #: the share of a round's places (``per_round``, or what the budget leaves) kept for the units where
    #: Dawid-Skene and ``disputed_with`` disagree, least settled first; None: none
    disputed_share: float | None = None
    #: what Dawid-Skene is compared with: ``"majority"`` (vote) or ``"one_coin"`` (the one-coin model's label)
    disputed_with: str = "majority"
    #: the disputed units' order: ``"score"`` (least settled first) or ``"dawid_skene"`` (its posterior, lowest first)
    disputed_order: str = "score"


def parse_redundancy(raw: Any, overlap: int | None, fail: Callable[[str, str], Any]) -> RedundancySpec:
    """The ``[redundancy]`` table checked; ``overlap`` is the spec's own ``overlap`` when the file sets it.
    ``fail(field, message)`` raises the one-line error."""
    if not isinstance(raw, dict):
        fail("redundancy", f"expected a table (initial, max, target...), got {raw!r}")
    extra = sorted(set(raw) - FIELDS)
    if extra:
        fail(f"redundancy.{extra[0]}", f"unknown field (expected one of {', '.join(sorted(FIELDS))})")

    def integer(key: str, default: int | None) -> int | None:
        value = raw.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            fail(f"redundancy.{key}", f"expected a whole number, got {value!r}")
        return value

    initial = integer("initial", None)
    if initial is None:
        initial = overlap if overlap is not None else 2
    elif overlap is not None and overlap != initial:
        fail("overlap", f"is {overlap} but redundancy.initial is {initial}: with [redundancy], initial is the "
                        "number of annotators each unit starts with; drop overlap (or make them equal)")
    if initial < 1:
        fail("redundancy.initial", f"expected at least 1 annotator per unit to start with, got {initial}")
    most = integer("max", max(initial, 5))
    assert most is not None
    if most < initial:
        fail("redundancy.max", f"expected at least initial ({initial}) annotators per unit, got {most}")
    target = raw.get("target", 0.9)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        fail("redundancy.target", f"expected a posterior or agreement in (0, 1] a unit must reach, got {target!r}")
    by = raw.get("target_by", "posterior")
    if by not in TARGET_BY:
        fail("redundancy.target_by", f"expected one of {', '.join(TARGET_BY)}, got {by!r}")
    budget = integer("budget", None)
    if budget is not None and budget < 1:
        fail("redundancy.budget", f"expected a total number of annotations of at least 1, got {budget}")
    per_round = integer("per_round", None)
    if per_round is not None and per_round < 1:
        fail("redundancy.per_round", f"expected a number of units of at least 1 per round, got {per_round}")
    calibration = raw.get("calibration")
    if calibration is not None and (isinstance(calibration, bool) or not isinstance(calibration, (int, float))
                                    or not 0 < calibration < 1):
        fail("redundancy.calibration", f"expected the share of the units in (0, 1) given calibration_labels "
                                       f"annotators first, got {calibration!r}")
    cal_labels = integer("calibration_labels", max(initial, min(most, 5)))
    assert cal_labels is not None
    if not initial <= cal_labels <= most:
        fail("redundancy.calibration_labels", f"expected a number of annotators from initial ({initial}) to max "
                                              f"({most}), got {cal_labels}")
    if "calibration_labels" in raw and calibration is None:
        fail("redundancy.calibration_labels", "is set but redundancy.calibration is not (expected the share of the "
                                              "units to calibrate, e.g. calibration = 0.1)")
    prior = raw.get("one_coin_prior", ONE_COIN_PRIOR)
    if isinstance(prior, bool) or not isinstance(prior, (int, float)) or not 0 < prior <= 1000:
        fail("redundancy.one_coin_prior", f"expected the number of answers (> 0, at most 1000) the one-coin prior on "
                                          f"every annotator is worth, got {prior!r}")
    if "one_coin_prior" in raw and by != "one_coin":
        fail("redundancy.one_coin_prior", f"is set but redundancy.target_by is {by!r} (it is the prior of "
                                          "target_by = \"one_coin\")")
    share = raw.get("disputed_share")
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1):
        fail("redundancy.disputed_share", f"expected the share in (0, 1] of a round's places kept for the units "
                                          f"where Dawid-Skene and disputed_with disagree, got {share!r}")
    if share is not None and per_round is None and budget is None:
        fail("redundancy.disputed_share", "is set but neither redundancy.per_round nor redundancy.budget is (it is a "
                                          "share of the places a round gives out when those are capped, e.g. "
                                          "per_round = 30)")
    picked = {}
    for field, choices, default, what in (("disputed_with", DISPUTED_WITH, "majority", "compared with Dawid-Skene's labels"),
                                          ("disputed_order", DISPUTED_ORDER, "score", "how the disputed units are ranked")):
        value = picked[field] = raw.get(field, default)
        if value not in choices:
            fail(f"redundancy.{field}", f"expected one of {', '.join(choices)} ({what}), got {value!r}")
        if field in raw and share is None:
            fail(f"redundancy.{field}", "is set but redundancy.disputed_share is not (expected the share of a round's "
                                        "places for the disputed units, e.g. disputed_share = 0.2)")
    with_, order = picked["disputed_with"], picked["disputed_order"]
    return RedundancySpec(initial=initial, max=most, target=float(target), target_by=by, budget=budget,
                          per_round=per_round, calibration=None if calibration is None else float(calibration),
                          calibration_labels=cal_labels, one_coin_prior=float(prior),
                          disputed_share=None if share is None else float(share), disputed_with=with_, disputed_order=order)

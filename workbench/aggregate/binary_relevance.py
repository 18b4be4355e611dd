"""Binary relevance for label sets (multi-label): each label of the schema is its own yes/no question.

The other methods take a label set whole, as one category: ``("a", "b")`` and ``("a",)`` are two
different answers, and a unit whose annotators gave ``("a", "b")``, ``("a",)``, ``("a", "c")`` has no
majority although all three said ``a``. Binary relevance (crowd-kit's ``BinaryRelevance``) asks,
for every label ``l`` of the schema, "is ``l`` in the set?" on every (unit, annotator) row, runs a
base method (``base``: majority by default, or Dawid-Skene, MACE, GLAD...) on each of those binary
tables, and gives each unit the set of labels whose probability of being in the set is above 0.5.

Outputs:

- ``labels``: the set (a sorted tuple, as every label set), a confidence (the probability that the
  whole set is right, labels taken as independent: the product over labels of max(p, 1 - p)) and
  the number of annotations;
- ``posteriors``: one column per schema label, the probability that the label is in the unit's
  set (for majority, the share of the unit's annotators who ticked it);
- ``annotators``: one row per annotator and label, with the base method's estimates (skill,
  confusion...) for that label's question.

Ties: a label whose probability is exactly 0.5 (two of four annotators ticked it) is in or out by a
draw keyed on a stable hash of the unit id and the label (so the labels of one unit are not all
drawn the same way), and the unit is listed in ``ties``. Options other than ``base`` go to the
base method. The label table is coded once; each question is a two-class table of integer codes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema
from ..table.encode import encode
from . import AggregateResult, TiedUnits, empty_result

NO, YES = "no", "yes"
_QUESTION = LabelSchema(LabelKind.SINGLE, (NO, YES))


def _bases() -> dict[str, tuple[Callable, Callable[[dict], object] | None]]:
    """Built-in methods usable per label: name -> (function, option check)."""
    from . import dawid_skene as ds
    from . import glad as gl
    from . import kos as ko
    from . import mace as mc
    from . import majority as mj
    from . import mmsr as mm

    def none(name: str):
        def check(options: dict) -> None:
            from . import check_options

            check_options(name, options, ())
        return check

    return {
        "majority": (mj.majority_vote, none("majority")),
        "wawa": (mj.wawa, none("wawa")),
        "dawid_skene": (ds.dawid_skene, lambda o: ds.parse_options("dawid_skene", o)),
        "one_coin_dawid_skene": (ds.one_coin_dawid_skene, lambda o: ds.parse_options("one_coin_dawid_skene", o)),
        "mace": (mc.mace, mc.parse_options),
        "glad": (gl.glad, gl.parse_options),
        "mmsr": (mm.mmsr, mm.parse_options),
        "kos": (ko.kos, ko.parse_options),
    }


def parse_options(options: dict) -> tuple[str, dict]:
    """(base method, its options); raises WorkbenchError on an unknown base or a bad base option."""
    options = dict(options)
    base = options.pop("base", "majority")
    bases = _bases()
    if base not in bases:
        raise WorkbenchError(f"binary_relevance: base: expected one of {', '.join(bases)}, got {base!r}")
    check = bases[base][1]
    if check is not None:
        try:
            check(options)
        except WorkbenchError as exc:
            raise WorkbenchError(f"binary_relevance (base {base}): {exc}") from None
    return base, options


def binary_relevance(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None,
                     **options) -> AggregateResult:
    """Label sets: one binary question per label, aggregated by ``base`` (majority); options go to the base."""
    base, base_options = parse_options(options)
    if schema.kind is not LabelKind.MULTI:
        raise WorkbenchError(f"binary_relevance works on label sets (multi), not {schema.kind.value}")
    if table.empty:
        return empty_result("binary_relevance")
    enc = encode(table, schema)
    labels = list(schema.labels)
    n_labels = len(labels)
    # which schema labels each occurring set holds, then per row (no Python loop over rows)
    position = {lab: j for j, lab in enumerate(labels)}
    holds = np.zeros((max(enc.n_classes, 1), n_labels), dtype=np.int8)
    for i, s in enumerate(enc.classes):
        holds[i, [position[x] for x in s]] = 1
    member = holds[enc.label.astype(np.int64)]  # rows x labels
    unit_col = pd.Categorical.from_codes(enc.unit, categories=pd.Index(enc.unit_names.array), validate=False)
    ann_col = pd.Categorical.from_codes(enc.annotator, categories=pd.Index(enc.annotator_names.array),
                                        validate=False)
    unit_index = pd.Index(enc.unit_names.array)
    func = _bases()[base][0]
    prob = np.empty((enc.n_units, n_labels))
    notes: list[str] = [f"binary_relevance: each of the {n_labels} labels aggregated as a yes/no question by {base}"]
    frames = []
    for j, lab in enumerate(labels):
        question = pd.DataFrame({"unit": unit_col, "annotator": ann_col,
                                 "label": pd.Categorical.from_codes(member[:, j], categories=[NO, YES])})
        gold_j = _gold_question(gold, lab)
        res = func(question, _QUESTION, gold=gold_j, **base_options)
        if res.posteriors is not None:
            p = res.posteriors[YES]
        else:
            p = pd.Series((res.labels["label"].astype(object) == YES).to_numpy(dtype=float),
                          index=pd.Index(res.labels["unit"].array))
        if not p.index.equals(unit_index):  # a base that reorders units (built-ins keep first appearance)
            p = p.reindex(unit_index)
        prob[:, j] = p.to_numpy(dtype=float)
        notes.extend(f"{lab}: {n}" for n in res.notes if not n.endswith("`ties` lists them"))
        if res.annotators is not None:
            frames.append(res.annotators.assign(label=lab))
    yes = prob > 0.5
    tied = np.isclose(prob, 0.5, rtol=0, atol=1e-12)
    tied_units = np.flatnonzero(tied.any(axis=1))
    if len(tied_units):
        from ..table.hashing import stable_hash

        tu, tl = np.nonzero(tied)
        keys = pd.Series(enc.unit_names.array[tu]).astype(str) + "\x1f" + pd.Series(np.asarray(labels, dtype=object)[tl])
        yes[tu, tl] = (stable_hash(keys.to_numpy(dtype=object)) % np.uint64(2)) == 1
        notes.append(f"{len(tied_units)} unit(s) had a label at exactly 0.5 ({len(tu)} label(s) in all); each drawn in "
                     "or out by a hash of the unit id and the label (reproducible); `ties` lists them")
    sets = _sets(yes, labels)
    confidence = np.prod(np.where(yes, prob, 1 - prob), axis=1)
    out = pd.DataFrame({"unit": enc.unit_names.array, "label": sets, "confidence": confidence,
                        "n_annotations": enc.per_unit().copy()})
    posteriors = pd.DataFrame(prob, index=pd.Index(enc.unit_names.array, name="unit"), columns=labels)
    annotators = pd.concat(frames, ignore_index=True) if frames else None
    return AggregateResult("binary_relevance", out, posteriors, annotators, notes,
                           TiedUnits(enc.unit_names.array, tied_units))


def _gold_question(gold, label: str) -> dict | None:
    """Gold label sets as yes/no answers to "is ``label`` in the set?"."""
    if not gold:
        return None
    out = {}
    for unit, value in gold.items():
        if isinstance(value, (tuple, list, set, frozenset)):
            out[unit] = YES if label in value else NO
    return out or None


def _sets(yes: np.ndarray, labels: list[str]) -> np.ndarray:
    """Units x labels booleans -> one tuple per unit, made once per distinct pattern (not per unit)."""
    patterns, inverse = np.unique(yes, axis=0, return_inverse=True)
    names = np.asarray(labels, dtype=object)
    made = np.empty(len(patterns), dtype=object)
    made[:] = [tuple(names[row]) for row in patterns]
    return made[inverse.reshape(-1)]

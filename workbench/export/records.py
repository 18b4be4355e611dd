"""Curated records: one per aggregated unit, with its document, consensus, votes and review flags.

Votes carry pseudonymous annotator ids, a keyed hash (HMAC-SHA256) of the annotator id with a
random key kept in the store: stable from one export to the next, but an email or name cannot be
recovered by hashing guesses, because the key never leaves the store. Every timestamp comes from the
stored state, never the clock, so the same state always gives the same records. Records are built
from tables (units, documents, consensus rows, votes), not from a campaign.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from ..models import Document, Label, Unit, label_to_json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: every record has exactly these fields, in this order (the Arrow schema follows it too)
FIELDS = (
    "unit_id", "split", "text", "context", "document_id", "document_title", "document_source",
    "start", "end", "label", "label_source", "reviewed_by", "confidence", "agreement", "n_annotations", "votes", "model_votes", "tie", "review",
    "review_reasons", "is_gold", "gold_label", "method", "task_type", "campaign", "plugin",
    "plugin_version", "exported_at",
)

#: a consensus with at most this confidence has no real majority behind it
WEAK_CONFIDENCE = 0.5

#: why a unit is flagged for review (the ``review_reasons`` values), as the data card explains them
REVIEW_REASONS = {
    "tie": "the top labels got the same number of votes; the tie rule picked one",
    "no_majority": f"the consensus confidence is at most {WEAK_CONFIDENCE} (no clear majority behind it)",
    "single_annotation": "fewer than two counted annotations: nothing to check the label against",
    "gold_mismatch": "the unit has a gold label and the consensus differs from it",
}

def pseudonym(key: bytes, campaign: str, annotator: str) -> str:
    """``ann-`` and 10 hex digits; per campaign, so one person is not linkable across campaigns."""
    digest = hmac.new(key, f"{campaign}\0{annotator}".encode(), hashlib.sha256).hexdigest()
    return "ann-" + digest[:10]


def review_reasons(label: Label, confidence: float, n_annotations: int, tie: bool,
                   gold: Label | None) -> list[str]:
    """Why a unit should be looked at again before anyone trains on it (see :data:`REVIEW_REASONS`)."""
    reasons = []
    if tie:
        reasons.append("tie")
    if confidence <= WEAK_CONFIDENCE + 1e-9:
        reasons.append("no_majority")
    if n_annotations < 2:
        reasons.append("single_annotation")
    if gold is not None and label != gold:
        reasons.append("gold_mismatch")
    return reasons


def build_records(units: list[Unit], documents: dict[str, Document], aggregates: list[dict[str, Any]],
                  votes: dict[str, list[dict[str, Any]]], *, campaign: str, task_type: str, plugin: str,
                  plugin_version: str | None, as_of: str | None,
                  model_votes: dict[str, list[dict[str, Any]]] | None = None,
                  verdicts: dict[str, tuple[Label, list[str]]] | None = None) -> list[dict[str, Any]]:
    """One record per aggregated unit, in unit order, with ``split`` still unset (None).

    ``aggregates`` are the stored consensus rows (normalized ``label``), ``votes`` each unit's counted
    votes ``{annotator: pseudonym, label: JSON label}``, ``as_of`` the time of the exported state,
    ``model_votes`` each unit's model votes ``{model, label, score}`` (kept apart from people's).
    ``verdicts`` the review's ``{unit: (label, reviewer pseudonyms)}``: a verdict overrides the consensus,
    and so does a honeypot's gold label (unless a reviewer judged the unit: a verdict on a honeypot the
    consensus contradicted is the later, closer look). Held-out gold never replaces the consensus: it
    measures it. (:class:`Records` builds the same records one at a time, when they are read.)
    """
    agg = {r["unit_id"]: r for r in aggregates}
    common = _Common(documents, model_votes or {}, verdicts or {}, campaign, task_type, plugin, plugin_version, as_of)
    return [common.record(u, agg[u.id], votes.get(u.id, [])) for u in units if u.id in agg]


class _Common:
    """What every record of a campaign shares, and how one record is made."""

    def __init__(self, documents: dict[str, Document], model_votes: dict[str, list[dict[str, Any]]],
                 verdicts: dict[str, tuple[Label, list[str]]], campaign: str, task_type: str, plugin: str,
                 plugin_version: str | None, as_of: str | None):
        self.documents, self.model_votes, self.verdicts = documents, model_votes, verdicts
        self.campaign, self.task_type, self.plugin, self.plugin_version, self.as_of = (
            campaign, task_type, plugin, plugin_version, as_of)

    def record(self, u: Unit, row: dict[str, Any], votes: list[dict[str, Any]],
               split: str | None = None) -> dict[str, Any]:
        doc = self.documents[u.document_id]
        verdict = self.verdicts.get(u.id)
        # a reviewer's verdict first, then a honeypot's hand-written gold label, then the consensus
        source = "review" if verdict is not None else "gold" if u.is_gold and u.gold_label is not None else "consensus"
        label = verdict[0] if verdict is not None else u.gold_label if source == "gold" else row["label"]
        confidence = round(float(row["confidence"]), 6)
        reasons = review_reasons(label, confidence, int(row["n_annotations"]), bool(row["tie"]), u.gold_label)
        return {
            "unit_id": u.id, "split": split, "text": u.text, "context": u.context,
            "document_id": doc.id, "document_title": doc.title, "document_source": doc.source,
            "start": u.start, "end": u.end,
            "label": label_to_json(label),
            "label_source": source,
            "reviewed_by": [] if verdict is None else list(verdict[1]),
            "confidence": confidence,
            "agreement": None if row["agreement"] is None else round(float(row["agreement"]), 6),
            "n_annotations": int(row["n_annotations"]),
            "votes": sorted(votes, key=lambda v: v["annotator"]),
            "model_votes": sorted(self.model_votes.get(u.id, []), key=lambda v: v["model"]),
            "tie": bool(row["tie"]),
            "review": bool(reasons) and verdict is None,
            "review_reasons": reasons,
            "is_gold": u.is_gold,
            "gold_label": label_to_json(u.gold_label) if u.gold_label is not None else None,
            "method": row["method"], "task_type": self.task_type, "campaign": self.campaign,
            "plugin": self.plugin, "plugin_version": self.plugin_version, "exported_at": self.as_of,
        }


class Records(Sequence[dict[str, Any]]):
    """The records of :func:`build_records` (or a selection of them, with their splits), each made when
    it is read: a fresh dict on every read, never kept. A million records held as dicts took
    gigabytes; this holds the tables they are made from (shared by every selection) and, per
    selected record, an index and a split.

    It is a read-only sequence: ``len``, iteration (in order, as often as needed), ``records[i]`` and
    slices (a list). Changing a record read from it changes nothing; :meth:`where` and
    :meth:`with_splits` make new selections.
    """

    def __init__(self, units: list[Unit], documents: dict[str, Document], aggregates: list[dict[str, Any]],
                 votes: "CountedVotes", *, campaign: str, task_type: str, plugin: str, plugin_version: str | None,
                 as_of: str | None, model_votes: dict[str, list[dict[str, Any]]] | None = None,
                 verdicts: dict[str, tuple[Label, list[str]]] | None = None):
        agg = {r["unit_id"]: r for r in aggregates}
        pairs = [(u, agg[u.id]) for u in units if u.id in agg]
        common = _Common(documents, model_votes or {}, verdicts or {}, campaign, task_type, plugin, plugin_version,
                         as_of)
        self._count = len(pairs)  # every record
        self._index: list[int] | None = None  # every record
        self._splits: list[str] | None = None
        # what every selection shares: the tables the records are made from (until :meth:`detach`) and
        # the columns of every record
        self._shared: dict[str, Any] = {"sources": (pairs, votes, common)}
        self._columns: dict[str, list] | None = None

    def _view(self, index: list[int] | None, splits: list[str] | None) -> "Records":
        view = object.__new__(Records)
        view._count, view._index, view._splits = self._count, index, splits
        view._shared, view._columns = self._shared, None
        return view

    def _base(self) -> dict[str, list]:
        """The columns of every record (split left out), made once for every selection."""
        base = self._shared.get("columns")
        if base is None:
            base = self._shared["columns"] = _base_columns(*self._shared["sources"])
        return base

    def detach(self) -> None:
        """Let go of the tables the records are made from (units, consensus rows, votes) for this
        selection and every other of the same records: from now on a record is made from the columns
        of every record (made now if they were not yet), with the same values, its lists and dicts
        its own. The caller then frees the tables themselves (a million units' votes and consensus
        rows are hundreds of MB that the writers do not read)."""
        sources = self._shared.get("sources")
        if sources is not None:
            base = self._base()
            # units with votes that no record has (not aggregated): what :meth:`voted_units` adds to
            # the records' own voted units from now on
            self._shared["unrecorded_votes"] = sources[1].units().difference(base["unit_id"])
            del self._shared["sources"]

    def columns(self) -> dict[str, list]:
        """``{field: [value of each record]}`` (:data:`FIELDS`, in order): the records of this selection
        as columns, made once and kept with the selection. The built-in writers read them instead of
        making every record again on each pass. The values are shared between records (one list per
        distinct set of votes, one per distinct set of review reasons, ...): read them, never change
        them."""
        if self._columns is None:
            base = self._base()
            if self._index is None:
                columns = dict(base)
            else:
                take = self._index
                columns = {k: list(map(v.__getitem__, take)) for k, v in base.items()}
            columns["split"] = [None] * len(self) if self._splits is None else self._splits
            self._columns = {k: columns[k] for k in FIELDS}
        return self._columns

    def __len__(self) -> int:
        return self._count if self._index is None else len(self._index)

    def _make(self, k: int) -> dict[str, Any]:
        i = k if self._index is None else self._index[k]
        split = None if self._splits is None else self._splits[k]
        sources = self._shared.get("sources")
        if sources is None:  # detached: from the columns, each list and dict a copy (never a shared one)
            base = self._shared["columns"]
            return {name: split if name == "split" else _fresh(base[name][i]) for name in FIELDS}
        pairs, votes, common = sources
        u, row = pairs[i]
        return common.record(u, row, votes.of(u.id), split)

    @overload
    def __getitem__(self, k: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, k: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self._make(j) for j in range(len(self))[k]]
        n = len(self)
        if not -n <= k < n:
            raise IndexError("record index out of range")
        return self._make(k % n)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._make(k) for k in range(len(self)))

    def fields(self, *names: str) -> Iterator[tuple]:
        """``(record[name], ...)`` of each record (read from :meth:`columns`: do not change the values)."""
        columns = self.columns()
        return zip(*(columns[n] for n in names))

    def where(self, keep: Callable[[dict[str, Any]], bool]) -> "Records":
        """The records for which ``keep(record)`` is true (splits kept)."""
        chosen = [k for k, r in enumerate(self) if keep(r)]
        return self.select(chosen)

    def select(self, positions: list[int]) -> "Records":
        """The records at ``positions`` (of this selection, in that order)."""
        index = positions if self._index is None else [self._index[k] for k in positions]
        splits = None if self._splits is None else [self._splits[k] for k in positions]
        return self._view(index, splits)

    def with_splits(self, splits: list[str]) -> "Records":
        """The same records with ``split`` set (one per record, in order)."""
        if len(splits) != len(self):
            raise ValueError(f"{len(splits)} splits for {len(self)} records")
        return self._view(self._index, list(splits))

    def voted_units(self) -> set[str]:
        """Every unit of the vote table the records were made from (aggregated or not)."""
        sources = self._shared.get("sources")
        if sources is not None:
            return sources[1].units()
        base = self._shared["columns"]
        return {u for u, votes in zip(base["unit_id"], base["votes"]) if votes} | self._shared["unrecorded_votes"]

    def split_of(self, k: int) -> str | None:
        return None if self._splits is None else self._splits[k]


_NO_LIST: list = []  # an empty list field, shared by the records of :func:`_base_columns` (read only)


def _fresh(value: Any) -> Any:
    """A JSON-like value with its lists and dicts copied (a record read from shared columns)."""
    kind = type(value)
    if kind is list:
        return [_fresh(v) for v in value]
    if kind is dict:
        return {k: _fresh(v) for k, v in value.items()}
    return value


def _base_columns(pairs: list[tuple[Unit, dict[str, Any]]], votes: "CountedVotes", common: _Common) -> dict[str, list]:
    """The columns of :meth:`_Common.record` for every ``(unit, consensus row)`` pair (split left out),
    the same values, made once: equal lists are one shared list, each label's JSON form made once."""
    documents, verdicts, model_votes = common.documents, common.verdicts, common.model_votes
    vote_lists = votes.sorted_lists([u.id for u, _ in pairs])
    names = ("unit_id", "text", "context", "document_id", "document_title", "document_source", "start", "end",
             "label", "label_source", "reviewed_by", "confidence", "agreement", "n_annotations", "model_votes",
             "tie", "review", "review_reasons", "is_gold", "gold_label", "method")
    out: dict[str, list] = {n: [] for n in names}
    add = [out[n].append for n in names]
    label_json: dict[Any, Any] = {}
    reason_lists: dict[tuple, list] = {}

    def as_json(label: Label) -> Any:
        try:
            found = label_json.get(label, label_json)
        except TypeError:  # not hashable: made each time, as record() does
            return label_to_json(label)
        if found is label_json:
            found = label_json[label] = label_to_json(label)
        return found

    for u, row in pairs:
        doc = documents[u.document_id]
        verdict = verdicts.get(u.id)
        source = "review" if verdict is not None else "gold" if u.is_gold and u.gold_label is not None else "consensus"
        label = verdict[0] if verdict is not None else u.gold_label if source == "gold" else row["label"]
        confidence = round(float(row["confidence"]), 6)
        n = int(row["n_annotations"])
        tie = bool(row["tie"])
        reasons = review_reasons(label, confidence, n, tie, u.gold_label)
        shared_reasons = reason_lists.setdefault(tuple(reasons), reasons)
        mv = model_votes.get(u.id)
        values = (
            u.id, u.text, u.context, doc.id, doc.title, doc.source, u.start, u.end, as_json(label), source,
            _NO_LIST if verdict is None else list(verdict[1]), confidence,
            None if row["agreement"] is None else round(float(row["agreement"]), 6), n,
            sorted(mv, key=lambda v: v["model"]) if mv else _NO_LIST, tie, bool(reasons) and verdict is None,
            shared_reasons, u.is_gold, as_json(u.gold_label) if u.gold_label is not None else None, row["method"])
        for put, value in zip(add, values):
            put(value)
    n = len(pairs)
    out["votes"] = vote_lists
    for name, value in (("task_type", common.task_type), ("campaign", common.campaign), ("plugin", common.plugin),
                        ("plugin_version", common.plugin_version), ("exported_at", common.as_of)):
        out[name] = [value] * n
    return out


class CountedVotes:
    """Each unit's counted votes as record entries ``{annotator: pseudonym, label: JSON label}``, made
    when a unit's record is, from the long ``(unit, annotator, label)`` table of the counted
    annotations (or :class:`~workbench.state.Vote` records of them): two integer codes per vote,
    sorted by unit, and where each unit's votes start; no object per unit or per vote (a million
    units' spans as a dict of tuples were a quarter of a GB)."""

    #: units whose votes :meth:`sorted_lists` lays out at a time
    BLOCK = 65536

    def __init__(self, votes: "pd.DataFrame | Sequence", names: dict[str, str]):
        import numpy as np
        import pandas as pd

        if not isinstance(votes, pd.DataFrame):
            picked = [v for v in votes if _counts(v)]
            votes = pd.DataFrame({"unit": [v.unit_id for v in picked], "annotator": [v.annotator_id for v in picked],
                                  "label": pd.Series([v.label for v in picked], dtype=object)})
        unit, units = pd.factorize(votes["unit"])
        annotator, annotators = pd.factorize(votes["annotator"])
        label, labels = pd.factorize(votes["label"])
        order = np.argsort(unit, kind="stable")  # each unit's votes together, in their first order
        self._annotator = annotator[order].astype(np.int32)
        self._label = label[order].astype(np.int32)
        self._names = [names[a] for a in annotators]
        self._labels = list(labels)
        # each unit's id its interned string (the units' own), in order of first vote; its votes
        # from bounds[i] to bounds[i + 1]
        self._units = [sys.intern(u) if type(u) is str else u for u in units]
        self._bounds = np.searchsorted(unit[order], np.arange(len(units) + 1))
        self._at: dict[str, int] | None = None  # {unit: i}, made when one unit's votes are asked for

    def units(self) -> set[str]:
        """The units that have counted votes."""
        return set(self._units)

    def sorted_lists(self, unit_ids: list[str]) -> list[list[dict[str, Any]]]:
        """Each unit's votes as :meth:`of` gives them, sorted by pseudonym as a record has them (a stable
        sort: equal pseudonyms keep their order); units with the same votes share one list, and the
        votes are shared dicts: read them, never change them."""
        import numpy as np

        names, labels = self._names, [label_to_json(b) for b in self._labels]
        rank = {name: i for i, name in enumerate(sorted(set(names)))}
        by_name = np.array([rank[x] for x in names], dtype=np.int64)
        bounds = self._bounds
        group = np.repeat(np.arange(len(self._units), dtype=np.int64), np.diff(bounds))
        order = np.lexsort((by_name[self._annotator] if len(names) else self._annotator.astype(np.int64), group))
        width = max(len(labels), 1)
        codes = self._annotator[order].astype(np.int64) * width + self._label[order]
        # a unit's sorted votes as the bytes of their codes: the key of its shared list
        data, size = codes.tobytes(), codes.itemsize
        del codes, order, group
        at = {u: i for i, u in enumerate(self._units)}
        made: dict[int, dict[str, Any]] = {}
        lists: dict[bytes, list[dict[str, Any]]] = {b"": _NO_LIST}
        out = []
        for block in range(0, len(unit_ids), self.BLOCK):
            where = np.array([at.get(u, -1) for u in unit_ids[block:block + self.BLOCK]], dtype=np.int64)
            voted = where >= 0
            starts = np.where(voted, bounds[where] * size, 0).tolist()
            stops = np.where(voted, bounds[where + 1] * size, 0).tolist()
            for start, stop in zip(starts, stops):
                key = data[start:stop]
                found = lists.get(key)
                if found is None:
                    found = []
                    for c in np.frombuffer(key, dtype=np.int64).tolist():
                        vote = made.get(c)
                        if vote is None:
                            vote = made[c] = {"annotator": names[c // width], "label": labels[c % width]}
                        found.append(vote)
                    lists[key] = found
                out.append(found)
        return out

    def of(self, unit_id: str) -> list[dict[str, Any]]:
        if self._at is None:
            self._at = {u: i for i, u in enumerate(self._units)}
        i = self._at.get(unit_id)
        if i is None:
            return []
        start, stop = int(self._bounds[i]), int(self._bounds[i + 1])
        names, labels = self._names, self._labels
        return [{"annotator": names[a], "label": label_to_json(labels[b])}
                for a, b in zip(self._annotator[start:stop].tolist(), self._label[start:stop].tolist())]


def _counts(a) -> bool:
    """What :func:`counted_votes` counts: status ok, with a label."""
    return a.status.value == "ok" and a.label is not None


def pseudonyms(key: bytes, campaign: str, annotator_ids) -> dict[str, str]:
    """``{annotator id: pseudonym}`` for the given ids."""
    return {i: pseudonym(key, campaign, i) for i in sorted(set(annotator_ids))}


def counted_votes(annotations, names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each unit's counted votes (status ok), annotators under their pseudonyms."""
    votes: dict[str, list[dict[str, Any]]] = {}
    for a in annotations:
        if a.status.value != "ok" or a.label is None:
            continue
        votes.setdefault(a.unit_id, []).append({"annotator": names[a.annotator_id], "label": label_to_json(a.label)})
    return votes


def model_vote_records(votes: dict[str, list[tuple[str, Label, float]]]) -> dict[str, list[dict[str, Any]]]:
    """Each unit's model votes as record entries ``{model, label, score}`` (score None when absent)."""
    return {u: [{"model": src, "label": label_to_json(lab), "score": None if sc != sc else round(float(sc), 6)}
                for src, lab, sc in vs] for u, vs in votes.items()}

"""Bad input for the aggregation engine: one clear error, or a defined answer with a note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate.choose import aggregate_table, choose_method
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema
from workbench.registry import get_registry

SCHEMA = LabelSchema(LabelKind.SINGLE, ("a", "b", "c"))
METHODS = ["majority", "weighted_majority", "wawa", "dawid_skene", "one_coin_dawid_skene", "mace"]


def t(units, annotators, labels) -> pd.DataFrame:
    return pd.DataFrame({"unit": units, "annotator": annotators, "label": labels})


@pytest.mark.parametrize("method", METHODS)
def test_empty_table(method):
    empty = t([], [], [])
    with pytest.raises(WorkbenchError, match="nothing to aggregate: the label table is empty"):
        aggregate_table(get_registry(), SCHEMA, empty, method)
    res = get_registry().get("aggregators", method).func(empty, SCHEMA, gold={"u1": "a"})
    assert res.labels.empty and res.notes == ["the label table is empty"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad, message", [
    ("z", "row 3 (unit 'u2', annotator 'y'): label 'z' is not one of ['a', 'b', 'c']"),
    (np.nan, "row 3 (unit 'u2', annotator 'y'): label is missing (NaN)"),
    (None, "row 3 (unit 'u2', annotator 'y'): label is missing (NaN)"),
])
def test_labels_outside_the_schema_and_nan_labels(method, bad, message):
    table = t(["u1", "u1", "u2", "u2"], ["x", "y", "y", "x"], ["a", "b", bad, "a"])
    with pytest.raises(WorkbenchError) as err:
        aggregate_table(get_registry(), SCHEMA, table, method, gold={"u1": "a"})
    assert str(err.value) == f"label table: {message}"


def test_missing_columns():
    with pytest.raises(WorkbenchError, match="missing column.*annotator"):
        aggregate_table(get_registry(), SCHEMA, pd.DataFrame({"unit": ["u1"], "label": ["a"]}), "dawid_skene")


@pytest.mark.parametrize("method", ["dawid_skene", "mace", "wawa"])
@pytest.mark.parametrize("units, annotators, row, fine_annotators", [
    (["u1", "u1", "u2", "u1"], ["x", "y", "x", "x"], 4, ["x", "y", "x", "z"]),  # the unit's rows apart
    (["u1", "u1", "u1", "u2"], ["x", "y", "x", "x"], 3, ["x", "y", "z", "x"]),  # one block per unit
])
def test_one_annotator_twice_on_a_unit(method, units, annotators, row, fine_annotators):
    table = t(units, annotators, ["a", "b", "a", "c"])
    with pytest.raises(WorkbenchError, match=f"row {row}: annotator 'x' labeled unit 'u1' more than once"):
        aggregate_table(get_registry(), SCHEMA, table, method)
    fine = t(units, fine_annotators, ["a", "b", "a", "c"])
    assert len(aggregate_table(get_registry(), SCHEMA, fine, method).labels) == 2


@pytest.mark.parametrize("method", ["majority", "wawa", "dawid_skene", "one_coin_dawid_skene", "mace"])
def test_single_annotator_gets_their_own_labels(method):
    table = t(["u1", "u2", "u3"], ["x"] * 3, ["a", "c", "b"])
    res = aggregate_table(get_registry(), SCHEMA, table, method)
    assert res.labels.set_index("unit")["label"].to_dict() == {"u1": "a", "u2": "c", "u3": "b"}
    assert (res.labels["n_annotations"] == 1).all()


@pytest.mark.parametrize("method", ["majority", "dawid_skene", "mace"])
def test_a_unit_with_one_label(method):
    table = t(["u1", "u1", "u1", "u2"], ["x", "y", "z", "x"], ["a", "a", "b", "c"])
    res = aggregate_table(get_registry(), SCHEMA, table, method)
    row = res.labels.set_index("unit").loc["u2"]
    assert row["label"] == "c" and row["n_annotations"] == 1


def test_auto_picks_dawid_skene_only_with_enough_labels_and_says_so():
    reg = get_registry()
    few = t(["u1", "u1", "u2"], ["x", "y", "x"], ["a", "b", "a"])
    assert choose_method(reg, SCHEMA, few, "auto") == (
        "majority", "auto: picked majority (dawid_skene: annotator 'y' has 1 label(s), fewer than 20); "
        "no gold units to compare methods on (needs 30)")
    many = t([f"u{i}" for i in range(25) for _ in range(2)], ["x", "y"] * 25, ["a"] * 50)
    method, note = choose_method(reg, SCHEMA, many, "auto")
    assert method == "dawid_skene" and note.startswith("auto: picked dawid_skene (2 annotators")
    res = aggregate_table(reg, SCHEMA, many, "auto")
    assert res.method == "dawid_skene" and res.notes[0] == note
    single = t(["u1", "u2"], ["x", "x"], ["a", "b"])
    assert "(dawid_skene: needs two or more annotators)" in choose_method(reg, SCHEMA, single, "auto")[1]
    spans = LabelSchema(LabelKind.SPANS, ("ORG",))
    assert choose_method(reg, spans, single, "auto") == ("span_dawid_skene", "auto: picked span_dawid_skene (span task)")


def test_span_only_method_refuses_choice_labels():
    with pytest.raises(WorkbenchError, match="aggregator 'spans' works on spans labels, not single"):
        aggregate_table(get_registry(), SCHEMA, t(["u1"], ["x"], ["a"]), "spans")
    spans = LabelSchema(LabelKind.SPANS, ("ORG",))
    with pytest.raises(WorkbenchError, match="aggregator 'dawid_skene' works on .* labels, not spans"):
        aggregate_table(get_registry(), spans, t(["u1"], ["x"], [()]), "dawid_skene")


def test_span_labels_that_are_not_spans():
    spans = LabelSchema(LabelKind.SPANS, ("ORG",))
    with pytest.raises(WorkbenchError, match=r"row 2 \(unit 'u2'\): label is missing \(NaN\)"):
        aggregate_table(get_registry(), spans, t(["u1", "u2"], ["x", "x"], [(), np.nan]), "spans")


def test_auto_with_options_asks_for_an_explicit_method():
    many = t([f"u{i}" for i in range(25) for _ in range(2)], ["x", "y"] * 25, ["a"] * 50)
    with pytest.raises(WorkbenchError, match=r"aggregate options \(max_iter\) need an explicit method"):
        aggregate_table(get_registry(), SCHEMA, many, "auto", max_iter=10)


@pytest.mark.parametrize("units, codes, names", [
    (["t1", "t1", "t2", "t10", "t10"], [0, 0, 1, 2, 2], ["t1", "t2", "t10"]),  # blocks in (length, text) order
    (["b", "b", "a", "c"], [0, 0, 1, 2], ["b", "a", "c"]),  # blocks, unordered names
    (["u1", "u2", "u1", "u1"], [0, 1, 0, 0], ["u1", "u2"]),  # a unit split over two blocks
    (["x"], [0], ["x"]),
])
@pytest.mark.parametrize("dtype", ["str", object])
def test_unit_codes_follow_first_appearance(units, codes, names, dtype):
    from workbench.table.encode import factorize_units

    got, got_names = factorize_units(pd.Series(units, dtype=dtype))
    assert got.tolist() == codes and list(got_names) == names


@pytest.mark.parametrize("labels, classes", [
    (["a", "b", "a", "c"], ["a", "b", "c"]),  # 1-byte labels: read from Arrow's data buffer
    (["c0", "c1", "c2", "c1"], ["c0", "c1", "c2"]),  # 2 bytes
    (["é", "b", "é"], ["é", "b"]),  # one 2-byte letter among 1-byte ones: mixed widths
    (["ab", "abc", "ab"], ["ab", "abc"]),  # mixed widths
    (["yes", "no", "yes"], ["yes", "no"]),  # 3 bytes: Arrow's index_in
    (["a", "zz", "b", "q"], ["a", "b"]),  # not classes: -2
])
def test_label_codes_match_a_dictionary_lookup(labels, classes):
    import pyarrow as pa

    from workbench.table.encode import label_codes

    want = [classes.index(x) if x in classes else -2 for x in labels]
    assert label_codes(pd.Series(labels, dtype="str"), classes).tolist() == want
    assert label_codes(pd.Series(labels, dtype=object), classes).tolist() == want
    # several chunks, one of them a slice that starts inside its buffers
    arr = pa.chunked_array([pa.array(["a"] + labels).slice(1), pa.array(labels[::-1]).slice(1)])
    want2 = want + want[::-1][1:]
    assert label_codes(pd.Series(pd.arrays.ArrowStringArray(arr)), classes).tolist() == want2


def test_big_table_bad_label_and_repeated_unit_block():
    # >= PARALLEL_ROWS rows take the two-thread path: a bad label still names its row, and a
    # unit whose rows come in two blocks is still one unit
    n = 150_000
    units = np.char.add("u", (np.arange(n) // 3).astype(str)).astype(object)
    units[-3:] = "u0"  # the last block repeats the first unit
    labels = np.array(["a", "b", "c"], dtype=object)[np.arange(n) % 3]
    annotators = np.char.add("w", (np.arange(n) % 3).astype(str)).astype(object)
    annotators[-3:] = ["w3", "w4", "w5"]
    table = t(pd.array(units, dtype="str"), pd.array(annotators, dtype="str"), pd.array(labels, dtype="str"))
    res = get_registry().get("aggregators", "majority").func(table, SCHEMA)
    assert len(res.labels) == n // 3 - 1
    first = res.labels.iloc[0]
    assert first["unit"] == "u0" and first["n_annotations"] == 6
    assert res.posteriors.loc["u0"].tolist() == [2 / 6, 2 / 6, 2 / 6]
    bad = table.copy()
    bad.loc[100_000, "label"] = "zz"
    with pytest.raises(WorkbenchError, match=r"row 100001 \(unit 'u33333', annotator 'w1'\): label 'zz' is not"):
        get_registry().get("aggregators", "majority").func(bad, SCHEMA)


def test_unit_codes_over_several_arrow_chunks():
    import pyarrow as pa

    from workbench.table.encode import factorize_units

    # blocks that straddle chunk boundaries, a chunk that is a slice, and an empty chunk
    chunks = [pa.array(["u1", "u1", "u2"]), pa.array(["x", "u2", "u3", "u3"]).slice(1), pa.array([], pa.string()),
              pa.array(["u3", "u10", "u10"])]
    col = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)))
    codes, names = factorize_units(col)
    assert codes.tolist() == [0, 0, 1, 1, 2, 2, 2, 3, 3] and list(names) == ["u1", "u2", "u3", "u10"]


def _dictionary_columns(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    """``table`` with every column a pandas categorical or an Arrow dictionary (two chunks with
    their own dictionaries, as a Parquet file read with read_dictionary gives)."""
    import pyarrow as pa

    out = {}
    for column in table.columns:
        values = table[column].astype(object)
        if kind == "category":  # categories sorted, so codes do not follow the row order
            out[column] = values.astype(pd.CategoricalDtype(sorted(set(values.dropna()) | {"unused"})))
        else:
            half = len(values) // 2
            chunks = [pa.array(values.iloc[:half], pa.string(), from_pandas=True).dictionary_encode(),
                      pa.array(values.iloc[half:], pa.string(), from_pandas=True).dictionary_encode()]
            out[column] = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks)))
    return pd.DataFrame(out)


@pytest.mark.parametrize("kind", ["category", "arrow-dictionary"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_dictionary_columns_give_the_results_of_string_columns(kind, shuffle):
    from benchmarks.crowd import make_crowd

    crowd = make_crowd(n_tasks=300, n_workers=10, overlap=3, spammers=0.2, seed=5, shuffle=shuffle)
    plain = crowd.long_table()
    coded = _dictionary_columns(plain, kind)
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    reg = get_registry()
    gold = dict(list(crowd.truth.items())[:20])
    for name in ("majority", "wawa", "weighted_majority", "dawid_skene", "one_coin_dawid_skene", "mace"):
        a = reg.get("aggregators", name).func(plain, schema, gold=gold)
        b = reg.get("aggregators", name).func(coded, schema, gold=gold)
        assert a.labels["unit"].tolist() == b.labels["unit"].astype(object).tolist(), name  # first-appearance order
        assert a.labels["label"].astype(str).tolist() == b.labels["label"].astype(str).tolist(), name
        assert a.labels["confidence"].to_numpy() == pytest.approx(b.labels["confidence"].to_numpy()), name
    for name, metric in reg.all("metrics").items():
        if schema.kind in metric.kinds:
            assert metric.func(plain, schema).value == pytest.approx(metric.func(coded, schema).value), name


@pytest.mark.parametrize("kind", ["category", "arrow-dictionary"])
@pytest.mark.parametrize("bad, message", [("zz", r"row 3 \(unit 'u2', annotator 'w1'\): label 'zz' is not one of"),
                                          (None, r"row 3 \(unit 'u2', annotator 'w1'\): label is missing")])
def test_dictionary_columns_bad_labels(kind, bad, message):
    table = _dictionary_columns(t(["u1", "u1", "u2", "u2"], ["w1", "w2", "w1", "w2"], ["a", "b", bad, "a"]), kind)
    for method in ("majority", "dawid_skene"):
        with pytest.raises(WorkbenchError, match=message):
            get_registry().get("aggregators", method).func(table, SCHEMA)


@pytest.mark.parametrize("units, codes, names", [
    (["t1", "t1", "t2", "t10", "t10"], [0, 0, 1, 2, 2], ["t1", "t2", "t10"]),
    (["b", "b", "a", "c"], [0, 0, 1, 2], ["b", "a", "c"]),
    (["u1", "u2", "u1", "u1"], [0, 1, 0, 0], ["u1", "u2"]),  # a unit split over two blocks
])
@pytest.mark.parametrize("kind", ["category", "arrow-dictionary"])
def test_dictionary_unit_codes_follow_first_appearance(units, codes, names, kind):
    from workbench.table.encode import factorize_units

    col = _dictionary_columns(pd.DataFrame({"unit": units}), kind)["unit"]
    got, got_names = factorize_units(col)
    assert got.tolist() == codes and list(got_names) == names


def test_class_codes_widen_with_the_number_of_classes():
    from workbench.table.encode import code_dtype, label_codes

    assert [code_dtype(n).itemsize for n in (2, 127, 128, 32767, 32768)] == [1, 1, 2, 2, 4]
    classes = [f"k{i}" for i in range(300)]  # int16 codes: a label past 127 keeps its code
    got = label_codes(pd.Series(["k0", "k299", "k128", "nope", None], dtype="str"), classes)
    assert got.dtype == np.int16 and got.tolist() == [0, 299, 128, -2, -1]
    schema = LabelSchema(LabelKind.SINGLE, tuple(classes))
    table = t(["u1", "u1", "u1", "u2", "u2"], ["a", "b", "c", "a", "b"], ["k299", "k299", "k1", "k200", "k200"])
    for method in ("majority", "dawid_skene", "mace"):
        res = get_registry().get("aggregators", method).func(table, schema)
        assert res.labels["label"].astype(str).tolist() == ["k299", "k200"], method


def test_auto_keeps_dawid_skene_when_a_late_person_has_few_labels():
    """A person who joins a running campaign with a handful of labels used to switch `auto` to
    majority vote for every unit (on the claims sample: held-out gold accuracy 0.873 -> 0.679).
    Dawid-Skene stays while the annotators with fewer than 20 labels hold at most 10% of them."""
    from benchmarks.crowd import make_crowd

    reg = get_registry()
    crowd = make_crowd(n_tasks=400, n_workers=6, n_classes=3, overlap=3, spammers=0.2, biased=0.2, seed=3)
    table = crowd.long_table()
    schema = LabelSchema(LabelKind.SINGLE, tuple(sorted(table["label"].unique())))
    truth = crowd.truth

    def accuracy(res):
        labels = res.labels.set_index("unit")["label"]
        return float((labels.reindex(truth.index) == truth).mean())

    alone = aggregate_table(reg, schema, table, "auto")
    assert alone.method == "dawid_skene"
    units = list(truth.index[:3])
    late = pd.DataFrame({"unit": units, "annotator": "pat@example.org", "label": [truth[u] for u in units]})
    joined = aggregate_table(reg, schema, pd.concat([table, late], ignore_index=True), "auto")
    assert joined.method == "dawid_skene"
    assert joined.notes[0] == ("auto: picked dawid_skene (6 annotators with >= 20 labels; 'pat@example.org' 3 "
                               "with fewer: 0.2% of the labels); no gold units to compare methods on (needs 30)")
    # the three extra labels move where EM stops (30 iterations instead of 32, crowd-kit's stopping
    # rule): one unit of 400 differs at tol 1e-5, none when both run to 100 iterations
    assert accuracy(joined) >= accuracy(alone) - 1 / 400
    assert min(accuracy(joined), accuracy(alone)) > accuracy(aggregate_table(reg, schema, table, "majority"))
    # many sparse annotators (here a quarter of the labels, one each) are another matter: majority
    tail = table["unit"].isin(truth.index[-100:])
    sparse = table.copy()
    sparse.loc[tail, "annotator"] = "s-" + sparse.loc[tail, "unit"].astype(str) + "-" + sparse.loc[tail, "annotator"]
    picked, note = choose_method(reg, schema, sparse, "auto")
    assert picked == "majority" and "hold" in note and "more than 10%" in note

import pandas as pd
import pytest

from workbench.models import (
    LabelError,
    LabelKind,
    LabelSchema,
    Span,
    as_long_table,
    label_key,
    label_to_json,
    unit_id,
)

SINGLE = LabelSchema(LabelKind.SINGLE, ("a", "b"))
MULTI = LabelSchema(LabelKind.MULTI, ("x", "y", "z"))
SPANS = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON"))


def test_single_normalizes_and_rejects():
    assert SINGLE.normalize("a") == "a"
    with pytest.raises(LabelError, match="'c' is not one of"):
        SINGLE.normalize("c")
    with pytest.raises(LabelError):
        SINGLE.normalize(["a"])


def test_multi_is_sorted_and_deduplicated():
    assert MULTI.normalize(["z", "x", "z"]) == ("x", "z")
    assert MULTI.normalize([]) == ()
    with pytest.raises(LabelError, match=r"\['w'\]"):
        MULTI.normalize(["w"])
    with pytest.raises(LabelError):
        MULTI.normalize("x")


def test_spans_accept_dicts_and_check_offsets():
    got = SPANS.normalize([{"start": 5, "end": 9, "label": "ORG"}, Span(0, 3, "PERSON")], text_length=10)
    assert got == (Span(0, 3, "PERSON"), Span(5, 9, "ORG"))
    with pytest.raises(LabelError, match="past the unit"):
        SPANS.normalize([{"start": 5, "end": 11, "label": "ORG"}], text_length=10)
    with pytest.raises(LabelError, match="non-empty"):
        SPANS.normalize([{"start": 5, "end": 5, "label": "ORG"}])
    with pytest.raises(LabelError, match="GPE"):
        SPANS.normalize([{"start": 0, "end": 1, "label": "GPE"}])
    with pytest.raises(LabelError, match="expected a span"):
        SPANS.normalize([{"begin": 0}])


def test_label_json_round_trip():
    spans = SPANS.normalize([{"start": 0, "end": 3, "label": "ORG"}])
    assert label_to_json(spans) == [{"start": 0, "end": 3, "label": "ORG"}]
    assert SPANS.normalize(label_to_json(spans)) == spans
    assert label_key(("x", "z")) == '["x", "z"]'


def test_schema_rejects_duplicates_and_empty():
    with pytest.raises(ValueError):
        LabelSchema(LabelKind.SINGLE, ())
    with pytest.raises(ValueError):
        LabelSchema(LabelKind.SINGLE, ("a", "a"))


def test_unit_ids_are_stable_and_distinct():
    assert unit_id("t", "abc", 0, 5) == unit_id("t", "abc", 0, 5)
    assert len({unit_id("t", "abc", 0, 5), unit_id("t", "abc", 0, 6), unit_id("u", "abc", 0, 5),
                unit_id("t", "abd", 0, 5)}) == 4


def test_long_table_accepts_crowdkit_columns():
    df = pd.DataFrame({"task": ["u1"], "worker": ["w1"], "label": ["a"]})
    assert list(as_long_table(df).columns) == ["unit", "annotator", "label"]
    with pytest.raises(ValueError, match="missing"):
        as_long_table(pd.DataFrame({"task": ["u1"]}))

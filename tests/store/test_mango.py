"""The Mango matcher, sort and projection on their own: CouchDB's rules, no database."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drwlab.errors import InvalidQuery
from drwlab.store.mango import (
    collate,
    equalities,
    matches,
    parse_selector,
    project,
    sort_docs,
    to_selector,
    validate_selector,
)

DOC: dict[str, Any] = {
    "_id": "d1",
    "n": 2,
    "s": "banana",
    "t": True,
    "z": None,
    "tags": ["x", "y"],
    "obj": {"k": 1, "deep": {"v": "q"}},
    "list": [{"a": 1}, {"a": 2}],
    "dotted.key": 7,
}


@pytest.mark.parametrize(
    "selector",
    [
        {},
        {"n": 2},
        {"n": 2.0},
        {"n": {"$eq": 2}},
        {"n": {"$ne": 3}},
        {"n": {"$gt": 1, "$lt": 3}},
        {"n": {"$gte": 2, "$lte": 2}},
        {"s": "banana", "t": True},
        {"s": {"$in": ["apple", "banana"]}},
        {"tags": {"$in": ["y", "q"]}},
        {"tags": ["x", "y"]},
        {"s": {"$regex": "an+a$"}},
        {"z": None},
        {"z": {"$exists": True}},
        {"missing": {"$exists": False}},
        {"obj.k": 1},
        {"obj": {"k": 1}},
        {"obj": {"deep": {"v": "q"}}},
        {"obj.deep.v": {"$regex": "^q"}},
        {"list.1.a": 2},
        {"tags.0": "x"},
        {"dotted\\.key": 7},
        {"$or": [{"n": 5}, {"s": "banana"}]},
        {"$and": [{"n": {"$gt": 0}}, {"t": True}]},
        {"$and": []},
        {"n": {"$or": [1, 2]}},
        {"n": {"$and": [{"$gt": 1}, {"$lt": 5}]}},
        {"n": {"$gt": None}},
        {"s": {"$gt": 1000}},
        {"tags": {"$gt": "zzz"}},
        {"obj": {"$gt": ["anything"]}},
        {"t": {"$gt": False}},
        {"_id": "d1"},
    ],
)
def test_a_document_matches_these_selectors(selector: dict[str, Any]) -> None:
    validate_selector(selector)
    assert matches(DOC, selector)


@pytest.mark.parametrize(
    "selector",
    [
        {"n": 3},
        {"n": "2"},
        {"n": True},
        {"n": {"$ne": 2}},
        {"n": {"$gt": 2}},
        {"n": {"$lt": 2}},
        {"s": "banana", "t": False},
        {"s": {"$in": []}},
        {"s": {"$in": ["apple"]}},
        {"s": {"$regex": "^an"}},
        {"n": {"$regex": "2"}},
        {"missing": {"$ne": 1}},
        {"missing": None},
        {"missing": {"$exists": True}},
        {"missing": {"$gt": None}},
        {"z": {"$exists": False}},
        {"obj": {"k": 2}},
        {"obj.missing": {"$ne": 1}},
        {"s.length": {"$exists": False}},
        {"tags.2": {"$exists": False}},
        {"tags.x": "x"},
        {"tags": ["y", "x"]},
        {"$or": []},
        {"$or": [{"n": 5}, {"s": "apple"}]},
        {"$and": [{"n": 2}, {"s": "apple"}]},
        {"t": {"$gt": True}},
        {"obj": {"$eq": {"deep": {"v": "q"}, "k": 1}}},
    ],
)
def test_a_document_does_not_match_these_selectors(selector: dict[str, Any]) -> None:
    assert not matches(DOC, selector)


@pytest.mark.parametrize(
    "selector",
    [
        [],
        "n",
        None,
        {"n": {"$foo": 1}},
        {"n": {"$nin": [1]}},
        {"$gt": 1},
        {"$not": {"n": 1}},
        {"n": {"$in": 1}},
        {"n": {"$exists": "yes"}},
        {"n": {"$exists": 1}},
        {"n": {"$regex": 5}},
        {"n": {"$regex": "("}},
        {"$or": {"n": 1}},
        {"$and": "n"},
        {"$or": [1, 2]},
        {"": 1},
        {"a..b": 1},
        {"n": {"$eq": object()}},
    ],
)
def test_an_unsupported_or_malformed_selector_is_an_invalid_query(selector: Any) -> None:
    with pytest.raises(InvalidQuery):
        validate_selector(selector)
    with pytest.raises(InvalidQuery):
        matches(DOC, selector)


def test_values_collate_in_couchdb_order_across_types() -> None:
    ordered = [None, False, True, -1, 0, 1.5, 2, "", "A", "B", "a", "b", [], [1], [1, 2], [2], {}]
    ordered += [{"a": 1}, {"a": 2}, {"a": 2, "b": 0}, {"b": 0}]
    for i, low in enumerate(ordered):
        assert collate(low, low) == 0
        for high in ordered[i + 1 :]:
            assert collate(low, high) == -1, (low, high)
            assert collate(high, low) == 1, (high, low)


def test_an_integer_and_its_float_are_equal() -> None:
    assert collate(1, 1.0) == 0
    assert matches({"n": 1.0}, {"n": 1})


def test_ne_does_not_match_a_missing_field_but_does_match_null() -> None:
    assert not matches({"other": 1}, {"f": {"$ne": 1}})
    assert matches({"f": None}, {"f": {"$ne": 1}})


def test_exists_false_beside_another_condition_needs_both() -> None:
    assert not matches({}, {"f": {"$exists": False, "$gt": 1}})
    assert matches({}, {"f": {"$exists": False}, "g": {"$exists": False}})


def test_a_bare_empty_object_means_equal_to_an_empty_object() -> None:
    assert matches({"f": {}}, {"f": {}})
    assert not matches({"f": {"k": 1}}, {"f": {}})


def test_equalities_are_the_conditions_every_match_meets() -> None:
    node = parse_selector({"a": 1, "b": {"c": "x"}, "d": {"$gt": 1}, "$or": [{"e": 1}]})
    assert equalities(node) == [(("a",), 1), (("b", "c"), "x")]
    assert equalities(parse_selector({"$or": [{"a": 1}]})) == []


@pytest.mark.parametrize(
    ("selector", "normal"),
    [
        ({}, {}),
        ({"o": {"deep": {"v": "q"}}}, {"o.deep.v": {"$eq": "q"}}),
        ({"a\\.b": 1}, {"a\\.b": {"$eq": 1}}),
        ({"n": {"$gt": 1, "$lt": 3}}, {"$and": [{"n": {"$gt": 1}}, {"n": {"$lt": 3}}]}),
        ({"n": {"$or": [1, {"$gt": 5}]}}, {"$or": [{"n": {"$eq": 1}}, {"n": {"$gt": 5}}]}),
        ({"$or": [{}, {"a": {}}]}, {"$or": [{}, {"a": {"$eq": {}}}]}),
    ],
)
def test_a_selector_normalises_to_couchdbs_explicit_form(selector: Any, normal: Any) -> None:
    assert to_selector(parse_selector(selector)) == normal
    assert to_selector(parse_selector(normal)) == normal


def _ids(docs: list[Any]) -> list[str]:
    return [doc["_id"] for doc in docs]


def test_sort_orders_by_collation_and_leaves_out_documents_without_the_field() -> None:
    docs = [
        {"_id": "str", "k": "a"},
        {"_id": "none", "k": None},
        {"_id": "missing"},
        {"_id": "num", "k": 10},
        {"_id": "two", "k": 2},
        {"_id": "list", "k": [0]},
        {"_id": "false", "k": False},
    ]
    ascending = ["none", "false", "two", "num", "str", "list"]
    assert _ids(sort_docs(docs, ["k"])) == ascending
    assert _ids(sort_docs(docs, [{"k": "asc"}])) == ascending
    assert _ids(sort_docs(docs, [{"k": "desc"}])) == ascending[::-1]


def test_sort_breaks_ties_by_id_in_the_sort_direction_and_by_later_fields() -> None:
    docs = [{"_id": i, "a": 1, "b": b} for i, b in (("x", 2), ("y", 1), ("w", 1))]
    assert _ids(sort_docs(docs, ["a"])) == ["w", "x", "y"]
    assert _ids(sort_docs(docs, [{"a": "desc"}])) == ["y", "x", "w"]
    assert _ids(sort_docs(docs, ["a", "b"])) == ["w", "y", "x"]


def test_sort_by_a_nested_field() -> None:
    docs = [{"_id": "p", "o": {"t": 2}}, {"_id": "q", "o": {"t": 1}}]
    assert _ids(sort_docs(docs, ["o.t"])) == ["q", "p"]


@pytest.mark.parametrize(
    "sort", ["k", [{"k": "up"}], [{"k": "asc", "j": "asc"}], [1], ["k", {"j": "desc"}]]
)
def test_a_malformed_or_mixed_direction_sort_is_an_invalid_query(sort: Any) -> None:
    with pytest.raises(InvalidQuery):
        sort_docs([], sort)


def test_projection_keeps_only_the_named_fields_nested_ones_in_shape() -> None:
    assert project(DOC, ["s", "missing", "obj.deep.v"]) == {
        "s": "banana",
        "obj": {"deep": {"v": "q"}},
    }
    assert project(DOC, ["_id"]) == {"_id": "d1"}
    assert project(DOC, ["obj", "obj.k"]) == {"obj": DOC["obj"]}
    assert DOC["obj"] == {"k": 1, "deep": {"v": "q"}}
    with pytest.raises(InvalidQuery):
        project(DOC, "s")  # type: ignore[arg-type]


json_scalars = (
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5) | st.text("ab", max_size=3)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text("ab", max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(json_values, json_values, json_values)
def test_collation_is_a_total_order(a: Any, b: Any, c: Any) -> None:
    assert collate(a, b) == -collate(b, a)
    if collate(a, b) <= 0 and collate(b, c) <= 0:
        assert collate(a, c) <= 0


@given(json_values, json_values)
def test_comparison_operators_agree_with_collation(value: Any, arg: Any) -> None:
    doc = {"f": value}
    order = collate(value, arg)
    assert matches(doc, {"f": {"$eq": arg}}) == (order == 0)
    assert matches(doc, {"f": {"$ne": arg}}) == (order != 0)
    assert matches(doc, {"f": {"$gt": arg}}) == (order > 0)
    assert matches(doc, {"f": {"$lte": arg}}) == (order <= 0)


@given(st.lists(st.fixed_dictionaries({"k": json_values}), max_size=8))
def test_sorted_documents_come_in_collation_order(rows: list[dict[str, Any]]) -> None:
    docs = [{"_id": f"{i:02d}", **row} for i, row in enumerate(rows)]
    keys = [doc["k"] for doc in sort_docs(docs, ["k"])]
    assert len(keys) == len(docs)
    assert all(collate(a, b) <= 0 for a, b in itertools.pairwise(keys))

"""vc.claims_path against the OpenID4VP §7.4 / OpenID4VCI App. C.3 example and the §7.1.1 processing rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vc.claims_path import (
    check_path,
    covers,
    leaf_paths,
    path_exists,
    select,
    select_with_paths,
    try_select_with_paths,
)
from vc.errors import ClaimInvalid

EXAMPLE = json.loads((Path(__file__).parents[1] / "vectors" / "oid4vp" / "claims_path_example.json").read_text())
DOCUMENT: dict[str, Any] = EXAMPLE["document"]


@pytest.mark.parametrize("case", EXAMPLE["selections"], ids=[str(c["path"]) for c in EXAMPLE["selections"]])
def test_spec_example(case: dict[str, Any]) -> None:
    assert select(DOCUMENT, case["path"]) == case["selected"]
    assert path_exists(DOCUMENT, case["path"])


def test_concrete_paths_resolve_null() -> None:
    assert select_with_paths(DOCUMENT, ["degrees", None, "type"]) == [
        (("degrees", 0, "type"), "Bachelor of Science"),
        (("degrees", 1, "type"), "Master of Science"),
    ]
    assert select_with_paths(DOCUMENT, ["nationalities", None]) == [
        (("nationalities", 0), "British"),
        (("nationalities", 1), "Betelgeusian"),
    ]


def test_missing_keys_and_indices_drop_elements() -> None:
    document = {"items": [{"a": 1}, {"b": 2}, {"a": 3}], "list": [1, 2]}
    assert select(document, ["items", None, "a"]) == [1, 3]
    assert select(document, ["items", 2, "a"]) == [3]
    assert try_select_with_paths(document, ["list", 5]) is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (["nickname"], "no claim is selected"),
        (["nationalities", 7], "no claim is selected"),
        (["name", "first"], "is not an object"),
        (["address", None], "is not an array"),
        (["address", 0], "is not an array"),
        (["degrees", "type"], "is not an object"),
        (["nationalities", None, "x"], "is not an object"),
    ],
)
def test_processing_errors(path: list[Any], reason: str) -> None:
    with pytest.raises(ClaimInvalid, match=reason):
        select(DOCUMENT, path)
    assert not path_exists(DOCUMENT, path)
    assert try_select_with_paths(DOCUMENT, path) is None


def test_string_applied_to_a_mixed_array_aborts() -> None:
    # §7.1.1 step 2.1: if *any* selected element is not an object, processing aborts.
    with pytest.raises(ClaimInvalid):
        select({"xs": [{"a": 1}, "text"]}, ["xs", None, "a"])


@pytest.mark.parametrize("path", [[], ["a", -1], ["a", True], ["a", 1.0], ["a", {"b": 1}], "address", {"address": 1}])
def test_invalid_paths(path: Any) -> None:
    with pytest.raises(ClaimInvalid):
        check_path(path)
    with pytest.raises(ClaimInvalid):
        select(DOCUMENT, path)
    assert not path_exists(DOCUMENT, path)


def test_root_must_be_an_object_for_keys() -> None:
    with pytest.raises(ClaimInvalid, match="the root is not an object"):
        select(["a"], ["a"])
    assert select(["a", "b"], [1]) == ["b"]


def test_leaf_paths() -> None:
    assert leaf_paths(DOCUMENT) == [
        ("name",),
        ("address", "street_address"),
        ("address", "locality"),
        ("address", "postal_code"),
        ("degrees", 0, "type"),
        ("degrees", 0, "university"),
        ("degrees", 1, "type"),
        ("degrees", 1, "university"),
        ("nationalities", 0),
        ("nationalities", 1),
    ]
    assert leaf_paths({"empty": {}, "none": [], "n": None}) == [("empty",), ("none",), ("n",)]
    assert leaf_paths({}) == []
    for leaf in leaf_paths(DOCUMENT):
        assert path_exists(DOCUMENT, leaf)


@pytest.mark.parametrize(
    ("path", "concrete", "expected"),
    [
        (["degrees", None, "type"], ("degrees", 1, "type"), True),
        (["degrees", None], ("degrees", 1, "type"), True),
        (["degrees"], ("degrees", 0), True),
        (["degrees", 0], ("degrees", 1, "type"), False),
        (["degrees", None, "type"], ("degrees", 1), False),
        (["degrees", None], ("degrees", "x"), False),
        (["a", 1], ("a", True), False),
        (["address", "locality"], ("address", "postal_code"), False),
    ],
)
def test_covers(path: list[Any], concrete: tuple[Any, ...], expected: bool) -> None:
    assert covers(path, concrete) is expected

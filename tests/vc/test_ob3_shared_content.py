"""`vc.ob3.SharedContentValidator`: many OB 3.0 credentials of one badge, each as valid as a full
validation says, with only their varying values checked again."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

import vc.ob3
from vc.errors import SchemaInvalid
from vc.ob3 import SharedContentValidator, open_badge_credential_errors

VARYING = (("id",), ("validFrom",), ("validUntil",), ("credentialStatus", "id"),
           ("credentialSubject", "id"), ("credentialSubject", "identifier", "*", "identityHash"),
           ("credentialSubject", "identifier", "*", "salt"), ("credentialSubject", "result", "*", "value"))


@pytest.fixture
def credential(ob3_spec_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ob3_spec_dir / "examples" / "1edtech" / "complete.json").read_text())
    document["validUntil"] = "2031-01-01T00:00:00Z"
    assert open_badge_credential_errors(document) == []
    return document


@pytest.fixture
def full_validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every full validation `SharedContentValidator` runs."""
    seen: list[Any] = []
    full = vc.ob3._errors

    def counting(validator: Any, instance: Any) -> list[str]:
        seen.append(instance)
        return full(validator, instance)

    monkeypatch.setattr(vc.ob3, "_errors", counting)
    return seen


def another(credential: dict[str, Any], n: int) -> dict[str, Any]:
    """The same badge for another learner: every varying value changed."""
    other = copy.deepcopy(credential)
    other.update(id=f"urn:uuid:{n}", validFrom=f"2024-01-{n % 28 + 1:02d}T10:00:00Z", validUntil="2030-02-02T00:00:00Z")
    other["credentialStatus"]["id"] = f"https://issuer.example/status/1#{n}"
    subject = other["credentialSubject"]
    subject["id"] = f"did:example:{n}"
    for item in subject["identifier"]:
        item.update(identityHash=f"sha256${n:064x}", salt=f"{n:016x}")
    subject["result"][0]["value"] = str(n)
    return other


def test_credentials_that_differ_only_in_varying_values_are_validated_in_full_once(
        credential: dict[str, Any], full_validations: list[Any]) -> None:
    validator = SharedContentValidator.for_open_badge_credentials(VARYING)
    for n in range(20):
        validator.validate(another(credential, n))
    assert len(full_validations) == 1


@pytest.mark.parametrize(("path", "value"), [
    (("validFrom",), "yesterday"), (("validUntil",), "2030-02-30T00:00:00Z"), (("id",), 7),
    (("credentialStatus", "id"), None), (("credentialSubject", "id"), ["did:example:1"]),
    (("credentialSubject", "identifier", 1, "identityHash"), 42), (("credentialSubject", "identifier", 0, "salt"), False),
    (("credentialSubject", "result", 0, "value"), 8.5),
])
def test_a_bad_varying_value_of_a_known_shape_is_refused(credential: dict[str, Any], path: tuple[Any, ...],
                                                         value: Any) -> None:
    validator = SharedContentValidator.for_open_badge_credentials(VARYING)
    validator.validate(another(credential, 1))
    bad = another(credential, 2)
    node: Any = bad
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    expected = open_badge_credential_errors(bad)
    assert expected, "the mutation must make the credential invalid"
    assert validator.errors(bad) == expected
    with pytest.raises(SchemaInvalid, match="OpenBadgeCredential is not valid"):
        validator.validate(bad)


@pytest.mark.parametrize("mutate", [
    lambda c: c["credentialSubject"]["achievement"].update(name=12),
    lambda c: c["credentialSubject"]["identifier"][0].pop("hashed"),  # required member
    lambda c: c["credentialSubject"]["identifier"][0].update(extra="x"),  # additionalProperties: false
    lambda c: c["credentialSubject"].pop("type"),
    lambda c: c.update(type=["VerifiableCredential"]),
], ids=["achievement-name", "missing-required", "unexpected-member", "subject-type", "credential-type"])
def test_a_change_outside_the_varying_values_gets_a_full_validation(credential: dict[str, Any], mutate: Any,
                                                                    full_validations: list[Any]) -> None:
    validator = SharedContentValidator.for_open_badge_credentials(VARYING)
    validator.validate(another(credential, 1))
    changed = another(credential, 2)
    mutate(changed)
    assert validator.errors(changed) == open_badge_credential_errors(changed) != []
    assert len(full_validations) == 3  # the first credential, the changed one, and the reference run here


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


def test_verdicts_equal_full_validation_under_random_changes(credential: dict[str, Any]) -> None:
    """The cache never turns a verdict: for hundreds of random changes, anywhere in the credential,
    the validator says exactly what a full validation says (seeded, so every run checks the same)."""
    rng = random.Random(20240601)
    validator = SharedContentValidator.for_open_badge_credentials(VARYING, cache_size=4)
    replacements: list[Any] = [None, 7, 8.5, True, "text", "2024-05-05T05:05:05Z", [], {}, ["Result"]]
    refused = 0
    for n in range(300):
        changed = another(credential, n)
        for _ in range(rng.randint(0, 2)):
            path = rng.choice(_paths(changed))
            parent: Any = changed
            for step in path[:-1]:
                parent = parent[step]
            if rng.random() < 0.2 and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(replacements))
        expected = open_badge_credential_errors(changed)
        refused += bool(expected)
        assert validator.errors(changed) == expected, n
    assert 50 < refused < 250, "the random changes make both valid and invalid credentials"


@pytest.mark.parametrize("path", [("issuer", "name"), ("type", "*"), ("credentialSubject", "type", "*")])
def test_a_varying_value_under_a_combinator_is_refused(path: tuple[str, ...]) -> None:
    """oneOf / contains look at several members at once: a value under them cannot be checked on its own."""
    with pytest.raises(SchemaInvalid, match="a varying value lies under"):
        SharedContentValidator.for_open_badge_credentials([path])

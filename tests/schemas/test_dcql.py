"""schemas.dcql: the OpenID4VP §6 / App. D DCQL examples round-trip, and every §6 rule refuses bad queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.dcql import DcqlQuery, parse_dcql_query
from schemas.oauth2 import InvalidRequest

VECTORS = Path(__file__).parents[1] / "vectors" / "oid4vp"
CASES = sorted(p for p in VECTORS.glob("*.json") if json.loads(p.read_text()).get("model") == "DcqlQuery")


def test_vectors_are_there() -> None:
    assert len(CASES) >= 9


@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_spec_example_round_trips(path: Path) -> None:
    vector = json.loads(path.read_text())
    query = parse_dcql_query(vector["message"])
    assert query.dump() == vector["message"]
    assert parse_dcql_query(query.dump_json()).dump() == vector["message"]


def test_defaults_and_lookup() -> None:
    query = parse_dcql_query(json.loads((VECTORS / "dcql_credentials_alternatives.json").read_text())["message"])
    pid = query.credential("pid")
    assert pid.multiple is False and pid.require_cryptographic_holder_binding is True
    assert query.credential_sets is not None
    assert query.credential_sets[0].required is True and query.credential_sets[1].required is False
    with pytest.raises(KeyError):
        query.credential("nope")


def test_unknown_properties_are_kept() -> None:
    body = {
        "credentials": [
            {
                "id": "ob3",
                "format": "jwt_vc_json",
                "meta": {"type_values": [["OpenBadgeCredential"]], "future_meta": 1},
                "claims": [{"path": ["credentialSubject", "achievement", "name"], "purpose": "x"}],
                "extension": True,
            }
        ],
        "future": {"a": 1},
    }
    query = parse_dcql_query(body)
    assert query.dump() == body
    assert query.model_extra == {"future": {"a": 1}}


def _query(**credential: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://example.com/pid"]}}
    base.update(credential)
    return {"credentials": [{k: v for k, v in base.items() if v is not None}]}


CLAIMS = [{"id": "a", "path": ["given_name"]}, {"id": "b", "path": ["family_name"]}]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"credentials": []}, "at least 1 item"),
        ({}, "Field required"),
        (
            {"credentials": [*_query()["credentials"], *_query()["credentials"]]},
            "credential query id pid used more than once",
        ),
        (_query(id="my credential"), "String should match pattern"),
        (_query(id="äbc"), "String should match pattern"),
        (_query(id=""), "at least 1 character"),
        (_query(id="a" * 129), "at most 128"),
        (_query(meta=None), "meta: Field required"),
        (_query(meta={}), "meta.vct_values is required for format dc+sd-jwt"),
        (_query(meta={"type_values": [["X"]]}), "meta.vct_values is required"),
        (_query(format="jwt_vc_json"), "meta.type_values is required for format jwt_vc_json"),
        (_query(format="ldp_vc", meta={"type_values": []}), "at least 1 item"),
        (_query(format="jwt_vc_json", meta={"type_values": [[]]}), "at least 1 item"),
        (_query(format="mso_mdoc", meta={"vct_values": ["x"]}), "meta.doctype_value is required"),
        (_query(meta={"vct_values": []}), "at least 1 item"),
        (_query(claims=[]), "at least 1 item"),
        (_query(claims=[{"path": []}]), "at least 1 item"),
        (_query(claims=[{"path": ["a", -2]}]), "non-negative integers"),
        (_query(claims=[{"id": "a b", "path": ["x"]}]), "String should match pattern"),
        (_query(claims=[{"id": "a", "path": ["x"]}, {"id": "a", "path": ["y"]}]), "claim id a used more than once"),
        (_query(claims=CLAIMS, claim_sets=[["a", "z"]]), "claim_sets refer to unknown claim ids: z"),
        (_query(claims=[{"path": ["x"]}], claim_sets=[["a"]]), "every claim needs an id"),
        (_query(claim_sets=[["a"]]), "claim_sets MUST NOT be present if claims is absent"),
        (_query(claims=CLAIMS, claim_sets=[]), "at least 1 item"),
        (_query(claims=CLAIMS, claim_sets=[[]]), "at least 1 item"),
        (_query(claims=[{"path": ["x"], "values": []}]), "at least 1 item"),
        (_query(claims=[{"path": ["x"], "values": [1.5]}]), "values.0"),
        (_query(claims=[{"path": ["x"], "values": [{"a": 1}]}]), "values.0"),
        (_query(claims=[{"path": ["x"], "values": [None]}]), "values.0"),
        (_query(multiple="yes"), "valid boolean"),
        (_query(require_cryptographic_holder_binding=1), "valid boolean"),
        (_query(trusted_authorities=[]), "at least 1 item"),
        (_query(trusted_authorities=[{"type": "aki", "values": []}]), "at least 1 item"),
        (
            _query(
                format="mso_mdoc",
                meta={"doctype_value": "org.iso.18013.5.1.mDL"},
                claims=[{"path": ["org.iso.18013.5.1", "a", "b"]}],
            ),
            "namespace",
        ),
        (
            _query(
                format="mso_mdoc",
                meta={"doctype_value": "org.iso.18013.5.1.mDL"},
                claims=[{"path": ["org.iso.18013.5.1", 0]}],
            ),
            "namespace",
        ),
        (
            {**_query(), "credential_sets": [{"options": [["pid", "other"]]}]},
            "credential_sets refer to unknown credential query ids: other",
        ),
        ({**_query(), "credential_sets": [{"options": []}]}, "at least 1 item"),
        ({**_query(), "credential_sets": [{"options": [[]]}]}, "at least 1 item"),
        ({**_query(), "credential_sets": []}, "at least 1 item"),
        ({**_query(), "credential_sets": [{"options": [["pid"]], "required": "no"}]}, "valid boolean"),
        ('{"credentials": [', "Invalid JSON"),
    ],
)
def test_invalid_queries(body: Any, reason: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_dcql_query(body)
    assert caught.value.error == "invalid_request"
    assert reason in (caught.value.description or ""), caught.value.description


def test_other_formats_and_values() -> None:
    custom = _query(format="org.example+cbor", meta={})
    assert parse_dcql_query(custom).credentials[0].meta.model_extra == {}
    values = _query(claims=[{"path": ["age_over_18"], "values": [True]}, {"path": ["n"], "values": [1, "1"]}])
    query = parse_dcql_query(values)
    assert query.credentials[0].claims is not None
    assert query.credentials[0].claims[0].values == [True]
    assert query.credentials[0].claims[1].values == [1, "1"]


def test_built_in_code() -> None:
    query = DcqlQuery.model_validate(_query(claims=[{"path": ["achievement", "name"]}]))
    assert query.dump() == _query(claims=[{"path": ["achievement", "name"]}])

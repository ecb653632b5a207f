"""schemas.oid4vp against the OpenID4VP 1.0 examples (tests/vectors/oid4vp) and its validation rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

import schemas.oid4vp as vp
from schemas.oauth2 import InvalidRequest, ProtocolError
from schemas.oid4vp import (
    AuthorizationRequest,
    AuthorizationResponse,
    InvalidRequestUriMethod,
    InvalidTransactionData,
    create_authorization_request_uri,
    decode_transaction_data,
    parse_authorization_request_uri,
    parse_client_id,
    parse_model,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "oid4vp"
ALL = [(p, json.loads(p.read_text())) for p in sorted(VECTORS.glob("*.json"))]
MODEL_CASES = [(p, v) for p, v in ALL if "model" in v and v["model"] != "DcqlQuery"]
URI_CASES = [(p, v) for p, v in ALL if v.get("kind") == "request_uri"]


def test_vectors_are_there() -> None:
    assert len(MODEL_CASES) >= 15 and len(URI_CASES) == 3
    assert all(v["source"].startswith("openid/OpenID4VP") for _, v in ALL)


@pytest.mark.parametrize(("path", "vector"), MODEL_CASES, ids=[p.stem for p, _ in MODEL_CASES])
def test_spec_example_round_trips(path: Path, vector: dict[str, Any]) -> None:
    model = getattr(vp, vector["model"])
    if "expect_error" in vector:
        with pytest.raises(InvalidRequest, match=vector["expect_error"]):
            parse_model(model, vector["message"])
        return
    if "form" in vector:
        form = dict(parse_qsl(vector["form"], keep_blank_values=True))
        parsed = parse_model(model, form)
        expected = {k: json.loads(v) if v.startswith("{") else v for k, v in form.items()}
        assert parsed.dump() == expected
        return
    parsed = parse_model(model, vector["message"])
    assert parsed.dump() == vector["message"]
    assert parse_model(model, parsed.dump_json()).dump() == vector["message"]


@pytest.mark.parametrize(("path", "vector"), URI_CASES, ids=[p.stem for p, _ in URI_CASES])
def test_spec_request_uris(path: Path, vector: dict[str, Any]) -> None:
    parsed = parse_authorization_request_uri(vector["uri"])
    if "expect_parameters" in vector:
        assert parsed.parameters is not None
        assert parsed.parameters.dump() == vector["expect_parameters"]
        assert parsed.client_id == vector["expect_parameters"]["client_id"]
        again = parse_authorization_request_uri(create_authorization_request_uri(parsed.parameters))
        assert again == parsed
    else:
        assert {
            k: v
            for k, v in (
                ("client_id", parsed.client_id),
                ("request_uri", parsed.request_uri),
                ("request_uri_method", parsed.request_uri_method),
                ("request", parsed.request),
            )
            if v is not None
        } == vector["expect"]
        assert parsed.parameters is None


def test_request_object_keeps_jwt_claims() -> None:
    vector = json.loads((VECTORS / "request_object_request_uri_post.json").read_text())
    request = parse_model(
        AuthorizationRequest, {**vector["message"], "aud": vp.SELF_ISSUED_AUDIENCE, "iat": 1790000000}
    )
    assert request.model_extra == {"aud": vp.SELF_ISSUED_AUDIENCE, "iat": 1790000000}
    assert request.client.prefix == vp.PREFIX_X509_SAN_DNS and request.client.orig_client_id == "client.example.org"
    assert (
        request.effective_response_mode == "direct_post"
        and request.effective_response_uri == "https://client.example.org/post"
    )
    did = parse_model(
        AuthorizationRequest, json.loads((VECTORS / "request_object_client_id_did.json").read_text())["message"]
    )
    assert did.effective_response_mode == vp.RESPONSE_MODE_FRAGMENT and did.effective_response_uri is None


# --- Client Identifier Prefixes (§5.9) ------------------------------------------------------

HASH = "Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"


@pytest.mark.parametrize(
    ("client_id", "prefix", "orig"),
    [
        ("redirect_uri:https://client.example.org/cb", vp.PREFIX_REDIRECT_URI, "https://client.example.org/cb"),
        ("x509_san_dns:client.example.org", vp.PREFIX_X509_SAN_DNS, "client.example.org"),
        (f"x509_hash:{HASH}", vp.PREFIX_X509_HASH, HASH),
        ("decentralized_identifier:did:example:123", vp.PREFIX_DECENTRALIZED_IDENTIFIER, "did:example:123"),
        (
            "decentralized_identifier:did:web:verifier.example.com",
            vp.PREFIX_DECENTRALIZED_IDENTIFIER,
            "did:web:verifier.example.com",
        ),
        ("verifier_attestation:example-client", vp.PREFIX_VERIFIER_ATTESTATION, "example-client"),
        (
            "openid_federation:https://federation-verifier.example.com",
            vp.PREFIX_OPENID_FEDERATION,
            "https://federation-verifier.example.com",
        ),
        ("example-client", vp.PRE_REGISTERED, "example-client"),
        ("https://client.example.org/cb", vp.PRE_REGISTERED, "https://client.example.org/cb"),
        (
            "redirect_uri:http://localhost:8003/oid4vp/response",
            vp.PREFIX_REDIRECT_URI,
            "http://localhost:8003/oid4vp/response",
        ),
    ],
)
def test_parse_client_id(client_id: str, prefix: str, orig: str) -> None:
    parsed = parse_client_id(client_id)
    assert (parsed.client_id, parsed.prefix, parsed.orig_client_id) == (client_id, prefix, orig)


@pytest.mark.parametrize(
    "client_id",
    [
        "origin:https://verifier.example.com",
        "",
        "redirect_uri:",
        "redirect_uri:http://client.example.org/cb",
        "redirect_uri:client.example.org",
        "x509_san_dns:https://client.example.org",
        "x509_san_dns:-bad-.example",
        "x509_hash:too-short",
        "decentralized_identifier:example:123",
        "openid_federation:federation.example",
    ],
)
def test_parse_client_id_refusals(client_id: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_client_id(client_id)


# --- Authorization Request (§5) ------------------------------------------------------------

DCQL = {
    "credentials": [
        {"id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://issuer.example.edu/vct/m/v1"]}}
    ]
}


def _request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "client_id": "decentralized_identifier:did:web:verifier.example.com",
        "response_type": "vp_token",
        "response_mode": "direct_post.jwt",
        "response_uri": "https://verifier.example.com/oid4vp/response",
        "nonce": "rB3x9kQmV0d2oL7sYt1pZw",
        "state": "c1d0f6a8e2b94b7e9a3f",
        "dcql_query": DCQL,
    }
    request.update(changes)
    return {k: v for k, v in request.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"scope": "com.example.badge"}, "exactly one of dcql_query and scope"),
        ({"dcql_query": None}, "exactly one of dcql_query and scope"),
        ({"redirect_uri": "https://verifier.example.com/cb"}, "redirect_uri MUST NOT be present"),
        ({"response_uri": None}, "response_uri is required"),
        ({"nonce": "has space"}, "nonce: String should match pattern"),
        ({"nonce": None}, "nonce: Field required"),
        ({"state": "a/b"}, "state: String should match pattern"),
        ({"client_id": "origin:https://verifier.example.com"}, "origin client identifier prefix"),
        ({"client_id": "x509_hash:abc"}, "base64url SHA-256"),
        ({"client_id": "redirect_uri:https://verifier.example.com/other"}, "must equal the redirect_uri"),
        ({"request_uri_method": "post"}, "request_uri_method MUST NOT be present"),
        (
            {"dcql_query": {"credentials": [{"id": "x", "format": "dc+sd-jwt", "meta": {}}]}},
            "dcql_query.credentials.0: meta.vct_values is required",
        ),
        ({"dcql_query": "{not json"}, "dcql_query: must be JSON"),
        ({"client_metadata": {"jwks": {"keys": [{"kty": "EC"}]}}}, "kid"),
        ({"client_metadata": {"vp_formats_supported": {}}}, "at least 1 item"),
        ({"transaction_data": []}, "at least 1 item"),
        ({"verifier_info": [{"format": "jwt"}]}, "data"),
        ({"response_type": None}, "response_type: Field required"),
    ],
)
def test_authorization_request_rules(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_model(AuthorizationRequest, _request(**changes))
    assert reason in (caught.value.description or ""), caught.value.description


def test_redirect_uri_prefix_may_omit_response_uri() -> None:
    request = parse_model(
        AuthorizationRequest,
        _request(
            client_id="redirect_uri:https://verifier.example.com/oid4vp/response",
            response_uri=None,
            response_mode="direct_post",
        ),
    )
    assert request.effective_response_uri == "https://verifier.example.com/oid4vp/response"


def test_json_string_parameters() -> None:
    params = {
        k: v if isinstance(v, str) else json.dumps(v)
        for k, v in _request(client_metadata={"vp_formats_supported": {"dc+sd-jwt": {}}}).items()
    }
    request = parse_model(AuthorizationRequest, params)
    assert request.dcql_query is not None and request.dcql_query.credentials[0].id == "badge"
    assert request.to_params()["dcql_query"] == json.dumps(DCQL, separators=(",", ":"))


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_transaction_data() -> None:
    item = {"type": "example_type", "credential_ids": ["badge"], "amount": "10"}
    request = parse_model(AuthorizationRequest, _request(transaction_data=[_b64(item)]))
    [decoded] = request.transaction_data_objects()
    assert decoded.dump() == item
    wrong_id = parse_model(
        AuthorizationRequest, _request(transaction_data=[_b64({**item, "credential_ids": ["other"]})])
    )
    with pytest.raises(InvalidTransactionData, match="credential_ids"):
        wrong_id.transaction_data_objects()


@pytest.mark.parametrize(
    "value",
    [
        "%%%",
        _b64([1]),
        _b64({"type": "t"}),
        _b64({"type": "t", "credential_ids": []}),
        base64.urlsafe_b64encode(b"not json").decode(),
    ],
)
def test_transaction_data_refusals(value: str) -> None:
    with pytest.raises(InvalidTransactionData) as caught:
        decode_transaction_data(value)
    assert caught.value.error == "invalid_transaction_data"


# --- Authorization Response (§8) -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"vp_token": {"a": ["x"]}, "error": "access_denied"},
        {"state": "s"},
        {"vp_token": {"a": []}},
        {"vp_token": {"a b": ["x"]}},
        {"vp_token": {"a": "x"}},
        {"vp_token": ["x"]},
        {"vp_token": "[not json"},
        {"vp_token": {"a": ["x"]}, "state": "not/safe"},
    ],
)
def test_authorization_response_rules(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        parse_model(AuthorizationResponse, body)


def test_direct_post_form_round_trip() -> None:
    response = AuthorizationResponse(
        vp_token={"badge": ["eyJ...~WyJ...~eyJ0eXAiOiJrYitqd3Qi"], "ob3": [{"@context": []}]}, state="c1d0"
    )
    form = response.to_form()
    assert json.loads(form["vp_token"]) == {"badge": ["eyJ...~WyJ...~eyJ0eXAiOiJrYitqd3Qi"], "ob3": [{"@context": []}]}
    assert parse_model(AuthorizationResponse, form) == response
    error = parse_model(
        AuthorizationResponse, {"error": "access_denied", "error_description": "user declined", "state": "c1d0"}
    )
    assert error.vp_token is None and error.to_form() == {
        "error": "access_denied",
        "error_description": "user declined",
        "state": "c1d0",
    }


# --- Invocation URI (§9) -------------------------------------------------------------------


def test_request_by_reference_round_trip() -> None:
    uri = create_authorization_request_uri(
        client_id="decentralized_identifier:did:web:verifier.example.com",
        request_uri="https://verifier.example.com/oid4vp/requests/q9Xk2",
        request_uri_method="post",
    )
    assert uri == (
        "openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Averifier.example.com"
        "&request_uri=https%3A%2F%2Fverifier.example.com%2Foid4vp%2Frequests%2Fq9Xk2&request_uri_method=post"
    )
    parsed = parse_authorization_request_uri(uri)
    assert parsed.client_id == "decentralized_identifier:did:web:verifier.example.com"
    assert parsed.request_uri_method == "post" and parsed.parameters is None
    plain = parse_authorization_request_uri(
        create_authorization_request_uri(client_id="v1", request_uri="http://127.0.0.1:8003/r/1", base="haip-vp://")
    )
    assert plain.request_uri == "http://127.0.0.1:8003/r/1" and plain.request_uri_method is None


def test_request_by_value_round_trip() -> None:
    request = parse_model(
        AuthorizationRequest,
        _request(
            client_id="redirect_uri:https://verifier.example.com/oid4vp/response",
            response_uri=None,
            response_mode="direct_post",
        ),
    )
    uri = create_authorization_request_uri(request, base="https://wallet.example.org/authorize")
    assert uri.startswith("https://wallet.example.org/authorize?client_id=redirect_uri%3Ahttps")
    assert parse_authorization_request_uri(uri).parameters == request
    with pytest.raises(ValueError):
        create_authorization_request_uri(request, request_uri="https://x.example/r")
    with pytest.raises(ValueError):
        create_authorization_request_uri(client_id="v1")


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        (
            "openid4vp://?client_id=v1&request_uri=https%3A%2F%2Fv.example%2Fr&request_uri_method=PUT",
            InvalidRequestUriMethod,
        ),
        (
            "openid4vp://?client_id=v1&request_uri=https%3A%2F%2Fv.example%2Fr&request_uri_method=POST",
            InvalidRequestUriMethod,
        ),
        ("openid4vp://?request_uri=https%3A%2F%2Fv.example%2Fr", InvalidRequest),
        ("openid4vp://?client_id=v1&request_uri=https%3A%2F%2Fv.example%2Fr&request=eyJ", InvalidRequest),
        ("openid4vp://?client_id=v1&request_uri=http%3A%2F%2Fv.example%2Fr", InvalidRequest),
        ("openid4vp://?client_id=v1&client_id=v2&request_uri=https%3A%2F%2Fv.example%2Fr", InvalidRequest),
        (
            "openid4vp://?client_id=origin%3Ahttps%3A%2F%2Fv.example&request_uri=https%3A%2F%2Fv.example%2Fr",
            InvalidRequest,
        ),
        ("openid4vp://?request=eyJ", InvalidRequest),
        ("openid4vp://?client_id=v1&request=eyJ&request_uri_method=get", InvalidRequest),
        ("openid4vp://?client_id=v1&response_type=vp_token&nonce=n&dcql_query=%7B%7D", InvalidRequest),
        ("openid4vp://?client_id=v1&response_type=vp_token&nonce=n&request_uri_method=get&scope=s", InvalidRequest),
        ("openid4vp://", InvalidRequest),
        ("openid4vp://?client_id=v1&request_uri=https%3A%2F%2Fv.example%2F" + "r" * 70000, InvalidRequest),
    ],
)
def test_request_uri_refusals(uri: str, error: type[ProtocolError]) -> None:
    with pytest.raises(error) as caught:
        parse_authorization_request_uri(uri)
    assert type(caught.value) is error


def test_request_uri_post_body() -> None:
    body = parse_model(
        vp.RequestUriPost, {"wallet_nonce": "qPmxiNFCR3QTm19POc8u", "wallet_metadata": quote("{}", safe="{}")}
    )
    assert body.wallet_metadata == {} and body.wallet_nonce == "qPmxiNFCR3QTm19POc8u"
    with pytest.raises(InvalidRequest):
        parse_model(vp.RequestUriPost, {"wallet_metadata": "[1]"})


ERROR_CODES = {
    "VpFormatsNotSupported": "vp_formats_not_supported",
    "InvalidRequestUriMethod": "invalid_request_uri_method",
    "InvalidTransactionData": "invalid_transaction_data",
    "WalletUnavailable": "wallet_unavailable",
}


@pytest.mark.parametrize(("name", "code"), sorted(ERROR_CODES.items()))
def test_error_classes(name: str, code: str) -> None:
    cls = getattr(vp, name)
    assert issubclass(cls, ProtocolError) and cls.error == code and cls.status_code == 400
    assert cls.__doc__ and len(cls.__doc__) > 20


def test_constants() -> None:
    assert vp.REQUEST_OBJECT_TYP == "oauth-authz-req+jwt"
    assert vp.OPENID4VP_SCHEME == "openid4vp://"
    assert vp.PREFIX_ORIGIN not in vp.CLIENT_ID_PREFIXES and len(vp.CLIENT_ID_PREFIXES) == 6

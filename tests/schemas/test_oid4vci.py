"""schemas.oid4vci against the OpenID4VCI 1.0 examples (tests/vectors/oid4vci) and its validation rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

import schemas.oid4vci as vci
from schemas.oauth2 import InvalidRequest, ProtocolError
from schemas.oid4vci import (
    AuthorizationServerMetadata,
    CredentialConfiguration,
    CredentialIssuerMetadata,
    CredentialOffer,
    CredentialRequest,
    CredentialResponse,
    InvalidCredentialRequest,
    InvalidNotificationRequest,
    NotificationRequest,
    TokenRequest,
    TokenResponse,
    authorization_server_metadata_url,
    create_credential_offer_uri,
    credential_issuer_metadata_url,
    parse_credential_offer_uri,
    parse_model,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "oid4vci"
CASES = sorted(VECTORS.glob("*.json"))


def _b64_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_vectors_are_there() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_spec_example_round_trips(path: Path) -> None:
    vector = json.loads(path.read_text())
    assert vector["source"].startswith("openid/OpenID4VCI")
    if vector.get("kind") == "offer_uri":
        parsed = parse_credential_offer_uri(vector["uri"])
        if "credential_offer" in vector:
            assert parsed.credential_offer is not None and parsed.credential_offer_uri is None
            assert parsed.credential_offer.dump() == vector["credential_offer"]
            again = parse_credential_offer_uri(create_credential_offer_uri(parsed.credential_offer))
        else:
            assert parsed.credential_offer is None
            assert parsed.credential_offer_uri == vector["credential_offer_uri"]
            again = parse_credential_offer_uri(
                create_credential_offer_uri(credential_offer_uri=parsed.credential_offer_uri)
            )
        assert again == parsed
        return
    model = getattr(vci, vector["model"])
    if "jwt" in vector:
        messages = [_b64_json(vector["jwt"].split(".")[1])]
    elif "form" in vector:
        form = dict(parse_qsl(vector["form"], keep_blank_values=True))
        request = parse_model(model, form)
        expected = {k: json.loads(v) if k == "authorization_details" else v for k, v in form.items()}
        assert request.dump() == expected
        assert dict(parse_model(model, request.to_form()).dump()) == expected
        return
    elif "each_of" in vector:
        messages = list(vector["message"][vector["each_of"]].values())
    elif vector.get("many"):
        messages = vector["message"]
    else:
        messages = [vector["message"]]
    for message in messages:
        parsed = parse_model(model, message)
        assert parsed.dump() == message  # lossless, unknown members kept
        assert parse_model(model, parsed.dump_json()).dump() == message


def test_unknown_members_are_kept() -> None:
    offer = CredentialOffer.model_validate(
        json.loads((VECTORS / "credential_offer_multiple_credentials.json").read_text())["message"]
    )
    assert offer.model_extra == {"issuer_redirect_uri": "https://credential-issuer.example.com/redirect"}
    assert offer.grants is not None and offer.grants.pre_authorized_code is not None
    assert offer.grants.pre_authorized_code.pre_authorized_code == "oaKazRN8I0IbtZ0C7JuMn5"
    assert offer.grants.pre_authorized_code.tx_code is not None


def test_signed_metadata_payload_keeps_jwt_claims() -> None:
    vector = json.loads((VECTORS / "credential_issuer_metadata_sd_jwt_jwt.json").read_text())
    header = _b64_json(vector["jwt"].split(".")[0])
    assert header["typ"] == vci.ISSUER_METADATA_TYP
    metadata = CredentialIssuerMetadata.model_validate(_b64_json(vector["jwt"].split(".")[1]))
    assert metadata.model_extra == {"sub": "https://credential-issuer.example.com", "iat": 1516239022}
    metadata.check_issuer("https://credential-issuer.example.com")
    with pytest.raises(InvalidRequest):
        metadata.check_issuer("https://credential-issuer.example.com/")


# --- Credential Request (§8.2) -------------------------------------------------------------

JWT = "eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCJ9.eyJhdWQiOiJ4In0.c2ln"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"credential_identifier": "a", "credential_configuration_id": "b"}, "exactly one of"),
        ({"proofs": {"jwt": [JWT]}}, "exactly one of"),
        ({"credential_configuration_id": "b", "proofs": {"jwt": [JWT], "di_vp": [{}]}}, "exactly one proof type"),
        ({"credential_configuration_id": "b", "proofs": {}}, "exactly one proof type"),
        ({"credential_configuration_id": "b", "proofs": {"jwt": []}}, "at least 1 item"),
        (
            {"credential_configuration_id": "b", "proof": {"proof_type": "jwt", "jwt": JWT}},
            "proof parameter of pre-final",
        ),
        ({"credential_configuration_id": "b", "proofs": {"jwt": [{"not": "a jwt"}]}}, "JWT strings"),
        ({"credential_configuration_id": "b", "proofs": {"attestation": [JWT, JWT]}}, "exactly one key attestation"),
        ({"credential_configuration_id": "", "proofs": {"jwt": [JWT]}}, "at least 1 character"),
        (
            {
                "credential_configuration_id": "b",
                "credential_response_encryption": {"jwk": {"kty": "EC", "alg": "ECDH-ES", "d": "x"}, "enc": "A128GCM"},
            },
            "private key",
        ),
        (
            {
                "credential_configuration_id": "b",
                "credential_response_encryption": {"jwk": {"kty": "EC"}, "enc": "A128GCM"},
            },
            "kty and alg",
        ),
        ("not json", "Invalid JSON"),
        ([1, 2], "valid dictionary"),
    ],
)
def test_credential_request_rules(body: Any, reason: str) -> None:
    with pytest.raises(InvalidCredentialRequest) as caught:
        parse_model(CredentialRequest, body, error=InvalidCredentialRequest)
    assert caught.value.error == "invalid_credential_request"
    assert caught.value.status_code == 400
    assert reason in (caught.value.description or "")


def test_credential_request_proof_accessors() -> None:
    request = CredentialRequest.model_validate({"credential_identifier": "c1", "proofs": {"jwt": [JWT, JWT]}})
    assert request.proof_type == "jwt" and request.proof_values == [JWT, JWT]
    bare = CredentialRequest(credential_configuration_id="c")
    assert bare.proof_type is None and bare.proof_values == [] and bare.dump() == {"credential_configuration_id": "c"}


def test_proofs_array_is_bounded() -> None:
    with pytest.raises(InvalidRequest, match="at most 100"):
        parse_model(CredentialRequest, {"credential_configuration_id": "b", "proofs": {"jwt": [JWT] * 101}})


# --- Credential Response (§8.3, §9.2) ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"credentials": [{"credential": "x"}], "transaction_id": "t", "interval": 5},
        {"transaction_id": "t"},
        {"credentials": [{"credential": "x"}], "interval": 5},
        {"transaction_id": "t", "interval": 5, "notification_id": "n"},
        {},
        {"credentials": []},
        {"credentials": [{}]},
        {"transaction_id": "t", "interval": 0},
    ],
)
def test_credential_response_rules(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        parse_model(CredentialResponse, body)


# --- Credential Offer (§4.1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"credential_issuer": "https://i.example", "credential_configuration_ids": []},
        {"credential_issuer": "https://i.example", "credential_configuration_ids": ["a", "a"]},
        {"credential_configuration_ids": ["a"]},
        {
            "credential_issuer": "https://i.example",
            "credential_configuration_ids": ["a"],
            "grants": {vci.PRE_AUTHORIZED_CODE_GRANT: {}},
        },
        {
            "credential_issuer": "https://i.example",
            "credential_configuration_ids": ["a"],
            "grants": {
                vci.PRE_AUTHORIZED_CODE_GRANT: {"pre-authorized_code": "c", "tx_code": {"description": "x" * 301}}
            },
        },
        {
            "credential_issuer": "https://i.example",
            "credential_configuration_ids": ["a"],
            "grants": {vci.PRE_AUTHORIZED_CODE_GRANT: {"pre-authorized_code": "c", "tx_code": {"input_mode": "emoji"}}},
        },
    ],
)
def test_credential_offer_rules(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        parse_model(CredentialOffer, body)


def test_offer_built_in_code_uses_wire_names() -> None:
    offer = CredentialOffer(
        credential_issuer="https://issuer.example.edu",
        credential_configuration_ids=["OpenBadgeCredential_jwt"],
        grants=vci.Grants(
            pre_authorized_code=vci.PreAuthorizedCodeGrant(
                pre_authorized_code="SplxlOBeZQQYbYS6WxSbIA", tx_code=vci.TxCode(length=6)
            )
        ),
    )
    assert offer.dump() == {
        "credential_issuer": "https://issuer.example.edu",
        "credential_configuration_ids": ["OpenBadgeCredential_jwt"],
        "grants": {
            vci.PRE_AUTHORIZED_CODE_GRANT: {"pre-authorized_code": "SplxlOBeZQQYbYS6WxSbIA", "tx_code": {"length": 6}}
        },
    }
    uri = create_credential_offer_uri(offer)
    assert uri.startswith("openid-credential-offer://?credential_offer=%7B%22credential_issuer%22")
    assert " " not in uri and "+" not in uri


@pytest.mark.parametrize(
    "uri",
    [
        "openid-credential-offer://",
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa.example&credential_offer=%7B%7D",
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa.example&credential_offer_uri=https%3A%2F%2Fb.example",
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.example.edu%2Foffer",
        "openid-credential-offer://?credential_offer_uri=ftp%3A%2F%2Fissuer.example.edu%2Foffer",
        "openid-credential-offer://?credential_offer=not-json",
        "openid-credential-offer://?credential_offer=%7B%7D",
        "openid-credential-offer://?credential_offer=" + "a" * 70000,
    ],
)
def test_offer_uri_refusals(uri: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_credential_offer_uri(uri)


def test_offer_uri_by_reference_on_loopback_and_endpoint() -> None:
    parsed = parse_credential_offer_uri(
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Flocalhost%3A8001%2Foffers%2F7f"
    )
    assert parsed.credential_offer_uri == "http://localhost:8001/offers/7f"
    uri = create_credential_offer_uri(
        credential_offer_uri="https://i.example/o/1", endpoint="https://wallet.example.org/offer?lang=en"
    )
    assert uri == "https://wallet.example.org/offer?lang=en&credential_offer_uri=https%3A%2F%2Fi.example%2Fo%2F1"
    with pytest.raises(ValueError):
        create_credential_offer_uri()


# --- Token Endpoint (§6) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"grant_type": vci.PRE_AUTHORIZED_CODE_GRANT}, "pre-authorized_code is required"),
        ({"grant_type": "authorization_code", "code": "c", "tx_code": "1234"}, "tx_code is only used"),
        ({"grant_type": "authorization_code"}, "code is required"),
        (
            {"grant_type": vci.PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "c", "authorization_details": "[{"},
            "JSON array",
        ),
        (
            {
                "grant_type": vci.PRE_AUTHORIZED_CODE_GRANT,
                "pre-authorized_code": "c",
                "authorization_details": '[{"type":"openid_credential"}]',
            },
            "credential_configuration_id",
        ),
        (
            {"grant_type": vci.PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "c", "authorization_details": "[]"},
            "at least 1 item",
        ),
    ],
)
def test_token_request_rules(form: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_model(TokenRequest, form)
    assert reason in (caught.value.description or "")


def test_token_request_keeps_other_authorization_detail_types() -> None:
    details = (
        '[{"type":"payment_initiation","amount":"1"},{"type":"openid_credential","credential_configuration_id":"x"}]'
    )
    request = parse_model(
        TokenRequest,
        {"grant_type": vci.PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "c", "authorization_details": details},
    )
    assert request.authorization_details is not None
    assert request.authorization_details[0].model_extra == {"amount": "1"}
    assert json.loads(request.to_form()["authorization_details"]) == json.loads(details)


def test_token_response_requires_credential_identifiers() -> None:
    body = {
        "access_token": "t",
        "token_type": "Bearer",
        "authorization_details": [{"type": "openid_credential", "credential_configuration_id": "x"}],
    }
    with pytest.raises(InvalidRequest, match="credential_identifiers"):
        parse_model(TokenResponse, body)
    legacy = parse_model(
        TokenResponse, {"access_token": "t", "token_type": "Bearer", "c_nonce": "n", "c_nonce_expires_in": 60}
    )
    assert legacy.model_extra == {"c_nonce": "n", "c_nonce_expires_in": 60}


# --- Metadata (§12.2, §12.3, App. A, App. B.3) ---------------------------------------------


def _config(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "format": "dc+sd-jwt",
        "vct": "https://issuer.example.edu/vct/microcredential/v1",
        "cryptographic_binding_methods_supported": ["jwk"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
    }
    config.update(changes)
    return {k: v for k, v in config.items() if v is not None}


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (_config(vct=None), "requires vct"),
        (_config(format="mso_mdoc", vct=None), "requires doctype"),
        (_config(format="jwt_vc_json"), "requires credential_definition"),
        (_config(format="ldp_vc", credential_definition={"type": ["VerifiableCredential"]}), "requires @context"),
        (_config(format="jwt_vc_json", credential_definition={"type": []}), "at least 1 item"),
        (_config(proof_types_supported={"jwt": {"proof_signing_alg_values_supported": []}}), "at least 1 item"),
        (_config(credential_metadata={"claims": [{"path": ["a"]}, {"path": ["a"]}]}), "described twice"),
        (
            _config(credential_metadata={"claims": [{"path": ["a", None]}, {"path": ["a", 0]}]}),
            "both as all and as index",
        ),
        (
            _config(credential_metadata={"claims": [{"path": ["a", 0, "b"]}, {"path": ["a", "b"]}]}),
            "both as index and as key",
        ),
        (_config(credential_metadata={"claims": [{"path": []}]}), "at least 1 item"),
        (_config(credential_metadata={"claims": [{"path": ["a", -1]}]}), "non-negative integers"),
        (_config(credential_metadata={"claims": [{"path": ["a", True]}]}), "non-negative integers"),
        (_config(credential_metadata={"claims": [{"path": ["a", 1.5]}]}), "non-negative integers"),
        (_config(credential_metadata={"display": [{"locale": "en"}]}), "Field required"),
        (
            _config(credential_metadata={"display": [{"name": "A", "locale": "en"}, {"name": "B", "locale": "en"}]}),
            "only one display object",
        ),
    ],
)
def test_credential_configuration_rules(config: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_model(CredentialConfiguration, config)
    assert reason in (caught.value.description or "")


def test_claims_with_wildcards_and_nesting_are_allowed() -> None:
    config = _config(
        credential_metadata={
            "claims": [
                {"path": ["address"]},
                {"path": ["address", "street"]},
                {"path": ["outcomes", None]},
                {"path": ["degrees", None, "type"]},
            ]
        }
    )
    assert parse_model(CredentialConfiguration, config).dump() == config
    assert parse_model(CredentialConfiguration, _config(format="unknown_format", vct=None)).format == "unknown_format"


def _metadata(**changes: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "credential_issuer": "https://issuer.example.edu",
        "credential_endpoint": "https://issuer.example.edu/oid4vci/credential",
        "credential_configurations_supported": {"c": _config()},
    }
    metadata.update(changes)
    return metadata


@pytest.mark.parametrize(
    "changes",
    [
        {"credential_configurations_supported": {}},
        {"credential_endpoint": None},
        {"batch_credential_issuance": {"batch_size": 1}},
        {"authorization_servers": []},
        {
            "credential_request_encryption": {
                "jwks": {"keys": [{"kty": "EC"}]},
                "enc_values_supported": ["A128GCM"],
                "encryption_required": False,
            }
        },
        {
            "credential_request_encryption": {
                "jwks": {"keys": [{"kty": "EC", "kid": "1"}]},
                "enc_values_supported": ["A128GCM"],
            }
        },
        {
            "credential_response_encryption": {
                "alg_values_supported": [],
                "enc_values_supported": ["A128GCM"],
                "encryption_required": True,
            }
        },
        {"display": [{"name": "A", "locale": "en"}, {"name": "B", "locale": "en"}]},
    ],
)
def test_issuer_metadata_rules(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        parse_model(CredentialIssuerMetadata, _metadata(**changes))


def test_authorization_server_metadata() -> None:
    plain = parse_model(
        AuthorizationServerMetadata,
        {"issuer": "https://issuer.example.edu", "token_endpoint": "https://issuer.example.edu/token"},
    )
    assert plain.pre_authorized_grant_anonymous_access_supported is False
    body = {
        "issuer": "https://issuer.example.edu",
        "token_endpoint": "https://issuer.example.edu/token",
        "grant_types_supported": ["authorization_code", vci.PRE_AUTHORIZED_CODE_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": "https://issuer.example.edu/introspect",
    }
    metadata = parse_model(AuthorizationServerMetadata, body)
    assert metadata.pre_authorized_grant_anonymous_access_supported is True
    assert metadata.dump() == body
    with pytest.raises(InvalidRequest):
        parse_model(AuthorizationServerMetadata, {"token_endpoint": "https://x.example/token"})


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        (
            "https://issuer.example.edu/inst/42",
            "https://issuer.example.edu/.well-known/openid-credential-issuer/inst/42",
        ),
        ("https://issuer.example.com/tenant", "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"),
        ("https://tenant.issuer.example.com", "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"),
        ("https://issuer.example.edu/inst/", "https://issuer.example.edu/.well-known/openid-credential-issuer/inst"),
        ("https://issuer.example.edu:8443/", "https://issuer.example.edu:8443/.well-known/openid-credential-issuer"),
        ("http://localhost:8001/i/1", "http://localhost:8001/.well-known/openid-credential-issuer/i/1"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/.well-known/openid-credential-issuer"),
    ],
)
def test_metadata_url_insertion(identifier: str, expected: str) -> None:
    assert credential_issuer_metadata_url(identifier) == expected
    assert authorization_server_metadata_url(identifier) == expected.replace(
        "openid-credential-issuer", "oauth-authorization-server"
    )


@pytest.mark.parametrize(
    "identifier",
    [
        "https://issuer.example.edu/?tenant=1",
        "https://issuer.example.edu/#x",
        "http://issuer.example.edu",
        "issuer.example.edu",
        "https://",
        "ftp://issuer.example.edu",
    ],
)
def test_metadata_url_refusals(identifier: str) -> None:
    with pytest.raises(InvalidRequest):
        credential_issuer_metadata_url(identifier)


# --- Notification (§11) and errors ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"notification_id": "n", "event": "credential_stored"},
        {"notification_id": "n", "event": "credential_failure", "event_description": 'quote " not allowed'},
        {"notification_id": "n", "event": "credential_failure", "event_description": "caf\u00e9"},
        {"event": "credential_accepted"},
    ],
)
def test_notification_request_rules(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidNotificationRequest) as caught:
        parse_model(NotificationRequest, body, error=InvalidNotificationRequest)
    assert caught.value.body()["error"] == "invalid_notification_request"


ERROR_CODES = {
    "InvalidCredentialRequest": "invalid_credential_request",
    "UnknownCredentialConfiguration": "unknown_credential_configuration",
    "UnknownCredentialIdentifier": "unknown_credential_identifier",
    "InvalidProof": "invalid_proof",
    "InvalidNonce": "invalid_nonce",
    "InvalidEncryptionParameters": "invalid_encryption_parameters",
    "CredentialRequestDenied": "credential_request_denied",
    "InvalidTransactionId": "invalid_transaction_id",
    "InvalidNotificationId": "invalid_notification_id",
    "InvalidNotificationRequest": "invalid_notification_request",
}


@pytest.mark.parametrize(("name", "code"), sorted(ERROR_CODES.items()))
def test_error_classes(name: str, code: str) -> None:
    cls = getattr(vci, name)
    assert issubclass(cls, ProtocolError)
    assert cls.error == code and cls.status_code == 400
    assert cls.__doc__ and len(cls.__doc__) > 20
    assert cls("bad proof").body() == {"error": code, "error_description": "bad proof"}


def test_parse_model_description_is_readable_and_bounded() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_model(CredentialOffer, {"credential_issuer": 5, "credential_configuration_ids": [1, 2, 3, 4]})
    description = caught.value.description or ""
    assert description.startswith("credential_issuer: Input should be a valid string")
    assert "and 2 more" in description
    assert caught.value.internal and "input_value" in caught.value.internal
    parsed = parse_model(
        CredentialOffer, b'{"credential_issuer":"https://i.example","credential_configuration_ids":["a"]}'
    )
    assert parsed.credential_configuration_ids == ["a"]

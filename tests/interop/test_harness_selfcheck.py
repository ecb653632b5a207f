"""The interop harness against itself: node issuer → node wallet → node verifier, no eduwallet code.

This proves the independent implementation (oid4vc-ts + sd-jwt-js) works on its own, so a failing
interop test with one of our services on one side points at our service (or at a documented
deviation of oid4vc-ts), not at the harness. Specs: OpenID4VCI 1.0 (§ 4 offer, § 6 token, § 7 nonce,
§ 8 credential, App. F.1 jwt proof), OpenID4VP 1.0 (§ 5 request, § 5.9 client identifier prefixes,
§ 5.10 request_uri_method=post, § 6 DCQL, § 8.2 direct_post, § 8.3 encrypted responses).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.harness import (
    NodeIssuer,
    NodeVerifier,
    credential_of,
    node_issuer,
    node_verifier,
    wallet_present,
    wallet_receive,
)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeIssuer]:
    with node_issuer(tmp_path_factory.mktemp("node-issuer")) as server:
        yield server


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeVerifier]:
    with node_verifier(tmp_path_factory.mktemp("node-verifier")) as server:
        yield server


@pytest.fixture(scope="module")
def received(issuer: NodeIssuer) -> dict[str, Any]:
    first = issuer.ready
    return wallet_receive(first["offer_uri"], tx_code=first["tx_code"])


def test_node_wallet_receives_both_formats_from_node_issuer(issuer: NodeIssuer, received: dict[str, Any]) -> None:
    assert received["credential_issuer"] == issuer.base_url
    assert received["oid4vci_version"] == "V1"
    sd_jwt = credential_of(received, "dc+sd-jwt")
    assert sd_jwt["verification"]["verified"] is True, sd_jwt["verification"]
    assert sd_jwt["verification"]["checks"] == {"typ": "dc+sd-jwt", "issuer_key": "jwt-vc-issuer", "signature": "ok",
                                                "holder_binding": "cnf.jwk", "status": "valid"}
    ob3 = credential_of(received, "jwt_vc_json")
    assert ob3["verification"]["verified"] is True, ob3["verification"]
    assert ob3["verification"]["checks"]["issuer_key"] == "did:web"
    assert ob3["verification"]["checks"]["holder_binding"] == "did:jwk"
    assert ob3["verification"]["claims"]["credentialSubject"]["achievement"]["name"] == "Interop Testing 101"
    assert sd_jwt["holder_public_jwk"] != ob3["holder_public_jwk"], "a fresh holder key per credential"
    assert [n["status"] for n in received["notifications"]] == [204, 204]


def test_offer_by_value_and_vcdm11_layout(issuer: NodeIssuer) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.OB3], by_value=True, layout="vcdm1.1")
    assert offer["offer_uri"].startswith("openid-credential-offer://?credential_offer=")
    result = wallet_receive(offer["offer_uri"])
    verification = credential_of(result, "jwt_vc_json")["verification"]
    assert verification["verified"] is True, verification
    assert verification["checks"]["layout"] == "vcdm1.1"


def test_wrong_tx_code_is_refused_with_invalid_grant(issuer: NodeIssuer) -> None:
    offer = issuer.offer(tx_code="123456")
    result = wallet_receive(offer["offer_uri"], tx_code="654321", check=False)
    assert result["exit_code"] == 1
    assert result["error_response"]["error"] == "invalid_grant"


def test_pre_authorized_code_is_single_use(issuer: NodeIssuer) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.SD_JWT])
    wallet_receive(offer["offer_uri"], verify=False)
    again = wallet_receive(offer["offer_uri"], check=False)
    assert again["exit_code"] == 1
    assert again["error_response"]["error"] == "invalid_grant"


def test_batch_issuance_binds_each_credential_to_its_own_key(issuer: NodeIssuer) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.SD_JWT])
    result = wallet_receive(offer["offer_uri"], batch=2)
    assert len(result["credentials"]) == 2
    assert all(c["verification"]["verified"] for c in result["credentials"])
    keys = {c["verification"]["claims"]["cnf"]["jwk"]["x"] for c in result["credentials"]}
    assert len(keys) == 2


@pytest.mark.parametrize("response_mode", ["direct_post", "direct_post.jwt"])
@pytest.mark.parametrize("prefix", ["x509_hash", "x509_san_dns", "decentralized_identifier", "redirect_uri"])
def test_node_wallet_presents_sd_jwt_to_node_verifier(issuer: NodeIssuer, verifier: NodeVerifier,
                                                     received: dict[str, Any], prefix: str, response_mode: str) -> None:
    credential = credential_of(received, "dc+sd-jwt")
    request = verifier.request(vct_values=[issuer.vct], claims=[["achievement", "name"], ["given_name"]],
                               client_id_prefix=prefix, response_mode=response_mode)
    answer = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert answer["status"] == "submitted", answer
    assert answer["client_id_prefix"] == prefix
    assert answer["signed_request"] is (prefix != "redirect_uri")
    assert answer["encrypted"] is (response_mode == "direct_post.jwt")
    result = verifier.result(request["id"])
    assert result["status"] == "verified", result
    assert result["checks"]["credential"]["key_binding"] == "ok"
    claims = result["claims"]["credential"]
    assert claims["achievement"]["name"] == "Interop Testing 101"
    assert claims["given_name"] == "Ada"
    assert "family_name" not in claims, "only the requested claims are disclosed"


def test_node_wallet_presents_ob3_vp_jwt(issuer: NodeIssuer, verifier: NodeVerifier, received: dict[str, Any]) -> None:
    credential = credential_of(received, "jwt_vc_json")
    request = verifier.request(credential_format="jwt_vc_json", claims=[["credentialSubject", "achievement", "name"]],
                               response_mode="direct_post.jwt")
    answer = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert answer["status"] == "submitted", answer
    result = verifier.result(request["id"])
    assert result["status"] == "verified", result
    assert result["checks"]["credential"]["vp_binding"] == "aud+nonce"
    assert result["checks"]["credential"]["holder_binding"] == "did:jwk"


def test_request_uri_method_post_sends_wallet_metadata_and_nonce(issuer: NodeIssuer, verifier: NodeVerifier,
                                                                 received: dict[str, Any]) -> None:
    credential = credential_of(received, "dc+sd-jwt")
    request = verifier.request(vct_values=[issuer.vct], request_uri_method="post")
    assert "request_uri_method=post" in request["request_uri"]
    answer = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert answer["status"] == "submitted", answer
    result = verifier.result(request["id"])
    assert result["status"] == "verified", result
    [post] = result["wallet_posts"]
    assert post["content_type"] == "application/x-www-form-urlencoded"
    assert set(post["form"]) == {"wallet_metadata", "wallet_nonce"}


@pytest.mark.parametrize("override", [{"kb_aud": "x509_hash:someone-else"}, {"kb_nonce": "stale-nonce"}])
def test_wrong_audience_or_nonce_is_rejected(issuer: NodeIssuer, verifier: NodeVerifier, received: dict[str, Any],
                                            override: dict[str, str]) -> None:
    credential = credential_of(received, "dc+sd-jwt")
    request = verifier.request(vct_values=[issuer.vct])
    answer = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"], **override)
    assert answer["status"] == "refused"
    assert verifier.result(request["id"])["status"] == "rejected"


def test_a_request_is_answered_once(issuer: NodeIssuer, verifier: NodeVerifier, received: dict[str, Any]) -> None:
    credential = credential_of(received, "dc+sd-jwt")
    request = verifier.request(vct_values=[issuer.vct])
    first = wallet_present(request["request_uri"], credential=credential["credential"],
                           holder_jwk=credential["holder_private_jwk"])
    second = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert (first["status"], second["status"]) == ("submitted", "refused")
    assert second["verifier_response"]["error"] == "invalid_request"
    assert verifier.result(request["id"])["status"] == "verified"


def test_revoked_credential_is_rejected(issuer: NodeIssuer, verifier: NodeVerifier) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.SD_JWT])
    credential = credential_of(wallet_receive(offer["offer_uri"]), "dc+sd-jwt")
    issuer.set_status(offer["offer_id"], "revoked")
    request = verifier.request(vct_values=[issuer.vct])
    answer = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert answer["status"] == "refused"
    result = verifier.result(request["id"])
    assert (result["status"], result["error"]) == ("rejected", "credential_revoked")


def test_unsatisfiable_query_is_declined(verifier: NodeVerifier, received: dict[str, Any]) -> None:
    credential = credential_of(received, "dc+sd-jwt")
    request = verifier.request(vct_values=["https://example.org/vct/other"])
    answer = wallet_present(request["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert answer["status"] == "declined"
    result = verifier.result(request["id"])
    assert (result["status"], result["error"]) == ("rejected", "access_denied")


def test_untrusted_issuer_is_rejected(issuer: NodeIssuer, verifier: NodeVerifier, received: dict[str, Any]) -> None:
    credential = credential_of(received, "dc+sd-jwt")
    trusted = verifier.request(vct_values=[issuer.vct], trusted_issuers=[issuer.base_url])
    untrusted = verifier.request(vct_values=[issuer.vct], trusted_issuers=["https://issuer.example.edu"])
    for request in (trusted, untrusted):
        wallet_present(request["request_uri"], credential=credential["credential"],
                       holder_jwk=credential["holder_private_jwk"])
    assert verifier.result(trusted["id"])["status"] == "verified"
    result = verifier.result(untrusted["id"])
    assert (result["status"], result["error"]) == ("rejected", "untrusted_issuer")

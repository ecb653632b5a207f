"""Our verifier with a wallet that is not ours (oid4vc-ts's Openid4vpClient + sd-jwt-js, under Node.js).

Issue 4, "Done when": presentations from a wallet implementation that is not ours verify, in both
formats. The credentials come from the independent issuer (`issuer-serve.mjs`) as well, so only the
verifier under test is ours; one test runs the whole chain with our issuer. Covers every client
identifier prefix (OpenID4VP 1.0 § 5.9) with `direct_post` and `direct_post.jwt` (§ 8.2, § 8.3),
`request_uri_method=post` (§ 5.10), and refusals for the right reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.interop.harness import (
    NodeIssuer,
    credential_of,
    node_issuer,
    post_authorization_response,
    wallet_present,
    wallet_receive,
)
from tests.servers import RunningService, running_service, verifier_api_headers

pytestmark = pytest.mark.integration

ACHIEVEMENT = "Interop Testing 101"  # what issuer-serve.mjs awards


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    env = {"EDUWALLET_VERIFIER_CERTIFICATE_DNS_NAME": "localhost",  # enables x509_san_dns:localhost
           "EDUWALLET_VERIFIER_STATUS_CACHE_MAX_SECONDS": "0"}  # see a revocation at once
    with running_service("verifier", tmp_path_factory.mktemp("verifier"), env=env) as service:
        yield service


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeIssuer]:
    with node_issuer(tmp_path_factory.mktemp("node-issuer")) as server:
        yield server


@pytest.fixture(scope="module")
def received(issuer: NodeIssuer) -> dict[str, Any]:
    return wallet_receive(issuer.ready["offer_uri"], tx_code=issuer.ready["tx_code"])


def create_request(verifier: RunningService, **body: Any) -> dict[str, Any]:
    response = httpx.post(verifier.url + "/api/presentation-requests", json=body,  # noqa: TID251
                          headers=verifier_api_headers(verifier), timeout=30)
    assert response.status_code == 201, response.text
    return dict(response.json())


def result_of(verifier: RunningService, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{verifier.url}/api/presentation-requests/{request_id}",  # noqa: TID251
                         headers=verifier_api_headers(verifier), timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def sd_jwt_request(issuer: NodeIssuer, **body: Any) -> dict[str, Any]:
    return {"preset": "sd-jwt", "vct_values": [issuer.vct], "claims": ["achievement.name", "given_name"],
            "trusted_issuers": [issuer.base_url], **body}


def ob3_request(issuer: NodeIssuer, **body: Any) -> dict[str, Any]:
    return {"preset": "ob3", "achievement": ACHIEVEMENT, "trusted_issuers": [issuer.did], **body}


def present(request: dict[str, Any], credential: dict[str, Any], **options: Any) -> dict[str, Any]:
    return wallet_present(request["request_uri"], credential=credential["credential"],
                          holder_jwk=credential["holder_private_jwk"], **options)


def assert_all_checks_pass(result: dict[str, Any], *, skipped: tuple[str, ...] = ()) -> None:
    assert result["status"] == "verified", result
    outcomes = {name: check["outcome"] for name, check in result["checks"].items()}
    assert outcomes == {name: "skipped" if name in skipped else "passed" for name in outcomes}, outcomes
    assert {"issuer_signature", "holder_binding", "validity_period", "status", "trusted_issuer", "dcql"} <= set(outcomes)


@pytest.mark.parametrize("response_mode", ["direct_post", "direct_post.jwt"])
@pytest.mark.parametrize("prefix", ["x509_hash", "x509_san_dns", "decentralized_identifier", "redirect_uri"])
def test_independent_wallet_sd_jwt_presentation_verifies(verifier: RunningService, issuer: NodeIssuer,
                                                         received: dict[str, Any], prefix: str,
                                                         response_mode: str) -> None:
    request = create_request(verifier, **sd_jwt_request(issuer, client_id_prefix=prefix, response_mode=response_mode))
    answer = present(request, credential_of(received, "dc+sd-jwt"))
    assert answer["status"] == "submitted", answer
    assert answer["client_id"] == request["client_id"]
    assert answer["client_id_prefix"] == prefix
    assert answer["signed_request"] is (prefix != "redirect_uri"), "oid4vc-ts verified the signed request object"
    assert answer["encrypted"] is (response_mode == "direct_post.jwt")
    result = result_of(verifier, request["id"])
    assert_all_checks_pass(result, skipped=("ob3_schema",))
    disclosed = str(result["claims"])
    assert ACHIEVEMENT in disclosed and "Ada" in disclosed
    assert "Lovelace" not in disclosed, "family_name was not requested, so not disclosed"


@pytest.mark.parametrize("response_mode", ["direct_post", "direct_post.jwt"])
def test_independent_wallet_ob3_vp_jwt_verifies(verifier: RunningService, issuer: NodeIssuer,
                                                received: dict[str, Any], response_mode: str) -> None:
    request = create_request(verifier, **ob3_request(issuer, response_mode=response_mode))
    answer = present(request, credential_of(received, "jwt_vc_json"))
    assert answer["status"] == "submitted", answer
    result = result_of(verifier, request["id"])
    assert_all_checks_pass(result)
    assert ACHIEVEMENT in str(result["claims"])


def test_request_uri_method_post(verifier: RunningService, issuer: NodeIssuer, received: dict[str, Any]) -> None:
    request = create_request(verifier, **sd_jwt_request(issuer, request_uri_method="post"))
    assert "request_uri_method=post" in request["request_uri"]
    answer = present(request, credential_of(received, "dc+sd-jwt"))
    assert answer["status"] == "submitted", answer
    assert_all_checks_pass(result_of(verifier, request["id"]), skipped=("ob3_schema",))


@pytest.mark.parametrize("override", [{"kb_aud": "x509_hash:another-verifier"}, {"kb_nonce": "a-replayed-nonce"}],
                         ids=["wrong-audience", "wrong-nonce"])
@pytest.mark.parametrize("credential_format", ["dc+sd-jwt", "jwt_vc_json"])
def test_holder_binding_to_another_request_is_refused(verifier: RunningService, issuer: NodeIssuer,
                                                      received: dict[str, Any], credential_format: str,
                                                      override: dict[str, str]) -> None:
    body = sd_jwt_request(issuer) if credential_format == "dc+sd-jwt" else ob3_request(issuer)
    request = create_request(verifier, **body)
    answer = present(request, credential_of(received, credential_format), **override)
    assert answer["status"] == "refused", answer
    result = result_of(verifier, request["id"])
    assert result["status"] == "rejected"
    assert result["checks"]["holder_binding"]["outcome"] == "failed", result["checks"]


def test_a_replayed_answer_is_refused(verifier: RunningService, issuer: NodeIssuer, received: dict[str, Any]) -> None:
    request = create_request(verifier, **sd_jwt_request(issuer))
    made = present(request, credential_of(received, "dc+sd-jwt"), submit=False)
    first = post_authorization_response(made["response_uri"], made["response"])
    assert first.status_code == 200, first.text
    assert result_of(verifier, request["id"])["status"] == "verified"
    replayed = post_authorization_response(made["response_uri"], made["response"])
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_request", replayed.text
    assert result_of(verifier, request["id"])["status"] == "verified"


def test_untrusted_issuer_is_refused(verifier: RunningService, issuer: NodeIssuer, received: dict[str, Any]) -> None:
    request = create_request(verifier, **sd_jwt_request(issuer, trusted_issuers=["https://issuer.example.edu"]))
    assert present(request, credential_of(received, "dc+sd-jwt"))["status"] == "refused"
    result = result_of(verifier, request["id"])
    assert result["status"] == "rejected"
    assert result["checks"]["trusted_issuer"]["outcome"] == "failed"


@pytest.mark.parametrize("credential_format", ["dc+sd-jwt", "jwt_vc_json"])
def test_revocation_by_the_independent_issuer_is_seen(verifier: RunningService, issuer: NodeIssuer,
                                                      credential_format: str) -> None:
    configuration = NodeIssuer.SD_JWT if credential_format == "dc+sd-jwt" else NodeIssuer.OB3
    offer = issuer.offer(configurations=[configuration])
    credential = credential_of(wallet_receive(offer["offer_uri"]), credential_format)
    issuer.set_status(offer["offer_id"], "revoked")
    body = sd_jwt_request(issuer) if credential_format == "dc+sd-jwt" else ob3_request(issuer)
    request = create_request(verifier, **body)
    assert present(request, credential)["status"] == "refused"
    result = result_of(verifier, request["id"])
    assert result["status"] == "rejected"
    assert result["checks"]["status"]["outcome"] == "failed"
    assert result.get("error") == "credential_revoked", json.dumps(result)


def test_wallet_declining_an_unsatisfiable_query(verifier: RunningService, received: dict[str, Any]) -> None:
    request = create_request(verifier, preset="sd-jwt", vct_values=["https://issuer.example.edu/vct/other"])
    answer = present(request, credential_of(received, "dc+sd-jwt"))
    assert answer["status"] == "declined"
    assert result_of(verifier, request["id"])["status"] == "rejected"


@pytest.fixture(scope="module")
def our_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A credential of each format from our issuer, received by the oid4vc-ts wallet."""
    with running_service("issuer", tmp_path_factory.mktemp("our-issuer")) as our_issuer:
        token = (our_issuer.var_dir / "issuer-admin.token").read_text().strip()
        with httpx.Client(base_url=our_issuer.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as admin:
            institution = admin.post("/admin/institutions", json={"name": "Hogeschool Keten", "country": "NL"}).json()
            badge = admin.post("/admin/badge-classes", json={
                "institution_id": institution["id"], "name": "Chain of Trust", "description": "All the way through.",
                "criteria_narrative": "Present it."}).json()
            made = admin.post(f"/admin/badge-classes/{badge['id']}/awards", json={
                "name": "Ada Lovelace", "email": "ada@student.example.nl",
                "credential_configuration_ids": ["EduCredential", "EduCredentialSdJwt"]}).json()
        yield {"issuer": our_issuer, "institution": institution, "received": wallet_receive(made["offer_uri"])}


@pytest.mark.parametrize("credential_format", ["dc+sd-jwt", "jwt_vc_json"])
def test_our_issuer_independent_wallet_our_verifier(verifier: RunningService, our_chain: dict[str, Any],
                                                    credential_format: str) -> None:
    """The whole chain with a foreign wallet in the middle: our issuer → oid4vc-ts wallet → our verifier."""
    credential = credential_of(our_chain["received"], credential_format)
    if credential_format == "dc+sd-jwt":
        request = create_request(verifier, preset="sd-jwt", vct_values=[credential["verification"]["claims"]["vct"]],
                                 claims=["achievement.name"],
                                 trusted_issuers=[our_chain["institution"]["sd_jwt_vc_issuer"]])
    else:
        request = create_request(verifier, preset="ob3", achievement="Chain of Trust",
                                 trusted_issuers=[our_chain["institution"]["did"]])
    answer = present(request, credential)
    assert answer["status"] == "submitted", json.dumps(result_of(verifier, request["id"]))
    assert_all_checks_pass(result_of(verifier, request["id"]),
                           skipped=("ob3_schema",) if credential_format == "dc+sd-jwt" else ())

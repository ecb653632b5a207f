"""Our wallet with an issuer and a verifier that are not ours (oid4vc-ts + sd-jwt-js, under Node.js).

Issue 7, "Done when": our wallet receives from an issuer implementation that is not ours, and presents
to a verifier implementation that is not ours, for both `jwt_vc_json` and `dc+sd-jwt`; the consent
step shows exactly what is disclosed and nothing more is sent (checked on what the independent
verifier received). OpenID4VCI 1.0 (pre-authorized code + tx_code, nonce, jwt proofs, batch),
OpenID4VP 1.0 (every client identifier prefix, direct_post and direct_post.jwt, request_uri_method=post).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.interop.harness import NodeIssuer, NodeVerifier, node_issuer, node_verifier
from tests.servers import RunningService, running_service

pytestmark = pytest.mark.integration

ACHIEVEMENT = "Interop Testing 101"  # what issuer-serve.mjs awards
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("wallet", tmp_path_factory.mktemp("wallet")) as service:
        yield service


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeIssuer]:
    with node_issuer(tmp_path_factory.mktemp("node-issuer")) as server:
        yield server


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeVerifier]:
    with node_verifier(tmp_path_factory.mktemp("node-verifier")) as server:
        yield server


@pytest.fixture(scope="module")
def api(wallet: RunningService) -> Iterator[httpx.Client]:
    """The wallet API as one learner (registered and logged in)."""
    with httpx.Client(base_url=wallet.url, timeout=60) as client:
        assert client.post("/api/v1/learners", json={"username": "ada.lovelace", "password": PASSWORD}).status_code == 201
        token = client.post("/api/v1/token", json={"username": "ada.lovelace", "password": PASSWORD}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


@pytest.fixture(scope="module")
def received(api: httpx.Client, issuer: NodeIssuer) -> dict[str, Any]:
    """Both formats from the independent issuer's first offer (tx_code protected), accepted by our wallet."""
    view = api.post("/api/v1/offers", json={"offer": issuer.ready["offer_uri"]})
    assert view.status_code == 200, view.text
    accepted = api.post(f"/api/v1/offers/{view.json()['id']}/accept", json={"tx_code": issuer.ready["tx_code"]})
    assert accepted.status_code == 201, accepted.text
    return {"view": view.json(), "accepted": accepted.json()}


def leaf_paths(value: Any, at: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        return set().union(*(leaf_paths(v, (*at, k)) for k, v in value.items()))
    if isinstance(value, list) and value:
        return set().union(*(leaf_paths(v, (*at, i)) for i, v in enumerate(value)))
    return {at}


def present(api: httpx.Client, request: dict[str, Any], **confirm: Any) -> tuple[dict[str, Any], httpx.Response]:
    """Resolve the request in our wallet (the consent summary), then confirm it."""
    summary = api.post("/api/v1/presentations", json={"request": request["request_uri"]})
    assert summary.status_code == 200, summary.text
    return summary.json(), api.post(f"/api/v1/presentations/{summary.json()['id']}/confirm", json=confirm)


def test_wallet_receives_both_formats_from_the_independent_issuer(api: httpx.Client, issuer: NodeIssuer,
                                                                 received: dict[str, Any]) -> None:
    assert received["view"]["tx_code"]["length"] == 6
    accepted = received["accepted"]
    assert sorted(c["format"] for c in accepted["credentials"]) == ["dc+sd-jwt", "jwt_vc_json"]
    assert accepted["refused"] == []
    listed = api.get("/api/v1/credentials").json()["data"]
    by_format = {c["format"]: c for c in listed if c["id"] in {a["id"] for a in accepted["credentials"]}}
    assert {c["name"] for c in by_format.values()} == {ACHIEVEMENT}
    assert {c["issuer"]["name"] for c in by_format.values()} == {"Interop Test University"}
    assert {c["status"] for c in by_format.values()} == {"valid"}
    assert by_format["dc+sd-jwt"]["issuer"]["id"] == issuer.base_url
    assert by_format["jwt_vc_json"]["issuer"]["id"] == issuer.did
    # The independent issuer lists DPoP: our wallet proved a DPoP key, and oid4vc-ts's authorization and
    # resource server code checked its proofs at the token, credential and notification endpoints (RFC 9449).
    assert issuer.get_json("/admin/tokens")[issuer.ready["offer_id"]] == "DPoP"


def test_wrong_tx_code_is_refused_by_the_independent_issuer(api: httpx.Client, issuer: NodeIssuer) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.SD_JWT], tx_code="246810")
    answer = api.post("/api/v1/offers", json={"offer": offer["offer_uri"], "tx_code": "135791", "accept": True})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text


def test_wallet_receives_an_offer_by_value_in_the_vcdm11_layout(api: httpx.Client, issuer: NodeIssuer) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.OB3], by_value=True, layout="vcdm1.1")
    answer = api.post("/api/v1/offers", json={"offer": offer["offer_uri"], "accept": True})
    assert answer.status_code == 200, answer.text
    assert [c["format"] for c in answer.json()["credentials"]] == ["jwt_vc_json"]


@pytest.mark.parametrize("response_mode", ["direct_post", "direct_post.jwt"])
@pytest.mark.parametrize("prefix", ["x509_hash", "x509_san_dns", "decentralized_identifier", "redirect_uri"])
def test_wallet_presents_sd_jwt_to_the_independent_verifier(api: httpx.Client, issuer: NodeIssuer,
                                                           verifier: NodeVerifier, received: dict[str, Any],
                                                           prefix: str, response_mode: str) -> None:
    request = verifier.request(vct_values=[issuer.vct], claims=[["achievement", "name"]], client_id_prefix=prefix,
                               response_mode=response_mode)
    summary, confirmed = present(api, request)
    assert summary["verifier"]["client_id"] == request["client_id"], summary["verifier"]
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "sent"
    result = verifier.result(request["id"])
    assert result["status"] == "verified", result
    assert result["encrypted"] is (response_mode == "direct_post.jwt")
    assert result["checks"]["credential"]["key_binding"] == "ok"
    seen = result["claims"]["credential"]
    assert seen["achievement"]["name"] == ACHIEVEMENT
    assert "given_name" not in seen and "family_name" not in seen and "result" not in seen
    # The consent summary named exactly what the verifier received, nothing more.
    [option] = summary["requests"][0]["options"]
    promised = {tuple(d["path"]) for d in option["disclosed"]} | {tuple(a["path"]) for a in option["always_shared"]}
    assert leaf_paths(seen) == promised, (sorted(leaf_paths(seen) ^ promised))


@pytest.mark.parametrize("response_mode", ["direct_post", "direct_post.jwt"])
def test_wallet_presents_ob3_to_the_independent_verifier(api: httpx.Client, issuer: NodeIssuer,
                                                        verifier: NodeVerifier, response_mode: str) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.OB3])
    accepted = api.post("/api/v1/offers", json={"offer": offer["offer_uri"], "accept": True})
    assert accepted.status_code == 200, accepted.text
    [fresh] = accepted.json()["credentials"]
    request = verifier.request(credential_format="jwt_vc_json", claims=[["credentialSubject", "achievement", "name"]],
                               response_mode=response_mode)
    summary, confirmed = present(api, request, credentials={"credential": [fresh["id"]]})
    assert confirmed.status_code == 200, confirmed.text
    result = verifier.result(request["id"])
    assert result["status"] == "verified", result
    assert result["checks"]["credential"]["vp_binding"] == "aud+nonce"
    assert result["claims"]["credential"]["credentialSubject"]["achievement"]["name"] == ACHIEVEMENT
    option = next(o for o in summary["requests"][0]["options"] if o["credential_id"] == fresh["id"])
    assert option["disclosed"] == [], "a VC-JWT always travels whole"


def test_wallet_presents_the_next_batch_copy_of_an_ob3_credential(api: httpx.Client, issuer: NodeIssuer,
                                                                 verifier: NodeVerifier) -> None:
    offer = issuer.offer(configurations=[NodeIssuer.OB3])
    [credential] = api.post("/api/v1/offers", json={"offer": offer["offer_uri"], "accept": True}).json()["credentials"]
    assert credential["copies"] > 1, "the independent issuer offers batch issuance"
    holders = set()
    for _ in range(2):
        request = verifier.request(credential_format="jwt_vc_json")
        _, confirmed = present(api, request, credentials={"credential": [credential["id"]]})
        result = verifier.result(request["id"])
        assert result["status"] == "verified", (confirmed.text, result)
        holders.add(result["claims"]["credential"]["credentialSubject"]["id"])
    assert len(holders) == 2, "each presentation uses another copy, bound to another key"


def test_request_uri_method_post(api: httpx.Client, issuer: NodeIssuer, verifier: NodeVerifier,
                                 received: dict[str, Any]) -> None:
    request = verifier.request(vct_values=[issuer.vct], request_uri_method="post")
    _, confirmed = present(api, request)
    assert confirmed.status_code == 200, confirmed.text
    result = verifier.result(request["id"])
    assert result["status"] == "verified", result
    [post] = result["wallet_posts"]
    assert post["content_type"].startswith("application/x-www-form-urlencoded")
    assert post["accept"] == "application/oauth-authz-req+jwt"
    assert post["form"]["wallet_nonce"]
    assert "vp_formats_supported" in json.loads(post["form"]["wallet_metadata"])


def test_declining_tells_the_independent_verifier(api: httpx.Client, issuer: NodeIssuer, verifier: NodeVerifier,
                                                  received: dict[str, Any]) -> None:
    request = verifier.request(vct_values=[issuer.vct], response_mode="direct_post.jwt")
    summary = api.post("/api/v1/presentations", json={"request": request["request_uri"]}).json()
    declined = api.post(f"/api/v1/presentations/{summary['id']}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
    result = verifier.result(request["id"])
    assert (result["status"], result["error"]) == ("rejected", "access_denied")

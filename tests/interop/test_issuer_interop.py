"""Our issuer with a wallet that is not ours (oid4vc-ts's Openid4vciClient + sd-jwt-js, under Node.js).

Issue 3, "Done when": an independent OpenID4VCI 1.0 wallet takes an offer URI printed by
`eduwallet issuer award` and obtains a credential in both formats, and the credential verifies
against the keys the issuer publishes (OB3 VC-JWT: `did:web` document; SD-JWT VC: JWT VC Issuer
Metadata at `/.well-known/jwt-vc-issuer`), with its status list entry read from the published list.
What the independent wallet received is also verified by our own library, the way our verifier and
wallet resolve issuer keys (`VerificationKeyResolver`), so issuer and verifier agree on `kid`s too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.cli import eduwallet, json_document
from tests.interop.harness import NodeVerifier, credential_of, node_verifier, wallet_present, wallet_receive
from tests.servers import RunningService, running_service
from vc.did_jwk import did_jwk_to_jwk
from vc.fetch import Fetcher, FetchPolicy
from vc.jwk import jwk_thumbprint
from vc.key_resolution import VerificationKeyResolver
from vc.sd_jwt_vc import verify_sd_jwt_vc
from vc.vc_jwt import verify_ob3_jwt

pytestmark = pytest.mark.integration

def cli(issuer: RunningService, *args: str) -> dict[str, Any]:
    """`eduwallet issuer ... --json` against the running issuer (development token from its var dir)."""
    result = eduwallet("issuer", *args, "--url", issuer.url, "--json",
                       env={"EDUWALLET_ISSUER_VAR_DIR": str(issuer.var_dir), "EDUWALLET_ISSUER_TOKEN": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json_document(result))


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("issuer", tmp_path_factory.mktemp("issuer")) as service:
        yield service


@pytest.fixture(scope="module")
def admin_api(issuer: RunningService) -> Iterator[httpx.Client]:
    token = (issuer.var_dir / "issuer-admin.token").read_text().strip()
    with httpx.Client(base_url=issuer.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def badge(issuer: RunningService) -> dict[str, Any]:
    institution = cli(issuer, "institution", "create", "--name", "Hogeschool Interop", "--country", "NL")
    made = cli(issuer, "badge", "create", "--institution", str(institution["id"]), "--name", "Interoperable APIs",
               "--description", "Designing APIs that other implementations can use.", "--ects", "2.5", "--eqf", "6")
    return {"id": made["id"], "institution": institution}


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeVerifier]:
    with node_verifier(tmp_path_factory.mktemp("node-verifier")) as server:
        yield server


def assert_our_library_agrees(received: dict[str, Any]) -> None:
    """Our library verifies the credential against the keys the issuer publishes, to the claims the
    independent wallet saw (which, for a VC-JWT, adds the JWT claims `iss`, `jti`, `nbf`, ...)."""
    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        resolver = VerificationKeyResolver(fetcher=fetcher, cache=None)
        if received["format"] == "jwt_vc_json":
            ours = verify_ob3_jwt(received["credential"], resolve_key=resolver).credential
        else:
            ours = verify_sd_jwt_vc(received["credential"], key_binding=False,
                                    issuer_key=lambda header, payload: resolver(payload.get("iss"), header)).claims
    theirs = received["verification"]["claims"]
    assert {name: theirs.get(name) for name in ours} == ours


def award(issuer: RunningService, badge: dict[str, Any], credential_format: str, *, pin: bool = True) -> dict[str, Any]:
    args = ["award", "--badge", str(badge["id"]), "--name", "Ada Lovelace", "--email", "ada@student.example.nl",
            "--format", credential_format]
    return cli(issuer, *args, *(["--pin"] if pin else []))


def test_independent_wallet_obtains_the_ob3_credential_from_a_cli_offer(issuer: RunningService,
                                                                        badge: dict[str, Any]) -> None:
    made = award(issuer, badge, "jwt_vc_json")
    received = wallet_receive(made["offer_uri"], tx_code=made["tx_code"])
    assert received["credential_issuer"] == issuer.url
    assert received["oid4vci_version"] == "V1", "oid4vc-ts must see 1.0 metadata, else it sends draft requests"
    ob3 = credential_of(received, "jwt_vc_json")
    assert ob3["configuration_id"] == "EduCredential"
    verification = ob3["verification"]
    assert verification["verified"] is True, verification
    assert verification["checks"] == {"issuer_key": "did:web", "signature": "ok", "layout": "vcdm2.0",
                                      "validity": "ok", "holder_binding": "did:jwk", "status_revocation": "valid"}
    credential = verification["claims"]
    assert credential["issuer"]["id"] == badge["institution"]["did"]
    assert credential["credentialSubject"]["achievement"]["name"] == "Interoperable APIs"
    holder_key = did_jwk_to_jwk(credential["credentialSubject"]["id"])
    assert jwk_thumbprint(holder_key) == jwk_thumbprint(ob3["holder_public_jwk"]), "bound to the wallet's proof key"
    assert_our_library_agrees(ob3)
    assert [n["status"] for n in received["notifications"]] == [204]


def test_independent_wallet_obtains_the_sd_jwt_vc(issuer: RunningService, badge: dict[str, Any]) -> None:
    made = award(issuer, badge, "dc+sd-jwt", pin=False)
    assert made["tx_code"] is None
    received = wallet_receive(made["offer_uri"])
    sd_jwt = credential_of(received, "dc+sd-jwt")
    assert sd_jwt["configuration_id"] == "EduCredentialSdJwt"
    verification = sd_jwt["verification"]
    assert verification["verified"] is True, verification
    assert verification["checks"] == {"typ": "dc+sd-jwt", "issuer_key": "jwt-vc-issuer", "signature": "ok",
                                      "holder_binding": "cnf.jwk", "status": "valid"}
    claims = verification["claims"]
    assert claims["iss"] == badge["institution"]["sd_jwt_vc_issuer"] == f"{issuer.url}/institutions/{badge['institution']['id']}"
    assert claims["achievement"]["name"] == "Interoperable APIs"
    assert claims["cnf"]["jwk"] == sd_jwt["holder_public_jwk"]
    assert_our_library_agrees(sd_jwt)


def test_independent_wallet_obtains_every_configuration_of_one_offer(admin_api: httpx.Client,
                                                                     badge: dict[str, Any]) -> None:
    configurations = ["EduCredential", "EduCredentialSdJwt", "EULearningCredential"]
    made = admin_api.post(f"/admin/badge-classes/{badge['id']}/awards", json={
        "name": "Grace Hopper", "email": "grace@student.example.nl", "credential_configuration_ids": configurations})
    assert made.status_code == 201, made.text
    received = wallet_receive(made.json()["offer_uri"])
    assert [c["configuration_id"] for c in received["credentials"]] == configurations
    for credential in received["credentials"]:
        assert credential["verification"]["verified"] is True, credential["verification"]
        assert_our_library_agrees(credential)
    eu = received["credentials"][2]["verification"]["claims"]
    assert eu["vct"] == "urn:eu.europa.ec.eudi:learning:credential:1"


def test_batch_issuance_gives_unlinkable_credentials(issuer: RunningService, badge: dict[str, Any]) -> None:
    made = award(issuer, badge, "dc+sd-jwt", pin=False)
    received = wallet_receive(made["offer_uri"], batch=3)
    assert len(received["credentials"]) == 3
    claims = [c["verification"]["claims"] for c in received["credentials"]]
    assert all(c["verification"]["verified"] for c in received["credentials"])
    assert len({c["cnf"]["jwk"]["x"] for c in claims}) == 3, "each credential bound to its own key"
    assert len({c["status"]["status_list"]["idx"] for c in claims}) == 3, "each with its own status index"


def test_independent_wallet_binds_its_access_token_with_dpop(issuer: RunningService, badge: dict[str, Any]) -> None:
    """RFC 9449 both ways: oid4vc-ts proves a DPoP key at our token endpoint, gets a DPoP-bound token, and
    presents it with its own proofs at the credential and notification endpoints, which accept them."""
    made = award(issuer, badge, "dc+sd-jwt", pin=False)
    received = wallet_receive(made["offer_uri"], dpop=True, batch=2)
    assert received["token_type"] == "DPoP"
    assert [c["verification"]["verified"] for c in received["credentials"]] == [True, True]
    assert [n["status"] for n in received["notifications"]] == [204]
    plain = wallet_receive(award(issuer, badge, "dc+sd-jwt", pin=False)["offer_uri"])
    assert plain["token_type"] == "Bearer"  # without a proof, the token stays a Bearer token


def test_wrong_pin_is_refused_and_the_offer_uri_is_single_use(issuer: RunningService, badge: dict[str, Any]) -> None:
    made = award(issuer, badge, "jwt_vc_json")
    wrong = "000000" if made["tx_code"] != "000000" else "111111"
    refused = wallet_receive(made["offer_uri"], tx_code=wrong, check=False)
    assert (refused["exit_code"], refused["error_response"]["error"]) == (1, "invalid_grant")
    wallet_receive(made["offer_uri"], tx_code=made["tx_code"])
    again = wallet_receive(made["offer_uri"], tx_code=made["tx_code"], check=False)
    assert (again["exit_code"], again["status"]) == (1, 404), again


def test_replayed_pre_authorized_code_is_invalid_grant(issuer: RunningService, badge: dict[str, Any]) -> None:
    made = award(issuer, badge, "dc+sd-jwt", pin=False)
    [offer_url] = parse_qs(urlsplit(made["offer_uri"]).query)["credential_offer_uri"]
    offer = httpx.get(offer_url).json()  # noqa: TID251 - fetched once here, passed on by value
    by_value = "openid-credential-offer://?" + urlencode({"credential_offer": json.dumps(offer)})
    assert credential_of(wallet_receive(by_value), "dc+sd-jwt")["verification"]["verified"] is True
    replayed = wallet_receive(by_value, check=False)
    assert (replayed["exit_code"], replayed["error_response"]["error"]) == (1, "invalid_grant")


@pytest.mark.parametrize("credential_format", ["dc+sd-jwt", "jwt_vc_json"])
def test_independent_verifier_sees_a_revocation_on_our_status_list(issuer: RunningService, badge: dict[str, Any],
                                                                   verifier: NodeVerifier,
                                                                   credential_format: str) -> None:
    made = award(issuer, badge, credential_format, pin=False)
    credential = credential_of(wallet_receive(made["offer_uri"]), credential_format)
    request_options: dict[str, Any] = {"credential_format": credential_format}
    if credential_format == "dc+sd-jwt":
        request_options["vct_values"] = [credential["verification"]["claims"]["vct"]]
    before = verifier.request(**request_options)
    assert wallet_present(before["request_uri"], credential=credential["credential"],
                          holder_jwk=credential["holder_private_jwk"])["status"] == "submitted"
    assert verifier.result(before["id"])["status"] == "verified"
    assert cli(issuer, "revoke", str(made["award_id"]))["status"] == "revoked"
    after = verifier.request(**request_options)
    answer = wallet_present(after["request_uri"], credential=credential["credential"],
                            holder_jwk=credential["holder_private_jwk"])
    assert answer["status"] == "refused"
    result = verifier.result(after["id"])
    assert (result["status"], result["error"]) == ("rejected", "credential_revoked")

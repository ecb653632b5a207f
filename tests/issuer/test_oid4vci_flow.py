"""OpenID4VCI 1.0 over real HTTP: metadata, offer by reference and its QR, token, nonce, credential
in all three configurations, batch issuance, notification; credentials verified with the keys the
issuer publishes (by our library and, independently, by jwcrypto and sd-jwt-python)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from PIL import Image
from sd_jwt.verifier import SDJWTVerifier

from tests.issuer.live import award, sd_jwt_vc_issuer_key
from tests.issuer.wallet_client import TestWallet
from tests.servers import RunningService
from vc.did_jwk import create_did_jwk
from vc.fetch import Fetcher, FetchPolicy
from vc.jwk import jwk_thumbprint
from vc.jws import decode_jws
from vc.key_resolution import VerificationKeyResolver
from vc.ob3 import CredentialSchemas, validate_open_badge_credential
from vc.sd_jwt import parse_sd_jwt
from vc.sd_jwt_vc import verify_sd_jwt_vc
from vc.vc_jwt import verify_ob3_jwt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fetcher() -> Fetcher:
    return Fetcher(FetchPolicy(allow_http_loopback=True))


def test_issuer_metadata_offers_three_configurations(issuer: RunningService) -> None:
    metadata = httpx.get(issuer.url + "/.well-known/openid-credential-issuer").json()  # noqa: TID251
    assert metadata["credential_issuer"] == issuer.url
    configurations = metadata["credential_configurations_supported"]
    assert configurations["EduCredential"]["format"] == "jwt_vc_json"
    assert "OpenBadgeCredential" in configurations["EduCredential"]["credential_definition"]["type"]
    assert configurations["EduCredentialSdJwt"]["format"] == "dc+sd-jwt"
    assert configurations["EULearningCredential"]["vct"] == "urn:eu.europa.ec.eudi:learning:credential:1"
    assert {d["locale"] for d in metadata["display"]} == {"en", "nl"}
    assert all(d["logo"]["uri"].startswith(issuer.url) for d in metadata["display"])
    assert httpx.get(metadata["display"][0]["logo"]["uri"]).headers["content-type"] == "image/png"  # noqa: TID251
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        as_metadata = httpx.get(issuer.url + path).json()  # noqa: TID251
        assert as_metadata["issuer"] == issuer.url
        assert as_metadata["pre-authorized_grant_anonymous_access_supported"] is True
        assert as_metadata["token_endpoint"] == issuer.url + "/oid4vci/token"


def test_offer_by_reference_is_json_and_its_qr_decodes_to_the_offer_uri(
        issuer: RunningService, admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge, pin=True)
    offer = httpx.get(made["credential_offer_uri"])  # noqa: TID251
    assert offer.headers["content-type"] == "application/json"
    assert offer.json()["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"] == 6
    png = httpx.get(made["qr_png_url"])  # noqa: TID251
    assert png.headers["content-type"] == "image/png"
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert decoded.text == made["offer_uri"]
    svg = httpx.get(made["qr_svg_url"])  # noqa: TID251
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert httpx.get(issuer.url + "/oid4vci/offers/not-a-reference").status_code == 404  # noqa: TID251


def test_open_badge_credential_flow(issuer: RunningService, admin_api: httpx.Client, badge: dict[str, Any],
                                    fetcher: Fetcher, ob3_spec_dir: Path) -> None:
    made = award(admin_api, badge, pin=True)
    session, answer = TestWallet().obtain(made["offer_uri"], tx_code=made["tx_code"])
    [item] = answer["credentials"]
    assert answer["notification_id"]
    token = item["credential"]
    verified = verify_ob3_jwt(token, resolve_key=VerificationKeyResolver(fetcher=fetcher))
    credential = verified.credential
    validate_open_badge_credential(credential)
    assert decode_jws(token).header["kid"].startswith(badge["institution"]["did"] + "#key-")
    assert decode_jws(token).header["typ"] == "JWT"
    achievement = credential["credentialSubject"]["achievement"]
    assert (credential["name"], achievement["name"]) == ("Web Security Essentials", "Web Security Essentials")
    assert achievement["description"] == badge["description"]
    assert achievement["image"]["id"] == badge["image_url"]
    assert achievement["resultDescription"][0]["requiredValue"] == "5.5"
    assert achievement["creditsAvailable"] == 3.0
    [result] = credential["credentialSubject"]["result"]
    assert result == {"type": ["Result"], "resultDescription": achievement["resultDescription"][0]["id"],
                      "value": "8.5"}
    holder_did = create_did_jwk(session.holder_keys[0].public_jwk)
    assert credential["credentialSubject"]["id"] == holder_did
    status = credential["credentialStatus"]
    assert (status["type"], status["statusPurpose"]) == ("BitstringStatusListEntry", "revocation")
    # SURF's educredentials microcredential profile too
    schemas = CredentialSchemas.from_directory(ob3_spec_dir / "examples" / "educredentials" / "schemas")
    checked = schemas.validate_credential_schemas(credential)  # raises SchemaInvalid on any failure
    assert [url.rsplit("/", 1)[1] for url in checked] == [
        "ob_v3p0_achievementcredential_schema.json", "microcredential.json", "microcredential_ects.json"]
    # independently: jwcrypto with the key from the did:web document
    did_document = httpx.get(f"{issuer.url}/institutions/{badge['institution']['id']}/did.json").json()  # noqa: TID251
    [method] = [m for m in did_document["verificationMethod"] if m["id"] == decode_jws(token).header["kid"]]
    jws = JWS()
    jws.deserialize(token)
    jws.verify(JWK(**method["publicKeyJwk"]), alg="ES256")
    assert json.loads(jws.payload)["jti"] == credential["id"]


def _jwt_vc_issuer_key(metadata_url: str) -> Any:
    keys = httpx.get(metadata_url).json()["jwks"]["keys"]  # noqa: TID251

    def key(_iss: str, header: dict[str, Any]) -> JWK:
        [jwk] = [k for k in keys if k["kid"] == header["kid"]]
        return JWK(**jwk)

    return key


def test_sd_jwt_vc_flow(issuer: RunningService, admin_api: httpx.Client, badge: dict[str, Any], fetcher: Fetcher) -> None:
    made = award(admin_api, badge, format="dc+sd-jwt", eduid="urn:eduid:1234")
    _session, answer = TestWallet().obtain(made["offer_uri"])
    sd_jwt = answer["credentials"][0]["credential"]
    assert sd_jwt.endswith("~")
    verified = verify_sd_jwt_vc(sd_jwt, issuer_key=sd_jwt_vc_issuer_key(fetcher), key_binding=False)
    claims = verified.claims
    # The institution's own `iss`, so a verifier trusts this institution, not every one on the service.
    assert claims["iss"] == badge["institution"]["sd_jwt_vc_issuer"] == f"{issuer.url}/institutions/{badge['institution']['id']}"
    assert claims["vct"] == badge["vct"]
    assert claims["achievement"]["name"] == "Web Security Essentials"
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Lovelace"
    assert claims["result"]["value"] == "8.5"
    assert set(claims["status"]["status_list"]) == {"idx", "uri"}
    parsed = parse_sd_jwt(sd_jwt)
    payload = decode_jws(parsed.issuer_jwt).claims()
    for never in ("vct", "iss", "exp", "cnf", "status", "iat"):
        assert never in payload, never
    for personal in ("given_name", "family_name", "email", "eduid", "result"):
        assert personal not in payload, personal
    header = decode_jws(parsed.issuer_jwt).header
    assert header["typ"] == "dc+sd-jwt"
    # an https iss: the kid names a key of the institution's JWT VC Issuer Metadata (its thumbprint), never a
    # DID URL; the metadata sits at the well-known path with the `iss` path after it (SD-JWT VC §5)
    institution = badge["institution"]["id"]
    metadata_url = f"{issuer.url}/.well-known/jwt-vc-issuer/institutions/{institution}"
    metadata = httpx.get(metadata_url).json()  # noqa: TID251
    assert metadata["issuer"] == claims["iss"]
    [key] = [k for k in metadata["jwks"]["keys"] if k["kid"] == header["kid"]]
    assert header["kid"] == jwk_thumbprint(key) and not header["kid"].startswith("did:")
    # Another institution's metadata does not list this key; an unknown institution has none.
    other = admin_api.post("/admin/institutions", json={"name": "Hogeschool Elders"}).json()
    elsewhere = httpx.get(f"{issuer.url}/.well-known/jwt-vc-issuer/institutions/{other['id']}").json()  # noqa: TID251
    assert elsewhere["issuer"] == other["sd_jwt_vc_issuer"] and elsewhere["jwks"]["keys"]
    assert header["kid"] not in {k["kid"] for k in elsewhere["jwks"]["keys"]}
    unknown = httpx.get(f"{issuer.url}/.well-known/jwt-vc-issuer/institutions/99999")  # noqa: TID251
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    # SD-JWT VCs issued under the service's own URL (before institutions had their own) keep verifying.
    root = httpx.get(issuer.url + "/.well-known/jwt-vc-issuer").json()  # noqa: TID251
    assert root["issuer"] == issuer.url and header["kid"] in {k["kid"] for k in root["jwks"]["keys"]}
    # type metadata of the badge's vct, which extends the configuration's vct
    type_metadata = httpx.get(claims["vct"]).json()  # noqa: TID251
    assert type_metadata["vct"] == claims["vct"] and type_metadata["name"] == "Web Security Essentials"
    assert httpx.get(type_metadata["extends"]).json()["vct"] == type_metadata["extends"]  # noqa: TID251
    # independently: sd-jwt-python with the key from /.well-known/jwt-vc-issuer
    independent = SDJWTVerifier(sd_jwt, _jwt_vc_issuer_key(metadata_url)).get_verified_payload()
    assert independent["email"] == "ada@student.example.nl" and independent["eduid"] == "urn:eduid:1234"


def test_eu_learning_credential_flow(issuer: RunningService, admin_api: httpx.Client, badge: dict[str, Any],
                                     fetcher: Fetcher) -> None:
    made = award(admin_api, badge, credential_configuration_ids=["EULearningCredential", "EduCredential"])
    _session, answer = TestWallet().obtain(made["offer_uri"], configuration_id="EULearningCredential")
    sd_jwt = answer["credentials"][0]["credential"]
    claims = verify_sd_jwt_vc(sd_jwt, issuer_key=sd_jwt_vc_issuer_key(fetcher), key_binding=False).claims
    assert claims["vct"] == "urn:eu.europa.ec.eudi:learning:credential:1"
    assert claims["achievement_title"] == "Web Security Essentials"
    assert claims["level_of_learning_experience"] == 6
    assert claims["learning_outcomes"] == ["Threat modelling", "Secure API design"]
    assert claims["issuing_authority"] == "Universiteit Voorbeeld" and claims["issuing_country"] == "NL"
    assert claims["assessment_grade"] == "8.5"


def test_batch_issuance_gives_each_credential_its_own_status_index(
        admin_api: httpx.Client, badge: dict[str, Any], fetcher: Fetcher) -> None:
    made = award(admin_api, badge, format="dc+sd-jwt")
    session, answer = TestWallet().obtain(made["offer_uri"], batch=3)
    assert len(answer["credentials"]) == 3
    indices, holders = set(), set()
    for item, key in zip(answer["credentials"], session.holder_keys, strict=True):
        claims = verify_sd_jwt_vc(item["credential"], issuer_key=sd_jwt_vc_issuer_key(fetcher),
                                  key_binding=False).claims
        indices.add(claims["status"]["status_list"]["idx"])
        assert claims["cnf"]["jwk"]["x"] == key.public_jwk["x"]
        holders.add(claims["cnf"]["jwk"]["x"])
    assert len(indices) == 3 and len(holders) == 3


def test_notification_endpoint(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge)
    wallet = TestWallet()
    session, answer = wallet.obtain(made["offer_uri"])
    endpoint = session.metadata["notification_endpoint"]
    auth = {"Authorization": f"Bearer {session.access_token}"}
    ok = wallet.http.post(endpoint, json={"notification_id": answer["notification_id"],
                                          "event": "credential_accepted"}, headers=auth)
    assert ok.status_code == 204
    unknown = wallet.http.post(endpoint, json={"notification_id": "nope", "event": "credential_accepted"},
                               headers=auth)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_notification_id")
    bad = wallet.http.post(endpoint, json={"notification_id": answer["notification_id"], "event": "exploded"},
                           headers=auth)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_notification_request")
    anonymous = wallet.http.post(endpoint, json={"notification_id": answer["notification_id"],
                                                 "event": "credential_deleted"})
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_token")

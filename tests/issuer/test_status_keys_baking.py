"""Published status lists reflect revoke/suspend at once; key rotation keeps old credentials verifiable;
RS256 institutions; baked PNGs round-trip. Over real HTTP, verified with the library's own checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.issuer.live import MICROCREDENTIAL, award, sd_jwt_vc_issuer_key
from tests.issuer.wallet_client import TestWallet
from tests.servers import RunningService
from vc.baking import extract_png
from vc.bitstring_status_list import validate_bitstring_status
from vc.fetch import Fetcher, FetchPolicy
from vc.jws import decode_jws
from vc.key_resolution import VerificationKeyResolver
from vc.sd_jwt_vc import verify_sd_jwt_vc
from vc.token_status_list import INVALID, MEDIA_TYPE, SUSPENDED, VALID, check_status, status_list_token_fetcher
from vc.vc_jwt import verify_ob3_jwt, verify_vc_jwt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fetcher() -> Fetcher:
    return Fetcher(FetchPolicy(allow_http_loopback=True))


def _sd_jwt_status(fetcher: Fetcher, sd_jwt: str) -> int:
    claims = verify_sd_jwt_vc(sd_jwt, issuer_key=sd_jwt_vc_issuer_key(fetcher), key_binding=False).claims
    # Status List Tokens carry the institution's `iss`: their key too comes from its JWT VC Issuer Metadata
    return check_status(claims["status"], fetch_token=status_list_token_fetcher(fetcher),
                        resolve_key=VerificationKeyResolver(fetcher=fetcher, cache=None))


def _ob3_status(fetcher: Fetcher, token: str) -> dict[str, Any]:
    resolver = VerificationKeyResolver(fetcher=fetcher)
    credential = verify_ob3_jwt(token, resolve_key=resolver).credential

    def dereference(url: str) -> dict[str, Any]:
        content_type, body = fetcher.get_bytes(url, accept="application/vc+jwt")
        assert content_type.startswith("application/vc+jwt")
        return verify_vc_jwt(body.decode(), resolve_key=resolver).credential

    return validate_bitstring_status(credential["credentialStatus"], dereference=dereference)


def test_token_status_list_reflects_revoke_and_suspend_at_once(admin_api: httpx.Client, badge: dict[str, Any],
                                                               fetcher: Fetcher) -> None:
    one = award(admin_api, badge, format="dc+sd-jwt", email="one@x.nl")
    two = award(admin_api, badge, format="dc+sd-jwt", email="two@x.nl")
    first = TestWallet().obtain(one["offer_uri"])[1]["credentials"][0]["credential"]
    second = TestWallet().obtain(two["offer_uri"])[1]["credentials"][0]["credential"]
    assert _sd_jwt_status(fetcher, first) == VALID
    admin_api.post(f"/admin/awards/{one['id']}/revoke").raise_for_status()
    admin_api.post(f"/admin/awards/{two['id']}/suspend").raise_for_status()
    assert _sd_jwt_status(fetcher, first) == INVALID
    assert _sd_jwt_status(fetcher, second) == SUSPENDED
    admin_api.post(f"/admin/awards/{two['id']}/unsuspend").raise_for_status()
    assert _sd_jwt_status(fetcher, second) == VALID


def test_status_list_token_is_served_signed_with_cache_headers(issuer: RunningService, admin_api: httpx.Client,
                                                               badge: dict[str, Any]) -> None:
    made = award(admin_api, badge, format="dc+sd-jwt", email="three@x.nl")
    sd_jwt = TestWallet().obtain(made["offer_uri"])[1]["credentials"][0]["credential"]
    uri = decode_jws(sd_jwt.split("~")[0]).claims()["status"]["status_list"]["uri"]
    assert uri.startswith(issuer.url + "/status/tsl/")
    response = httpx.get(uri)  # noqa: TID251
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.headers["cache-control"] == "public, max-age=60"
    token = decode_jws(response.text)
    assert token.header["typ"] == "statuslist+jwt"
    claims = token.claims()
    assert claims["sub"] == uri and claims["ttl"] == 60 and claims["exp"] > claims["iat"]
    assert claims["status_list"]["bits"] == 2
    assert httpx.get(issuer.url + "/status/tsl/999999").status_code == 404  # noqa: TID251


def test_bitstring_status_list_reflects_revoke_and_suspend(admin_api: httpx.Client, badge: dict[str, Any],
                                                           fetcher: Fetcher) -> None:
    one = award(admin_api, badge, email="four@x.nl")
    two = award(admin_api, badge, email="five@x.nl")
    first = TestWallet().obtain(one["offer_uri"])[1]["credentials"][0]["credential"]
    second = TestWallet().obtain(two["offer_uri"])[1]["credentials"][0]["credential"]
    assert _ob3_status(fetcher, first)["valid"] is True
    admin_api.post(f"/admin/awards/{one['id']}/revoke").raise_for_status()
    admin_api.post(f"/admin/awards/{two['id']}/suspend").raise_for_status()
    assert _ob3_status(fetcher, first) == {"status": 1, "purpose": "revocation", "valid": False}
    assert _ob3_status(fetcher, second)["valid"] is False
    admin_api.post(f"/admin/awards/{two['id']}/unsuspend").raise_for_status()
    assert _ob3_status(fetcher, second)["valid"] is True


def test_key_rotation_keeps_old_credentials_verifiable(issuer: RunningService, admin_api: httpx.Client,
                                                       fetcher: Fetcher) -> None:
    institution = admin_api.post("/admin/institutions", json={"name": "Rotating College"}).json()
    rotating = admin_api.post("/admin/badge-classes", json={"institution_id": institution["id"],
                                                            "name": "Key Hygiene", **MICROCREDENTIAL}).json()
    old_jwt = TestWallet().obtain(award(admin_api, rotating)["offer_uri"])[1]["credentials"][0]["credential"]
    old_sd = TestWallet().obtain(award(admin_api, rotating, format="dc+sd-jwt")["offer_uri"])[1][
        "credentials"][0]["credential"]
    rotated = admin_api.post(f"/admin/institutions/{institution['id']}/keys/rotate")
    assert rotated.status_code == 201 and rotated.json()["kid"].endswith("#key-2")
    new_jwt = TestWallet().obtain(award(admin_api, rotating)["offer_uri"])[1]["credentials"][0]["credential"]
    assert decode_jws(old_jwt).header["kid"].endswith("#key-1")
    assert decode_jws(new_jwt).header["kid"].endswith("#key-2")
    resolver = VerificationKeyResolver(fetcher=fetcher, cache=None)
    for token in (old_jwt, new_jwt):
        verify_ob3_jwt(token, resolve_key=resolver)
    verify_sd_jwt_vc(old_sd, issuer_key=sd_jwt_vc_issuer_key(fetcher), key_binding=False)
    keys = admin_api.get(f"/admin/institutions/{institution['id']}/keys").json()
    assert [(k["kid"].rsplit("#", 1)[1], k["active"]) for k in keys] == [("key-1", False), ("key-2", True)]
    document = httpx.get(f"{issuer.url}/institutions/{institution['id']}/did.json").json()  # noqa: TID251
    assert len(document["verificationMethod"]) == 2 and document["id"] == institution["did"]


def test_rs256_institution_signs_open_badges_with_rs256(admin_api: httpx.Client, fetcher: Fetcher) -> None:
    institution = admin_api.post("/admin/institutions", json={"name": "RSA University",
                                                              "signing_alg": "RS256"}).json()
    rsa_badge = admin_api.post("/admin/badge-classes", json={"institution_id": institution["id"],
                                                             "name": "Baseline"}).json()
    token = TestWallet().obtain(award(admin_api, rsa_badge, result=None)["offer_uri"])[1]["credentials"][0][
        "credential"]
    assert decode_jws(token).header["alg"] == "RS256"
    verified = verify_ob3_jwt(token, resolve_key=VerificationKeyResolver(fetcher=fetcher))
    assert verified.credential["credentialSubject"]["achievement"]["name"] == "Baseline"


def test_baked_png_round_trips(admin_api: httpx.Client, badge: dict[str, Any], fetcher: Fetcher) -> None:
    made = award(admin_api, badge, email="baked@x.nl")
    response = admin_api.get(f"/admin/awards/{made['id']}/baked.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    token = extract_png(response.content)
    credential = verify_ob3_jwt(token, resolve_key=VerificationKeyResolver(fetcher=fetcher)).credential
    assert credential["credentialSubject"]["achievement"]["name"] == badge["name"]
    assert "id" not in credential["credentialSubject"]
    assert credential["credentialSubject"]["identifier"][0]["identityType"] == "emailAddress"
    admin_api.post(f"/admin/awards/{made['id']}/revoke").raise_for_status()
    assert _ob3_status(fetcher, token)["valid"] is False
    assert admin_api.get(f"/admin/awards/{made['id']}/baked.png").status_code == 409

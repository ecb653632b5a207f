"""Every refusal of the token and credential endpoints, over real HTTP, with the spec's error code;
and the races: one pre-authorized code and one `c_nonce` each win exactly once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.issuer.live import award
from tests.issuer.wallet_client import Session, TestWallet, WalletError
from vc.did_jwk import create_did_jwk
from vc.did_key import create_did_key
from vc.keys import SoftwareSigner

pytestmark = pytest.mark.integration


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def _ready(admin_api: httpx.Client, badge: dict[str, Any], **fields: Any) -> tuple[TestWallet, Session]:
    """An award redeemed up to the access token."""
    made = award(admin_api, badge, **fields)
    wallet = TestWallet()
    session = wallet.resolve(made["offer_uri"])
    wallet.token(session, tx_code=made.get("tx_code"))
    return wallet, session


def _request_with(wallet: TestWallet, session: Session, **proof_args: Any) -> httpx.Response:
    holder = SoftwareSigner.generate("ES256")
    args = {"aud": session.credential_issuer, "nonce": wallet.nonce(session), **proof_args}
    return wallet.credential_request(session, [wallet.proof(holder, **args)])


# --- token endpoint -----------------------------------------------------------------------------

def test_replayed_pre_authorized_code_is_invalid_grant(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    with pytest.raises(WalletError) as refused:
        wallet.token(session)
    assert (refused.value.status_code, refused.value.error) == (400, "invalid_grant")


def test_wrong_pin_is_invalid_grant(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge, pin=True)
    wallet = TestWallet()
    session = wallet.resolve(made["offer_uri"])
    wrong = "000000" if made["tx_code"] != "000000" else "999999"
    with pytest.raises(WalletError) as refused:
        wallet.token(session, tx_code=wrong)
    assert (refused.value.status_code, refused.value.error) == (400, "invalid_grant")
    assert wallet.token(session, tx_code=made["tx_code"])  # the right PIN still works


def test_missing_pin_is_invalid_request(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge, pin=True)
    wallet = TestWallet()
    with pytest.raises(WalletError) as refused:
        wallet.token(wallet.resolve(made["offer_uri"]))
    assert (refused.value.status_code, refused.value.error) == (400, "invalid_request")


def test_offer_locks_after_five_wrong_pins(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge, pin=True)
    wallet = TestWallet()
    session = wallet.resolve(made["offer_uri"])
    for attempt in range(5):
        with pytest.raises(WalletError) as refused:
            wallet.token(session, tx_code=f"{attempt:06d}" if f"{attempt:06d}" != made["tx_code"] else "999999")
        assert refused.value.error == "invalid_grant"
    with pytest.raises(WalletError) as locked:
        wallet.token(session, tx_code=made["tx_code"])
    assert (locked.value.status_code, locked.value.error) == (400, "invalid_grant")
    assert "locked" in locked.value.response.json()["error_description"]


def test_unsupported_grant_type_and_wrong_content_type(issuer: Any) -> None:
    token_endpoint = issuer.url + "/oid4vci/token"
    response = httpx.post(token_endpoint, data={"grant_type": "password", "username": "x"})  # noqa: TID251
    assert _error(response) == (400, "unsupported_grant_type")
    response = httpx.post(token_endpoint, json={"grant_type": "x"})  # noqa: TID251
    assert _error(response) == (400, "invalid_request")


def test_parallel_redemptions_of_one_code_yield_exactly_one_token(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge)
    session = TestWallet().resolve(made["offer_uri"])
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": session.pre_authorized_code}

    def redeem(_: int) -> int:
        with httpx.Client(timeout=60) as client:
            return client.post(session.as_metadata["token_endpoint"], data=form).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(redeem, range(30)))
    assert statuses.count(200) == 1
    assert statuses.count(400) == 29


# --- credential endpoint ------------------------------------------------------------------------

def test_replayed_c_nonce_is_invalid_nonce(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    c_nonce = wallet.nonce(session)
    first = wallet.credential_request(session, [wallet.proof(SoftwareSigner.generate(), aud=session.credential_issuer,
                                                             nonce=c_nonce)])
    assert first.status_code == 200
    again = wallet.credential_request(session, [wallet.proof(SoftwareSigner.generate(), aud=session.credential_issuer,
                                                             nonce=c_nonce)])
    assert _error(again) == (400, "invalid_nonce")


def test_proof_with_wrong_nonce_is_invalid_nonce(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    assert _error(_request_with(wallet, session, nonce="made-up-nonce")) == (400, "invalid_nonce")


def test_proof_without_nonce_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    assert _error(_request_with(wallet, session, nonce=None)) == (400, "invalid_proof")


def test_proof_with_wrong_typ_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    assert _error(_request_with(wallet, session, typ="JWT")) == (400, "invalid_proof")


def test_proof_with_wrong_aud_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    assert _error(_request_with(wallet, session, aud="https://other-issuer.example.org")) == (400, "invalid_proof")


def test_proof_with_stale_iat_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    assert _error(_request_with(wallet, session, iat=int(time.time()) - 3600)) == (400, "invalid_proof")
    assert _error(_request_with(wallet, session, iat=int(time.time()) + 3600)) == (400, "invalid_proof")


def test_proof_with_bad_signature_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    assert _error(_request_with(wallet, session, tamper=True)) == (400, "invalid_proof")


def test_proof_with_private_key_in_header_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    from vc.jwk import private_jwk
    from vc.jws import sign_jws

    wallet, session = _ready(admin_api, badge)
    holder = SoftwareSigner.generate("ES256")
    proof = sign_jws({"aud": session.credential_issuer, "iat": int(time.time()), "nonce": wallet.nonce(session)},
                     holder, typ="openid4vci-proof+jwt", header={"jwk": private_jwk(holder.private_key)},
                     include_kid=False)
    assert _error(wallet.credential_request(session, [proof])) == (400, "invalid_proof")


def test_missing_proofs_is_invalid_proof(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    response = wallet.http.post(session.metadata["credential_endpoint"],
                                json={"credential_configuration_id": "EduCredential"},
                                headers={"Authorization": f"Bearer {session.access_token}"})
    assert _error(response) == (400, "invalid_proof")


def test_proof_by_did_jwk_and_did_key_kid_is_accepted(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    for make_did in (create_did_jwk, create_did_key):
        wallet, session = _ready(admin_api, badge)
        holder = SoftwareSigner.generate("ES256")
        did = make_did(holder.public_jwk)
        fragment = "0" if did.startswith("did:jwk:") else did.removeprefix("did:key:")
        proof = wallet.proof(holder, aud=session.credential_issuer, nonce=wallet.nonce(session),
                             use_kid=f"{did}#{fragment}")
        response = wallet.credential_request(session, [proof])
        assert response.status_code == 200, response.text


def test_unknown_configuration_and_identifier(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    proof = wallet.proof(SoftwareSigner.generate(), aud=session.credential_issuer, nonce=wallet.nonce(session))
    response = wallet.credential_request(session, [proof], configuration_id="NoSuchCredential")
    assert _error(response) == (400, "unknown_credential_configuration")
    response = wallet.http.post(session.metadata["credential_endpoint"],
                                json={"credential_identifier": "nope", "proofs": {"jwt": [proof]}},
                                headers={"Authorization": f"Bearer {session.access_token}"})
    assert _error(response) == (400, "unknown_credential_identifier")


def test_malformed_credential_request_is_invalid_credential_request(admin_api: httpx.Client,
                                                                    badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    auth = {"Authorization": f"Bearer {session.access_token}"}
    endpoint = session.metadata["credential_endpoint"]
    for body in (b"{not json", b"[]", b'{"credential_configuration_id": "EduCredential", "credential_identifier": "x"}',
                 b'{"credential_configuration_id": "EduCredential", "proof": {"proof_type": "jwt", "jwt": "x"}}'):
        response = wallet.http.post(endpoint, content=body, headers={**auth, "content-type": "application/json"})
        assert _error(response) == (400, "invalid_credential_request"), body


def test_credential_request_needs_a_valid_access_token(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = wallet.http.post(session.metadata["credential_endpoint"], headers=headers,
                                    json={"credential_configuration_id": "EduCredential"})
        assert _error(response) == (401, "invalid_token")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_revoked_award_is_credential_request_denied(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin_api, badge)
    wallet = TestWallet()
    session = wallet.resolve(made["offer_uri"])
    wallet.token(session)
    admin_api.post(f"/admin/awards/{made['id']}/revoke").raise_for_status()
    assert _error(_request_with(wallet, session)) == (400, "credential_request_denied")


def test_parallel_credential_requests_with_one_nonce_yield_one_credential(admin_api: httpx.Client,
                                                                          badge: dict[str, Any]) -> None:
    wallet, session = _ready(admin_api, badge)
    c_nonce = wallet.nonce(session)
    proofs = [wallet.proof(SoftwareSigner.generate(), aud=session.credential_issuer, nonce=c_nonce) for _ in range(20)]

    def request(proof: str) -> int:
        with httpx.Client(timeout=60) as client:
            return TestWallet(client).credential_request(session, [proof]).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(request, proofs))
    assert statuses.count(200) == 1
    assert statuses.count(400) == 19

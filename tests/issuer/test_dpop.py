"""DPoP-bound access tokens at the issuer (RFC 9449), over real HTTP: the binding, and every refusal with its
code (`invalid_dpop_proof` 400 at the token endpoint, 401 with a `DPoP` challenge at the credential endpoint)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from issuer.services.dpop import DpopNonces
from schemas.oid4vci import PRE_AUTHORIZED_CODE_GRANT
from tests.interop.harness import wallet_receive
from tests.issuer.live import MICROCREDENTIAL, award
from tests.issuer.wallet_client import Session, TestWallet
from tests.servers import running_service
from vc.dpop import DpopClient, create_dpop_proof
from vc.fetch import Fetcher, FetchPolicy
from vc.keys import SoftwareSigner
from vc.oid4vci_client import obtain_credentials, request_token, resolve_credential_offer, resolve_issuer

pytestmark = pytest.mark.integration


def _token_request(wallet: TestWallet, session: Session, *proofs: str) -> httpx.Response:
    form = {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": session.pre_authorized_code}
    headers = [("DPoP", proof) for proof in proofs]
    return wallet.http.post(session.as_metadata["token_endpoint"], data=form, headers=headers)


def _bound(admin_api: httpx.Client, badge: dict[str, Any]) -> tuple[TestWallet, Session, SoftwareSigner]:
    """An award redeemed for a token bound to a fresh DPoP key."""
    wallet, key = TestWallet(), SoftwareSigner.generate("ES256")
    session = wallet.resolve(award(admin_api, badge)["offer_uri"])
    answer = _token_request(wallet, session, create_dpop_proof(key, htm="POST",
                                                               htu=session.as_metadata["token_endpoint"]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"
    session.access_token = answer.json()["access_token"]
    return wallet, session, key


def _credential(wallet: TestWallet, session: Session, *, scheme: str = "DPoP", dpop: list[str] = ()) -> httpx.Response:
    holder = SoftwareSigner.generate("ES256")
    body = {"credential_configuration_id": session.configuration_id,
            "proofs": {"jwt": [wallet.proof(holder, aud=session.credential_issuer, nonce=wallet.nonce(session))]}}
    headers = [("Authorization", f"{scheme} {session.access_token}"), *(("DPoP", p) for p in dpop)]
    return wallet.http.post(session.metadata["credential_endpoint"], json=body, headers=headers)


def _proof(key: SoftwareSigner, session: Session, *, url: str | None = None, token: str | None = "session") -> str:
    return create_dpop_proof(key, htm="POST", htu=url or session.metadata["credential_endpoint"],
                             access_token=session.access_token if token == "session" else token)


def _refused(response: httpx.Response, status: int, error: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, error), response.text


def test_authorization_server_metadata_lists_the_dpop_algorithms(admin_api: httpx.Client) -> None:
    metadata = admin_api.get("/.well-known/oauth-authorization-server").json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA", "RS256"]


def test_a_dpop_bound_token_gets_credentials_and_notifies_with_proofs_by_its_key(
        admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session, key = _bound(admin_api, badge)
    issued = _credential(wallet, session, dpop=[_proof(key, session)])
    assert issued.status_code == 200, issued.text
    notification = wallet.http.post(
        session.metadata["notification_endpoint"],
        json={"notification_id": issued.json()["notification_id"], "event": "credential_accepted"},
        headers={"Authorization": f"DPoP {session.access_token}",
                 "DPoP": _proof(key, session, url=session.metadata["notification_endpoint"])})
    assert notification.status_code == 204, notification.text


def test_a_dpop_bound_token_is_refused_as_a_bearer_token(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session, key = _bound(admin_api, badge)
    stolen = _credential(wallet, session, scheme="Bearer")
    _refused(stolen, 401, "invalid_token")
    assert stolen.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
    assert 'algs="ES256 EdDSA RS256"' in stolen.headers["www-authenticate"]


@pytest.mark.parametrize("forgery", ["no proof", "two proofs", "another key", "another endpoint", "no ath",
                                     "ath of another token", "proof of the token request"])
def test_a_dpop_bound_token_needs_one_fresh_proof_by_its_key(admin_api: httpx.Client, badge: dict[str, Any],
                                                             forgery: str) -> None:
    wallet, session, key = _bound(admin_api, badge)
    proofs = {
        "no proof": [],
        "two proofs": [_proof(key, session), _proof(key, session)],
        "another key": [_proof(SoftwareSigner.generate("ES256"), session)],
        "another endpoint": [_proof(key, session, url=session.metadata["notification_endpoint"])],
        "no ath": [_proof(key, session, token=None)],
        "ath of another token": [_proof(key, session, token="someone-elses-token")],
        "proof of the token request": [create_dpop_proof(key, htm="POST", htu=session.as_metadata["token_endpoint"])],
    }[forgery]
    refused = _credential(wallet, session, dpop=proofs)
    _refused(refused, 401, "invalid_dpop_proof")
    assert refused.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    assert _credential(wallet, session, dpop=[_proof(key, session)]).status_code == 200  # the token still works


def test_a_dpop_proof_is_accepted_once(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet, session, key = _bound(admin_api, badge)
    proof = _proof(key, session)
    assert _credential(wallet, session, dpop=[proof]).status_code == 200
    replayed = _credential(wallet, session, dpop=[proof])
    _refused(replayed, 401, "invalid_dpop_proof")
    assert "used before" in replayed.json()["error_description"]


def test_parallel_requests_with_one_dpop_proof_get_one_credential(admin_api: httpx.Client,
                                                                 badge: dict[str, Any]) -> None:
    wallet, session, key = _bound(admin_api, badge)
    proof = _proof(key, session)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: _credential(wallet, session, dpop=[proof]), range(12)))
    assert sorted(a.status_code for a in answers) == [200] + [401] * 11
    assert {a.json()["error"] for a in answers if a.status_code == 401} == {"invalid_dpop_proof"}


def test_a_bearer_token_is_refused_under_the_dpop_scheme(admin_api: httpx.Client, badge: dict[str, Any]) -> None:
    wallet = TestWallet()
    session = wallet.resolve(award(admin_api, badge)["offer_uri"])
    wallet.token(session)  # no DPoP header: a Bearer token
    key = SoftwareSigner.generate("ES256")
    _refused(_credential(wallet, session, dpop=[_proof(key, session)]), 401, "invalid_token")
    assert _credential(wallet, session, scheme="Bearer").status_code == 200


@pytest.mark.parametrize("forgery", ["another endpoint", "two proofs", "a resource proof", "not a JWT"])
def test_a_bad_proof_at_the_token_endpoint_is_invalid_dpop_proof_and_spends_nothing(
        admin_api: httpx.Client, badge: dict[str, Any], forgery: str) -> None:
    wallet, key = TestWallet(), SoftwareSigner.generate("ES256")
    session = wallet.resolve(award(admin_api, badge)["offer_uri"])
    endpoint = session.as_metadata["token_endpoint"]
    good = create_dpop_proof(key, htm="POST", htu=endpoint)
    proofs = {"another endpoint": [create_dpop_proof(key, htm="POST", htu=session.metadata["credential_endpoint"])],
              "two proofs": [good, create_dpop_proof(key, htm="POST", htu=endpoint)],
              "a resource proof": [create_dpop_proof(key, htm="GET", htu=endpoint)],
              "not a JWT": ["eyJhbGciOiJub25lIn0.e30."]}[forgery]
    _refused(_token_request(wallet, session, *proofs), 400, "invalid_dpop_proof")
    answer = _token_request(wallet, session, good)  # the pre-authorized code was not used up
    assert answer.status_code == 200 and answer.json()["token_type"] == "DPoP"
    replayed = wallet.resolve(award(admin_api, badge)["offer_uri"])
    _refused(_token_request(wallet, replayed, good), 400, "invalid_dpop_proof")  # nor is a proof used twice


# --- an issuer that wants its own nonces in DPoP proofs (RFC 9449 §8, §9) ------------------------------

@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """An issuer with EDUWALLET_ISSUER_DPOP_REQUIRED and _DPOP_NONCE_REQUIRED, its admin API and a badge class."""
    env = {"EDUWALLET_ISSUER_DPOP_REQUIRED": "true", "EDUWALLET_ISSUER_DPOP_NONCE_REQUIRED": "true"}
    with running_service("issuer", tmp_path_factory.mktemp("strict-issuer"), env=env) as service, httpx.Client(
            base_url=service.url, timeout=30, headers={
                "Authorization": f"Bearer {(service.var_dir / 'issuer-admin.token').read_text().strip()}"}) as api:
        institution = api.post("/admin/institutions", json={"name": "Hogeschool Streng", "country": "NL"}).json()
        made = api.post("/admin/badge-classes", json={"institution_id": institution["id"], "name": "Secure Tokens",
                                                      **MICROCREDENTIAL})
        assert made.status_code == 201, made.text
        yield api, made.json()


def test_nonces_are_handed_out_and_required_at_the_token_and_credential_endpoints(
        strict: tuple[httpx.Client, dict[str, Any]]) -> None:
    api, badge = strict
    wallet, key = TestWallet(), SoftwareSigner.generate("ES256")
    session = wallet.resolve(award(api, badge)["offer_uri"])
    token_endpoint = session.as_metadata["token_endpoint"]
    _refused(_token_request(wallet, session), 400, "invalid_dpop_proof")  # DPoP is required here
    asked = _token_request(wallet, session, create_dpop_proof(key, htm="POST", htu=token_endpoint))
    _refused(asked, 400, "use_dpop_nonce")
    nonce = asked.headers["dpop-nonce"]
    forged = nonce.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    _refused(_token_request(wallet, session, create_dpop_proof(key, htm="POST", htu=token_endpoint, nonce=forged)),
             400, "use_dpop_nonce")
    stale = f"{int(nonce.split('.')[0]) - 10}.{nonce.split('.')[1]}"  # ten minutes back: the MAC no longer fits
    _refused(_token_request(wallet, session, create_dpop_proof(key, htm="POST", htu=token_endpoint, nonce=stale)),
             400, "use_dpop_nonce")
    answer = _token_request(wallet, session, create_dpop_proof(key, htm="POST", htu=token_endpoint, nonce=nonce))
    assert answer.status_code == 200 and answer.json()["token_type"] == "DPoP", answer.text
    assert answer.headers["dpop-nonce"]
    assert wallet.http.post(session.metadata["nonce_endpoint"]).headers["dpop-nonce"]
    session.access_token = answer.json()["access_token"]

    url = session.metadata["credential_endpoint"]
    challenged = _credential(wallet, session, dpop=[create_dpop_proof(key, htm="POST", htu=url,
                                                                      access_token=session.access_token)])
    _refused(challenged, 401, "use_dpop_nonce")
    assert challenged.headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
    issued = _credential(wallet, session, dpop=[create_dpop_proof(
        key, htm="POST", htu=url, access_token=session.access_token, nonce=challenged.headers["dpop-nonce"])])
    assert issued.status_code == 200 and issued.headers["dpop-nonce"], issued.text


def test_our_wallet_client_follows_the_nonce_challenges(strict: tuple[httpx.Client, dict[str, Any]]) -> None:
    api, badge = strict
    dpop = DpopClient(SoftwareSigner.generate("ES256"))
    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        context = resolve_issuer(resolve_credential_offer(award(api, badge)["offer_uri"], fetcher), fetcher)
        token = request_token(context, fetcher, dpop=dpop)
        assert token.token_type == "DPoP" and dpop.nonces  # taken from the use_dpop_nonce answer
        [configuration] = context.offered_configurations()
        issued = obtain_credentials(context, token, configuration, [SoftwareSigner.generate("ES256")], fetcher,
                                    dpop=dpop)
    assert len(issued) == 1


def test_the_independent_wallet_follows_the_nonce_challenges(strict: tuple[httpx.Client, dict[str, Any]]) -> None:
    api, badge = strict
    received = wallet_receive(award(api, badge)["offer_uri"], dpop=True, verify=False)
    assert received["token_type"] == "DPoP" and len(received["credentials"]) == 1
    assert [n["status"] for n in received["notifications"]] == [204]


def test_a_nonce_is_ours_and_fresh_or_not_accepted() -> None:
    nonces, now = DpopNonces(b"k" * 32), 1_780_000_000
    nonce = nonces.current(now)
    assert nonces.valid(nonce, now=now + 300, lifetime_seconds=300)
    assert not nonces.valid(nonce, now=now + 421, lifetime_seconds=300)  # too old
    assert not nonces.valid(nonces.current(now + 120), now=now, lifetime_seconds=300)  # from the future
    assert not DpopNonces(b"x" * 32).valid(nonce, now=now, lifetime_seconds=300)  # another issuer's
    minute, mac = nonce.split(".")
    for forged in (None, "", minute, f"{int(minute) + 1}.{mac}", f"²{minute}.{mac}", f"{minute}.{mac}x", "9" * 40):
        assert not nonces.valid(forged, now=now, lifetime_seconds=300), forged

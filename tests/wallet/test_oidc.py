"""OpenID Connect login against a real, independent OpenID Provider (panva's certified `oidc-provider`).

The wallet runs as its own uvicorn process; the provider (tests/wallet/oidc/server.mjs) runs under
Node.js on 127.0.0.1 with the wallet as a confidential client. The login is driven over real HTTP
like a browser: the wallet's redirect, the provider's login and consent forms, the callback.
ID tokens for the negative checks are genuine tokens of the provider (for another client, of another
provider, too old, for another login) verified with `wallet.oidc.verify_id_token`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from pydantic import ValidationError

from schemas.oauth2 import InvalidGrant
from tests.servers import RunningService, free_port, running_service
from tests.wallet.helpers import raw_database_bytes
from tests.wallet.oidc.provider import ACCOUNT, log_in_at_provider, running_openid_provider
from vc.encoding import b64url_encode
from vc.fetch import Fetcher, FetchPolicy
from vc.jws import decode_jws
from wallet.oidc import (
    ProviderMetadata,
    begin_login,
    check_authorization_response,
    discover_provider,
    fetch_jwks,
    redeem_code,
    verify_id_token,
)
from wallet.settings import WalletSettings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("openid_provider_installed")]

BROWSER = {"accept": "text/html,application/xhtml+xml"}
SECRET = "wallet-client-secret-0123456789"
OTHER_REDIRECT = "http://localhost:9/callback"


@dataclass
class Setup:
    wallet: RunningService
    provider: str
    other_provider: str

    @property
    def callback(self) -> str:
        return f"{self.wallet.url}/login/oidc/callback"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, openid_provider_installed: None) -> Iterator[Setup]:
    port = free_port()
    provider = f"http://localhost:{port}"
    env = {"EDUWALLET_WALLET_OIDC_ISSUER": provider, "EDUWALLET_WALLET_OIDC_CLIENT_ID": "eduwallet",
           "EDUWALLET_WALLET_OIDC_CLIENT_SECRET": SECRET, "EDUWALLET_WALLET_OIDC_SCOPE": "openid profile"}
    with running_service("wallet", tmp_path_factory.mktemp("oidc"), env=env) as wallet:
        clients = [{"client_id": "eduwallet", "client_secret": SECRET,
                    "redirect_uris": [f"{wallet.url}/login/oidc/callback"]},
                   {"client_id": "other-app", "client_secret": SECRET, "redirect_uris": [OTHER_REDIRECT]}]
        with running_openid_provider(port=port, clients=clients), \
                running_openid_provider(clients=clients) as other_provider:
            yield Setup(wallet, provider, other_provider)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        yield fetcher


def _start(client: httpx.Client, setup: Setup) -> str:
    started = client.get(f"{setup.wallet.url}/login/oidc", params={"next": "/history"}, headers=BROWSER)
    assert started.status_code == 303, started.text
    return started.headers["location"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def _logged_in_as(client: httpx.Client, setup: Setup) -> str | None:
    page = client.get(f"{setup.wallet.url}/account", headers=BROWSER)
    if page.status_code != 200:
        return None
    match = re.search(r"Logged in as ([^<]+)\.</p>", page.text)
    return match.group(1) if match else None


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_login_creates_the_learner_then_finds_them_again(setup: Setup) -> None:
    with httpx.Client(timeout=30) as browser:
        authorization = _start(browser, setup)
        # Core §3.1.2.1 with PKCE S256: what the wallet sends the browser to.
        assert authorization.startswith(f"{setup.provider}/auth?")
        sent = {k: v[0] for k, v in parse_qs(urlsplit(authorization).query).items()}
        assert sent["response_type"] == "code" and sent["client_id"] == "eduwallet"
        assert sent["redirect_uri"] == setup.callback and sent["scope"] == "openid profile"
        assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
        assert len(sent["state"]) >= 43 and len(sent["nonce"]) >= 43
        # The transaction rides in a sealed, HttpOnly cookie of this browser, not in the URL.
        cookie = next(c for c in browser.cookies.jar if c.name == "wallet_oidc")
        assert sent["state"] not in (cookie.value or "") and cookie.has_nonstandard_attr("HttpOnly")

        answer = log_in_at_provider(browser, authorization)
        assert answer.startswith(setup.callback + "?")
        assert parse_qs(urlsplit(answer).query)["iss"] == [setup.provider]  # RFC 9207
        done = browser.get(answer, headers=BROWSER)
        assert done.status_code == 303 and done.headers["location"] == "/history"
        assert _logged_in_as(browser, setup) == ACCOUNT["claims"]["preferred_username"]

        account = browser.get(f"{setup.wallet.url}/account", headers=BROWSER)
        out = browser.post(f"{setup.wallet.url}/logout", data={"csrf_token": _csrf(account.text)}, headers=BROWSER)
        assert out.status_code == 303 and _logged_in_as(browser, setup) is None

        # Again: the provider remembers the login and the consent; the wallet finds the same learner.
        again = log_in_at_provider(browser, _start(browser, setup))
        assert browser.get(again, headers=BROWSER).status_code == 303
        assert _logged_in_as(browser, setup) == ACCOUNT["claims"]["preferred_username"]

    if setup.wallet.database_url.startswith("sqlite"):
        raw = raw_database_bytes(Path(setup.wallet.database_url.split("///", 1)[1]))
        assert ACCOUNT["sub"].encode() not in raw and b"sanne.devries" not in raw


def test_an_existing_account_with_the_same_name_is_never_taken_over(setup: Setup) -> None:
    other_account = {**ACCOUNT, "username": "mallory", "sub": "mallory-1",
                     "claims": {"preferred_username": "grace.hopper"}}
    port = free_port()
    env_provider = f"http://localhost:{port}"
    with httpx.Client(base_url=setup.wallet.url, timeout=30) as api:
        created = api.post("/api/v1/learners", json={"username": "grace.hopper", "password": "a strong password"})
        assert created.status_code == 201
    with running_service("wallet", setup.wallet.var_dir.parent / "takeover", env={
            "EDUWALLET_WALLET_OIDC_ISSUER": env_provider, "EDUWALLET_WALLET_OIDC_CLIENT_ID": "eduwallet",
            "EDUWALLET_WALLET_OIDC_CLIENT_SECRET": SECRET}) as wallet:
        with httpx.Client(base_url=wallet.url, timeout=30) as api:
            assert api.post("/api/v1/learners", json={"username": "grace.hopper",
                                                      "password": "a strong password"}).status_code == 201
        client = {"client_id": "eduwallet", "client_secret": SECRET,
                  "redirect_uris": [f"{wallet.url}/login/oidc/callback"]}
        with running_openid_provider(port=port, clients=[client], accounts=[other_account]), \
                httpx.Client(timeout=30) as browser:
            started = browser.get(f"{wallet.url}/login/oidc", headers=BROWSER)
            answer = log_in_at_provider(browser, started.headers["location"], username="mallory")
            assert browser.get(answer, headers=BROWSER).status_code == 303
            page = browser.get(f"{wallet.url}/account", headers=BROWSER)
            name = re.search(r"Logged in as ([^<]+)\.</p>", page.text)
            assert name and name.group(1).startswith("eduid-")  # a new account, not Grace's


def _assert_refused(client: httpx.Client, setup: Setup, callback: str, reason: str) -> None:
    """The wallet sends the browser back to its login page, says why, and logs nobody in."""
    refused = client.get(callback, headers=BROWSER)
    assert refused.status_code == 303 and refused.headers["location"] == "/login", refused.text
    assert "wallet_oidc=" in refused.headers.get("set-cookie", "")  # the transaction is dropped
    page = client.get(f"{setup.wallet.url}/login", headers=BROWSER)
    message = re.search(r'<p class="flash flash-error" role="alert">([^<]*)</p>', page.text)
    assert message and message.group(1).startswith("Logging in did not work: "), page.text
    assert reason in message.group(1).replace("&#39;", "'"), message.group(1)
    assert _logged_in_as(client, setup) is None


@pytest.mark.parametrize("tamper", ["state", "iss", "other_browser", "replay"])
def test_a_callback_that_is_not_ours_is_refused(setup: Setup, tamper: str) -> None:
    with httpx.Client(timeout=30) as browser:
        answer = log_in_at_provider(browser, _start(browser, setup))
        expected = {"state": "(state)", "iss": "(iss)", "other_browser": "did not start a login",
                    "replay": "did not accept the login"}[tamper]
        if tamper == "state":
            answer = _with_query(answer, state="x" * 43)
        elif tamper == "iss":
            answer = _with_query(answer, iss=setup.other_provider)
        elif tamper == "replay":
            sealed = browser.cookies.get("wallet_oidc")
            assert browser.get(answer, headers=BROWSER).status_code == 303  # the first use logs in
            account = browser.get(f"{setup.wallet.url}/account", headers=BROWSER)
            browser.post(f"{setup.wallet.url}/logout", data={"csrf_token": _csrf(account.text)}, headers=BROWSER)
            browser.cookies.set("wallet_oidc", sealed or "")  # even with the cookie back
        client = httpx.Client(timeout=30) if tamper == "other_browser" else browser
        try:
            _assert_refused(client, setup, answer, expected)
        finally:
            if client is not browser:
                client.close()


def test_an_id_token_for_another_login_is_refused_nonce(setup: Setup) -> None:
    """The provider puts the nonce of the request into the ID token; one changed on the way is caught."""
    with httpx.Client(timeout=30) as browser:
        authorization = _with_query(_start(browser, setup), nonce="a-nonce-of-another-login-0123456789abcdef")
        _assert_refused(browser, setup, log_in_at_provider(browser, authorization),
                        "does not answer this login (nonce)")


def test_denied_consent_is_reported(setup: Setup) -> None:
    with httpx.Client(timeout=30) as browser:
        answer = log_in_at_provider(browser, _start(browser, setup), consent=False)
        assert parse_qs(urlsplit(answer).query)["error"] == ["access_denied"]
        _assert_refused(browser, setup, answer, "the identity provider answered access_denied")


def test_wrong_password_at_the_provider_does_not_get_through(setup: Setup) -> None:
    with httpx.Client(timeout=30) as browser, pytest.raises(AssertionError, match="400 from the provider"):
        log_in_at_provider(browser, _start(browser, setup), password="not the password")


# -- ID token checks (Core §3.1.3.7) on genuine tokens of the provider ------------------------------

@dataclass
class Genuine:
    metadata: ProviderMetadata
    keys: list[dict[str, Any]]
    id_token: str
    nonce: str

    @property
    def claims(self) -> dict[str, Any]:
        return decode_jws(self.id_token).claims()


def _genuine(provider: str, fetcher: Fetcher, *, client_id: str, redirect_uri: str) -> Genuine:
    """Run the code flow as `client_id` and keep the ID token it gets, unchecked."""
    url, transaction = begin_login(issuer=provider, client_id=client_id, redirect_uri=redirect_uri,
                                   scope="openid", fetcher=fetcher)
    with httpx.Client(timeout=30) as browser:
        answer = log_in_at_provider(browser, url)
    metadata = discover_provider(provider, fetcher)
    code = check_authorization_response({k: v[0] for k, v in parse_qs(urlsplit(answer).query).items()},
                                        transaction, metadata)
    token = redeem_code(metadata, fetcher, code=code, transaction=transaction, client_id=client_id,
                        client_secret=SECRET)
    return Genuine(metadata, fetch_jwks(metadata, fetcher), token.id_token, transaction.nonce)


@pytest.fixture(scope="module")
def ours(setup: Setup) -> Genuine:
    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        return _genuine(setup.provider, fetcher, client_id="eduwallet", redirect_uri=setup.callback)


def _verify(genuine: Genuine, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {"metadata": genuine.metadata, "keys": genuine.keys, "client_id": "eduwallet",
                                 "nonce": genuine.nonce}
    return verify_id_token(overrides.pop("id_token", genuine.id_token), **{**arguments, **overrides})


def test_a_genuine_id_token_passes(ours: Genuine) -> None:
    claims = _verify(ours)
    assert claims.sub == ACCOUNT["sub"] and claims.iss == ours.metadata.issuer and claims.aud == "eduwallet"
    assert decode_jws(ours.id_token).header["alg"] == "RS256"


def test_an_id_token_for_another_client_is_refused(setup: Setup, fetcher: Fetcher) -> None:
    theirs = _genuine(setup.provider, fetcher, client_id="other-app", redirect_uri=OTHER_REDIRECT)
    assert theirs.claims["aud"] == "other-app"
    with pytest.raises(InvalidGrant, match=r"another client \(aud\)"):
        _verify(theirs)


def test_an_id_token_of_another_provider_is_refused(setup: Setup, ours: Genuine, fetcher: Fetcher) -> None:
    theirs = _genuine(setup.other_provider, fetcher, client_id="eduwallet", redirect_uri=setup.callback)
    # Signed by a key our provider does not publish ...
    with pytest.raises(InvalidGrant, match="not signed by a key the identity provider publishes"):
        _verify(ours, id_token=theirs.id_token, nonce=theirs.nonce)
    # ... and even checked with that provider's own keys, it names another issuer.
    with pytest.raises(InvalidGrant, match=r"another identity provider \(iss\)"):
        _verify(ours, id_token=theirs.id_token, nonce=theirs.nonce, keys=theirs.keys)


def test_an_expired_id_token_is_refused(ours: Genuine) -> None:
    expires = datetime.fromtimestamp(ours.claims["exp"], UTC)
    skew = timedelta(seconds=60)
    assert _verify(ours, now=expires + skew - timedelta(seconds=1), skew=skew).sub == ACCOUNT["sub"]
    with pytest.raises(InvalidGrant, match=r"expired \(exp\)"):
        _verify(ours, now=expires + skew + timedelta(seconds=1), skew=skew)
    issued = datetime.fromtimestamp(ours.claims["iat"], UTC)
    with pytest.raises(InvalidGrant, match=r"in the future \(iat\)"):
        _verify(ours, now=issued - timedelta(minutes=5), skew=skew)


def test_an_id_token_for_another_login_is_refused(ours: Genuine) -> None:
    with pytest.raises(InvalidGrant, match=r"nonce"):
        _verify(ours, nonce="the-nonce-of-some-other-login")


def test_a_changed_or_unsigned_id_token_is_refused(ours: Genuine) -> None:
    header, payload, signature = ours.id_token.split(".")
    claims = {**ours.claims, "sub": "someone-else"}
    changed = f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(InvalidGrant, match="signature does not verify"):
        _verify(ours, id_token=changed)
    unsigned = b64url_encode(json.dumps({"alg": "none"}).encode()) + f".{payload}."
    with pytest.raises(InvalidGrant, match="'none', not an algorithm the provider announced"):
        _verify(ours, id_token=unsigned)
    with pytest.raises(InvalidGrant, match="not a signed JWT"):
        _verify(ours, id_token="a.b.c.d.e")


def test_discovery_must_name_the_configured_issuer(setup: Setup, fetcher: Fetcher) -> None:
    from wallet.errors import PartyError

    with pytest.raises(PartyError, match="calls itself"):
        discover_provider(setup.provider + "/", fetcher)


def test_settings_need_issuer_client_and_secret_together(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="together"):
        WalletSettings(var_dir=tmp_path, oidc_issuer="https://login.example.org")
    with pytest.raises(ValidationError, match="openid"):
        WalletSettings(var_dir=tmp_path, oidc_issuer="https://login.example.org", oidc_client_id="w",
                       oidc_client_secret="s", oidc_scope="profile")
    configured = WalletSettings(var_dir=tmp_path, oidc_issuer="https://login.example.org", oidc_client_id="w",
                                oidc_client_secret="s")
    assert configured.oidc_enabled and not WalletSettings(var_dir=tmp_path).oidc_enabled

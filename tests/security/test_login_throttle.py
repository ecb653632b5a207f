"""Login brute force is slowed per account and per address; tokens expire. Over real HTTP.

The wallet's password login (API `POST /api/v1/token` and page `POST /login`) and the issuer's staff
page login (an API token) count attempts in their database (`servicekit.throttle`), each taking its slot
before the password is checked: after five for one account, or twenty from one address, 429 with
`Retry-After`, doubling with each further failure; a parallel burst gets no more password checks than that.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlalchemy import select, update

from issuer.models import AccessToken
from servicekit.throttle import ThrottlePolicy
from tests.issuer.live import MICROCREDENTIAL, award
from tests.issuer.wallet_client import TestWallet
from tests.servers import RunningService, running_service
from wallet.models import AuthToken
from wallet.throttle import LOGIN_ATTEMPT

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
#: The first block's length (then doubling). A minute, so that a test still meets a block it set however slow
#: the machine (with the default 2 s, a loaded CI machine once came after the block had ended); where a test
#: needs the block to end, it lets it run out in the database (`_let_blocks_run_out`) instead of waiting.
BASE_DELAY = "EDUWALLET_WALLET_LOGIN_THROTTLE_BASE_DELAY_SECONDS"
ISSUER_BASE_DELAY = "EDUWALLET_ISSUER_LOGIN_THROTTLE_BASE_DELAY_SECONDS"
BLOCK = 60
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("wallet", tmp_path, env={BASE_DELAY: str(BLOCK)}) as service:
        yield service


@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("issuer", tmp_path, env={ISSUER_BASE_DELAY: str(BLOCK)}) as service:
        yield service


def _register(client: httpx.Client, username: str) -> None:
    response = client.post("/api/v1/learners", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/token", json={"username": username, "password": password})


def _assert_throttled(response: httpx.Response, *, at_most: int) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "too_many_attempts"
    assert response.headers["cache-control"] == "no-store"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= at_most
    return retry_after


def _db(service: RunningService) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(service.database_url.replace("postgresql://", "postgresql+psycopg://"))


def _let_blocks_run_out(service: RunningService) -> None:
    """What waiting out every block would do: the counters stay, no key is blocked any more (the issuer's
    `login_attempt` table has the wallet's columns)."""
    with _db(service).begin() as connection:
        connection.execute(update(LOGIN_ATTEMPT).values(blocked_until=0))


def _burst(url: str, logins: list[tuple[str, str]]) -> list[httpx.Response]:
    """All the logins at once, each on a connection of its own."""

    def login(username_password: tuple[str, str]) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as client:
            return _login(client, *username_password)

    with ThreadPoolExecutor(max_workers=len(logins)) as pool:
        return list(pool.map(login, logins))


def _attempts_counted(service: RunningService) -> dict[str, list[int]]:
    """The counters in the wallet's `login_attempt` table, per kind of key."""
    with _db(service).connect() as connection:
        rows = connection.execute(select(LOGIN_ATTEMPT.c.key_hash, LOGIN_ATTEMPT.c.failures)).all()
    counted: dict[str, list[int]] = {}
    for key, failures in rows:
        counted.setdefault(key.split(":")[0], []).append(failures)
    return counted


def test_policy_backs_off_exponentially_and_caps() -> None:
    policy = ThrottlePolicy(5, base_delay_seconds=2, max_delay_seconds=900)
    assert [policy.delay(n) for n in (0, 4, 5, 6, 7, 8)] == [0, 0, 2, 4, 8, 16]
    assert policy.delay(40) == policy.delay(10_000) == 900


def test_wallet_api_slows_one_account_and_a_good_login_clears_it(wallet: RunningService) -> None:
    with httpx.Client(base_url=wallet.url, timeout=30) as client:
        _register(client, "ada")
        _register(client, "grace")
        for _ in range(5):
            response = _login(client, "ada", "wrong password")
            assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
        # Blocked now, even with the right password: guessing on is pointless.
        _assert_throttled(_login(client, "ada", PASSWORD), at_most=BLOCK)
        _assert_throttled(_login(client, "ADA", "wrong password"), at_most=BLOCK)  # the same account
        assert _login(client, "grace", PASSWORD).status_code == 200  # other accounts are not blocked
        _let_blocks_run_out(wallet)
        # The block ran out; one more failure blocks twice as long.
        assert _login(client, "ada", "wrong password").status_code == 400
        assert _assert_throttled(_login(client, "ada", PASSWORD), at_most=2 * BLOCK) > BLOCK
        _let_blocks_run_out(wallet)
        token = _login(client, "ada", PASSWORD)
        assert token.status_code == 200 and token.json()["access_token"]
        # The good login cleared the account's counter: four failures later it is still open.
        for _ in range(4):
            assert _login(client, "ada", "wrong password").status_code == 400
        assert _login(client, "ada", PASSWORD).status_code == 200
    with _db(wallet).connect() as connection:
        keys = connection.execute(select(LOGIN_ATTEMPT.c.key_hash)).scalars().all()
    # Stored as keyed hashes: no user name or address in the clear (the pattern admits hex only), and not
    # an unkeyed hash either, which anyone could recompute from a list of user names.
    assert keys and all(re.fullmatch(r"(account|address):[0-9a-f]{48}", key) for key in keys)
    unkeyed = {f"{kind}:" + hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:48]
               for kind, value in (("account", "ada"), ("address", "127.0.0.1"))}
    assert not unkeyed & set(keys)


def test_wallet_slows_one_address_trying_many_accounts(wallet: RunningService) -> None:
    with httpx.Client(base_url=wallet.url, timeout=30) as client:
        _register(client, "ada")
        for n in range(20):
            response = _login(client, f"guess{n}", "wrong password")
            assert response.status_code == 400, (n, response.text)
        # Twenty failures from this address: every account is closed to it for a while.
        _assert_throttled(_login(client, "ada", PASSWORD), at_most=BLOCK)
        _assert_throttled(_login(client, "guess21", "wrong password"), at_most=BLOCK)


def test_wallet_burst_of_30_parallel_wrong_passwords_on_2_workers_gets_5_password_checks(tmp_path: Path) -> None:
    """Each attempt takes its slot before the password is checked, atomically across the workers: of 30 at
    once, 5 get their password checked (400) and 25 are refused (429); the block then holds the right one."""
    with running_service("wallet", tmp_path, workers=2, env={BASE_DELAY: str(BLOCK)}) as wallet, \
            httpx.Client(base_url=wallet.url, timeout=30) as client:
        _register(client, "ada")
        started = time.monotonic()
        responses = _burst(wallet.url, [("ada", "wrong password")] * 30)
        statuses = Counter(response.status_code for response in responses)
        print(f"\n30 parallel wrong passwords, 2 workers: {dict(statuses)} in {time.monotonic() - started:.1f} s")
        assert statuses == {400: 5, 429: 25}
        assert all(response.json()["error"] == "invalid_grant" for response in responses if response.status_code == 400)
        for response in responses:
            if response.status_code == 429:
                _assert_throttled(response, at_most=BLOCK)
        assert _attempts_counted(wallet) == {"account": [5], "address": [5]}  # the refused ones counted nowhere
        _assert_throttled(_login(client, "ada", PASSWORD), at_most=BLOCK)  # blocked: even the right one
        _let_blocks_run_out(wallet)
        token = _login(client, "ada", PASSWORD)
        assert token.status_code == 200 and token.json()["access_token"]
        assert _attempts_counted(wallet) == {"address": [5]}  # the account's counter cleared


def test_wallet_burst_from_one_address_over_many_accounts_gets_20_password_checks(tmp_path: Path) -> None:
    with running_service("wallet", tmp_path, workers=2, env={BASE_DELAY: str(BLOCK)}) as wallet, \
            httpx.Client(base_url=wallet.url, timeout=30) as client:
        _register(client, "ada")
        started = time.monotonic()
        responses = _burst(wallet.url, [(f"guess{n}", "wrong password") for n in range(40)])
        statuses = Counter(response.status_code for response in responses)
        print(f"\n40 parallel wrong passwords for 40 accounts from one address, 2 workers: {dict(statuses)} "
              f"in {time.monotonic() - started:.1f} s")
        assert statuses == {400: 20, 429: 20}
        for response in responses:
            if response.status_code == 429:
                _assert_throttled(response, at_most=BLOCK)
        counted = _attempts_counted(wallet)
        assert counted["address"] == [20] and sorted(counted["account"]) == [1] * 20
        _assert_throttled(_login(client, "ada", PASSWORD), at_most=BLOCK)  # every account, for a while


def test_wallet_learners_behind_one_address_do_not_use_it_up_by_logging_in(wallet: RunningService) -> None:
    """A right password gives the address its slot back (an account's own counter is cleared)."""
    with httpx.Client(base_url=wallet.url, timeout=30) as client:
        learners = ["ada", "grace", "alan"]
        for learner in learners:
            _register(client, learner)
        for n in range(19):
            assert _login(client, f"guess{n}", "wrong password").status_code == 400
        for n in range(10):  # each of these is the twentieth attempt, and blocks while it is checked
            assert _login(client, learners[n % 3], PASSWORD).status_code == 200, n
        assert _login(client, "guess19", "wrong password").status_code == 400  # the twentieth failure
        _assert_throttled(_login(client, "ada", PASSWORD), at_most=BLOCK)


def test_wallet_login_page_says_to_wait(wallet: RunningService) -> None:
    with httpx.Client(base_url=wallet.url, timeout=30, headers={"Accept": "text/html"}) as browser:
        _register(browser, "ada")

        def post_login(password: str) -> httpx.Response:
            found = CSRF.search(browser.get("/login").text)
            assert found
            return browser.post("/login", data={"csrf_token": found.group(1), "username": "ada",
                                                "password": password})

        for _ in range(5):
            page = post_login("wrong password")
            assert page.status_code == 400 and "The username or password is not right" in page.text
        page = post_login(PASSWORD)
        assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
        seconds = int(page.headers["retry-after"])
        assert f"Too many failed attempts. Wait {seconds} seconds, then try again." in page.text
        assert "set-cookie" not in page.headers or "wallet_session" not in page.headers["set-cookie"]
        # The page and the API count against the same account.
        with httpx.Client(base_url=wallet.url, timeout=30) as api:
            _assert_throttled(_login(api, "ada", PASSWORD), at_most=BLOCK)


def test_issuer_staff_login_slows_token_guessing_from_one_address(issuer: RunningService) -> None:
    admin_token = (issuer.var_dir / "issuer-admin.token").read_text().strip()
    with httpx.Client(base_url=issuer.url, timeout=30, headers={"Accept": "text/html"}) as browser:

        def post_login(token: str) -> httpx.Response:
            found = CSRF.search(browser.get("/staff/login").text)
            assert found
            return browser.post("/staff/login", data={"csrf_token": found.group(1), "token": token})

        page = post_login("  ")  # no token tried: not counted (else the twentieth guess below would be refused)
        assert page.status_code == 400 and "Enter your staff API token" in page.text
        for n in range(20):
            page = post_login(f"guessed-token-{n}")
            assert page.status_code == 400 and "This token is not valid" in page.text
        page = post_login(admin_token)
        assert page.status_code == 429
        seconds = int(page.headers["retry-after"])
        assert 1 <= seconds <= BLOCK
        assert f"Too many failed attempts. Wait {seconds} seconds, then try again." in page.text
        _let_blocks_run_out(issuer)
        page = post_login(admin_token)
        assert page.status_code == 303 and page.headers["location"].endswith("/staff"), page.text[:500]


def test_wallet_bearer_token_stops_working_when_it_expires(wallet: RunningService) -> None:
    with httpx.Client(base_url=wallet.url, timeout=30) as client:
        _register(client, "ada")
        token = _login(client, "ada", PASSWORD).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/me", headers=auth).status_code == 200
        with _db(wallet).begin() as connection:  # let its lifetime run out
            connection.execute(update(AuthToken.__table__).values(  # type: ignore[attr-defined]
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        response = client.get("/api/v1/me", headers=auth)
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_issuer_access_token_stops_working_when_it_expires(issuer: RunningService) -> None:
    admin_token = (issuer.var_dir / "issuer-admin.token").read_text().strip()
    with httpx.Client(base_url=issuer.url, headers={"Authorization": f"Bearer {admin_token}"},
                      timeout=30) as admin_api:
        badge = _badge(admin_api)
        offer = award(admin_api, badge)
    test_wallet = TestWallet()
    session = test_wallet.resolve(offer["offer_uri"])
    test_wallet.token(session, tx_code=offer.get("tx_code"))
    with _db(issuer).begin() as connection:
        rows = connection.execute(select(AccessToken.__table__.c.id)).all()  # type: ignore[attr-defined]
        assert len(rows) == 1
        connection.execute(update(AccessToken.__table__).values(  # type: ignore[attr-defined]
            expires_at=int(time.time()) - 1))
    response = test_wallet.http.post(session.metadata["credential_endpoint"],
                                     headers={"Authorization": f"Bearer {session.access_token}"},
                                     json={"credential_configuration_id": session.configuration_id})
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


def _badge(admin_api: httpx.Client) -> dict[str, Any]:
    institution = admin_api.post("/admin/institutions", json={
        "name": "Universiteit Voorbeeld", "country": "NL", "homepage": "https://uv.example.nl/"}).json()
    created = admin_api.post("/admin/badge-classes", json={
        "institution_id": institution["id"], "name": "Web Security Essentials", **MICROCREDENTIAL})
    assert created.status_code == 201, created.text
    return dict(created.json())

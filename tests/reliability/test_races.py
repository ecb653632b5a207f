"""Races over real HTTP against services with two worker processes each, on SQLite and on PostgreSQL.

Every single-use thing is fought over by 50 clients released at once (a barrier, connections
opened beforehand): a pre-authorized code, a `c_nonce`, an OpenID4VP request. Exactly one wins;
every other gets the protocol's error, never a 500; the database agrees. The same bulk award sent
by 8 clients at once awards each learner once. And 50 revocations and
suspensions race with status-list readers: every list read is signed, decodes, shows only
changes that were made (never a half state), never goes backwards, and ends exactly right.

The single-worker versions in tests/issuer/test_oid4vci_refusals.py and
tests/verifier/test_oid4vp_http.py check the HTTP answers only; these add the second worker,
50 contenders and the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from tests.issuer.wallet_client import TestWallet
from tests.reliability.cluster import admin_client, database, new_badge, rows, scalar
from tests.servers import RunningService, running_service, verifier_api_headers
from tests.verifier.factories import Party, present_vp_jwt
from tests.verifier.wallet_side import ReceivedRequest, encrypt_response, receive_request
from vc.bitstring_status_list import Bitstring
from vc.did_jwk import create_did_jwk
from vc.jws import decode_jws
from vc.keys import SoftwareSigner
from vc.token_status_list import INVALID, SUSPENDED, verify_status_list_token
from vc.vc_jwt import verify_vc_jwt

pytestmark = pytest.mark.integration

CONTENDERS = 50
WORKERS = 2
T = TypeVar("T")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("issuer", tmp_path_factory.mktemp("issuer"), workers=WORKERS) as service:
        yield service


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("verifier", tmp_path_factory.mktemp("verifier"), workers=WORKERS) as service:
        yield service


@pytest.fixture(scope="module")
def admin(issuer: RunningService) -> Iterator[httpx.Client]:
    with admin_client(issuer) as client:
        yield client


@pytest.fixture(scope="module")
def badge(admin: httpx.Client) -> dict[str, Any]:
    return new_badge(admin)


def award(admin: httpx.Client, badge: dict[str, Any], email: str, *configurations: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Ada Lovelace", "email": email, "result": "8.5"}
    if configurations:
        body["credential_configuration_ids"] = list(configurations)
    made = admin.post(f"/admin/badge-classes/{badge['id']}/awards", json=body)
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def all_at_once(requests: list[Callable[[httpx.Client], T]], warm_up: str) -> list[T]:
    """Run each request on its own connection (opened with a GET of `warm_up` first), all released together."""
    barrier = threading.Barrier(len(requests))

    def run(request: Callable[[httpx.Client], T]) -> T:
        with httpx.Client(timeout=120) as client:
            client.get(warm_up).raise_for_status()
            barrier.wait(timeout=60)
            return request(client)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))


def outcome(response: httpx.Response) -> tuple[int, str | None]:
    """(status, protocol error code or None); a 5xx has no error code we accept."""
    if response.status_code >= 400:
        return response.status_code, response.json().get("error")
    return response.status_code, None


def test_one_pre_authorized_code_redeemed_by_50_clients_yields_one_token(
        issuer: RunningService, admin: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin, badge, "race.code@student.example.nl")
    session = TestWallet().resolve(made["offer_uri"])
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": session.pre_authorized_code}
    token_endpoint = session.as_metadata["token_endpoint"]
    responses = all_at_once([lambda c: c.post(token_endpoint, data=form)] * CONTENDERS, issuer.url + "/healthz")
    outcomes = [outcome(r) for r in responses]
    assert outcomes.count((200, None)) == 1, outcomes
    assert outcomes.count((400, "invalid_grant")) == CONTENDERS - 1, outcomes
    [winner] = [r for r in responses if r.status_code == 200]
    assert winner.json()["token_type"] == "Bearer"
    with database(issuer.database_url) as db:
        assert scalar(db, "SELECT count(*) FROM accesstoken WHERE award_id = :a", a=made["id"]) == 1
        assert scalar(db, "SELECT count(*) FROM credentialoffer WHERE award_id = :a AND used_at IS NOT NULL",
                      a=made["id"]) == 1


def test_one_c_nonce_in_50_credential_requests_yields_one_credential(
        issuer: RunningService, admin: httpx.Client, badge: dict[str, Any]) -> None:
    made = award(admin, badge, "race.nonce@student.example.nl")
    wallet = TestWallet()
    session = wallet.resolve(made["offer_uri"])
    wallet.token(session)
    c_nonce = wallet.nonce(session)
    # 50 different holder keys, every proof naming the same c_nonce.
    proofs = [wallet.proof(SoftwareSigner.generate("ES256"), aud=session.credential_issuer, nonce=c_nonce)
              for _ in range(CONTENDERS)]

    def request(proof: str) -> Callable[[httpx.Client], httpx.Response]:
        return lambda client: TestWallet(client).credential_request(session, [proof])

    responses = all_at_once([request(p) for p in proofs], issuer.url + "/healthz")
    outcomes = [outcome(r) for r in responses]
    assert outcomes.count((200, None)) == 1, outcomes
    assert outcomes.count((400, "invalid_nonce")) == CONTENDERS - 1, outcomes
    [winner] = [r for r in responses if r.status_code == 200]
    assert len(winner.json()["credentials"]) == 1
    with database(issuer.database_url) as db:
        assert scalar(db, "SELECT count(*) FROM issuedcredential WHERE award_id = :a", a=made["id"]) == 1


@pytest.mark.parametrize("round_", range(4), ids=lambda n: f"round{n}")
def test_the_same_bulk_award_sent_8_times_at_once_awards_each_learner_once(
        issuer: RunningService, admin: httpx.Client, badge: dict[str, Any], round_: int) -> None:
    # Several rounds, as one round of overlapping inserts once deadlocked on PostgreSQL only now and then.
    learners = [{"line": n + 2, "name": f"Learner {n}", "email": f"race.bulk{round_}.{n}@student.example.nl",
                 "result": "7"} for n in range(200)]
    senders = 8
    # Each sender has the 200 rows in its own order, so the requests overlap everywhere, not row by row.
    bodies = [{"rows": learners[n * 25:] + learners[:n * 25]} for n in range(senders)]
    bulk = f"/admin/badge-classes/{badge['id']}/awards/bulk"
    responses = all_at_once([lambda c, body=body: c.post(issuer.url + bulk, json=body, headers=admin.headers)
                             for body in bodies], issuer.url + "/healthz")
    assert [r.status_code for r in responses] == [200] * senders, [r.text[:200] for r in responses]
    answers = [r.json() for r in responses]
    created = [row for answer in answers for row in answer if row["status"] == "created"]
    assert sorted(row["line"] for row in created) == [learner["line"] for learner in learners]  # once each
    award_of_line = {row["line"]: row["award_id"] for row in created}
    for answer in answers:  # every sender is told the one award of each row
        assert {row["line"]: row["award_id"] for row in answer} == award_of_line
        assert all(row["status"] == "exists" and row["offer_uri"] is None for row in answer
                   if row not in created)
    with database(issuer.database_url) as db:
        found = rows(db, "SELECT a.id, count(o.id) FROM award a LEFT JOIN credentialoffer o ON o.award_id = a.id "
                         "WHERE a.learner_email LIKE :emails GROUP BY a.id", emails=f"race.bulk{round_}.%")
    assert sorted(award_id for award_id, _ in found) == sorted(award_of_line.values())
    assert {offers for _, offers in found} == {1}  # one offer per award, none left over from a loser


def _holder_credential(admin: httpx.Client, badge: dict[str, Any], email: str) -> tuple[str, Party]:
    """An OB3 credential from our issuer, bound to a did:jwk holder."""
    made = award(admin, badge, email)
    wallet = TestWallet()
    session, answer = wallet.obtain(made["offer_uri"])
    [key] = session.holder_keys
    did = create_did_jwk(key.public_jwk)
    return answer["credentials"][0]["credential"], Party(key.with_kid(f"{did}#0"), did)


def test_50_answers_to_one_openid4vp_request_exactly_one_accepted(
        issuer: RunningService, verifier: RunningService, admin: httpx.Client, badge: dict[str, Any]) -> None:
    credential, holder = _holder_credential(admin, badge, "race.vp@student.example.nl")
    with httpx.Client(base_url=verifier.url, headers=verifier_api_headers(verifier), timeout=60) as api:
        created = api.post("/api/presentation-requests", json={
            "preset": "ob3", "achievement": badge["name"], "trusted_issuers": [badge["institution"]["did"]]})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        request: ReceivedRequest = receive_request(created.json()["request_uri"])
        vp = present_vp_jwt([credential], holder, audience=request.client_id, nonce=request.nonce)
        payload = {"vp_token": {"openbadge": [vp]}, "state": request.params.state}
        response_uri = request.params.effective_response_uri
        assert response_uri is not None
        # Each contender encrypts on its own (different JWEs, one state), as 50 replaying wallets would.
        answers = [{"response": encrypt_response(request, payload)} for _ in range(CONTENDERS)]

        def answer(form: dict[str, str]) -> Callable[[httpx.Client], httpx.Response]:
            return lambda client: client.post(response_uri, data=form)

        responses = all_at_once([answer(a) for a in answers], verifier.url + "/healthz")
        result = api.get(f"/api/presentation-requests/{request_id}").json()
    outcomes = [outcome(r) for r in responses]
    assert outcomes.count((200, None)) == 1, (outcomes, result.get("checks"))
    assert outcomes.count((400, "invalid_request")) == CONTENDERS - 1, outcomes
    assert sum("already been answered" in r.json().get("error_description", "") for r in responses) == CONTENDERS - 1
    assert result["status"] == "verified", result
    with database(verifier.database_url) as db:
        [(status, answered_at)] = rows(db, "SELECT status, answered_at FROM presentation_request WHERE id = :i",
                                       i=request_id)
        assert status == "verified" and answered_at is not None


# -- status lists: 50 concurrent changes, readers all along ---------------------------------------------

def _status_entries(credentials: dict[str, str]) -> dict[str, tuple[str, int]]:
    """configuration → (status list URL, index) named inside the credential itself."""
    found = {}
    for configuration, credential in credentials.items():
        claims = decode_jws(credential.split("~", 1)[0]).claims()
        if configuration == "EduCredentialSdJwt":
            reference = claims["status"]["status_list"]
            found[configuration] = (reference["uri"], int(reference["idx"]))
        else:
            entry = claims["credentialStatus"]
            assert entry["statusPurpose"] == "revocation"
            found[configuration] = (entry["statusListCredential"], int(entry["statusListIndex"]))
    return found


def _issue_both(admin: httpx.Client, badge: dict[str, Any], number: int) -> dict[str, Any]:
    made = award(admin, badge, f"status.{number}@student.example.nl", "EduCredential", "EduCredentialSdJwt")
    with httpx.Client(timeout=60) as client:
        wallet = TestWallet(client)
        session, answer = wallet.obtain(made["offer_uri"], configuration_id="EduCredential")
        credentials = {"EduCredential": answer["credentials"][0]["credential"]}
        proof = wallet.proof(SoftwareSigner.generate("ES256"), aud=session.credential_issuer,
                             nonce=wallet.nonce(session))
        second = wallet.credential_request(session, [proof], configuration_id="EduCredentialSdJwt")
        assert second.status_code == 200, second.text
        credentials["EduCredentialSdJwt"] = second.json()["credentials"][0]["credential"]
    return {"award_id": made["id"], "entries": _status_entries(credentials)}


class StatusReader:
    """Fetches every status list (token status list, both bitstring purposes) and verifies it as a verifier
    would: a Status List Token with a key of the institution's JWT VC Issuer Metadata, a Bitstring Status
    List credential with a key of the institution's DID document."""

    def __init__(self, issuer_url: str, institution: dict[str, Any], list_urls: set[str]) -> None:
        with httpx.Client(timeout=60) as client:
            metadata = client.get(f"{issuer_url}/.well-known/jwt-vc-issuer/institutions/{institution['id']}").json()
            document = client.get(f"{issuer_url}/institutions/{institution['id']}/did.json").json()
        assert metadata["issuer"] == institution["sd_jwt_vc_issuer"] and document["id"] == institution["did"]
        self.issuer_url, self.did = institution["sd_jwt_vc_issuer"], institution["did"]
        self.jwt_vc_issuer_keys = {k["kid"]: k for k in metadata["jwks"]["keys"]}
        self.did_keys = {m["id"]: m["publicKeyJwk"] for m in document["verificationMethod"]}
        self.urls = sorted(list_urls | {u.replace("/revocation", "/suspension") for u in list_urls if "/bsl/" in u})

    def read(self, client: httpx.Client, url: str) -> dict[int, int]:
        """{index: value} of the non-zero entries, after checking the signature and decoding the list."""
        response = client.get(url)
        assert response.status_code == 200, response.text
        token = response.text
        if "/tsl/" in url:
            assert response.headers["content-type"].startswith("application/statuslist+jwt")
            decoded = decode_jws(token)
            assert decoded.claims()["iss"] == self.issuer_url
            key = self.jwt_vc_issuer_keys[decoded.header["kid"]]
            values = verify_status_list_token(token, uri=url, key=key).status_list
            per_byte = 8 // values.bits
        else:
            assert response.headers["content-type"].startswith("application/vc+jwt")
            verified = verify_vc_jwt(token, resolve_key=lambda _issuer, header: self.did_keys[header["kid"]])
            assert verified.issuer == self.did and verified.credential["id"] == url
            values = Bitstring.decode(verified.credential["credentialSubject"]["encodedList"])  # type: ignore[assignment]
            per_byte = 8
        return {index: value for position, byte in enumerate(values.data) if byte
                for index in range(position * per_byte, (position + 1) * per_byte) if (value := values.get(index))}

    def read_all(self, client: httpx.Client) -> dict[str, dict[int, int]]:
        return {url: self.read(client, url) for url in self.urls}


def test_50_revocations_and_suspensions_race_status_list_readers(
        issuer: RunningService, admin: httpx.Client, badge: dict[str, Any]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        awards = list(pool.map(lambda n: _issue_both(admin, badge, n), range(CONTENDERS)))
    # Half revoked, half suspended; what each list must show at the end.
    actions = {a["award_id"]: ("revoke" if n % 2 else "suspend") for n, a in enumerate(awards)}
    expected: dict[str, dict[int, int]] = {}
    for item in awards:
        action = actions[item["award_id"]]
        tsl_url, tsl_index = item["entries"]["EduCredentialSdJwt"]
        expected.setdefault(tsl_url, {})[tsl_index] = INVALID if action == "revoke" else SUSPENDED
        bsl_url, bsl_index = item["entries"]["EduCredential"]
        expected.setdefault(bsl_url, {})[bsl_index] = 1  # revocation: set while revoked or suspended
        suspension = expected.setdefault(bsl_url.replace("/revocation", "/suspension"), {})
        if action == "suspend":
            suspension[bsl_index] = 1
    reader = StatusReader(issuer.url, badge["institution"], {url for item in awards
                                                              for url, _ in item["entries"].values()})
    with httpx.Client(timeout=60) as client:
        assert reader.read_all(client) == dict.fromkeys(reader.urls, {})  # nothing changed yet

    changing = threading.Event()
    changing.set()
    reads: list[int] = []
    problems: list[str] = []

    def read_until_done() -> None:
        last: dict[str, dict[int, int]] = {url: {} for url in reader.urls}
        count = 0
        with httpx.Client(timeout=60) as client:
            while changing.is_set() or count == 0:
                try:
                    lists = reader.read_all(client)
                except Exception as exc:  # noqa: BLE001 - a bad read is what this test looks for
                    problems.append(f"read failed: {exc!r}")
                    break
                for url, seen in lists.items():
                    count += 1
                    wrong = {i: v for i, v in seen.items() if expected.get(url, {}).get(i) != v}
                    lost = {i: v for i, v in last[url].items() if seen.get(i) != v}
                    if wrong or lost:
                        problems.append(f"{url}: unexpected {wrong}, went back on {lost}")
                    last[url] = seen
        reads.append(count)

    def change(award_id: int) -> Callable[[httpx.Client], httpx.Response]:
        return lambda client: client.post(f"/admin/awards/{award_id}/{actions[award_id]}")

    readers = [threading.Thread(target=read_until_done) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        token = admin.headers["Authorization"]
        barrier = threading.Barrier(CONTENDERS)

        def run(request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
            with httpx.Client(base_url=issuer.url, headers={"Authorization": token}, timeout=120) as client:
                client.get("/healthz").raise_for_status()
                barrier.wait(timeout=60)
                return request(client)

        with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
            responses = list(pool.map(run, [change(a["award_id"]) for a in awards]))
        time.sleep(0.2)  # let the readers see some lists after the last change too
    finally:
        changing.clear()
        for thread in readers:
            thread.join(timeout=120)
    assert [outcome(r) for r in responses] == [(200, None)] * CONTENDERS
    assert {r.json()["id"]: r.json()["status"] for r in responses} == {
        a: ("revoked" if act == "revoke" else "suspended") for a, act in actions.items()}
    assert not problems, problems[:5]
    assert len(reads) == 4 and min(reads) >= len(reader.urls)
    with httpx.Client(timeout=60) as client:
        assert reader.read_all(client) == {url: expected.get(url, {}) for url in reader.urls}
    with database(issuer.database_url) as db:
        duplicates = rows(db, "SELECT status_list_id, status_index FROM issuedcredential "
                              "GROUP BY status_list_id, status_index HAVING count(*) > 1")
        assert duplicates == []

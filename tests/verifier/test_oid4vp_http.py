"""The verifier over real HTTP: a wallet (holder-side library code, and other implementations) answers
its OpenID4VP requests; every check refuses what it must, for the right reason."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from jwcrypto.jwk import JWK
from PIL import Image
from sd_jwt.holder import SDJWTHolder

from tests.servers import RunningService, free_port, running_service, verifier_api_headers
from tests.verifier.factories import NOW, Issuer, Party, present_sd_jwt_vc, present_vp_jwt
from tests.verifier.issuer_server import served_issuer
from tests.verifier.wallet_side import ReceivedRequest, receive_request, respond
from vc.baking import bake_png
from vc.jwk import private_jwk
from vc.token_status_list import INVALID, SUSPENDED
from verifier.webhooks import SIGNATURE_HEADER, verify_webhook_signature

pytestmark = pytest.mark.integration

VCT = "https://issuer.example.edu/vct/microcredential/v1"


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("verifier", tmp_path_factory.mktemp("verifier"),
                         env={"EDUWALLET_VERIFIER_WEBHOOK_BACKOFF_SECONDS": "0.2"}) as service:
        yield service


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with served_issuer() as served:
        yield served


@pytest.fixture
def holder() -> Party:
    return Party.new()


def api(verifier: RunningService, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A call to the verifier with its development (admin) API key, as a relying party makes it."""
    headers = {**verifier_api_headers(verifier), **kwargs.pop("headers", {})}
    return httpx.request(method, verifier.url + path, timeout=30, headers=headers, **kwargs)  # noqa: TID251


def create(verifier: RunningService, **body: Any) -> dict[str, Any]:
    response = api(verifier, "POST", "/api/presentation-requests", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def result(verifier: RunningService, request_id: str, **params: str) -> dict[str, Any]:
    response = api(verifier, "GET", f"/api/presentation-requests/{request_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def sd_jwt_request(verifier: RunningService, issuer: Issuer, **body: Any) -> tuple[dict[str, Any], ReceivedRequest]:
    created = create(verifier, preset="sd-jwt", vct_values=[VCT], claims=["given_name", "grade"],
                     trusted_issuers=[issuer.id], **body)
    return created, receive_request(created["request_uri"])


def ob3_request(verifier: RunningService, issuer: Issuer, **body: Any) -> tuple[dict[str, Any], ReceivedRequest]:
    body.setdefault("trusted_issuers", [issuer.party.did])
    created = create(verifier, preset="ob3", **body)
    return created, receive_request(created["request_uri"])


def sd_answer(issuer: Issuer, holder: Party, request: ReceivedRequest, **options: Any) -> dict[str, list[str]]:
    credential = issuer.sd_jwt_vc(holder, status_index=3, **options)
    return {"credential": [present_sd_jwt_vc(credential, holder, audience=request.client_id, nonce=request.nonce)]}


def vp_answer(issuer: Issuer, holder: Party, request: ReceivedRequest, **options: Any) -> dict[str, list[str]]:
    credential = issuer.ob3_jwt(holder, status_index=11, **options)
    return {"openbadge": [present_vp_jwt([credential], holder, audience=request.client_id, nonce=request.nonce)]}


def assert_refused(verifier: RunningService, created: dict[str, Any], response: httpx.Response, check: str,
                   reason: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request" and check in response.json()["error_description"]
    body = result(verifier, created["id"])
    assert body["status"] == "rejected"
    assert body["checks"][check]["outcome"] == "failed", body["checks"]
    assert reason.lower() in body["checks"][check]["reason"].lower(), body["checks"][check]
    return body


# -- accepted ---------------------------------------------------------------------------------------

def test_sd_jwt_vc_over_direct_post_jwt_is_verified_and_only_disclosed_claims_kept(
        verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    assert created["client_id"].startswith("x509_hash:") and created["response_mode"] == "direct_post.jwt"
    response = respond(request, sd_answer(issuer, holder, request))
    assert response.status_code == 200, response.text
    assert response.json() == {} and response.headers["cache-control"] == "no-store"
    body = result(verifier, created["id"])
    assert body["status"] == "verified" and body["verdict"] == "verified" and body["error"] is None
    assert {name: check["outcome"] for name, check in body["checks"].items()} == {
        "issuer_signature": "passed", "holder_binding": "passed", "validity_period": "passed", "status": "passed",
        "trusted_issuer": "passed", "ob3_schema": "skipped", "dcql": "passed"}
    claims = body["claims"]["credential"]
    assert claims["given_name"] == "Ada" and claims["grade"] == "8.5" and "family_name" not in claims
    assert body["summary"]["learner"] == "Ada" and body["summary"]["result"] == "8.5"
    assert "/status/tsl/1" in issuer.requests and "/.well-known/jwt-vc-issuer" in issuer.requests  # type: ignore[attr-defined]


def test_issuer_keys_and_status_list_are_fetched_once_for_many_answers(
        verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    """The status list comes from its TTL cache and the issuer's keys from the key cache: answering five
    requests one after another costs one fetch of each."""
    for _ in range(5):
        created, request = sd_jwt_request(verifier, issuer, response_mode="direct_post")
        assert respond(request, sd_answer(issuer, holder, request)).status_code == 200
        assert result(verifier, created["id"])["status"] == "verified"
    fetched = issuer.requests  # type: ignore[attr-defined]
    assert fetched.count("/status/tsl/1") == 1 and fetched.count("/.well-known/jwt-vc-issuer") == 1, fetched


def test_an_answer_for_a_query_that_was_not_asked_fails_dcql(verifier: RunningService, issuer: Issuer,
                                                             holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    answer = {**sd_answer(issuer, holder, request), "extra": ["eyJhbGciOiJFUzI1NiJ9.e30.c2ln~"]}
    body = assert_refused(verifier, created, respond(request, answer), "dcql", "not a credential query id")
    assert body["checks"]["issuer_signature"]["outcome"] == "passed"


def test_ob3_vp_jwt_over_direct_post_is_verified_with_the_pilot_verdict(
        verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer, achievement="Web Security Essentials",
                                   client_id_prefix="decentralized_identifier", response_mode="direct_post")
    assert request.header["kid"].startswith("did:web:localhost")
    response = respond(request, vp_answer(issuer, holder, request, result="7.5", required_value="6"))
    assert response.status_code == 200, response.text
    body = result(verifier, created["id"])
    assert body["status"] == "verified", body
    assert all(c["outcome"] == "passed" for c in body["checks"].values()), body["checks"]
    assert body["summary"] == {
        "badge": "Web Security Essentials", "learner": holder.did,
        "result": [{"value": "7.5", "name": "Final grade", "required_value": "6", "passed": True}],
        "criteria": "Passed the final assessment with at least 6.", "passed": True}


def test_result_below_the_required_value_is_not_passed(verifier: RunningService, issuer: Issuer,
                                                       holder: Party) -> None:
    created, request = ob3_request(verifier, issuer)
    assert respond(request, vp_answer(issuer, holder, request, result="5", required_value="6")).status_code == 200
    body = result(verifier, created["id"])
    assert body["status"] == "verified" and body["summary"]["passed"] is False


def test_presentations_from_another_implementation_verify_in_both_formats(
        verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    """SD-JWT + KB-JWT made by sd-jwt-python (jwcrypto); VP JWT signed by joserfc."""
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey

    created, request = sd_jwt_request(verifier, issuer)
    sdjwt_holder = SDJWTHolder(issuer.sd_jwt_vc(holder))
    sdjwt_holder.create_presentation({"given_name": True, "grade": True}, nonce=request.nonce,
                                     aud=request.client_id, holder_key=JWK(**private_jwk(holder.signer.private_key)),
                                     sign_alg="ES256")
    response = respond(request, {"credential": [sdjwt_holder.sd_jwt_presentation]})
    assert response.status_code == 200, response.text
    assert result(verifier, created["id"])["status"] == "verified"

    created, request = ob3_request(verifier, issuer)
    key = ECKey.import_key(private_jwk(holder.signer.private_key))
    vp = jose_jwt.encode({"alg": "ES256", "typ": "JWT", "kid": holder.signer.kid}, {
        "iss": holder.did, "aud": request.client_id, "nonce": request.nonce, "iat": int(time.time()),  # a running verifier: its clock
        "vp": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiablePresentation"],
               "verifiableCredential": [issuer.ob3_jwt(holder)]}}, key)
    response = respond(request, {"openbadge": [vp]})
    assert response.status_code == 200, response.text
    assert result(verifier, created["id"])["status"] == "verified"


# -- refused, each for its reason -------------------------------------------------------------------

def test_tampered_signature_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    [presentation] = sd_answer(issuer, holder, request)["credential"]
    jwt, rest = presentation.split("~", 1)
    head, payload, signature = jwt.split(".")
    forged = f"{head}.{payload}.{'A' * len(signature)}~{rest}"
    assert_refused(verifier, created, respond(request, {"credential": [forged]}), "issuer_signature", "signature")


def test_key_from_another_issuer_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer)
    impostor = Issuer(party=Party(Party.new().signer.with_kid(issuer.party.signer.kid), issuer.party.did))
    token = present_vp_jwt([impostor.ob3_jwt(holder)], holder, audience=request.client_id, nonce=request.nonce)
    assert_refused(verifier, created, respond(request, {"openbadge": [token]}), "issuer_signature", "signature")


def test_replayed_nonce_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    """A presentation made for an earlier request, replayed to a new one."""
    _, old = sd_jwt_request(verifier, issuer)
    created, request = sd_jwt_request(verifier, issuer)
    replay = sd_answer(issuer, holder, old)
    assert_refused(verifier, created, respond(request, replay), "holder_binding", "nonce")


def test_wrong_audience_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer)
    token = present_vp_jwt([issuer.ob3_jwt(holder)], holder, audience="x509_hash:another-verifier",
                           nonce=request.nonce)
    assert_refused(verifier, created, respond(request, {"openbadge": [token]}), "holder_binding", "aud")


def test_stale_kb_jwt_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    stale = present_sd_jwt_vc(issuer.sd_jwt_vc(holder), holder, audience=request.client_id, nonce=request.nonce,
                              now=NOW - timedelta(hours=2))
    assert_refused(verifier, created, respond(request, {"credential": [stale]}), "holder_binding", "iat")


def test_altered_disclosure_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    from vc.encoding import b64url_decode, b64url_encode

    created, request = sd_jwt_request(verifier, issuer)
    parts = sd_answer(issuer, holder, request)["credential"][0].split("~")
    for i, part in enumerate(parts[1:-1], start=1):
        salt, name, _value = json.loads(b64url_decode(part))
        if name == "grade":
            parts[i] = b64url_encode(json.dumps([salt, name, "10"]).encode())
    assert_refused(verifier, created, respond(request, {"credential": ["~".join(parts)]}), "issuer_signature",
                   "not referenced")


def test_sd_hash_mismatch_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    credential = issuer.sd_jwt_vc(holder)
    short = present_sd_jwt_vc(credential, holder, audience=request.client_id, nonce=request.nonce,
                              disclose=(("given_name",),))
    full = present_sd_jwt_vc(credential, holder, audience=request.client_id, nonce=request.nonce)
    forged = full.rsplit("~", 1)[0] + "~" + short.rsplit("~", 1)[1]
    assert_refused(verifier, created, respond(request, {"credential": [forged]}), "holder_binding", "sd_hash")


def test_expired_credential_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    answer = sd_answer(issuer, holder, request, exp=NOW - timedelta(days=1))
    assert_refused(verifier, created, respond(request, answer), "validity_period", "expired")


def test_not_yet_valid_credential_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer)
    answer = vp_answer(issuer, holder, request, valid_from=NOW + timedelta(days=2))
    assert_refused(verifier, created, respond(request, answer), "validity_period", "not valid before")


def test_revoked_credential_is_refused_with_credential_revoked(verifier: RunningService, issuer: Issuer,
                                                               holder: Party) -> None:
    issuer.bitstring("revocation").set(11, 1)
    created, request = ob3_request(verifier, issuer)
    response = respond(request, vp_answer(issuer, holder, request))
    body = assert_refused(verifier, created, response, "status", "revoked")
    assert body["error"] == "credential_revoked" and "credential_revoked" in response.json()["error_description"]


def test_revoked_sd_jwt_vc_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    issuer.token_list.set(3, INVALID)
    created, request = sd_jwt_request(verifier, issuer)
    body = assert_refused(verifier, created, respond(request, sd_answer(issuer, holder, request)), "status",
                          "revoked")
    assert body["error"] == "credential_revoked"


def test_suspended_credential_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    issuer.token_list.set(3, SUSPENDED)
    created, request = sd_jwt_request(verifier, issuer)
    body = assert_refused(verifier, created, respond(request, sd_answer(issuer, holder, request)), "status",
                          "suspended")
    assert body["error"] == "credential_suspended"


def test_untrusted_issuer_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer, trusted_issuers=["did:web:university.example"])
    assert_refused(verifier, created, respond(request, vp_answer(issuer, holder, request)), "trusted_issuer",
                   "not a trusted issuer")


def test_no_trusted_issuer_at_all_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created = create(verifier, preset="ob3")
    request = receive_request(created["request_uri"])
    assert_refused(verifier, created, respond(request, vp_answer(issuer, holder, request)), "trusted_issuer",
                   "not a trusted issuer")


def test_schema_invalid_ob3_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer)
    credential = issuer.ob3_credential(holder)
    credential["credentialSubject"]["achievement"]["criteria"] = "not an object"
    token = present_vp_jwt([issuer.sign_credential(credential)], holder, audience=request.client_id,
                           nonce=request.nonce)
    assert_refused(verifier, created, respond(request, {"openbadge": [token]}), "ob3_schema", "criteria")


def test_dcql_not_satisfied_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer, achievement="Advanced Cryptography")
    assert_refused(verifier, created, respond(request, vp_answer(issuer, holder, request)), "dcql",
                   "'achievement', 'name'] is missing or has another value")


def test_undisclosed_requested_claim_fails_dcql(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    presentation = present_sd_jwt_vc(issuer.sd_jwt_vc(holder), holder, audience=request.client_id,
                                     nonce=request.nonce, disclose=(("given_name",),))
    assert_refused(verifier, created, respond(request, {"credential": [presentation]}), "dcql", "grade")


def test_second_answer_to_a_used_request_is_refused(verifier: RunningService, issuer: Issuer,
                                                    holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    answer = sd_answer(issuer, holder, request)
    assert respond(request, answer).status_code == 200
    again = respond(request, answer)
    assert again.status_code == 400 and "already been answered" in again.json()["error_description"]
    assert result(verifier, created["id"])["status"] == "verified"
    # The request object is not served any more either.
    assert httpx.get(request.uri.split("request_uri=")[1].replace("%3A", ":").replace("%2F", "/")).status_code == 400  # noqa: TID251


def test_concurrent_answers_exactly_one_is_processed(verifier: RunningService, issuer: Issuer,
                                                     holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    answer = sd_answer(issuer, holder, request)
    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(lambda _: respond(request, answer), range(30)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 29, [r.text for r in responses if r.status_code != 400]
    assert sum("already been answered" in r.text for r in responses) == 29
    assert result(verifier, created["id"])["status"] == "verified"


# -- protocol errors ------------------------------------------------------------------------------------

def test_malformed_answers_get_invalid_request(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer)
    response_uri = request.params.response_uri
    assert response_uri is not None
    cases = [
        {"vp_token": "{}", "state": "unknown-state"},
        {"vp_token": "not json", "state": request.params.state},
        {"state": request.params.state},
        {"response": "a.b.c.d.e"},
        {"response": "garbage"},
    ]
    for form in cases:
        answer = httpx.post(response_uri, data=form)  # noqa: TID251
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", (form, answer.text)
    # direct_post.jwt requests refuse a plain vp_token.
    plain = respond(request, sd_answer(issuer, holder, request), encrypt=False)
    assert plain.status_code == 400 and "encrypted" in plain.json()["error_description"]
    assert httpx.post(response_uri, content=b"{}", headers={"content-type": "application/json"}).status_code == 400  # noqa: TID251
    # Nothing above consumed the request: the real answer still works.
    assert respond(request, sd_answer(issuer, holder, request)).status_code == 200
    assert result(verifier, created["id"])["status"] == "verified"


def test_encrypted_to_another_key_is_refused(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    _, first = sd_jwt_request(verifier, issuer)
    _, second = sd_jwt_request(verifier, issuer)
    from tests.verifier.wallet_side import encrypt_response

    token = encrypt_response(first, {"vp_token": sd_answer(issuer, holder, second), "state": second.params.state})
    # Encrypted to the first request's key but claiming the second's state.
    answer = httpx.post(second.params.response_uri or "", data={"response": token})  # noqa: TID251
    assert answer.status_code == 400 and "state" in answer.json()["error_description"]


def test_wallet_error_response_is_recorded(verifier: RunningService, issuer: Issuer) -> None:
    created, request = ob3_request(verifier, issuer, response_mode="direct_post")
    answer = httpx.post(request.params.response_uri or "", data={  # noqa: TID251
        "error": "access_denied", "error_description": "the learner declined", "state": request.params.state})
    assert answer.status_code == 200 and answer.json() == {}
    body = result(verifier, created["id"])
    assert body["status"] == "rejected" and body["error"] == "access_denied"


def test_request_uri_post_echoes_wallet_nonce(verifier: RunningService, issuer: Issuer) -> None:
    created = create(verifier, preset="ob3", request_uri_method="post")
    assert "request_uri_method=post" in created["request_uri"]
    request = receive_request(created["request_uri"], method="post", wallet_nonce="wn-123_abc")
    assert request.raw["wallet_nonce"] == "wn-123_abc"
    bad = httpx.post(created["request_object_uri"], data={"wallet_nonce": "no spaces allowed"})  # noqa: TID251
    assert bad.status_code == 400


def test_request_object_of_unknown_request_is_404(verifier: RunningService) -> None:
    response = api(verifier, "GET", "/oid4vp/requests/unknown")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_bad_request_creation_is_a_400(verifier: RunningService) -> None:
    for body in ({}, {"preset": "ob3", "dcql_query": {}}, {"preset": "nope"}, {"dcql_query": {"credentials": []}},
                 {"preset": "ob3", "client_id_prefix": "x509_san_dns"}, {"preset": "ob3", "unknown": 1}):
        response = api(verifier, "POST", "/api/presentation-requests", json=body)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", (body, response.text)


def test_qr_codes_decode_to_the_request_uri(verifier: RunningService) -> None:
    created = create(verifier, preset="ob3")
    png = httpx.get(created["qr_png_url"], headers=verifier_api_headers(verifier))  # noqa: TID251
    assert png.headers["content-type"] == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert code.text == created["request_uri"]
    svg = httpx.get(created["qr_svg_url"], headers=verifier_api_headers(verifier))  # noqa: TID251
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content


def test_did_web_document_of_the_verifier(verifier: RunningService) -> None:
    document = api(verifier, "GET", "/.well-known/did.json").json()
    assert document["id"].startswith("did:web:localhost%3A") and document["verificationMethod"][0]["publicKeyJwk"]


def test_unsigned_redirect_uri_request_by_value(verifier: RunningService, issuer: Issuer, holder: Party) -> None:
    created, request = ob3_request(verifier, issuer, client_id_prefix="redirect_uri", response_mode="direct_post")
    assert created.get("request_object_uri") is None and "request_uri=" not in created["request_uri"]
    assert request.client_id == f"redirect_uri:{verifier.url}/oid4vp/response"
    assert respond(request, vp_answer(issuer, holder, request)).status_code == 200
    assert result(verifier, created["id"])["status"] == "verified"


def test_same_device_flow_returns_redirect_with_response_code(verifier: RunningService, issuer: Issuer,
                                                              holder: Party) -> None:
    created, request = sd_jwt_request(verifier, issuer, same_device=True)
    response = respond(request, sd_answer(issuer, holder, request))
    redirect = response.json()["redirect_uri"]
    assert redirect.startswith(f"{verifier.url}/presentation-requests/{created['id']}#response_code=")
    code = redirect.split("response_code=")[1]
    assert len(code) >= 22
    denied = api(verifier, "GET", f"/api/presentation-requests/{created['id']}")
    assert denied.status_code == 403
    assert result(verifier, created["id"], response_code=code)["status"] == "verified"
    page = api(verifier, "GET", f"/presentation-requests/{created['id']}", params={"response_code": code})
    assert page.status_code == 200 and "Verified" in page.text and "Signed by the issuer" in page.text


# -- webhook ---------------------------------------------------------------------------------------

@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            calls["n"] += 1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if calls["n"] == 1:  # the first delivery fails: the verifier must retry
                self.send_response(503)
                self.end_headers()
                return
            received.append((body, self.headers[SIGNATURE_HEADER]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{port}/hook", received
    server.shutdown()
    server.server_close()


def test_webhook_is_signed_and_retried(verifier: RunningService, issuer: Issuer, holder: Party,
                                       webhook_receiver: tuple[str, list[tuple[bytes, str]]]) -> None:
    import time

    url, received = webhook_receiver
    created, request = sd_jwt_request(verifier, issuer, webhook_url=url)
    secret = created["webhook_secret"].encode()
    assert respond(request, sd_answer(issuer, holder, request)).status_code == 200
    deadline = time.monotonic() + 30
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    [(body, signature)] = received
    assert verify_webhook_signature(secret, body, signature)
    assert not verify_webhook_signature(b"wrong secret", body, signature)
    payload = json.loads(body)
    assert payload["id"] == created["id"] and payload["status"] == "verified"
    assert payload["claims"]["credential"]["grade"] == "8.5"


# -- standalone check --------------------------------------------------------------------------------

def test_standalone_check_of_jwt_png_json_and_sd_jwt(verifier: RunningService, issuer: Issuer, holder: Party,
                                                    ob3_spec_dir: Path) -> None:
    token = issuer.ob3_jwt(holder)
    report = api(verifier, "POST", "/api/check", content=token.encode()).json()
    assert report["format"] == "jwt_vc_json" and report["checks"]["issuer_signature"]["outcome"] == "passed"
    assert report["checks"]["holder_binding"]["outcome"] == "skipped"
    assert report["checks"]["ob3_schema"]["outcome"] == "passed"
    assert report["summary"]["badge"] == "Web Security Essentials"

    baked = bake_png(_plain_png(), token)
    as_png = api(verifier, "POST", "/api/check", files={"file": ("badge.png", baked, "image/png")}).json()
    assert as_png["checks"] == report["checks"]

    as_json = api(verifier, "POST", "/api/check", json=issuer.ob3_credential(holder)).json()
    assert as_json["checks"]["issuer_signature"]["outcome"] == "failed"
    assert as_json["checks"]["ob3_schema"]["outcome"] == "passed"

    sd = api(verifier, "POST", "/api/check", content=issuer.sd_jwt_vc(holder).encode()).json()
    assert sd["format"] == "dc+sd-jwt" and sd["checks"]["issuer_signature"]["outcome"] == "passed"

    example = api(verifier, "POST", "/api/check",
                  content=(ob3_spec_dir / "examples" / "1edtech" / "simple.jwt").read_bytes()).json()
    assert example["verified"] is False  # an example issuer we cannot resolve, and do not trust

    for bad in (b"", b"   ", b"\x89PNG\r\n\x1a\nnot really", b"{not json", b"two words"):
        response = api(verifier, "POST", "/api/check", content=bad)
        assert response.status_code == 400, (bad, response.text)


def _plain_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_trusted_issuer_api(verifier: RunningService) -> None:
    added = api(verifier, "POST", "/api/trusted-issuers", json={"identifier": "did:web:uni.example", "name": "Uni"})
    assert added.status_code == 201
    again = api(verifier, "POST", "/api/trusted-issuers", json={"identifier": "did:web:uni.example"})
    assert again.status_code == 400
    listed = api(verifier, "GET", "/api/trusted-issuers").json()
    assert [i["identifier"] for i in listed["data"]] == ["did:web:uni.example"]
    assert api(verifier, "POST", "/api/trusted-issuers", json={"identifier": "ftp://x"}).status_code == 400
    assert api(verifier, "DELETE", f"/api/trusted-issuers/{added.json()['id']}").status_code == 204
    assert api(verifier, "DELETE", f"/api/trusted-issuers/{added.json()['id']}").status_code == 404

"""vc.oid4vp_request: the Wallet reading an OpenID4VP 1.0 request and answering it.

The verifier here is an `httpx.MockTransport` handler; request objects are signed with real
keys under each Client Identifier Prefix (§5.9.3), and every way to get one wrong is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
import pytest
from joserfc import jwe
from joserfc.jwk import ECKey

from schemas.oid4vp import AuthorizationRequest
from tests.conftest import VECTORS
from vc.did_jwk import create_did_jwk
from vc.errors import (
    ClaimInvalid,
    FetchError,
    FetchRefused,
    HeaderInvalid,
    MalformedToken,
    SignatureInvalid,
    TokenExpired,
)
from vc.fetch import Fetcher, FetchPolicy, FetchStatusError, static_resolver
from vc.jws import sign_jws
from vc.keys import SoftwareSigner, generate_private_key
from vc.oid4vci_client import ErrorResponse
from vc.oid4vp_request import (
    create_authorization_response,
    create_error_response,
    encrypt_response,
    resolve_authorization_request,
    send_authorization_response,
)
from vc.x509 import encode_x5c, make_self_signed_certificate, x509_hash

HOST = "verifier.example.com"
BASE = f"https://{HOST}"
RESOLVER = static_resolver({HOST: "93.184.216.34", "other.example.com": "93.184.216.35"})
QUERY = {"credentials": [{"id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://x/vct"]},
                          "claims": [{"path": ["grade"]}]}]}


def _vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / "oid4vp" / f"{name}.json").read_text())  # type: ignore[no-any-return]


class Verifier:
    """Signs request objects under one client identifier prefix and serves them at request_uri."""

    def __init__(self, prefix: str = "x509_hash") -> None:
        key = generate_private_key()
        self.signer = SoftwareSigner(key)
        self.certificate = make_self_signed_certificate(key, common_name=HOST, dns_name=HOST)
        self.prefix = prefix
        if prefix == "x509_hash":
            self.client_id = f"x509_hash:{x509_hash(self.certificate)}"
        elif prefix == "x509_san_dns":
            self.client_id = f"x509_san_dns:{HOST}"
        else:
            self.did = create_did_jwk(self.signer.public_jwk)
            self.client_id = f"decentralized_identifier:{self.did}"
        self.enc_key = ECKey.generate_key("P-256")
        self.claims: dict[str, Any] = {
            "client_id": self.client_id, "response_type": "vp_token", "response_mode": "direct_post",
            "response_uri": f"{BASE}/response", "nonce": "n-0S6_WzA2Mj", "state": "st-1", "dcql_query": QUERY,
            "aud": "https://self-issued.me/v2", "iat": int(datetime.now(UTC).timestamp()),
            "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp()),
            "client_metadata": {"vp_formats_supported": {"dc+sd-jwt": {}},
                                "jwks": {"keys": [{**self.enc_key.as_dict(private=False), "kid": "enc-1",
                                                   "use": "enc", "alg": "ECDH-ES"}]},
                                "encrypted_response_enc_values_supported": ["A128GCM", "A256GCM"]},
        }
        self.header: dict[str, Any] = {}
        self.typ = "oauth-authz-req+jwt"
        self.posted: list[dict[str, list[str]]] = []
        self.responses: list[dict[str, list[str]]] = []
        self.response_answer = httpx.Response(200, json={"redirect_uri": f"{BASE}/done#response_code=abc"})
        #: When set, what request_uri answers instead of the request object.
        self.request_answer: httpx.Response | None = None
        self.signing_key: SoftwareSigner | None = None

    def request_object(self, **changes: Any) -> str:
        claims = {**self.claims, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        header = dict(self.header)
        if self.prefix.startswith("x509"):
            header.setdefault("x5c", encode_x5c([self.certificate]))
        else:
            header.setdefault("kid", f"{self.did}#0")
        return sign_jws(claims, self.signing_key or self.signer, typ=self.typ, header=header, include_kid=False)

    def uri(self, method: str | None = None, client_id: str | None = None) -> str:
        params = {"client_id": client_id or self.client_id, "request_uri": f"{BASE}/request/1"}
        if method:
            params["request_uri_method"] = method
        return "openid4vp://?" + urlencode(params, quote_via=quote)

    def fetcher(self) -> Fetcher:
        return Fetcher(FetchPolicy(), transport=httpx.MockTransport(self.handle), resolver=RESOLVER)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == f"{BASE}/request/1" and self.request_answer is not None:
            return self.request_answer
        if url == f"{BASE}/request/1":
            changes: dict[str, Any] = {}
            if request.method == "POST":
                form = parse_qs(request.content.decode())
                self.posted.append(form)
                changes["wallet_nonce"] = form.get("wallet_nonce", [None])[0]
            return httpx.Response(200, content=self.request_object(**changes),
                                  headers={"content-type": "application/oauth-authz-req+jwt"})
        if url == f"{BASE}/redirecting":
            return httpx.Response(302, headers={"location": f"{BASE}/request/1"})
        if url == f"{BASE}/response":
            self.responses.append(parse_qs(request.content.decode()))
            return self.response_answer
        return httpx.Response(404)


@pytest.mark.parametrize("prefix", ["x509_hash", "x509_san_dns", "decentralized_identifier"])
def test_signed_request_by_reference(prefix: str) -> None:
    verifier = Verifier(prefix)
    resolved = resolve_authorization_request(verifier.uri(), verifier.fetcher())
    assert resolved.signed and resolved.client.prefix == prefix
    assert resolved.request.nonce == "n-0S6_WzA2Mj" and resolved.response_uri == f"{BASE}/response"
    assert resolved.request.dcql_query is not None and resolved.request.dcql_query.credentials[0].id == "badge"
    if prefix.startswith("x509"):
        assert resolved.certificate_dns_names == (HOST,)


def test_request_uri_post_sends_and_checks_the_wallet_nonce() -> None:
    verifier = Verifier()
    resolved = resolve_authorization_request(verifier.uri("post"), verifier.fetcher(), wallet_nonce="wn-123",
                                             wallet_metadata={"vp_formats_supported": {"dc+sd-jwt": {}}})
    assert resolved.request.wallet_nonce == "wn-123"
    assert verifier.posted[0]["wallet_nonce"] == ["wn-123"]
    assert json.loads(verifier.posted[0]["wallet_metadata"][0]) == {"vp_formats_supported": {"dc+sd-jwt": {}}}
    verifier.claims["wallet_nonce"] = "replayed"
    verifier.handle = _fixed_nonce(verifier, "replayed")  # type: ignore[method-assign]
    with pytest.raises(ClaimInvalid, match="wallet_nonce"):
        resolve_authorization_request(verifier.uri("post"), verifier.fetcher(), wallet_nonce="wn-456")


def _fixed_nonce(verifier: Verifier, nonce: str) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=verifier.request_object(wallet_nonce=nonce),
                              headers={"content-type": "application/oauth-authz-req+jwt"})
    return handle


def test_request_object_by_value() -> None:
    verifier = Verifier()
    uri = "openid4vp://?" + urlencode({"client_id": verifier.client_id, "request": verifier.request_object()})
    assert resolve_authorization_request(uri, verifier.fetcher()).signed


@pytest.mark.parametrize(("change", "error", "match"), [
    ("typ", HeaderInvalid, "typ"),
    ("client_id_in_uri", ClaimInvalid, "differs"),
    ("other_certificate", HeaderInvalid, "x509_hash"),
    ("wrong_key", SignatureInvalid, "verify"),
    ("expired", TokenExpired, "expired"),
    ("other_wallet", ClaimInvalid, "aud"),
    ("transaction_data", ClaimInvalid, "transaction_data"),
    ("fragment", ClaimInvalid, "response_mode"),
    ("no_jwks_for_jwt", ClaimInvalid, "jwks"),
])
def test_bad_request_objects_are_refused(change: str, error: type[Exception], match: str) -> None:
    verifier = Verifier()
    client_id = None
    if change == "typ":
        verifier.typ = "JWT"
    elif change == "client_id_in_uri":
        client_id = "x509_hash:" + "A" * 43
    elif change == "other_certificate":
        other = make_self_signed_certificate(generate_private_key(), common_name=HOST, dns_name=HOST)
        verifier.header["x5c"] = encode_x5c([other])
    elif change == "wrong_key":
        verifier.signing_key = SoftwareSigner.generate()
    elif change == "expired":
        verifier.claims["exp"] = int((datetime.now(UTC) - timedelta(minutes=10)).timestamp())
    elif change == "other_wallet":
        verifier.claims["aud"] = "https://another-wallet.example.org"
    elif change == "transaction_data":
        verifier.claims["transaction_data"] = ["eyJ0eXBlIjoieCIsImNyZWRlbnRpYWxfaWRzIjpbImJhZGdlIl19"]
    elif change == "fragment":
        verifier.claims.update(response_mode="fragment", response_uri=None, redirect_uri=f"{BASE}/cb")
    elif change == "no_jwks_for_jwt":
        verifier.claims.update(response_mode="direct_post.jwt",
                               client_metadata={"vp_formats_supported": {"dc+sd-jwt": {}}})
    with pytest.raises(error, match=match):
        resolve_authorization_request(verifier.uri(client_id=client_id), verifier.fetcher())


def test_x509_san_dns_needs_the_name_in_the_certificate_and_the_response_on_that_host() -> None:
    verifier = Verifier("x509_san_dns")
    verifier.claims["response_uri"] = "https://other.example.com/response"
    with pytest.raises(ClaimInvalid, match="host"):
        resolve_authorization_request(verifier.uri(), verifier.fetcher())
    verifier = Verifier("x509_san_dns")
    verifier.certificate = make_self_signed_certificate(generate_private_key(), common_name=HOST,
                                                        dns_name="other.example.com")
    with pytest.raises(HeaderInvalid, match="DNS name"):
        resolve_authorization_request(verifier.uri(), verifier.fetcher())


def test_decentralized_identifier_kid_must_belong_to_the_client() -> None:
    verifier = Verifier("decentralized_identifier")
    stranger = create_did_jwk(SoftwareSigner.generate().public_jwk)
    verifier.header["kid"] = f"{stranger}#0"
    with pytest.raises(HeaderInvalid, match="kid"):
        resolve_authorization_request(verifier.uri(), verifier.fetcher())


def test_redirect_uri_prefix_only_unsigned_by_value() -> None:
    unsigned = AuthorizationRequest(client_id=f"redirect_uri:{BASE}/response", response_type="vp_token",
                                    response_mode="direct_post", nonce="n-1", dcql_query=QUERY)  # type: ignore[arg-type]
    uri = "openid4vp://?" + urlencode(unsigned.to_params())
    resolved = resolve_authorization_request(uri, Verifier().fetcher())
    assert not resolved.signed and resolved.response_uri == f"{BASE}/response"
    # As a (necessarily self-asserted) request object it is refused.
    verifier = Verifier()
    verifier.claims["client_id"] = f"redirect_uri:{BASE}/response"
    with pytest.raises(HeaderInvalid, match="redirect_uri"):
        resolve_authorization_request(verifier.uri(client_id=f"redirect_uri:{BASE}/response"), verifier.fetcher())


def test_spec_example_by_value_wants_a_fragment_response_which_is_refused() -> None:
    # §5.9.3's own example has no response_mode: the default (fragment) is not something this wallet does.
    with pytest.raises(ClaimInvalid, match="fragment"):
        resolve_authorization_request(_vector("request_uri_by_value_redirect_uri")["uri"], Verifier().fetcher())


def test_signed_prefixes_are_refused_when_unsigned() -> None:
    verifier = Verifier()
    params = {k: v for k, v in verifier.claims.items() if k not in ("aud", "iat", "exp")}
    uri = "openid4vp://?" + urlencode(AuthorizationRequest.model_validate(params).to_params())
    with pytest.raises(HeaderInvalid, match="signed"):
        resolve_authorization_request(uri, verifier.fetcher())


def test_request_uri_redirects_and_private_addresses_are_refused() -> None:
    verifier = Verifier()
    redirecting = "openid4vp://?" + urlencode({"client_id": verifier.client_id, "request_uri": f"{BASE}/redirecting"})
    with pytest.raises(FetchError):
        resolve_authorization_request(redirecting, verifier.fetcher())
    for target in ("https://10.0.0.5/request", "https://169.254.169.254/latest"):
        private = "openid4vp://?" + urlencode({"client_id": verifier.client_id, "request_uri": target})
        with pytest.raises(FetchRefused):
            resolve_authorization_request(private, verifier.fetcher())
    with pytest.raises(MalformedToken):
        resolve_authorization_request("openid4vp://?client_id=x509_hash%3Aabc", verifier.fetcher())


def test_a_request_uri_that_answers_an_error_passes_the_verifiers_error_on() -> None:
    verifier = Verifier()
    verifier.request_answer = httpx.Response(400, json={"error": "invalid_request",
                                                        "error_description": "the request has expired"})
    with pytest.raises(ErrorResponse) as caught:
        resolve_authorization_request(verifier.uri(), verifier.fetcher())
    assert (caught.value.status, caught.value.error, caught.value.description) == (
        400, "invalid_request", "the request has expired")
    verifier.request_answer = httpx.Response(410, text="gone")  # no OAuth error body: the status only
    with pytest.raises(FetchStatusError) as bare:
        resolve_authorization_request(verifier.uri(), verifier.fetcher())
    assert bare.value.status == 410 and not isinstance(bare.value, ErrorResponse)
    assert "request_uri answered HTTP 410" in str(bare.value)


# -- the response ------------------------------------------------------------------------------

def test_direct_post_response_and_redirect() -> None:
    verifier = Verifier()
    fetcher = verifier.fetcher()
    resolved = resolve_authorization_request(verifier.uri(), fetcher)
    fields = create_authorization_response(resolved, {"badge": ["eyJ...~"]})
    assert json.loads(fields["vp_token"]) == {"badge": ["eyJ...~"]} and fields["state"] == "st-1"
    answer = send_authorization_response(resolved, fields, fetcher)
    assert answer.redirect_uri == f"{BASE}/done#response_code=abc"
    assert verifier.responses[0]["vp_token"] == [fields["vp_token"]]
    verifier.response_answer = httpx.Response(400, json={"error": "invalid_request", "error_description": "nonce"})
    with pytest.raises(ErrorResponse) as caught:
        send_authorization_response(resolved, create_error_response(resolved, "access_denied"), fetcher)
    assert caught.value.error == "invalid_request"
    assert verifier.responses[-1] == {"error": ["access_denied"], "state": ["st-1"]}


def test_direct_post_jwt_is_encrypted_to_the_verifiers_key() -> None:
    verifier = Verifier()
    verifier.claims["response_mode"] = "direct_post.jwt"
    fetcher = verifier.fetcher()
    resolved = resolve_authorization_request(verifier.uri(), fetcher)
    fields = create_authorization_response(resolved, {"badge": ["eyJ...~"]})
    assert set(fields) == {"response"}
    decrypted = jwe.decrypt_compact(fields["response"], verifier.enc_key)
    assert decrypted.protected["alg"] == "ECDH-ES" and decrypted.protected["kid"] == "enc-1"
    assert decrypted.protected["enc"] == "A256GCM"  # our preference among the verifier's values
    assert json.loads(decrypted.plaintext) == {"vp_token": {"badge": ["eyJ...~"]}, "state": "st-1"}


def test_encryption_key_and_enc_selection_on_the_spec_example() -> None:
    keys = _vector("client_metadata_encryption_keys")["message"]["jwks"]["keys"]
    token = encrypt_response({"vp_token": {"a": ["b"]}}, jwks=keys, enc_values=None)
    header = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["kid"] == "ac" and header["enc"] == "A128GCM"  # the default when none is listed
    with pytest.raises(MalformedToken, match="enc"):
        encrypt_response({}, jwks=keys, enc_values=["XC20P"])
    with pytest.raises(MalformedToken, match="key"):
        encrypt_response({}, jwks=[k for k in keys if k["kty"] != "EC" or k["crv"] != "P-256"][2:], enc_values=None)

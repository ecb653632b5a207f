"""A tiny OpenID4VP 1.0 verifier for the wallet's tests, built from the credential library.

It signs request objects as `x509_hash:` (a self-signed certificate, as HAIP wants), serves
them by reference (GET, or POST with `wallet_nonce`), takes `direct_post` and
`direct_post.jwt` answers (decrypting with a per-request ECDH-ES key), checks every
presentation with `vc.checks` (issuer signature, KB-JWT / VP JWT bound to its nonce and
client id) and keeps exactly what was posted, so tests can see what the wallet disclosed.
`refusal` makes it answer the next responses with an error instead (status, JSON body), as a
verifier does that refuses a presentation or whose request expired or was answered already.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jwe
from joserfc.jwk import ECKey

from tests.servers import free_port
from tests.wallet.tiny_issuer import serve
from vc.checks import CheckContext, CredentialReport, HolderBinding, check_sd_jwt_vc, check_vp_jwt
from vc.fetch import Fetcher, FetchPolicy
from vc.jws import sign_jws
from vc.key_resolution import VerificationKeyResolver
from vc.keys import SoftwareSigner, generate_private_key
from vc.sd_jwt import decode_disclosure, parse_sd_jwt
from vc.x509 import encode_x5c, make_self_signed_certificate, x509_hash


@dataclass
class Transaction:
    nonce: str
    state: str
    claims: dict[str, Any]
    enc_key: ECKey
    posted: list[dict[str, str]] = field(default_factory=list)
    vp_token: dict[str, list[str]] | None = None
    error: str | None = None
    reports: dict[str, list[CredentialReport]] = field(default_factory=dict)
    #: SD-JWT presentations as verified by sd-jwt-python (the reference implementation): claims or the error.
    reference_checks: list[dict[str, Any] | str] = field(default_factory=list)


class TinyVerifier:
    def __init__(self) -> None:
        self.url = ""
        key = generate_private_key()
        self.signer = SoftwareSigner(key)
        self.certificate = make_self_signed_certificate(key, common_name="tiny verifier", dns_name="localhost")
        self.client_id = f"x509_hash:{x509_hash(self.certificate)}"
        self.transactions: dict[str, Transaction] = {}
        self.fetcher = Fetcher(FetchPolicy(allow_http_loopback=True))
        self.resolve_key = VerificationKeyResolver(fetcher=self.fetcher)
        self.expired = False
        #: When set: the response endpoint keeps what is posted and answers (status, JSON body) to it.
        self.refusal: tuple[int, dict[str, Any]] | None = None

    def request(self, dcql_query: dict[str, Any], *, response_mode: str = "direct_post",
                method: str | None = None, response_uri: str | None = None) -> tuple[str, Transaction]:
        """A new presentation request; returns the `openid4vp://` URI and its transaction."""
        request_id = secrets.token_urlsafe(8)
        transaction = Transaction(nonce=secrets.token_urlsafe(16), state=secrets.token_urlsafe(12), claims={},
                                  enc_key=ECKey.generate_key("P-256"))
        transaction.claims = {
            "client_id": self.client_id, "response_type": "vp_token", "response_mode": response_mode,
            "response_uri": response_uri or f"{self.url}/response/{request_id}", "nonce": transaction.nonce,
            "state": transaction.state, "dcql_query": dcql_query, "aud": "https://self-issued.me/v2",
            "client_metadata": {
                "client_name": "Tiny Employer",
                "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
                                         "jwt_vc_json": {"alg_values": ["ES256"]}},
                "jwks": {"keys": [{**transaction.enc_key.as_dict(private=False), "kid": "eph-1", "use": "enc",
                                   "alg": "ECDH-ES"}]},
                "encrypted_response_enc_values_supported": ["A128GCM", "A256GCM"],
            },
        }
        self.transactions[request_id] = transaction
        params = {"client_id": self.client_id, "request_uri": f"{self.url}/request/{request_id}"}
        if method:
            params["request_uri_method"] = method
        return "openid4vp://?" + urlencode(params, quote_via=quote), transaction

    def _request_object(self, transaction: Transaction, wallet_nonce: str | None) -> str:
        now = datetime.now(UTC) - (timedelta(hours=1) if self.expired else timedelta(0))
        claims = {**transaction.claims, "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
        if wallet_nonce:
            claims["wallet_nonce"] = wallet_nonce
        return sign_jws(claims, self.signer, typ="oauth-authz-req+jwt",
                        header={"x5c": encode_x5c([self.certificate])}, include_kid=False)

    def _check(self, transaction: Transaction) -> None:
        assert transaction.vp_token is not None
        context = CheckContext(issuer_key=self.resolve_key,
                               holder_key=VerificationKeyResolver(fetcher=self.fetcher, relationship="authentication"),
                               holder_binding=HolderBinding(audience=self.client_id, nonce=transaction.nonce))
        for query_id, presentations in transaction.vp_token.items():
            for presentation in presentations:
                if presentation.count(".") == 2 and "~" not in presentation:
                    transaction.reports.setdefault(query_id, []).extend(check_vp_jwt(presentation, context))
                else:
                    transaction.reports.setdefault(query_id, []).append(check_sd_jwt_vc(presentation, context))
                    transaction.reference_checks.append(self._reference_check(presentation, transaction))

    def _reference_check(self, presentation: str, transaction: Transaction) -> dict[str, Any] | str:
        """Verify an SD-JWT+KB with sd-jwt-python's `SDJWTVerifier` (issuer key, Disclosures, KB-JWT)."""
        from jwcrypto.jwk import JWK
        from sd_jwt.verifier import SDJWTVerifier

        def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
            return JWK(**self.resolve_key(issuer, header))

        try:
            verifier = SDJWTVerifier(presentation, issuer_key, expected_aud=self.client_id,
                                     expected_nonce=transaction.nonce)
            return dict(verifier.get_verified_payload())
        except Exception as exc:  # noqa: BLE001 - whatever the reference library raises is the answer
            return f"{type(exc).__name__}: {exc}"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/request/{request_id}", methods=["GET", "POST"])
        async def request_object(request_id: str, request: Request) -> Response:
            transaction = self.transactions.get(request_id)
            if transaction is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            wallet_nonce = None
            if request.method == "POST":
                wallet_nonce = (await request.form()).get("wallet_nonce")
            return Response(self._request_object(transaction, wallet_nonce if isinstance(wallet_nonce, str) else None),
                            media_type="application/oauth-authz-req+jwt")

        @app.post("/response/{request_id}")
        async def response(request_id: str, request: Request) -> Response:
            transaction = self.transactions.get(request_id)
            if transaction is None:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            transaction.posted.append(form)
            if self.refusal is not None:
                return JSONResponse(self.refusal[1], status_code=self.refusal[0], headers={"Cache-Control": "no-store"})
            if "response" in form:
                form = json.loads(jwe.decrypt_compact(form["response"], transaction.enc_key).plaintext)
            if form.get("state") != transaction.state:
                return JSONResponse({"error": "invalid_request", "error_description": "state"}, status_code=400)
            if "error" in form:
                transaction.error = form["error"]
                return JSONResponse({})
            vp_token = form["vp_token"]
            transaction.vp_token = json.loads(vp_token) if isinstance(vp_token, str) else vp_token
            self._check(transaction)
            return JSONResponse({"redirect_uri": f"{self.url}/done#response_code={secrets.token_hex(16)}"},
                                headers={"Cache-Control": "no-store"})

        return app


def disclosed_claims(presentation: str) -> dict[str, Any]:
    """What an SD-JWT presentation reveals through its Disclosures: claim name -> value."""
    parsed = parse_sd_jwt(presentation)
    revealed = {}
    for encoded in parsed.disclosures:
        disclosure = decode_disclosure(encoded)
        revealed[disclosure.name or f"[{disclosure.salt}]"] = disclosure.value
    return revealed


@contextmanager
def running_tiny_verifier() -> Iterator[TinyVerifier]:
    verifier = TinyVerifier()
    port = free_port()
    verifier.url = f"http://localhost:{port}"
    with serve(verifier.app(), port):
        yield verifier
    verifier.fetcher.close()

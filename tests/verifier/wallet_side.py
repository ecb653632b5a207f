"""The wallet's side of OpenID4VP 1.0 for tests: fetch and check the request object, answer it.

Uses the holder-side library code (and, for interop, other implementations), never the wallet service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwe
from joserfc.jwk import ECKey

from schemas.oid4vp import AuthorizationRequest, parse_authorization_request_uri
from vc.jws import decode_jws, verify_jws
from vc.x509 import validate_x5c


@dataclass
class ReceivedRequest:
    uri: str
    params: AuthorizationRequest
    raw: dict[str, Any]
    header: dict[str, Any]

    @property
    def client_id(self) -> str:
        return self.params.client_id

    @property
    def nonce(self) -> str:
        return self.params.nonce


def receive_request(uri: str, *, method: str = "get", wallet_nonce: str | None = None) -> ReceivedRequest:
    """Parse `openid4vp://`, fetch the request object, check `typ`, signature (x5c) and `client_id`."""
    parsed = parse_authorization_request_uri(uri)
    if parsed.parameters is not None:
        return ReceivedRequest(uri, parsed.parameters, parsed.parameters.dump(), {})
    assert parsed.request_uri is not None
    if method == "post":
        response = httpx.post(parsed.request_uri, data={"wallet_nonce": wallet_nonce} if wallet_nonce else {},  # noqa: TID251
                              headers={"Accept": "application/oauth-authz-req+jwt"})
    else:
        response = httpx.get(parsed.request_uri)  # noqa: TID251
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    token = response.text
    decoded = decode_jws(token)
    assert decoded.header["typ"] == "oauth-authz-req+jwt"
    if "x5c" in decoded.header:
        chain = validate_x5c(decoded.header["x5c"])
        verify_jws(token, chain.public_jwk, algorithms=["ES256"], typ="oauth-authz-req+jwt")
        if parsed.client_id and parsed.client_id.startswith("x509_hash:"):
            assert parsed.client_id == f"x509_hash:{chain.x509_hash}"
    claims = decoded.claims()
    assert claims["client_id"] == parsed.client_id
    return ReceivedRequest(uri, AuthorizationRequest.model_validate(claims), claims, decoded.header)


def encrypt_response(request: ReceivedRequest, payload: dict[str, Any], enc: str = "A256GCM") -> str:
    """§8.3: a JWE to the verifier's `client_metadata.jwks` key (ECDH-ES), its `kid` in the header."""
    [key] = request.raw["client_metadata"]["jwks"]["keys"]
    header = {"alg": key["alg"], "enc": enc, "kid": key["kid"]}
    return jwe.encrypt_compact(header, json.dumps(payload).encode(), ECKey.import_key(key))


def respond(request: ReceivedRequest, vp_token: dict[str, list[Any]], *, encrypt: bool | None = None,
            state: str | None = None) -> httpx.Response:
    """POST the answer to `response_uri`, encrypted when the request asked for `direct_post.jwt`."""
    payload = {"vp_token": vp_token, "state": state or request.params.state}
    uri = request.params.effective_response_uri
    assert uri is not None
    if encrypt if encrypt is not None else request.params.response_mode == "direct_post.jwt":
        return httpx.post(uri, data={"response": encrypt_response(request, payload)})  # noqa: TID251
    return httpx.post(uri, data={"vp_token": json.dumps(vp_token), "state": payload["state"]})  # noqa: TID251

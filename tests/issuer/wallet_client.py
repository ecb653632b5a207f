"""A small OpenID4VCI 1.0 wallet for the issuer's tests: offer → metadata → token → nonce → credential.

Written straight from the spec with httpx and `vc.jws.sign_jws`, not through `vc.oid4vci_client`,
and with knobs to get things wrong on purpose (proof `typ`, `aud`, `iat`, nonce, signature).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from schemas.oid4vci import PRE_AUTHORIZED_CODE_GRANT, PROOF_JWT_TYP
from vc.encoding import b64url_decode, b64url_encode
from vc.jws import sign_jws
from vc.keys import SoftwareSigner


@dataclass
class Session:
    """What the wallet learnt on its way through one offer."""

    offer: dict[str, Any]
    metadata: dict[str, Any]
    as_metadata: dict[str, Any]
    access_token: str | None = None
    holder_keys: list[SoftwareSigner] = field(default_factory=list)

    @property
    def credential_issuer(self) -> str:
        return str(self.offer["credential_issuer"])

    @property
    def pre_authorized_code(self) -> str:
        return str(self.offer["grants"][PRE_AUTHORIZED_CODE_GRANT]["pre-authorized_code"])

    @property
    def configuration_id(self) -> str:
        return str(self.offer["credential_configuration_ids"][0])


class WalletError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        self.error = body.get("error")
        super().__init__(f"{response.status_code} {self.error}: {body.get('error_description')}")


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise WalletError(response)
    return response


class TestWallet:
    __test__ = False  # not a pytest class

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.http = client or httpx.Client(timeout=30)

    def resolve(self, offer_uri: str) -> Session:
        """§4.1.3: GET the offer by reference, then both metadata documents (§12.2.2, RFC 8414)."""
        assert offer_uri.startswith("openid-credential-offer://?")
        [offer_url] = parse_qs(urlsplit(offer_uri).query)["credential_offer_uri"]
        response = _check(self.http.get(offer_url))
        assert response.headers["content-type"].startswith("application/json")
        offer = response.json()
        issuer = offer["credential_issuer"]
        metadata = _check(self.http.get(issuer + "/.well-known/openid-credential-issuer")).json()
        assert metadata["credential_issuer"] == issuer
        as_metadata = _check(self.http.get(issuer + "/.well-known/oauth-authorization-server")).json()
        assert as_metadata["issuer"] == issuer
        return Session(offer, metadata, as_metadata)

    def token(self, session: Session, *, tx_code: str | None = None, code: str | None = None) -> str:
        """§6.1: the pre-authorized code grant, anonymous, form-encoded."""
        form = {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": code or session.pre_authorized_code}
        if tx_code is not None:
            form["tx_code"] = tx_code
        answer = _check(self.http.post(session.as_metadata["token_endpoint"], data=form)).json()
        assert answer["token_type"] == "Bearer"
        session.access_token = answer["access_token"]
        return str(answer["access_token"])

    def nonce(self, session: Session) -> str:
        """§7: POST, no access token."""
        response = _check(self.http.post(session.metadata["nonce_endpoint"]))
        assert response.headers["cache-control"] == "no-store"
        return str(response.json()["c_nonce"])

    @staticmethod
    def proof(holder: SoftwareSigner, *, aud: str, nonce: str | None, iat: int | None = None,
              typ: str = PROOF_JWT_TYP, use_kid: str | None = None, tamper: bool = False) -> str:
        """App. F.1 `jwt` proof: `typ`, the holder key as `jwk` (or a DID URL `kid`), `aud`, `iat`, `nonce`."""
        claims: dict[str, Any] = {"aud": aud, "iat": int(time.time()) if iat is None else iat}
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"kid": use_kid} if use_kid else {"jwk": holder.public_jwk}
        token = sign_jws(claims, holder.with_kid(None), typ=typ, header=header)
        if tamper:  # same header and signature, different payload
            head, payload, signature = token.split(".")
            claims = {**claims, "aud": aud + "/"}
            token = ".".join([head, b64url_encode(json.dumps(claims).encode()), signature])
            assert b64url_decode(payload) != b64url_decode(token.split(".")[1])
        return token

    def credential_request(self, session: Session, proofs: list[str], *, configuration_id: str | None = None,
                           extra: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"credential_configuration_id": configuration_id or session.configuration_id,
                                "proofs": {"jwt": proofs}, **(extra or {})}
        return self.http.post(session.metadata["credential_endpoint"], json=body,
                              headers={"Authorization": f"Bearer {session.access_token}"})

    def obtain(self, offer_uri: str, *, tx_code: str | None = None, batch: int = 1,
               configuration_id: str | None = None) -> tuple[Session, dict[str, Any]]:
        """The whole pre-authorized flow; returns the session and the Credential Response."""
        session = self.resolve(offer_uri)
        self.token(session, tx_code=tx_code)
        c_nonce = self.nonce(session)
        session.holder_keys = [SoftwareSigner.generate("ES256") for _ in range(batch)]
        proofs = [self.proof(key, aud=session.credential_issuer, nonce=c_nonce) for key in session.holder_keys]
        answer = _check(self.credential_request(session, proofs, configuration_id=configuration_id)).json()
        return session, answer

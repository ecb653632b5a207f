"""Presentation requests: create, publish (request object, `openid4vp://` URI) and claim once.

OpenID4VP 1.0 §5 (authorization request), §5.9 (client identifier prefixes), §5.10
(`request_uri_method=post`), §8.2 (`direct_post`), §8.3 (`direct_post.jwt`):
https://openid.net/specs/openid-4-verifiable-presentations-1_0.html

- A request gets a fresh `nonce` and `state` (>= 128 bits each), an expiry, and for
  `direct_post.jwt` an ephemeral ECDH-ES P-256 key whose public half goes into
  `client_metadata.jwks` (private half sealed under the master key).
- Signed request objects (`typ: oauth-authz-req+jwt`, ES256) are served by reference
  (`request_uri`); `redirect_uri:` requests are unsigned and travel entirely by value.
- `answer_presentation_request` is the one way to answer a request: one conditional UPDATE
  (`... WHERE answered_at IS NULL AND expires_at > now`) claims it and stores the verdict, so
  of two racing answers exactly one is kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from schemas.dcql import DcqlQuery, parse_dcql_query
from schemas.oauth2 import InvalidRequest, NotFound
from schemas.oid4vp import (
    REQUEST_OBJECT_TYP,
    SELF_ISSUED_AUDIENCE,
    AuthorizationRequest,
    create_authorization_request_uri,
)
from vc.jwk import private_jwk, private_key_from_jwk, public_jwk
from vc.jws import sign_jws
from vc.keys import MasterKey, generate_private_key
from vc.x509 import encode_x5c
from verifier.identity import SigningIdentity
from verifier.models import PresentationRequest, RequestStatus, as_utc, utcnow
from verifier.settings import ClientIdPrefix, ResponseMode, VerifierSettings

__all__ = [
    "ENCRYPTED_RESPONSE_ENC_VALUES",
    "VP_FORMATS_SUPPORTED",
    "NewRequest",
    "RequestToAnswer",
    "authorization_request",
    "authorization_request_uri",
    "check_dcql_query",
    "answer_presentation_request",
    "client_metadata",
    "create_presentation_request",
    "encryption_private_jwk",
    "find_request_to_answer",
    "get_presentation_request",
    "get_request_of_key",
    "list_requests_of_key",
    "request_object",
    "request_object_uri",
    "response_uri",
    "webhook_secret",
]

#: HAIP 1.0 §5: verifiers list both; wallets pick one.
ENCRYPTED_RESPONSE_ENC_VALUES = ["A128GCM", "A256GCM"]
#: OpenID4VP 1.0 App. B: per-format algorithm support of this verifier.
VP_FORMATS_SUPPORTED: dict[str, dict[str, list[str]]] = {
    "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256", "RS256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "RS256", "EdDSA"]},
    "jwt_vc_json": {"alg_values": ["ES256", "RS256", "EdDSA"]},
}
ENCRYPTION_ALG = "ECDH-ES"


def _secret() -> str:
    """A fresh value with 192 bits of randomness in the `[A-Za-z0-9-_]` alphabet."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class NewRequest:
    """What the caller of `create_presentation_request` decides."""

    dcql_query: dict[str, Any]
    client_id_prefix: ClientIdPrefix | None = None
    response_mode: ResponseMode | None = None
    trusted_issuers: list[str] | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    #: Same-device flow: where the wallet sends the user agent afterwards (`#response_code=` is added).
    redirect_uri: str | None = None
    #: Same-device flow back to this verifier's own result page (when no `redirect_uri` is given).
    same_device: bool = False
    request_uri_method: str = "get"
    #: The API key making the request (None for the pages): only that key reads its result.
    api_key_id: str | None = None


def response_uri(settings: VerifierSettings) -> str:
    return f"{settings.base_url}/oid4vp/response"


def request_object_uri(settings: VerifierSettings, request_id: str) -> str:
    return f"{settings.base_url}/oid4vp/requests/{request_id}"


def _client_id(prefix: ClientIdPrefix, identity: SigningIdentity, settings: VerifierSettings) -> str:
    if prefix == "x509_hash":
        return f"x509_hash:{identity.x509_hash}"
    if prefix == "x509_san_dns":
        # §5.9.3: unless a wallet trusts the certificate otherwise, the response URI must be on the host the
        # client identifier names; so only the DNS name of our own public URL will do.
        host = urlsplit(settings.base_url).hostname
        if not identity.dns_names:
            raise InvalidRequest("x509_san_dns needs a certificate with a DNS name; none is configured")
        if host not in identity.dns_names:
            raise InvalidRequest(f"x509_san_dns: the certificate names {', '.join(identity.dns_names)}, but responses "
                                 f"go to {host}; configure a certificate for that host")
        return f"x509_san_dns:{host}"
    if prefix == "decentralized_identifier":
        return f"decentralized_identifier:{identity.did}"
    if prefix == "redirect_uri":
        return f"redirect_uri:{response_uri(settings)}"
    raise InvalidRequest(f"unsupported client identifier prefix {prefix!r}")


def check_dcql_query(query: Any) -> DcqlQuery:
    """Parse a DCQL query (§6) this verifier is to send; `InvalidRequest` when it asks for a format not verified here."""
    parsed = parse_dcql_query(query)
    for credential in parsed.credentials:
        if credential.format not in VP_FORMATS_SUPPORTED:
            raise InvalidRequest(f"format {credential.format} is not verified here; use "
                                 f"{' or '.join(VP_FORMATS_SUPPORTED)}")
    return parsed


def create_presentation_request(
    *,
    session: Session,
    settings: VerifierSettings,
    identity: SigningIdentity,
    master_key: MasterKey,
    new: NewRequest,
    now: datetime | None = None,
) -> PresentationRequest:
    """Store a new pending request (the DCQL query checked first)."""
    dcql_query = check_dcql_query(new.dcql_query).dump()
    now = now or utcnow()
    prefix = new.client_id_prefix or settings.default_client_id_prefix
    mode = new.response_mode or settings.default_response_mode
    if new.request_uri_method not in ("get", "post"):
        raise InvalidRequest("request_uri_method is get or post")
    if prefix == "redirect_uri" and new.request_uri_method != "get":
        raise InvalidRequest("a redirect_uri: request travels by value; it has no request_uri")
    # 128 random bits in hex: unguessable, and never starting with "-", so it can be given to
    # `eduwallet verifier result ID` as it is (a base64url id did 1 time in 64).
    request_id = secrets.token_hex(16)
    encryption_key = None
    if mode == "direct_post.jwt":
        encryption_key = master_key.seal_private_key(generate_private_key("ES256"), _encryption_aad(request_id))
    redirect_uri = new.redirect_uri
    if new.same_device and redirect_uri is None:
        redirect_uri = f"{settings.base_url}/presentation-requests/{request_id}"
    webhook_secret = None
    if new.webhook_url:
        webhook_secret = master_key.seal((new.webhook_secret or "").encode(), _webhook_aad(request_id))
    request = PresentationRequest(
        id=request_id,
        dcql_query=dcql_query,
        nonce=_secret(),
        state=_secret(),
        client_id_prefix=prefix,
        client_id=_client_id(prefix, identity, settings),
        response_mode=mode,
        encryption_key=encryption_key,
        trusted_issuers=new.trusted_issuers,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.request_ttl_seconds),
        status=RequestStatus.PENDING,
        webhook_url=new.webhook_url,
        webhook_secret=webhook_secret,
        redirect_uri=redirect_uri,
        request_uri_method=new.request_uri_method,
        api_key_id=new.api_key_id,
    )
    session.add(request)
    session.commit()
    return request


def _encryption_aad(request_id: str) -> str:
    return f"verifier-response-key:{request_id}"


def _webhook_aad(request_id: str) -> str:
    return f"verifier-webhook-secret:{request_id}"


def webhook_secret(master_key: MasterKey, request: PresentationRequest) -> bytes:
    assert request.webhook_secret is not None
    return master_key.open(request.webhook_secret, _webhook_aad(request.id))


def encryption_private_jwk(master_key: MasterKey, request: PresentationRequest | RequestToAnswer) -> dict[str, Any]:
    """The private JWK of the request's ephemeral response-encryption key."""
    if request.encryption_key is None:
        raise InvalidRequest("this request does not use an encrypted response")
    key = master_key.open_private_key(request.encryption_key, _encryption_aad(request.id))
    return {**private_jwk(key), "kid": request.id}


def client_metadata(master_key: MasterKey, request: PresentationRequest) -> dict[str, Any]:
    """`client_metadata` (§5.1, §11.1): formats we verify; for `direct_post.jwt` the ephemeral key."""
    metadata: dict[str, Any] = {"vp_formats_supported": VP_FORMATS_SUPPORTED}
    if request.response_mode == "direct_post.jwt":
        private = encryption_private_jwk(master_key, request)
        public = public_jwk(private_key_from_jwk(private))
        metadata["jwks"] = {"keys": [{**public, "kid": request.id, "use": "enc", "alg": ENCRYPTION_ALG}]}
        metadata["encrypted_response_enc_values_supported"] = ENCRYPTED_RESPONSE_ENC_VALUES
    return metadata


def authorization_request(settings: VerifierSettings, master_key: MasterKey,
                          request: PresentationRequest) -> AuthorizationRequest:
    """The §5.1 parameters of a request (the claims of its request object)."""
    return AuthorizationRequest.model_validate({
        "client_id": request.client_id,
        "response_type": "vp_token",
        "response_mode": request.response_mode,
        "response_uri": response_uri(settings),
        "nonce": request.nonce,
        "state": request.state,
        "dcql_query": request.dcql_query,
        "client_metadata": client_metadata(master_key, request),
    })


def request_object(
    *,
    settings: VerifierSettings,
    identity: SigningIdentity,
    master_key: MasterKey,
    request: PresentationRequest,
    wallet_nonce: str | None = None,
    now: datetime | None = None,
) -> str:
    """The signed request object (JAR, RFC 9101) of a request; `wallet_nonce` from a POST request_uri."""
    if request.client_id_prefix == "redirect_uri":
        raise InvalidRequest("a redirect_uri: request is never signed; it travels by value")
    now = now or utcnow()
    claims = authorization_request(settings, master_key, request).dump()
    claims.update(aud=SELF_ISSUED_AUDIENCE, iat=int(now.timestamp()), exp=int(as_utc(request.expires_at).timestamp()))
    if wallet_nonce is not None:
        claims["wallet_nonce"] = wallet_nonce
    if request.client_id_prefix == "decentralized_identifier":
        signer = identity.signer.with_kid(identity.kid)
        return sign_jws(claims, signer, typ=REQUEST_OBJECT_TYP)
    signer = identity.signer.with_kid(None)
    return sign_jws(claims, signer, typ=REQUEST_OBJECT_TYP, header={"x5c": encode_x5c(identity.chain)})


def authorization_request_uri(*, settings: VerifierSettings, master_key: MasterKey,
                              request: PresentationRequest) -> str:
    """`openid4vp://?client_id=...&request_uri=...` (by reference), or every parameter by value for
    an unsigned `redirect_uri:` request."""
    if request.client_id_prefix == "redirect_uri":
        return create_authorization_request_uri(authorization_request(settings, master_key, request))
    return create_authorization_request_uri(
        client_id=request.client_id, request_uri=request_object_uri(settings, request.id),
        request_uri_method="post" if request.request_uri_method == "post" else None)


@dataclass(frozen=True, slots=True)
class RequestToAnswer:
    """What answering a request needs of it, as one SELECT reads it (`find_request_to_answer`)."""

    id: str
    dcql_query: dict[str, Any]
    nonce: str
    state: str
    client_id: str
    response_mode: str
    encryption_key: str | None
    trusted_issuers: list[str] | None
    expires_at: datetime
    answered_at: datetime | None
    redirect_uri: str | None
    webhook_url: str | None


_TABLE = PresentationRequest.__table__  # type: ignore[attr-defined]
#: Built once and run as Core statements: reading and answering requests is the verifier's hot path.
_TO_ANSWER = select(*(_TABLE.c[column.name] for column in fields(RequestToAnswer)))
_BY_ID = _TO_ANSWER.where(_TABLE.c.id == bindparam("key"))
_BY_STATE = _TO_ANSWER.where(_TABLE.c.state == bindparam("key"))


def find_request_to_answer(connection: Connection, *, request_id: str | None = None,
                           state: str | None = None) -> RequestToAnswer | None:
    """The request with this id or `state` (None when there is none)."""
    key = request_id if state is None else state
    if not isinstance(key, str) or len(key) > 128:
        return None
    row = connection.execute(_BY_ID if state is None else _BY_STATE, {"key": key}).first()
    return None if row is None else RequestToAnswer(*row)


def get_presentation_request(session: Session, request_id: str) -> PresentationRequest:
    request = session.get(PresentationRequest, request_id) if len(request_id) <= 64 else None
    if request is None:
        raise NotFound("no such presentation request")
    return request


def get_request_of_key(session: Session, request_id: str, api_key_id: str) -> PresentationRequest:
    """A request made with the API key `api_key_id`; another key's request (or a page's) is 404, as if it did
    not exist, so a key learns nothing of the others' requests."""
    request = get_presentation_request(session, request_id)
    if request.api_key_id is None or request.api_key_id != api_key_id:
        raise NotFound("no such presentation request")
    return request


def list_requests_of_key(session: Session, api_key_id: str, *, limit: int) -> list[PresentationRequest]:
    """The newest `limit` requests made with the API key `api_key_id`."""
    query = (select(PresentationRequest).where(col(PresentationRequest.api_key_id) == api_key_id)
             .order_by(col(PresentationRequest.created_at).desc(), col(PresentationRequest.id)).limit(limit))
    return list(session.scalars(query).all())


_ANSWER = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("request_id"))
    .where(_TABLE.c.answered_at.is_(None))
    .where(_TABLE.c.expires_at > bindparam("answered_at"))
    .values(answered_at=bindparam("answered_at"), status=bindparam("status"), result=bindparam("result"),
            response_code=bindparam("response_code"))
)


def answer_presentation_request(connection: Connection, request_id: str, *, result: dict[str, Any],
                                response_code: str | None = None, now: datetime | None = None) -> bool:
    """Answer the request once: one conditional UPDATE sets `answered_at` and stores the verdict.

    True for the one caller that won; False for every other (already answered, or expired at
    `now`), and then nothing is written. The caller commits.
    """
    parameters = {"request_id": request_id, "answered_at": now or utcnow(), "status": result["verdict"],
                  "result": result, "response_code": response_code}
    return bool(connection.execute(_ANSWER, parameters).rowcount == 1)

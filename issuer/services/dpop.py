"""DPoP at the issuer (RFC 9449): access tokens bound to the wallet's key.

https://www.rfc-editor.org/rfc/rfc9449

A token request with a `DPoP` header gets an access token bound to that proof's key (its JWK
thumbprint, `jkt`, is stored with the token) and `token_type: DPoP` (§5). The credential and
notification endpoints then accept that token only under the `DPoP` scheme, with a proof by the
same key naming the endpoint and the token (`ath`) (§7); a bound token sent as `Bearer` is refused.
Without a proof the token is a Bearer token as before, unless `dpop_required` (HAIP) is set.
Every proof is accepted once: its `jti` is remembered while its `iat` is inside the window (§11.1).
With `dpop_nonce_required`, proofs must also carry a nonce this issuer gave out (§8, §9): sent in
the `DPoP-Nonce` header of the nonce, token and credential responses and of the `use_dpop_nonce`
error. The nonces need no storage: each is the minute it was made plus an HMAC of it under a
secret every worker shares, and is accepted for `dpop_proof_max_age_seconds`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col

from issuer.models import DpopProof
from issuer.settings import IssuerSettings
from schemas.oauth2 import DpopProofRefused, InvalidDpopProof, InvalidToken, ResourceUseDpopNonce, UseDpopNonce
from servicekit.database import dialect_insert
from vc.dpop import DPOP_SIGNING_ALGORITHMS, DpopProofInvalid, VerifiedDpopProof, verify_dpop_proof
from vc.encoding import b64url_encode

__all__ = ["DpopNonces", "DpopRequest", "PresentedToken", "remember_proof", "token_binding", "verify_token_binding"]

#: One remembered proof in this many also deletes the proofs that are too old to be accepted anyway.
PURGE_EVERY = 256
#: A nonce names the minute it was made.
NONCE_STEP_SECONDS = 60


@dataclass(frozen=True)
class DpopNonces:
    """Server-provided DPoP nonces (§8): `<minute>.<HMAC-SHA256 of it, 16 bytes, base64url>`."""

    secret: bytes

    def _mac(self, minute: int) -> str:
        return b64url_encode(hmac.digest(self.secret, f"dpop-nonce:{minute}".encode(), "sha256")[:16])

    def current(self, now: int) -> str:
        minute = now // NONCE_STEP_SECONDS
        return f"{minute}.{self._mac(minute)}"

    def valid(self, nonce: str | None, *, now: int, lifetime_seconds: int) -> bool:
        """Made by us, and no older than `lifetime_seconds` (nor from the future)."""
        minute, _, mac = (nonce or "").partition(".")
        if not (minute.isascii() and minute.isdigit()) or len(minute) > 12:
            return False
        made = int(minute) * NONCE_STEP_SECONDS
        return now - lifetime_seconds - NONCE_STEP_SECONDS <= made <= now and hmac.compare_digest(
            mac.encode(), self._mac(int(minute)).encode())

    def response_header(self, settings: IssuerSettings, now: int) -> dict[str, str]:
        """`DPoP-Nonce` for a response, when this issuer requires nonces."""
        return {"DPoP-Nonce": self.current(now)} if settings.dpop_nonce_required else {}


@dataclass(frozen=True)
class DpopRequest:
    """The DPoP side of one request: its `DPoP` header values, the method and URL (our public URL of the
    endpoint) its proofs must name, and the nonces this issuer hands out."""

    proofs: tuple[str, ...]
    htm: str
    htu: str
    nonces: DpopNonces


@dataclass(frozen=True)
class PresentedToken:
    """An access token as a request presented it: the `Authorization` scheme (lower case, None without
    one), the token, and the request's DPoP side."""

    scheme: str | None
    token: str | None
    dpop: DpopRequest


def _verify(dpop: DpopRequest, *, settings: IssuerSettings, now: int, access_token: str | None) -> VerifiedDpopProof:
    if len(dpop.proofs) != 1:
        raise DpopProofInvalid("send exactly one DPoP header" if dpop.proofs else "a DPoP proof is required")
    return verify_dpop_proof(dpop.proofs[0], htm=dpop.htm, htu=dpop.htu, now=now, access_token=access_token,
                             max_age_seconds=settings.dpop_proof_max_age_seconds,
                             clock_skew_seconds=settings.clock_skew_seconds)


def _nonce_missing(dpop: DpopRequest, proof: VerifiedDpopProof, settings: IssuerSettings, now: int) -> str | None:
    """Why the proof's nonce is not acceptable, or None when it is (or nonces are not required)."""
    if not settings.dpop_nonce_required:
        return None
    if dpop.nonces.valid(proof.nonce, now=now, lifetime_seconds=settings.dpop_proof_max_age_seconds):
        return None
    return ("make the DPoP proof again with the nonce in the DPoP-Nonce header" if proof.nonce is None
            else "the DPoP proof's nonce is not one of ours or has expired: use the one in the DPoP-Nonce header")


def _remember(session: Session, proof: VerifiedDpopProof, settings: IssuerSettings, now: int) -> None:
    """Record the proof in the caller's transaction; a proof seen before is refused."""
    table = DpopProof.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session)
    proof_hash = hashlib.sha256(f"{proof.jkt}\x00{proof.jti}".encode()).hexdigest()
    expires_at = proof.iat + settings.dpop_proof_max_age_seconds + 2 * settings.clock_skew_seconds
    # RETURNING, not rowcount: SQLAlchemy promises a rowcount for UPDATE and DELETE only (INSERT gives -1 on psycopg).
    inserted = session.connection().execute(
        insert(table).on_conflict_do_nothing(index_elements=[table.c.proof_hash]).returning(table.c.proof_hash),
        {"proof_hash": proof_hash, "expires_at": expires_at}).first()
    if inserted is None:
        raise DpopProofInvalid("this DPoP proof was used before: make a fresh one for every request")
    if secrets.randbelow(PURGE_EVERY) == 0:
        session.execute(delete(DpopProof).where(col(DpopProof.expires_at) <= now))


def token_binding(*, session: Session, settings: IssuerSettings, dpop: DpopRequest | None, now: int) -> str | None:
    """Token endpoint (§5): the `jkt` to bind the new access token to, or None for a Bearer token.
    Records the proof in the caller's transaction (commit it with the token)."""
    if dpop is None or not dpop.proofs:
        if settings.dpop_required:
            raise InvalidDpopProof("this issuer requires DPoP: send a DPoP proof with the token request")
        return None
    try:
        proof = _verify(dpop, settings=settings, now=now, access_token=None)
        missing = _nonce_missing(dpop, proof, settings, now)
        if missing:
            raise UseDpopNonce(missing, nonce=dpop.nonces.current(now))
        _remember(session, proof, settings, now)
    except DpopProofInvalid as exc:
        raise InvalidDpopProof(str(exc)) from exc
    return proof.jkt


def verify_token_binding(*, settings: IssuerSettings, presented: PresentedToken, dpop_jkt: str | None,
                         now: int) -> VerifiedDpopProof | None:
    """Credential and notification endpoints (§7): the scheme and proof the token's binding needs; returns the
    proof (None for a Bearer token), which `remember_proof` must then record. No database work."""
    if dpop_jkt is None:
        if presented.scheme != "bearer":
            raise InvalidToken("this access token is a Bearer token: send it with the Bearer scheme")
        return None
    if presented.scheme != "dpop":
        raise InvalidToken("this access token is bound to a DPoP key: send it with the DPoP scheme and a proof",
                           dpop_algorithms=DPOP_SIGNING_ALGORITHMS)
    try:
        proof = _verify(presented.dpop, settings=settings, now=now, access_token=presented.token)
        if proof.jkt != dpop_jkt:
            raise DpopProofInvalid("the DPoP proof is signed by another key than the one the token is bound to")
    except DpopProofInvalid as exc:
        raise DpopProofRefused(str(exc), dpop_algorithms=DPOP_SIGNING_ALGORITHMS) from exc
    missing = _nonce_missing(presented.dpop, proof, settings, now)
    if missing:
        raise ResourceUseDpopNonce(missing, nonce=presented.dpop.nonces.current(now),
                                   dpop_algorithms=DPOP_SIGNING_ALGORITHMS)
    return proof


def remember_proof(session: Session, proof: VerifiedDpopProof | None, settings: IssuerSettings, now: int) -> None:
    """Record a resource request's proof in the caller's transaction (the one that does the request's work, so
    no extra commit); a proof seen before is refused (401)."""
    if proof is None:
        return
    try:
        _remember(session, proof, settings, now)
    except DpopProofInvalid as exc:
        raise DpopProofRefused(str(exc), dpop_algorithms=DPOP_SIGNING_ALGORITHMS) from exc

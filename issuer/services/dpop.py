"""DPoP at the issuer (RFC 9449): access tokens bound to the wallet's key.

https://www.rfc-editor.org/rfc/rfc9449

A token request with a `DPoP` header gets an access token bound to that proof's key (its JWK
thumbprint, `jkt`, is stored with the token) and `token_type: DPoP` (§5). The credential and
notification endpoints then accept that token only under the `DPoP` scheme, with a proof by the
same key naming the endpoint and the token (`ath`) (§7); a bound token sent as `Bearer` is refused.
Without a proof the token is a Bearer token as before, unless `dpop_required` (HAIP) is set.
Every proof is accepted once: its `jti` is remembered while its `iat` is inside the window (§11.1).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from issuer.models import DpopProof
from issuer.settings import IssuerSettings
from schemas.oauth2 import DpopProofRefused, InvalidDpopProof, InvalidToken
from vc.dpop import DPOP_SIGNING_ALGORITHMS, DpopProofInvalid, VerifiedDpopProof, verify_dpop_proof

__all__ = ["PresentedToken", "check_token_binding", "token_binding"]

#: One remembered proof in this many also deletes the proofs that are too old to be accepted anyway.
PURGE_EVERY = 256


@dataclass(frozen=True)
class PresentedToken:
    """An access token as a request presented it: the `Authorization` scheme (lower case, None without
    one), the token, the `DPoP` header values, and the method and URL the proofs must name."""

    scheme: str | None
    token: str | None
    dpop_proofs: tuple[str, ...]
    htm: str
    htu: str


def _verify(proofs: tuple[str, ...], *, htm: str, htu: str, settings: IssuerSettings, now: int,
            access_token: str | None) -> VerifiedDpopProof:
    if len(proofs) != 1:
        raise DpopProofInvalid("send exactly one DPoP header" if proofs else "a DPoP proof is required")
    return verify_dpop_proof(proofs[0], htm=htm, htu=htu, now=now, access_token=access_token,
                             max_age_seconds=settings.dpop_proof_max_age_seconds,
                             clock_skew_seconds=settings.clock_skew_seconds)


def _remember(session: Session, proof: VerifiedDpopProof, settings: IssuerSettings, now: int) -> None:
    """Record the proof in the caller's transaction; a proof seen before is refused."""
    table = DpopProof.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
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


def token_binding(*, session: Session, settings: IssuerSettings, dpop_proofs: tuple[str, ...], htu: str,
                  now: int) -> str | None:
    """Token endpoint (§5): the `jkt` to bind the new access token to, or None for a Bearer token.
    Records the proof in the caller's transaction (commit it with the token)."""
    if not dpop_proofs and not settings.dpop_required:
        return None
    try:
        proof = _verify(dpop_proofs, htm="POST", htu=htu, settings=settings, now=now, access_token=None)
        _remember(session, proof, settings, now)
    except DpopProofInvalid as exc:
        raise InvalidDpopProof(str(exc)) from exc
    return proof.jkt


def check_token_binding(*, session: Session, settings: IssuerSettings, presented: PresentedToken,
                        dpop_jkt: str | None, now: int) -> None:
    """Credential and notification endpoints (§7): the scheme and proof the token's binding needs."""
    if dpop_jkt is None:
        if presented.scheme != "bearer":
            raise InvalidToken("this access token is a Bearer token: send it with the Bearer scheme")
        return
    if presented.scheme != "dpop":
        raise InvalidToken("this access token is bound to a DPoP key: send it with the DPoP scheme and a proof",
                           dpop_algorithms=DPOP_SIGNING_ALGORITHMS)
    try:
        proof = _verify(presented.dpop_proofs, htm=presented.htm, htu=presented.htu, settings=settings, now=now,
                        access_token=presented.token)
        if proof.jkt != dpop_jkt:
            raise DpopProofInvalid("the DPoP proof is signed by another key than the one the token is bound to")
        _remember(session, proof, settings, now)
        session.commit()
    except DpopProofInvalid as exc:
        session.rollback()
        raise DpopProofRefused(str(exc), dpop_algorithms=DPOP_SIGNING_ALGORITHMS) from exc

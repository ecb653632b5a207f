"""The Credential Endpoint and the Notification Endpoint (OpenID4VCI 1.0 §8, §11).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-endpoint

Order of checks: the access token (RFC 6750, `invalid_token` 401), the request
(`invalid_credential_request`), the configuration (`unknown_credential_configuration` /
`unknown_credential_identifier`), every key proof (`invalid_proof`), then the `c_nonce`, consumed
atomically (`invalid_nonce`). Batch issuance: one credential per proof, each with its own random
status index, so the copies cannot be linked through their status entries.

Three short steps, so no transaction is open while a proof is checked or a credential signed
(on SQLite a transaction holds the database's write lock): one read of everything the request
needs; one write that consumes the nonce and logs the credentials with their status entries;
then the signing, outside any transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from issuer.formats import FORMATS, IssuanceContext
from issuer.models import AccessToken, Award, BadgeClass, Institution, IssuedCredential, Issuer, SigningKey
from issuer.services.common import new_secret, secret_hash, unix_now
from issuer.services.dpop import PresentedToken, remember_proof, verify_token_binding
from issuer.services.keys import KeyStore
from issuer.services.nonces import consume_c_nonce
from issuer.services.proofs import VerifiedProof, verify_proof_jwt
from issuer.services.status import StatusEntry, claim_status_entries
from issuer.settings import IssuerSettings
from schemas.oauth2 import InvalidToken
from schemas.oid4vci import (
    CredentialRequest,
    CredentialRequestDenied,
    CredentialResponse,
    InvalidCredentialRequest,
    InvalidEncryptionParameters,
    InvalidNotificationId,
    InvalidNotificationRequest,
    InvalidProof,
    NotificationRequest,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
    parse_model,
)
from schemas.oid4vci import (
    IssuedCredential as CredentialObject,
)
from vc.dpop import VerifiedDpopProof
from vc.keys import SoftwareSigner

__all__ = ["authorize_access_token", "handle_notification", "issue_credential", "issue_credentials"]

#: Tries of the write step when a concurrent request claimed the same status index (PostgreSQL).
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Grant:
    """What an access token allows: credentials of one award, of these configurations."""

    award_id: int
    credential_configuration_ids: list[str]
    #: The thumbprint of the DPoP key the token is bound to (None: a Bearer token).
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class Issuance:
    """What signing credentials of one award needs, read in one step."""

    award: Award
    badge: BadgeClass
    institution: Institution
    issuer: Issuer
    signer: SoftwareSigner


_LIVE_TOKEN = (col(AccessToken.token_hash) == bindparam("token_hash")) & (col(AccessToken.expires_at) > bindparam("now"))
_ACCESS_TOKEN = select(AccessToken).where(_LIVE_TOKEN)
#: The read step of every credential request, built once.
_ISSUANCE = (select(AccessToken, Award, BadgeClass, Institution, Issuer, SigningKey)
             .join(Award, col(Award.id) == AccessToken.award_id)
             .join(BadgeClass, col(BadgeClass.id) == Award.badge_class_id)
             .join(Institution, col(Institution.id) == Award.institution_id)
             .join(Issuer, col(Issuer.id) == BadgeClass.issuer_id)
             .outerjoin(SigningKey, (col(SigningKey.institution_id) == Award.institution_id) & col(SigningKey.active))
             .options(defer(BadgeClass.image))  # type: ignore[arg-type]
             .where(_LIVE_TOKEN).order_by(col(SigningKey.id).desc()).limit(1))


def _token_parameters(token: str | None, now: int) -> dict[str, Any]:
    if not token:
        raise InvalidToken("an access token is required")
    return {"token_hash": secret_hash(token), "now": now}


def authorize_access_token(*, session: Session, settings: IssuerSettings, presented: PresentedToken,
                           now: int | None = None) -> Grant:
    """The grant of a live access token, presented as its binding requires (Bearer, or DPoP with a proof)."""
    now = unix_now(now)
    row = session.exec(_ACCESS_TOKEN, params=_token_parameters(presented.token, now)).first()
    if row is None:
        raise InvalidToken("the access token is unknown or has expired")
    proof = verify_token_binding(settings=settings, presented=presented, dpop_jkt=row.dpop_jkt, now=now)
    remember_proof(session, proof, settings, now)  # committed with the caller's work
    return Grant(row.award_id, list(row.credential_configuration_ids), row.dpop_jkt)


def _read(session: Session, keys: KeyStore, token: str | None, now: int) -> tuple[Grant, Issuance]:
    """The read step: the access token and everything its award's credentials need, in one query (a key
    is made on its institution's first credential). The rows come back detached, the transaction ended."""
    parameters = _token_parameters(token, now)
    try:
        row = session.exec(_ISSUANCE, params=parameters).first()
        if row is None:
            raise InvalidToken("the access token is unknown or has expired")
        access_token, award, badge, institution, faculty, key = row
        assert institution.id is not None
        signer = keys.signer_for(key) if key is not None else keys.active_signer(
            session=session, institution_id=institution.id, now=now)
    except BaseException:
        session.rollback()
        raise
    session.commit()
    for loaded in (access_token, award, badge, institution, faculty, key):
        if loaded is not None:
            session.expunge(loaded)  # plain values from here on: never refreshed behind our back
    grant = Grant(access_token.award_id, list(access_token.credential_configuration_ids), access_token.dpop_jkt)
    return grant, Issuance(award, badge, institution, faculty, signer)


def _configuration_id(request: CredentialRequest, grant: Grant) -> str:
    if request.credential_identifier is not None:
        if request.credential_identifier not in grant.credential_configuration_ids:
            raise UnknownCredentialIdentifier("unknown credential_identifier")
        return request.credential_identifier
    configuration_id = request.credential_configuration_id
    assert configuration_id is not None
    if configuration_id not in FORMATS:
        raise UnknownCredentialConfiguration("unknown credential_configuration_id")
    if configuration_id not in grant.credential_configuration_ids:
        raise CredentialRequestDenied("this access token was not issued for that credential configuration")
    return configuration_id


def _verify_proofs(request: CredentialRequest, settings: IssuerSettings, now: int) -> list[VerifiedProof]:
    if request.proof_type is None:
        raise InvalidProof("proofs are required: every credential is bound to a holder key")
    if request.proof_type != "jwt":
        raise InvalidProof(f"proof type {request.proof_type} is not supported, use jwt")
    values = request.proof_values
    if len(values) > settings.batch_size:
        raise InvalidCredentialRequest(f"at most {settings.batch_size} proofs per request (batch_size)")
    proofs = [verify_proof_jwt(str(value), credential_issuer=settings.base_url, now=now,
                               max_age_seconds=settings.proof_max_age_seconds,
                               clock_skew_seconds=settings.clock_skew_seconds) for value in values]
    if len({p.thumbprint for p in proofs}) != len(proofs):
        raise InvalidProof("each proof must be signed by a different key (one credential per key)")
    return proofs


def _record(session: Session, settings: IssuerSettings, issuance: Issuance, configuration_id: str,
            holders: Sequence[VerifiedProof | None], *, nonces: Sequence[str] = (), notification_id: str | None,
            now: int, dpop_proof: VerifiedDpopProof | None = None) -> list[tuple[str, StatusEntry]]:
    """The write step: record the request's DPoP proof, use up `nonces`, log one credential per holder with a
    fresh status entry; commit. Returns (credential id, status entry) per holder."""
    award = issuance.award
    assert award.id is not None and issuance.institution.id is not None and issuance.signer.kid is not None
    for _attempt in range(CLAIM_ATTEMPTS):
        ids = [f"urn:uuid:{uuid.uuid4()}" for _ in holders]
        rows = [{"award_id": award.id, "credential_configuration_id": configuration_id, "credential_id": id_,
                 "signing_kid": issuance.signer.kid, "holder_key_thumbprint": holder.thumbprint if holder else None,
                 "notification_id": notification_id, "issued_at": now} for id_, holder in zip(ids, holders, strict=True)]
        try:
            remember_proof(session, dpop_proof, settings, now)
            for nonce in nonces:
                consume_c_nonce(session=session, c_nonce=nonce, now=now)
            entries = claim_status_entries(session=session, institution_id=issuance.institution.id,
                                           kind=FORMATS[configuration_id].status_kind,  # type: ignore[arg-type]
                                           size=settings.status_list_size, credentials=rows, now=now)
            session.commit()
            return list(zip(ids, entries, strict=True))
        except IntegrityError:  # a concurrent request claimed one of the indices first: pick again
            session.rollback()
        except BaseException:
            session.rollback()  # never keep the transaction (SQLite: the write lock) while the error travels
            raise
    raise CredentialRequestDenied("the issuer is too busy to allocate a status entry, try again")


def _sign(settings: IssuerSettings, issuance: Issuance, configuration_id: str, holder: VerifiedProof | None,
          credential_id: str, status: StatusEntry, now: int) -> str:
    valid_until = now + settings.credential_validity_days * 86400 if settings.credential_validity_days else None
    context = IssuanceContext(base_url=settings.base_url, award=issuance.award, badge=issuance.badge,
                              institution=issuance.institution, issuer=issuance.issuer, holder=holder, status=status,
                              signer=issuance.signer, credential_id=credential_id, now=now, valid_until=valid_until)
    return FORMATS[configuration_id].issue(context)


def issue_credentials(*, session: Session, keys: KeyStore, settings: IssuerSettings, presented: PresentedToken,
                      body: bytes, now: int | None = None) -> dict[str, Any]:
    """§8: the Credential Response for one Credential Request."""
    now = unix_now(now)
    grant, issuance = _read(session, keys, presented.token, now)
    dpop_proof = verify_token_binding(settings=settings, presented=presented, dpop_jkt=grant.dpop_jkt, now=now)
    request = parse_model(CredentialRequest, body, error=InvalidCredentialRequest)
    if request.credential_response_encryption is not None:
        raise InvalidEncryptionParameters("this issuer does not encrypt credential responses")
    configuration_id = _configuration_id(request, grant)
    proofs = _verify_proofs(request, settings, now)
    if issuance.award.status != "valid":
        raise CredentialRequestDenied("the award behind this access token is no longer valid")
    notification_id = new_secret(16)
    logged = _record(session, settings, issuance, configuration_id, proofs,
                     nonces=list(dict.fromkeys(p.nonce for p in proofs)), notification_id=notification_id, now=now,
                     dpop_proof=dpop_proof)
    credentials = [CredentialObject(credential=_sign(settings, issuance, configuration_id, proof, credential_id,
                                                     status, now))
                   for proof, (credential_id, status) in zip(proofs, logged, strict=True)]
    return CredentialResponse(credentials=credentials, notification_id=notification_id).dump()


def issue_credential(*, session: Session, keys: KeyStore, settings: IssuerSettings, award: Award,
                     configuration_id: str, holder: VerifiedProof | None, now: int | None = None) -> str:
    """Sign one credential of `award` in `configuration_id` (a baked badge's), with a fresh status index,
    and log it (committed)."""
    now = unix_now(now)
    badge, institution, faculty = session.exec(
        select(BadgeClass, Institution, Issuer).join(Institution, col(Institution.id) == BadgeClass.institution_id)
        .join(Issuer, col(Issuer.id) == BadgeClass.issuer_id).where(BadgeClass.id == award.badge_class_id)).one()
    assert institution.id is not None
    issuance = Issuance(award, badge, institution, faculty,
                        keys.active_signer(session=session, institution_id=institution.id, now=now))
    [(credential_id, status)] = _record(session, settings, issuance, configuration_id, [holder],
                                        notification_id=None, now=now)
    return _sign(settings, issuance, configuration_id, holder, credential_id, status, now)


def handle_notification(*, session: Session, settings: IssuerSettings, presented: PresentedToken, body: bytes,
                        now: int | None = None) -> None:
    """§11: record what the wallet did with the credentials of one response; idempotent."""
    grant = authorize_access_token(session=session, settings=settings, presented=presented, now=now)
    request = parse_model(NotificationRequest, body, error=InvalidNotificationRequest)
    result = session.execute(update(IssuedCredential).where(
        col(IssuedCredential.notification_id) == request.notification_id,
        col(IssuedCredential.award_id) == grant.award_id).values(notification_event=request.event))
    session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InvalidNotificationId("unknown notification_id")

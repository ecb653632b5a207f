"""The Credential Endpoint and the Notification Endpoint (OpenID4VCI 1.0 §8, §11).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-endpoint

Order of checks: the access token (RFC 6750, `invalid_token` 401), the request
(`invalid_credential_request`), the configuration (`unknown_credential_configuration` /
`unknown_credential_identifier`), every key proof (`invalid_proof`), then the `c_nonce`, consumed
atomically (`invalid_nonce`). Batch issuance: one credential per proof, each with its own random
status index, so the copies cannot be linked through their status entries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from issuer.formats import FORMATS, IssuanceContext
from issuer.models import AccessToken, Award, BadgeClass, Institution, IssuedCredential, Issuer
from issuer.services.common import new_secret, secret_hash, unix_now
from issuer.services.keys import KeyStore
from issuer.services.nonces import consume_c_nonce
from issuer.services.proofs import VerifiedProof, verify_proof_jwt
from issuer.services.status import allocate_status_entry
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

__all__ = ["authorize_access_token", "handle_notification", "issue_credential", "issue_credentials"]


@dataclass(frozen=True)
class Grant:
    """What an access token allows: credentials of one award, of these configurations."""

    award_id: int
    credential_configuration_ids: list[str]


def authorize_access_token(*, session: Session, token: str | None, now: int | None = None) -> Grant:
    if not token:
        raise InvalidToken("an access token is required")
    row = session.exec(select(AccessToken).where(AccessToken.token_hash == secret_hash(token))).first()
    if row is None or row.expires_at <= unix_now(now):
        raise InvalidToken("the access token is unknown or has expired")
    return Grant(row.award_id, list(row.credential_configuration_ids))


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


def issue_credentials(*, session: Session, keys: KeyStore, settings: IssuerSettings, token: str | None,
                      body: bytes, now: int | None = None) -> dict[str, Any]:
    """§8: the Credential Response for one Credential Request."""
    now = unix_now(now)
    grant = authorize_access_token(session=session, token=token, now=now)
    request = parse_model(CredentialRequest, body, error=InvalidCredentialRequest)
    if request.credential_response_encryption is not None:
        raise InvalidEncryptionParameters("this issuer does not encrypt credential responses")
    configuration_id = _configuration_id(request, grant)
    proofs = _verify_proofs(request, settings, now)
    for nonce in dict.fromkeys(p.nonce for p in proofs):
        consume_c_nonce(session=session, c_nonce=nonce, now=now)
    award = session.get(Award, grant.award_id)
    if award is None or award.status != "valid":
        raise CredentialRequestDenied("the award behind this access token is no longer valid")
    notification_id = new_secret(16)
    credentials = [CredentialObject(credential=issue_credential(
        session=session, keys=keys, settings=settings, award=award, configuration_id=configuration_id, holder=proof,
        notification_id=notification_id, now=now)) for proof in proofs]
    session.commit()
    return CredentialResponse(credentials=credentials, notification_id=notification_id).dump()


def issue_credential(*, session: Session, keys: KeyStore, settings: IssuerSettings, award: Award,
                     configuration_id: str, holder: VerifiedProof | None, notification_id: str | None = None,
                     now: int | None = None) -> str:
    """Sign one credential of `award` in `configuration_id`, with a fresh status index, and log it.
    The caller commits."""
    now = unix_now(now)
    credential_format = FORMATS[configuration_id]
    badge = session.get(BadgeClass, award.badge_class_id)
    institution = session.get(Institution, award.institution_id)
    faculty = session.get(Issuer, badge.issuer_id) if badge else None
    assert badge is not None and institution is not None and faculty is not None and institution.id is not None
    assert award.id is not None
    signer = keys.active_signer(session=session, institution_id=institution.id, now=now)
    assert signer.kid is not None
    valid_until = now + settings.credential_validity_days * 86400 if settings.credential_validity_days else None
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    row = IssuedCredential(award_id=award.id, credential_configuration_id=configuration_id, credential_id=credential_id,
                           status_list_id=0, status_index=0, signing_kid=signer.kid,
                           holder_key_thumbprint=holder.thumbprint if holder else None,
                           notification_id=notification_id, issued_at=now)
    status = allocate_status_entry(session=session, institution_id=institution.id,
                                   kind=credential_format.status_kind,  # type: ignore[arg-type]
                                   size=settings.status_list_size, credential=row, now=now)
    context = IssuanceContext(base_url=settings.base_url, award=award, badge=badge, institution=institution,
                              issuer=faculty, holder=holder, status=status, signer=signer,
                              credential_id=credential_id, now=now, valid_until=valid_until)
    return credential_format.issue(context)


def handle_notification(*, session: Session, token: str | None, body: bytes, now: int | None = None) -> None:
    """§11: record what the wallet did with the credentials of one response; idempotent."""
    grant = authorize_access_token(session=session, token=token, now=now)
    request = parse_model(NotificationRequest, body, error=InvalidNotificationRequest)
    result = session.execute(update(IssuedCredential).where(
        col(IssuedCredential.notification_id) == request.notification_id,
        col(IssuedCredential.award_id) == grant.award_id).values(notification_event=request.event))
    session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InvalidNotificationId("unknown notification_id")

"""Credential offers and the pre-authorized code grant (OpenID4VCI 1.0 §4, §6).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html

The offer travels by reference: `openid-credential-offer://?credential_offer_uri=<url>`
where the URL carries a random secret (the *reference*). The pre-authorized code
is derived from it (SHA-256), so the database keeps only hashes of both and still
serves the offer to whoever holds the reference. The code is used once: one
conditional UPDATE (`... WHERE used_at IS NULL`) decides which request wins.
A `tx_code` (PIN) is checked with an attempt counter that is taken *before* the
PIN is compared, so parallel guesses cannot exceed the limit; after the last
allowed wrong try the offer answers `invalid_grant` (1.0 errata). What every wallet's offer fetch
and token request run is built once and run as SQLAlchemy Core.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, insert, update
from sqlmodel import Session, col, select

from issuer.models import AccessToken, Award, CredentialOffer
from issuer.services.common import new_secret, secret_hash, unix_now
from issuer.services.dpop import DpopRequest, token_binding
from issuer.settings import IssuerSettings
from schemas.oauth2 import InvalidGrant, InvalidRequest, NotFound, UnsupportedGrantType
from schemas.oid4vci import (
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    AuthorizationDetail,
    Grants,
    PreAuthorizedCodeGrant,
    TokenRequest,
    TokenResponse,
    TxCode,
    create_credential_offer_uri,
    parse_model,
)
from schemas.oid4vci import (
    CredentialOffer as CredentialOfferObject,
)

__all__ = [
    "CreatedOffer",
    "create_offer",
    "create_offers",
    "credential_offer",
    "offer_links",
    "redeem_pre_authorized_code",
]


@dataclass(frozen=True)
class CreatedOffer:
    reference: str
    credential_offer_uri: str
    offer_uri: str
    qr_png_url: str
    qr_svg_url: str
    tx_code: str | None
    expires_at: int


def _pre_authorized_code(reference: str) -> str:
    return secret_hash("pre-authorized_code:" + reference)


def _tx_code_hash(salt: str, tx_code: str) -> str:
    return secret_hash(f"{salt}:{tx_code}")


def offer_links(base_url: str, reference: str) -> tuple[str, str]:
    """(credential_offer_uri, the `openid-credential-offer://` URI for QR codes and links)."""
    credential_offer_uri = f"{base_url}/oid4vci/offers/{reference}"
    return credential_offer_uri, create_credential_offer_uri(credential_offer_uri=credential_offer_uri)


def _new_offer(award_id: int, settings: IssuerSettings, pin: bool, now: int) -> tuple[dict[str, Any], CreatedOffer]:
    """The columns of a new offer row, and what its creator shows once (the reference and the PIN)."""
    reference = new_secret()
    tx_code = "".join(secrets.choice("0123456789") for _ in range(settings.tx_code_length)) if pin else None
    salt = new_secret(12) if tx_code else None
    expires_at = now + settings.offer_ttl_seconds
    row = {"award_id": award_id, "reference_hash": secret_hash(reference),
           "pre_authorized_code_hash": secret_hash(_pre_authorized_code(reference)),
           "tx_code_hash": _tx_code_hash(salt, tx_code) if salt and tx_code else None,
           "tx_code_salt": salt, "tx_code_length": len(tx_code) if tx_code else None,
           "expires_at": expires_at, "created_at": now}
    credential_offer_uri, offer_uri = offer_links(settings.base_url, reference)
    return row, CreatedOffer(reference, credential_offer_uri, offer_uri, credential_offer_uri + "/qr.png",
                             credential_offer_uri + "/qr.svg", tx_code, expires_at)


def create_offer(*, session: Session, award: Award, settings: IssuerSettings, pin: bool,
                 now: int | None = None, replace: bool = True) -> CreatedOffer:
    """A new offer for `award`; with `replace`, earlier unredeemed offers of the award stop working.
    The caller commits."""
    assert award.id is not None
    now = unix_now(now)
    if replace:
        session.execute(update(CredentialOffer).where(col(CredentialOffer.award_id) == award.id,
                                                      col(CredentialOffer.used_at).is_(None)).values(used_at=now))
    row, created = _new_offer(award.id, settings, pin, now)
    session.add(CredentialOffer(**row))
    return created


def create_offers(*, session: Session, award_ids: list[int], settings: IssuerSettings, pin: bool,
                  now: int) -> list[CreatedOffer]:
    """The first offers of new awards, inserted in one statement (bulk awards). The caller commits."""
    made = [_new_offer(award_id, settings, pin, now) for award_id in award_ids]
    if made:
        session.execute(insert(CredentialOffer), [row for row, _ in made])
    return [created for _, created in made]


_OFFER_COLUMNS = (CredentialOffer.id, CredentialOffer.award_id, CredentialOffer.used_at, CredentialOffer.expires_at,
                  CredentialOffer.tx_code_hash, CredentialOffer.tx_code_salt, CredentialOffer.tx_code_length,
                  Award.status, Award.credential_configuration_ids)
_OFFER_BY_REFERENCE = (select(*_OFFER_COLUMNS).join(Award, col(Award.id) == CredentialOffer.award_id)
                       .where(col(CredentialOffer.reference_hash) == bindparam("reference_hash")))
_OFFER_BY_CODE = (select(*_OFFER_COLUMNS).join(Award, col(Award.id) == CredentialOffer.award_id)
                  .where(col(CredentialOffer.pre_authorized_code_hash) == bindparam("code_hash")))
_CONSUME_OFFER = (update(CredentialOffer).where(col(CredentialOffer.id) == bindparam("offer_id"),
                                                col(CredentialOffer.used_at).is_(None))
                  .values(used_at=bindparam("now")))
_INSERT_ACCESS_TOKEN = insert(AccessToken)


def _live_offer(session: Session, reference: str, now: int) -> Row[Any]:
    row = session.connection().execute(_OFFER_BY_REFERENCE, {"reference_hash": secret_hash(reference)}).first()
    if row is None or row.used_at is not None or row.expires_at <= now or row.status != "valid":
        raise NotFound("no such credential offer, or it was used or has expired")
    return row


def credential_offer(*, session: Session, reference: str, settings: IssuerSettings,
                     now: int | None = None) -> dict[str, Any]:
    """The Credential Offer object (§4.1.1) behind a `credential_offer_uri`."""
    offer = _live_offer(session, reference, unix_now(now))
    session.commit()
    tx_code = TxCode(input_mode="numeric", length=offer.tx_code_length,
                     description="The PIN you received from your institution") if offer.tx_code_hash else None
    grant = PreAuthorizedCodeGrant(pre_authorized_code=_pre_authorized_code(reference), tx_code=tx_code)
    return CredentialOfferObject(credential_issuer=settings.base_url,
                                 credential_configuration_ids=list(offer.credential_configuration_ids),
                                 grants=Grants(pre_authorized_code=grant)).dump()


def check_offer_reference(*, session: Session, reference: str, now: int | None = None) -> None:
    """404 unless `reference` names a live offer (for the QR endpoints)."""
    _live_offer(session, reference, unix_now(now))
    session.commit()


def redeem_pre_authorized_code(*, session: Session, settings: IssuerSettings, form: dict[str, str],
                               dpop: DpopRequest | None = None, now: int | None = None) -> dict[str, Any]:
    """Token endpoint, pre-authorized code grant (§6.1): one access token per code, ever; bound to the
    key of a DPoP proof when the request has one (RFC 9449 §5)."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    if grant_type != PRE_AUTHORIZED_CODE_GRANT:
        raise UnsupportedGrantType(f"grant_type {grant_type[:80]} is not supported")
    request = parse_model(TokenRequest, form)
    code = request.pre_authorized_code
    assert code is not None  # TokenRequest requires it for this grant
    now = unix_now(now)
    offer = session.connection().execute(_OFFER_BY_CODE, {"code_hash": secret_hash(code)}).first()
    if offer is None:
        raise InvalidGrant("unknown pre-authorized_code")
    if offer.used_at is not None:
        raise InvalidGrant("the pre-authorized_code was already used")
    if offer.expires_at <= now:
        raise InvalidGrant("the pre-authorized_code has expired")
    if offer.status != "valid":
        raise InvalidGrant(f"the award is {offer.status}")
    configuration_ids = list(offer.credential_configuration_ids)
    details = _authorization_details(request.authorization_details, configuration_ids)
    tx_code = request.tx_code
    if offer.tx_code_hash is None:
        if tx_code is not None:
            raise InvalidRequest("tx_code was not expected for this offer")
    else:
        _check_tx_code(session, offer, tx_code, settings)
    dpop_jkt = token_binding(session=session, settings=settings, dpop=dpop, now=now)
    # The single winner: the conditional UPDATE matches at most once.
    consumed = session.connection().execute(_CONSUME_OFFER, {"offer_id": offer.id, "now": now})
    if consumed.rowcount != 1:
        session.rollback()
        raise InvalidGrant("the pre-authorized_code was already used")
    access_token = new_secret()
    session.connection().execute(_INSERT_ACCESS_TOKEN, {
        "token_hash": secret_hash(access_token), "award_id": offer.award_id,
        "credential_configuration_ids": configuration_ids, "expires_at": now + settings.access_token_ttl_seconds,
        "created_at": now, "dpop_jkt": dpop_jkt})
    session.commit()
    return TokenResponse(access_token=access_token, token_type="Bearer" if dpop_jkt is None else "DPoP",
                         expires_in=settings.access_token_ttl_seconds, authorization_details=details).dump()


def _check_tx_code(session: Session, offer: Row[Any], tx_code: str | None, settings: IssuerSettings) -> None:
    if not tx_code:
        raise InvalidRequest("tx_code is required for this offer")
    # Take one attempt first (atomically), then compare: N parallel guesses still count N times.
    taken = session.execute(update(CredentialOffer).where(
        col(CredentialOffer.id) == offer.id, col(CredentialOffer.used_at).is_(None),
        col(CredentialOffer.tx_code_attempts) < settings.tx_code_max_attempts,
    ).values(tx_code_attempts=CredentialOffer.tx_code_attempts + 1))
    session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidGrant("too many wrong tx_code attempts: this offer is locked")
    assert offer.tx_code_salt is not None and offer.tx_code_hash is not None
    if not hmac.compare_digest(_tx_code_hash(offer.tx_code_salt, tx_code[:64]), offer.tx_code_hash):
        raise InvalidGrant("wrong tx_code")


def _authorization_details(details: list[AuthorizationDetail] | None,
                           offered: list[str]) -> list[AuthorizationDetail] | None:
    """§5.1.1 / §6.2: each `openid_credential` detail names an offered configuration; its
    `credential_identifiers` are the configuration id (one dataset per configuration)."""
    if details is None:
        return None
    answer = []
    for detail in details:
        if detail.type != OPENID_CREDENTIAL:
            raise InvalidRequest(f"authorization_details type {detail.type} is not supported")
        if detail.credential_configuration_id not in offered:
            raise InvalidRequest("authorization_details names a credential configuration that was not offered")
        answer.append(AuthorizationDetail(type=OPENID_CREDENTIAL,
                                          credential_configuration_id=detail.credential_configuration_id,
                                          credential_identifiers=[detail.credential_configuration_id]))
    return answer

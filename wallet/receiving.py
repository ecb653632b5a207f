"""Receiving credentials over OpenID4VCI 1.0 (pre-authorized code flow), for one learner.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html

Two steps, so the learner can be asked for the transaction code the offer wants:

1. `resolve_offer`: the offer (by value or reference, from a link or a QR image), the issuer
   and authorization server metadata, checked (`vc.oid4vci_client`); kept as a pending
   transaction; the learner sees who offers what and whether a code is needed.
2. `accept_offer`: token (with `tx_code`), a fresh ES256 holder key per credential copy, nonce,
   key proofs, credential request (batch when the issuer offers it), then every check of
   `wallet.checking` on each credential received; only credentials that pass are stored.
   Refused ones are reported with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from schemas.oauth2 import InvalidGrant, InvalidRequest, NotFound, ProtocolError
from schemas.oid4vci import (
    FORMAT_DC_SD_JWT,
    AuthorizationServerMetadata,
    CredentialConfiguration,
    CredentialIssuerMetadata,
    CredentialOffer,
    parse_model,
)
from vc.dpop import DpopClient
from vc.errors import FetchError, FetchRefused, VcError
from vc.keys import SoftwareSigner, generate_private_key
from vc.oid4vci_client import (
    ErrorResponse,
    IssuerContext,
    obtain_credentials,
    proof_binding_for,
    request_token,
    resolve_credential_offer,
    resolve_issuer,
)
from vc.sd_jwt_vc import TypeMetadata, parse_type_metadata
from wallet.accounts import LearnerContext
from wallet.checking import SUPPORTED_FORMATS, CheckedCredential, check_sd_jwt_vc, check_vc_jwt, holder_thumbprints
from wallet.errors import CredentialRefused, PartyError, RequestRefused
from wallet.pending import OFFER, drop_pending, load_pending, save_pending
from wallet.rendering import (
    card,
    claim_display,
    index_types,
    pick_display,
    search_text,
    summarize,
    type_metadata_display,
)
from wallet.services import WalletServices
from wallet.store import NewCredential, add_credentials

__all__ = ["accept_offer", "decline_offer", "describe_offer", "party_errors", "receive", "resolve_offer"]

TYPE_METADATA_TTL = timedelta(hours=6)


@contextmanager
def party_errors(party: str) -> Iterator[None]:
    """Library failures while talking to an issuer or verifier, as the learner's protocol errors."""
    try:
        yield
    except ProtocolError:
        raise
    except FetchRefused as exc:
        raise InvalidRequest(f"refusing to contact the {party}: {exc}") from exc
    except ErrorResponse as exc:
        raise PartyError(f"the {party} answered {exc.error}" + (f": {exc.description}" if exc.description else ""),
                         internal=str(exc)) from exc
    except FetchError as exc:
        raise PartyError(f"the {party} could not be reached: {exc}") from exc
    except VcError as exc:
        raise RequestRefused(f"the {party} sent something this wallet cannot accept: {exc}") from exc


def _context(state: dict[str, Any]) -> IssuerContext:
    return IssuerContext(parse_model(CredentialOffer, state["offer"]),
                         parse_model(CredentialIssuerMetadata, state["issuer_metadata"]),
                         parse_model(AuthorizationServerMetadata, state["authorization_server"]))


def _offer_view(pending_id: str, context: IssuerContext, locale: str) -> dict[str, Any]:
    metadata = context.issuer_metadata
    issuer_display = pick_display([d.dump() for d in metadata.display or ()], locale)
    credentials = []
    for cid, configuration in context.offered_configurations().items():
        shown = pick_display([d.dump() for d in (configuration.credential_metadata.display or ())]
                             if configuration.credential_metadata else [], locale)
        credentials.append({"credential_configuration_id": cid, "format": configuration.format,
                            "name": shown.get("name") or cid, "supported": configuration.format in SUPPORTED_FORMATS})
    grant = context.offer.grants.pre_authorized_code if context.offer.grants else None
    return {
        "id": pending_id,
        "credential_issuer": metadata.credential_issuer,
        "issuer": {"name": issuer_display.get("name") or metadata.credential_issuer,
                   "logo": (issuer_display.get("logo") or {}).get("uri")},
        "credentials": credentials,
        "tx_code": grant.tx_code.dump() if grant is not None and grant.tx_code is not None else None,
    }


def resolve_offer(*, session: Session, learner: LearnerContext, services: WalletServices, link: str,
                  now: datetime | None = None) -> dict[str, Any]:
    """Step 1: fetch and check the offer and the issuer's metadata; keep them for `accept_offer`."""
    with party_errors("issuer"):
        offer = resolve_credential_offer(link, services.fetcher)
        context = resolve_issuer(offer, services.fetcher, accept_language=learner.locale)
    if context.offer.grants is None or context.offer.grants.pre_authorized_code is None:
        raise RequestRefused("the offer has no pre-authorized code; only that flow is supported")
    state = {"offer": offer.dump(), "issuer_metadata": context.issuer_metadata.dump(),
             "authorization_server": context.authorization_server.dump()}
    pending_id = save_pending(session=session, learner=learner, kind=OFFER, state=state, now=now,
                              ttl=timedelta(seconds=services.settings.pending_ttl_seconds))
    return _offer_view(pending_id, context, learner.locale)


def describe_offer(*, session: Session, learner: LearnerContext, pending_id: str,
                   now: datetime | None = None) -> dict[str, Any]:
    """What `resolve_offer` showed, again, for an offer still waiting for the learner."""
    state = load_pending(session=session, learner=learner, pending_id=pending_id, kind=OFFER, now=now)
    return _offer_view(pending_id, _context(state), learner.locale)


def decline_offer(*, session: Session, learner: LearnerContext, pending_id: str) -> None:
    """Forget an offer the learner does not want (nothing is sent to the issuer)."""
    load_pending(session=session, learner=learner, pending_id=pending_id, kind=OFFER)
    if not drop_pending(session=session, learner=learner, pending_id=pending_id):
        raise NotFound("no such offer, or it was already answered")


def _subresource_integrity_ok(integrity: str, body: bytes) -> bool:
    """W3C SRI: any `<alg>-<base64 digest>` entry that matches (sha256/384/512)."""
    for entry in integrity.split():
        alg, _, expected = entry.partition("-")
        if alg in ("sha256", "sha384", "sha512"):
            digest = base64.b64encode(hashlib.new(alg, body).digest()).decode("ascii")
            if digest == expected.split("?", 1)[0]:
                return True
    return False


def _type_metadata(services: WalletServices, session: Session, claims: dict[str, Any]) -> TypeMetadata | None:
    """SD-JWT VC Type Metadata from the `vct` URL, when it is https (optional; cached)."""
    vct = claims.get("vct")
    if not isinstance(vct, str) or not vct.startswith(("https://", "http://")):
        return None
    try:
        body = services.document_cache(session).get(
            "type-metadata", vct, lambda: (services.fetcher.get_bytes(vct, accept="application/json")[1],
                                           TYPE_METADATA_TTL))
    except FetchError:
        return None  # type metadata is optional; without it nothing is checked against it
    integrity = claims.get("vct#integrity")
    if isinstance(integrity, str) and not _subresource_integrity_ok(integrity, body):
        raise CredentialRefused("type metadata: vct#integrity does not match the type metadata document")
    try:
        return parse_type_metadata(json.loads(body), vct=vct)
    except (ValueError, VcError) as exc:
        raise CredentialRefused(f"type metadata: {exc}") from exc


def receive(*, session: Session, services: WalletServices, context: IssuerContext, token: Any,
            configuration_id: str, configuration: CredentialConfiguration, locale: str,
            dpop: DpopClient | None = None, now: datetime | None = None) -> NewCredential:
    """One configuration of the offer: keys, proofs, request, checks; a credential ready to store."""
    if configuration.format not in SUPPORTED_FORMATS:
        raise CredentialRefused(f"format {configuration.format!r} is not supported by this wallet")
    binding = proof_binding_for(configuration, "ES256")
    batch = context.issuer_metadata.batch_credential_issuance
    copies = min(services.settings.batch_copies, batch.batch_size) if binding is not None and batch else 1
    keys = [generate_private_key("ES256") for _ in range(copies)] if binding is not None else []
    signers = [SoftwareSigner(key) for key in keys]
    issued = obtain_credentials(context, token, configuration_id, signers, services.fetcher, now=now, dpop=dpop)
    thumbprints = holder_thumbprints([s.public_jwk for s in signers])
    if not issued:
        raise CredentialRefused("the issuer sent no credential")
    type_metadata = None
    if configuration.format == FORMAT_DC_SD_JWT:
        probe = check_sd_jwt_vc(issued[0], configuration=configuration, holder_keys=thumbprints,
                                issuer_key=services.resolve_key, now=now)
        type_metadata = _type_metadata(services, session, probe.claims)

    def check(credential: str) -> CheckedCredential:
        if configuration.format == FORMAT_DC_SD_JWT:
            return check_sd_jwt_vc(credential, configuration=configuration, holder_keys=thumbprints,
                                   issuer_key=services.resolve_key, now=now, type_metadata=type_metadata)
        return check_vc_jwt(credential, configuration=configuration, holder_keys=thumbprints,
                            issuer_key=services.resolve_key, now=now)

    checked = [check(credential) for credential in issued]
    credential_display = type_metadata_display(type_metadata.document) if type_metadata else []
    main = checked[0]
    metadata = context.issuer_metadata
    if configuration.credential_metadata and configuration.credential_metadata.display:
        credential_display += [d.dump() for d in configuration.credential_metadata.display]
    labels = claim_display(type_metadata.claims if type_metadata else (),
                           [c.dump() for c in (configuration.credential_metadata.claims or ())]
                           if configuration.credential_metadata else ())
    summary = summarize(
        format=main.format, claims=main.claims, types=main.types, issuer=main.issuer, valid_from=main.valid_from,
        valid_until=main.valid_until, credential_issuer=metadata.credential_issuer,
        configuration_id=configuration_id, issuer_display=[d.dump() for d in metadata.display or ()],
        credential_display=credential_display, disclosable=main.disclosable, claim_display=labels)
    return NewCredential(
        format=main.format, summary=summary, types=index_types(main.types), claims=main.claims,
        copies=[(c.credential, keys[c.holder_key] if c.holder_key is not None else None) for c in checked],
        search_text=search_text(summary, locale))


def accept_offer(*, session: Session, learner: LearnerContext, services: WalletServices, pending_id: str,
                 tx_code: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Step 2: get, check and store the offered credentials. A wrong `tx_code` leaves the offer pending."""
    context = _context(load_pending(session=session, learner=learner, pending_id=pending_id, kind=OFFER, now=now))
    grant = context.offer.grants.pre_authorized_code if context.offer.grants else None
    if grant is not None and grant.tx_code is not None and not tx_code:
        raise InvalidRequest("this offer needs the transaction code (tx_code) the issuer sent you")
    dpop = DpopClient(SoftwareSigner.generate("ES256"))  # a fresh DPoP key per offer: nothing links two issuances
    try:
        with party_errors("issuer"):
            token = request_token(context, services.fetcher, tx_code=tx_code, dpop=dpop)
    except PartyError as exc:
        cause = exc.__cause__
        if isinstance(cause, ErrorResponse) and cause.error == "invalid_grant":
            raise InvalidGrant("the issuer did not accept the transaction code or the offer has expired") from exc
        raise
    if not drop_pending(session=session, learner=learner, pending_id=pending_id):
        raise NotFound("no such offer, or it was already accepted")
    received: list[NewCredential] = []
    refused: list[dict[str, str]] = []
    for configuration_id, configuration in context.offered_configurations().items():
        try:
            with party_errors("issuer"):
                received.append(receive(session=session, services=services, context=context, token=token,
                                        configuration_id=configuration_id, configuration=configuration,
                                        locale=learner.locale, dpop=dpop, now=now))
        except ProtocolError as exc:
            refused.append({"credential_configuration_id": configuration_id,
                            "reason": exc.description or exc.error})
    if not received:
        raise CredentialRefused("; ".join(f"{r['credential_configuration_id']}: {r['reason']}" for r in refused))
    ids = add_credentials(session=session, learner=learner, credentials=received, now=now)
    stored = []
    for credential_id, new in zip(ids, received, strict=True):
        shown = card(new.summary, locale=learner.locale, status="valid")
        stored.append({"id": credential_id, "format": new.format, "name": shown["name"],
                       "issuer": shown["issuer"]["name"], "copies": len(new.copies)})
    return {"credentials": stored, "refused": refused}

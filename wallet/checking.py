"""What the wallet checks in a credential an issuer sends it, before keeping it.

OpenID4VCI 1.0 §8.3 leaves the checks to the Wallet; these are ours:

* format: the credential is what the configuration promised (`dc+sd-jwt` with its `vct`, or
  a VC-JWT whose `type` holds the configuration's `credential_definition.type`);
* issuer signature against the issuer's published keys (`vc.key_resolution`: did:web /
  did:jwk / did:key for VC-JWTs, JWT VC Issuer Metadata for SD-JWT VCs), and for SD-JWT
  every check of RFC 9901 §7.1 (each Disclosure referenced, no duplicates, no reserved
  names; a holder refuses an SD-JWT that arrives with a KB-JWT, §7.2);
* dates (`exp`/`nbf`, `validFrom`/`validUntil`);
* the 1EdTech OB 3.0 JSON Schema for Open Badges VC-JWTs (`vc.vc_jwt.verify_ob3_jwt`);
* holder binding: bound to one of the keys the wallet proved possession of (`cnf.jwk`, or a
  `did:jwk` / `did:key` subject), when the configuration binds keys;
* SD-JWT VC Type Metadata `sd` rules, when the type metadata could be fetched.

A failed check raises `CredentialRefused` whose description says which check and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.oid4vci import FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON, CredentialConfiguration
from vc.did_jwk import did_jwk_to_jwk
from vc.did_key import did_key_to_jwk
from vc.errors import VcError
from vc.jwk import jwk_thumbprint
from vc.keys import KeyResolver
from vc.sd_jwt import ClaimPath, VerifiedSdJwt, parse_sd_jwt
from vc.sd_jwt_vc import TypeMetadata, check_presentation_against_type_metadata, verify_sd_jwt_vc
from vc.vc_jwt import OB3_CREDENTIAL_TYPES, VcJwt, decode_vc_jwt, verify_ob3_jwt, verify_vc_jwt
from wallet.errors import CredentialRefused

__all__ = ["SUPPORTED_FORMATS", "CheckedCredential", "check_sd_jwt_vc", "check_vc_jwt", "holder_thumbprints"]

SUPPORTED_FORMATS = (FORMAT_JWT_VC_JSON, FORMAT_DC_SD_JWT)


@dataclass(frozen=True)
class CheckedCredential:
    """A credential that passed every check, taken apart for rendering and querying."""

    format: str
    credential: str
    #: The processed claims (SD-JWT: with every Disclosure applied; VC-JWT: the credential).
    claims: dict[str, Any]
    types: list[str]
    issuer: str | None
    #: Index into the holder keys given to the check (None: not bound to a key).
    holder_key: int | None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    #: SD-JWT: where each Disclosure landed, i.e. what can be withheld.
    disclosable: tuple[ClaimPath, ...] = field(default=())


def holder_thumbprints(jwks: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {jwk_thumbprint(dict(jwk)): i for i, jwk in enumerate(jwks)}


def _refuse(check: str, reason: object) -> CredentialRefused:
    return CredentialRefused(f"{check}: {reason}")


def _bound_key(jwk: Any, holder_keys: Mapping[str, int], where: str) -> int:
    try:
        thumbprint = jwk_thumbprint(jwk) if isinstance(jwk, dict) else None
    except VcError:
        thumbprint = None
    if thumbprint is None or thumbprint not in holder_keys:
        raise _refuse("holder binding", f"{where} is not one of the keys this wallet proved possession of")
    return holder_keys[thumbprint]


def check_sd_jwt_vc(credential: str, *, configuration: CredentialConfiguration, holder_keys: Mapping[str, int],
                    issuer_key: KeyResolver, now: datetime | None = None,
                    type_metadata: TypeMetadata | None = None) -> CheckedCredential:
    """Every check of a received `dc+sd-jwt` (see the module docstring)."""
    try:
        parsed = parse_sd_jwt(credential.strip())
    except VcError as exc:
        raise _refuse("format", f"not an SD-JWT: {exc}") from exc
    if parsed.kb_jwt is not None:
        raise _refuse("format", "an issued SD-JWT must not carry a KB-JWT")
    try:
        verified: VerifiedSdJwt = verify_sd_jwt_vc(
            parsed, issuer_key=lambda header, payload: issuer_key(
                payload.get("iss") if isinstance(payload.get("iss"), str) else None, header),
            key_binding=False, now=now)
    except VcError as exc:
        raise _refuse("issuer signature, disclosures and dates", exc) from exc
    claims = verified.claims
    types = [claims["vct"], *[t for t in claims.get("aka_vcts") or () if isinstance(t, str)]]
    if configuration.vct is not None and configuration.vct not in types:
        raise _refuse("format", f"the credential is of type {claims['vct']!r}, not the offered {configuration.vct!r}")
    holder_key = None
    if configuration.cryptographic_binding_methods_supported is not None:
        cnf = claims.get("cnf")
        holder_key = _bound_key(cnf.get("jwk") if isinstance(cnf, dict) else None, holder_keys, "cnf.jwk")
    if type_metadata is not None:
        try:
            check_presentation_against_type_metadata(type_metadata, verified)
        except VcError as exc:
            raise _refuse("type metadata", exc) from exc
    return CheckedCredential(
        format=FORMAT_DC_SD_JWT, credential=credential.strip(), claims=claims, types=types,
        issuer=claims.get("iss") if isinstance(claims.get("iss"), str) else None, holder_key=holder_key,
        valid_from=_epoch(claims.get("nbf") or claims.get("iat")), valid_until=_epoch(claims.get("exp")),
        disclosable=verified.disclosed_paths)


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC)


def _subject_key(subject: str | None, holder_keys: Mapping[str, int]) -> int:
    try:
        if subject is None:
            raise VcError("the credential names no subject")
        did = subject.split("#", 1)[0]
        jwk = did_jwk_to_jwk(did) if did.startswith("did:jwk:") else did_key_to_jwk(did)
    except VcError as exc:
        raise _refuse("holder binding", f"the subject is not a did:jwk or did:key of this wallet ({exc})") from exc
    return _bound_key(jwk, holder_keys, "the credential subject")


def check_vc_jwt(credential: str, *, configuration: CredentialConfiguration, holder_keys: Mapping[str, int],
                 issuer_key: KeyResolver, now: datetime | None = None) -> CheckedCredential:
    """Every check of a received `jwt_vc_json` (Open Badges 3.0 or another VC-JWT)."""
    token = credential.strip()
    try:
        decoded = decode_vc_jwt(token)
    except VcError as exc:
        raise _refuse("format", f"not a VC-JWT: {exc}") from exc
    types = decoded.credential.get("type")
    types = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
    definition = configuration.credential_definition
    missing = [t for t in (definition.type if definition else []) if t not in types]
    if missing:
        raise _refuse("format", f"the credential type lacks {', '.join(missing)}")
    verify = verify_ob3_jwt if any(t in OB3_CREDENTIAL_TYPES for t in types) else verify_vc_jwt
    try:
        verified: VcJwt = verify(token, resolve_key=issuer_key, now=now)
    except VcError as exc:
        raise _refuse("issuer signature, dates and schema", exc) from exc
    holder_key = None
    if configuration.cryptographic_binding_methods_supported is not None:
        holder_key = _subject_key(verified.subject, holder_keys)
    return CheckedCredential(
        format=FORMAT_JWT_VC_JSON, credential=token, claims=verified.credential, types=types,
        issuer=verified.issuer, holder_key=holder_key, valid_from=verified.valid_from,
        valid_until=verified.valid_until)

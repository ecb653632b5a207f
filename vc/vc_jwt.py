"""Verifiable Credentials as JWTs, and the Open Badges 3.0 "VC-JWT" proof format.

Two payload layouts exist, told apart by the payload and checked against the first `@context`:

- VCDM 2.0, VC-JOSE-COSE (https://www.w3.org/TR/vc-jose-cose/#securing-with-jose): the payload
  *is* the credential; `vc`/`vp` claims MUST NOT be present; first context
  `https://www.w3.org/ns/credentials/v2`; dates are `validFrom`/`validUntil`.
- VCDM 1.1 §6.3.1 (https://www.w3.org/TR/vc-data-model-1.1/#jwt-encoding): the credential sits
  in the `vc` claim; first context `https://www.w3.org/2018/credentials/v1`; `iss`, `jti`, `sub`,
  `nbf`, `exp` stand for `issuer`, `id`, `credentialSubject.id`, `issuanceDate`, `expirationDate`.

Open Badges 3.0 §8.2 "JSON Web Token Proof Format" (https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof)
uses the 2.0 layout plus the claims `iss` (= `issuer.id`), `jti` (= `id`), `nbf` (= `validFrom`),
`sub` (= `credentialSubject.id`) and `exp` (= `validUntil`, if any), under a header
`{alg, kid (or jwk), typ: "JWT"}`. Verifiers accept both layouts and refuse a JWT whose layout
and first `@context` disagree; `typ` may be `JWT`, `vc+jwt` or absent. Signing ES256 by default
(whatever the `Signer` is), verifying ES256, RS256 and EdDSA.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vc.errors import ClaimInvalid, HeaderInvalid, KeyResolutionError, MalformedToken, TokenExpired, TokenNotYetValid
from vc.jws import DecodedJws, decode_jws, sign_jws, typ_matches, verify_jws
from vc.keys import KeyResolver, Signer
from vc.ob3 import validate_open_badge_credential

__all__ = [
    "DEFAULT_SKEW",
    "JWT_TYP",
    "OB3_CREDENTIAL_TYPES",
    "VCDM_1_1",
    "VCDM_1_1_CONTEXT",
    "VCDM_2_0",
    "VCDM_2_0_CONTEXT",
    "VC_JWT_ALGORITHMS",
    "VC_JWT_TYP",
    "VcJwt",
    "decode_vc_jwt",
    "encode_ob3_jwt",
    "sign_vc_jwt",
    "verify_ob3_jwt",
    "verify_vc_jwt",
]

VCDM_1_1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VCDM_2_0_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VCDM_1_1 = "1.1"
VCDM_2_0 = "2.0"
#: OB 3.0: `typ`, if present, MUST be "JWT".
JWT_TYP = "JWT"
#: VC-JOSE-COSE: `typ` SHOULD be `vc+jwt` (walt.id and others send it).
VC_JWT_TYP = "vc+jwt"
VC_JWT_ALGORITHMS = ("ES256", "RS256", "EdDSA")
#: One of these must be in the `type` of an Open Badges 3.0 credential.
OB3_CREDENTIAL_TYPES = ("OpenBadgeCredential", "AchievementCredential")
DEFAULT_SKEW = timedelta(seconds=60)
# RFC 7519 §4.1: registered claims; in the 2.0 layout they are JWT claims, not credential properties.
_REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})

@dataclass(frozen=True)
class VcJwt:
    """A VC-JWT taken apart; `credential` is in its own layout's shape (1.1 gaps filled from claims)."""

    header: dict[str, Any]
    claims: dict[str, Any]
    credential: dict[str, Any]
    vcdm: str
    issuer: str
    subject: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    jws: DecodedJws = field(repr=False)


def _first_context(document: Mapping[str, Any]) -> Any:
    context = document.get("@context")
    if isinstance(context, list) and context:
        return context[0]
    return context


def _issuer_id(issuer: Any) -> str | None:
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _subject_ids(subject: Any) -> list[str]:
    subjects = subject if isinstance(subject, list) else [subject]
    return [s["id"] for s in subjects if isinstance(s, Mapping) and isinstance(s.get("id"), str)]


def _date_time(value: Any, name: str) -> datetime:
    """An XML Schema / RFC 3339 date-time; one without an offset is read as UTC."""
    if not isinstance(value, str):
        raise ClaimInvalid(f"{name} must be a date-time string")
    try:
        moment = datetime.fromisoformat(value.strip().upper())
    except ValueError as exc:
        raise ClaimInvalid(f"{name} is not a date-time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _numeric_date(value: Any, name: str) -> datetime:
    """RFC 7519 NumericDate: seconds since the epoch."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ClaimInvalid(f"{name} must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ClaimInvalid(f"{name} is out of range") from exc


def _numeric(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _same_instant(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 1


def _claim_date(claims: Mapping[str, Any], claim: str, credential_date: datetime | None, prop: str) -> datetime | None:
    """The JWT date claim, which must name the same second as the credential's date property."""
    if claim not in claims:
        return credential_date
    moment = _numeric_date(claims[claim], claim)
    if credential_date is not None and not _same_instant(moment, credential_date):
        raise ClaimInvalid(f"{claim} does not match {prop}")
    return moment


def _optional_date(credential: Mapping[str, Any], prop: str) -> datetime | None:
    return _date_time(credential[prop], prop) if prop in credential else None


def _from_vcdm_1_1(vc: dict[str, Any], claims: dict[str, Any]) -> tuple[dict[str, Any], datetime | None, datetime | None]:
    """VCDM 1.1 §6.3.1 decoding: JWT claims fill in the properties they stand for (agreement is checked after)."""
    credential = dict(vc)
    if "iss" in claims and "issuer" not in credential:
        credential["issuer"] = claims["iss"]
    if "jti" in claims and "id" not in credential:
        credential["id"] = claims["jti"]
    subject = credential.get("credentialSubject")
    if "sub" in claims and isinstance(subject, dict) and "id" not in subject:
        credential["credentialSubject"] = {"id": claims["sub"], **subject}
    issued = _claim_date(claims, "nbf", _optional_date(credential, "issuanceDate"), "issuanceDate")
    expires = _claim_date(claims, "exp", _optional_date(credential, "expirationDate"), "expirationDate")
    if issued is not None and "issuanceDate" not in credential:
        credential["issuanceDate"] = issued.isoformat().replace("+00:00", "Z")
    if expires is not None and "expirationDate" not in credential:
        credential["expirationDate"] = expires.isoformat().replace("+00:00", "Z")
    return credential, issued, expires


def _from_vcdm_2_0(claims: dict[str, Any]) -> tuple[dict[str, Any], datetime | None, datetime | None]:
    """VC-JOSE-COSE: the payload is the credential; the registered claims around it must not conflict."""
    credential = {k: v for k, v in claims.items() if k not in _REGISTERED_CLAIMS}
    valid_from = _claim_date(claims, "nbf", _optional_date(credential, "validFrom"), "validFrom")
    valid_until = _claim_date(claims, "exp", _optional_date(credential, "validUntil"), "validUntil")
    return credential, valid_from, valid_until


def decode_vc_jwt(token: str) -> VcJwt:
    """Take a VC-JWT apart and check its layout and claims; the signature is NOT verified here."""
    jws = decode_jws(token)
    claims = jws.claims()
    if "vp" in claims:
        raise MalformedToken("this JWT holds a presentation (vp claim), not a credential")
    if "vc" in claims and "@context" in claims:
        raise ClaimInvalid("the payload holds both a vc claim and a bare credential")
    if "vc" in claims:
        vcdm = VCDM_1_1
        if not isinstance(claims["vc"], dict):
            raise MalformedToken("the vc claim must be a JSON object")
        if _first_context(claims["vc"]) != VCDM_1_1_CONTEXT:
            raise ClaimInvalid(f"a vc claim (VCDM 1.1 layout) must start its @context with {VCDM_1_1_CONTEXT}")
        if typ_matches(jws.header.get("typ"), VC_JWT_TYP):
            raise HeaderInvalid("typ vc+jwt means a VCDM 2.0 payload, not a vc claim")
        credential, valid_from, valid_until = _from_vcdm_1_1(claims["vc"], claims)
    elif "@context" in claims:
        vcdm = VCDM_2_0
        if _first_context(claims) != VCDM_2_0_CONTEXT:
            raise ClaimInvalid(f"a credential payload (VCDM 2.0 layout) must start its @context with {VCDM_2_0_CONTEXT}")
        credential, valid_from, valid_until = _from_vcdm_2_0(claims)
    else:
        raise MalformedToken("not a VC-JWT: neither a vc claim nor a credential payload")

    types = credential.get("type")
    if "VerifiableCredential" not in (types if isinstance(types, list) else [types]):
        raise ClaimInvalid("the credential type must include VerifiableCredential")
    issuer = _issuer_id(credential.get("issuer"))
    if issuer is None:
        raise ClaimInvalid("the credential has no issuer")
    if "iss" in claims and claims["iss"] != issuer:
        raise ClaimInvalid("iss does not match the credential issuer")
    if "jti" in claims and claims["jti"] != credential.get("id", claims["jti"]):
        raise ClaimInvalid("jti does not match the credential id")
    subject_ids = _subject_ids(credential.get("credentialSubject"))
    subject = claims.get("sub")
    if subject is not None and subject not in subject_ids:
        raise ClaimInvalid("sub does not match credentialSubject.id")
    if subject is None and len(subject_ids) == 1:
        subject = subject_ids[0]
    return VcJwt(
        header=jws.header, claims=claims, credential=credential, vcdm=vcdm, issuer=issuer,
        subject=subject, valid_from=valid_from, valid_until=valid_until, jws=jws,
    )


def _check_validity_period(vc_jwt: VcJwt, now: datetime | None, skew: timedelta) -> None:
    moment = now or datetime.now(UTC)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if vc_jwt.valid_from is not None and moment + skew < vc_jwt.valid_from:
        raise TokenNotYetValid(f"the credential is valid from {vc_jwt.valid_from.isoformat()}")
    if vc_jwt.valid_until is not None and moment - skew >= vc_jwt.valid_until:
        raise TokenExpired(f"the credential expired at {vc_jwt.valid_until.isoformat()}")


def verify_vc_jwt(
    token: str,
    *,
    resolve_key: KeyResolver,
    algorithms: Collection[str] = VC_JWT_ALGORITHMS,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> VcJwt:
    """Decode, verify the issuer's signature with the key `resolve_key` finds, and check the validity period.

    `resolve_key(issuer id, JOSE header) -> public JWK` (a `vc.keys.KeyResolver`, such as
    `vc.key_resolution.VerificationKeyResolver`) decides which keys speak for the issuer. The
    issuer id it gets is the credential's, already checked against `iss`. A `kid` that is a DID
    URL must belong to the issuer's DID.
    """
    vc_jwt = decode_vc_jwt(token)
    typ = vc_jwt.header.get("typ")
    if typ is not None and not (typ_matches(typ, JWT_TYP) or typ_matches(typ, VC_JWT_TYP)):
        raise HeaderInvalid(f"typ must be JWT or vc+jwt, got {typ!r}")
    kid = vc_jwt.header.get("kid")
    if isinstance(kid, str) and kid.startswith("did:") and kid.split("#", 1)[0] != vc_jwt.issuer:
        raise KeyResolutionError(f"kid {kid} does not belong to the issuer {vc_jwt.issuer}")
    jwk = resolve_key(vc_jwt.issuer, vc_jwt.header)
    if not isinstance(jwk, dict):
        raise KeyResolutionError("the key resolver returned no JWK")
    verify_jws(vc_jwt.jws, jwk, algorithms=algorithms, typ=None)
    _check_validity_period(vc_jwt, now, skew)
    return vc_jwt


def verify_ob3_jwt(
    token: str,
    *,
    resolve_key: KeyResolver,
    algorithms: Collection[str] = VC_JWT_ALGORITHMS,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> VcJwt:
    """`verify_vc_jwt`, then the Open Badges 3.0 rules: an OB3 credential type and, for the 2.0
    layout, the 1EdTech JSON Schema (`SchemaInvalid`). 1.1-layout credentials predate that schema."""
    vc_jwt = verify_vc_jwt(token, resolve_key=resolve_key, algorithms=algorithms, now=now, skew=skew)
    types = vc_jwt.credential.get("type")
    if not any(t in OB3_CREDENTIAL_TYPES for t in (types if isinstance(types, list) else [types])):
        raise ClaimInvalid("not an Open Badges credential: type has neither OpenBadgeCredential nor AchievementCredential")
    if vc_jwt.vcdm == VCDM_2_0:
        validate_open_badge_credential(vc_jwt.credential)
    return vc_jwt


def sign_vc_jwt(credential: Mapping[str, Any], signer: Signer, *, typ: str = JWT_TYP) -> str:
    """Sign a VCDM 2.0 credential as a JWT whose payload is the credential plus `iss`, `jti`, `sub`, `nbf`, `exp`.

    Each claim is added when the credential has the property it stands for. The header names
    the key by `kid` or, for a signer without one, carries its public `jwk` (OB 3.0 allows either).
    """
    if not isinstance(credential, Mapping):
        raise ClaimInvalid("a credential is a JSON object")
    if _first_context(credential) != VCDM_2_0_CONTEXT:
        raise ClaimInvalid(f"the VCDM 2.0 layout needs {VCDM_2_0_CONTEXT} as the first @context")
    if "vc" in credential or "vp" in credential:
        raise ClaimInvalid("a VCDM 2.0 credential payload must not hold vc or vp")
    issuer = _issuer_id(credential.get("issuer"))
    if issuer is None:
        raise ClaimInvalid("the credential has no issuer")
    claims: dict[str, Any] = {"iss": issuer}
    if isinstance(credential.get("id"), str):
        claims["jti"] = credential["id"]
    subject_ids = _subject_ids(credential.get("credentialSubject"))
    if len(subject_ids) == 1:
        claims["sub"] = subject_ids[0]
    if "validFrom" in credential:
        claims["nbf"] = _numeric(_date_time(credential["validFrom"], "validFrom"))
    if "validUntil" in credential:
        claims["exp"] = _numeric(_date_time(credential["validUntil"], "validUntil"))
    for name, value in claims.items():
        if name in credential and credential[name] != value:
            raise ClaimInvalid(f"the credential already holds a conflicting {name}")
    header = None if signer.kid else {"jwk": dict(signer.public_jwk)}
    return sign_jws({**credential, **claims}, signer, typ=typ, header=header)


def encode_ob3_jwt(credential: Mapping[str, Any], signer: Signer, *,
                   validate: Callable[[Mapping[str, Any]], None] = validate_open_badge_credential) -> str:
    """An OpenBadgeCredential as an OB 3.0 VC-JWT (header `{alg, kid, typ: "JWT"}`), after checking it
    against the 1EdTech JSON Schema (which requires `id` and `validFrom`, hence `jti` and `nbf`).
    An issuer of many credentials passes `vc.ob3.SharedContentValidator(...).validate` as `validate`."""
    validate(credential)
    return sign_vc_jwt(credential, signer, typ=JWT_TYP)

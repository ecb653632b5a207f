"""Verifiable Presentations as JWTs for the OpenID4VP `jwt_vc_json` format (VCDM 1.1 `vp` layout).

OpenID4VP 1.0 Appendix B.1 "W3C Verifiable Credentials"
(https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#appendix-B.1), with VCDM 1.1
§6.3.1 (https://www.w3.org/TR/vc-data-model-1.1/#jwt-encoding): the holder signs
`{iss: <holder DID>, aud: <client_id>, nonce, iat, exp, jti, vp: {@context, type:
[VerifiablePresentation], holder, verifiableCredential: [<VC-JWT>, ...]}}`. The verifier checks the
holder's signature, that `aud` and `nonce` are those of its request, that `iat` is fresh, and that
the signing key is the key each credential is bound to (`sub` / `credentialSubject.id`, a DID).

The issuers' signatures on the contained credentials are not checked here: the verifier runs
`vc.vc_jwt.verify_vc_jwt` on each credential returned.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vc.errors import ClaimInvalid, HeaderInvalid, KeyBindingError, MalformedToken, TokenExpired, TokenNotYetValid
from vc.jwk import jwk_thumbprint
from vc.jws import decode_jws, sign_jws, typ_matches, verify_jws
from vc.keys import KeyResolver, Signer
from vc.vc_jwt import DEFAULT_SKEW, JWT_TYP, VC_JWT_ALGORITHMS, VCDM_1_1_CONTEXT, decode_vc_jwt

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_VP_LIFETIME",
    "VERIFIABLE_PRESENTATION",
    "VerifiedPresentation",
    "create_vp_jwt",
    "verify_vp_jwt",
]

VERIFIABLE_PRESENTATION = "VerifiablePresentation"
DEFAULT_VP_LIFETIME = timedelta(minutes=5)
#: How old (by `iat`) a presentation may be when it reaches the verifier.
DEFAULT_MAX_AGE = timedelta(minutes=5)

@dataclass(frozen=True)
class VerifiedPresentation:
    """A VP JWT whose holder signature, audience, nonce, freshness and holder binding were checked."""

    holder: str
    holder_jwk: dict[str, Any]
    verifiable_credential: list[str]
    claims: dict[str, Any]


def _did_of(did_url: str) -> str:
    return did_url.split("#", 1)[0]


def create_vp_jwt(
    vc_jwts: Sequence[str],
    *,
    holder_signer: Signer,
    holder_did: str,
    aud: str,
    nonce: str,
    iat: datetime | None = None,
    lifetime: timedelta = DEFAULT_VP_LIFETIME,
    jti: str | None = None,
) -> str:
    """Sign a presentation of `vc_jwts` for the verifier `aud` (its full client_id) and its `nonce`.

    The header `kid` is the signer's (a DID URL of `holder_did`); `jti` defaults to a random UUID URN.
    """
    if not vc_jwts or not all(isinstance(token, str) for token in vc_jwts):
        raise MalformedToken("a presentation holds one or more VC-JWT strings")
    if not holder_did.startswith("did:"):
        raise ClaimInvalid("the holder is identified by a DID")
    issued = iat or datetime.now(UTC)
    claims = {
        "iss": holder_did,
        "aud": aud,
        "nonce": nonce,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": jti or f"urn:uuid:{uuid.uuid4()}",
        "vp": {
            "@context": [VCDM_1_1_CONTEXT],
            "type": [VERIFIABLE_PRESENTATION],
            "holder": holder_did,
            "verifiableCredential": list(vc_jwts),
        },
    }
    return sign_jws(claims, holder_signer, typ=JWT_TYP)


def _numeric(claims: dict[str, Any], name: str, *, required: bool) -> datetime | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise ClaimInvalid(f"the presentation has no {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimInvalid(f"{name} must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ClaimInvalid(f"{name} is out of range") from exc


def _check_times(claims: dict[str, Any], now: datetime, skew: timedelta, max_age: timedelta) -> None:
    iat = _numeric(claims, "iat", required=True)
    assert iat is not None
    if iat > now + skew:
        raise TokenNotYetValid("the presentation was issued in the future (iat)")
    if iat < now - max_age - skew:
        raise TokenExpired("the presentation is stale (iat too old)")
    exp = _numeric(claims, "exp", required=False)
    if exp is not None and now - skew >= exp:
        raise TokenExpired("the presentation has expired (exp)")
    nbf = _numeric(claims, "nbf", required=False)
    if nbf is not None and now + skew < nbf:
        raise TokenNotYetValid("the presentation is not valid yet (nbf)")


def _vp_object(claims: dict[str, Any], holder: str) -> list[str]:
    vp = claims.get("vp")
    if not isinstance(vp, dict):
        raise MalformedToken("not a VP JWT: no vp claim")
    if "@context" in claims:
        raise ClaimInvalid("the payload holds both a vp claim and a bare presentation")
    context = vp.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if first != VCDM_1_1_CONTEXT:
        raise ClaimInvalid(f"a vp claim (VCDM 1.1 layout) must start its @context with {VCDM_1_1_CONTEXT}")
    types = vp.get("type")
    if VERIFIABLE_PRESENTATION not in (types if isinstance(types, list) else [types]):
        raise ClaimInvalid("vp.type must include VerifiablePresentation")
    if "holder" in vp and vp["holder"] != holder:
        raise ClaimInvalid("vp.holder does not match iss")
    credentials = vp.get("verifiableCredential")
    if isinstance(credentials, str):
        credentials = [credentials]
    if not isinstance(credentials, list) or not credentials or not all(isinstance(c, str) for c in credentials):
        raise ClaimInvalid("vp.verifiableCredential must hold one or more VC-JWT strings")
    return credentials


def _check_binding(token: str, holder: str, holder_jwk: dict[str, Any], alg: str, resolve: KeyResolver) -> None:
    """The credential's subject DID must be the holder's, or resolve to the very key that signed."""
    vc_jwt = decode_vc_jwt(token)
    bound = vc_jwt.subject
    if not isinstance(bound, str) or not bound.startswith("did:"):
        raise KeyBindingError("a presented credential is not bound to a holder DID")
    if _did_of(bound) == holder:
        return
    if jwk_thumbprint(resolve(_did_of(bound), {"alg": alg})) != jwk_thumbprint(holder_jwk):
        raise KeyBindingError("the presentation is not signed by the key the credential is bound to")


def verify_vp_jwt(
    token: str,
    *,
    aud: str,
    nonce: str,
    resolve_holder_key: KeyResolver,
    algorithms: Collection[str] = VC_JWT_ALGORITHMS,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
    max_age: timedelta = DEFAULT_MAX_AGE,
    require_binding: bool = True,
) -> VerifiedPresentation:
    """Verify a `jwt_vc_json` presentation for this request (`aud` = full client_id, its `nonce`).

    `resolve_holder_key(holder DID, JOSE header) -> public JWK` (a `vc.keys.KeyResolver`, e.g.
    `VerificationKeyResolver(relationship="authentication")`) finds the holder key named by the
    header `kid` (a DID URL of `iss`) or by the `iss` DID. With `require_binding` (the DCQL
    default) every credential must be bound to that key.
    """
    jws = decode_jws(token)
    typ = jws.header.get("typ")
    if typ is not None and not typ_matches(typ, JWT_TYP):
        raise HeaderInvalid(f"typ must be JWT, got {typ!r}")
    claims = jws.claims()
    holder = claims.get("iss")
    if not isinstance(holder, str) or not holder.startswith("did:"):
        raise ClaimInvalid("iss must be the holder's DID")
    credentials = _vp_object(claims, holder)
    kid = jws.header.get("kid")
    if kid is not None and (not isinstance(kid, str) or _did_of(kid) != holder):
        raise KeyBindingError("kid is not a DID URL of the holder (iss)")
    holder_jwk = resolve_holder_key(holder, jws.header)
    verify_jws(jws, holder_jwk, algorithms=algorithms, typ=None)

    audience = claims.get("aud")
    if aud not in (audience if isinstance(audience, list) else [audience]):
        raise ClaimInvalid("aud is not this verifier's client_id")
    presented_nonce = claims.get("nonce")
    if not isinstance(presented_nonce, str) or not secrets.compare_digest(presented_nonce.encode(), nonce.encode()):
        raise ClaimInvalid("nonce does not match the request")
    moment = now or datetime.now(UTC)
    _check_times(claims, moment if moment.tzinfo else moment.replace(tzinfo=UTC), skew, max_age)
    if require_binding:
        for credential in credentials:
            _check_binding(credential, holder, holder_jwk, str(jws.header["alg"]), resolve_holder_key)
    return VerifiedPresentation(holder=holder, holder_jwk=holder_jwk, verifiable_credential=credentials, claims=claims)

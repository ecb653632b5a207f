"""SD-JWT-based Verifiable Credentials (SD-JWT VC), draft-ietf-oauth-sd-jwt-vc-18.

https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/

The profile of RFC 9901 (`vc.sd_jwt`) that the `dc+sd-jwt` credential format uses:

* "JOSE Header": `typ` is `dc+sd-jwt`; verifiers here also take the legacy `vc+sd-jwt`, but only
  for a payload that is an SD-JWT VC (has `vct`, no `@context`).
* "Registered JWT Claims": `iss`, `nbf`, `exp`, `cnf`, `vct`, `vct#integrity`, `aka_vcts`, `status`
  are never selectively disclosable; `vct` is REQUIRED.
* "Issuer Signature Mechanisms" / "JWT VC Issuer Metadata": the Issuer key comes from
  `/.well-known/jwt-vc-issuer` inserted before the path of the https `iss`.
* "SD-JWT VC Type Metadata" / "Claim Metadata": parsing, and which claim paths must, may or must
  not be selectively disclosable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from vc.errors import (
    ClaimInvalid,
    DisclosureError,
    HeaderInvalid,
    KeyResolutionError,
    SchemaInvalid,
    VcError,
)
from vc.fetch import is_loopback_host
from vc.jwk import PRIVATE_MEMBERS
from vc.jws import typ_matches
from vc.keys import SIGNING_ALGORITHMS, Signer
from vc.sd_jwt import (
    DEFAULT_SD_ALG,
    ClaimPath,
    IssuedSdJwt,
    IssuerKeyCallback,
    SdJwt,
    VerifiedSdJwt,
    issue_sd_jwt,
    select_claim_paths,
    verify_sd_jwt,
)

__all__ = [
    "DC_SD_JWT", "JWT_VC_ISSUER_WELL_KNOWN", "LEGACY_VC_SD_JWT", "NEVER_DISCLOSABLE", "SD_ALLOWED", "SD_ALWAYS",
    "SD_NEVER", "VCT", "ClaimMetadata", "DisclosureRules", "JsonFetcher", "NonDisclosableClaim",
    "TypeMetadata", "TypeMetadataInvalid", "check_presentation_against_type_metadata",
    "create_jwt_vc_issuer_metadata", "fetch_issuer_key", "issue_sd_jwt_vc", "jwt_vc_issuer_key_resolver",
    "jwt_vc_issuer_metadata_url", "parse_type_metadata", "resolve_issuer_key", "selective_disclosure_rules",
    "verify_sd_jwt_vc",
]

logger = logging.getLogger(__name__)

DC_SD_JWT = "dc+sd-jwt"  #: "JOSE Header": the REQUIRED `typ` (media type application/dc+sd-jwt)
LEGACY_VC_SD_JWT = "vc+sd-jwt"  #: the `typ` of drafts before November 2024
VCT = "vct"
#: "Registered JWT Claims" that MUST NOT be included in Disclosures (nor any of their sub-claims).
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"})
JWT_VC_ISSUER_WELL_KNOWN = "/.well-known/jwt-vc-issuer"
SD_ALWAYS, SD_ALLOWED, SD_NEVER = "always", "allowed", "never"  #: "Claim Selective Disclosure Metadata"


class NonDisclosableClaim(DisclosureError):
    """A claim SD-JWT VC keeps in the clear (or that Type Metadata marks `sd: never`) is disclosable."""


class TypeMetadataInvalid(SchemaInvalid):
    """A Type Metadata document that does not follow "Type Metadata Format"."""


class JsonFetcher(Protocol):
    """What key discovery needs from `vc.fetch.Fetcher`."""

    def get_json(self, url: str) -> Any: ...


# -- issuing and verifying ------------------------------------------------------------------------

def _check_registered_claims(claims: Mapping[str, Any]) -> None:
    vct = claims.get(VCT)
    if not isinstance(vct, str) or not vct:
        raise ClaimInvalid("an SD-JWT VC has a vct claim, a non-empty string")
    if "iss" in claims and not isinstance(claims["iss"], str):
        raise ClaimInvalid("iss is a string")
    aka = claims.get("aka_vcts")
    if aka is not None and (not isinstance(aka, list) or not all(isinstance(v, str) for v in aka) or vct in aka):
        raise ClaimInvalid("aka_vcts is an array of strings that does not repeat vct")


def issue_sd_jwt_vc(
    claims: Mapping[str, Any],
    signer: Signer,
    *,
    disclosable: Iterable[ClaimPath] = (),
    holder_jwk: Mapping[str, Any] | None = None,
    type_metadata: TypeMetadata | None = None,
    sd_alg: str = DEFAULT_SD_ALG,
    decoys: int = 0,
    header: dict[str, Any] | None = None,
) -> IssuedSdJwt:
    """Issue a `dc+sd-jwt`. With `type_metadata`, its `sd: always` claims are made disclosable and
    `sd: never` / missing `mandatory` claims are refused."""
    _check_registered_claims(claims)
    paths = [tuple(p) for p in disclosable]
    for path in paths:
        if path and path[0] in NEVER_DISCLOSABLE:
            raise NonDisclosableClaim(f"{path[0]!r} is never selectively disclosable in an SD-JWT VC")
    if type_metadata is not None:
        rules = selective_disclosure_rules(type_metadata, claims)
        concrete = {c for p in paths for c in select_claim_paths(claims, p)}
        forbidden = concrete & set(rules.must_not)
        if forbidden:
            raise NonDisclosableClaim(f"type metadata forbids disclosing {sorted(forbidden, key=str)[0]}")
        paths.extend(p for p in rules.must if p not in concrete)
    return issue_sd_jwt(claims, signer, typ=DC_SD_JWT, disclosable=paths, holder_jwk=holder_jwk, sd_alg=sd_alg,
                        decoys=decoys, header=header)


def verify_sd_jwt_vc(
    token: str | SdJwt,
    *,
    issuer_key: IssuerKeyCallback,
    key_binding: bool,
    audience: str | None = None,
    nonce: str | None = None,
    algorithms: Collection[str] = SIGNING_ALGORITHMS,
    now: datetime | None = None,
    clock_skew: timedelta = timedelta(seconds=60),
    kb_max_age: timedelta = timedelta(minutes=5),
) -> VerifiedSdJwt:
    """"Verification and Processing": RFC 9901 §7 (with `exp`/`nbf`/`iat` against `now`), then
    this profile's rules. Use `jwt_vc_issuer_key_resolver(fetcher)` as `issuer_key` for https issuers."""
    result = verify_sd_jwt(token, issuer_key=issuer_key, typ=(DC_SD_JWT, LEGACY_VC_SD_JWT), key_binding=key_binding,
                           audience=audience, nonce=nonce, algorithms=algorithms, now=now, clock_skew=clock_skew,
                           kb_max_age=kb_max_age)
    if not typ_matches(result.header.get("typ"), DC_SD_JWT):
        if VCT not in result.claims or "@context" in result.claims:
            raise HeaderInvalid("typ vc+sd-jwt is accepted only for an SD-JWT VC payload (vct, no @context)")
        logger.info("accepted an SD-JWT VC with the legacy typ vc+sd-jwt")
    for path in result.disclosed_paths:
        if path[0] in NEVER_DISCLOSABLE:
            raise NonDisclosableClaim(f"{path[0]!r} was selectively disclosed; SD-JWT VC forbids that")
    _check_registered_claims(result.claims)
    return result


# -- JWT VC Issuer Metadata -----------------------------------------------------------------------

def jwt_vc_issuer_metadata_url(iss: str, *, allow_http_loopback: bool = False) -> str:
    """Insert `/.well-known/jwt-vc-issuer` between host and path (trailing `/` of the path removed).

    `iss` must be https with no query or fragment; plain http only for a loopback host when allowed.
    """
    if not isinstance(iss, str):
        raise KeyResolutionError("iss is not a string")
    parts = urlsplit(iss)
    loopback_http = parts.scheme == "http" and allow_http_loopback and is_loopback_host(parts.hostname or "")
    if parts.scheme != "https" and not loopback_http:
        raise KeyResolutionError(f"iss {iss!r} is not an https URL; no JWT VC Issuer Metadata for it")
    if not parts.hostname or "?" in iss or "#" in iss or parts.username is not None:
        raise KeyResolutionError(f"iss {iss!r} must have a host and no userinfo, query or fragment")
    return f"{parts.scheme}://{parts.netloc}{JWT_VC_ISSUER_WELL_KNOWN}{parts.path.rstrip('/')}"


def create_jwt_vc_issuer_metadata(issuer: str, keys: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The document an Issuer serves at its `jwt_vc_issuer_metadata_url`, keys by value (`jwks`)."""
    jwks = [dict(key) for key in keys]
    if any(PRIVATE_MEMBERS & key.keys() for key in jwks):
        raise KeyResolutionError("JWT VC Issuer Metadata never publishes private key material")
    return {"issuer": issuer, "jwks": {"keys": jwks}}


def _select_key(jwks: Any, kid: Any) -> dict[str, Any]:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise KeyResolutionError("the issuer JWK Set has no keys array")
    candidates = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    if kid is not None:
        candidates = [k for k in candidates if k.get("kid") == kid]
    elif len(candidates) > 1:
        raise KeyResolutionError("the JWT has no kid and the issuer publishes several keys")
    if len(candidates) != 1:
        raise KeyResolutionError(f"no single issuer key with kid {kid!r}")
    if PRIVATE_MEMBERS & candidates[0].keys():
        raise KeyResolutionError("the issuer key carries private key material")
    return candidates[0]


def resolve_issuer_key(metadata: Any, *, iss: str, header: Mapping[str, Any],
                       fetcher: JsonFetcher | None = None) -> dict[str, Any]:
    """"JWT VC Issuer Metadata Validation": `issuer` identical to `iss`, exactly one of `jwks` and
    `jwks_uri` (fetched through `fetcher`), the key picked by the JWT's `kid`."""
    if not isinstance(metadata, dict) or metadata.get("issuer") != iss:
        raise KeyResolutionError("JWT VC Issuer Metadata issuer is not identical to iss")
    if ("jwks" in metadata) == ("jwks_uri" in metadata):
        raise KeyResolutionError("JWT VC Issuer Metadata has either jwks or jwks_uri, not both or none")
    jwks = metadata.get("jwks")
    if jwks is None:
        uri = metadata["jwks_uri"]
        if not isinstance(uri, str) or fetcher is None:
            raise KeyResolutionError("jwks_uri is not a URL this verifier can fetch")
        jwks = _fetch(fetcher, uri)
    return _select_key(jwks, header.get("kid"))


def _fetch(fetcher: JsonFetcher, url: str) -> Any:
    try:
        return fetcher.get_json(url)
    except VcError as exc:  # FetchError / FetchRefused
        raise KeyResolutionError(f"cannot fetch {url}: {exc}") from exc


def fetch_issuer_key(header: Mapping[str, Any], payload: Mapping[str, Any], *, fetcher: JsonFetcher,
                     allow_http_loopback: bool = False) -> dict[str, Any]:
    """The Issuer's public JWK for an SD-JWT VC with an https `iss`, via JWT VC Issuer Metadata."""
    iss = payload.get("iss")
    url = jwt_vc_issuer_metadata_url(iss, allow_http_loopback=allow_http_loopback)  # type: ignore[arg-type]
    return resolve_issuer_key(_fetch(fetcher, url), iss=iss, header=header, fetcher=fetcher)  # type: ignore[arg-type]


def jwt_vc_issuer_key_resolver(fetcher: JsonFetcher) -> IssuerKeyCallback:
    """An `issuer_key` callback for `verify_sd_jwt_vc`; loopback http follows the fetcher's policy."""
    allow = bool(getattr(getattr(fetcher, "policy", None), "allow_http_loopback", False))
    return lambda header, payload: fetch_issuer_key(header, payload, fetcher=fetcher, allow_http_loopback=allow)


# -- Type Metadata ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimMetadata:
    path: ClaimPath
    display: tuple[dict[str, Any], ...] = ()
    mandatory: bool = False
    sd: str = SD_ALLOWED
    svg_id: str | None = None


@dataclass(frozen=True)
class TypeMetadata:
    vct: str
    name: str | None = None
    description: str | None = None
    extends: str | None = None
    display: tuple[dict[str, Any], ...] = ()
    claims: tuple[ClaimMetadata, ...] = ()
    document: dict[str, Any] = field(default_factory=dict, compare=False)


_SVG_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _optional_str(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is not None and not isinstance(value, str):
        raise TypeMetadataInvalid(f"{name} is a string")
    return value


def _display(value: Any, text_member: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
            isinstance(d, dict) and isinstance(d.get("locale"), str) and isinstance(d.get(text_member), str)
            for d in value):
        raise TypeMetadataInvalid(f"display is an array of objects with locale and {text_member}")
    return tuple(value)


def _claim_path(value: Any) -> ClaimPath:
    if not isinstance(value, list) or not value or not all(
            v is None or isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
            for v in value):
        raise TypeMetadataInvalid("a claim path is a non-empty array of strings, nulls and non-negative integers")
    return tuple(value)


def _claim_metadata(value: Any) -> ClaimMetadata:
    if not isinstance(value, dict):
        raise TypeMetadataInvalid("claims holds objects")
    mandatory, sd, svg_id = value.get("mandatory", False), value.get("sd", SD_ALLOWED), value.get("svg_id")
    if not isinstance(mandatory, bool):
        raise TypeMetadataInvalid("mandatory is a boolean")
    if sd not in (SD_ALWAYS, SD_ALLOWED, SD_NEVER):
        raise TypeMetadataInvalid(f"sd is always, allowed or never, not {sd!r}")
    if svg_id is not None and not (isinstance(svg_id, str) and _SVG_ID.fullmatch(svg_id)):
        raise TypeMetadataInvalid("svg_id is alphanumeric with underscores, not starting with a digit")
    return ClaimMetadata(_claim_path(value.get("path")), _display(value.get("display"), "label"), mandatory, sd,
                         svg_id)


def parse_type_metadata(document: Any, *, vct: str | None = None) -> TypeMetadata:
    """"Type Metadata Format". `vct`: the credential's type, which the document must name exactly."""
    if not isinstance(document, dict):
        raise TypeMetadataInvalid("Type Metadata is a JSON object")
    doc_vct = document.get(VCT)
    if not isinstance(doc_vct, str) or not doc_vct:
        raise TypeMetadataInvalid("Type Metadata has a vct string")
    if vct is not None and doc_vct != vct:
        raise TypeMetadataInvalid(f"Type Metadata describes {doc_vct!r}, not {vct!r}")
    raw_claims = document.get("claims", [])
    if not isinstance(raw_claims, list):
        raise TypeMetadataInvalid("claims is an array")
    claims = tuple(_claim_metadata(c) for c in raw_claims)
    svg_ids = [c.svg_id for c in claims if c.svg_id is not None]
    if len(svg_ids) != len(set(svg_ids)):
        raise TypeMetadataInvalid("svg_id values are unique")
    return TypeMetadata(doc_vct, _optional_str(document, "name"), _optional_str(document, "description"),
                        _optional_str(document, "extends"), _display(document.get("display"), "name"), claims,
                        document)


@dataclass(frozen=True)
class DisclosureRules:
    """Concrete claim paths of one payload: what must, may and must not be selectively disclosable."""

    must: tuple[ClaimPath, ...]
    may: tuple[ClaimPath, ...]
    must_not: tuple[ClaimPath, ...]


def selective_disclosure_rules(type_metadata: TypeMetadata, payload: Mapping[str, Any]) -> DisclosureRules:
    """Apply "Claim Metadata" (`sd`, `mandatory`) and the registered-claim rules to an unsecured
    payload (all claims in the clear): issuers choose what to hide with it, wallets check offers."""
    buckets: dict[str, dict[ClaimPath, None]] = {SD_ALWAYS: {}, SD_ALLOWED: {}, SD_NEVER: {}}
    for claim in type_metadata.claims:
        paths = select_claim_paths(dict(payload), claim.path)
        if not paths and claim.mandatory:
            raise ClaimInvalid(f"type metadata makes claim {claim.path} mandatory and it is missing")
        for path in paths:
            buckets[claim.sd][path] = None
    for name in NEVER_DISCLOSABLE & payload.keys():
        buckets[SD_NEVER][(name,)] = None
    clash = buckets[SD_ALWAYS].keys() & buckets[SD_NEVER].keys()
    if clash:
        raise TypeMetadataInvalid(f"claim {sorted(clash, key=str)[0]} cannot be both sd always and never")
    may = [p for p in buckets[SD_ALLOWED] if p not in buckets[SD_ALWAYS] and p not in buckets[SD_NEVER]]
    return DisclosureRules(tuple(buckets[SD_ALWAYS]), tuple(may), tuple(buckets[SD_NEVER]))


def check_presentation_against_type_metadata(type_metadata: TypeMetadata, verified: VerifiedSdJwt) -> None:
    """A verifier's check of `sd`: an `always` claim must have come from a Disclosure, a `never` one
    must not. An undisclosed claim is not "missing", so `mandatory` binds only `sd: never` claims."""
    disclosed = set(verified.disclosed_paths)
    for claim in type_metadata.claims:
        paths = select_claim_paths(verified.claims, claim.path)
        if claim.mandatory and claim.sd == SD_NEVER and not paths:
            raise ClaimInvalid(f"mandatory claim {claim.path} is missing")
        for path in paths:
            if claim.sd == SD_ALWAYS and not any(path[:n] in disclosed for n in range(1, len(path) + 1)):
                raise ClaimInvalid(f"claim {path} must be selectively disclosable but was issued in the clear")
            if claim.sd == SD_NEVER and path in disclosed:
                raise NonDisclosableClaim(f"claim {path} must not be selectively disclosable")

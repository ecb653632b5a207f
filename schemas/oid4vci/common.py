"""Shared pieces of the OpenID4VCI 1.0 messages: identifiers, the base model, parsing, claims paths.

OpenID for Verifiable Credential Issuance 1.0 (final, errata set 1),
https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html

Every inbound message is parsed through `parse_model`, which turns a Pydantic
`ValidationError` into a protocol error (`invalid_request` unless the caller names a
more specific one). Models keep unknown members (`extra="allow"`): the specs say
"MUST ignore any unrecognized parameters", and keeping them makes round trips lossless.
`ProtocolModel.dump()` gives the wire JSON (wire names, unset and null members left out).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from schemas.oauth2 import InvalidRequest, ProtocolError

__all__ = [
    "CLAIMS_PATH_MAX_LENGTH",
    "CREDENTIAL_ISSUER_WELL_KNOWN",
    "FORMAT_DC_SD_JWT",
    "FORMAT_JWT_VC_JSON",
    "FORMAT_JWT_VC_JSON_LD",
    "FORMAT_LDP_VC",
    "FORMAT_MSO_MDOC",
    "FORMATS_W3C",
    "ISSUER_METADATA_TYP",
    "KEY_ATTESTATION_TYP",
    "OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN",
    "OFFER_SCHEME",
    "OPENID_CREDENTIAL",
    "PRE_AUTHORIZED_CODE_GRANT",
    "PROOF_JWT_TYP",
    "ClaimsPath",
    "Identifier",
    "JsonObject",
    "LongText",
    "ProtocolModel",
    "Text",
    "Url",
    "authorization_server_metadata_url",
    "check_claims_path",
    "credential_issuer_metadata_url",
    "find_claims_conflict",
    "is_loopback_http",
    "parse_model",
    "well_known_url",
]

#: §4.1.1: the grant type of the Pre-Authorized Code Flow.
PRE_AUTHORIZED_CODE_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: §12.1.1: custom scheme to invoke a Wallet whose Credential Offer Endpoint is unknown.
OFFER_SCHEME = "openid-credential-offer://"
#: App. F.1: `typ` of a `jwt` key proof.
PROOF_JWT_TYP = "openid4vci-proof+jwt"
#: App. D.1: `typ` of a key attestation JWT.
KEY_ATTESTATION_TYP = "key-attestation+jwt"
#: §12.2.3: `typ` of signed Credential Issuer Metadata.
ISSUER_METADATA_TYP = "openidvci-issuer-metadata+jwt"
#: §5.1.1: authorization details type.
OPENID_CREDENTIAL = "openid_credential"
#: §12.2.2 and RFC 8414 §3: well-known suffixes.
CREDENTIAL_ISSUER_WELL_KNOWN = "openid-credential-issuer"
OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN = "oauth-authorization-server"

#: App. A: Credential Format Identifiers (shared with OpenID4VP App. B).
FORMAT_JWT_VC_JSON = "jwt_vc_json"
FORMAT_JWT_VC_JSON_LD = "jwt_vc_json-ld"
FORMAT_LDP_VC = "ldp_vc"
FORMAT_MSO_MDOC = "mso_mdoc"
FORMAT_DC_SD_JWT = "dc+sd-jwt"
FORMATS_W3C = frozenset({FORMAT_JWT_VC_JSON, FORMAT_JWT_VC_JSON_LD, FORMAT_LDP_VC})

CLAIMS_PATH_MAX_LENGTH = 32

# Size limits live in the types, not in the routes.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Text = Annotated[str, StringConstraints(max_length=2048)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=65536)]
JsonObject = dict[str, Any]


def check_claims_path(path: list[Any]) -> list[Any]:
    """App. C / OpenID4VP §7: a non-empty array of strings, non-negative integers and nulls."""
    for component in path:
        if component is None or (isinstance(component, str) and len(component) <= 512):
            continue
        if isinstance(component, int) and not isinstance(component, bool) and component >= 0:
            continue
        raise ValueError("claims path components must be strings, non-negative integers or null")
    return path


ClaimsPath = Annotated[
    list[Any], Field(min_length=1, max_length=CLAIMS_PATH_MAX_LENGTH), AfterValidator(check_claims_path)
]


def find_claims_conflict(paths: Iterable[Sequence[Any]]) -> str | None:
    """App. B.3 "Processing Rules for Claims Description Objects": name the first repeated or
    contradictory description, or None.

    Contradictory: the same claim twice; `null` and an index into the same array; or one
    path treating a claim as an array (`null`/index) and another as an object (string).
    """
    seen: set[tuple[Any, ...]] = set()
    # For each prefix: how its child was addressed, "key", "all" (null) or "index".
    access: dict[tuple[Any, ...], str] = {}
    for path in paths:
        full = tuple(path)
        if full in seen:
            return f"claim {list(full)} is described twice"
        seen.add(full)
        for i, component in enumerate(full):
            kind = "key" if isinstance(component, str) else "all" if component is None else "index"
            prefix = full[:i]
            known = access.setdefault(prefix, kind)
            if known != kind:
                return f"claims under {list(prefix)} are addressed both as {known} and as {kind}"
    return None


class ProtocolModel(BaseModel):
    """Base of inbound/outbound protocol messages: unknown members are kept, wire names kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The message as wire JSON: aliases, no unset defaults, no null members."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)

    def dump_json(self) -> str:
        return json.dumps(self.dump(), separators=(",", ":"), ensure_ascii=False)


_M = TypeVar("_M", bound=BaseModel)


def _describe(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        location = ".".join(str(part) for part in error["loc"])
        parts.append(f"{location}: {message}" if location else message)
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_model(model: type[_M], data: Any, *, error: type[ProtocolError] = InvalidRequest) -> _M:
    """Validate outside input (a dict, or JSON text/bytes) into `model`.

    A malformed message raises `error` (default `invalid_request`) with a readable,
    input-free description such as `credential_configuration_ids: List should have at least 1 item`.
    """
    try:
        if isinstance(data, str | bytes | bytearray):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(_describe(exc), internal=str(exc)) from None


def is_loopback_http(url: str) -> bool:
    """An `http` URL whose host is a loopback address (the only plain-http URLs we ever allow)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def well_known_url(identifier: str, well_known: str) -> str:
    """RFC 8414 §3 / OpenID4VCI §12.2.2: insert `/.well-known/<name>` between host and path.

    `https://issuer.example.edu/inst/42` -> `https://issuer.example.edu/.well-known/<name>/inst/42`.
    The identifier must be an https URL (http only for loopback) without query or fragment.
    """
    parts = urlsplit(identifier)
    if not (parts.scheme == "https" or is_loopback_http(identifier)) or not parts.hostname:
        raise InvalidRequest("the identifier must be an https URL")
    if parts.query or parts.fragment or "?" in identifier or "#" in identifier:
        raise InvalidRequest("the identifier must not have a query or fragment")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{well_known}{path}", "", ""))


def credential_issuer_metadata_url(credential_issuer: str) -> str:
    """§12.2.2: where the Credential Issuer Metadata of `credential_issuer` lives."""
    return well_known_url(credential_issuer, CREDENTIAL_ISSUER_WELL_KNOWN)


def authorization_server_metadata_url(issuer: str) -> str:
    """RFC 8414 §3: where the Authorization Server Metadata of `issuer` lives."""
    return well_known_url(issuer, OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN)

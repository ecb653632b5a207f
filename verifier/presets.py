"""Ready-made DCQL queries (OpenID4VP 1.0 §6) for what an employer usually asks.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#section-6

- `ob3`: any Open Badge 3.0 credential as `jwt_vc_json`. `type_values` compares *expanded*
  type IRIs; wallets that skip JSON-LD compare the bare term, so both are offered
  (`OpenBadgeCredential` expands to the IRI below under the OB 3.0 context).
- `ob3` with an achievement name: the same, plus a claim on
  `credentialSubject.achievement.name` with that value.
- `sd-jwt`: an SD-JWT VC (`dc+sd-jwt`) of the given `vct` values, asking for the listed
  claim paths (dotted, `*` or a number for array elements).
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.oauth2 import InvalidRequest

__all__ = ["OB3_TYPE_IRI", "OB3_TYPE_VALUES", "Preset", "dcql_for_preset", "parse_claim_path"]

Preset = Literal["ob3", "sd-jwt"]

OB3_TYPE_IRI = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"
OB3_TYPE_VALUES: list[list[str]] = [[OB3_TYPE_IRI], ["OpenBadgeCredential"]]
#: The EU learning credential type, used when an `sd-jwt` preset names no `vct`.
DEFAULT_VCT = "urn:eu.europa.ec.eudi:learning:credential:1"


def parse_claim_path(path: str | list[Any]) -> list[str | int | None]:
    """`achievement.name` → `["achievement", "name"]`; `*` selects every array element; digits an index."""
    if isinstance(path, list):
        parts: list[Any] = path
    else:
        if not isinstance(path, str) or not path.strip():
            raise InvalidRequest("a claim path is a non-empty dotted string")
        parts = [p for p in path.strip().split(".")]
    result: list[str | int | None] = []
    for part in parts:
        if part is None or part == "*":
            result.append(None)
        elif isinstance(part, int) and not isinstance(part, bool) and part >= 0:
            result.append(part)
        elif isinstance(part, str) and part.isdigit():
            result.append(int(part))
        elif isinstance(part, str) and part:
            result.append(part)
        else:
            raise InvalidRequest(f"invalid claim path element {part!r}")
    if not result:
        raise InvalidRequest("a claim path is never empty")
    return result


def dcql_for_preset(
    preset: Preset,
    *,
    achievement: str | None = None,
    claims: list[str | list[Any]] | None = None,
    vct_values: list[str] | None = None,
) -> dict[str, Any]:
    """The DCQL query of a preset."""
    if preset == "ob3":
        if vct_values:
            raise InvalidRequest("vct_values belong to the sd-jwt preset")
        query: dict[str, Any] = {"id": "openbadge", "format": "jwt_vc_json", "meta": {"type_values": OB3_TYPE_VALUES}}
        requested: list[dict[str, Any]] = []
        if achievement is not None:
            if not achievement.strip():
                raise InvalidRequest("the achievement name is empty")
            requested.append({"id": "achievement", "path": ["credentialSubject", "achievement", "name"],
                              "values": [achievement]})
        requested += [{"path": parse_claim_path(path)} for path in claims or []]
        if requested:
            query["claims"] = requested
        return {"credentials": [query]}
    if preset == "sd-jwt":
        if achievement is not None:
            raise InvalidRequest("an achievement name belongs to the ob3 preset; ask for claim paths instead")
        requested = [{"path": parse_claim_path(path)} for path in claims or []]
        query = {"id": "credential", "format": "dc+sd-jwt", "meta": {"vct_values": vct_values or [DEFAULT_VCT]}}
        if requested:
            query["claims"] = requested
        return {"credentials": [query]}
    raise InvalidRequest(f"unknown preset {preset!r}")

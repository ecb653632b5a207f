"""Digital Credentials Query Language (OpenID4VP 1.0 §6, format parameters in App. B).

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#name-digital-credentials-query-l

The models check the §6 rules when a query is parsed: unique Credential Query ids of
`[A-Za-z0-9_-]+`, `meta` present with the per-format key (`vct_values`, `type_values`,
`doctype_value`), claim ids present and unique when `claim_sets` is used, `claim_sets`
and `credential_sets` referring only to existing ids. Parse outside input with
`parse_dcql_query`, which answers an invalid query with `invalid_request`.
Unknown properties are kept ("Implementations MUST ignore any unknown properties").
Evaluation against credentials lives in `vc.dcql`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, StringConstraints, model_validator

from schemas.oid4vci import (
    FORMAT_DC_SD_JWT,
    FORMAT_MSO_MDOC,
    FORMATS_W3C,
    ClaimsPath,
    Identifier,
    ProtocolModel,
    Url,
    parse_model,
)

__all__ = [
    "DCQL_ID_PATTERN",
    "ClaimsQuery",
    "CredentialQuery",
    "CredentialQueryMeta",
    "CredentialSetQuery",
    "DcqlId",
    "DcqlQuery",
    "TrustedAuthoritiesQuery",
    "parse_dcql_query",
]

#: §6.1 / §6.3: "a non-empty string consisting of alphanumeric, underscore or hyphen characters".
DCQL_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
DcqlId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=DCQL_ID_PATTERN)]

_Strings = Annotated[list[Url], Field(min_length=1, max_length=100)]
#: §6.3 `values`: strings, integers or booleans, matched by type and value.
_ClaimValue = Annotated[StrictStr, StringConstraints(max_length=2048)] | StrictInt | StrictBool


def _unique(ids: list[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"{what} {', '.join(duplicates)} used more than once")


class ClaimsQuery(ProtocolModel):
    """§6.3 Claims Query (plus the mdoc `intent_to_retain` of App. B.2, kept as-is)."""

    id: DcqlId | None = None
    path: ClaimsPath
    values: Annotated[list[_ClaimValue], Field(min_length=1, max_length=100)] | None = None


class TrustedAuthoritiesQuery(ProtocolModel):
    """§6.1.1 Trusted Authorities Query (`aki`, `etsi_tl`, `openid_federation`, ...): a hint only."""

    type: Identifier
    values: _Strings


class CredentialQueryMeta(ProtocolModel):
    """§6.1 `meta` with the App. B keys: `vct_values` (dc+sd-jwt), `type_values` (W3C formats,
    alternatives of fully expanded type IRIs), `doctype_value` (mso_mdoc)."""

    vct_values: _Strings | None = None
    type_values: Annotated[list[_Strings], Field(min_length=1, max_length=100)] | None = None
    doctype_value: Identifier | None = None


#: The `meta` key each format requires (App. B.1.1, B.2, B.3).
_REQUIRED_META = {FORMAT_DC_SD_JWT: "vct_values", FORMAT_MSO_MDOC: "doctype_value"} | dict.fromkeys(
    FORMATS_W3C, "type_values"
)


class CredentialQuery(ProtocolModel):
    """§6.1 Credential Query."""

    id: DcqlId
    format: Identifier
    multiple: StrictBool = False
    meta: CredentialQueryMeta
    trusted_authorities: Annotated[list[TrustedAuthoritiesQuery], Field(min_length=1, max_length=20)] | None = None
    require_cryptographic_holder_binding: StrictBool = True
    claims: Annotated[list[ClaimsQuery], Field(min_length=1, max_length=100)] | None = None
    claim_sets: (
        Annotated[
            list[Annotated[list[DcqlId], Field(min_length=1, max_length=100)]], Field(min_length=1, max_length=64)
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _rules(self) -> CredentialQuery:
        required = _REQUIRED_META.get(self.format)
        if required and getattr(self.meta, required) is None:
            raise ValueError(f"meta.{required} is required for format {self.format}")
        if self.format == FORMAT_MSO_MDOC:
            # §7.2: an mdoc claims path is exactly a namespace and a data element identifier.
            for claim in self.claims or ():
                if len(claim.path) != 2 or not all(isinstance(part, str) for part in claim.path):
                    raise ValueError("an mso_mdoc claims path is [namespace, data element identifier]")
        if self.claim_sets is not None:
            if self.claims is None:
                raise ValueError("claim_sets MUST NOT be present if claims is absent")
            ids = [claim.id for claim in self.claims]
            if any(claim_id is None for claim_id in ids):
                raise ValueError("every claim needs an id when claim_sets is present")
            unknown = sorted({claim_id for option in self.claim_sets for claim_id in option} - set(ids))
            if unknown:
                raise ValueError(f"claim_sets refer to unknown claim ids: {', '.join(unknown)}")
        if self.claims is not None:
            _unique([claim.id for claim in self.claims if claim.id is not None], "claim id")
        return self


class CredentialSetQuery(ProtocolModel):
    """§6.2 Credential Set Query: `options` (alternative sets of Credential Query ids), `required` (default true)."""

    options: Annotated[
        list[Annotated[list[DcqlId], Field(min_length=1, max_length=100)]], Field(min_length=1, max_length=64)
    ]
    required: StrictBool = True


class DcqlQuery(ProtocolModel):
    """§6 DCQL query: `credentials` and optional `credential_sets`."""

    credentials: Annotated[list[CredentialQuery], Field(min_length=1, max_length=100)]
    credential_sets: Annotated[list[CredentialSetQuery], Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _ids(self) -> DcqlQuery:
        ids = [query.id for query in self.credentials]
        _unique(ids, "credential query id")
        known = set(ids)
        for credential_set in self.credential_sets or ():
            unknown = sorted({i for option in credential_set.options for i in option} - known)
            if unknown:
                raise ValueError(f"credential_sets refer to unknown credential query ids: {', '.join(unknown)}")
        return self

    def credential(self, query_id: str) -> CredentialQuery:
        """The Credential Query with this id (KeyError if there is none)."""
        for query in self.credentials:
            if query.id == query_id:
                return query
        raise KeyError(query_id)


def parse_dcql_query(data: Any) -> DcqlQuery:
    """Parse a DCQL query (dict or JSON text); an invalid one raises `invalid_request`."""
    return parse_model(DcqlQuery, data)

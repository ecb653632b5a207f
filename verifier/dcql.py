"""The verifier's side of DCQL (OpenID4VP 1.0 §6, §8.1): what it may ask, and whether an answer fits.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#section-6

- `check_dcql_query`: parse a query (`schemas.dcql`) and keep to the formats this verifier
  verifies (`jwt_vc_json`, `dc+sd-jwt`).
- `vp_token_errors`: §8.1 / §6.4.2: the `vp_token` names only requested queries, one
  presentation unless `multiple`, and satisfies every required credential set (without
  `credential_sets`, every credential query is required).
- `credential_query_errors`: one credential against its query (`vc.dcql.check_presentations`):
  format, `vct_values` / `type_values`, and the claims (with `values`, and `claim_sets` when
  given). The wallet's matching is only best effort: "the Verifier MUST re-check everything".
"""

from __future__ import annotations

from typing import Any

from schemas.dcql import CredentialQuery, DcqlQuery, parse_dcql_query
from schemas.oauth2 import InvalidRequest
from vc.dcql import Candidate, check_presentations

__all__ = ["SUPPORTED_FORMATS", "check_dcql_query", "credential_query_errors", "vp_token_errors"]

SUPPORTED_FORMATS = ("jwt_vc_json", "dc+sd-jwt")


def check_dcql_query(query: Any) -> DcqlQuery:
    """Parse a DCQL query the verifier is asked to send; `InvalidRequest` when it cannot be answered here."""
    parsed = parse_dcql_query(query)
    for credential in parsed.credentials:
        if credential.format not in SUPPORTED_FORMATS:
            raise InvalidRequest(f"format {credential.format} is not verified here; use {' or '.join(SUPPORTED_FORMATS)}")
    return parsed


def vp_token_errors(query: DcqlQuery, vp_token: dict[str, list[Any]]) -> list[str]:
    """Why a `vp_token` does not answer `query` (empty when it does)."""
    problems: list[str] = []
    known = {credential.id: credential for credential in query.credentials}
    for query_id, presentations in vp_token.items():
        if query_id not in known:
            problems.append(f"vp_token answers {query_id!r}, which was not asked for")
        elif len(presentations) > 1 and not known[query_id].multiple:
            problems.append(f"{query_id!r} allows one presentation, got {len(presentations)}")
    answered = set(vp_token) & set(known)
    if query.credential_sets is None:
        missing = sorted(set(known) - answered)
        if missing:
            problems.append(f"no presentation for {', '.join(missing)}")
    else:
        for credential_set in query.credential_sets:
            if credential_set.required and not any(set(option) <= answered for option in credential_set.options):
                problems.append("a required credential set is not satisfied: "
                                + " or ".join("+".join(option) for option in credential_set.options))
    return problems


def credential_query_errors(query: CredentialQuery, fmt: str, types: list[str], claims: dict[str, Any]) -> list[str]:
    """Why one presented credential does not answer its credential query (empty when it does), by `vc.dcql`."""
    candidate = Candidate(id=query.id, format=fmt, claims=claims,
                          vct=types[0] if fmt == "dc+sd-jwt" and types else None,
                          type=tuple(types) if fmt != "dc+sd-jwt" else ())
    check = check_presentations(DcqlQuery(credentials=[query]), {query.id: [candidate]})
    return [] if check.satisfied else list(check.problems) or ["the credential does not answer the query"]

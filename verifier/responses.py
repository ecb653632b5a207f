"""The Response Endpoint: take a wallet's answer, claim the request once, verify, keep the verdict.

OpenID4VP 1.0 §8.2 (`direct_post`), §8.3 (`direct_post.jwt`), §8.6 / §14 (verifier checks),
§13.3 (same-device `redirect_uri` with a fresh `response_code`):
https://openid.net/specs/openid-4-verifiable-presentations-1_0.html

- `direct_post`: form `vp_token` (JSON object: query id -> presentations) + `state`, or
  `error` + `state`. A request that asked for `direct_post.jwt` refuses a plain `vp_token`.
- `direct_post.jwt`: form `response=<JWE>`, `alg ECDH-ES` to the request's ephemeral key
  (found by the JWE `kid`), `enc` A128GCM or A256GCM, no compression; its payload carries
  the same parameters, `state` included.
- The request is read (nothing written), the answer verified, then one conditional UPDATE
  claims the request and stores the verdict together: a second answer, or a racing one, gets
  `invalid_request` and changes nothing.
- Stored: the verdict, each named check, and only the claims the credentials disclosed. A request
  with a webhook is marked due for delivery in the same transaction (`verifier.webhooks`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy.engine import Engine

from schemas.dcql import parse_dcql_query
from schemas.oauth2 import InvalidRequest, ProtocolError
from schemas.oid4vci import parse_model
from schemas.oid4vp import AuthorizationResponse
from vc.checks import CHECK_NAMES, DCQL, CredentialReport, check_dcql, check_sd_jwt_vc, check_vp_jwt
from vc.encoding import b64url_decode
from vc.errors import MalformedToken
from vc.keys import MasterKey
from verifier.models import RequestStatus, as_utc, utcnow
from verifier.requests import (
    ENCRYPTED_RESPONSE_ENC_VALUES,
    ENCRYPTION_ALG,
    RequestToAnswer,
    answer_presentation_request,
    encryption_private_jwk,
    find_request_to_answer,
)
from verifier.settings import VerifierSettings
from verifier.summary import badge_summary
from verifier.verification import VerificationService, trusted_issuers_for
from verifier.webhooks import schedule_webhook

__all__ = ["PresentationRejected", "ResponseOutcome", "handle_authorization_response", "verify_vp_token"]

INVALID_PRESENTATION = "invalid_presentation"
_JWE_ALGORITHMS = [ENCRYPTION_ALG, *ENCRYPTED_RESPONSE_ENC_VALUES]


class PresentationRejected(InvalidRequest):
    """The response was processed, and its presentation refused (the result says why, check by check)."""


@dataclass
class ResponseOutcome:
    request: RequestToAnswer
    #: The request's status now: `verified` or `rejected`.
    status: str
    redirect_uri: str | None = None
    rejection: ProtocolError | None = None


def _jwe_header(token: str) -> dict[str, Any]:
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (MalformedToken, ValueError) as exc:
        raise InvalidRequest("response is not a compact JWE") from exc
    if not isinstance(header, dict) or token.count(".") != 4:
        raise InvalidRequest("response is not a compact JWE")
    return header


def _decrypt(master_key: MasterKey, token: str, request: RequestToAnswer) -> dict[str, Any]:
    """§8.3: decrypt the response with the ephemeral key of the request its JWE `kid` named."""
    key = ECKey.import_key(encryption_private_jwk(master_key, request))
    try:
        plaintext = jwe.decrypt_compact(token, key, algorithms=_JWE_ALGORITHMS).plaintext
        payload = json.loads(plaintext or b"")
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequest("the response JWE does not decrypt with this request's key") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("the decrypted response is not a JSON object")
    return payload


def _open_request(request: RequestToAnswer | None, now: datetime) -> RequestToAnswer:
    """The request an answer names, if it can still be answered (the conditional UPDATE decides races)."""
    if request is None:
        raise InvalidRequest("state names no presentation request")
    if request.answered_at is not None:
        raise InvalidRequest("the presentation request has already been answered")
    if as_utc(request.expires_at) <= now:
        raise InvalidRequest("the presentation request has expired")
    return request


@dataclass
class _Answer:
    request: RequestToAnswer
    response: AuthorizationResponse
    #: The issuers trusted for this request (`trusted_issuers_for`).
    trusted_issuers: Collection[str] | None


def _read_answer(engine: Engine, settings: VerifierSettings, master_key: MasterKey, form: dict[str, str],
                 now: datetime) -> _Answer:
    """Read the answer and find its request (with its trusted issuers) in one short read
    transaction; nothing is written, so an answer that cannot be read uses nothing up."""
    encrypted = form.get("response")
    if encrypted is not None:
        if set(form) - {"response"}:
            raise InvalidRequest("an encrypted response carries only the response parameter")
        header = _jwe_header(encrypted)
        if header.get("alg") != ENCRYPTION_ALG or header.get("enc") not in ENCRYPTED_RESPONSE_ENC_VALUES:
            raise InvalidRequest("the response must be encrypted with ECDH-ES and A128GCM or A256GCM")
        if "zip" in header:
            raise InvalidRequest("compressed responses are not accepted")
        kid = header.get("kid")
        request, trusted = _lookup(engine, settings, request_id=kid if isinstance(kid, str) else None)
        if request is None or request.response_mode != "direct_post.jwt":
            raise InvalidRequest("the JWE kid names no request that expects an encrypted response")
        response = parse_model(AuthorizationResponse, _decrypt(master_key, encrypted, request))
        if response.state != request.state:
            raise InvalidRequest("state does not match the request")
        return _Answer(_open_request(request, now), response, trusted)
    response = parse_model(AuthorizationResponse, form)
    if response.state is None:
        raise InvalidRequest("state is required")
    found, trusted = _lookup(engine, settings, state=response.state)
    request = _open_request(found, now)
    # A plain vp_token only answers a request that did not ask for an encrypted response.
    if response.vp_token is not None and request.response_mode == "direct_post.jwt":
        raise InvalidRequest("this request asked for an encrypted response (direct_post.jwt)")
    return _Answer(request, response, trusted)


def _lookup(engine: Engine, settings: VerifierSettings, *, request_id: str | None = None,
            state: str | None = None) -> tuple[RequestToAnswer | None, Collection[str] | None]:
    with engine.begin() as connection:
        request = find_request_to_answer(connection, request_id=request_id, state=state)
        trusted = trusted_issuers_for(connection, settings, request.trusted_issuers) if request else None
    return request, trusted


def _aggregate(reports: list[CredentialReport]) -> dict[str, dict[str, Any]]:
    """Each named check over all credentials: failed if any failed, passed if any passed, else skipped."""
    if len(reports) == 1 and reports[0].checks.keys() >= set(CHECK_NAMES):  # the usual answer: one credential
        return {name: reports[0].checks[name].to_json() for name in CHECK_NAMES}
    checks: dict[str, dict[str, Any]] = {}
    for name in CHECK_NAMES:
        results = [r.checks[name] for r in reports if name in r.checks]
        failed = [c for c in results if c.outcome == "failed"]
        outcome = "failed" if failed or not results else "passed" if any(
            c.outcome == "passed" for c in results) else "skipped"
        entry: dict[str, Any] = {"outcome": outcome}
        reasons = sorted({c.reason for c in (failed if failed else results) if c.reason})
        if not results:
            reasons = ["no credential was presented"]
        if reasons:
            entry["reason"] = "; ".join(reasons)
        errors = sorted({c.error for c in failed if c.error})
        if errors:
            entry["error"] = errors[0]
        checks[name] = entry
    return checks


def verify_vp_token(*, service: VerificationService, request: RequestToAnswer, vp_token: dict[str, list[Any]],
                    trusted_issuers: Collection[str] | None, now: datetime | None = None) -> dict[str, Any]:
    """Verify every presentation in `vp_token` against the request (each credential's named checks,
    then the DCQL check over the whole token, §8.6); returns the result to keep."""
    query = parse_dcql_query(request.dcql_query)
    queries = {q.id: q for q in query.credentials}
    binding = service.holder_binding(client_id=request.client_id, nonce=request.nonce)
    problems: list[str] = []
    presented: dict[str, list[CredentialReport]] = {}
    for query_id, presentations in vp_token.items():
        reports = presented.setdefault(query_id, [])
        credential_query = queries.get(query_id)
        if credential_query is None:
            continue  # named by the DCQL check
        context = service.context(trusted_issuers=trusted_issuers, holder_binding=binding, now=now,
                                  require_holder_binding=credential_query.require_cryptographic_holder_binding)
        for presentation in presentations:
            if not isinstance(presentation, str):
                problems.append(f"{query_id}: a {credential_query.format} presentation must be a string")
            elif credential_query.format == "dc+sd-jwt":
                reports.append(check_sd_jwt_vc(presentation, context))
            else:
                reports.extend(check_vp_jwt(presentation, context))
    dcql = check_dcql(query, presented)
    problems.extend(dcql.problems)
    credentials = [{"query_id": query_id, **report.to_json(), "summary": badge_summary(report.format, report.claims)}
                   for query_id, reports in presented.items() for report in reports]
    reports = [report for reports in presented.values() for report in reports]
    checks = _aggregate(reports)
    if not dcql.satisfied:
        checks[DCQL] = {"outcome": "failed", "reason": "; ".join(dcql.problems)}
    verified = bool(reports) and not problems and all(r.verified for r in reports)
    errors = [e for r in reports for e in r.errors]
    return {
        "verdict": RequestStatus.VERIFIED if verified else RequestStatus.REJECTED,
        "error": None if verified else (errors[0] if errors else INVALID_PRESENTATION),
        "problems": problems,
        "checks": checks,
        "claims": {c["query_id"]: c["claims"] for c in reversed(credentials)},
        "summary": credentials[0]["summary"] if credentials else None,
        "credentials": credentials,
    }


def handle_authorization_response(*, engine: Engine, settings: VerifierSettings, master_key: MasterKey,
                                  service: VerificationService, form: dict[str, str],
                                  now: datetime | None = None) -> ResponseOutcome:
    """Process one POST to the response endpoint; raises `InvalidRequest` for what is not processed.

    One short read transaction finds the request (and its trusted issuers); the answer is
    verified outside any transaction; then one conditional UPDATE claims the request and stores
    the verdict together. Of two racing answers exactly one is kept; the other changes nothing.
    """
    now = now or utcnow()
    answer = _read_answer(engine, settings, master_key, form, now)
    request, response = answer.request, answer.response
    response_code = None
    if response.error is not None:
        result: dict[str, Any] = {
            "verdict": RequestStatus.REJECTED, "error": response.error,
            "error_description": response.error_description, "problems": [], "checks": {}, "claims": {},
            "credentials": [], "summary": None}
    else:
        assert response.vp_token is not None
        result = verify_vp_token(service=service, request=request, vp_token=response.vp_token,
                                 trusted_issuers=answer.trusted_issuers, now=now)
        response_code = secrets.token_urlsafe(24) if request.redirect_uri else None
    with engine.begin() as connection:
        answered = answer_presentation_request(connection, request.id, result=result, response_code=response_code,
                                               now=now)
        if answered and request.webhook_url:  # the webhook outbox: owed in the same transaction as the answer
            schedule_webhook(connection, request.id, now)
    if not answered:
        raise InvalidRequest("the presentation request has already been answered")
    if result["verdict"] == RequestStatus.REJECTED and response.error is None:
        failed = [name for name, check in result["checks"].items() if check["outcome"] == "failed"]
        why = ", ".join(failed + result["problems"]) or "no credential"
        error = f" ({result['error']})" if result["error"] != INVALID_PRESENTATION else ""
        return ResponseOutcome(request, result["verdict"],
                               rejection=PresentationRejected(f"presentation rejected: {why}{error}"))
    redirect = f"{request.redirect_uri}#response_code={response_code}" if response_code else None
    return ResponseOutcome(request, result["verdict"], redirect_uri=redirect)

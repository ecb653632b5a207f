"""The Response Endpoint: take a wallet's answer, claim the request once, verify, keep the verdict.

OpenID4VP 1.0 §8.2 (`direct_post`), §8.3 (`direct_post.jwt`), §8.6 / §14 (verifier checks),
§13.3 (same-device `redirect_uri` with a fresh `response_code`):
https://openid.net/specs/openid-4-verifiable-presentations-1_0.html

- `direct_post`: form `vp_token` (JSON object: query id -> presentations) + `state`, or
  `error` + `state`. A request that asked for `direct_post.jwt` refuses a plain `vp_token`.
- `direct_post.jwt`: form `response=<JWE>`, `alg ECDH-ES` to the request's ephemeral key
  (found by the JWE `kid`), `enc` A128GCM or A256GCM, no compression; its payload carries
  the same parameters, `state` included.
- The request is claimed by one conditional UPDATE before anything is verified: a second
  answer, or a racing one, gets `invalid_request` and changes nothing.
- Stored: the verdict, each named check, and only the claims the credentials disclosed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import update
from sqlmodel import Session, col, select

from schemas.dcql import parse_dcql_query
from schemas.oauth2 import InvalidRequest, ProtocolError
from schemas.oid4vci import parse_model
from schemas.oid4vp import AuthorizationResponse
from vc.checks import CHECK_NAMES, CredentialReport, check_sd_jwt_vc, check_vp_jwt
from vc.encoding import b64url_decode
from vc.errors import MalformedToken
from vc.keys import MasterKey
from verifier.dcql import credential_query_errors, vp_token_errors
from verifier.models import PresentationRequest, RequestStatus, as_utc, utcnow
from verifier.requests import (
    ENCRYPTED_RESPONSE_ENC_VALUES,
    ENCRYPTION_ALG,
    claim_presentation_request,
    encryption_private_jwk,
)
from verifier.settings import VerifierSettings
from verifier.summary import badge_summary
from verifier.verification import VerificationService, trusted_issuers_for

__all__ = ["PresentationRejected", "ResponseOutcome", "handle_authorization_response", "verify_vp_token"]

INVALID_PRESENTATION = "invalid_presentation"
_JWE_ALGORITHMS = [ENCRYPTION_ALG, *ENCRYPTED_RESPONSE_ENC_VALUES]


class PresentationRejected(InvalidRequest):
    """The response was processed, and its presentation refused (the result says why, check by check)."""


@dataclass
class ResponseOutcome:
    request: PresentationRequest
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


def _decrypt(session: Session, master_key: MasterKey, token: str) -> tuple[PresentationRequest, dict[str, Any]]:
    """§8.3: find the request by the JWE `kid`, decrypt with its ephemeral key, parse the payload."""
    header = _jwe_header(token)
    if header.get("alg") != ENCRYPTION_ALG or header.get("enc") not in ENCRYPTED_RESPONSE_ENC_VALUES:
        raise InvalidRequest("the response must be encrypted with ECDH-ES and A128GCM or A256GCM")
    if "zip" in header:
        raise InvalidRequest("compressed responses are not accepted")
    kid = header.get("kid")
    request = session.get(PresentationRequest, kid) if isinstance(kid, str) and len(kid) <= 64 else None
    if request is None or request.response_mode != "direct_post.jwt":
        raise InvalidRequest("the JWE kid names no request that expects an encrypted response")
    key = ECKey.import_key(encryption_private_jwk(master_key, request))
    try:
        plaintext = jwe.decrypt_compact(token, key, algorithms=_JWE_ALGORITHMS).plaintext
        payload = json.loads(plaintext or b"")
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequest("the response JWE does not decrypt with this request's key") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("the decrypted response is not a JSON object")
    return request, payload


def _why_not_claimed(session: Session, state: str, encrypted_expected: bool, now: datetime) -> InvalidRequest:
    request = session.exec(select(PresentationRequest).where(PresentationRequest.state == state)).first()
    session.commit()
    if request is None:
        return InvalidRequest("state names no presentation request")
    if request.answered_at is not None:
        return InvalidRequest("the presentation request has already been answered")
    if as_utc(request.expires_at) <= now:
        return InvalidRequest("the presentation request has expired")
    if encrypted_expected and request.response_mode == "direct_post.jwt":
        return InvalidRequest("this request asked for an encrypted response (direct_post.jwt)")
    return InvalidRequest("the presentation request cannot be answered")


def _claim(session: Session, master_key: MasterKey, form: dict[str, str],
           now: datetime) -> tuple[PresentationRequest, AuthorizationResponse]:
    """Read the answer, then claim its request with one conditional UPDATE (nothing is claimed for
    an answer that cannot be read, so garbage cannot use a request up)."""
    if "response" in form:
        if set(form) - {"response"}:
            raise InvalidRequest("an encrypted response carries only the response parameter")
        request, payload = _decrypt(session, master_key, form["response"])
        response = parse_model(AuthorizationResponse, payload)
        if response.state != request.state:
            raise InvalidRequest("state does not match the request")
        claimed = claim_presentation_request(session, request.id, now=now)
        if claimed is None:
            raise _why_not_claimed(session, request.state, False, now)
        return claimed, response
    response = parse_model(AuthorizationResponse, form)
    if response.state is None:
        raise InvalidRequest("state is required")
    # A plain vp_token only answers a request that did not ask for an encrypted response.
    plain_token = response.vp_token is not None
    claimed = claim_presentation_request(session, state=response.state, now=now,
                                         response_mode="direct_post" if plain_token else None)
    if claimed is None:
        raise _why_not_claimed(session, response.state, plain_token, now)
    return claimed, response


def _aggregate(reports: list[CredentialReport]) -> dict[str, dict[str, Any]]:
    """Each named check over all credentials: failed if any failed, passed if any passed, else skipped."""
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


def verify_vp_token(*, session: Session, settings: VerifierSettings, service: VerificationService,
                    request: PresentationRequest, vp_token: dict[str, list[Any]],
                    now: datetime | None = None) -> dict[str, Any]:
    """Verify every presentation in `vp_token` against the request; returns the result to keep."""
    query = parse_dcql_query(request.dcql_query)
    problems = vp_token_errors(query, vp_token)
    trusted = trusted_issuers_for(session, settings, request.trusted_issuers)
    binding = service.holder_binding(client_id=request.client_id, nonce=request.nonce)
    credentials: list[dict[str, Any]] = []
    reports: list[CredentialReport] = []
    for query_id, presentations in vp_token.items():
        credential_query = next((q for q in query.credentials if q.id == query_id), None)
        if credential_query is None:
            continue
        context = service.context(
            trusted_issuers=trusted, holder_binding=binding, now=now,
            require_holder_binding=credential_query.require_cryptographic_holder_binding,
            credential_query_errors=partial(credential_query_errors, credential_query))
        for presentation in presentations:
            if not isinstance(presentation, str):
                problems.append(f"{query_id}: a {credential_query.format} presentation is a string")
                continue
            if credential_query.format == "dc+sd-jwt":
                found = [check_sd_jwt_vc(presentation, context)]
            else:
                found = check_vp_jwt(presentation, context)
            for report in found:
                reports.append(report)
                credentials.append({"query_id": query_id, **report.to_json(),
                                    "summary": badge_summary(report.format, report.claims)})
    verified = bool(reports) and not problems and all(r.verified for r in reports)
    errors = [e for r in reports for e in r.errors]
    return {
        "verdict": RequestStatus.VERIFIED if verified else RequestStatus.REJECTED,
        "error": None if verified else (errors[0] if errors else INVALID_PRESENTATION),
        "problems": problems,
        "checks": _aggregate(reports),
        "claims": {c["query_id"]: c["claims"] for c in reversed(credentials)},
        "summary": credentials[0]["summary"] if credentials else None,
        "credentials": credentials,
    }


def _finish(session: Session, request: PresentationRequest, result: dict[str, Any], response_code: str | None) -> None:
    values = {"status": result["verdict"], "result": result, "response_code": response_code}
    session.execute(update(PresentationRequest).where(col(PresentationRequest.id) == request.id).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()
    for name, value in values.items():
        setattr(request, name, value)


def handle_authorization_response(*, session: Session, settings: VerifierSettings, master_key: MasterKey,
                                  service: VerificationService, form: dict[str, str],
                                  now: datetime | None = None) -> ResponseOutcome:
    """Process one POST to the response endpoint; raises `InvalidRequest` for what is not processed."""
    now = now or utcnow()
    request, response = _claim(session, master_key, form, now)
    if response.error is not None:
        result = {"verdict": RequestStatus.REJECTED, "error": response.error,
                  "error_description": response.error_description, "problems": [], "checks": {}, "claims": {},
                  "credentials": [], "summary": None}
        _finish(session, request, result, None)
        return ResponseOutcome(request)
    assert response.vp_token is not None
    result = verify_vp_token(session=session, settings=settings, service=service, request=request,
                             vp_token=response.vp_token, now=now)
    response_code = secrets.token_urlsafe(24) if request.redirect_uri else None
    _finish(session, request, result, response_code)
    if result["verdict"] != RequestStatus.VERIFIED:
        failed = [name for name, check in result["checks"].items() if check["outcome"] == "failed"]
        why = ", ".join(failed + result["problems"]) or "no credential"
        error = f" ({result['error']})" if result["error"] != INVALID_PRESENTATION else ""
        return ResponseOutcome(request, rejection=PresentationRejected(f"presentation rejected: {why}{error}"))
    redirect = f"{request.redirect_uri}#response_code={response_code}" if response_code else None
    return ResponseOutcome(request, redirect_uri=redirect)

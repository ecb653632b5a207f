"""OpenID4VP 1.0 endpoints the wallet talks to: the request object (`request_uri`), the response
endpoint (`response_uri`), and the verifier's did:web document.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html §5.10, §8.2, §8.3
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from schemas.oauth2 import InvalidRequest
from servicekit.app import error_responses
from servicekit.metrics import presentation_verified
from verifier.api.deps import IdentityDep, MasterKeyDep, SessionDep, SettingsDep
from verifier.identity import did_document
from verifier.models import as_utc, utcnow
from verifier.requests import get_presentation_request, request_object
from verifier.responses import handle_authorization_response

__all__ = ["router"]

router = APIRouter(tags=["openid4vp"])

REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
_WALLET_NONCE = re.compile(r"^[A-Za-z0-9._~-]{1,256}$")
MAX_FORM_FIELD = 1_000_000
MAX_FORM_FIELDS = 20


def _form_body(*names: str) -> dict[str, Any]:
    """`openapi_extra` documenting the urlencoded form the route reads itself."""
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    return {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


def _request_object_response(request_id: str, session: SessionDep, settings: SettingsDep, identity: IdentityDep,
                             master_key: MasterKeyDep, wallet_nonce: str | None) -> Response:
    request = get_presentation_request(session, request_id)
    if request.client_id_prefix == "redirect_uri":
        raise InvalidRequest("this request travels by value; it has no request object")
    if request.answered_at is not None:
        raise InvalidRequest("the request has already been answered")
    if as_utc(request.expires_at) <= utcnow():
        raise InvalidRequest("the request has expired")
    token = request_object(settings=settings, identity=identity, master_key=master_key, request=request,
                           wallet_nonce=wallet_nonce)
    return Response(token, media_type=REQUEST_OBJECT_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/oid4vp/requests/{request_id}", response_class=Response,
            responses={200: {"content": {REQUEST_OBJECT_MEDIA_TYPE: {}}}, **error_responses(404)})
def get_request_object(request_id: str, session: SessionDep, settings: SettingsDep, identity: IdentityDep,
                       master_key: MasterKeyDep) -> Response:
    """RFC 9101 §5.2: the signed request object, `application/oauth-authz-req+jwt`."""
    return _request_object_response(request_id, session, settings, identity, master_key, None)


@router.post("/oid4vp/requests/{request_id}", response_class=Response,
             responses={200: {"content": {REQUEST_OBJECT_MEDIA_TYPE: {}}}, **error_responses(404)},
             openapi_extra=_form_body("wallet_metadata", "wallet_nonce"))
async def post_request_object(request_id: str, request: Request, session: SessionDep, settings: SettingsDep,
                              identity: IdentityDep, master_key: MasterKeyDep) -> Response:
    """§5.10: the wallet POSTs `wallet_metadata` and `wallet_nonce`; the object echoes `wallet_nonce`."""
    form = await _form(request)
    wallet_nonce = form.get("wallet_nonce")
    if wallet_nonce is not None and not _WALLET_NONCE.match(wallet_nonce):
        raise InvalidRequest("wallet_nonce has characters outside [A-Za-z0-9._~-] or is too long")
    return await run_in_threadpool(_request_object_response, request_id, session, settings, identity, master_key,
                                   wallet_nonce)


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form as a dict of strings; repeated, oversized or undecodable fields are refused.
    (The body itself is bounded by the service's body limit.)"""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    try:
        fields = parse_qsl((await request.body()).decode("ascii"), keep_blank_values=True, errors="strict",
                           max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("the body is not a urlencoded form of UTF-8 text") from exc
    result: dict[str, str] = {}
    for key, value in fields:
        if key in result:
            raise InvalidRequest(f"parameter {key} is repeated")
        if len(value) > MAX_FORM_FIELD:
            raise InvalidRequest(f"parameter {key} is too long")
        result[key] = value
    return result


@router.post("/oid4vp/response", responses=error_responses(400),
             openapi_extra=_form_body("vp_token", "state", "response", "error", "error_description"))
async def response_endpoint(request: Request) -> JSONResponse:
    """§8.2 `direct_post` (`vp_token` + `state`, or `error`) and §8.3 `direct_post.jwt` (`response=<JWE>`).

    200 `{}` (or `{"redirect_uri"}` for the same-device flow) when the presentation is accepted;
    400 `invalid_request` naming the failed checks when it is refused, or when the answer is not
    processed at all (unknown state, expired, already answered, undecryptable).

    The verifier's hot path: it reads the app's state itself rather than through per-request
    dependencies, and makes one hop to the event loop's thread pool (`asyncio.to_thread`, half the
    cost of anyio's) for the database and the verification, which may fetch."""
    state = request.app.state
    form = await _form(request)
    outcome = await asyncio.to_thread(handle_authorization_response, engine=state.engine, settings=state.settings,
                                      master_key=state.master_key, service=state.verification, form=form)
    presentation_verified(outcome.status)
    if outcome.request.webhook_url:  # stored as due with the answer; this worker's delivery loop posts it now
        state.webhooks.wake()
    if outcome.rejection is not None:
        error = outcome.rejection
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())
    body: dict[str, Any] = {}
    if outcome.redirect_uri is not None:
        body["redirect_uri"] = outcome.redirect_uri
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/.well-known/did.json", response_class=Response,
            responses={200: {"content": {"application/did+json": {}}}})
async def did_web_document(identity: IdentityDep) -> JSONResponse:
    """The did:web document of this verifier (`decentralized_identifier:` client id)."""
    return JSONResponse(did_document(identity), media_type="application/did+json")

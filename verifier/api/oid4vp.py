"""OpenID4VP 1.0 endpoints the wallet talks to: the request object (`request_uri`), the response
endpoint (`response_uri`), and the verifier's did:web document.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html §5.10, §8.2, §8.3
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from schemas.oauth2 import InvalidRequest
from servicekit.metrics import presentation_verified
from verifier.api.deps import IdentityDep, MasterKeyDep, ServiceDep, SessionDep, SettingsDep
from verifier.identity import did_document
from verifier.models import as_utc, utcnow
from verifier.requests import get_presentation_request, request_object
from verifier.responses import handle_authorization_response
from verifier.webhooks import deliver_webhook

__all__ = ["router"]

router = APIRouter(tags=["openid4vp"])

REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
_WALLET_NONCE = re.compile(r"^[A-Za-z0-9._~-]{1,256}$")
MAX_FORM_FIELD = 1_000_000


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
            responses={200: {"content": {REQUEST_OBJECT_MEDIA_TYPE: {}}}})
def get_request_object(request_id: str, session: SessionDep, settings: SettingsDep, identity: IdentityDep,
                       master_key: MasterKeyDep) -> Response:
    """RFC 9101 §5.2: the signed request object, `application/oauth-authz-req+jwt`."""
    return _request_object_response(request_id, session, settings, identity, master_key, None)


@router.post("/oid4vp/requests/{request_id}", response_class=Response,
             responses={200: {"content": {REQUEST_OBJECT_MEDIA_TYPE: {}}}})
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
    """A urlencoded form as a dict of strings; repeated or oversized fields are refused."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    form = await request.form(max_files=0, max_fields=20, max_part_size=MAX_FORM_FIELD)
    result: dict[str, str] = {}
    for key, value in form.multi_items():
        if key in result:
            raise InvalidRequest(f"parameter {key} is repeated")
        if not isinstance(value, str):
            raise InvalidRequest(f"parameter {key} is not text")
        result[key] = value
    return result


@router.post("/oid4vp/response")
async def response_endpoint(request: Request, background: BackgroundTasks, session: SessionDep,
                            settings: SettingsDep, master_key: MasterKeyDep, service: ServiceDep) -> JSONResponse:
    """§8.2 `direct_post` (`vp_token` + `state`, or `error`) and §8.3 `direct_post.jwt` (`response=<JWE>`).

    200 `{}` (or `{"redirect_uri"}` for the same-device flow) when the presentation is accepted;
    400 `invalid_request` naming the failed checks when it is refused, or when the answer is not
    processed at all (unknown state, expired, already answered, undecryptable)."""
    form = await _form(request)
    outcome = await run_in_threadpool(handle_authorization_response, session=session, settings=settings,
                                      master_key=master_key, service=service, form=form)
    presentation_verified(outcome.request.status)
    if outcome.request.webhook_url:
        background.add_task(deliver_webhook, request.app.state.engine, master_key, settings, outcome.request.id)
    if outcome.rejection is not None:
        error = outcome.rejection
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers(),
                            background=background)
    body: dict[str, Any] = {}
    if outcome.redirect_uri is not None:
        body["redirect_uri"] = outcome.redirect_uri
    return JSONResponse(body, headers={"Cache-Control": "no-store"}, background=background)


@router.get("/.well-known/did.json")
def did_web_document(identity: IdentityDep) -> JSONResponse:
    """The did:web document of this verifier (`decentralized_identifier:` client id)."""
    return JSONResponse(did_document(identity), media_type="application/did+json")

"""The verifier's own API for presentation requests: create, list, poll the result, QR codes.

Every route takes an API key (`Authorization: Bearer <key>`, see `verifier.api_keys`); a request belongs to
the key that made it, and any other key gets 404 for it and does not see it listed.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from schemas.oauth2 import InvalidRequest
from servicekit.app import error_responses
from servicekit.web.qr import qr_png, qr_svg
from verifier.api.deps import CallerDep, IdentityDep, MasterKeyDep, SessionDep, SettingsDep
from verifier.models import PresentationRequest, as_utc, utcnow
from verifier.presets import Preset, dcql_for_preset
from verifier.requests import (
    NewRequest,
    authorization_request_uri,
    create_presentation_request,
    get_request_of_key,
    list_requests_of_key,
    request_object_uri,
)
from verifier.results import presentation_result, status_now
from verifier.settings import ClientIdPrefix, ResponseMode
from verifier.webhooks import webhook_state

__all__ = ["router"]

router = APIRouter(prefix="/api/presentation-requests", tags=["presentation requests"],
                   responses=error_responses(401, 404))


class CreatePresentationRequest(BaseModel):
    """A preset (with its options) or a whole DCQL query; everything else optional."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset | None = None
    achievement: str | None = Field(default=None, max_length=500)
    claims: list[str | list[str | int | None]] | None = Field(default=None, max_length=50)
    vct_values: list[str] | None = Field(default=None, max_length=20)
    dcql_query: dict[str, Any] | None = None
    trusted_issuers: list[str] | None = Field(default=None, max_length=200)
    client_id_prefix: ClientIdPrefix | None = None
    response_mode: ResponseMode | None = None
    request_uri_method: Literal["get", "post"] = "get"
    #: At most 2000 characters, as stored (HttpUrl alone allows 2083).
    webhook_url: Annotated[HttpUrl, Field(max_length=2000)] | None = None
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200)
    #: Same-device flow: answer the wallet with this `redirect_uri` (plus `#response_code=...`).
    redirect_uri: Annotated[HttpUrl, Field(max_length=2000)] | None = None
    #: Same-device flow to this verifier's own result page.
    same_device: bool = False

    @model_validator(mode="after")
    def _one_query(self) -> CreatePresentationRequest:
        if (self.preset is None) == (self.dcql_query is None):
            raise ValueError("give exactly one of preset or dcql_query")
        if self.dcql_query is not None and (self.achievement or self.claims or self.vct_values):
            raise ValueError("achievement, claims and vct_values belong to a preset")
        if self.trusted_issuers is not None and not all(
                isinstance(i, str) and 0 < len(i) <= 500 for i in self.trusted_issuers):
            raise ValueError("trusted issuers are non-empty identifiers")
        return self


class PresentationRequestCreated(BaseModel):
    id: str
    #: What a wallet opens (QR content): `openid4vp://?client_id=...&request_uri=...`.
    request_uri: str
    #: Where the signed request object is served (None for an unsigned request by value).
    request_object_uri: str | None
    client_id: str
    response_mode: str
    expires_at: datetime
    qr_png_url: str
    qr_svg_url: str
    result_url: str
    #: The HMAC-SHA256 key of the webhook (returned once, only when a webhook is set).
    webhook_secret: str | None = None


class PresentationRequestListed(BaseModel):
    id: str
    status: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    result_url: str


class PresentationRequestList(BaseModel):
    data: list[PresentationRequestListed]


@router.post("", status_code=201, response_model=PresentationRequestCreated, response_model_exclude_none=True)
def create(body: CreatePresentationRequest, session: SessionDep, settings: SettingsDep, identity: IdentityDep,
           master_key: MasterKeyDep, caller: CallerDep) -> PresentationRequestCreated:
    if body.preset is not None:
        dcql_query = dcql_for_preset(body.preset, achievement=body.achievement, claims=body.claims,
                                     vct_values=body.vct_values)
    else:
        assert body.dcql_query is not None
        dcql_query = body.dcql_query
    secret = body.webhook_secret or (secrets.token_urlsafe(32) if body.webhook_url else None)
    redirect = str(body.redirect_uri) if body.redirect_uri else None
    request = create_presentation_request(
        session=session, settings=settings, identity=identity, master_key=master_key,
        new=NewRequest(dcql_query=dcql_query, client_id_prefix=body.client_id_prefix,
                       response_mode=body.response_mode, trusted_issuers=body.trusted_issuers,
                       webhook_url=str(body.webhook_url) if body.webhook_url else None, webhook_secret=secret,
                       redirect_uri=redirect, same_device=body.same_device,
                       request_uri_method=body.request_uri_method, api_key_id=caller.key_id))
    base = f"{settings.base_url}/api/presentation-requests/{request.id}"
    return PresentationRequestCreated(
        id=request.id,
        request_uri=authorization_request_uri(settings=settings, master_key=master_key, request=request),
        request_object_uri=None if request.client_id_prefix == "redirect_uri" else request_object_uri(
            settings, request.id),
        client_id=request.client_id,
        response_mode=request.response_mode,
        expires_at=as_utc(request.expires_at),
        qr_png_url=f"{base}/qr.png",
        qr_svg_url=f"{base}/qr.svg",
        result_url=base,
        webhook_secret=secret if body.webhook_url else None,
    )


@router.get("")
def list_requests(session: SessionDep, settings: SettingsDep, caller: CallerDep,
                  limit: int = Query(default=50, ge=1, le=500)) -> PresentationRequestList:
    """The newest requests made with this API key (status only; the claims are in each result)."""
    now = utcnow()
    return PresentationRequestList(data=[PresentationRequestListed(
        id=row.id, status=status_now(row, now), created_at=as_utc(row.created_at), expires_at=as_utc(row.expires_at),
        answered_at=as_utc(row.answered_at) if row.answered_at else None,
        result_url=f"{settings.base_url}/api/presentation-requests/{row.id}",
    ) for row in list_requests_of_key(session, caller.key_id, limit=limit)])


@router.get("/{request_id}", responses=error_responses(403))
def result(request_id: str, session: SessionDep, caller: CallerDep,
           response_code: str | None = Query(default=None, max_length=128)) -> dict[str, Any]:
    """Poll: the status, and once answered the verdict, the named checks and the disclosed claims; with a
    webhook, how its delivery stands (`webhook`: pending, delivered or failed, and the attempts)."""
    request = get_request_of_key(session, request_id, caller.key_id)
    body = presentation_result(session, request, response_code=response_code)
    webhook = webhook_state(request)
    return body if webhook is None else {**body, "webhook": webhook}


def _qr_content(request: PresentationRequest, settings: SettingsDep, master_key: MasterKeyDep) -> str:
    if request.answered_at is not None:
        raise InvalidRequest("the request has been answered")
    return authorization_request_uri(settings=settings, master_key=master_key, request=request)


@router.get("/{request_id}/qr.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def qr_code_png(request_id: str, session: SessionDep, settings: SettingsDep, master_key: MasterKeyDep,
                caller: CallerDep) -> Response:
    content = _qr_content(get_request_of_key(session, request_id, caller.key_id), settings, master_key)
    return Response(qr_png(content), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/{request_id}/qr.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def qr_code_svg(request_id: str, session: SessionDep, settings: SettingsDep, master_key: MasterKeyDep,
                caller: CallerDep) -> Response:
    content = _qr_content(get_request_of_key(session, request_id, caller.key_id), settings, master_key)
    return Response(qr_svg(content), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

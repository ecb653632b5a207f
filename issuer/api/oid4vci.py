"""OpenID4VCI 1.0 endpoints: credential offer by reference (+ QR), token, nonce, credential, notification.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html
Thin: each route hands the HTTP message to the service layer. Routes are plain `def`s (run in
the thread pool, as the database work blocks); bodies are read by the async dependencies below.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from issuer.api.deps import DpopNoncesDep, KeysDep, SessionDep, SettingsDep, dpop_request, presented_token
from issuer.services import credentials, nonces, offers
from issuer.services.common import unix_now
from issuer.services.metadata import CREDENTIAL_PATH, NOTIFICATION_PATH, TOKEN_PATH
from issuer.services.offers import offer_links
from schemas.oauth2 import InvalidRequest
from servicekit.app import error_responses
from servicekit.web.qr import qr_png, qr_svg

router = APIRouter(prefix="/oid4vci", tags=["OpenID4VCI"])

NO_STORE = {"Cache-Control": "no-store"}


def _body_schema(media_type: str, required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` documenting a body the route reads itself (the service layer validates it)."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


_TEXT: dict[str, Any] = {"type": "string"}
#: §6.1 Token Request, §8.2 Credential Request, §11.1 Notification Request.
TOKEN_REQUEST = _body_schema("application/x-www-form-urlencoded", ["grant_type"], grant_type=_TEXT,
                             **{"pre-authorized_code": _TEXT}, tx_code=_TEXT, authorization_details=_TEXT)
CREDENTIAL_REQUEST = _body_schema(
    "application/json", [], credential_identifier=_TEXT, credential_configuration_id=_TEXT,
    proofs={"type": "object", "properties": {"jwt": {"type": "array", "items": _TEXT}}},
    credential_response_encryption={"type": "object"})
NOTIFICATION_REQUEST = _body_schema("application/json", ["notification_id", "event"], notification_id=_TEXT,
                                    event={"enum": ["credential_accepted", "credential_failure",
                                                    "credential_deleted"]}, event_description=_TEXT)


async def _form_fields(request: Request) -> dict[str, Any]:
    """§6.1: the Token Request is `application/x-www-form-urlencoded`; a parameter may appear once."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise InvalidRequest("the token request must be application/x-www-form-urlencoded")
    form = await request.form()
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name in fields:
            raise InvalidRequest(f"parameter {name[:40]} is repeated")
        fields[name] = value
    return fields


async def _body(request: Request) -> bytes:
    return await request.body()


FormFields = Annotated[dict[str, Any], Depends(_form_fields)]
Body = Annotated[bytes, Depends(_body)]


@router.get("/offers/{reference}", responses=error_responses(404))
def credential_offer(reference: str, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """§4.1.3: the Credential Offer behind a `credential_offer_uri`, as `application/json`."""
    return JSONResponse(offers.credential_offer(session=session, reference=reference, settings=settings),
                        headers=NO_STORE)


@router.get("/offers/{reference}/qr.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, **error_responses(404)})
def credential_offer_qr_png(reference: str, session: SessionDep, settings: SettingsDep) -> Response:
    offers.check_offer_reference(session=session, reference=reference)
    return Response(qr_png(offer_links(settings.base_url, reference)[1]), media_type="image/png", headers=NO_STORE)


@router.get("/offers/{reference}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}, **error_responses(404)})
def credential_offer_qr_svg(reference: str, session: SessionDep, settings: SettingsDep) -> Response:
    offers.check_offer_reference(session=session, reference=reference)
    return Response(qr_svg(offer_links(settings.base_url, reference)[1]), media_type="image/svg+xml",
                    headers=NO_STORE)


@router.post("/token", responses=error_responses(400), openapi_extra=TOKEN_REQUEST)
def token(request: Request, fields: FormFields, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """§6: Token Request (form-encoded), pre-authorized code grant; with a `DPoP` proof, a DPoP-bound token."""
    dpop = dpop_request(request, settings, TOKEN_PATH)
    answer = offers.redeem_pre_authorized_code(session=session, settings=settings, form=fields, dpop=dpop)
    return JSONResponse(answer, headers={**NO_STORE, "Pragma": "no-cache",
                                         **dpop.nonces.response_header(settings, unix_now())})


@router.post("/nonce")
def nonce(session: SessionDep, settings: SettingsDep, dpop_nonces: DpopNoncesDep) -> JSONResponse:
    """§7: a fresh `c_nonce`; no access token needed; never cached. Carries a `DPoP-Nonce` when required."""
    value = nonces.issue_c_nonce(session=session, ttl_seconds=settings.c_nonce_ttl_seconds)
    return JSONResponse({"c_nonce": value}, headers={**NO_STORE, **dpop_nonces.response_header(settings, unix_now())})


@router.post("/credential", responses=error_responses(400, 401), openapi_extra=CREDENTIAL_REQUEST)
def credential(request: Request, body: Body, session: SessionDep, settings: SettingsDep,
               keys: KeysDep) -> JSONResponse:
    """§8: Credential Request → Credential Response (immediate)."""
    presented = presented_token(request, settings, CREDENTIAL_PATH)
    answer = credentials.issue_credentials(session=session, keys=keys, settings=settings, body=body,
                                           presented=presented)
    return JSONResponse(answer, headers={**NO_STORE, **presented.dpop.nonces.response_header(settings, unix_now())})


@router.post("/notification", status_code=204, response_class=Response, responses=error_responses(400, 401),
             openapi_extra=NOTIFICATION_REQUEST)
def notification(request: Request, body: Body, session: SessionDep, settings: SettingsDep) -> Response:
    """§11: the wallet tells what became of the credentials; 204 on success."""
    credentials.handle_notification(session=session, settings=settings, body=body,
                                    presented=presented_token(request, settings, NOTIFICATION_PATH))
    return Response(status_code=204)

"""The verifier's pages: ask a learner for a credential (QR code), see the result, check a file.

Every page calls the same service functions as the API (`verifier.presets`, `verifier.requests`,
`verifier.results`, `verifier.check`). A request made here is bound to the browser's page
session (`verifier.pages.owners`): its QR code, status and result are shown to that browser
only, or to whoever brings the same-device flow's `response_code`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from schemas.oauth2 import AccessDenied, InvalidRequest, NotFound
from servicekit.web import CsrfProtected, PageError, Pages, PagesDep, qr_png_data_uri
from verifier.api.deps import IdentityDep, MasterKeyDep, ServiceDep, SessionDep, SettingsDep
from verifier.api.trusted_issuers import TrustedIssuerCreate
from verifier.check import check_uploaded_credential
from verifier.models import PresentationRequest, RequestStatus, as_utc, utcnow
from verifier.pages.facts import credential_facts, query_facts
from verifier.pages.owners import bind_to_session, may_see, requests_of_session
from verifier.pages.wording import check_lines, verdict
from verifier.presets import dcql_for_preset, parse_claim_path
from verifier.requests import (
    NewRequest,
    authorization_request_uri,
    create_presentation_request,
    get_presentation_request,
)
from verifier.results import presentation_result
from verifier.verification import trusted_issuers_for

__all__ = ["router"]

router = APIRouter(dependencies=[CsrfProtected], include_in_schema=False)

PRESETS = ("ob3", "ob3-achievement", "sd-jwt")
RESPONSE_MODES = ("direct_post.jwt", "direct_post")
MAX_CLAIMS = 50
MAX_TRUSTED_ISSUERS = 200
#: A pasted credential (an SD-JWT with many Disclosures stays far below this).
MAX_PASTE = 500_000
#: Uploaded badge images up to this size are shown beside the report.
MAX_SHOWN_IMAGE = 512_000
_SPLIT = re.compile(r"[\s,]+")

ResponseCode = Annotated[str | None, Query(max_length=128)]


def _translator(pages: Pages, request: Request) -> Callable[..., str]:
    """`t(message_id, **params)` in this reader's language, for texts built in Python."""
    return lambda message_id, /, **params: pages.t(request, message_id, **params)


# -- home -------------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def home(request: Request, pages: PagesDep, session: SessionDep) -> HTMLResponse:
    """What the verifier does, and the requests this browser made."""
    now = utcnow()
    recent = []
    for item in requests_of_session(session, pages.cookies.session_id(request)):
        expired = item.status == RequestStatus.PENDING and item.answered_at is None and as_utc(item.expires_at) <= now
        asked = query_facts(item.dcql_query, None, item.response_mode, None, _translator(pages, request))
        recent.append({"id": item.id, "created": as_utc(item.created_at).strftime("%Y-%m-%d %H:%M UTC"),
                       "asked": asked[0].value, "status": RequestStatus.EXPIRED if expired else item.status})
    return pages.render(request, "home.html", {"page_title": pages.t(request, "home.title"), "recent": recent})


# -- asking for a credential ------------------------------------------------------------------------

@dataclass
class RequestForm:
    preset: str = "ob3"
    achievement: str = ""
    claims: str = ""
    vct: str = ""
    trusted_issuers: str = ""
    response_mode: str = "direct_post.jwt"
    errors: dict[str, str] = field(default_factory=dict)

    def new_request(self, pages: Pages, request: Request) -> NewRequest | None:
        """The request this form asks for, or None with `errors` filled in."""
        t = pages.t
        if self.preset not in PRESETS:
            self.errors["preset-ob3"] = t(request, "new.error.preset")
        if self.preset == "ob3-achievement" and not self.achievement.strip():
            self.errors["achievement"] = t(request, "new.error.achievement")
        claims = [c for c in _SPLIT.split(self.claims) if c] if self.preset == "sd-jwt" else []
        if len(claims) > MAX_CLAIMS or not all(_is_claim_path(claim) for claim in claims):
            self.errors["claims"] = t(request, "new.error.claims", max=MAX_CLAIMS)
        vct = self.vct.strip()
        if self.preset == "sd-jwt" and (len(vct) > 500 or any(c.isspace() for c in vct)):
            self.errors["vct"] = t(request, "new.error.vct")
        trusted = [line.strip() for line in self.trusted_issuers.splitlines() if line.strip()]
        if len(trusted) > MAX_TRUSTED_ISSUERS or not all(_is_issuer_identifier(i) for i in trusted):
            self.errors["trusted_issuers"] = t(request, "new.error.trusted", max=MAX_TRUSTED_ISSUERS)
        if self.response_mode not in RESPONSE_MODES:
            self.errors["response_mode"] = t(request, "new.error.response_mode")
        if self.errors:
            return None
        if self.preset == "sd-jwt":
            query = dcql_for_preset("sd-jwt", claims=claims or None, vct_values=[vct] if vct else None)
        else:
            name = self.achievement.strip() if self.preset == "ob3-achievement" else None
            query = dcql_for_preset("ob3", achievement=name)
        return NewRequest(dcql_query=query, response_mode=self.response_mode,  # type: ignore[arg-type]
                          trusted_issuers=trusted or None)


def _is_claim_path(text: str) -> bool:
    try:
        parse_claim_path(text)
    except InvalidRequest:
        return False
    return True


def _is_issuer_identifier(text: str) -> bool:
    """A DID or issuer URL, by the same rule as the trusted-issuer API."""
    try:
        TrustedIssuerCreate(identifier=text)
    except ValidationError:
        return False
    return True


def _request_form(request: Request, pages: Pages, form: RequestForm, status_code: int = 200) -> HTMLResponse:
    return pages.render(request, "new_request.html", {"page_title": pages.t(request, "new.title"), "form": form,
                                                      "errors": form.errors}, status_code=status_code)


@router.get("/presentation-requests/new", response_class=HTMLResponse)
def new_request_page(request: Request, pages: PagesDep, settings: SettingsDep) -> HTMLResponse:
    return _request_form(request, pages, RequestForm(response_mode=settings.default_response_mode))


@router.post("/presentation-requests")
def create_request(
    request: Request, pages: PagesDep, session: SessionDep, settings: SettingsDep, identity: IdentityDep,
    master_key: MasterKeyDep,
    preset: Annotated[str, Form(max_length=40)] = "",
    achievement: Annotated[str, Form(max_length=500)] = "",
    claims: Annotated[str, Form(max_length=5000)] = "",
    vct: Annotated[str, Form(max_length=1000)] = "",
    trusted_issuers: Annotated[str, Form(max_length=110_000)] = "",
    response_mode: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = RequestForm(preset=preset, achievement=achievement, claims=claims, vct=vct,
                       trusted_issuers=trusted_issuers, response_mode=response_mode)
    new = form.new_request(pages, request)
    if new is None:
        return _request_form(request, pages, form, status_code=400)
    session_id = pages.cookies.cookie_session_id(request)
    assert session_id is not None  # the CSRF check passed, so the browser has a page session
    created = create_presentation_request(session=session, settings=settings, identity=identity,
                                          master_key=master_key, new=new)
    bind_to_session(session, created.id, session_id)
    return pages.redirect(request, f"/presentation-requests/{created.id}")


def _visible_request(request: Request, pages: Pages, session: SessionDep, request_id: str,
                     response_code: str | None) -> PresentationRequest | None:
    """The request, None when this browser may not see it; a 404 page when there is none."""
    try:
        presentation = get_presentation_request(session, request_id)
    except NotFound:
        raise PageError(404, "error.not_found.title", "request.not_found") from None
    if not may_see(session, presentation, session_id=pages.cookies.session_id(request), response_code=response_code):
        return None
    return presentation


@router.get("/presentation-requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: str, pages: PagesDep, session: SessionDep, settings: SettingsDep,
                 master_key: MasterKeyDep, response_code: ResponseCode = None) -> HTMLResponse:
    """The QR code while the learner has not answered; the result once they have (same address)."""
    presentation = _visible_request(request, pages, session, request_id, response_code)
    if presentation is None:
        return pages.render(request, "not_yours.html", {"page_title": pages.t(request, "not_yours.title")},
                            status_code=403)
    result = presentation_result(session, presentation, response_code=response_code)
    t = _translator(pages, request)
    pending = result["status"] == RequestStatus.PENDING
    asked = query_facts(presentation.dcql_query, trusted_issuers_for(session, settings, presentation.trusted_issuers),
                        presentation.response_mode, as_utc(presentation.expires_at) if pending else None, t)
    if pending:
        link = authorization_request_uri(settings=settings, master_key=master_key, request=presentation)
        status_url = f"/presentation-requests/{presentation.id}/status"
        return pages.render(request, "qr.html", {
            "page_title": pages.t(request, "request.title"), "link": link, "qr_image": qr_png_data_uri(link),
            "status_url": status_url + (f"?response_code={quote(response_code)}" if response_code else ""),
            "answered": presentation.answered_at is not None, "asked": asked})
    lines = check_lines(result.get("checks") or {})
    return pages.render(request, "result.html", {
        "page_title": pages.t(request, "result.title"), "asked": asked, "checks": lines,
        "verdict": verdict(result["status"], error=result.get("error"), lines=lines),
        "credentials": [credential_facts(c, t) for c in result.get("credentials") or []],
        "answered_at": as_utc(presentation.answered_at).strftime("%Y-%m-%d %H:%M") if presentation.answered_at
        else None})


@router.get("/presentation-requests/{request_id}/status")
def request_status(request: Request, request_id: str, pages: PagesDep, session: SessionDep,
                   response_code: ResponseCode = None) -> JSONResponse:
    """What the QR page polls: `{"status": "pending" | "verified" | "rejected" | "expired"}`."""
    presentation = get_presentation_request(session, request_id)
    if not may_see(session, presentation, session_id=pages.cookies.session_id(request), response_code=response_code):
        raise AccessDenied("this request was made in another browser")
    status = presentation_result(session, presentation, response_code=response_code)["status"]
    return JSONResponse({"status": status}, headers={"Cache-Control": "no-store"})


# -- checking a file --------------------------------------------------------------------------------

def _image_data_uri(data: bytes) -> str | None:
    """A small uploaded badge image as a `data:` URI (the CSP allows those), to show beside the report."""
    if len(data) > MAX_SHOWN_IMAGE:
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        media_type = "image/png"
    elif data.lstrip()[:512].startswith((b"<?xml", b"<svg")):
        media_type = "image/svg+xml"  # an <img> never runs an SVG's scripts
    else:
        return None
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _check_page(request: Request, pages: Pages, *, report: dict[str, Any] | None = None, text: str = "",
                image: str | None = None, errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {"page_title": pages.t(request, "upload.title"), "text": text, "errors": errors or {},
                               "report": report, "image": image}
    if report is not None:
        lines = check_lines(report.get("checks") or {})
        context.update(checks=lines, verdict=verdict("verified" if report.get("verified") else "rejected",
                                                      lines=lines, file=True),
                       facts=credential_facts(report, _translator(pages, request)))
    return pages.render(request, "check.html", context, status_code=status_code)


@router.get("/check", response_class=HTMLResponse)
def check_page(request: Request, pages: PagesDep) -> HTMLResponse:
    return _check_page(request, pages)


@router.post("/check", response_class=HTMLResponse)
async def check_submit(
    request: Request, pages: PagesDep, session: SessionDep, settings: SettingsDep, service: ServiceDep,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form(max_length=MAX_PASTE)] = "",
) -> HTMLResponse:
    """The standalone check of an uploaded file or a pasted credential: every named check, as a report."""
    data = await file.read() if file is not None else b""
    if not data.strip():
        data = text.strip().encode()
    if not data:
        return _check_page(request, pages, text=text, errors={"file": pages.t(request, "upload.error.empty")},
                           status_code=400)
    try:
        report = await run_in_threadpool(check_uploaded_credential, session=session, settings=settings,
                                         service=service, data=data)
    except InvalidRequest as exc:
        return _check_page(request, pages, text=text, status_code=400, errors={
            "file": pages.t(request, "upload.error.unreadable", detail=exc.description or "")})
    return _check_page(request, pages, report=report, text=text, image=_image_data_uri(data))

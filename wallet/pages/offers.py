"""Adding a credential: scan, paste or upload an offer (or a presentation request); the offer page with the PIN.

Links that open the wallet directly land here too: `/offer?credential_offer_uri=...` takes the
parameters of an `openid-credential-offer://` link (OpenID4VCI 1.0 §4.1), so an issuer's QR code
or link can point at this wallet's own address.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from schemas.oauth2 import InvalidGrant, InvalidRequest, ProtocolError
from schemas.oid4vci import OFFER_SCHEME
from schemas.oid4vp import OPENID4VP_SCHEME
from servicekit.web import CsrfProtected, Pages, PagesDep
from wallet.accounts import LearnerContext
from wallet.api.deps import ServicesDep, SessionDep
from wallet.errors import VerifierRefused, VerifierUnreachable
from wallet.pages.common import PageLearner, render
from wallet.pages.presentations import link_host, refusal_page
from wallet.presenting import prepare_presentation
from wallet.qr import read_qr_code
from wallet.receiving import accept_offer, decline_offer, describe_offer, resolve_offer
from wallet.services import WalletServices

__all__ = ["router"]

router = APIRouter(dependencies=[CsrfProtected], include_in_schema=False)

#: Invocation schemes of OpenID4VP 1.0 (and HAIP) presentation requests.
_REQUEST_SCHEMES = (OPENID4VP_SCHEME, "haip-vp://", "eudi-openid4vp://")
_REQUEST_PARAMETERS = ("request_uri", "request", "dcql_query")
_OFFER_PARAMETERS = ("credential_offer", "credential_offer_uri")
LinkField = Annotated[str, Form(max_length=65536)]


def is_presentation_request(link: str) -> bool:
    """An OpenID4VP request (to share) rather than an OpenID4VCI offer (to receive)."""
    link = link.strip()
    if link.lower().startswith(_REQUEST_SCHEMES):
        return True
    query = parse_qs(urlsplit(link).query)
    return any(p in query for p in _REQUEST_PARAMETERS) and not any(p in query for p in _OFFER_PARAMETERS)


def _add_page(request: Request, pages: Pages, learner: LearnerContext, *, link: str = "",
              errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(pages, request, "add.html", "add.title", learner=learner, link=link, errors=errors or {},
                  status_code=status_code)


def _open(request: Request, pages: Pages, session: SessionDep, learner: LearnerContext, services: WalletServices,
          link: str, *, field: str) -> Response:
    """Resolve an offer (to the offer page) or a presentation request (to the consent page)."""
    try:
        if is_presentation_request(link):
            try:
                consent = prepare_presentation(session=session, learner=learner, services=services, request_uri=link)
            except (VerifierRefused, VerifierUnreachable) as exc:  # the request is over: say so in words
                return refusal_page(request, pages, learner, exc, stage="open", verifier=link_host(link))
            return pages.redirect(request, f"/presentations/{consent['id']}")
        offer = resolve_offer(session=session, learner=learner, services=services, link=link)
    except ProtocolError as exc:
        message = pages.t(request, "add.failed", reason=exc.description or exc.error)
        return _add_page(request, pages, learner, link=link, errors={field: message}, status_code=exc.status_code)
    return pages.redirect(request, f"/offers/{offer['id']}")


@router.get("/add")
def add_page(request: Request, pages: PagesDep, learner: PageLearner) -> Response:
    return _add_page(request, pages, learner)


@router.post("/add")
def add_link(request: Request, pages: PagesDep, session: SessionDep, services: ServicesDep, learner: PageLearner,
             link: LinkField = "") -> Response:
    if not link.strip():
        return _add_page(request, pages, learner, status_code=400,
                         errors={"link": pages.t(request, "add.link_missing")})
    return _open(request, pages, session, learner, services, link.strip(), field="link")


@router.post("/add/qr")
async def add_qr_image(request: Request, pages: PagesDep, session: SessionDep, services: ServicesDep,
                       learner: PageLearner, picture: Annotated[UploadFile | None, File()] = None) -> Response:
    limit = services.settings.max_qr_image_bytes
    try:
        data = await picture.read(limit + 1) if picture is not None else b""
        link = read_qr_code(data, max_bytes=limit)
    except InvalidRequest as exc:
        message = pages.t(request, "add.qr_failed", reason=exc.description or exc.error)
        return _add_page(request, pages, learner, errors={"picture": message}, status_code=400)
    return _open(request, pages, session, learner, services, link, field="picture")


@router.get("/offer")
def open_offer(request: Request, pages: PagesDep, session: SessionDep, services: ServicesDep,
               learner: PageLearner) -> Response:
    """An `openid-credential-offer://` link's parameters, opened in this wallet."""
    return _open(request, pages, session, learner, services, f"{OFFER_SCHEME}?{request.url.query}", field="link")


def _offer_page(request: Request, pages: Pages, session: SessionDep, learner: LearnerContext, offer_id: str, *,
                error: str | None = None, status_code: int = 200) -> Response:
    offer = describe_offer(session=session, learner=learner, pending_id=offer_id)
    return render(pages, request, "offer.html", "offer.title", title_params={"issuer": offer["issuer"]["name"]},
                  learner=learner, offer=offer, errors={"tx_code": error} if error else {}, status_code=status_code)


@router.get("/offers/{offer_id}")
def offer_page(request: Request, offer_id: str, pages: PagesDep, session: SessionDep,
               learner: PageLearner) -> Response:
    return _offer_page(request, pages, session, learner, offer_id)


@router.post("/offers/{offer_id}/accept")
def accept(request: Request, offer_id: str, pages: PagesDep, session: SessionDep, services: ServicesDep,
           learner: PageLearner, tx_code: Annotated[str, Form(max_length=256)] = "") -> Response:
    try:
        result = accept_offer(session=session, learner=learner, services=services, pending_id=offer_id,
                              tx_code=tx_code.strip() or None)
    except (InvalidGrant, InvalidRequest) as exc:  # a missing or wrong PIN: the offer still waits
        message = pages.t(request, "offer.pin_wrong" if isinstance(exc, InvalidGrant) else "offer.pin_missing")
        return _offer_page(request, pages, session, learner, offer_id, error=message, status_code=400)
    except ProtocolError as exc:
        return pages.error_page(request, exc.status_code, "offer.failed_title",
                                message=pages.t(request, "offer.failed", reason=exc.description or exc.error))
    names = ", ".join(c["name"] for c in result["credentials"])
    target = f"/credentials/{result['credentials'][0]['id']}" if len(result["credentials"]) == 1 else "/credentials"
    response = pages.redirect(request, target, flash="offer.added", names=names)
    for refused in result["refused"]:
        pages.flash(request, response, "offer.refused", level="warning", reason=refused["reason"])
    return response


@router.post("/offers/{offer_id}/decline")
def decline(request: Request, offer_id: str, pages: PagesDep, session: SessionDep, learner: PageLearner) -> Response:
    decline_offer(session=session, learner=learner, pending_id=offer_id)
    return pages.redirect(request, "/credentials", flash="offer.declined", level="info")

"""The learner's credentials: the cards, one credential's page, its images, export, deleting it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from servicekit.web import CsrfProtected, PagesDep, page_link
from wallet.api.deps import ServicesDep, SessionDep
from wallet.credentials import credential_cards, credential_detail
from wallet.export import export_credential
from wallet.images import IMAGE_KINDS, credential_image
from wallet.pages.common import PageLearner, render
from wallet.rendering import card
from wallet.status import NOT_YET_VALID
from wallet.store import delete_credential, get_credential

__all__ = ["router"]

router = APIRouter(dependencies=[CsrfProtected], include_in_schema=False)
PAGE_SIZE = 100


def _shown_status(status: str) -> str:
    """A state the shared status badge knows ("not yet valid" shows as waiting)."""
    return "pending" if status == NOT_YET_VALID else status


@router.get("/credentials")
def list_page(request: Request, pages: PagesDep, session: SessionDep, services: ServicesDep, learner: PageLearner,
              q: Annotated[str | None, Query(max_length=200)] = None,
              page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    cards, count = credential_cards(session=session, learner=learner, services=services, query=q, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE)
    for shown in cards:
        shown["status"] = _shown_status(shown["status"])
    last_page = max(1, -(-count // PAGE_SIZE))
    previous = min(page, last_page + 1) - 1  # past the end: back to the last page
    return render(pages, request, "credentials.html", "credentials.title", learner=learner, cards=cards,
                  count=count, query=q or "", page=page, last_page=last_page,
                  previous_page=page_link("/credentials", previous, q=q) if previous >= 1 else None,
                  next_page=page_link("/credentials", page + 1, q=q) if page < last_page else None)


@router.get("/credentials/{credential_id}")
def detail_page(request: Request, credential_id: str, pages: PagesDep, session: SessionDep, services: ServicesDep,
                learner: PageLearner) -> Response:
    credential = credential_detail(session=session, learner=learner, services=services, credential_id=credential_id)
    credential["status"] = _shown_status(credential["status"])
    return render(pages, request, "credential.html", "credential.title", title_params={"name": credential["name"]},
                  learner=learner, credential=credential)


@router.get("/credentials/{credential_id}/image/{kind}")
def image(request: Request, credential_id: str, kind: str, pages: PagesDep, session: SessionDep,
          services: ServicesDep, learner: PageLearner) -> Response:
    """The badge image or issuer logo, fetched once by the wallet and served from here."""
    found = credential_image(session=session, learner=learner, services=services, credential_id=credential_id,
                             kind=kind) if kind in IMAGE_KINDS else None
    if found is None:
        return pages.redirect(request, pages.static_url("badge.svg"))
    media_type, body = found
    headers = {"Cache-Control": "private, max-age=3600"}
    if media_type == "image/svg+xml":  # opened on its own, an SVG of someone else's must not run anything
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return Response(body, media_type=media_type, headers=headers)


@router.get("/credentials/{credential_id}/export")
def export(credential_id: str, session: SessionDep, services: ServicesDep, learner: PageLearner,
           as_: Annotated[str, Query(alias="as", pattern="^(json|jwt|png)$")] = "json") -> Response:
    media_type, body, filename = export_credential(session=session, learner=learner, services=services,
                                                   credential_id=credential_id, as_=as_)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/credentials/{credential_id}/delete")
def delete_page(request: Request, credential_id: str, pages: PagesDep, session: SessionDep,
                services: ServicesDep, learner: PageLearner) -> Response:
    credential = credential_detail(session=session, learner=learner, services=services, credential_id=credential_id)
    return render(pages, request, "delete_credential.html", "delete.title", learner=learner, credential=credential)


@router.post("/credentials/{credential_id}/delete")
def delete(request: Request, credential_id: str, pages: PagesDep, session: SessionDep,
           learner: PageLearner) -> Response:
    summary = get_credential(session=session, learner=learner, credential_id=credential_id).summary
    delete_credential(session=session, learner=learner, credential_id=credential_id)
    return pages.redirect(request, "/credentials", flash="delete.done",
                          name=card(summary, locale=learner.locale, status="valid")["name"])

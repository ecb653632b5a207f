"""The demo app: a form with CSRF, the language switch, a QR block, cards, badges, a table, polling, a scanner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from schemas.oauth2 import InvalidGrant
from servicekit.app import add_service_basics
from servicekit.database import make_engine
from servicekit.web import CsrfProtected, Pages, PagesDep, qr_png_data_uri

HERE = Path(__file__).parent
OFFER_LINK = "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Flocalhost%3A8001%2Foffers%2Fdemo-7f3a"
STATUSES = ("valid", "expired", "suspended", "revoked", "pending", "verified", "rejected")

router = APIRouter(dependencies=[CsrfProtected])


def _form_page(request: Request, pages: Pages, *, name: str = "", errors: dict[str, str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    return pages.render(request, "form.html", {
        "page_title": pages.t(request, "demo.title"), "name": name, "errors": errors or {},
        "qr_image": qr_png_data_uri(OFFER_LINK), "offer_link": OFFER_LINK, "statuses": STATUSES,
        "poll_state": request.app.state.answer}, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def form_page(request: Request, pages: PagesDep) -> HTMLResponse:
    return _form_page(request, pages)


@router.post("/", response_class=HTMLResponse)
def form_submit(request: Request, pages: PagesDep, name: Annotated[str, Form(max_length=200)] = "",
                level: Annotated[str, Form(max_length=20)] = "bachelor") -> Response:
    if not name.strip():
        return _form_page(request, pages, errors={"name": pages.t(request, "demo.name_missing")}, status_code=400)
    request.app.state.submissions.append({"name": name.strip(), "level": level})
    return pages.redirect(request, "/", flash="demo.hello", name=name.strip())


@router.get("/status")
def status(request: Request) -> JSONResponse:
    return JSONResponse({"state": request.app.state.answer}, headers={"Cache-Control": "no-store"})


@router.get("/scan", response_class=HTMLResponse)
def scan_page(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "scan.html", {"page_title": pages.t(request, "demo.scan_title"),
                                               "scanned": request.app.state.scanned})


@router.post("/scan")
def scan_submit(request: Request, pages: PagesDep, link: Annotated[str, Form(max_length=4000)]) -> Response:
    request.app.state.scanned.append(link)
    return pages.redirect(request, "/scan", flash="demo.scanned", link=link)


@router.get("/broken")
def broken() -> None:
    raise InvalidGrant("the offer has expired")


@router.post("/login")
def login(request: Request, pages: PagesDep) -> Response:
    response = pages.redirect(request, "/")
    pages.new_session(request, response, max_age=3600)
    pages.flash(request, response, "demo.logged_in", level="success")
    return response


def create_demo_app(*, database_url: str = "sqlite://", public_url: str = "http://localhost:8000") -> FastAPI:
    app = FastAPI()
    app.state.answer = "waiting"
    app.state.submissions = []
    app.state.scanned = []
    add_service_basics(app, engine=make_engine(database_url), max_body_bytes=100_000)
    pages = Pages(service="demo", secret=os.urandom(32), public_url=public_url,
                  templates=HERE / "templates", messages=HERE / "messages")
    pages.install(app)
    app.include_router(router)
    return app

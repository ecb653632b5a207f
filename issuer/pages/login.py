"""Staff log-in and log-out pages (for now with a staff API token, e.g. the development token in var/)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer.api.deps import SessionDep, SettingsDep
from issuer.pages.routing import MasterKeyDep, render, staff_router
from issuer.pages.sessions import SESSION_SECONDS, end_staff_session, staff_of_session, start_staff_session
from issuer.pages.throttle import login_throttle
from schemas.oauth2 import InvalidToken
from servicekit.throttle import TooManyAttempts
from servicekit.web import PagesDep

router = staff_router()


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/staff", status_code=303)


@router.get("/staff/login", response_class=HTMLResponse)
def login_page(request: Request, pages: PagesDep, session: SessionDep, next: str = "/staff") -> Response:  # noqa: A002
    if staff_of_session(session=session, session_id=pages.cookies.cookie_session_id(request)) is not None:
        return pages.redirect(request, next)
    return render(pages, request, None, "login.html", "login.title", {"next": next, "errors": {}})


@router.post("/staff/login", response_class=HTMLResponse)
def login(request: Request, pages: PagesDep, session: SessionDep, master_key: MasterKeyDep, settings: SettingsDep,
          token: Annotated[str, Form(max_length=500)] = "",
          next: Annotated[str, Form(max_length=500)] = "/staff") -> Response:  # noqa: A002
    if not token.strip():  # nothing tried: not counted
        return render(pages, request, None, "login.html", "login.title",
                      {"next": next, "errors": {"token": pages.t(request, "login.error.empty")}}, status_code=400)
    response = pages.redirect(request, next)
    throttle, keys = login_throttle(session, master_key, request.client.host if request.client else None, settings)
    try:
        slots = throttle.admit(session, keys)  # the slot is taken before the token is looked up
        staff = start_staff_session(session=session, token=token, new_session_id=lambda: pages.new_session(
            request, response, max_age=SESSION_SECONDS))
    except TooManyAttempts as exc:
        errors = {"token": pages.t(request, "login.error.throttled", seconds=exc.retry_after)}
        page = render(pages, request, None, "login.html", "login.title", {"next": next, "errors": errors},
                      status_code=429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except InvalidToken:  # the attempt keeps its slot: a failure
        errors = {"token": pages.t(request, "login.error.token")}
        return render(pages, request, None, "login.html", "login.title", {"next": next, "errors": errors},
                      status_code=400)
    throttle.succeeded(session, slots)
    pages.flash(request, response, "login.welcome", level="success", name=staff.name)
    return response


@router.post("/staff/logout")
def logout(request: Request, pages: PagesDep, session: SessionDep) -> Response:
    end_staff_session(session=session, session_id=pages.cookies.cookie_session_id(request))
    response = pages.redirect(request, "/staff/login")
    pages.new_session(request, response)
    pages.flash(request, response, "logout.done", level="info")
    return response

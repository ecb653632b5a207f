"""What every staff page shares: the logged-in staff member, error pages instead of JSON, rendering.

Page routes are thin: they read the form, call the same `issuer.services` functions as the admin
API with the staff member's `Principal` (so the pages see exactly what the API would let them see),
and render a template. `StaffPageRoute` turns the services' "not found" and "not allowed" into
translated error pages, and a missing log-in into a redirect to the log-in page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from issuer.api.deps import SessionDep
from issuer.pages.sessions import StaffUser, staff_of_session
from schemas.oauth2 import AccessDenied, NotFound
from servicekit.web import CsrfProtected, PageError, Pages, PagesDep
from vc.keys import MasterKey

__all__ = ["EngineDep", "FormDep", "LoginRequired", "MasterKeyDep", "StaffDep", "StaffPageRoute", "format_time", "render",
           "staff_router", "translate_errors"]


class LoginRequired(Exception):  # noqa: N818 - a condition, not a failure
    """The page needs a logged-in staff member; answered with a redirect to the log-in page."""


class StaffPageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                back = request.url.path if request.method == "GET" else "/staff"
                return RedirectResponse(f"/staff/login?next={quote(back)}", status_code=303,
                                        headers={"Cache-Control": "no-store"})
            except NotFound as exc:
                raise PageError(404, "error.not_found.title", "error.not_found.body") from exc
            except AccessDenied as exc:
                raise PageError(403, "staff.forbidden.title", "staff.forbidden.body") from exc

        return route


def staff_router() -> APIRouter:
    """A router of staff pages: every POST needs the CSRF token, nothing goes in the OpenAPI document."""
    return APIRouter(route_class=StaffPageRoute, dependencies=[CsrfProtected], include_in_schema=False)


def current_staff(request: Request, session: SessionDep, pages: PagesDep) -> StaffUser:
    staff = staff_of_session(session=session, session_id=pages.cookies.cookie_session_id(request))
    if staff is None:
        raise LoginRequired
    return staff


async def get_form(request: Request) -> FormData:
    """The posted form (parsed once; the CSRF check has read it already), for sync routes with many fields."""
    return await request.form()


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_master_key(request: Request) -> MasterKey:
    return request.app.state.master_key  # type: ignore[no-any-return]


StaffDep = Annotated[StaffUser, Depends(current_staff)]
FormDep = Annotated[FormData, Depends(get_form)]
EngineDep = Annotated[Engine, Depends(get_engine)]
MasterKeyDep = Annotated[MasterKey, Depends(get_master_key)]


def render(pages: Pages, request: Request, staff: StaffUser | None, template: str, title_id: str,
           context: Mapping[str, Any] | None = None, *, status_code: int = 200, **title_params: object) -> HTMLResponse:
    """Render a staff page titled `title_id`; templates get `staff` (None on the log-in page)."""
    return pages.render(request, template, {"page_title": pages.t(request, title_id, **title_params), "staff": staff,
                                            **(context or {})}, status_code=status_code)


def translate_errors(pages: Pages, request: Request, errors: Mapping[str, str]) -> dict[str, str]:
    """{field id: message id} → {field id: text in the reader's language}, for `ui.error_summary`."""
    return {field: pages.t(request, message_id) for field, message_id in errors.items()}


def format_time(value: int | None) -> str:
    """A Unix time as `2025-03-12 14:03 UTC` (readable in both languages)."""
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")

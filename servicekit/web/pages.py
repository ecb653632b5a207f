"""Server-rendered pages for a service: templates, language, CSRF, cookies, flash messages, static files.

A service makes one `Pages` in `create_app` and installs it; its page routes then render
templates that extend our `base.html` and use the `ui` macros (`macros.html`):

    pages = Pages(service="wallet", secret=pages_secret, public_url=settings.base_url,
                  templates=Path(__file__).parent / "templates", messages=Path(__file__).parent / "messages")
    pages.install(app)

    router = APIRouter(dependencies=[CsrfProtected])   # every POST/PUT/PATCH/DELETE needs the token

    @router.get("/")
    def home(request: Request, pages: PagesDep) -> HTMLResponse:
        return pages.render(request, "home.html", {"page_title": pages.t(request, "home.title")})

`secret` signs CSRF tokens and flash messages; it must be the same in every worker (keep it sealed
under the master key in the database) and at least 32 bytes.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.oauth2 import ProtocolError
from servicekit.web.cookies import FlashLevel, FlashMessage, PageCookies
from servicekit.web.csrf import CSRF_FIELD, CSRF_HEADER, CsrfRejected, create_csrf_token, verify_csrf_token
from servicekit.web.i18n import LANG_COOKIE, LANGUAGES, Catalog, choose_language

__all__ = ["CsrfProtected", "PageError", "Pages", "PagesDep", "get_pages", "make_environment", "page_link",
           "require_csrf"]

log = logging.getLogger(__name__)

SHARED_TEMPLATES = Path(__file__).parent / "templates"
SHARED_STATIC = Path(__file__).parent / "static"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Protocol errors a browser page tells in words of its own (title, text): error code → message ids.
_TRANSLATED_ERRORS = {"temporarily_unavailable": ("error.unavailable.title", "error.unavailable.body")}


class PageError(Exception):
    """Raise in a page route to answer with the error page: `status_code` and two message ids."""

    def __init__(self, status_code: int, title_id: str = "error.title", body_id: str | None = None,
                 **params: object) -> None:
        super().__init__(title_id)
        self.status_code = status_code
        self.title_id = title_id
        self.body_id = body_id
        self.params = params


def make_environment(templates: Path | None = None) -> Environment:
    """Jinja2 for pages: the service's folder first, then ours (`base.html`, `macros.html`, `error.html`)."""
    folders = [str(templates)] if templates is not None else []
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(folders), FileSystemLoader(str(SHARED_TEMPLATES))]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """One service's page plumbing; `install` it on the app, reach it in routes with `PagesDep`."""

    def __init__(self, *, service: str, secret: bytes, public_url: str, templates: Path | None = None,
                 messages: Path | None = None, static: Path | None = None, home_path: str = "/") -> None:
        if len(secret) < 32:
            raise TypeError("the pages secret must be at least 32 bytes")
        self.service = service
        self.secret = secret
        self.home_path = home_path
        self.environment = make_environment(templates)
        self.catalog = Catalog.load(messages)
        self.cookies = PageCookies(service=service, secure=public_url.lower().startswith("https://"), secret=secret)
        self._static_dirs = [d for d in (static, SHARED_STATIC) if d is not None]
        self._static_versions: dict[str, str] = {}

    # -- set-up ---------------------------------------------------------------------------------

    def install(self, app: FastAPI) -> None:
        """Mount `/static`, add the `/lang/{code}` switch and the error pages; keep JSON errors for APIs.

        Call it after `servicekit.app.add_service_basics`, whose JSON error handler it keeps for API clients.
        """
        app.state.pages = self
        extra = [str(d) for d in self._static_dirs[:-1]]
        app.mount("/static", StaticFiles(directory=extra[0] if extra else None,
                                         packages=[("servicekit.web", "static")]), name="static")

        @app.get("/lang/{code}", include_in_schema=False)
        def switch_language(code: str, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
            if code not in LANGUAGES:
                raise PageError(404, "error.not_found.title", "error.not_found.body")
            response = RedirectResponse(_local_path(next), status_code=303, headers={"Cache-Control": "no-store"})
            self.cookies.set_language(response, code)
            return response

        @app.exception_handler(CsrfRejected)
        async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
            log.info("CSRF check refused %s %s: %s", request.method, request.url.path, exc.reason)
            return self.error_page(request, 403, "error.csrf.title", "error.csrf.body")

        @app.exception_handler(PageError)
        async def page_error(request: Request, exc: PageError) -> Response:
            return self.error_page(request, exc.status_code, exc.title_id, exc.body_id, **exc.params)

        # A browser navigating gets a page; API clients keep the JSON errors of servicekit.app.
        self._page_for_browsers(app, StarletteHTTPException, lambda request, exc: self.error_page(
            request, exc.status_code, *(("error.not_found.title", "error.not_found.body") if exc.status_code == 404
                                        else ("error.title",))))
        self._page_for_browsers(app, RequestValidationError, lambda request, _exc: self.error_page(
            request, 400, "error.bad_request.title", "error.bad_request.body"))
        self._page_for_browsers(app, ProtocolError, self._protocol_error_page)

    def _protocol_error_page(self, request: Request, exc: ProtocolError) -> Response:
        if exc.error in _TRANSLATED_ERRORS:  # told in the reader's language instead of the English description
            page = self.error_page(request, exc.status_code, *_TRANSLATED_ERRORS[exc.error])
        else:
            page = self.error_page(request, exc.status_code, "error.title", message=exc.description or "")
        page.headers.update(exc.headers())  # e.g. Retry-After
        return page

    def _page_for_browsers(self, app: FastAPI, kind: type[Exception],
                           page: Callable[[Request, Any], Response]) -> None:
        api_handler = app.exception_handlers.get(kind)

        async def handler(request: Request, exc: Exception) -> Response:
            if api_handler is None or _wants_html(request):
                return page(request, exc)
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(kind, handler)

    # -- per request ----------------------------------------------------------------------------

    def language(self, request: Request) -> str:
        return choose_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))

    def t(self, request: Request, message_id: str, /, **params: object) -> str:
        """A message in the reader's language (for flash messages, titles and errors built in Python)."""
        return self.catalog.translate(self.language(request), message_id, **params)

    def render(self, request: Request, template: str, context: Mapping[str, Any] | None = None, *,
               status_code: int = 200, no_store: bool = True, headers: Mapping[str, str] | None = None
               ) -> HTMLResponse:
        """Render `template` in the reader's language; pages are `no-store` unless said otherwise."""
        language = self.language(request)
        session_id = self.cookies.ensure_session(request)
        flashes = self.cookies.take_flashes(request)
        tokens: list[str] = []

        def csrf_token() -> str:
            if not tokens:
                tokens.append(create_csrf_token(self.secret, session_id))
            return tokens[0]

        def translate(message_id: str, /, **params: object) -> str:
            return self.catalog.translate(language, message_id, **params)

        values: dict[str, Any] = {
            "request": request, "lang": language, "languages": LANGUAGES, "t": translate,
            "csrf_token": csrf_token, "csrf_field_name": CSRF_FIELD, "flashes": flashes,
            "static_url": self.static_url, "home_path": self.home_path, "service": self.service,
            "current_path": _current_path(request),
        }
        values["ui"] = self.environment.get_template("macros.html").make_module(values)
        values.update(context or {})
        html = self.environment.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
        response.headers["Content-Language"] = language
        if no_store:
            response.headers["Cache-Control"] = "no-store"
        if flashes:
            self.cookies.delete(response, self.cookies.flash_name)
        self.cookies.write_new_session(request, response)
        return response

    def error_page(self, request: Request, status_code: int, title_id: str, body_id: str | None = None, *,
                   message: str | None = None, **params: object) -> HTMLResponse:
        """The error page: a translated title and text (or a ready `message`), with `status_code`."""
        text = message if message is not None else self.t(request, body_id, **params) if body_id else ""
        return self.render(request, "error.html", {"status_code": status_code, "message": text,
                                                   "page_title": self.t(request, title_id, **params)},
                           status_code=status_code)

    def flash(self, request: Request, response: Response, message_id: str, /, *, level: FlashLevel = "info",
              **params: object) -> None:
        """Show a message once on the next page this browser renders."""
        self.cookies.add_flash(request, response, FlashMessage(level, self.t(request, message_id, **params)))

    def redirect(self, request: Request, path: str, *, flash: str | None = None, level: FlashLevel = "success",
                 **params: object) -> RedirectResponse:
        """303 See Other to a local `path` (after a form post), optionally with a flash message."""
        response = RedirectResponse(_local_path(path), status_code=303, headers={"Cache-Control": "no-store"})
        if flash:
            self.flash(request, response, flash, level=level, **params)
        return response

    def new_session(self, request: Request, response: Response, *, max_age: int | None = None) -> str:
        """Give the browser a fresh page-session id (call it on log-in; earlier CSRF tokens stop working)."""
        return self.cookies.new_session(request, response, max_age=max_age)

    def end_session(self, response: Response) -> None:
        self.cookies.end_session(response)

    async def check_csrf(self, request: Request) -> None:
        """Raise `CsrfRejected` for a state-changing request without this session's token."""
        if request.method in _SAFE_METHODS:
            return
        if request.headers.get("sec-fetch-site") == "cross-site":
            raise CsrfRejected("the browser says the request came from another site")
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(_FORM_TYPES):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        verify_csrf_token(self.secret, self.cookies.cookie_session_id(request), token)

    def static_url(self, path: str) -> str:
        """`/static/<path>?v=<content hash>`, so browsers may cache a file until it changes."""
        version = self._static_versions.get(path)
        if version is None:
            for folder in self._static_dirs:
                candidate = (folder / path).resolve()
                if candidate.is_file() and candidate.is_relative_to(folder.resolve()):
                    version = hashlib.sha256(candidate.read_bytes()).hexdigest()[:12]
                    break
            else:
                raise FileNotFoundError(f"no static file {path!r}")
            self._static_versions[path] = version
        return f"/static/{path}?v={version}"


def page_link(path: str, number: int, **params: str | None) -> str:
    """The link to page `number` of a paged list at `path`, keeping its other (non-empty) query parameters;
    page 1 is the list's own address."""
    query = urlencode({**{k: v for k, v in params.items() if v}, **({"page": number} if number > 1 else {})})
    return path + ("?" + query if query else "")


def get_pages(request: Request) -> Pages:
    pages = getattr(request.app.state, "pages", None)
    if not isinstance(pages, Pages):
        raise RuntimeError("Pages.install(app) was not called")
    return pages


async def require_csrf(request: Request) -> None:
    """Dependency: refuse a state-changing request without a valid CSRF token (a 403 page)."""
    await get_pages(request).check_csrf(request)


PagesDep = Annotated[Pages, Depends(get_pages)]
#: For `APIRouter(dependencies=[CsrfProtected])` or a route's `dependencies=[...]`.
CsrfProtected: Any = Depends(require_csrf)


def _local_path(path: str) -> str:
    """`path` when it stays on this site, else `/` (no open redirects through `next=`)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/"
    return path


def _current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _wants_html(request: Request) -> bool:
    """A browser loading a page (navigation or form post) asks for HTML first; API clients do not."""
    return request.headers.get("accept", "").lstrip().startswith("text/html")


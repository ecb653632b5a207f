"""The learner's pages (server-rendered, Dutch and English, mobile first): thin routers over the same
service functions the API uses. `install_pages(app, ...)` mounts them with `servicekit.web.Pages`.

Every form is CSRF-protected (`CsrfProtected`), and a learner's pages run on a page session
(`wallet.pages.common`), never on an API token.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from servicekit.web import Pages
from wallet.pages import account, auth, credentials, offers, presentations
from wallet.pages.common import LoginRequired, add_template_helpers
from wallet.settings import WalletSettings

__all__ = ["install_pages"]

HERE = Path(__file__).resolve().parent.parent


def install_pages(app: FastAPI, settings: WalletSettings, secret: bytes) -> Pages:
    pages = Pages(service="wallet", secret=secret, public_url=settings.base_url, templates=HERE / "templates",
                  messages=HERE / "messages", static=HERE / "static", home_path="/credentials")
    pages.install(app)
    add_template_helpers(pages)

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        target = "/login" if exc.next_path in ("/", "/credentials") else f"/login?next={quote(exc.next_path, safe='')}"
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    for module in (auth, credentials, offers, presentations, account):
        app.include_router(module.router)
    return pages

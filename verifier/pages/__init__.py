"""Pages for people: the employer or admissions office asks a learner for a credential, sees the
verdict, or checks a credential file. Dutch and English, server-rendered (`servicekit.web`).

`install_pages(app)` (after `add_service_basics`, with `app.state.engine`, `master_key` and
`settings` set) makes the `Pages` with the secret sealed in the database and adds the routes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from servicekit.web import Pages
from verifier.pages.routes import router
from verifier.pages.secret import load_pages_secret

__all__ = ["MESSAGES", "STATIC", "TEMPLATES", "install_pages"]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
MESSAGES = ROOT / "messages"
STATIC = ROOT / "static"


def install_pages(app: FastAPI) -> Pages:
    """Install the verifier's pages on `app`."""
    state = app.state
    pages = Pages(service="verifier", secret=load_pages_secret(state.engine, state.master_key),
                  public_url=state.settings.base_url, templates=TEMPLATES, messages=MESSAGES, static=STATIC)
    pages.install(app)
    app.include_router(router)
    return pages

"""The issuer's pages for institution staff (Dutch and English): log in, institutions and their issuers,
badge classes, awarding one learner or a CSV of learners, and the status of awards.

`install_pages(app)` sets up the shared page plumbing (`servicekit.web.Pages`) with a secret that
is the same in every worker (sealed under the master key in the database) and adds the page routes.
The pages call the same `issuer.services` functions as the admin API, as the logged-in staff member.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlmodel import Session

from issuer.pages import awards, badges, bulk, institutions, login
from issuer.pages.badge_form import term_id
from issuer.pages.routing import format_time
from issuer.pages.sessions import PAGES_SECRET, load_issuer_secret
from servicekit.web import DEFAULT_LANGUAGE, Pages

__all__ = ["MESSAGES", "PAGE_ROUTERS", "TEMPLATES", "install_pages"]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
MESSAGES = ROOT / "messages"
STATIC = ROOT / "static"
PAGE_ROUTERS = (login.router, institutions.router, badges.router, awards.router, bulk.router)


def install_pages(app: FastAPI) -> Pages:
    """Add the staff pages to the issuer app (after `add_service_basics`)."""
    settings = app.state.settings
    with Session(app.state.engine) as session:
        secret = load_issuer_secret(session, app.state.master_key, PAGES_SECRET)
    pages = Pages(service="issuer", secret=secret, public_url=settings.base_url, templates=TEMPLATES,
                  messages=MESSAGES, static=STATIC, home_path="/staff")
    pages.environment.filters["when"] = format_time
    pages.environment.filters["term"] = _term_filter(pages)
    pages.install(app)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    return pages


def _term_filter(pages: Pages) -> Callable[..., str]:
    """`{{ value | term("assessment") }}`: a vocabulary value in the reader's language (as is when we have no name
    for it, e.g. an `ext:` achievement type)."""
    known = pages.catalog.messages[DEFAULT_LANGUAGE]

    @pass_context
    def term(context: Context, value: str | None, kind: str) -> str:
        if not value:
            return ""
        message_id = term_id(kind, value)
        return str(context["t"](message_id)) if message_id in known else value

    return term

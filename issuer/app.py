"""The issuer app factory: `create_app(settings)`; `uvicorn --factory issuer.app:create_app` reads the environment."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from sqlmodel import Session

from issuer.api import badges, institutions, oid4vci, public
from issuer.pages import install_pages
from issuer.pages.sessions import load_issuer_secret
from issuer.services.dpop import DpopNonces
from issuer.services.keys import KeyStore
from issuer.services.staff import bootstrap_admin
from issuer.settings import IssuerSettings
from servicekit.app import add_service_basics
from servicekit.database import make_engine, upgrade_database
from servicekit.masterkey import load_master_key

__all__ = ["create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"
#: Keys the HMAC of the DPoP nonces (the same in every worker).
DPOP_NONCE_SECRET = "dpop-nonce-secret"

log = logging.getLogger("issuer")


def create_app(settings: IssuerSettings | None = None) -> FastAPI:
    settings = settings or IssuerSettings()
    engine = make_engine(settings.db_url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow)
    upgrade_database(engine, MIGRATIONS)
    app = FastAPI(title="eduwallet issuer", version="0.1.0")
    app.state.settings = settings
    app.state.engine = engine
    app.state.master_key = load_master_key(settings)
    app.state.keys = KeyStore(app.state.master_key, settings.base_url)
    add_service_basics(app, engine=engine, max_body_bytes=settings.max_body_bytes)
    for module in (oid4vci, public, institutions, badges):  # routes match in order: the wallets' first
        app.include_router(module.router)
    install_pages(app)
    with Session(engine) as session:
        app.state.dpop_nonces = DpopNonces(load_issuer_secret(session, app.state.master_key, DPOP_NONCE_SECRET))
    if settings.bootstrap_admin:
        with Session(engine) as session:
            bootstrap_admin(session=session, var_dir=settings.var_dir)
    return app

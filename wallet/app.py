"""The wallet app factory: `create_app(settings)`; `uvicorn --factory wallet.app:create_app` reads the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlmodel import Session

from servicekit.app import add_service_basics
from servicekit.database import make_engine, upgrade_database
from servicekit.masterkey import load_master_key
from vc.fetch import Fetcher
from wallet.accounts import CACHE_INDEX, PAGES_SECRET, USERNAME_INDEX, load_service_index, load_service_secret
from wallet.api import backup, credentials, learners, offers, presentations
from wallet.pages import install_pages
from wallet.services import WalletServices
from wallet.settings import WalletSettings

__all__ = ["create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: WalletSettings | None = None, *, fetcher: Fetcher | None = None) -> FastAPI:
    """The wallet app. `fetcher` replaces the network for outbound requests (tests)."""
    settings = settings or WalletSettings()
    engine = make_engine(settings.db_url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow)
    upgrade_database(engine, MIGRATIONS)
    master_key = load_master_key(settings)
    with Session(engine) as session:
        username_index = load_service_index(session, master_key, USERNAME_INDEX)
        cache_index = load_service_index(session, master_key, CACHE_INDEX)
        pages_secret = load_service_secret(session, master_key, PAGES_SECRET)
    services = WalletServices.create(settings, master_key, cache_index, fetcher)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        services.fetcher.close()
        engine.dispose()

    app = FastAPI(title="eduwallet wallet", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.master_key = master_key
    app.state.username_index = username_index
    app.state.services = services
    add_service_basics(app, engine=engine, max_body_bytes=settings.max_body_bytes)
    for module in (learners, credentials, offers, presentations, backup):
        app.include_router(module.router)
    install_pages(app, settings, pages_secret)
    return app

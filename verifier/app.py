"""The verifier app factory: `create_app(settings)`; `uvicorn --factory verifier.app:create_app` reads the environment."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from servicekit.app import add_service_basics
from servicekit.database import make_engine, upgrade_database
from servicekit.masterkey import load_master_key
from verifier.api import api_keys, check, oid4vp, requests, trusted_issuers
from verifier.api_keys import bootstrap_api_key
from verifier.identity import load_identity
from verifier.pages import install_pages
from verifier.results import delete_expired_results
from verifier.settings import VerifierSettings
from verifier.verification import VerificationService
from verifier.webhooks import WebhookDispatcher

__all__ = ["create_app"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
#: How often old results are deleted (and once at start).
RETENTION_SWEEP_SECONDS = 3600


def create_app(settings: VerifierSettings | None = None) -> FastAPI:
    settings = settings or VerifierSettings()
    engine = make_engine(settings.db_url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow)
    upgrade_database(engine, MIGRATIONS)
    master_key = load_master_key(settings)
    service = VerificationService(settings)
    webhooks = WebhookDispatcher(engine, master_key, settings)

    def sweep() -> int:
        with Session(engine) as session:
            return delete_expired_results(session, retention_days=settings.retention_days)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def retention_loop() -> None:
            while True:
                try:
                    deleted = await run_in_threadpool(sweep)
                    if deleted:
                        log.info("deleted %d presentation results older than %d days", deleted,
                                 settings.retention_days)
                except Exception:  # noqa: BLE001 - a failed sweep is retried at the next one
                    log.exception("retention sweep failed")
                await asyncio.sleep(RETENTION_SWEEP_SECONDS)

        task = asyncio.create_task(retention_loop())
        webhooks.start()
        try:
            yield
        finally:
            task.cancel()
            await webhooks.stop()
            service.close()

    app = FastAPI(title="eduwallet verifier", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.master_key = master_key
    app.state.identity = load_identity(engine, master_key, settings)
    app.state.verification = service
    app.state.webhooks = webhooks
    add_service_basics(app, engine=engine, max_body_bytes=settings.max_body_bytes)
    for module in (requests, oid4vp, trusted_issuers, api_keys, check):
        app.include_router(module.router)
    install_pages(app)
    if settings.bootstrap_api_key:
        with Session(engine) as session:
            bootstrap_api_key(session=session, var_dir=settings.var_dir)
    return app

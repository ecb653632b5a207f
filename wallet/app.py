"""The wallet app factory: `create_app(settings)`; `uvicorn --factory wallet.app:create_app` reads the environment."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from servicekit.app import add_service_basics
from servicekit.database import make_engine, upgrade_database
from servicekit.masterkey import load_master_key

from wallet.settings import WalletSettings

__all__ = ["create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: WalletSettings | None = None) -> FastAPI:
    settings = settings or WalletSettings()
    engine = make_engine(settings.db_url)
    upgrade_database(engine, MIGRATIONS)
    app = FastAPI(title="eduwallet wallet", version="0.1.0")
    app.state.settings = settings
    app.state.engine = engine
    app.state.master_key = load_master_key(settings)
    add_service_basics(app, engine=engine, max_body_bytes=settings.max_body_bytes)
    return app

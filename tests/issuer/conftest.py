"""Fixtures of the issuer tests: a migrated SQLite database in tmp_path (service layer), and a running
issuer with its admin client and a microcredential badge class (integration, one per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from issuer.app import MIGRATIONS
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from servicekit.database import make_engine, upgrade_database
from tests.issuer.live import MICROCREDENTIAL
from tests.servers import RunningService, running_service
from vc.keys import MasterKey

BASE_URL = "http://localhost:8001"


@pytest.fixture
def settings(tmp_path: Path) -> IssuerSettings:
    return IssuerSettings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'issuer.db'}",
                          public_url=BASE_URL, master_key=MasterKey.generate_text())


@pytest.fixture
def engine(settings: IssuerSettings) -> Iterator[Engine]:
    engine = make_engine(settings.db_url)
    upgrade_database(engine, MIGRATIONS)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def keys(settings: IssuerSettings) -> KeyStore:
    assert settings.master_key is not None
    return KeyStore(MasterKey.from_text(settings.master_key.get_secret_value()), settings.base_url)


@pytest.fixture
def admin() -> Principal:
    return Principal(staff_id=0, role="service_admin", institution_id=None, issuer_id=None)


# --- a running issuer over HTTP (integration tests) ---

@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("issuer", tmp_path_factory.mktemp("issuer")) as service:
        yield service


@pytest.fixture(scope="module")
def admin_api(issuer: RunningService) -> Iterator[httpx.Client]:
    token = (issuer.var_dir / "issuer-admin.token").read_text().strip()
    with httpx.Client(base_url=issuer.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def badge(admin_api: httpx.Client) -> dict[str, Any]:
    institution = admin_api.post("/admin/institutions", json={
        "name": "Universiteit Voorbeeld", "country": "NL", "homepage": "https://uv.example.nl/"}).json()
    created = admin_api.post("/admin/badge-classes", json={
        "institution_id": institution["id"], "name": "Web Security Essentials", **MICROCREDENTIAL})
    assert created.status_code == 201, created.text
    return {**created.json(), "institution": institution}

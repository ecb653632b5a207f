"""Fixtures for the wallet tests: a real SQLite database in tmp_path, a master key, learners."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from servicekit.database import make_engine, upgrade_database
from vc.keys import MasterKey
from wallet.accounts import CACHE_INDEX, USERNAME_INDEX, LearnerContext, load_service_index, register_learner
from wallet.app import MIGRATIONS, create_app
from wallet.services import WalletServices
from wallet.settings import WalletSettings
from wallet.vault import IndexKey


@pytest.fixture(scope="session")
def openid_provider_installed() -> None:
    """`npm ci` the test OpenID Provider (tests/wallet/oidc) once, when its node_modules is missing."""
    from tests.wallet.oidc.provider import ensure_node_modules

    try:
        ensure_node_modules()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def master_key_text() -> str:
    return MasterKey.generate_text()


@pytest.fixture
def master_key(master_key_text: str) -> MasterKey:
    return MasterKey.from_text(master_key_text)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wallet.db"


@pytest.fixture
def session(db_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade_database(engine, MIGRATIONS)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def username_index(session: Session, master_key: MasterKey) -> IndexKey:
    return load_service_index(session, master_key, USERNAME_INDEX)


@pytest.fixture
def make_learner(session: Session, master_key: MasterKey,
                 username_index: IndexKey) -> Callable[..., LearnerContext]:
    def make(username: str = "ada.lovelace", password: str = "correct horse battery") -> LearnerContext:
        return register_learner(session=session, master_key=master_key, username_index=username_index,
                                username=username, password=password)

    return make


@pytest.fixture
def settings(tmp_path: Path, master_key_text: str) -> WalletSettings:
    return WalletSettings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'api.db'}",
                          master_key=master_key_text)


@pytest.fixture
def client(settings: WalletSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def login(client: TestClient) -> Callable[..., dict[str, str]]:
    """Register a learner through the API and return bearer headers for them."""

    def register_and_login(username: str = "ada.lovelace", password: str = "correct horse battery") -> dict[str, str]:
        assert client.post("/api/v1/learners", json={"username": username, "password": password}).status_code == 201
        token = client.post("/api/v1/token", json={"username": username, "password": password}).json()
        return {"Authorization": f"Bearer {token['access_token']}"}

    return register_and_login


@pytest.fixture
def services(session: Session, master_key: MasterKey, tmp_path: Path) -> Iterator[WalletServices]:
    settings = WalletSettings(var_dir=tmp_path / "var", allow_http_loopback=True)
    services = WalletServices.create(settings, master_key, load_service_index(session, master_key, CACHE_INDEX))
    yield services
    services.fetcher.close()

"""Engines, migrations and the master key, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from issuer.app import MIGRATIONS as ISSUER_MIGRATIONS
from issuer.settings import IssuerSettings
from servicekit.database import make_engine, upgrade_database
from servicekit.masterkey import load_master_key
from tests.servers import new_database_url
from vc.keys import MasterKey


def test_migrations_apply_and_are_idempotent(tmp_path: Path) -> None:
    engine = make_engine(new_database_url("issuer", tmp_path))
    upgrade_database(engine, ISSUER_MIGRATIONS)
    upgrade_database(engine, ISSUER_MIGRATIONS)
    assert "alembic_version" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


def test_sqlite_conditional_update_has_exactly_one_winner(tmp_path: Path) -> None:
    """The single-use pattern every service relies on: one UPDATE ... WHERE used IS NULL, many threads."""
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE code (id INTEGER PRIMARY KEY, used_by INTEGER)"))
        connection.execute(text("INSERT INTO code (id) VALUES (1)"))
    winners: list[int] = []
    barrier = threading.Barrier(20)

    def redeem(n: int) -> None:
        barrier.wait()
        with engine.begin() as connection:
            result = connection.execute(text("UPDATE code SET used_by = :n WHERE id = 1 AND used_by IS NULL"), {"n": n})
            if result.rowcount == 1:
                winners.append(n)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_master_key_generated_once_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = IssuerSettings(var_dir=tmp_path)
    first = load_master_key(settings)
    assert "no master key configured" in caplog.text
    assert settings.master_key_file.stat().st_mode & 0o777 == 0o600
    second = load_master_key(settings)
    assert second.open(first.seal(b"secret", "t"), "t") == b"secret"


def test_master_key_from_settings_wins(tmp_path: Path) -> None:
    text_key = MasterKey.generate_text()
    settings = IssuerSettings(var_dir=tmp_path, master_key=text_key)
    sealed = load_master_key(settings).seal(b"x", "aad")
    assert MasterKey.from_text(text_key).open(sealed, "aad") == b"x"
    assert not settings.master_key_file.exists()


def test_settings_read_environment_with_service_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDUWALLET_ISSUER_DATABASE_URL", "postgresql://u:p@db/issuer")
    monkeypatch.setenv("EDUWALLET_ISSUER_PUBLIC_URL", "https://issuer.example.edu/")
    monkeypatch.setenv("EDUWALLET_WALLET_DATABASE_URL", "sqlite:///other.db")
    settings = IssuerSettings()
    assert settings.db_url == "postgresql://u:p@db/issuer"
    assert settings.base_url == "https://issuer.example.edu"


def test_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    settings = IssuerSettings(var_dir=tmp_path)
    assert settings.db_url == f"sqlite:///{tmp_path / 'issuer.db'}"
    assert settings.base_url == "http://localhost:8001"


def test_workers_starting_together_agree_on_one_master_key(tmp_path: Path) -> None:
    settings = IssuerSettings(var_dir=tmp_path)
    keys: list[MasterKey] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(load_master_key(settings))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sealed = keys[0].seal(b"one key", "aad")
    assert all(key.open(sealed, "aad") == b"one key" for key in keys)
    assert [p.name for p in tmp_path.iterdir()] == ["issuer-master.key"]


def test_postgresql_pool_size_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUWALLET_ISSUER_DB_POOL_SIZE", "3")
    monkeypatch.setenv("EDUWALLET_ISSUER_DB_MAX_OVERFLOW", "0")
    settings = IssuerSettings()
    engine = make_engine("postgresql://user:secret@127.0.0.1:1/none", pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow)  # no connection is made here
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 0)  # type: ignore[attr-defined]
    monkeypatch.setenv("EDUWALLET_ISSUER_DB_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="db_pool_size"):
        IssuerSettings()

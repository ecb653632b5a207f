"""The wallet's models and its Alembic history describe the same schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from servicekit.database import make_engine, upgrade_database
from wallet.app import MIGRATIONS
from wallet.models import WalletTable


def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wallet.db'}")
    upgrade_database(engine, MIGRATIONS)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                WalletTable.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= set(WalletTable.metadata.tables)


def test_migrations_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wallet.db'}")
    upgrade_database(engine, MIGRATIONS)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        connection.commit()
    assert not set(inspect(engine).get_table_names()) & set(WalletTable.metadata.tables)
    upgrade_database(engine, MIGRATIONS)
    assert set(inspect(engine).get_table_names()) >= set(WalletTable.metadata.tables)

"""The verifier's Alembic history creates exactly the tables `verifier.models` declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from servicekit.database import make_engine, upgrade_database
from verifier.app import MIGRATIONS
from verifier.models import VerifierTable


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'verifier.db'}")
    upgrade_database(engine, MIGRATIONS)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, VerifierTable.metadata) == []
    assert {"presentation_request", "trusted_issuer", "verifier_identity", "service_secret", "request_owner",
            "api_key"} <= set(inspect(engine).get_table_names())


def test_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'verifier.db'}")
    upgrade_database(engine, MIGRATIONS)
    upgrade_database(engine, MIGRATIONS)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "verifier_0005"

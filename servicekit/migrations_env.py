"""The body of each service's Alembic `env.py`: online migrations on the connection handed in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine


def run(target_metadata: MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic` command line: take the URL from the ini / -x url=...
        url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
        engine = create_engine(url or "sqlite://")
        with engine.connect() as conn:
            _run_on(conn, target_metadata)
        return
    _run_on(connection, target_metadata)


def _run_on(connection, target_metadata: MetaData) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()

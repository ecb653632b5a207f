"""Database engine, sessions and Alembic migrations, one database per service.

SQLite (the default, a file under `var/`) runs in WAL mode with a busy timeout so
several requests can work at once; PostgreSQL is used as is. Migrations run on
start; on PostgreSQL under an advisory lock so several workers can start together.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import annotated_types
from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

__all__ = ["Offset", "RowId", "dialect_insert", "make_engine", "session_scope", "upgrade_database"]

#: A row id as a request names it (path, query or body). INTEGER primary keys are 32-bit on PostgreSQL;
#: a number outside that range is invalid input (400), not a driver overflow (500) on SQLite.
RowId = Annotated[int, annotated_types.Ge(1), annotated_types.Le(2_147_483_647)]
#: A page offset (`OFFSET n`), bounded like `RowId`: there are never more rows to skip.
Offset = Annotated[int, annotated_types.Ge(0), annotated_types.Le(2_147_483_647)]


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """The service's engine. `pool_size` / `max_overflow`: each PostgreSQL connection pool (per worker process)."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        in_memory = not path or path == ":memory:"  # one connection per thread anyway (SingletonThreadPool)
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite lets one transaction write at a time anyway (every transaction
        # here takes the write lock at BEGIN), and threads of one process then queue on the pool's lock instead
        # of SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between tries while the CPU idles.
        pool: dict[str, Any] = {} if in_memory else {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # pysqlite must not open transactions itself: the "begin" listener does.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN: read-then-write transactions cannot deadlock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def dialect_insert(session: Session) -> Callable[[Table], Any]:
    """`insert` of the session's dialect (PostgreSQL or SQLite), which has `on_conflict_do_nothing/_update`."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def session_scope(engine: Engine) -> Iterator[Session]:
    """A FastAPI dependency body: one session per request, closed afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def upgrade_database(engine: Engine, script_location: Path) -> None:
    """Apply the service's Alembic migrations up to head."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            lock_id = zlib.crc32(str(script_location.name).encode()) & 0x7FFFFFFF
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                connection.commit()

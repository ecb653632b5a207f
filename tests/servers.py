"""Start services for integration tests: real uvicorn processes on 127.0.0.1, real databases.

The database is SQLite in a temporary folder, or, when `EDUWALLET_TEST_POSTGRES_URL`
names a PostgreSQL server (as `.ci/run` sets it), a fresh database created there.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy

POSTGRES_URL = os.environ.get("EDUWALLET_TEST_POSTGRES_URL")


#: For servers that bind their port themselves (`eduwallet serve`, the Node servers), each pytest-xdist
#: worker draws ports from its own block, below Linux's ephemeral range (32768-60999) that
#: `bind(("127.0.0.1", 0))` and outgoing connections draw from. With ports from that range, a port chosen
#: for one server could be handed to another worker's server in the seconds before the first one bound
#: it, and a health check then found the wrong server (seen once in CI). `running_service` needs none of
#: this: it binds the socket itself.
PORT_BLOCK = 600
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_next_ports = itertools.cycle(range(20000 + PORT_BLOCK * (_WORKER % 20), 20000 + PORT_BLOCK * (_WORKER % 20 + 1)))


def free_port() -> int:
    """A loopback port that is free now and that no other test worker will choose."""
    for _ in range(PORT_BLOCK):
        port = next(_next_ports)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # still held by this worker's earlier service, or by something else
            return port
    raise RuntimeError(f"no free port in this test worker's block of {PORT_BLOCK}")


def admin_engine() -> sqlalchemy.Engine:
    """The PostgreSQL server's maintenance database, in autocommit (CREATE/DROP/ALTER DATABASE)."""
    assert POSTGRES_URL
    return sqlalchemy.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"),
                                    isolation_level="AUTOCOMMIT")


def drop_database(url: str) -> None:
    """Drop a database made by `new_database_url` (nothing to do for SQLite files)."""
    if not POSTGRES_URL or not url.startswith("postgresql"):
        return
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def new_database_url(name: str, tmp_path: Path) -> str:
    """A fresh, empty database for one service in one test."""
    if not POSTGRES_URL:
        return f"sqlite:///{tmp_path / (name + '.db')}"
    database = f"ew_{name}_{uuid.uuid4().hex[:12]}"
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


@dataclass
class RunningService:
    name: str
    url: str
    var_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


@contextmanager
def running_service(name: str, tmp_path: Path, *, env: dict[str, str] | None = None,
                    workers: int = 1) -> Iterator[RunningService]:
    """Run `<name>.app:create_app` under uvicorn on a free loopback port until the block ends.

    The harness binds the listening socket itself and hands it to uvicorn (`--fd`): the port is this
    service's from the start, so no other process, in this test run or another, can take it while the
    service starts, and the health check can only reach this service."""
    listener = socket.socket()
    # uvicorn wraps a passed socket as AF_UNIX (`socket.fromfd`), so asyncio never sets TCP_NODELAY on its
    # connections; they inherit it from the listener instead. Without it, Nagle's algorithm held each response
    # body behind its headers until the client's delayed ACK: about 40 ms per request.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = int(listener.getsockname()[1])
    var_dir = tmp_path / f"{name}-var"
    var_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"EDUWALLET_{name.upper()}_"
    database_url = new_database_url(name, tmp_path)
    process_env = {**os.environ, prefix + "VAR_DIR": str(var_dir), prefix + "PORT": str(port),
                   prefix + "DATABASE_URL": database_url, prefix + "PUBLIC_URL": f"http://localhost:{port}",
                   **(env or {})}
    log_file = tmp_path / f"{name}.log"
    with log_file.open("wb") as log, listener:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", f"{name}.app:create_app", "--fd", str(listener.fileno()),
             "--workers", str(workers), "--log-level", "warning"],
            env=process_env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()])
    service = RunningService(name, f"http://localhost:{port}", var_dir, database_url, process, log_file)
    try:
        _wait_ready(service)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drop_database(database_url)


def _wait_ready(service: RunningService, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited early:\n{service.log()}")
        try:
            if httpx.get(service.url + "/healthz", timeout=1.0).status_code == 200:  # noqa: TID251 - test harness
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not become ready:\n{service.log()}")


def verifier_api_headers(verifier: RunningService) -> dict[str, str]:
    """`Authorization: Bearer` with the admin API key a verifier writes to its var dir on its first start."""
    return {"Authorization": f"Bearer {(verifier.var_dir / 'verifier-api.key').read_text().strip()}"}

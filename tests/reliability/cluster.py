"""Helpers of the reliability tests: services that can be SIGKILLed and started again on the same
database, SQL checks on a service's database, and the issuer's admin API.

`running_service` (tests/servers.py) stops a service politely and drops its database; a crash test
needs the opposite: kill every process of the service at once (the uvicorn supervisor and its
workers, as a power cut would), then start it again on the same database and `var` folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

from tests.issuer.live import MICROCREDENTIAL
from tests.servers import RunningService, _wait_ready, drop_database, free_port, new_database_url

__all__ = [
    "ISSUER_ORPHANS",
    "WALLET_ORPHANS",
    "KillableService",
    "admin_client",
    "assert_consistent",
    "database",
    "killable_service",
    "new_badge",
    "rows",
    "scalar",
]


@dataclass
class KillableService:
    """One service (uvicorn with `workers` processes) in its own process group, on a fixed database."""

    name: str
    tmp_path: Path
    database_url: str
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def var_dir(self) -> Path:
        return self.tmp_path / f"{self.name}-var"

    @property
    def log_file(self) -> Path:
        return self.tmp_path / f"{self.name}-{self.starts}.log"

    def start(self) -> None:
        """Start (again) on the same port, database and var folder; returns once /healthz answers."""
        assert self.process is None, "already running"
        self.starts += 1
        self.var_dir.mkdir(parents=True, exist_ok=True)
        prefix = f"EDUWALLET_{self.name.upper()}_"
        env = {**os.environ, prefix + "VAR_DIR": str(self.var_dir), prefix + "PORT": str(self.port),
               prefix + "DATABASE_URL": self.database_url, prefix + "PUBLIC_URL": self.url, **self.env}
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", f"{self.name}.app:create_app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_ready(RunningService(self.name, self.url, self.var_dir, self.database_url, self.process, self.log_file))

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker at once: no shutdown code runs anywhere."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None
        self._wait_port_closed()

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return "\n".join(self.tmp_path.joinpath(f"{self.name}-{n}.log").read_text(errors="replace")
                         for n in range(1, self.starts + 1))

    def _wait_port_closed(self, timeout: float = 10.0) -> None:
        """Workers die a moment after the supervisor; wait until nothing answers on the port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with httpx.Client(timeout=0.5) as client:
                    client.get(self.url + "/healthz")
            except httpx.HTTPError:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} still answers after SIGKILL")


@contextmanager
def killable_service(name: str, tmp_path: Path, *, workers: int = 1,
                     env: dict[str, str] | None = None) -> Iterator[KillableService]:
    """A started `KillableService` with a fresh database, stopped and its database dropped afterwards."""
    service = KillableService(name, tmp_path, new_database_url(name, tmp_path), workers=workers, env=env or {})
    try:
        service.start()
        yield service
    finally:
        service.stop()
        drop_database(service.database_url)


@contextmanager
def database(url: str) -> Iterator[sqlalchemy.Engine]:
    """An engine on a service's database (SQLite file or PostgreSQL), for checks from the outside."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def rows(engine: sqlalchemy.Engine, sql: str, **params: Any) -> Sequence[sqlalchemy.Row[Any]]:
    with engine.connect() as connection:
        return connection.execute(sqlalchemy.text(sql), params).all()


def scalar(engine: sqlalchemy.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(sqlalchemy.text(sql), params).scalar()


def admin_client(service: RunningService | KillableService) -> httpx.Client:
    """The issuer's admin API with the development token written on its first start."""
    token_file = service.var_dir / "issuer-admin.token"
    deadline = time.monotonic() + 10
    while not token_file.exists() and time.monotonic() < deadline:  # another worker may still be writing it
        time.sleep(0.05)
    token = token_file.read_text().strip()
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def new_badge(admin: httpx.Client, name: str = "Web Security Essentials") -> dict[str, Any]:
    """An institution with one microcredential badge class; the badge with its `institution`."""
    institution = admin.post("/admin/institutions", json={"name": "Universiteit Voorbeeld", "country": "NL"})
    assert institution.status_code == 201, institution.text
    badge = admin.post("/admin/badge-classes", json={"institution_id": institution.json()["id"], "name": name,
                                                     **MICROCREDENTIAL})
    assert badge.status_code == 201, badge.text
    return {**badge.json(), "institution": institution.json()}


#: Queries that count rows which must not exist in a consistent issuer database.
ISSUER_ORPHANS = {
    "offers without award": "SELECT count(*) FROM credentialoffer o LEFT JOIN award a ON a.id = o.award_id "
                            "WHERE a.id IS NULL",
    "awards without offer": "SELECT count(*) FROM award a WHERE NOT EXISTS "
                            "(SELECT 1 FROM credentialoffer o WHERE o.award_id = a.id)",
    "access tokens without award": "SELECT count(*) FROM accesstoken t LEFT JOIN award a ON a.id = t.award_id "
                                   "WHERE a.id IS NULL",
    "credentials without award": "SELECT count(*) FROM issuedcredential i LEFT JOIN award a ON a.id = i.award_id "
                                 "WHERE a.id IS NULL",
    "credentials without status list": "SELECT count(*) FROM issuedcredential i LEFT JOIN statuslist s "
                                       "ON s.id = i.status_list_id WHERE s.id IS NULL",
    "status indices outside their list": "SELECT count(*) FROM issuedcredential i JOIN statuslist s "
                                         "ON s.id = i.status_list_id WHERE i.status_index < 0 "
                                         "OR i.status_index >= s.size",
    "status indices used twice": "SELECT count(*) FROM (SELECT status_list_id, status_index FROM issuedcredential "
                                 "GROUP BY status_list_id, status_index HAVING count(*) > 1) d",
    "awards of unknown badge classes": "SELECT count(*) FROM award a LEFT JOIN badgeclass b "
                                       "ON b.id = a.badge_class_id WHERE b.id IS NULL",
}

WALLET_ORPHANS = {
    "holder keys without credential": "SELECT count(*) FROM holder_key k LEFT JOIN credential c "
                                      "ON c.id = k.credential_id WHERE c.id IS NULL",
    "credentials missing copies' keys": "SELECT count(*) FROM credential c WHERE c.copies <> "
                                        "(SELECT count(*) FROM holder_key k WHERE k.credential_id = c.id)",
    "credentials without learner": "SELECT count(*) FROM credential c LEFT JOIN learner l ON l.id = c.learner_id "
                                   "WHERE l.id IS NULL",
}


def assert_consistent(db: sqlalchemy.Engine, orphans: dict[str, str]) -> None:
    found = {name: scalar(db, sql) for name, sql in orphans.items()}
    assert found == dict.fromkeys(orphans, 0)

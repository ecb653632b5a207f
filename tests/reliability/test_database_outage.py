"""The database goes away under a running service (PostgreSQL): every request that needs it is answered
503 `temporarily_unavailable` with `Retry-After`, never a 500, browsers get the error page, nothing is
half-stored, and the service serves again as soon as the database is back, without a restart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from tests.reliability.cluster import admin_client
from tests.servers import POSTGRES_URL, RunningService, admin_engine, running_service

pytestmark = pytest.mark.integration


@contextmanager
def database_closed(service: RunningService) -> Iterator[None]:
    """No new connection to the service's database, and its open ones cut, until the block ends."""
    name = service.database_url.rsplit("/", 1)[1]
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(sqlalchemy.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE datname = :name"), {"name": name})
        try:
            yield
        finally:
            connection.execute(sqlalchemy.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["retry-after"] == "5"


def test_the_issuer_answers_503_while_its_database_is_gone_and_serves_again_after(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("runs on PostgreSQL: set EDUWALLET_TEST_POSTGRES_URL (CI does)")
    with running_service("issuer", tmp_path) as issuer, admin_client(issuer) as admin, \
            httpx.Client(base_url=issuer.url, headers={"Accept": "text/html"}) as browser:
        assert admin.get("/admin/institutions").status_code == 200
        form = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/staff/login").text)
        assert form
        token = admin.headers["authorization"].removeprefix("Bearer ")
        assert browser.post("/staff/login", data={"csrf_token": form.group(1), "token": token}).status_code == 303
        assert browser.get("/staff").status_code == 200
        with database_closed(issuer):
            listed = admin.get("/admin/institutions")
            _unavailable(listed)
            assert listed.json()["error"] == "temporarily_unavailable"
            _unavailable(admin.post("/admin/institutions", json={"name": "Hogeschool Gap", "country": "NL"}))
            page = browser.get("/staff")  # a staff member's next click
            _unavailable(page)
            assert page.headers["content-type"].startswith("text/html")
            assert "<h1>Please try again in a moment</h1>" in page.text and "Nothing you sent was saved" in page.text
            dutch = browser.get("/staff", headers={"Accept-Language": "nl"})
            _unavailable(dutch)
            assert "<h1>Probeer het zo nog eens</h1>" in dutch.text
            assert admin.get("/readyz").status_code == 503
            assert admin.get("/healthz").status_code == 200  # the process itself is alive
        assert admin.get("/readyz").status_code == 200
        assert browser.get("/staff").status_code == 200
        assert admin.get("/admin/institutions").json() == []  # the refused POST stored nothing
        made = admin.post("/admin/institutions", json={"name": "Hogeschool Gap", "country": "NL"})
        assert made.status_code == 201, made.text
    log = issuer.log()
    assert '"status": 500' not in log and '"status": 503' in log and "database unavailable: OperationalError" in log

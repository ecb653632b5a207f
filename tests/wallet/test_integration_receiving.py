"""The wallet over real HTTP (uvicorn, its own database) receiving from a tiny issuer on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import qrcode

from tests.servers import RunningService, running_service
from tests.wallet.helpers import raw_database_bytes
from tests.wallet.tiny_issuer import (
    FAMILY_NAME,
    GIVEN_NAME,
    GRADE,
    OB3_ACHIEVEMENT,
    SD_ACHIEVEMENT,
    TinyIssuer,
    running_tiny_issuer,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("wallet", tmp_path) as service:
        yield service


@pytest.fixture
def issuer() -> Iterator[TinyIssuer]:
    with running_tiny_issuer() as issuer:
        yield issuer


def _login(http: httpx.Client, username: str, password: str = "correct horse battery") -> dict[str, str]:
    assert http.post("/api/v1/learners", json={"username": username, "password": password}).status_code == 201
    token = http.post("/api/v1/token", json={"username": username, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_receive_list_detail_isolation_and_delete_account(wallet: RunningService, issuer: TinyIssuer) -> None:
    with httpx.Client(base_url=wallet.url, timeout=30) as http:
        ada, grace = _login(http, "ada.lovelace"), _login(http, "grace.hopper")
        view = http.post("/api/v1/offers", json={"offer": issuer.offer()}, headers=ada)
        assert view.status_code == 200, view.text
        assert view.json()["tx_code"]["length"] == 6
        wrong = http.post(f"/api/v1/offers/{view.json()['id']}/accept", json={"tx_code": "111111"}, headers=ada)
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        # Grace cannot accept Ada's offer.
        assert http.post(f"/api/v1/offers/{view.json()['id']}/accept", json={"tx_code": "493536"},
                         headers=grace).status_code == 404
        accepted = http.post(f"/api/v1/offers/{view.json()['id']}/accept", json={"tx_code": "493536"}, headers=ada)
        assert accepted.status_code == 201, accepted.text
        names = sorted(c["name"] for c in accepted.json()["credentials"])
        assert names == sorted([SD_ACHIEVEMENT, OB3_ACHIEVEMENT])

        listed = http.get("/api/v1/credentials", headers=ada).json()
        assert listed["count"] == 2 and {c["status"] for c in listed["data"]} == {"valid"}
        assert {c["issuer"]["name"] for c in listed["data"]} == {"Tiny University"}
        sd = next(c for c in listed["data"] if c["format"] == "dc+sd-jwt")
        detail = http.get(f"/api/v1/credentials/{sd['id']}", headers=ada).json()
        assert detail["claims"]["family_name"] == FAMILY_NAME and detail["ects"] == 5 and detail["copies"] == 3
        assert http.get("/api/v1/credentials", params={"q": "lichenology"}, headers=ada).json()["count"] == 1
        assert http.get("/api/v1/credentials", headers=grace).json()["count"] == 0
        assert http.get(f"/api/v1/credentials/{sd['id']}", headers=grace).status_code == 404

        if wallet.database_url.startswith("sqlite"):
            raw = raw_database_bytes(Path(wallet.database_url.split("///", 1)[1]))
            for secret in (GIVEN_NAME, FAMILY_NAME, GRADE, SD_ACHIEVEMENT, OB3_ACHIEVEMENT, "ada.lovelace",
                           "grace.hopper", "Tiny University"):
                assert secret.encode() not in raw, secret

        assert http.delete("/api/v1/me", headers=ada).status_code == 204
        assert http.get("/api/v1/credentials", headers=ada).status_code == 401
        ada_again = _login(http, "ada.lovelace")
        assert http.get("/api/v1/credentials", headers=ada_again).json()["count"] == 0
        assert http.get(f"/api/v1/credentials/{sd['id']}", headers=ada_again).status_code == 404


def test_offer_from_a_qr_code_image(wallet: RunningService, issuer: TinyIssuer) -> None:
    image = io.BytesIO()
    qrcode.make(issuer.offer("OpenBadgeCredential_jwt")).save(image, "PNG")
    with httpx.Client(base_url=wallet.url, timeout=30) as http:
        ada = _login(http, "ada.lovelace")
        view = http.post("/api/v1/offers/qr", files={"image": ("offer.png", image.getvalue(), "image/png")},
                         headers=ada)
        assert view.status_code == 200, view.text
        assert [c["credential_configuration_id"] for c in view.json()["credentials"]] == ["OpenBadgeCredential_jwt"]
        not_an_image = http.post("/api/v1/offers/qr", files={"image": ("x.png", b"GIF89a nonsense", "image/png")},
                                 headers=ada)
        assert not_an_image.status_code == 400 and not_an_image.json()["error"] == "invalid_request"
        blank = io.BytesIO()
        qrcode.make("x").get_image().crop((0, 0, 5, 5)).save(blank, "PNG")
        no_code = http.post("/api/v1/offers/qr", files={"image": ("b.png", blank.getvalue(), "image/png")},
                            headers=ada)
        assert no_code.status_code == 400 and "no QR code" in no_code.json()["error_description"]


def test_bad_credential_is_refused_over_http(wallet: RunningService) -> None:
    with running_tiny_issuer(fault="wrong_holder") as issuer, httpx.Client(base_url=wallet.url, timeout=30) as http:
        ada = _login(http, "ada.lovelace")
        refused = http.post("/api/v1/offers", json={"offer": issuer.offer(), "tx_code": "493536", "accept": True},
                            headers=ada)
        assert refused.status_code == 422 and refused.json()["error"] == "credential_refused"
        assert "holder binding" in refused.json()["error_description"]
        assert http.get("/api/v1/credentials", headers=ada).json()["count"] == 0


def test_ssrf_offers_are_refused_over_http(wallet: RunningService) -> None:
    with httpx.Client(base_url=wallet.url, timeout=30) as http:
        ada = _login(http, "ada.lovelace")
        for offer in ("https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/offer",
                      "openid-credential-offer://?credential_offer_uri=https%3A%2F%2F192.168.1.1%2Fo",
                      "file:///etc/passwd", "openid-credential-offer://?credential_offer_uri=ftp%3A%2F%2Fx"):
            answer = http.post("/api/v1/offers", json={"offer": offer}, headers=ada)
            assert answer.status_code in (400, 422), (offer, answer.text)
            assert answer.json()["error"] in ("invalid_request", "request_refused")

"""The admin REST API over real HTTP: bootstrap token, institutions, badge classes, awards, isolation."""

from __future__ import annotations

import httpx
import pytest

from tests.servers import RunningService

pytestmark = pytest.mark.integration


def _staff_client(issuer: RunningService, admin_api: httpx.Client, **staff: object) -> httpx.Client:
    created = admin_api.post("/admin/staff", json=staff)
    assert created.status_code == 201, created.text
    return httpx.Client(base_url=issuer.url, headers={"Authorization": f"Bearer {created.json()['token']}"})


def test_bootstrap_token_file_is_private(issuer: RunningService) -> None:
    path = issuer.var_dir / "issuer-admin.token"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "issuer-admin.token" in issuer.log()  # the bootstrap says where the token is


def test_admin_api_needs_a_bearer_token(issuer: RunningService) -> None:
    response = httpx.get(issuer.url + "/admin/institutions")  # noqa: TID251 - test client
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.get(issuer.url + "/admin/institutions",  # noqa: TID251
                      headers={"Authorization": "Bearer ewi_wrong"})
    assert wrong.status_code == 401


def test_unknown_fields_are_refused(admin_api: httpx.Client) -> None:
    response = admin_api.post("/admin/institutions", json={"name": "X", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_institution_badge_award_round_trip(admin_api: httpx.Client) -> None:
    institution = admin_api.post("/admin/institutions", json={"name": "Hogeschool Test", "country": "NL",
                                                          "homepage": "https://hs.example.nl/"}).json()
    assert institution["did"].startswith("did:web:localhost%3A") and institution["did"].endswith(
        f":institutions:{institution['id']}")
    badge = admin_api.post("/admin/badge-classes", json={"institution_id": institution["id"], "name": "Python 1",
                                                     "ects": 2.5, "eqf_level": 5}).json()
    assert badge["ects"] == 2.5
    award = admin_api.post(f"/admin/badge-classes/{badge['id']}/awards",
                       json={"name": "Ada", "email": "ada@x.nl", "pin": True})
    assert award.status_code == 201, award.text
    body = award.json()
    assert body["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert len(body["tx_code"]) == 6
    revoked = admin_api.post(f"/admin/awards/{body['id']}/revoke")
    assert revoked.json()["status"] == "revoked"
    assert admin_api.post(f"/admin/awards/{body['id']}/unsuspend").status_code == 409
    assert admin_api.post(f"/admin/awards/{body['id']}/explode").status_code in (400, 404)


def test_staff_of_one_institution_cannot_read_or_touch_another(issuer: RunningService, admin_api: httpx.Client) -> None:
    one = admin_api.post("/admin/institutions", json={"name": "One"}).json()
    two = admin_api.post("/admin/institutions", json={"name": "Two"}).json()
    badge_two = admin_api.post("/admin/badge-classes", json={"institution_id": two["id"], "name": "Secret"}).json()
    award_two = admin_api.post(f"/admin/badge-classes/{badge_two['id']}/awards",
                           json={"name": "Bo", "email": "bo@two.nl"}).json()
    with _staff_client(issuer, admin_api, name="admin of one", role="institution_admin",
                       institution_id=one["id"]) as staff_one:
        assert [i["id"] for i in staff_one.get("/admin/institutions").json()] == [one["id"]]
        reads = [f"/admin/institutions/{two['id']}", f"/admin/institutions/{two['id']}/issuers",
                 f"/admin/institutions/{two['id']}/keys", f"/admin/badge-classes/{badge_two['id']}",
                 f"/admin/badge-classes/{badge_two['id']}/awards", f"/admin/awards/{award_two['id']}"]
        for path in reads:
            assert staff_one.get(path).status_code == 404, path
        writes = [("PATCH", f"/admin/institutions/{two['id']}", {"name": "Mine now"}),
                  ("POST", f"/admin/institutions/{two['id']}/issuers", {"name": "Annex"}),
                  ("POST", f"/admin/institutions/{two['id']}/keys/rotate", None),
                  ("PATCH", f"/admin/badge-classes/{badge_two['id']}", {"name": "Renamed"}),
                  ("POST", f"/admin/badge-classes/{badge_two['id']}/archive", None),
                  ("POST", f"/admin/badge-classes/{badge_two['id']}/awards", {"name": "Me", "email": "me@x.nl"}),
                  ("POST", f"/admin/awards/{award_two['id']}/revoke", None),
                  ("POST", f"/admin/awards/{award_two['id']}/offers", None),
                  ("POST", "/admin/badge-classes", {"institution_id": two["id"], "name": "Planted"}),
                  ("POST", "/admin/staff", {"name": "mole", "role": "institution_admin",
                                            "institution_id": two["id"]}),
                  ("POST", "/admin/institutions", {"name": "Three"})]
        for method, path, body in writes:
            response = staff_one.request(method, path, json=body)
            assert response.status_code in (403, 404), (method, path, response.status_code)
        assert staff_one.get("/admin/badge-classes").json() == []
    # nothing changed at Two
    assert admin_api.get(f"/admin/institutions/{two['id']}").json()["name"] == "Two"
    assert admin_api.get(f"/admin/badge-classes/{badge_two['id']}").json()["name"] == "Secret"
    assert admin_api.get(f"/admin/awards/{award_two['id']}").json()["status"] == "valid"
    assert len(admin_api.get(f"/admin/institutions/{two['id']}/keys").json()) == 1


def test_bad_input_is_a_4xx_with_an_error_code(admin_api: httpx.Client) -> None:
    assert admin_api.post("/admin/badge-classes", json={"institution_id": 99999, "name": "x"}).status_code == 404
    assert admin_api.post("/admin/institutions", content=b"{not json", headers={
        "content-type": "application/json"}).status_code == 400
    assert admin_api.get("/admin/awards/not-a-number").status_code == 400
    big = admin_api.post("/admin/institutions", json={"name": "x" * 3_000_000})
    assert big.status_code == 413



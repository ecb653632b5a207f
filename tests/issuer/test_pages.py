"""The issuer's staff pages over HTTP (in-process): log-in, CSRF on every form, institutions kept apart,
Dutch and English, the badge form with all OB 3.0 / EU microcredential fields, awards, bulk awards, status."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import zxingcpp
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from issuer.admin_models import (
    ASSESSMENT_TYPES,
    PARTICIPATION_TYPES,
    SUPERVISION_TYPES,
    BadgeClassPublic,
    StaffCreate,
)
from issuer.app import create_app
from issuer.models import ApiKey, Award
from issuer.pages import MESSAGES, PAGE_ROUTERS, TEMPLATES
from issuer.pages.badge_form import ACHIEVEMENT_TYPES, ALIGNMENT_TYPES, RESULT_TYPES, term_id
from issuer.pages.bulk_jobs import start_bulk_job
from issuer.pages.models import BulkAwardJob
from issuer.pages.routing import StaffPageRoute
from issuer.services import awards, badges, staff
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from servicekit.web import LANGUAGES, Catalog, message_ids_in_templates
from tests.issuer.factories import make_award, make_badge, make_institution

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Staff:
    """A browser of one staff member: a cookie jar, forms with their CSRF token."""

    def __init__(self, app: FastAPI, language: str = "en") -> None:
        self.client = TestClient(app, headers={"Accept": "text/html", "Accept-Language": language})

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/staff/login") -> str:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found, f"no form on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, *, form_page: str | None = None,
             **kwargs: Any) -> httpx.Response:
        """Post like a browser: with the CSRF token of the page the form is on."""
        token = self.token(form_page or path)
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)

    def login(self, api_token: str) -> httpx.Response:
        return self.post("/staff/login", {"token": api_token})


@dataclass
class World:
    app: FastAPI
    settings: IssuerSettings
    engine: Engine
    admin: Principal
    admin_token: str
    a: dict[str, int]
    b: dict[str, int]
    a_token: str

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short database session for checking what the pages did (SQLite: it must not hold the lock)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def award_status(self, award_id: int) -> str:
        with self.session() as session:
            return awards.get_award(session=session, principal=self.admin, award_id=award_id).status

    def badge(self, badge_id: int) -> BadgeClassPublic:
        with self.session() as session:
            return badges.get_badge_class(session=session, principal=self.admin, badge_class_id=badge_id,
                                          base_url=self.settings.base_url)


def _png(colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def world(settings: IssuerSettings, engine: Engine, keys: KeyStore, admin: Principal) -> Iterator[World]:
    app = create_app(settings)
    session = Session(engine, expire_on_commit=False)
    made = {}
    for name in ("A", "B"):
        institution = make_institution(session, admin, keys, name=f"Universiteit {name}")
        badge = make_badge(session, admin, institution.id, settings.base_url, name=f"Badge {name}")
        award = make_award(session, admin, badge.id, settings, email=f"learner@{name.lower()}.example.nl")
        made[name] = {"institution": institution.id, "badge": badge.id, "award": award.id}
    a_admin = staff.create_staff(session=session, principal=admin, data=StaffCreate(
        name="Admin A", role="institution_admin", institution_id=made["A"]["institution"]))
    assert a_admin.token is not None
    admin_token = (settings.var_dir / "issuer-admin.token").read_text().strip()
    development_admin = staff.authenticate(session=session, token=admin_token)
    session.close()
    yield World(app, settings, engine, development_admin, admin_token, made["A"], made["B"], a_admin.token)


@pytest.fixture
def admin_browser(world: World) -> Staff:
    browser = Staff(world.app)
    assert browser.login(world.admin_token).status_code == 200
    return browser


def _bulk_job(browser: Staff, badge_id: int, csv: bytes) -> httpx.Response:
    return browser.post(f"/staff/badges/{badge_id}/bulk", {"format": "jwt_vc_json"},
                        files={"file": ("learners.csv", csv, "text/csv")})


# --- logging in ---------------------------------------------------------------------------------

def test_log_in_with_the_development_token_and_log_out(world: World) -> None:
    browser = Staff(world.app)
    page = browser.get("/staff/badges/1")
    assert page.url.path == "/staff/login" and page.url.params["next"] == "/staff/badges/1"
    wrong = browser.login("ewi_not-a-token")
    assert wrong.status_code == 400 and "This token is not valid" in wrong.text
    before = browser.client.cookies.get("issuer_session")
    welcome = browser.post("/staff/login", {"token": world.admin_token, "next": "/staff/badges/1"})
    assert welcome.url.path == "/staff/badges/1" and "Welcome, development admin." in welcome.text
    assert browser.client.cookies.get("issuer_session") != before  # a fresh session id at log-in
    out = browser.post("/staff/logout", form_page="/staff")
    assert out.url.path == "/staff/login" and "You are logged out." in out.text
    assert browser.get("/staff").url.path == "/staff/login"


def test_log_in_never_redirects_to_another_site(world: World) -> None:
    browser = Staff(world.app)
    page = browser.post("/staff/login", {"token": world.admin_token, "next": "//evil.example/steal"})
    assert page.url.host == "testserver" and page.url.path == "/staff"


def test_a_revoked_api_key_ends_the_page_session(world: World) -> None:
    browser = Staff(world.app)
    browser.login(world.a_token)
    assert browser.get("/staff").url.path == f"/staff/institutions/{world.a['institution']}"
    with world.session() as session:
        key = session.exec(select(ApiKey).where(ApiKey.token_hash == staff.secret_hash(world.a_token))).one()
        key.revoked_at = 1
        session.add(key)
        session.commit()
    assert browser.get("/staff").url.path == "/staff/login"


def test_the_pages_secret_is_the_same_in_every_worker(world: World) -> None:
    """A second app on the same database (another worker) accepts the first one's session and CSRF token."""
    first = Staff(world.app)
    first.login(world.admin_token)
    token = first.token("/staff")
    second = TestClient(create_app(world.settings), headers={"Accept": "text/html"},
                        cookies=dict(first.client.cookies))
    answer = second.post("/staff/institutions", data={"csrf_token": token, "name": "Hogeschool C"})
    assert answer.status_code == 200 and answer.url.path.startswith("/staff/institutions/")
    assert "Hogeschool C" in answer.text


# --- CSRF ----------------------------------------------------------------------------------------

def _post_routes() -> list[str]:
    return sorted(route.path for router in PAGE_ROUTERS for route in router.routes
                  if isinstance(route, StaffPageRoute) and "POST" in (route.methods or set()))


def test_every_form_refuses_a_post_without_a_valid_csrf_token(world: World, admin_browser: Staff) -> None:
    _bulk_job(admin_browser, world.a["badge"], b"name,email\nZed,zed@a.example.nl\n")
    ids = {"institution_id": world.a["institution"], "badge_class_id": world.a["badge"], "award_id": world.a["award"]}
    routes = _post_routes()
    assert len(routes) == 13  # every form of the pages, each checked below
    before = (world.award_status(world.a["award"]), _count_awards(world))
    other = Staff(world.app)
    other.login(world.admin_token)
    stolen = other.token("/staff")  # a valid token, but of another session
    forms = {"token": world.admin_token, "name": "Mallory", "email": "m@example.nl", "action": "revoke",
             "configuration": "EduCredential", "format": "jwt_vc_json"}
    for path in routes:
        url = path.format(**ids)
        for token in (None, "forged.AAAA", stolen):
            data = forms | ({"csrf_token": token} if token else {})
            answer = admin_browser.client.post(url, data=data, follow_redirects=False)
            assert answer.status_code == 403, (url, token, answer.status_code)
            assert "This form could not be sent" in answer.text
    assert (world.award_status(world.a["award"]), _count_awards(world)) == before
    # A request the browser marks as coming from another site is refused even with a good token.
    answer = admin_browser.client.post("/staff/logout", data={"csrf_token": admin_browser.token("/staff")},
                                       headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403


def _count_awards(world: World) -> int:
    with world.session() as session:
        return len(session.exec(select(Award)).all())


# --- institutions kept apart ----------------------------------------------------------------------

def test_staff_see_and_touch_only_their_own_institution(world: World, admin_browser: Staff) -> None:
    b_job = _bulk_job(admin_browser, world.b["badge"], b"name,email\nBea,bea@b.example.nl\n").url.path.rsplit("/")[-1]
    browser = Staff(world.app)
    browser.login(world.a_token)
    home = browser.get("/staff")
    assert home.url.path == f"/staff/institutions/{world.a['institution']}"
    assert "Badge A" in home.text and "Badge B" not in home.text and "Universiteit B" not in home.text
    assert "Badge B" not in browser.get(f"/staff/institutions/{world.a['institution']}/badges?archived=true").text
    b = world.b
    for path in (f"/staff/institutions/{b['institution']}", f"/staff/institutions/{b['institution']}/badges",
                 f"/staff/institutions/{b['institution']}/badges/new", f"/staff/badges/{b['badge']}",
                 f"/staff/badges/{b['badge']}/edit", f"/staff/badges/{b['badge']}/award",
                 f"/staff/badges/{b['badge']}/bulk", f"/staff/awards/{b['award']}",
                 f"/staff/awards/{b['award']}/revoke", f"/staff/bulk/{b_job}", f"/staff/bulk/{b_job}/status",
                 f"/staff/bulk/{b_job}/report.csv"):
        answer = browser.get(path)
        assert answer.status_code == 404, path
        assert "Page not found" in answer.text and "Bea" not in answer.text and "Badge B" not in answer.text
    own_form = "/staff"
    for path, data in ((f"/staff/awards/{b['award']}/status", {"action": "revoke"}),
                       (f"/staff/awards/{b['award']}/offer", {"pin": "on"}),
                       (f"/staff/awards/{b['award']}/baked-badge", {}),
                       (f"/staff/badges/{b['badge']}/archive", {}),
                       (f"/staff/badges/{b['badge']}/edit", {"name": "Taken over", "criteria_narrative": "x"}),
                       (f"/staff/badges/{b['badge']}/award", {"name": "X", "email": "x@example.nl",
                                                              "configuration": "EduCredential"}),
                       (f"/staff/institutions/{b['institution']}/badges", {"name": "Planted", "criteria_narrative": "x"}),
                       (f"/staff/institutions/{b['institution']}/issuers", {"name": "Planted faculty"})):
        assert browser.post(path, data, form_page=own_form).status_code == 404, path
    assert browser.post(f"/staff/badges/{b['badge']}/bulk", {"format": "jwt_vc_json"}, form_page=own_form,
                        files={"file": ("x.csv", b"name,email\nX,x@example.nl\n", "text/csv")}).status_code == 404
    assert browser.post("/staff/institutions", {"name": "Planted"}, form_page=own_form).status_code == 403
    badge_b = world.badge(b["badge"])
    assert badge_b.name == "Badge B" and not badge_b.archived
    assert world.award_status(b["award"]) == "valid"
    with world.session() as session:
        assert len(awards.list_awards(session=session, principal=world.admin, badge_class_id=b["badge"])) == 2


AWARD_LINK = re.compile(r'<a href="/staff/awards/(\d+)">')


def test_find_awards_by_learner_across_badge_classes_but_only_ones_own(world: World, admin_browser: Staff) -> None:
    a, b = str(world.a["award"]), str(world.b["award"])
    institution_admin = Staff(world.app)
    institution_admin.login(world.a_token)
    found = institution_admin.get("/staff/awards?q=LEARNER@")  # part of the address, any case
    assert AWARD_LINK.findall(found.text) == [a] and "Badge A" in found.text
    assert "learner@b.example.nl" not in found.text and "Badge B" not in found.text
    assert AWARD_LINK.findall(institution_admin.get("/staff/awards?q=b.example").text) == []
    assert sorted(AWARD_LINK.findall(admin_browser.get("/staff/awards?q=learner@").text)) == sorted([a, b])
    # The same through the API, with the staff member's bearer token.
    api = TestClient(world.app, headers={"Authorization": f"Bearer {world.a_token}"})
    assert [award["id"] for award in api.get("/admin/awards", params={"q": "example.nl"}).json()] == [int(a)]
    # By status; LIKE wildcards are only characters; a status that does not exist is a bad request.
    award_page = f"/staff/awards/{a}"
    admin_browser.post(f"{award_page}/status", {"action": "suspend"}, form_page=award_page)
    assert AWARD_LINK.findall(admin_browser.get("/staff/awards?status=suspended").text) == [a]
    assert AWARD_LINK.findall(admin_browser.get("/staff/awards?status=valid&q=example").text) == [b]
    assert [award["id"] for award in api.get("/admin/awards", params={"status": "valid"}).json()] == []
    for wildcard in ("%", "_", "%@%"):
        assert AWARD_LINK.findall(admin_browser.get("/staff/awards", params={"q": wildcard}).text) == []
    assert admin_browser.get("/staff/awards?status=lost").status_code == 400
    assert api.get("/admin/awards", params={"status": "lost"}).status_code == 400


# --- Dutch and English ----------------------------------------------------------------------------

def test_the_catalogs_have_every_message_in_both_languages() -> None:
    catalog = Catalog.load(MESSAGES)
    used = message_ids_in_templates(TEMPLATES)
    vocabularies = {"achievement_type": ACHIEVEMENT_TYPES, "result_type": RESULT_TYPES, "alignment_type": ALIGNMENT_TYPES,
                    "assessment": ASSESSMENT_TYPES, "participation": PARTICIPATION_TYPES,
                    "supervision": SUPERVISION_TYPES}
    used |= {term_id(kind, value) for kind, values in vocabularies.items() for value in values}
    used |= {f"bulk.job.state.{s}" for s in ("running", "done", "failed", "interrupted")}
    used |= {f"bulk.job.status.{s}" for s in ("created", "exists", "error")}
    used |= {f"bulk.error.{r}" for r in ("encoding", "header", "empty", "too_many")}
    used |= {f"award.status.{a}" for a in ("revoke", "suspend", "unsuspend")}
    used |= {f"award.status.lead_{s}" for s in ("valid", "suspended", "revoked")}
    assert catalog.problems(used) == []


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_page_renders_in_both_languages(world: World, language: str) -> None:
    admin = Staff(world.app, language)
    login = admin.get("/staff/login")
    assert f'<html lang="{language}">' in login.text
    admin.login(world.admin_token)
    _bulk_job(admin, world.a["badge"], b"name,email\nZed,zed@a.example.nl\nBad,not-an-email\n")
    a = world.a
    pages = {"/staff": ("Institutions", "Instellingen"),
             f"/staff/institutions/{a['institution']}": ("Issuers (faculties", "Uitgevers (faculteiten"),
             f"/staff/institutions/{a['institution']}/badges": ("New badge class", "Nieuwe badgeklasse"),
             f"/staff/institutions/{a['institution']}/badges/new": ("Study load in ECTS", "Studielast in EC"),
             f"/staff/badges/{a['badge']}": ("Learning outcomes", "Leeruitkomsten"),
             f"/staff/badges/{a['badge']}/edit": ("Save changes", "Wijzigingen opslaan"),
             f"/staff/badges/{a['badge']}/award": ("Protect the offer with a PIN", "Het aanbod beveiligen"),
             f"/staff/badges/{a['badge']}/bulk": ("Upload and award", "Uploaden en toekennen"),
             f"/staff/awards/{a['award']}": ("Status of the credential", "Status van de credential"),
             f"/staff/awards/{a['award']}/revoke": ("Revoke for good", "Definitief intrekken"),
             "/staff/bulk/1": ("Rows with problems", "Regels met problemen"),
             "/staff/does-not-exist": ("Page not found", "Pagina niet gevonden")}
    catalog = Catalog.load(MESSAGES)
    leaked = [m for m in catalog.messages["en"] if m.count(".") >= 1 and not m.startswith("service.")]
    for path, (english, dutch) in pages.items():
        page = admin.get(path)
        assert page.status_code == (404 if "does-not" in path else 200), path
        assert f'<html lang="{language}">' in page.text and page.headers["content-language"] == language
        assert (english if language == "en" else dutch) in page.text, path
        assert [m for m in leaked if f">{m}<" in page.text or f'"{m}"' in page.text] == [], path
    offer = admin.post(f"/staff/badges/{a['badge']}/award", {"name": "Sanne", "email": "sanne@a.example.nl",
                                                              "configuration": "EduCredential", "pin": "on"})
    assert ("Give this PIN to the learner separately" if language == "en" else "Geef deze pincode los") in offer.text


# --- the badge form -------------------------------------------------------------------------------

FULL_FORM = {
    "name": "Web Security Essentials", "description": "Secure design and testing of web APIs.",
    "achievement_type": "MicroCredential", "tags": "security, web", "language": "en-GB",
    "criteria_narrative": "Pass the final assessment.", "criteria_url": "https://uv.example.nl/criteria",
    "result_name": "Final grade", "result_type": "Result", "result_required": "5.5", "result_min": "1",
    "result_max": "10", "alignment-0-name": "manage ICT security",
    "alignment-0-url": "http://data.europa.eu/esco/skill/4e8f7e7b-0b2d-4d3a-a0b4-2f3e1a7c5d11",
    "alignment-0-framework": "ESCO", "alignment-0-code": "S1.2", "alignment-0-type": "ceasn:Competency",
    "ects": "2,5", "eqf_level": "6", "nlqf_level": "6", "learning_outcomes": "Threat modelling\nSecure API design\n",
    "assessment_type": "testing", "participation_type": "onsite or blended",
    "supervision_type": "onsite with identity verification", "identity_checked": "yes",
    "qa_name": "NVAO", "qa_url": "https://www.nvao.net/", "qa_description": "Accredited programme",
    "prerequisites": "Basic programming",
}


def test_the_badge_form_keeps_every_ob3_and_eu_microcredential_field(world: World, admin_browser: Staff) -> None:
    institution = world.a["institution"]
    made = admin_browser.post(f"/staff/institutions/{institution}/badges", FULL_FORM,
                              form_page=f"/staff/institutions/{institution}/badges/new",
                              files={"image": ("badge.png", _png(), "image/png")})
    assert made.status_code == 200 and "The badge class Web Security Essentials was created." in made.text
    badge_id = int(made.url.path.rsplit("/", 1)[-1])
    badge = world.badge(badge_id)
    assert (badge.tags, badge.language, badge.criteria_url, badge.ects, badge.eqf_level, badge.nlqf_level) == (
        ["security", "web"], "en-GB", "https://uv.example.nl/criteria", 2.5, 6, 6)
    assert badge.learning_outcomes == ["Threat modelling", "Secure API design"]
    assert (badge.assessment_type, badge.participation_type, badge.supervision_type, badge.identity_checked) == (
        "testing", "onsite or blended", "onsite with identity verification", True)
    assert badge.quality_assurance == {"name": "NVAO", "url": "https://www.nvao.net/",
                                       "description": "Accredited programme"}
    assert badge.prerequisites == "Basic programming"
    assert [{k: v for k, v in rd.items() if k != "id"} for rd in badge.result_descriptions] == [
        {"name": "Final grade", "resultType": "Result", "requiredValue": "5.5", "valueMin": "1", "valueMax": "10"}]
    assert badge.alignments == [{"targetName": "manage ICT security", "targetUrl": FULL_FORM["alignment-0-url"],
                                 "targetFramework": "ESCO", "targetCode": "S1.2", "targetType": "ceasn:Competency"}]
    with world.session() as session:
        assert badges.badge_image(session=session, badge_class_id=badge_id) == (_png(), "image/png")
    shown = admin_browser.get(f"/staff/badges/{badge_id}").text
    for text in ("2.5", "Level 6", "Threat modelling", "On site or hybrid (blended)", "NVAO", "manage ICT security",
                 "Required to pass: 5.5", "On site, identity checked", "Basic programming"):
        assert text in shown, text
    # The edit form shows every value; clearing fields clears them, and the image stays when none is uploaded.
    edit = admin_browser.get(f"/staff/badges/{badge_id}/edit").text
    assert 'value="2.5"' in edit and "Secure API design</textarea>" in edit and 'value="S1.2"' in edit
    changed = {**FULL_FORM, "name": "Web Security", "ects": "", "qa_name": "", "qa_url": "", "qa_description": "",
               "alignment-0-name": "", "alignment-0-url": "", "alignment-0-framework": "", "alignment-0-code": "",
               "alignment-0-type": "", "identity_checked": ""}
    saved = admin_browser.post(f"/staff/badges/{badge_id}/edit", changed)
    assert "Your changes to Web Security Essentials were saved." in saved.text
    badge = world.badge(badge_id)
    assert (badge.name, badge.ects, badge.quality_assurance, badge.alignments, badge.identity_checked) == (
        "Web Security", None, None, [], None)
    with world.session() as session:
        assert badges.badge_image(session=session, badge_class_id=badge_id) == (_png(), "image/png")


def test_badge_form_errors_are_shown_at_their_fields(world: World, admin_browser: Staff) -> None:
    institution = world.a["institution"]
    bad = {**FULL_FORM, "name": " ", "ects": "lots", "eqf_level": "9", "criteria_url": "not a url",
           "language": "English!", "alignment-0-url": "", "qa_url": ""}
    page = admin_browser.post(f"/staff/institutions/{institution}/badges", bad,
                              form_page=f"/staff/institutions/{institution}/badges/new",
                              files={"image": ("badge.png", b"GIF89a not a png", "image/png")})
    assert page.status_code == 400 and "There is a problem" in page.text
    for field in ("name", "ects", "eqf_level", "criteria_url", "language", "alignment-0-url", "qa_url", "image"):
        assert f'href="#{field}"' in page.text, field
        assert f'id="{field}-error"' in page.text, field
    assert 'value="manage ICT security"' in page.text  # what was typed stays
    with world.session() as session:
        assert len(badges.list_badge_classes(session=session, principal=world.admin, base_url="",
                                             institution_id=institution)) == 1


def test_archiving_stops_awards_and_restoring_allows_them(world: World, admin_browser: Staff) -> None:
    badge_id = world.a["badge"]
    archived = admin_browser.post(f"/staff/badges/{badge_id}/archive", form_page=f"/staff/badges/{badge_id}")
    assert "is archived" in archived.text and "Restore" in archived.text
    refused = admin_browser.get(f"/staff/badges/{badge_id}/award")
    assert refused.url.path == f"/staff/badges/{badge_id}" and "can no longer be awarded" in refused.text
    listed = admin_browser.get(f"/staff/institutions/{world.a['institution']}/badges").text
    assert "Badge A" not in listed
    assert "Badge A" in admin_browser.get(f"/staff/institutions/{world.a['institution']}/badges?archived=true").text
    restored = admin_browser.post(f"/staff/badges/{badge_id}/restore", form_page=f"/staff/badges/{badge_id}")
    assert "can be awarded again" in restored.text
    assert admin_browser.get(f"/staff/badges/{badge_id}/award").status_code == 200


# --- awarding ------------------------------------------------------------------------------------

def test_an_award_shows_the_offer_qr_link_and_pin(world: World, admin_browser: Staff) -> None:
    badge_id = world.a["badge"]
    page = admin_browser.post(f"/staff/badges/{badge_id}/award", {
        "name": "Sanne de Vries", "email": "Sanne@Student.example.nl", "eduid": "urn:eduid:1234",
        "configuration": "EduCredentialSdJwt", "pin": "on"})
    assert page.status_code == 200 and "The badge is awarded to Sanne de Vries" in page.text
    link = re.search(r'<a id="offer-link" href="([^"]+)"', page.text)
    assert link and link.group(1).startswith("openid-credential-offer://?credential_offer_uri=")
    qr = re.search(r'<img src="data:image/png;base64,([^"]+)"', page.text)
    assert qr
    image = Image.open(io.BytesIO(base64.b64decode(qr.group(1))))
    assert [result.text for result in zxingcpp.read_barcodes(image)] == [link.group(1).replace("&amp;", "&")]
    pin = re.search(r'class="pin"[^>]*><span class="visually-hidden">PIN: </span><span class="pin-code">(\d{6})</span></p>', page.text)
    assert pin
    # The link's offer is live: the wallet would be asked for a 6-digit PIN.
    offer_path = httpx.URL(httpx.URL(link.group(1)).params["credential_offer_uri"]).path
    offer = admin_browser.client.get(offer_path, headers={"Accept": "application/json"}).json()
    assert offer["credential_configuration_ids"] == ["EduCredentialSdJwt"]
    assert offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"] == 6
    listed = admin_browser.get(f"/staff/badges/{badge_id}").text
    assert "Sanne de Vries" in listed and "sanne@student.example.nl" in listed
    # Without a PIN the page says so.
    plain = admin_browser.post(f"/staff/badges/{badge_id}/award", {
        "name": "Daan", "email": "daan@example.nl", "configuration": "EULearningCredential"})
    assert "This offer has no PIN" in plain.text and 'class="pin"' not in plain.text


def test_award_form_errors(world: World, admin_browser: Staff) -> None:
    badge_id = world.a["badge"]
    page = admin_browser.post(f"/staff/badges/{badge_id}/award", {"name": "", "email": "nope",
                                                                  "configuration": "EduCredential"})
    assert page.status_code == 400
    assert 'href="#name"' in page.text and 'href="#email"' in page.text and "like name@example.nl" in page.text
    page = admin_browser.post(f"/staff/badges/{badge_id}/award", {"name": "X", "email": "x@example.nl",
                                                                  "configuration": "Nonsense"})
    assert page.status_code == 400 and 'href="#configuration"' in page.text


def test_revoke_suspend_and_unsuspend(world: World, admin_browser: Staff) -> None:
    award_id = world.a["award"]
    page = f"/staff/awards/{award_id}"
    suspended = admin_browser.post(f"{page}/status", {"action": "suspend"}, form_page=page)
    assert "is suspended" in suspended.text and "badge-suspended" in suspended.text
    valid = admin_browser.post(f"{page}/status", {"action": "unsuspend"}, form_page=page)
    assert "is valid again" in valid.text and "badge-valid" in valid.text
    revoked = admin_browser.post(f"{page}/status", {"action": "revoke"}, form_page=f"{page}/revoke")
    assert "is revoked" in revoked.text and "badge-revoked" in revoked.text
    assert "Make a new offer" not in revoked.text
    refused = admin_browser.post(f"{page}/status", {"action": "unsuspend"}, form_page=f"{page}/revoke")
    assert "a revoked badge stays revoked" in refused.text
    assert world.award_status(award_id) == "revoked"
    bad_action = admin_browser.post(f"{page}/status", {"action": "delete"}, form_page=f"{page}/revoke")
    assert bad_action.status_code == 400


def test_a_new_offer_and_the_baked_badge(world: World, admin_browser: Staff) -> None:
    page = f"/staff/awards/{world.a['award']}"
    offer = admin_browser.post(f"{page}/offer", {"pin": "on"}, form_page=page)
    assert "openid-credential-offer://" in offer.text and 'class="pin"' in offer.text
    baked = admin_browser.post(f"{page}/baked-badge", form_page=page)
    assert baked.headers["content-type"] == "image/png" and baked.content.startswith(b"\x89PNG")
    assert b"openbadgecredential" in baked.content


# --- bulk awards ---------------------------------------------------------------------------------

def test_bulk_award_reports_each_row_by_its_line(world: World, admin_browser: Staff) -> None:
    csv = "name;email\nAda Lovelace;ada@a.example.nl\nNo Mail;\n\nAlan Turing;alan@a.example.nl\n"
    page = _bulk_job(admin_browser, world.a["badge"], csv.encode())
    assert page.url.path.startswith("/staff/bulk/")
    job = page.url.path.rsplit("/", 1)[-1]
    assert "Done" in page.text and "3 of 3 rows handled" in page.text
    problems = re.search(r'id="problems-caption".*?</table>', page.text, re.S)
    assert problems and re.findall(r"<tr class=\"row-error\"><td>(\d+)</td>", problems.group(0)) == ["3"]
    assert "The e-mail address is missing or not valid" in problems.group(0)
    status = admin_browser.get(f"/staff/bulk/{job}/status", headers={"Accept": "application/json"}).json()
    assert status == {"state": "done", "processed": 3, "total": 3}
    report = admin_browser.get(f"/staff/bulk/{job}/report.csv")
    assert report.headers["content-disposition"] == f'attachment; filename="bulk-award-{job}.csv"'
    lines = report.text.splitlines()
    assert lines[0] == "line,name,email,status,award_id,offer_uri,tx_code,error"
    assert [line.split(",")[:4] for line in lines[1:]] == [
        ["2", "Ada Lovelace", "ada@a.example.nl", "created"], ["3", "No Mail", "", "error"],
        ["5", "Alan Turing", "alan@a.example.nl", "created"]]
    assert lines[1].split(",")[5].startswith("openid-credential-offer://")
    # The same file again awards nobody twice.
    again = _bulk_job(admin_browser, world.a["badge"], csv.encode())
    assert re.search(r'stat-number">0</span> awarded<', again.text)
    assert re.search(r'stat-number">2</span> awarded before<', again.text)


def test_the_badge_page_pages_through_its_awards(world: World, admin_browser: Staff,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("issuer.pages.badges.AWARDS_PER_PAGE", 2)
    _bulk_job(admin_browser, world.a["badge"], b"name,email\nAda Lovelace,ada@a.example.nl\nAlan Turing,alan@a.example.nl\n")
    page = f"/staff/badges/{world.a['badge']}"

    def shown(url: str) -> tuple[list[str], list[tuple[str, str]]]:
        html = admin_browser.get(url).text
        return (re.findall(r'<a href="/staff/awards/(\d+)">', html),
                re.findall(r'<a href="([^"]+)" rel="(prev|next)">', html))

    first, second = shown(page), shown(page + "?page=2")
    assert len(first[0]) == 2 and first[1] == [("?page=2", "next")]
    assert len(second[0]) == 1 and second[1] == [("?page=1", "prev")]
    assert len(set(first[0] + second[0])) == 3  # the world's award and the two of the file, each once


@pytest.mark.parametrize(("content", "message"), [
    (b"naam,mail\nA,a@example.nl\n", "The first line must name the columns name and email."),
    (b"name,email\n", "Choose a CSV file with at least one learner."),
    ("name,email\nJos\xe9,j@example.nl\n".encode("latin-1"), "Save it as &#34;CSV UTF-8&#34;"),
])
def test_bulk_award_refuses_a_file_it_cannot_read(world: World, admin_browser: Staff, content: bytes,
                                                  message: str) -> None:
    page = _bulk_job(admin_browser, world.a["badge"], content)
    assert page.status_code == 400 and message in page.text and 'href="#file"' in page.text


def test_report_csv_cells_cannot_become_spreadsheet_formulas(world: World, admin_browser: Staff) -> None:
    page = _bulk_job(admin_browser, world.a["badge"], b'name,email\n"=HYPERLINK(""x"")",bad\n')
    report = admin_browser.get(page.url.path + "/report.csv").text
    assert "'=HYPERLINK" in report


def test_a_report_is_deleted_when_its_offers_expire_and_the_counts_stay(world: World, admin_browser: Staff) -> None:
    def age(job: str, seconds: int) -> None:  # as if the job had finished `seconds` ago
        with world.session() as session:
            row = session.get(BulkAwardJob, int(job))
            assert row is not None and row.finished_at is not None and row.report_sealed
            row.finished_at -= seconds
            session.add(row)
            session.commit()

    def sealed(job: str) -> bool:
        with world.session() as session:
            row = session.get(BulkAwardJob, int(job))
            return row is not None and row.report_sealed is not None

    first = _bulk_job(admin_browser, world.a["badge"], b"name,email\nAda Lovelace,ada@a.example.nl\n").url.path
    second = _bulk_job(admin_browser, world.a["badge"], b"name,email\nAlan Turing,alan@a.example.nl\n").url.path
    first_id, second_id = first.rsplit("/", 1)[-1], second.rsplit("/", 1)[-1]
    lifetime = world.settings.offer_ttl_seconds
    age(first_id, lifetime - 60)  # offers still valid for a minute: the report stays
    assert "openid-credential-offer://" in admin_browser.get(f"{first}/report.csv").text
    age(first_id, 120)
    # A new upload clears expired reports without anyone looking at them.
    _bulk_job(admin_browser, world.a["badge"], b"name,email\nGrace Hopper,grace@a.example.nl\n")
    assert not sealed(first_id) and sealed(second_id)
    page = admin_browser.get(first)
    assert "The report with the offer links and PINs was deleted when its offers expired" in page.text
    assert re.search(r'stat-number">1</span> awarded<', page.text)  # the counts stay
    assert "Download" not in page.text and "ada@a.example.nl" not in page.text
    assert admin_browser.get(f"{first}/report.csv").status_code == 404
    assert "openid-credential-offer://" in admin_browser.get(f"{second}/report.csv").text


def test_the_job_page_waits_while_the_job_runs(world: World, admin_browser: Staff) -> None:
    with world.session() as session:
        job = start_bulk_job(session=session, principal=world.admin, badge_class_id=world.a["badge"],
                             file_name="big.csv", credential_format="jwt_vc_json", pin=False, total=300,
                             report_lifetime=world.settings.offer_ttl_seconds)
    page = admin_browser.get(f"/staff/bulk/{job}")
    assert "Awarding…" in page.text and 'data-poll-url="/staff/bulk/' in page.text
    assert 'data-poll-state="running:0"' in page.text and "Check again" in page.text  # works without JS too
    assert 'max="300" value="0"' in page.text

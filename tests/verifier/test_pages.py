"""The verifier's pages over the ASGI app: CSRF on every form, Dutch and English, a request and its result
only for the browser that made it, the verdict and checks in plain words, the pages secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from servicekit.web import Catalog, message_ids_in_templates
from servicekit.web.pages import SHARED_TEMPLATES
from tests.verifier.factories import NOW, Issuer, Party, present_vp_jwt
from vc.baking import bake_png
from vc.checks import CHECK_NAMES
from vc.jws import decode_jws
from vc.keys import MasterKey
from verifier.app import create_app
from verifier.models import PresentationRequest, RequestOwner, ServiceSecret, utcnow
from verifier.pages import MESSAGES, TEMPLATES
from verifier.pages.facts import credential_facts
from verifier.pages.secret import load_pages_secret
from verifier.pages.wording import _ERRORS, _SKIPPED, check_lines, verdict
from verifier.settings import VerifierSettings

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
DUTCH = {**HTML, "accept-language": "nl-NL,nl;q=0.9,en;q=0.5"}
BADGE = "Web Security Essentials"


@dataclass
class Verifier:
    app: FastAPI
    settings: VerifierSettings

    def browser(self, **headers: str) -> TestClient:
        """A browser of its own (its own cookies, so its own page session)."""
        return TestClient(self.app, follow_redirects=False, headers={**HTML, **headers})

    def session(self) -> Session:
        return Session(self.app.state.engine)

    def api(self) -> TestClient:
        """A relying party calling the API with the development key the app wrote to its var dir."""
        key = (self.settings.var_dir / "verifier-api.key").read_text().strip()
        return TestClient(self.app, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def verifier(tmp_path: Path) -> Iterator[Verifier]:
    settings = VerifierSettings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'verifier.db'}",
                                master_key=MasterKey.generate_text(), trust_any_issuer=True,
                                public_url="http://testserver")
    app = create_app(settings)
    yield Verifier(app, settings)
    app.state.verification.close()


def csrf(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def text_of(page_html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page_html).replace("&#39;", "'").split())


def create_request(browser: TestClient, **fields: str) -> str:
    """Fill in and send the request form; returns the request's page address."""
    token = csrf(browser.get("/presentation-requests/new").text)
    form = {"csrf_token": token, "preset": "ob3", "response_mode": "direct_post", **fields}
    response = browser.post("/presentation-requests", data=form)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/presentation-requests/[0-9a-f]{32}", location)
    return location


def answer(verifier: Verifier, location: str, issuer: Issuer, holder: Party, **options: Any) -> int:
    """The wallet's side over the same app: fetch the request object, present an OB3 VC in a VP JWT."""
    wallet = TestClient(verifier.app)
    request_id = location.rsplit("/", 1)[1]
    claims = decode_jws(wallet.get(f"/oid4vp/requests/{request_id}").text).claims()
    vp = present_vp_jwt([issuer.ob3_jwt(holder, **options)], holder, audience=claims["client_id"],
                        nonce=claims["nonce"])
    return wallet.post("/oid4vp/response", data={"vp_token": json.dumps({"openbadge": [vp]}),
                                                 "state": claims["state"]}).status_code


# -- catalogs and wording ---------------------------------------------------------------------------

def test_messages_are_complete_in_dutch_and_english() -> None:
    catalog = Catalog.load(MESSAGES)
    used = message_ids_in_templates(TEMPLATES) | message_ids_in_templates(SHARED_TEMPLATES)
    # Ids the pages use in Python, literally or built from a check's name.
    for module in (TEMPLATES.parent / "pages").glob("*.py"):
        used |= {found for found in re.findall(
            r'"((?:home|new|request|result|upload|not_yours|verdict|reason|skip|fact|ask)\.[a-z0-9_.]+)"',
            module.read_text()) if not found.endswith(".html")}
    used |= {f"check.{name}" for name in CHECK_NAMES} | {f"reason.{name}" for name in CHECK_NAMES}
    used |= {f"outcome.{o}" for o in ("passed", "failed", "skipped")} | {m for _, m in _SKIPPED} | set(_ERRORS.values())
    assert {"new.title", "request.title", "result.checks", "upload.title", "verdict.reason.other", "skip.other",
            "fact.badge", "ask.ob3_achievement"} <= used
    assert catalog.problems(used) == []
    unused = set(catalog.messages["en"]) - used - set(Catalog.load().messages["en"])
    assert unused == set()
    assert catalog.translate("nl", "service.name") == "eduwallet verificatie"


def test_a_revoked_credential_is_explained_in_plain_words() -> None:
    checks = {"issuer_signature": {"outcome": "passed"},
              "status": {"outcome": "failed", "reason": "the credential is revoked (Bitstring Status List)",
                         "error": "credential_revoked"},
              "trusted_issuer": {"outcome": "skipped", "reason": "no trusted-issuer list: any issuer is accepted"},
              "validity_period": {"outcome": "failed", "reason": "expired at 2025-01-01T00:00:00+00:00"}}
    lines = {line.name: line for line in check_lines(checks)}
    assert [line.name for line in check_lines(checks)] == ["issuer_signature", "validity_period", "status",
                                                          "trusted_issuer"]
    assert lines["status"].explanation == "reason.credential_revoked"
    assert lines["status"].detail == "the credential is revoked (Bitstring Status List)"
    assert lines["validity_period"].explanation == "reason.expired"
    assert lines["trusted_issuer"].explanation == "skip.any_issuer"
    assert lines["issuer_signature"].explanation is None
    catalog = Catalog.load(MESSAGES)
    assert catalog.translate("en", "reason.credential_revoked") == "This credential was revoked by its issuer."
    revoked = verdict("rejected", error="credential_revoked", lines=list(lines.values()))
    assert (revoked.word, revoked.text) == ("verdict.rejected", "reason.credential_revoked")
    # Without an error code, the first failed check says why.
    assert verdict("rejected", lines=list(lines.values())).text == "reason.expired"
    assert verdict("rejected", error="access_denied").text == "verdict.reason.access_denied"
    assert verdict("expired").word == "verdict.expired"


def test_credential_facts_of_an_open_badge_and_an_eu_learning_credential() -> None:
    def t(message_id: str, /, **params: object) -> str:
        return Catalog.load(MESSAGES).translate("en", message_id, **params)

    issuer, holder = Issuer(), Party.new()
    credential = issuer.ob3_credential(holder, result="7.5", required_value="6")
    achievement = credential["credentialSubject"]["achievement"]
    achievement.update(creditsAvailable=3.0, alignment=[{"type": ["Alignment"], "targetType": "ext:EQF",
                                                        "targetName": "EQF level 5", "targetCode": "5",
                                                        "targetUrl": "https://europass.example/eqf"}])
    from verifier.summary import badge_summary

    facts = {f.label: f for f in credential_facts({"format": "jwt_vc_json", "issuer": issuer.party.did,
                                                    "claims": credential,
                                                    "summary": badge_summary("jwt_vc_json", credential)}, t)}
    assert facts["fact.badge"].value == BADGE
    assert (facts["fact.issuer"].value, facts["fact.issuer"].note) == ("Example University", issuer.party.did)
    assert (facts["fact.result"].value, facts["fact.result"].note) == ("Final grade: 7.5", "at least 6 needed")
    assert (facts["fact.passed"].value, facts["fact.passed"].state) == ("Yes, the result meets the requirement",
                                                                        "passed")
    assert facts["fact.ects"].value == "3" and facts["fact.eqf"].value == "5"
    assert facts["fact.issued"].value == (NOW - timedelta(days=1)).date().isoformat()

    eu = {"iss": "https://uni.example", "vct": "urn:eu.europa.ec.eudi:learning:credential:1", "given_name": "Ada",
          "family_name": "Lovelace", "achievement_title": BADGE, "assessment_grade": "8",
          "expected_study_time": "3 ECTS (84 hours)", "level_of_learning_experience": 6,
          "issuing_authority": "Example University", "date_of_issuance": "2026-01-31"}
    facts = {f.label: f for f in credential_facts({"format": "dc+sd-jwt", "issuer": "https://uni.example",
                                                    "claims": eu, "summary": badge_summary("dc+sd-jwt", eu)}, t)}
    assert facts["fact.badge"].value == BADGE and facts["fact.learner"].value == "Ada Lovelace"
    assert facts["fact.issuer"].value == "Example University" and facts["fact.result"].value == "8"
    assert facts["fact.ects"].value == "3 ECTS (84 hours)" and facts["fact.eqf"].value == "6"
    assert facts["fact.issued"].value == "2026-01-31" and "fact.passed" not in facts


# -- the pages secret -------------------------------------------------------------------------------

def test_pages_secret_is_sealed_in_the_database_and_shared_by_every_worker(verifier: Verifier) -> None:
    engine, master_key = verifier.app.state.engine, verifier.app.state.master_key
    first = load_pages_secret(engine, master_key)
    assert len(first) == 32 and load_pages_secret(engine, master_key) == first
    with verifier.session() as session:
        [row] = session.exec(select(ServiceSecret)).all()
    assert first not in row.sealed_value.encode() and master_key.open(row.sealed_value, "verifier-service-secret:pages")
    # A second worker (another app on the same database and master key) signs alike: its forms work here.
    other = create_app(verifier.settings)
    try:
        browser = verifier.browser()
        token = csrf(browser.get("/presentation-requests/new").text)
        second = TestClient(other, follow_redirects=False, headers=HTML, cookies=dict(browser.cookies))
        response = second.post("/presentation-requests", data={"csrf_token": token, "preset": "ob3",
                                                               "response_mode": "direct_post"})
        assert response.status_code == 303
    finally:
        other.state.verification.close()


# -- CSRF -------------------------------------------------------------------------------------------

FORMS = {
    "/presentation-requests": {"preset": "ob3", "response_mode": "direct_post"},
    "/check": {"text": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"},
}


@pytest.mark.parametrize("path", sorted(FORMS))
def test_every_form_refuses_a_post_without_this_sessions_csrf_token(verifier: Verifier, path: str) -> None:
    browser, other = verifier.browser(), verifier.browser()
    form_page = "/presentation-requests/new" if path == "/presentation-requests" else path
    token = csrf(browser.get(form_page).text)
    other_token = csrf(other.get(form_page).text)
    for attempt in ({}, {"csrf_token": "forged.AAAA"}, {"csrf_token": other_token}):
        response = browser.post(path, data={**FORMS[path], **attempt})
        assert response.status_code == 403, attempt
        assert "This form could not be sent" in response.text
    # A form made on another site is refused outright, even with a token.
    response = browser.post(path, data={**FORMS[path], "csrf_token": token}, headers={"sec-fetch-site": "cross-site"})
    assert response.status_code == 403
    with verifier.session() as session:
        assert session.exec(select(PresentationRequest)).all() == []
    assert browser.post(path, data={**FORMS[path], "csrf_token": token}).status_code in (200, 303, 400)


def test_the_rendered_forms_all_carry_the_token(verifier: Verifier) -> None:
    browser = verifier.browser()
    for path in ("/presentation-requests/new", "/check"):
        page = browser.get(path).text
        forms = re.findall(r"<form\b.*?</form>", page, flags=re.S)
        assert forms and all('method="post"' in f and 'name="csrf_token"' in f for f in forms), path


# -- Dutch and English ------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "lang", "headings"), [
    (HTML, "en", ["Check a learner's credentials", "Ask for a credential", "Check a credential file",
                  "Scan with the learner's wallet"]),
    (DUTCH, "nl", ["Credentials van een student controleren", "Credential opvragen",
                   "Een credentialbestand controleren", "Scannen met de wallet van de student"]),
])
def test_pages_speak_the_browsers_language(verifier: Verifier, headers: dict[str, str], lang: str,
                                           headings: list[str]) -> None:
    browser = verifier.browser(**headers)
    location = create_request(browser)
    for path, heading in zip(("/", "/presentation-requests/new", "/check", location), headings, strict=True):
        response = browser.get(path)
        assert response.status_code == 200 and response.headers["content-language"] == lang
        assert f'<html lang="{lang}">' in response.text
        assert re.search(r"<h1[^>]*>\s*" + re.escape(heading.replace("'", "&#39;")) + r"\s*</h1>", response.text), path
        assert response.headers["cache-control"] == "no-store"
    # The switch sticks for this browser.
    switched = browser.get("/lang/en" if lang == "nl" else "/lang/nl", params={"next": "/check"})
    assert switched.status_code == 303 and switched.headers["location"] == "/check"
    assert '<html lang="{}">'.format("en" if lang == "nl" else "nl") in browser.get("/check").text


# -- asking for a credential ------------------------------------------------------------------------

def test_request_form_errors_are_shown_at_the_field(verifier: Verifier) -> None:
    browser = verifier.browser()
    token = csrf(browser.get("/presentation-requests/new").text)
    for fields, field, message in [
        ({"preset": "ob3-achievement", "achievement": "  "}, "achievement", "Enter the name of the achievement"),
        ({"preset": "sd-jwt", "claims": "given_name, a..b"}, "claims", "Enter claim names separated by commas"),
        ({"preset": "sd-jwt", "vct": "two words"}, "vct", "Enter one credential type"),
        ({"preset": "ob3", "trusted_issuers": "did:web:uni.example\nftp://x"}, "trusted_issuers",
         "Enter at most 200 issuers"),
        ({"preset": "ob3", "response_mode": "query"}, "response_mode", "Choose how the wallet answers"),
        ({"preset": "everything"}, "preset-ob3", "Choose what the learner should show"),
    ]:
        response = browser.post("/presentation-requests",
                                data={"csrf_token": token, "response_mode": "direct_post", **fields})
        assert response.status_code == 400, fields
        assert f'<a href="#{field}">{message}' in response.text, fields
        if field not in ("preset-ob3", "response_mode"):
            assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text, flags=re.S), field
    with verifier.session() as session:
        assert session.exec(select(PresentationRequest)).all() == []


def test_request_page_shows_the_qr_code_and_what_was_asked(verifier: Verifier) -> None:
    browser = verifier.browser()
    location = create_request(browser, preset="ob3-achievement", achievement=BADGE,
                              trusted_issuers="did:web:uni.example\nhttps://issuer.example.edu",
                              response_mode="direct_post.jwt")
    page = browser.get(location).text
    link = re.search(r'<a id="qr-link" href="([^"]+)"', page)
    assert link and link.group(1).startswith("openid4vp://?client_id=x509_hash%3A")
    assert 'src="data:image/png;base64,' in page
    assert f'data-poll-url="{location}/status" data-poll-state="pending"' in page
    words = text_of(page)
    for expected in ("An Open Badge for “Web Security Essentials”", "did:web:uni.example, https://issuer.example.edu",
                     "Encrypted", "Check again"):
        assert expected in words, expected
    with verifier.session() as session:
        request = session.get(PresentationRequest, location.rsplit("/", 1)[1])
        assert request is not None and request.response_mode == "direct_post.jwt"
        assert request.trusted_issuers == ["did:web:uni.example", "https://issuer.example.edu"]
        assert request.dcql_query["credentials"][0]["claims"][0]["values"] == [BADGE]
    assert browser.get(location + "/status").json() == {"status": "pending"}


def test_result_is_shown_only_to_the_browser_that_made_the_request(verifier: Verifier) -> None:
    issuer, holder = Issuer(), Party.new()
    employer, stranger = verifier.browser(), verifier.browser()
    stranger.get("/")  # has a page session of its own
    location = create_request(employer, preset="ob3-achievement", achievement=BADGE)
    assert stranger.get(location).status_code == 403
    assert answer(verifier, location, issuer, holder, result="7.5", required_value="6") == 200

    mine = employer.get(location)
    words = text_of(mine.text)
    assert mine.status_code == 200 and "Verified" in words and holder.did in words
    assert "Signed by the issuer Yes" in words and "Yes, the result meets the requirement" in words
    assert employer.get(location + "/status").json() == {"status": "verified"}

    for browser in (stranger, verifier.browser()):
        refused = browser.get(location)
        assert refused.status_code == 403
        assert "This request was made in another browser" in text_of(refused.text)
        assert holder.did not in refused.text and BADGE not in refused.text
        status = browser.get(location + "/status", headers={"accept": "application/json"})
        assert status.status_code == 403 and status.json()["error"] == "access_denied"
        # A made-up response_code opens nothing: only the same-device flow's own code does.
        assert browser.get(location, params={"response_code": "x" * 32}).status_code == 403
    # The employer's list shows it; the stranger's does not.
    assert location in employer.get("/").text and location not in stranger.get("/").text
    # Nor does an API key read a request made on the pages: it did not make it.
    api = verifier.api()
    request_id = location.rsplit("/", 1)[1]
    assert api.get(f"/api/presentation-requests/{request_id}").status_code == 404
    assert request_id not in api.get("/api/presentation-requests").text


def test_same_device_response_code_opens_the_result_page(verifier: Verifier) -> None:
    """A request made through the API for the same-device flow: the wallet comes back with a response_code."""
    issuer, holder = Issuer(), Party.new()
    api = verifier.api()
    created = api.post("/api/presentation-requests", json={"preset": "ob3", "response_mode": "direct_post",
                                                           "same_device": True}).json()
    location = f"/presentation-requests/{created['id']}"
    assert answer(verifier, location, issuer, holder) == 200
    with verifier.session() as session:
        request = session.get(PresentationRequest, created["id"])
        assert request is not None and request.response_code
        code = request.response_code
    learner = verifier.browser()
    without = learner.get(location)  # the code travels in the fragment: the page's script moves it to the query
    assert without.status_code == 403 and "data-response-code-target" in without.text
    assert re.search(r'<script src="/static/verifier\.js\?v=[0-9a-f]{12}" defer>', without.text)
    assert learner.get(location, params={"response_code": code[:-1] + "A"}).status_code == 403
    page = learner.get(location, params={"response_code": code})
    assert page.status_code == 200 and "Verified" in text_of(page.text)


def test_expired_request_says_expired(verifier: Verifier) -> None:
    browser = verifier.browser()
    location = create_request(browser)
    with verifier.session() as session:
        session.execute(update(PresentationRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert browser.get(location + "/status").json() == {"status": "expired"}
    words = text_of(browser.get(location).text)
    assert "Expired" in words and "The learner did not answer in time." in words and "openid4vp://" not in words


def test_unknown_request_is_a_friendly_404(verifier: Verifier) -> None:
    response = verifier.browser().get("/presentation-requests/" + "A" * 22)
    assert response.status_code == 404 and "This request does not exist (any more)." in text_of(response.text)


def test_ownership_goes_with_the_request_when_it_is_deleted(verifier: Verifier) -> None:
    location = create_request(verifier.browser())
    from verifier.results import delete_expired_results

    with verifier.session() as session:
        assert len(session.exec(select(RequestOwner)).all()) == 1
        assert delete_expired_results(session, retention_days=1, now=utcnow() + timedelta(days=2)) == 1
        assert session.exec(select(RequestOwner)).all() == []
    assert verifier.browser().get(location).status_code == 404


# -- checking a file --------------------------------------------------------------------------------

def test_check_page_reports_every_check_of_an_upload_and_a_paste(verifier: Verifier, tmp_path: Path) -> None:
    import io

    from PIL import Image

    issuer, holder = Issuer(), Party.new()
    browser = verifier.browser()
    token = csrf(browser.get("/check").text)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, format="PNG")
    baked = bake_png(buffer.getvalue(), issuer.ob3_jwt(holder))
    response = browser.post("/check", data={"csrf_token": token},
                            files={"file": ("badge.png", baked, "image/png")})
    words = text_of(response.text)
    assert response.status_code == 200 and "Verified" in words and BADGE in words
    assert "Signed by the issuer Yes" in words
    assert "Belongs to the person presenting it Not checked A file shows nothing about who sent it." in words
    assert 'class="credential-image" src="data:image/png;base64,' in response.text

    pasted = browser.post("/check", data={"csrf_token": token, "text": issuer.sd_jwt_vc(holder)})
    assert pasted.status_code == 200 and "Follows the Open Badges 3.0 format Not checked" in text_of(pasted.text)

    tampered = issuer.ob3_jwt(holder)[:-4] + "AAAA"
    refused = text_of(browser.post("/check", data={"csrf_token": token, "text": tampered}).text)
    assert "Not verified" in refused and "The signature does not match" in refused

    for data, files in (({"text": "  "}, None), ({"text": "two words"}, None),
                        ({}, {"file": ("x.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")})):
        bad = browser.post("/check", data={"csrf_token": token, **data}, files=files)
        assert bad.status_code == 400
        assert re.search(r'<a href="#file">(Choose a file|This is not a credential)', bad.text)

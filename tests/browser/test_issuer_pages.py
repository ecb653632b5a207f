"""The issuer's staff pages in a real browser (a real issuer process): log in, create a badge class with its
image and microcredential fields, award it with a PIN, bulk-award a CSV, revoke; at phone and desktop size."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import update
from sqlmodel import Session

from issuer.pages.bulk_jobs import start_bulk_job
from issuer.pages.models import BulkAwardJob
from issuer.services.common import unix_now
from issuer.services.staff import authenticate
from servicekit.database import make_engine
from tests.browser.harness import Screenshots, image_width, page_check
from tests.servers import RunningService, running_service

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import OpenPage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service("issuer", tmp_path_factory.mktemp("issuer-pages")) as service:
        yield service


def _token(issuer: RunningService) -> str:
    return (issuer.var_dir / "issuer-admin.token").read_text().strip()


def _badge_png(path: Path) -> Path:
    """A badge image as an institution would upload it: a round seal with a shield."""
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((6, 6, 250, 250), fill="#0b5cad", outline="#ffd43b", width=10)
    draw.polygon([(128, 58), (188, 82), (180, 150), (128, 198), (76, 150), (68, 82)], fill="#ffffff")
    draw.line([(102, 128), (122, 150), (158, 106)], fill="#14632b", width=12)
    image.save(path, format="PNG")
    return path


def _shot(screenshot: Screenshots, page: Page, step: str) -> None:
    """A screenshot, after checking the page fits the screen's width (wide tables scroll inside their box)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{step}: wider than the screen"
    screenshot(page, step)


def _log_in(page: Page, issuer: RunningService) -> None:
    page.goto(issuer.url + "/staff")
    page.get_by_label("Staff API token").fill(_token(issuer))
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome, development admin.").wait_for()


def test_staff_award_journey(page: Page, issuer: RunningService, screenshot: Screenshots, tmp_path: Path) -> None:
    size = page.eduwallet_size  # type: ignore[attr-defined]
    institution = f"Universiteit Voorbeeld ({size})"

    # Log in with the development token.
    page.goto(issuer.url + "/")
    assert page.url.startswith(issuer.url + "/staff/login")
    assert page.get_by_role("heading", level=1).inner_text() == "Log in for staff"
    _shot(screenshot, page, "login")
    _log_in(page, issuer)
    assert page.get_by_role("heading", level=1).inner_text() == "Institutions"

    # An institution with a faculty.
    page.get_by_label("Name of the institution").fill(institution)
    page.get_by_label("Website").fill("https://www.uv.example.nl/")
    page.get_by_label("Country code").fill("NL")
    _shot(screenshot, page, "institutions")
    page.get_by_role("button", name="Add institution").click()
    assert page.get_by_role("heading", level=1).inner_text() == institution
    page.get_by_label("Name of the faculty or department").fill("Faculteit Bètawetenschappen")
    page.get_by_role("button", name="Add issuer").click()
    page.get_by_text("The issuer Faculteit Bètawetenschappen was added.").wait_for()
    _shot(screenshot, page, "institution")

    # A badge class with its image and the OB 3.0 / EU microcredential fields.
    page.get_by_role("link", name="New badge class").first.click()
    page.get_by_label("Name of the badge").fill("Web Security Essentials")
    page.get_by_label("Description").fill("Secure design and testing of web APIs: threat models, authentication, "
                                          "and the OWASP top ten.")
    page.get_by_label("Badge image").set_input_files(str(_badge_png(tmp_path / "badge.png")))
    page.get_by_role("img", name="Preview of the chosen image").wait_for()
    page.get_by_label("Tags").fill("security, web, api")
    page.get_by_label("Language of the course").fill("en")
    page.get_by_label("What the learner has to do").fill("Pass the final assessment with at least 5.5.")
    page.get_by_label("Name of the result").fill("Final grade")
    page.get_by_label("Required to pass").fill("5.5")
    page.get_by_label("Lowest possible value").fill("1")
    page.get_by_label("Highest possible value").fill("10")
    page.locator("#alignment-0-name").fill("manage ICT security")
    page.locator("#alignment-0-url").fill("http://data.europa.eu/esco/skill/4e8f7e7b-0b2d-4d3a-a0b4-2f3e1a7c5d11")
    page.locator("#alignment-0-framework").fill("ESCO")
    page.locator("#alignment-0-type").select_option("ceasn:Competency")
    page.get_by_label("Study load in ECTS").fill("2,5")
    page.get_by_label("EQF level").select_option("6")
    page.get_by_label("NLQF level").select_option("6")
    page.get_by_label("Learning outcomes").fill("Build a threat model of a web API\nTest an API for the OWASP top ten")
    page.get_by_label("Type of assessment").select_option("testing")
    page.get_by_label("Form of participation").select_option("onsite or blended")
    page.get_by_label("Supervision of the assessment").select_option("onsite with identity verification")
    page.get_by_label("Identity of the learner checked").select_option("yes")
    page.get_by_label("Name of the quality assurance body").fill("NVAO")
    page.get_by_label("Its website").fill("https://www.nvao.net/")
    page.get_by_label("Prerequisites").fill("Basic programming in any language.")
    _shot(screenshot, page, "badge-form")
    page.get_by_role("button", name="Create badge class").click()
    page.get_by_text("The badge class Web Security Essentials was created.").wait_for()
    assert image_width(page.get_by_role("img", name="Badge image of Web Security Essentials")) == 256
    for fact in ("2.5", "Level 6", "On site or hybrid (blended)", "NVAO", "manage ICT security", "Required to pass: 5.5"):
        assert page.get_by_text(fact, exact=False).first.is_visible(), fact
    _shot(screenshot, page, "badge")
    badge_url = page.url

    # The same page in Dutch.
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Nederlands").click()
    assert page.get_by_role("link", name="Toekennen aan een student").is_visible()
    assert page.get_by_text("Op locatie of hybride (blended)").is_visible()
    _shot(screenshot, page, "badge-nl")
    page.get_by_role("navigation", name="Taal").get_by_role("link", name="English").click()

    # Award it to one learner with a PIN: the QR code, the link to copy, and the PIN.
    page.get_by_role("link", name="Award to a learner").click()
    page.get_by_label("Full name of the learner").fill("Sanne de Vries")
    page.get_by_label("E-mail address").fill("sanne.devries@student.uv.example.nl")
    page.get_by_label("eduID identifier").fill("urn:collab:person:eduid.nl:sanne")
    page.get_by_label("Final grade (the learner's result)").fill("8.5")
    assert page.get_by_label("Protect the offer with a PIN").is_checked()
    _shot(screenshot, page, "award-form")
    page.get_by_role("button", name="Award the badge").click()
    assert page.get_by_role("heading", level=1).inner_text() == "The badge is awarded to Sanne de Vries"
    link = page.locator("#offer-link").inner_text()
    assert link.startswith("openid-credential-offer://?credential_offer_uri=")
    assert image_width(page.get_by_role("img", name="QR code: scan it with your phone")) > 100
    pin = page.locator(".pin-code").inner_text()
    assert re.fullmatch(r"\d{6}", pin)
    assert page.get_by_role("button", name="Copy link").is_visible()
    offer_url = httpx.URL(httpx.URL(link).params["credential_offer_uri"])
    offer = httpx.get(str(offer_url), timeout=10).json()  # noqa: TID251 - the test plays the wallet
    assert offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"] == 6
    _shot(screenshot, page, "offer")

    # Bulk award from a CSV with one bad row: the report names it by its line.
    page.goto(badge_url)
    page.get_by_role("link", name="Award to a list (CSV)").click()
    csv = tmp_path / "learners.csv"
    csv.write_text("name,email,result\nDaan Jansen,daan@student.uv.example.nl,7\n"
                   "Fatima el Amrani,fatima-at-example,9\nLotte Bakker,lotte@student.uv.example.nl,6.5\n")
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv))
    page.get_by_label("Protect every offer with a PIN").check()
    _shot(screenshot, page, "bulk-form")
    page.get_by_role("button", name="Upload and award").click()
    page.get_by_role("heading", name="Done").wait_for(timeout=20_000)
    assert page.get_by_text("3 of 3 rows handled").is_visible()
    problems = page.get_by_role("table", name="Rows that were not awarded, by line number in the file")
    assert problems.locator("tbody tr").count() == 1
    assert problems.locator("tbody td").first.inner_text() == "3"
    assert "The e-mail address is missing or not valid" in problems.inner_text()
    report = page.get_by_role("table", name="Every row of the file and what happened to it")
    assert [re.sub(r"\s+", " ", row).strip() for row in report.locator("tbody tr td:last-child").all_inner_texts()] == [
        "Awarded", "Not awarded", "Awarded"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    assert download.value.suggested_filename.startswith("bulk-award-")
    _shot(screenshot, page, "bulk-report")

    # Revoke the first award and see its status.
    page.goto(badge_url)
    assert page.get_by_role("table", name="Learners who were awarded Web Security Essentials").locator(
        "tbody tr").count() == 3
    page.get_by_role("link", name="Sanne de Vries").click()
    assert " ".join(page.locator(".award-status").inner_text().split()) == "Status: Valid"
    _shot(screenshot, page, "award")
    page.get_by_role("link", name="Revoke…").click()
    _shot(screenshot, page, "revoke-confirm")
    page.get_by_role("button", name="Revoke for good").click()
    page.get_by_text("The badge of Sanne de Vries is revoked.").wait_for()
    assert " ".join(page.locator(".award-status").inner_text().split()) == "Status: Revoked"
    _shot(screenshot, page, "revoked")
    page.goto(badge_url)
    row = page.get_by_role("row").filter(has_text="Sanne de Vries")
    assert "Revoked" in row.inner_text()

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    assert len(page_check(page).visited) >= 15


def _running_job(issuer: RunningService, total: int) -> tuple[int, Session]:
    """A bulk job in its running state, made straight in the issuer's database (as a long upload would)."""
    admin = httpx.Client(base_url=issuer.url, headers={"Authorization": f"Bearer {_token(issuer)}"}, timeout=10)  # noqa: TID251
    institution = admin.post("/admin/institutions", json={"name": "Hogeschool Progress"}).json()
    badge = admin.post("/admin/badge-classes", json={"institution_id": institution["id"], "name": "Big Cohort",
                                                      "criteria_narrative": "Take part."}).json()
    session = Session(make_engine(issuer.database_url), expire_on_commit=False)  # closed (and disposed) by the caller
    principal = authenticate(session=session, token=_token(issuer))
    job = start_bulk_job(session=session, principal=principal, badge_class_id=badge["id"], file_name="cohort.csv",
                         credential_format="jwt_vc_json", pin=False, total=total, report_lifetime=14 * 24 * 3600)
    return job, session


def _progress(session: Session, job: int, **values: object) -> None:
    session.execute(update(BulkAwardJob).where(BulkAwardJob.id == job).values(**values))  # type: ignore[arg-type]
    session.commit()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_bulk_progress_updates_itself(open_page: OpenPage, issuer: RunningService, screenshot: Screenshots,
                                      javascript: bool) -> None:
    job, session = _running_job(issuer, total=1200)
    try:
        page = open_page("phone" if javascript else "desktop", javascript=javascript)
        _log_in(page, issuer)
        page.goto(f"{issuer.url}/staff/bulk/{job}")
        assert page.get_by_role("heading", name="Awarding…").is_visible()
        assert page.get_by_text("0 of 1200 rows handled").is_visible()
        _progress(session, job, processed=600, created=598, errors=2, updated_at=unix_now())
        if javascript:  # the page polls its status URL and reloads itself at each step
            page.get_by_text("600 of 1200 rows handled").wait_for(timeout=10_000)
        else:  # without JavaScript the reader reloads with "Check again"
            page.get_by_role("link", name="Check again").click()
            assert page.get_by_text("600 of 1200 rows handled").is_visible()
        assert page.locator("progress").get_attribute("value") == "600"
        _shot(screenshot, page, "progress")
        _progress(session, job, processed=1200, created=1198, state="done", updated_at=unix_now())
        if javascript:
            page.get_by_role("heading", name="Done").wait_for(timeout=10_000)
        else:
            page.get_by_role("link", name="Check again").click()
        assert page.get_by_text("1200 of 1200 rows handled").is_visible()
        assert page.locator("[data-poll-url]").count() == 0
    finally:
        session.close()
        session.get_bind().dispose()  # type: ignore[union-attr]


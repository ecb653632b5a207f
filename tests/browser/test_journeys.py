"""The whole story across the three services, through their pages only, in a real browser (issue 5).

Staff award a badge on the issuer's pages, a learner takes it into the wallet by the offer link and its
PIN, an employer asks for it on the verifier's pages, the learner consents, and the employer's QR page
turns into the verdict: "Verified", or, after staff revoked the award, "Not verified" with the reason.
Three real services run on loopback (`tests.servers.running_service`); each party has its own browser
context, all at the same screen size (desktop or phone), with the page check on every page.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.harness import VIEWPORTS, Screenshots, image_width, page_check
from tests.browser.test_issuer_pages import _badge_png, _log_in, _shot
from tests.browser.test_verifier_pages import check_row, qr_link, wait_for_verdict
from tests.browser.test_wallet_pages import register
from tests.servers import RunningService, running_service

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import OpenPage

pytestmark = pytest.mark.browser


@dataclass
class Services:
    issuer: RunningService
    wallet: RunningService
    verifier: RunningService


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    folder = tmp_path_factory.mktemp("journeys")
    # The verifier reads status lists afresh, so a revocation a moment ago is seen (as in the interop tests).
    verifier_env = {"EDUWALLET_VERIFIER_STATUS_CACHE_MAX_SECONDS": "0"}
    with running_service("issuer", folder) as issuer, running_service("wallet", folder) as wallet, \
            running_service("verifier", folder, env=verifier_env) as verifier:
        yield Services(issuer, wallet, verifier)


@pytest.fixture(params=sorted(VIEWPORTS))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Award:
    badge: str
    institution: str
    institution_did: str
    offer_link: str
    pin: str


def staff_awards_a_badge(page: Page, issuer: RunningService, screenshot: Screenshots, tmp_path: Path) -> Award:
    """Staff log in, add an institution and a badge class, and award it to one learner with a PIN."""
    run = secrets.token_hex(3)
    badge, institution = f"Data Ethics {run}", f"Hogeschool Rivierstad {run}"
    _log_in(page, issuer)
    page.get_by_label("Name of the institution").fill(institution)
    page.get_by_label("Country code").fill("NL")
    page.get_by_role("button", name="Add institution").click()
    page.get_by_role("heading", level=1, name=institution).wait_for()
    did = page.locator("dt", has_text="Identifier (DID)").locator("xpath=following-sibling::dd").inner_text().strip()
    assert did.startswith("did:"), did
    _shot(screenshot, page, "staff-institution")

    page.get_by_role("link", name="New badge class").first.click()
    page.get_by_label("Name of the badge").fill(badge)
    page.get_by_label("Description").fill("Weighing the ethical questions of collecting and using personal data.")
    page.get_by_label("Badge image").set_input_files(str(_badge_png(tmp_path / "badge.png")))
    page.get_by_role("img", name="Preview of the chosen image").wait_for()
    page.get_by_label("What the learner has to do").fill("Write and defend an ethics review of a data project.")
    _shot(screenshot, page, "staff-badge-form")
    page.get_by_role("button", name="Create badge class").click()
    page.get_by_text(f"The badge class {badge} was created.").wait_for()
    _shot(screenshot, page, "staff-badge")

    page.get_by_role("link", name="Award to a learner").click()
    page.get_by_label("Full name of the learner").fill("Noor Bakker")
    page.get_by_label("E-mail address").fill("noor.bakker@student.rivierstad.example.nl")
    assert page.get_by_label("Protect the offer with a PIN").is_checked()
    _shot(screenshot, page, "staff-award-form")
    page.get_by_role("button", name="Award the badge").click()
    page.get_by_role("heading", level=1, name="The badge is awarded to Noor Bakker").wait_for()
    link = page.locator("#offer-link").inner_text()
    assert link.startswith("openid-credential-offer://?credential_offer_uri=")
    pin = page.locator(".pin-code").inner_text()
    assert re.fullmatch(r"\d{6}", pin)
    _shot(screenshot, page, "staff-offer")
    return Award(badge, institution, did, link, pin)


def learner_accepts(page: Page, wallet: RunningService, award: Award, screenshot: Screenshots) -> None:
    """The learner registers, opens the offer link in the wallet, gives the PIN and sees the card."""
    register(page, wallet.url, f"noor-{secrets.token_hex(3)}")
    _shot(screenshot, page, "learner-empty-wallet")
    page.goto(f"{wallet.url}/offer?{urlsplit(award.offer_link).query}")
    page.wait_for_url(re.compile(r"/offers/[0-9a-f-]+$"))
    page.get_by_label("PIN code").fill(award.pin)
    _shot(screenshot, page, "learner-offer-pin")
    page.get_by_role("button", name="Add to my wallet").click()
    page.wait_for_url(re.compile(r"/credentials/[0-9a-f-]+$"))  # one credential: straight to its page
    assert page.get_by_role("heading", level=1).inner_text() == award.badge
    _shot(screenshot, page, "learner-credential")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My credentials").click()
    card = page.locator(".cards .card").filter(has=page.get_by_role("heading", name=award.badge))
    assert " ".join(card.locator(".card-status").inner_text().split()) == "Status: Valid"
    assert card.locator(".card-subtitle").inner_text() == award.institution  # who awarded it, not the service
    assert image_width(card.get_by_role("img", name=f"Badge of {award.badge}")) == 256
    _shot(screenshot, page, "learner-card")


def employer_asks(page: Page, verifier: RunningService, award: Award, screenshot: Screenshots) -> str:
    """The employer asks for an Open Badge for the achievement, trusting the institution; returns the QR link."""
    page.goto(verifier.url + "/")
    page.get_by_role("main").get_by_role("link", name="Ask for a credential").click()
    page.get_by_label("An Open Badge for a specific achievement").check()
    page.get_by_label("Name of the achievement").fill(award.badge)
    page.get_by_label("Trusted issuers").fill(award.institution_did)
    _shot(screenshot, page, "employer-new-request")
    page.get_by_role("button", name="Show the QR code").click()
    page.get_by_role("heading", level=1, name="Scan with the learner's wallet").wait_for()
    assert f"An Open Badge for “{award.badge}”" in page.locator("main").inner_text()
    _shot(screenshot, page, "employer-qr-waiting")
    return qr_link(page)


def learner_consents(page: Page, wallet: RunningService, link: str, screenshot: Screenshots) -> None:
    """The learner opens the employer's request in the wallet and agrees to share."""
    page.goto(f"{wallet.url}/present?{urlsplit(link).query}")
    page.wait_for_url(re.compile(r"/presentations/[0-9a-f-]+$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Share with ")
    _shot(screenshot, page, "learner-consent")
    page.get_by_role("button", name="Share", exact=True).click()


def test_award_accept_present_verified(open_page: OpenPage, services: Services, size: str,
                                       screenshot: Screenshots, tmp_path: Path) -> None:
    staff, learner, employer = open_page(size), open_page(size), open_page(size)
    award = staff_awards_a_badge(staff, services.issuer, screenshot, tmp_path)
    learner_accepts(learner, services.wallet, award, screenshot)
    link = employer_asks(employer, services.verifier, award, screenshot)
    learner_consents(learner, services.wallet, link, screenshot)
    learner.get_by_role("heading", level=1, name="Shared").wait_for()
    _shot(screenshot, learner, "learner-shared")

    wait_for_verdict(employer, "Verified")
    main = employer.locator("main").inner_text()
    for text in (award.badge, award.institution, award.institution_did, "Issued by",
                 "Write and defend an ethics review of a data project."):
        assert text in main, text
    for label in ("Signed by the issuer", "Belongs to the person presenting it", "Valid on this date",
                  "Not revoked or suspended", "Issued by an institution you trust",
                  "Follows the Open Badges 3.0 format", "Contains what you asked for"):
        assert check_row(employer, label) == f"{label} Yes", check_row(employer, label)
    _shot(screenshot, employer, "employer-verified")

    learner.get_by_role("link", name="See your sharing history").click()
    assert learner.locator(".entry").first.get_by_text("Shared", exact=True).is_visible()
    _shot(screenshot, learner, "learner-history")
    assert all(page_check(page).visited for page in (staff, learner, employer))


def test_revoked_award_is_not_verified(open_page: OpenPage, services: Services, size: str,
                                       screenshot: Screenshots, tmp_path: Path) -> None:
    staff, learner, employer = open_page(size), open_page(size), open_page(size)
    award = staff_awards_a_badge(staff, services.issuer, screenshot, tmp_path)
    learner_accepts(learner, services.wallet, award, screenshot)

    staff.get_by_role("link", name="View the award").click()
    assert " ".join(staff.locator(".award-status").inner_text().split()) == "Status: Valid"
    staff.get_by_role("link", name="Revoke…").click()
    _shot(screenshot, staff, "staff-revoke-confirm")
    staff.get_by_role("button", name="Revoke for good").click()
    staff.get_by_text("The badge of Noor Bakker is revoked.").wait_for()
    assert " ".join(staff.locator(".award-status").inner_text().split()) == "Status: Revoked"
    _shot(screenshot, staff, "staff-revoked")

    link = employer_asks(employer, services.verifier, award, screenshot)
    # The verifier refuses the answer; the wallet says so in words (not as an error page), with its words apart.
    learner_consents(learner, services.wallet, link, screenshot)
    learner.get_by_role("heading", level=1, name="Not accepted by localhost").wait_for()
    main = learner.locator("main")
    assert "What you shared was not accepted by localhost." in main.inner_text()
    assert "credential_revoked" in main.locator(".verifier-words").inner_text()
    assert "Error code" not in main.inner_text()
    _shot(screenshot, learner, "learner-sharing-refused")
    learner.get_by_role("link", name="See your sharing history").click()
    assert learner.locator(".entry").first.get_by_text("Not accepted", exact=True).is_visible()
    assert learner.get_by_text("Shared", exact=True).count() == 0

    wait_for_verdict(employer, "Not verified")
    assert employer.locator(".verdict-text").inner_text() == "This credential was revoked by its issuer."
    assert check_row(employer, "Not revoked or suspended").startswith(
        "Not revoked or suspended No This credential was revoked by its issuer.")
    assert check_row(employer, "Signed by the issuer") == "Signed by the issuer Yes"
    assert check_row(employer, "Issued by an institution you trust") == "Issued by an institution you trust Yes"
    _shot(screenshot, employer, "employer-not-verified")

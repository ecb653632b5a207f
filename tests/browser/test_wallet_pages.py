"""The wallet's pages in a real browser: register, log in (also with the OpenID Provider), add a credential
by link with its PIN and by QR image, the cards and a credential's page, consent with one claim left out
(the verifier gets exactly the rest), the history, and Dutch. The page check runs on every page.

The wallet runs as its own uvicorn process; a tiny OpenID4VCI issuer, a tiny OpenID4VP verifier
(tests/wallet) and panva's oidc-provider (tests/wallet/oidc) run beside it on 127.0.0.1.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import qrcode

from tests.browser.harness import Screenshots, image_width, launch_chromium, page_check
from tests.browser.test_shared_pages import _y4m_of_qr
from tests.servers import RunningService, free_port, running_service
from tests.wallet.oidc.provider import ACCOUNT, running_openid_provider
from tests.wallet.tiny_issuer import (
    FAMILY_NAME,
    GIVEN_NAME,
    GIVEN_NAME_LABEL,
    GRADE,
    OB3_ACHIEVEMENT,
    SD_ACHIEVEMENT,
    TinyIssuer,
    running_tiny_issuer,
)
from tests.wallet.tiny_verifier import TinyVerifier, disclosed_claims, running_tiny_verifier

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

    from tests.browser.conftest import OpenPage

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PIN = "493536"
CLIENT_SECRET = "wallet-client-secret-for-tests"


@dataclass
class Parties:
    wallet: RunningService
    issuer: TinyIssuer
    verifier: TinyVerifier
    provider: str


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parties]:
    provider_port = free_port()
    provider = f"http://localhost:{provider_port}"
    env = {"EDUWALLET_WALLET_OIDC_ISSUER": provider, "EDUWALLET_WALLET_OIDC_CLIENT_ID": "eduwallet",
           "EDUWALLET_WALLET_OIDC_CLIENT_SECRET": CLIENT_SECRET, "EDUWALLET_WALLET_OIDC_SCOPE": "openid profile"}
    with running_service("wallet", tmp_path_factory.mktemp("wallet"), env=env) as wallet, \
            running_openid_provider(port=provider_port, clients=[{
                "client_id": "eduwallet", "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{wallet.url}/login/oidc/callback"]}]), \
            running_tiny_issuer() as issuer, running_tiny_verifier() as verifier:
        yield Parties(wallet, issuer, verifier, provider)


def register(page: Page, wallet: str, username: str) -> None:
    page.goto(f"{wallet}/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create wallet").click()
    page.wait_for_url(f"{wallet}/credentials")


def test_receive_look_present_with_one_claim_left_out(page: Page, parties: Parties, screenshot: Screenshots) -> None:
    wallet, issuer, verifier = parties.wallet.url, parties.issuer, parties.verifier
    username = f"learner-{secrets.token_hex(3)}"
    page.goto(f"{wallet}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Log in"
    screenshot(page, "login")
    page.get_by_role("link", name="Create one").click()
    screenshot(page, "register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create wallet").click()
    page.wait_for_url(f"{wallet}/credentials")
    assert page.get_by_role("status").filter(has_text="Your wallet is ready").is_visible()
    assert page.get_by_role("heading", name="Your wallet is empty").is_visible()
    screenshot(page, "empty")
    # Log out and in again.
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{wallet}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(f"{wallet}/credentials")

    # Add a credential by pasting the issuer's link; the PIN prompt says what the issuer says.
    page.get_by_role("link", name="Add a credential").click()
    page.get_by_label("Link").fill(issuer.offer())
    screenshot(page, "add")
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_url(re.compile(r"/offers/[0-9a-f-]+$"))
    assert page.get_by_text("Tiny University").first.is_visible()
    pin = page.get_by_label("PIN code")
    hint = page.locator("#" + (pin.get_attribute("aria-describedby") or "").split()[0]).inner_text()
    assert hint == "Code sent to your e-mail. It has 6 digits."
    assert pin.get_attribute("inputmode") == "numeric" and pin.get_attribute("maxlength") == "6"
    pin.fill(PIN)
    screenshot(page, "offer-pin")
    page.get_by_role("button", name="Add to my wallet").click()
    page.wait_for_url(f"{wallet}/credentials")
    assert page.get_by_role("status").filter(has_text="Added to your wallet").is_visible()
    cards = page.locator(".cards .card")
    assert cards.count() == 2
    screenshot(page, "cards")
    for name in (SD_ACHIEVEMENT, OB3_ACHIEVEMENT):
        card = cards.filter(has=page.get_by_role("heading", name=name))
        assert " ".join(card.locator(".card-status").inner_text().split()) == "Status: Valid"
        assert card.get_by_text("Tiny University").is_visible()
        image = card.get_by_role("img", name=f"Badge of {name}")
        assert image_width(image) == 256  # fetched through the wallet

    # The credential's own page says everything it holds.
    page.get_by_role("link", name=SD_ACHIEVEMENT).click()
    assert page.get_by_role("heading", level=1).inner_text() == SD_ACHIEVEMENT
    facts = page.locator(".facts")
    assert facts.get_by_text("5 ECTS").is_visible() and facts.get_by_text("EQF level 6").is_visible()
    assert facts.get_by_text(GRADE).is_visible()
    page.get_by_text("Show every detail the credential holds").click()
    assert page.locator(".claim-list").get_by_text(FAMILY_NAME).is_visible()
    screenshot(page, "detail")

    # A verifier asks for three claims; the learner leaves the grade out.
    request_uri, transaction = verifier.request({"credentials": [{
        "id": "micro", "format": "dc+sd-jwt", "meta": {"vct_values": [issuer.vct]},
        "claims": [{"path": ["grade"]}, {"path": ["given_name"]}, {"path": ["family_name"]}]}]})
    page.goto(f"{wallet}/present?{urlsplit(request_uri).query}")
    page.wait_for_url(re.compile(r"/presentations/[0-9a-f-]+$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Share with Tiny Employer?"
    assert page.locator(".party-id").first.inner_text() == verifier.client_id
    claims = page.get_by_role("group", name="Tick what you agree to share")
    assert claims.get_by_role("checkbox").count() == 3
    grade = claims.get_by_role("checkbox", name=re.compile("^Grade"))
    assert grade.is_checked()
    # Claims by their label (the type metadata's, else in words), the exact path visible in small print.
    assert claims.get_by_role("checkbox", name=re.compile(f"^{GIVEN_NAME_LABEL}")).is_checked()
    assert claims.locator(".claim-path").get_by_text("given_name", exact=True).is_visible()
    grade.uncheck()
    screenshot(page, "consent")
    page.get_by_role("button", name="Share", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Shared"
    assert page.get_by_role("link", name="Continue").get_attribute("href").startswith(f"{verifier.url}/done")
    screenshot(page, "sent")
    [presentation] = transaction.vp_token["micro"]  # type: ignore[index]
    assert disclosed_claims(presentation) == {"given_name": GIVEN_NAME, "family_name": FAMILY_NAME}
    assert GRADE not in presentation
    assert all(report.verified for report in transaction.reports["micro"])

    page.get_by_role("link", name="See your sharing history").click()
    entry = page.locator(".entry").first
    assert entry.get_by_role("heading", name="Tiny Employer").is_visible()
    assert entry.get_by_text("Shared", exact=True).is_visible()
    chosen = entry.get_by_text(re.compile("^Chosen: ")).inner_text().removeprefix("Chosen: ")
    assert sorted(chosen.split(", ")) == ["Family name", GIVEN_NAME_LABEL]  # the type metadata's label
    screenshot(page, "history")

    # Dutch, and the choice sticks.
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Nederlands").click()
    page.wait_for_url(f"{wallet}/history")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Gedeeld"
    chosen = page.locator(".entry").first.get_by_text(re.compile("^Gekozen: ")).inner_text().removeprefix("Gekozen: ")
    assert sorted(chosen.split(", ")) == ["Achternaam", "Roepnaam"]  # the type metadata's label in Dutch
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Mijn credentials").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Mijn credentials"
    assert [" ".join(t.split()) for t in page.locator(".cards .card-status").all_inner_texts()] == ["Status: Geldig"] * 2
    screenshot(page, "dutch")


def _qr_png(text: str, path: Path) -> Path:
    image = io.BytesIO()
    qrcode.make(text).save(image, "PNG")
    path.write_bytes(image.getvalue())
    return path


def test_add_by_qr_image_and_export(open_page: OpenPage, parties: Parties, screenshot: Screenshots,
                                    tmp_path: Path) -> None:
    page = open_page("phone")
    wallet = parties.wallet.url
    register(page, wallet, f"photo-{secrets.token_hex(3)}")
    page.goto(f"{wallet}/add")
    page.get_by_label("Picture of the QR code", exact=True).set_input_files(
        str(_qr_png(parties.issuer.offer("OpenBadgeCredential_jwt"), tmp_path / "offer.png")))
    page.get_by_role("img", name="Preview of the chosen image").wait_for()
    screenshot(page, "qr-chosen")
    page.get_by_role("button", name="Read the QR code").click()
    page.wait_for_url(re.compile(r"/offers/[0-9a-f-]+$"))
    page.get_by_label("PIN code").fill(PIN)
    page.get_by_role("button", name="Add to my wallet").click()
    page.wait_for_url(re.compile(r"/credentials/[0-9a-f-]+$"))  # one credential: straight to its page
    assert page.get_by_role("heading", level=1).inner_text() == OB3_ACHIEVEMENT
    assert page.locator(".facts").get_by_text("4 ECTS").is_visible()
    assert page.locator(".facts").get_by_text("EQF level 5").is_visible()
    screenshot(page, "badge")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as badge image (PNG)").click()
    baked = Path(download.value.path()).read_bytes()
    assert baked.startswith(b"\x89PNG") and b"openbadgecredential" in baked


def test_a_picture_without_a_qr_code_is_explained(open_page: OpenPage, parties: Parties, tmp_path: Path) -> None:
    page = open_page("desktop")
    page_check(page).allow_console_error(r"status of 400")
    wallet = parties.wallet.url
    register(page, wallet, f"blank-{secrets.token_hex(3)}")
    page.goto(f"{wallet}/add")
    blank = tmp_path / "blank.png"
    qrcode.make("x").get_image().crop((0, 0, 8, 8)).save(blank, "PNG")
    page.get_by_label("Picture of the QR code", exact=True).set_input_files(str(blank))
    page.get_by_role("button", name="Read the QR code").click()
    assert page.get_by_role("alert").get_by_role("link").inner_text() == \
        "The picture could not be used: no QR code was found in the image"
    assert page.get_by_label("Picture of the QR code", exact=True).get_attribute("aria-invalid") == "true"


def test_log_in_with_the_openid_provider(open_page: OpenPage, parties: Parties, screenshot: Screenshots) -> None:
    page = open_page("phone")
    wallet = parties.wallet.url
    page.goto(f"{wallet}/login")
    screenshot(page, "login-with-eduid")
    page.get_by_role("link", name="Log in with eduID").click()
    page.wait_for_url(re.compile(re.escape(parties.provider) + "/interaction/"))
    page.get_by_label("Username").fill(ACCOUNT["username"])
    page.get_by_label("Password").fill(ACCOUNT["password"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{wallet}/credentials")
    assert page.get_by_role("status").filter(has_text="Welcome, sanne.devries.").is_visible()
    screenshot(page, "logged-in-with-eduid")


@pytest.fixture(scope="module")
def camera_with_an_offer(playwright: Playwright, parties: Parties,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium whose (fake) camera films the QR code of an offer."""
    clip = _y4m_of_qr(tmp_path_factory.mktemp("camera") / "offer.y4m", parties.issuer.offer("OpenBadgeCredential_jwt"))
    browser = launch_chromium(playwright, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                              f"--use-file-for-fake-video-capture={clip}")
    yield browser
    browser.close()


def test_scan_an_offer_with_the_camera(open_page: OpenPage, camera_with_an_offer: Browser, parties: Parties,
                                       screenshot: Screenshots) -> None:
    page = open_page("phone", browser_=camera_with_an_offer, permissions=["camera"])
    wallet = parties.wallet.url
    register(page, wallet, f"camera-{secrets.token_hex(3)}")
    page.goto(f"{wallet}/add")
    page.get_by_role("button", name="Scan with camera").click()
    page.wait_for_url(re.compile(r"/offers/[0-9a-f-]+$"), timeout=20_000)  # found, filled in and sent
    assert page.get_by_role("listitem").filter(has_text="Open Badge").is_visible()
    screenshot(page, "scanned-offer")


def test_backup_delete_credential_and_delete_account(open_page: OpenPage, parties: Parties,
                                                     screenshot: Screenshots) -> None:
    page = open_page("desktop")
    wallet = parties.wallet.url
    username = f"leaver-{secrets.token_hex(3)}"
    register(page, wallet, username)
    page.goto(f"{wallet}/offer?{urlsplit(parties.issuer.offer('OpenBadgeCredential_jwt')).query}")
    page.get_by_label("PIN code").fill(PIN)
    page.get_by_role("button", name="Add to my wallet").click()
    page.wait_for_url(re.compile(r"/credentials/[0-9a-f-]+$"))

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Account").click()
    page.get_by_label("Passphrase for the backup").fill("a long backup passphrase")
    screenshot(page, "account")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download backup").click()
    assert download.value.suggested_filename.startswith("eduwallet-backup-")

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My credentials").click()
    page.get_by_role("link", name=OB3_ACHIEVEMENT).click()
    page.get_by_role("link", name="Delete this credential").click()
    screenshot(page, "delete-credential")
    page.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_url(f"{wallet}/credentials")
    assert page.get_by_role("heading", name="Your wallet is empty").is_visible()

    page.goto(f"{wallet}/account")
    page.get_by_role("link", name="Delete my wallet").click()
    page.get_by_label("I understand that everything in my wallet will be deleted").check()
    screenshot(page, "delete-account")
    page.get_by_role("button", name="Delete everything").click()
    page.wait_for_url(f"{wallet}/login")
    assert page.get_by_role("status").inner_text() == "Your wallet and everything in it were deleted."

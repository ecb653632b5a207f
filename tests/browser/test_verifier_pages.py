"""The verifier's pages in a real browser, against a running verifier: ask for a credential, the QR page
updates itself when the wallet answers (holder-side library code), the verdict in words; the check page."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.browser.harness import page_check
from tests.servers import RunningService, running_service, verifier_api_headers
from tests.verifier.factories import VCT, Issuer, Party, present_sd_jwt_vc, present_vp_jwt
from tests.verifier.issuer_server import served_issuer
from tests.verifier.wallet_side import receive_request, respond
from vc.baking import bake_png
from vc.token_status_list import INVALID

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import OpenPage
    from tests.browser.harness import Screenshots

pytestmark = pytest.mark.integration

#: Token Status List indexes the issuer has revoked before the verifier first reads its list.
REVOKED = {"desktop": 7, "phone": 8}
BADGE = "Web Security Essentials"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with served_issuer() as served:
        for index in REVOKED.values():
            served.token_list.set(index, INVALID)
        yield served


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory, issuer: Issuer) -> Iterator[RunningService]:
    """A verifier that trusts the test issuer (its did:web for Open Badges, its URL for SD-JWT VCs)."""
    env = {"EDUWALLET_VERIFIER_TRUSTED_ISSUERS": json.dumps([issuer.party.did, issuer.id])}
    with running_service("verifier", tmp_path_factory.mktemp("verifier-pages"), env=env) as service:
        yield service


@pytest.fixture
def holder() -> Party:
    return Party.new()


def qr_link(page: Page) -> str:
    """The `openid4vp://` link the QR page shows as text (what the QR code holds)."""
    link = page.locator("main a#qr-link")
    href = link.get_attribute("href") or ""
    assert href.startswith("openid4vp://") and link.inner_text() == href
    return href


def wait_for_verdict(page: Page, word: str) -> None:
    """The QR page polls the status and turns into the result page by itself."""
    page.get_by_role("heading", level=1, name=word).wait_for(timeout=20_000)
    assert page.locator("[data-poll-url]").count() == 0


def check_row(page: Page, label: str) -> str:
    return " ".join(page.locator(".check").filter(has_text=label).inner_text().split())


def test_verified_open_badge_journey(page: Page, verifier: RunningService, issuer: Issuer, holder: Party,
                                     screenshot: Screenshots) -> None:
    page.goto(verifier.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Check a learner's credentials"
    screenshot(page, "home")
    page.get_by_role("main").get_by_role("link", name="Ask for a credential").click()
    page.get_by_role("heading", level=1, name="Ask for a credential").wait_for()
    page.get_by_label("An Open Badge for a specific achievement").check()
    page.get_by_label("Name of the achievement").fill(BADGE)
    screenshot(page, "new-request")
    page.get_by_role("button", name="Show the QR code").click()

    page.get_by_role("heading", level=1, name="Scan with the learner's wallet").wait_for()
    assert page.get_by_role("img", name="QR code: scan it with your phone").is_visible()
    assert page.get_by_role("button", name="Copy link").is_visible()
    assert "An Open Badge for “Web Security Essentials”" in page.locator("main").inner_text()
    screenshot(page, "qr-waiting")

    request = receive_request(qr_link(page))
    assert request.params.response_mode == "direct_post.jwt"  # the default: encrypted
    credential = issuer.ob3_jwt(holder, name=BADGE, status_index=11, result="7.5", required_value="6")
    vp = present_vp_jwt([credential], holder, audience=request.client_id, nonce=request.nonce)
    assert respond(request, {"openbadge": [vp]}).status_code == 200

    wait_for_verdict(page, "Verified")
    main = page.locator("main").inner_text()
    for text in (BADGE, "Example University", holder.did, "Final grade: 7.5", "at least 6 needed",
                 "Yes, the result meets the requirement", "Passed the final assessment with at least 6."):
        assert text in main, text
    for label in ("Signed by the issuer", "Belongs to the person presenting it", "Valid on this date",
                  "Not revoked or suspended", "Issued by an institution you trust",
                  "Follows the Open Badges 3.0 format", "Contains what you asked for"):
        assert check_row(page, label) == f"{label} Yes", check_row(page, label)
    screenshot(page, "verified")

    page.goto(verifier.url + "/")  # the request is listed for this browser
    assert page.get_by_role("table").get_by_text("Verified").count() == 1
    screenshot(page, "home-with-request")


def test_revoked_credential_journey(page: Page, verifier: RunningService, issuer: Issuer, holder: Party,
                                    screenshot: Screenshots) -> None:
    size = page.eduwallet_size  # type: ignore[attr-defined]
    page.goto(verifier.url + "/presentation-requests/new")
    page.get_by_label("An SD-JWT credential with the details you name").check()
    page.get_by_label("Details to ask for").fill("given_name, grade")
    page.get_by_label("Credential type").fill(VCT)
    page.get_by_label("Trusted issuers").fill(issuer.id)
    page.get_by_label("How the wallet answers").select_option("direct_post")
    screenshot(page, "new-request")
    page.get_by_role("button", name="Show the QR code").click()
    page.get_by_role("heading", level=1, name="Scan with the learner's wallet").wait_for()
    assert "given_name, grade" in page.locator("main").inner_text()
    screenshot(page, "qr-waiting")

    request = receive_request(qr_link(page))
    assert request.params.response_mode == "direct_post"
    credential = issuer.sd_jwt_vc(holder, status_index=REVOKED[size])
    presentation = present_sd_jwt_vc(credential, holder, audience=request.client_id, nonce=request.nonce)
    assert respond(request, {"credential": [presentation]}).status_code == 400

    wait_for_verdict(page, "Not verified")
    assert page.locator(".verdict-text").inner_text() == "This credential was revoked by its issuer."
    assert check_row(page, "Not revoked or suspended").startswith(
        "Not revoked or suspended No This credential was revoked by its issuer.")
    assert check_row(page, "Signed by the issuer") == "Signed by the issuer Yes"
    page.locator(".check-failed summary").click()  # the technical detail, for whoever wants it
    assert "revoked" in page.locator(".check-failed .check-detail p").inner_text()
    screenshot(page, "not-verified")


def test_dutch_pages(open_page: OpenPage, verifier: RunningService, issuer: Issuer, holder: Party,
                     screenshot: Screenshots) -> None:
    page = open_page("phone", locale="nl-NL")
    page.goto(verifier.url + "/presentation-requests/new")
    assert page.get_by_role("heading", level=1).inner_text() == "Credential opvragen"
    page.get_by_role("button", name="Toon de QR-code").click()  # "Een Open Badge" is chosen already
    page.get_by_role("heading", level=1, name="Scannen met de wallet van de student").wait_for()
    screenshot(page, "qr-waiting")
    request = receive_request(qr_link(page))
    vp = present_vp_jwt([issuer.ob3_jwt(holder, status_index=12)], holder, audience=request.client_id,
                        nonce=request.nonce)
    assert respond(request, {"openbadge": [vp]}).status_code == 200
    wait_for_verdict(page, "Geverifieerd")
    assert check_row(page, "Ondertekend door de uitgever") == "Ondertekend door de uitgever Ja"
    screenshot(page, "verified")


def test_without_javascript_check_again_shows_the_result(open_page: OpenPage, verifier: RunningService,
                                                          issuer: Issuer, holder: Party,
                                                          screenshot: Screenshots) -> None:
    page = open_page("desktop", javascript=False)
    page.goto(verifier.url + "/presentation-requests/new")
    page.get_by_label("An Open Badge for a specific achievement").check()
    page.get_by_label("Name of the achievement").fill(BADGE)
    page.get_by_role("button", name="Show the QR code").click()
    page.get_by_role("heading", level=1, name="Scan with the learner's wallet").wait_for()
    assert page.get_by_role("button", name="Copy link").is_hidden()  # needs JavaScript
    request = receive_request(qr_link(page))
    vp = present_vp_jwt([issuer.ob3_jwt(holder, name=BADGE, status_index=13)], holder, audience=request.client_id,
                        nonce=request.nonce)
    assert respond(request, {"openbadge": [vp]}).status_code == 200
    page.wait_for_timeout(2500)
    assert page.get_by_role("heading", level=1).inner_text() == "Scan with the learner's wallet"  # no polling
    page.get_by_role("link", name="Check again").click()
    page.get_by_role("heading", level=1, name="Verified").wait_for()
    screenshot(page, "verified-without-javascript")


def test_same_device_flow_lands_on_the_result_page(open_page: OpenPage, verifier: RunningService, issuer: Issuer,
                                                   holder: Party, screenshot: Screenshots) -> None:
    """A request made through the API for the same-device flow: the wallet sends the learner's browser to
    the result page with `#response_code=...`, which only that browser can open."""
    created = httpx.post(verifier.url + "/api/presentation-requests",  # noqa: TID251 - the API, as a test client
                         json={"preset": "ob3", "same_device": True, "response_mode": "direct_post"},
                         headers=verifier_api_headers(verifier)).json()
    request = receive_request(created["request_uri"])
    vp = present_vp_jwt([issuer.ob3_jwt(holder, status_index=14)], holder, audience=request.client_id,
                        nonce=request.nonce)
    answered = respond(request, {"openbadge": [vp]})
    redirect = answered.json()["redirect_uri"]
    assert "#response_code=" in redirect
    page = open_page("phone")
    page_check(page).allow_console_error(r"status of 403")  # the page first loads without the code
    page.goto(redirect)
    page.get_by_role("heading", level=1, name="Verified").wait_for()
    assert "response_code=" in page.url and "#" not in page.url
    screenshot(page, "same-device-result")
    other = open_page("phone")
    other.goto(verifier.url + f"/presentation-requests/{created['id']}")
    assert other.get_by_role("heading", level=1).inner_text() == "This request was made in another browser"
    page_check(other).allow_console_error(r"status of 403")
    screenshot(other, "other-browser")


def _badge_image() -> bytes:
    image = Image.new("RGB", (240, 240), "#12325a")
    ImageDraw.Draw(image).ellipse((40, 40, 200, 200), fill="#ffd43b")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_check_page_with_a_baked_png_and_a_pasted_sd_jwt(page: Page, verifier: RunningService, issuer: Issuer,
                                                         holder: Party, screenshot: Screenshots,
                                                         tmp_path: Path) -> None:
    baked = tmp_path / "badge.png"
    baked.write_bytes(bake_png(_badge_image(), issuer.ob3_jwt(holder, name=BADGE)))
    page.goto(verifier.url + "/check")
    assert page.get_by_role("heading", level=1).inner_text() == "Check a credential file"
    page.get_by_label("Credential file").set_input_files(str(baked))
    page.get_by_role("img", name="Preview of the chosen image").wait_for()
    screenshot(page, "upload")
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", level=1, name="Verified").wait_for()
    assert BADGE in page.locator("main").inner_text()
    assert check_row(page, "Signed by the issuer") == "Signed by the issuer Yes"
    assert check_row(page, "Belongs to the person presenting it").startswith(
        "Belongs to the person presenting it Not checked")
    screenshot(page, "baked-png-report")

    page.get_by_label("Paste a credential").fill(issuer.sd_jwt_vc(holder))
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", level=1, name="Verified").wait_for()
    assert "Ada" in page.locator("main").inner_text()
    assert check_row(page, "Follows the Open Badges 3.0 format") == \
        "Follows the Open Badges 3.0 format Not checked Not needed: this is not an Open Badge."
    screenshot(page, "sd-jwt-report")

    stranger = Issuer()  # signed, but by an institution this verifier does not trust
    page.get_by_label("Paste a credential").fill(stranger.ob3_jwt(holder))
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", level=1, name="Not verified").wait_for()
    assert page.locator(".verdict-text").inner_text() == "The issuer is not on your list of trusted institutions."
    screenshot(page, "untrusted-report")

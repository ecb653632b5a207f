"""The shared page plumbing in a real browser, on the demo app: forms with CSRF, language, QR, polling, camera."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from servicekit.web import qr_png_data_uri
from tests.browser.demo.app import OFFER_LINK, create_demo_app
from tests.browser.harness import Screenshots, launch_chromium, page_check, serve_app

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser, Page, Playwright

    from tests.browser.conftest import OpenPage

pytestmark = pytest.mark.browser


@dataclass
class Demo:
    app: FastAPI
    url: str


@pytest.fixture(scope="module")
def demo_server() -> Iterator[Demo]:
    app = create_demo_app()
    with serve_app(app) as url:
        yield Demo(app, url)


@pytest.fixture
def demo(demo_server: Demo) -> Demo:
    state: Any = demo_server.app.state
    state.answer, state.submissions, state.scanned = "waiting", [], []
    return demo_server


def test_form_round_trip_with_csrf(page: Page, demo: Demo, screenshot: Screenshots) -> None:
    page.goto(demo.url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title() == "Award a badge · eduwallet demo"
    first = screenshot(page, "form")
    page.get_by_label("Learner's name").fill("Sanne de Vries")
    page.get_by_label("Level").select_option("master")
    page.get_by_role("button", name="Award badge").click()
    page.wait_for_url(demo.url + "/")
    assert page.get_by_role("status").filter(has_text="awarded").inner_text() == \
        "The badge was awarded to Sanne de Vries."
    screenshot(page, "awarded")
    assert demo.app.state.submissions == [{"name": "Sanne de Vries", "level": "master"}]
    page.reload()
    assert page.locator(".flash").count() == 0  # a flash message is shown once
    # Screenshots are real full-page images at the page's size.
    with Image.open(first) as image:
        assert image.width == page.viewport_size["width"] * (2 if "phone" in first.name else 1)  # type: ignore[index]
        assert image.height >= page.viewport_size["height"]  # type: ignore[index]
    assert len(page_check(page).visited) >= 3


def test_server_side_errors_are_shown_at_the_field(open_page: OpenPage, demo: Demo, screenshot: Screenshots) -> None:
    page = open_page("phone")
    page_check(page).allow_console_error(r"status of 400")
    page.goto(demo.url + "/")
    page.locator("form#award").evaluate("form => { form.noValidate = true; }")  # let the server judge
    page.get_by_role("button", name="Award badge").click()
    assert page.get_by_role("alert").locator("h2").inner_text() == "There is a problem"
    field = page.get_by_label("Learner's name")
    assert field.get_attribute("aria-invalid") == "true"
    error = page.locator("#" + (field.get_attribute("aria-describedby") or "").split()[-1]).text_content() or ""
    assert " ".join(error.split()) == "Error: Enter the learner's name"
    screenshot(page, "error")
    page.get_by_role("link", name="Enter the learner's name").click()
    assert page.evaluate("document.activeElement.id") == "name"
    assert demo.app.state.submissions == []


@pytest.mark.parametrize("attack", ["missing", "forged"])
def test_missing_or_forged_csrf_token_gets_403(open_page: OpenPage, demo: Demo, screenshot: Screenshots,
                                               attack: str) -> None:
    page = open_page("desktop")
    page_check(page).allow_console_error(r"status of 403")
    page.goto(demo.url + "/")
    page.get_by_label("Learner's name").fill("Mallory")
    change = ("input => input.remove()" if attack == "missing"
              else "input => { input.value = input.value.split('.')[0] + '.' + 'A'.repeat(43); }")
    page.locator("input[name=csrf_token]").evaluate(change)
    page.get_by_role("button", name="Award badge").click()
    assert page.get_by_role("heading", level=1).inner_text() == "This form could not be sent"
    assert "nothing was changed" in page.locator("main").inner_text()
    screenshot(page, f"refused-{attack}")
    assert demo.app.state.submissions == []
    # A script on another page of the same browser cannot post without the token either.
    response = page.request.post(demo.url + "/", form={"name": "Mallory"})
    assert response.status == 403
    assert demo.app.state.submissions == []


def test_language_switch_changes_the_text(page: Page, demo: Demo, screenshot: Screenshots) -> None:
    page.goto(demo.url + "/scan")
    assert page.get_by_role("heading", level=1).inner_text() == "Add a credential"
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Nederlands").click()
    page.wait_for_url(demo.url + "/scan")  # back on the same page
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Een credential toevoegen"
    assert page.get_by_role("link", name="Direct naar de inhoud").count() == 1
    screenshot(page, "dutch")
    page.goto(demo.url + "/")  # the choice sticks
    assert page.get_by_role("heading", level=1).inner_text() == "Een badge toekennen"
    page.get_by_role("navigation", name="Taal").get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Award a badge"


def test_browser_language_is_the_default(open_page: OpenPage, demo: Demo) -> None:
    page = open_page("phone", locale="nl-NL")
    page.goto(demo.url + "/")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Een badge toekennen"


def test_qr_block_copies_the_link_and_the_page_follows_the_status(open_page: OpenPage, demo: Demo,
                                                                  screenshot: Screenshots) -> None:
    page = open_page("desktop")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo.url)
    page.goto(demo.url + "/")
    qr = page.get_by_role("img", name="QR code: scan it with your phone")
    assert qr.get_attribute("src") == qr_png_data_uri(OFFER_LINK)
    assert page.get_by_role("link", name=OFFER_LINK).get_attribute("href") == OFFER_LINK
    page.get_by_role("button", name="Copy link").click()
    page.get_by_text("Copied to the clipboard").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == OFFER_LINK
    screenshot(page, "copied")
    # The wallet answers: the page reloads by itself and shows the answer.
    demo.app.state.answer = "answered"
    page.get_by_text("Answer: answered").wait_for(timeout=10_000)
    assert page.locator("[data-poll-url]").count() == 0


def test_pages_work_without_javascript(open_page: OpenPage, demo: Demo, screenshot: Screenshots) -> None:
    page = open_page("phone", javascript=False)
    page.goto(demo.url + "/")
    assert page.get_by_role("button", name="Copy link").is_hidden()  # enhancement only
    assert page.get_by_role("link", name="Check again").get_attribute("href") == "/"
    page.get_by_label("Learner's name").fill("Daan Jansen")
    page.get_by_role("button", name="Award badge").click()
    assert page.get_by_text("The badge was awarded to Daan Jansen.").is_visible()
    screenshot(page, "no-js")
    page.goto(demo.url + "/scan")
    assert page.get_by_role("button", name="Scan with camera").is_hidden()
    page.get_by_label("Link of the offer").fill(OFFER_LINK)
    page.get_by_role("button", name="Open the offer").click()
    assert demo.app.state.scanned == [OFFER_LINK]


def test_keyboard_skip_link_and_visible_focus(open_page: OpenPage, demo: Demo, screenshot: Screenshots) -> None:
    page = open_page("desktop")
    page.goto(demo.url + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # shown when focused
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    screenshot(page, "skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.get_by_label("Learner's name").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "level"
    assert page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)") >= 2


def test_reduced_motion_stops_the_waiting_animation(open_page: OpenPage, demo: Demo) -> None:
    page = open_page("phone", reduced_motion="reduce")
    page.goto(demo.url + "/")
    assert page.locator(".pulse").evaluate("el => getComputedStyle(el).animationName") == "none"


def test_file_input_preview(open_page: OpenPage, demo: Demo, tmp_path: Path) -> None:
    page = open_page("phone")
    page.goto(demo.url + "/scan")
    picture = tmp_path / "qr.png"
    Image.new("RGB", (40, 40), "navy").save(picture)
    preview = page.get_by_role("img", name="Preview of the chosen image")
    assert preview.count() == 0  # hidden until a file is chosen
    page.locator("input[type=file]").set_input_files(str(picture))
    preview.wait_for()
    assert (preview.get_attribute("src") or "").startswith("data:image/png;base64,")


def _y4m_of_qr(path: Path, text: str) -> Path:
    """A short YUV4MPEG2 clip of a QR code, for Chromium's fake camera (`--use-file-for-fake-video-capture`)."""
    frame = Image.new("RGB", (640, 480), "white")
    code = qrcode_image(text).resize((400, 400), Image.Resampling.NEAREST)
    frame.paste(code, (120, 40))
    y, cb, cr = frame.convert("YCbCr").split()
    chroma = [plane.resize((320, 240)).tobytes() for plane in (cb, cr)]
    with path.open("wb") as clip:
        clip.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            clip.write(b"FRAME\n" + y.tobytes() + chroma[0] + chroma[1])
    return path


def qrcode_image(text: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(qr_png_data_uri(text, box_size=4).split(",", 1)[1]))).convert("RGB")


@pytest.fixture(scope="module")
def camera_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    clip = _y4m_of_qr(tmp_path_factory.mktemp("camera") / "qr.y4m", OFFER_LINK)
    browser = launch_chromium(playwright, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                              f"--use-file-for-fake-video-capture={clip}")
    yield browser
    browser.close()


def test_camera_scan_fills_the_field_and_submits(open_page: OpenPage, camera_browser: Browser, demo: Demo,
                                                 screenshot: Screenshots) -> None:
    page = open_page("phone", browser_=camera_browser, permissions=["camera"])
    page.goto(demo.url + "/scan")
    start = page.get_by_role("button", name="Scan with camera")
    start.wait_for()
    screenshot(page, "scan")
    start.click()
    page.get_by_text(re.compile("^Scanned: ")).wait_for(timeout=15_000)
    assert page.get_by_role("status").filter(has_text="Scanned").inner_text() == f"Scanned: {OFFER_LINK}"
    assert demo.app.state.scanned == [OFFER_LINK]
    screenshot(page, "scanned")


def test_page_check_catches_what_it_should(open_page: OpenPage, demo: Demo) -> None:
    page = open_page("desktop")
    bad = ('<!doctype html><html><head><title>x</title></head><body><main><img src="data:,">'
           '<input id="q"><button></button><p style="color:red" onclick="x()">x</p>'
           '<script>console.error("boom")</script><i id="d"></i><i id="d"></i></main></body></html>')
    page.route(demo.url + "/bad", lambda route: route.fulfill(status=200, content_type="text/html", body=bad))
    page.goto(demo.url + "/bad")
    page.wait_for_timeout(100)
    check = page_check(page)
    found = "\n".join(check.failures())
    for expected in ("<html> has no lang", "form control without a label", "link or button without a name",
                     "image without alt", "inline script", "inline style", "inline event handler", "duplicate id: d",
                     "console error: boom"):
        assert expected in found, expected
    check.problems.clear()
    check.console_errors.clear()

"""servicekit.web: language choice, catalogs, CSRF, cookies, flash messages, error pages, templates, CSS, assets."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from servicekit.web import (
    Catalog,
    CsrfRejected,
    Pages,
    choose_language,
    create_csrf_token,
    message_ids_in_templates,
    qr_png_data_uri,
    verify_csrf_token,
)
from servicekit.web.pages import SHARED_STATIC, SHARED_TEMPLATES
from tests.browser.demo.app import HERE as DEMO
from tests.browser.demo.app import OFFER_LINK, create_demo_app

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SECRET = b"s" * 32


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_demo_app(), follow_redirects=False)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form has no CSRF field"
    return match.group(1)


# -- language ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, None, "en"),
    (None, "nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", "nl"),
    (None, "en;q=0.5, nl;q=0.9", "nl"),
    (None, "de-DE, nl;q=0.3, en;q=0.2", "nl"),
    (None, "fr, de;q=0.8", "en"),
    (None, "nl;q=0, en;q=0.1", "en"),
    (None, "*", "en"),
    (None, "nl;q=banana, en", "en"),
    (None, "nl-BE", "nl"),
    ("nl", "en", "nl"),
    ("en", "nl", "en"),
    ("fr", "nl", "nl"),
    ("<script>", None, "en"),
])
def test_choose_language(cookie: str | None, header: str | None, expected: str) -> None:
    assert choose_language(cookie, header) == expected


def test_choose_language_ignores_absurd_headers() -> None:
    assert choose_language(None, "x" * 10_000 + ",nl") == "en"
    assert choose_language(None, ",".join(["fr"] * 500) + ",nl") == "en"


# -- catalogs ---------------------------------------------------------------------------------------


def test_service_catalog_overrides_shared_messages() -> None:
    catalog = Catalog.load(DEMO / "messages")
    assert catalog.translate("en", "service.name") == "eduwallet demo"
    assert catalog.translate("nl", "layout.skip") == "Direct naar de inhoud"
    assert catalog.translate("nl", "demo.hello", name="Sanne") == "De badge is toegekend aan Sanne."


def test_translate_falls_back_to_english_then_to_the_id(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text(json.dumps({"only.en": "Only in English", "greet": "Hi {name}"}))
    catalog = Catalog.load(tmp_path)
    assert catalog.translate("nl", "only.en") == "Only in English"
    assert catalog.translate("nl", "no.such.message") == "no.such.message"
    # A parameter the text does not name is ignored; a missing one leaves the text as it is.
    assert catalog.translate("en", "greet", name="Daan", extra=1) == "Hi Daan"
    assert catalog.translate("en", "greet") == "Hi {name}"
    assert catalog.translate("en", "greet", other="x") == "Hi {name}"


def test_catalog_problems_are_reported(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text(json.dumps({"a": "A {x}", "b": "B"}))
    (tmp_path / "nl.json").write_text(json.dumps({"a": "A {y}"}))
    problems = Catalog.load(tmp_path).problems(used_ids={"c"})
    assert "b: missing in nl" in problems
    assert "c: missing in en, nl" in problems
    assert any(p.startswith("a: placeholders differ") for p in problems)


def test_catalog_must_be_a_flat_object(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text(json.dumps({"a": {"nested": "no"}}))
    with pytest.raises(TypeError):
        Catalog.load(tmp_path)


def test_shared_and_demo_catalogs_are_complete() -> None:
    used = message_ids_in_templates(SHARED_TEMPLATES) | message_ids_in_templates(DEMO / "templates")
    assert {"layout.skip", "form.optional", "demo.title"} <= used
    assert Catalog.load(DEMO / "messages").problems(used) == []


# -- CSRF tokens ------------------------------------------------------------------------------------


def test_csrf_token_is_bound_to_the_session() -> None:
    token = create_csrf_token(SECRET, "session-a")
    verify_csrf_token(SECRET, "session-a", token)
    assert create_csrf_token(SECRET, "session-a") != token  # fresh nonce each time
    for session, candidate, reason in [
        ("session-b", token, "does not belong"),
        ("session-a", token[:-2] + "AA", "does not belong"),
        ("session-a", None, "no CSRF token"),
        ("session-a", "", "no CSRF token"),
        ("session-a", "no-dot", "no CSRF token"),
        ("session-a", "a.b.c", "no CSRF token"),
        ("session-a", "x" * 300 + "." + "y", "no CSRF token"),
        (None, token, "no page session"),
    ]:
        with pytest.raises(CsrfRejected, match=reason):
            verify_csrf_token(SECRET, session, candidate)
    with pytest.raises(CsrfRejected):
        verify_csrf_token(b"t" * 32, "session-a", token)


def test_pages_refuse_a_short_secret() -> None:
    with pytest.raises(TypeError):
        Pages(service="x", secret=b"short", public_url="http://localhost")


# -- the form round trip over HTTP -------------------------------------------------------------------


def test_page_sets_a_session_cookie_and_is_not_cached(client: TestClient) -> None:
    response = client.get("/", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-language"] == "en"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("demo_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the public URL is http://localhost
    assert '<html lang="en">' in response.text
    # The session stays the same on the next page.
    assert "set-cookie" not in client.get("/", headers=BROWSER).headers


def test_https_public_url_gives_secure_host_prefixed_cookies() -> None:
    client = TestClient(create_demo_app(public_url="https://wallet.example"), base_url="https://wallet.example",
                        follow_redirects=False)
    response = client.get("/", headers=BROWSER)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-demo_session=") and "Secure" in cookie
    posted = client.post("/", data={"name": "Ada", "csrf_token": csrf_from(response.text)})
    assert posted.status_code == 303
    assert "__Host-demo_flash=" in posted.headers["set-cookie"] and "Secure" in posted.headers["set-cookie"]
    assert client.get("/lang/nl").headers["set-cookie"].startswith("lang=nl;")


def test_form_round_trip_with_csrf_and_flash(client: TestClient) -> None:
    token = csrf_from(client.get("/", headers=BROWSER).text)
    response = client.post("/", data={"name": "Sanne de Vries", "level": "master", "csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.app.state.submissions == [{"name": "Sanne de Vries", "level": "master"}]  # type: ignore[attr-defined]
    shown = client.get("/", headers=BROWSER)
    assert 'class="flash flash-success" role="status">The badge was awarded to Sanne de Vries.</p>' in shown.text
    assert 'demo_flash=""' in shown.headers["set-cookie"]  # shown once, then deleted
    assert "flash-success" not in client.get("/", headers=BROWSER).text


def test_form_errors_are_tied_to_their_field(client: TestClient) -> None:
    token = csrf_from(client.get("/", headers=BROWSER).text)
    response = client.post("/", data={"name": "  ", "csrf_token": token})
    assert response.status_code == 400
    html = response.text
    assert 'class="error-summary" role="alert"' in html and '<a href="#name">Enter the learner&#39;s name</a>' in html
    assert 'aria-describedby="name-hint name-error" aria-invalid="true"' in html
    assert '<p class="field-error" id="name-error">' in html


@pytest.mark.parametrize("change", ["missing", "forged", "other-session", "no-cookie", "cross-site"])
def test_state_changing_form_without_a_valid_token_gets_403(client: TestClient, change: str) -> None:
    token = csrf_from(client.get("/", headers=BROWSER).text)
    data = {"name": "Mallory", "csrf_token": token}
    headers = dict(BROWSER)
    if change == "missing":
        del data["csrf_token"]
    elif change == "forged":
        data["csrf_token"] = token.split(".")[0] + "." + base64.urlsafe_b64encode(b"x" * 32).decode().rstrip("=")
    elif change == "other-session":
        other = TestClient(client.app)
        data["csrf_token"] = csrf_from(other.get("/", headers=BROWSER).text)
    elif change == "no-cookie":
        client.cookies.clear()
    else:
        headers["sec-fetch-site"] = "cross-site"
    response = client.post("/", data=data, headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>This form could not be sent</h1>" in response.text
    assert "nothing was changed" in response.text
    assert client.app.state.submissions == []  # type: ignore[attr-defined]


def test_csrf_token_in_a_header_and_in_multipart_forms(client: TestClient) -> None:
    token = csrf_from(client.get("/scan", headers=BROWSER).text)
    assert client.post("/scan", data={"link": "a"}, headers={"x-csrf-token": token}).status_code == 303
    multipart = client.post("/scan", data={"link": "b", "csrf_token": token},
                            files={"picture": ("qr.png", b"\x89PNG", "image/png")})
    assert multipart.status_code == 303
    assert client.post("/scan", files={"picture": ("qr.png", b"\x89PNG", "image/png")},
                       data={"link": "c"}).status_code == 403
    assert client.app.state.scanned == ["a", "b"]  # type: ignore[attr-defined]


def test_new_session_on_login_retires_old_tokens_and_keeps_the_flash(client: TestClient) -> None:
    old_token = csrf_from(client.get("/", headers=BROWSER).text)
    before = client.cookies.get("demo_session")
    assert before
    response = client.post("/login", data={"csrf_token": old_token})
    assert response.status_code == 303
    assert "Max-Age=3600" in response.headers["set-cookie"]
    after = client.cookies.get("demo_session")
    assert after and after != before
    page = client.get("/", headers=BROWSER)
    assert "You are logged in." in page.text  # the flash was bound to the new session
    assert client.post("/", data={"name": "Eve", "csrf_token": old_token}).status_code == 403
    assert client.post("/", data={"name": "Ada", "csrf_token": csrf_from(page.text)}).status_code == 303


def test_tampered_flash_cookie_is_ignored(client: TestClient) -> None:
    client.get("/", headers=BROWSER)
    payload = base64.urlsafe_b64encode(json.dumps([["error", "Your account is locked"]]).encode()).decode().rstrip("=")
    client.cookies.set("demo_flash", f"{payload}.AAAA")
    assert "Your account is locked" not in client.get("/", headers=BROWSER).text


# -- language switch, error pages, static files ------------------------------------------------------


def test_language_switch_sets_the_cookie_and_goes_back(client: TestClient) -> None:
    response = client.get("/lang/nl", params={"next": "/scan?x=1"})
    assert response.status_code == 303 and response.headers["location"] == "/scan?x=1"
    assert response.headers["set-cookie"].startswith("lang=nl;")
    page = client.get("/", headers={**BROWSER, "accept-language": "en"})
    assert '<html lang="nl">' in page.text and "<h1>Een badge toekennen</h1>" in page.text
    assert page.headers["content-language"] == "nl"
    assert 'href="/lang/en?next=/"' in page.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x",
                                    "/ok\r\nSet-Cookie: x=1"])
def test_language_switch_never_redirects_off_site(client: TestClient, target: str) -> None:
    response = client.get("/lang/en", params={"next": target})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_unknown_language_is_a_404_page(client: TestClient) -> None:
    response = client.get("/lang/fr", headers=BROWSER)
    assert response.status_code == 404 and "<h1>Page not found</h1>" in response.text
    assert "set-cookie" not in response.headers or "lang=" not in response.headers["set-cookie"]


def test_browsers_get_error_pages_and_api_clients_json(client: TestClient) -> None:
    page = client.get("/nowhere", headers={**BROWSER, "accept-language": "nl"})
    assert page.status_code == 404 and "<h1>Pagina niet gevonden</h1>" in page.text
    api = client.get("/nowhere", headers={"accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"] == "not_found"


def test_browser_form_posts_get_error_pages_for_bad_input(client: TestClient) -> None:
    token = csrf_from(client.get("/scan", headers=BROWSER).text)
    page = client.post("/scan", data={"csrf_token": token}, headers=BROWSER)  # no `link` field
    assert page.status_code == 400 and "<h1>The form could not be read</h1>" in page.text
    api = client.post("/scan", data={"csrf_token": token})
    assert api.status_code == 400 and api.json()["error"] == "invalid_request"


def test_protocol_errors_in_page_routes_become_pages(client: TestClient) -> None:
    page = client.get("/broken", headers=BROWSER)
    assert page.status_code == 400 and "the offer has expired" in page.text and "<h1>Something went wrong</h1>" in page.text
    api = client.get("/broken")
    assert api.json() == {"error": "invalid_grant", "error_description": "the offer has expired"}


def test_static_files_are_served_with_a_version(client: TestClient) -> None:
    html = client.get("/", headers=BROWSER).text
    match = re.search(r'href="(/static/eduwallet\.css\?v=[0-9a-f]{12})"', html)
    assert match
    css = client.get(match.group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/vendor/jsQR.js").status_code == 200
    assert client.get("/static/../pages.py").status_code == 404
    pages: Pages = client.app.state.pages  # type: ignore[attr-defined]
    for bad in ("nothing.css", "../pages.py"):
        with pytest.raises(FileNotFoundError):
            pages.static_url(bad)


# -- templates: labels, no inline code, and what the macros promise ----------------------------------


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "label" and attributes.get("for"):
            self.label_for.add(str(attributes["for"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append(attributes)
        if tag == "img":
            self.images.append(attributes)
        if tag == "script" and not attributes.get("src") or tag == "style" or "style" in attributes:
            self.inline.append(tag)
        self.inline.extend(f"{tag}[{name}]" for name in attributes if name.startswith("on"))


@pytest.mark.parametrize("path", ["/", "/scan"])
def test_rendered_pages_label_every_control_and_have_no_inline_code(client: TestClient, path: str) -> None:
    token = csrf_from(client.get("/", headers=BROWSER).text)
    html = client.post("/", data={"name": "", "csrf_token": token}).text if path == "/" else client.get(path).text
    parsed = _Controls()
    parsed.feed(html)
    assert parsed.controls, "the page has form controls"
    for control in parsed.controls:
        assert control.get("id") in parsed.label_for, control
        for described in (control.get("aria-describedby") or "").split():
            assert described in parsed.ids, described
    assert all("alt" in image for image in parsed.images)
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    assert parsed.inline == []


def test_shared_templates_and_scripts_have_no_inline_code_or_outside_urls() -> None:
    for path in SHARED_TEMPLATES.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", text), path
    for path in [*SHARED_TEMPLATES.glob("*.html"), *SHARED_STATIC.glob("*.*")]:
        if path.suffix in (".html", ".css", ".js"):
            assert not re.search(r"https?://(?!www\.w3\.org)", path.read_text()), f"outside URL in {path}"


# -- CSS contrast (WCAG 2.1 1.4.3 text 4.5:1; 1.4.11 controls and focus 3:1) -------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_meet_wcag_aa_contrast() -> None:
    css = (SHARED_STATIC / "eduwallet.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6});", css))
    text_pairs = [("ink", "bg"), ("ink", "surface"), ("muted", "bg"), ("muted", "surface"), ("primary", "surface"),
                  ("primary", "bg"), ("primary-dark", "info-bg"), ("on-primary", "primary"),
                  ("on-primary", "primary-dark"), ("on-primary", "error"), ("on-header", "header"),
                  ("header", "on-header"), ("error", "surface"), ("error", "error-bg"), ("success", "success-bg"),
                  ("warning", "warning-bg"), ("info", "info-bg"), ("suspended", "suspended-bg"),
                  ("neutral", "neutral-bg"), ("ink", "info-bg"), ("ink", "success-bg"), ("ink", "warning-bg"),
                  ("ink", "error-bg"), ("ink", "focus"), ("ink", "neutral-bg")]
    for fg, bg in text_pairs:
        assert _contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg, round(_contrast(colours[fg], colours[bg]), 2))
    for fg, bg in [("field-line", "surface"), ("field-line", "bg"), ("ink", "surface"), ("focus", "header"),
                   ("focus", "ink")]:
        assert _contrast(colours[fg], colours[bg]) >= 3, (fg, bg)
    assert "prefers-reduced-motion" in css and ":focus-visible" in css


# -- assets ------------------------------------------------------------------------------------------


def test_vendored_qr_library_matches_its_record() -> None:
    readme = (SHARED_STATIC / "vendor" / "README.md").read_text()
    digest = hashlib.sha256((SHARED_STATIC / "vendor" / "jsQR.js").read_bytes()).hexdigest()
    assert f"`{digest}`" in readme and "| 1.4.0 |" in readme and "Apache-2.0" in readme
    assert (SHARED_STATIC / "vendor" / "jsQR.LICENSE.txt").read_text().lstrip().startswith("Apache License")


def test_qr_image_decodes_to_the_link() -> None:
    uri = qr_png_data_uri(OFFER_LINK)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert [result.text for result in zxingcpp.read_barcodes(image)] == [OFFER_LINK]

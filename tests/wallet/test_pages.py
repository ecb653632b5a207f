"""The learner's pages over the real app and a real SQLite file, with a tiny issuer and verifier on loopback:
page sessions, CSRF on every form, a learner sees only their own data, offers (link, PIN, QR image),
consent (only ticked and requested claims leave), export, backup and restore, deleting.

The same journeys in a real browser, with screenshots, are in tests/browser/test_wallet_pages.py.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import qrcode
from fastapi import FastAPI
from fastapi.testclient import TestClient

from servicekit.web import Catalog, message_ids_in_templates
from tests.servers import free_port
from tests.wallet.tiny_issuer import (
    GIVEN_NAME,
    GIVEN_NAME_LABEL,
    GRADE,
    OB3_ACHIEVEMENT,
    SD_ACHIEVEMENT,
    TinyIssuer,
    running_tiny_issuer,
)
from tests.wallet.tiny_verifier import TinyVerifier, disclosed_claims, running_tiny_verifier
from wallet.app import create_app
from wallet.pages.common import path_text
from wallet.settings import WalletSettings

BROWSER = {"accept": "text/html,application/xhtml+xml"}
PASSWORD = "correct horse battery"
PIN = "493536"
WALLET = Path(__file__).resolve().parents[2] / "wallet"


@pytest.fixture
def app(settings: WalletSettings) -> Iterator[FastAPI]:
    app = create_app(settings)
    yield app
    app.state.services.fetcher.close()


@pytest.fixture
def browser(app: FastAPI) -> Callable[[], TestClient]:
    """A fresh browser (its own cookie jar) on the wallet."""
    return lambda: TestClient(app, follow_redirects=False, headers=BROWSER)


@pytest.fixture
def issuer() -> Iterator[TinyIssuer]:
    with running_tiny_issuer() as issuer:
        yield issuer


@pytest.fixture
def verifier() -> Iterator[TinyVerifier]:
    with running_tiny_verifier() as verifier:
        yield verifier


def csrf(client: httpx.Client, page: str) -> str:
    html = client.get(page).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no form on {page}:\n{html[:1000]}"
    return match.group(1)


def submit(client: httpx.Client, page: str, action: str, data: dict[str, Any] | None = None,
           files: dict[str, Any] | None = None) -> httpx.Response:
    """Fill in the form of `page` and send it to `action`, as the browser would."""
    return client.post(action, data={**(data or {}), "csrf_token": csrf(client, page)}, files=files)


def register(client: httpx.Client, username: str) -> None:
    answer = submit(client, "/register", "/register", {"username": username, "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/credentials", answer.text


def flash(client: TestClient, page: str = "/credentials") -> str:
    match = re.search(r'<p class="flash[^"]*" role="\w+">([^<]*)</p>', client.get(page).text)
    return match.group(1) if match else ""


def accept(client: httpx.Client, link: str) -> httpx.Response:
    opened = submit(client, "/add", "/add", {"link": link})
    assert opened.status_code == 303 and opened.headers["location"].startswith("/offers/"), opened.text
    offer = opened.headers["location"]
    return submit(client, offer, f"{offer}/accept", {"tx_code": PIN})


def credential_ids(client: httpx.Client) -> dict[str, str]:
    """Name -> id of the credentials on the learner's list page."""
    html = client.get("/credentials").text
    return {name: cid for cid, name in re.findall(r'<a href="/credentials/([0-9a-f-]{36})">([^<]+)</a>', html)}


def test_catalogs_are_complete_in_both_languages() -> None:
    catalog = Catalog.load(WALLET / "messages")
    composed = [f"consent.prefix.{p}" for p in ("x509_hash", "x509_san_dns", "decentralized_identifier",
                                                  "redirect_uri")]
    composed += [f"history.outcome.{o}" for o in ("sent", "declined", "failed", "refused")]
    composed += [f"refused.reason.{r}" for r in ("expired", "answered", "refused", "refused_open", "unreachable")]
    composed += [f"refused.next.{n}" for n in ("new_request", "ask", "later")]
    composed += ["refused.title", "refused.title_open", "refused.title_unreachable", "refused.the_verifier"]
    composed += [f"format.{f}" for f in ("jwt_vc_json", "dc+sd-jwt")] + [f"date.month.{m}" for m in range(1, 13)]
    composed += ["credentials.count_one", "credentials.count_many", "offer.pin_length_digits",
                 "offer.pin_length_characters", "consent.asked_one", "consent.asked_choose", "consent.asked_several",
                 "consent.always", "consent.whole", "consent.signed_yes", "consent.signed_no", "value.yes", "value.no",
                 "credential.export_jwt", "credential.export_sd_jwt"]
    python_ids = set()
    for module in (WALLET / "pages").glob("*.py"):
        python_ids.update(re.findall(r'(?:pages\.t\(request, |flash=|pages\.flash\(request, response, |render\('
                                     r'pages, request, "[a-z_]+\.html", )"([a-z_.]+)"', module.read_text()))
    assert len(python_ids) > 20
    used = message_ids_in_templates(WALLET / "templates") | set(composed) | python_ids
    assert catalog.problems(used) == []
    assert all(message_id in catalog.messages["nl"] for message_id in used)


def test_pages_need_a_page_session_and_come_back_after_login(browser: Callable[[], TestClient]) -> None:
    client = browser()
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/credentials").headers["location"] == "/login"
    link = "/offer?credential_offer_uri=" + quote("https://issuer.example.edu/offers/1", safe="")
    to_login = client.get(link)
    assert to_login.status_code == 303 and to_login.headers["location"] == "/login?next=" + quote(link, safe="")
    register(client, "ada.lovelace")
    out = submit(client, "/account", "/logout")
    assert out.headers["location"] == "/login" and flash(client, "/login") == "You are logged out."
    back = submit(client, to_login.headers["location"], "/login",
                  {"username": "ada.lovelace", "password": PASSWORD, "next": "/history"})
    assert back.status_code == 303 and back.headers["location"] == "/history"
    # An API bearer token is no page session, and a page session opens no API.
    api = browser()
    token = api.post("/api/v1/token", json={"username": "ada.lovelace", "password": PASSWORD},
                     headers={"accept": "application/json"}).json()["access_token"]
    assert api.get("/credentials", headers={"Authorization": f"Bearer {token}"}).status_code == 303
    assert client.get("/api/v1/credentials", headers={"accept": "application/json"}).status_code == 401


def test_logging_out_ends_the_session_on_the_server(browser: Callable[[], TestClient]) -> None:
    client = browser()
    register(client, "ada.lovelace")
    session_cookie = client.cookies.get("wallet_session")
    assert client.get("/credentials").status_code == 200
    submit(client, "/account", "/logout")
    thief = browser()
    thief.cookies.set("wallet_session", session_cookie or "")
    assert thief.get("/credentials").headers["location"] == "/login"


def test_register_and_login_say_what_is_wrong(browser: Callable[[], TestClient]) -> None:
    client = browser()
    bad = submit(client, "/register", "/register", {"username": "a", "password": "short"})
    assert bad.status_code == 400
    assert "Choose a username of 3 to 64" in bad.text and "at least 8 characters" in bad.text
    register(client, "ada.lovelace")
    other = browser()
    taken = submit(other, "/register", "/register", {"username": "ada.lovelace", "password": PASSWORD})
    assert taken.status_code == 400 and "This username is taken" in taken.text
    wrong = submit(other, "/login", "/login", {"username": "ada.lovelace", "password": "not the password"})
    assert wrong.status_code == 400 and "The username or password is not right" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert other.get("/credentials").headers["location"] == "/login"
    nl = browser()
    nl.cookies.set("lang", "nl")
    assert "Inloggen" in nl.get("/login").text and 'lang="nl"' in nl.get("/login").text
    assert "Log in with" not in nl.get("/login").text  # no OpenID Connect configured here


def test_every_form_needs_this_sessions_csrf_token(browser: Callable[[], TestClient]) -> None:
    ada, mallory = browser(), browser()
    register(ada, "ada.lovelace")
    register(mallory, "mallory")
    mallorys_token = csrf(mallory, "/account")
    actions = ["/logout", "/add", "/add/qr", "/account/backup", "/account/restore", "/account/delete",
               "/credentials/00000000-0000-0000-0000-000000000000/delete", "/offers/x/accept", "/offers/x/decline",
               "/presentations/x/confirm", "/presentations/x/decline"]
    for action in actions:
        for data in ({}, {"csrf_token": mallorys_token}, {"csrf_token": "forged.token"}):
            refused = ada.post(action, data={**data, "passphrase": "long enough pass", "confirm": "yes"})
            assert refused.status_code == 403, action
            assert "This form could not be sent" in refused.text
    anonymous = browser()
    assert anonymous.post("/login", data={"username": "ada.lovelace", "password": PASSWORD}).status_code == 403
    assert anonymous.post("/register", data={"username": "eve.example", "password": PASSWORD}).status_code == 403
    assert ada.get("/account").status_code == 200  # nothing happened to Ada


def test_offer_link_pin_prompt_and_qr_image(browser: Callable[[], TestClient], issuer: TinyIssuer) -> None:
    client = browser()
    register(client, "ada.lovelace")
    opened = client.get(f"/offer?{urlsplit(issuer.offer('Microcredential_sd_jwt')).query}")
    assert opened.status_code == 303 and re.fullmatch(r"/offers/[0-9a-f-]{36}", opened.headers["location"])
    offer = opened.headers["location"]
    page = client.get(offer).text
    assert "Tiny University" in page and "Microcredential" in page
    assert 'inputmode="numeric"' in page and 'maxlength="6"' in page and 'autocomplete="one-time-code"' in page
    assert "Code sent to your e-mail. It has 6 digits." in page
    wrong = submit(client, offer, f"{offer}/accept", {"tx_code": "000000"})
    assert wrong.status_code == 400 and "This PIN code is not right" in wrong.text
    missing = submit(client, offer, f"{offer}/accept", {"tx_code": ""})
    assert missing.status_code == 400 and "Enter the PIN code" in missing.text
    added = submit(client, offer, f"{offer}/accept", {"tx_code": PIN})
    assert added.status_code == 303 and added.headers["location"].startswith("/credentials/")
    assert flash(client, added.headers["location"]) == f"Added to your wallet: {SD_ACHIEVEMENT}"
    assert client.get(offer).status_code == 404  # answered: gone

    picture = io.BytesIO()
    qrcode.make(issuer.offer("OpenBadgeCredential_jwt")).save(picture, "PNG")
    from_qr = submit(client, "/add", "/add/qr", files={"picture": ("qr.png", picture.getvalue(), "image/png")})
    assert from_qr.status_code == 303 and from_qr.headers["location"].startswith("/offers/")
    declined = submit(client, from_qr.headers["location"], from_qr.headers["location"] + "/decline")
    assert declined.status_code == 303 and flash(client) == "The offer was declined. Nothing was added."
    assert list(credential_ids(client)) == [SD_ACHIEVEMENT]

    not_image = submit(client, "/add", "/add/qr", files={"picture": ("x.png", b"GIF89a nonsense", "image/png")})
    assert not_image.status_code == 400 and "The picture could not be used" in not_image.text
    nonsense = submit(client, "/add", "/add", {"link": "openid-credential-offer://?credential_offer=%7Bnope"})
    assert nonsense.status_code in (400, 422) and "This could not be opened" in nonsense.text
    private = submit(client, "/add", "/add", {"link": "https://169.254.169.254/latest/meta-data"})
    assert private.status_code == 400 and "refusing to contact" in private.text


def test_a_learner_sees_only_their_own_data_through_the_pages(browser: Callable[[], TestClient],
                                                              issuer: TinyIssuer, verifier: TinyVerifier) -> None:
    ada, grace = browser(), browser()
    register(ada, "ada.lovelace")
    register(grace, "grace.hopper")
    assert accept(ada, issuer.offer()).status_code == 303
    ids = credential_ids(ada)
    assert set(ids) == {SD_ACHIEVEMENT, OB3_ACHIEVEMENT}
    pending_offer = submit(ada, "/add", "/add", {"link": issuer.offer()}).headers["location"]
    request_uri, _ = verifier.request({"credentials": [{"id": "micro", "format": "dc+sd-jwt",
                                                        "meta": {"vct_values": [issuer.vct]}}]})
    pending_request = submit(ada, "/add", "/add", {"link": request_uri}).headers["location"]
    assert pending_request.startswith("/presentations/")

    listed = grace.get("/credentials").text
    assert SD_ACHIEVEMENT not in listed and OB3_ACHIEVEMENT not in listed and "Your wallet is empty" in listed
    assert grace.get("/credentials", params={"q": "lichenology"}).text.count("/credentials/") == 0
    for credential_id in ids.values():
        for path in ("", "/image/badge", "/export?as=json", "/export?as=jwt", "/delete"):
            assert grace.get(f"/credentials/{credential_id}{path}").status_code == 404, path
        assert submit(grace, "/account", f"/credentials/{credential_id}/delete").status_code == 404
    assert grace.get(pending_offer).status_code == 404
    assert submit(grace, "/account", f"{pending_offer}/accept", {"tx_code": PIN}).status_code == 404
    assert grace.get(pending_request).status_code == 404
    assert submit(grace, "/account", f"{pending_request}/confirm").status_code == 404
    assert "You have not shared anything yet" in grace.get("/history").text
    # Ada still has everything.
    assert set(credential_ids(ada)) == {SD_ACHIEVEMENT, OB3_ACHIEVEMENT}
    assert ada.get(pending_offer).status_code == 200 and ada.get(pending_request).status_code == 200


def test_consent_sends_only_the_ticked_requested_claims(browser: Callable[[], TestClient], issuer: TinyIssuer,
                                                        verifier: TinyVerifier) -> None:
    client = browser()
    register(client, "ada.lovelace")
    accept(client, issuer.offer("Microcredential_sd_jwt"))
    request_uri, transaction = verifier.request({"credentials": [{
        "id": "micro", "format": "dc+sd-jwt", "meta": {"vct_values": [issuer.vct]},
        "claims": [{"path": ["grade"]}, {"path": ["given_name"]}]}]})
    consent = client.get(f"/present?{urlsplit(request_uri).query}")
    assert consent.status_code == 303
    page = client.get(consent.headers["location"]).text
    assert "Tiny Employer" in page and verifier.client_id in page and GRADE in page and GIVEN_NAME in page
    credential_id = re.search(r'name="credential:micro" value="([0-9a-f-]{36})"', page).group(1)  # type: ignore[union-attr]
    boxes = re.findall(rf'name="claim:{credential_id}"\s+value="([^"]+)" checked', page)
    assert sorted(json.loads(b.replace("&#34;", '"')) for b in boxes) == [["given_name"], ["grade"]]
    token = csrf(client, consent.headers["location"])
    # Only the given name is ticked; a claim the verifier did not ask for is slipped in and ignored.
    sent = client.post(consent.headers["location"] + "/confirm", data={
        "csrf_token": token, "credential:micro": credential_id,
        f"claim:{credential_id}": [json.dumps(["given_name"]), json.dumps(["family_name"])]})
    assert sent.status_code == 200 and "Sent to Tiny Employer." in sent.text
    assert 'href="' + verifier.url + "/done#response_code=" in sent.text
    [presentation] = transaction.vp_token["micro"]  # type: ignore[index]
    assert disclosed_claims(presentation) == {"given_name": GIVEN_NAME}
    history = client.get("/history").text
    assert "Tiny Employer" in history and f"Chosen: {GIVEN_NAME_LABEL}" in history and ">Shared<" in history

    request_uri, transaction = verifier.request({"credentials": [{
        "id": "micro", "format": "dc+sd-jwt", "meta": {"vct_values": [issuer.vct]}, "claims": [{"path": ["grade"]}]}]})
    consent = submit(client, "/add", "/add", {"link": request_uri}).headers["location"]
    bad = submit(client, consent, consent + "/confirm", {"credential:micro": credential_id,
                                                          f"claim:{credential_id}": "not json"})
    assert bad.status_code == 400 and "a ticked claim is not a claim path" in bad.text
    declined = submit(client, consent, consent + "/decline")
    assert declined.headers["location"] == "/history" and transaction.error == "access_denied"
    assert ">Declined<" in client.get("/history").text


def test_export_backup_restore_and_deleting(browser: Callable[[], TestClient], issuer: TinyIssuer) -> None:
    ada, grace = browser(), browser()
    register(ada, "ada.lovelace")
    register(grace, "grace.hopper")
    accept(ada, issuer.offer())
    ids = credential_ids(ada)
    badge, micro = ids[OB3_ACHIEVEMENT], ids[SD_ACHIEVEMENT]
    image = ada.get(f"/credentials/{badge}/image/badge")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert ada.get(f"/credentials/{badge}/image/nonsense").headers["location"].startswith("/static/badge.svg")
    as_json = ada.get(f"/credentials/{badge}/export?as=json")
    assert as_json.status_code == 200 and json.loads(as_json.content)["name"] == OB3_ACHIEVEMENT
    assert "attachment" in as_json.headers["content-disposition"]
    baked = ada.get(f"/credentials/{badge}/export?as=png")
    assert baked.headers["content-type"] == "image/png" and b"openbadgecredential" in baked.content
    assert ada.get(f"/credentials/{micro}/export?as=jwt").content.count(b"~") >= 2
    not_baked = ada.get(f"/credentials/{micro}/export?as=png")
    assert not_baked.status_code == 400 and "only Open Badges" in not_baked.text

    short = submit(ada, "/account", "/account/backup", {"passphrase": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.text
    backup = submit(ada, "/account", "/account/backup", {"passphrase": "a long backup passphrase"})
    assert backup.status_code == 200 and "attachment" in backup.headers["content-disposition"]
    assert json.loads(backup.content)["format"] == "eduwallet-backup"
    assert OB3_ACHIEVEMENT.encode() not in backup.content
    files = {"backup_file": ("backup.json", backup.content, "application/json")}
    wrong = submit(grace, "/account", "/account/restore", {"restore_passphrase": "not the passphrase"}, files)
    assert wrong.status_code == 400 and "does not open the backup" in wrong.text
    junk = submit(grace, "/account", "/account/restore", {"restore_passphrase": "a long backup passphrase"},
                  {"backup_file": ("backup.json", b"[1, 2", "application/json")})
    assert junk.status_code == 400 and "not a backup file" in junk.text
    restored = submit(grace, "/account", "/account/restore", {"restore_passphrase": "a long backup passphrase"},
                      files)
    assert restored.status_code == 303 and flash(grace) == "2 credential(s) restored."
    assert set(credential_ids(grace)) == {SD_ACHIEVEMENT, OB3_ACHIEVEMENT}

    assert f"Delete “{OB3_ACHIEVEMENT}” from your wallet?" in ada.get(f"/credentials/{badge}/delete").text
    deleted = submit(ada, f"/credentials/{badge}/delete", f"/credentials/{badge}/delete")
    assert deleted.headers["location"] == "/credentials" and flash(ada) == f"“{OB3_ACHIEVEMENT}” was deleted."
    assert ada.get(f"/credentials/{badge}").status_code == 404 and list(credential_ids(ada)) == [SD_ACHIEVEMENT]

    unconfirmed = submit(ada, "/account/delete", "/account/delete")
    assert unconfirmed.status_code == 400 and "Tick the box to confirm" in unconfirmed.text
    gone = submit(ada, "/account/delete", "/account/delete", {"confirm": "yes"})
    assert gone.headers["location"] == "/login"
    assert flash(ada, "/login") == "Your wallet and everything in it were deleted."
    assert ada.get("/credentials").headers["location"] == "/login"
    again = submit(ada, "/login", "/login", {"username": "ada.lovelace", "password": PASSWORD})
    assert again.status_code == 400
    assert set(credential_ids(grace)) == {SD_ACHIEVEMENT, OB3_ACHIEVEMENT}  # Grace's restored copies stay


def test_cards_and_detail_show_the_live_status(browser: Callable[[], TestClient], issuer: TinyIssuer) -> None:
    client = browser()
    register(client, "ada.lovelace")
    accept(client, issuer.offer("Microcredential_sd_jwt"))
    [credential_id] = credential_ids(client).values()
    assert "Status:</span> Valid" in client.get("/credentials").text
    time.sleep(1.1)  # the issuer's status list says `ttl: 1`: the wallet may keep it that long
    issuer.set_status(0, 1)
    assert "Status:</span> Revoked" in client.get("/credentials").text
    time.sleep(1.1)
    issuer.set_status(0, 2)
    assert client.get(f"/credentials/{credential_id}").text.count("Status:</span> Suspended") == 2  # head and facts


def consent_lines(html: str) -> dict[str, str]:
    """Exact claim path (as the consent page prints it) -> the label the learner reads next to it."""
    lines = re.findall(r'<span class="claim-name">([^<]*)</span> <span class="claim-value">[^<]*</span> '
                       r'<code class="claim-path" title="([^"]*)">([^<]*)</code>', html)
    assert lines, html[:2000]
    for _, title, text in lines:  # the title holds the path as sent, the text the same path compactly
        assert text == path_text(json.loads(title.replace("&#34;", '"'))), (title, text)
    return {text: label for label, _, text in lines}


def test_consent_names_claims_in_words_and_still_shows_each_path(browser: Callable[[], TestClient],
                                                                 issuer: TinyIssuer, verifier: TinyVerifier) -> None:
    client = browser()
    register(client, "ada.lovelace")
    accept(client, issuer.offer())
    # SD-JWT VC: the type metadata's label in the learner's language, else the last part of the path in words.
    request_uri, _ = verifier.request({"credentials": [{
        "id": "micro", "format": "dc+sd-jwt", "meta": {"vct_values": [issuer.vct]},
        "claims": [{"path": ["given_name"]}, {"path": ["grade"]}, {"path": ["achievement", "ects"]}]}]})
    consent = submit(client, "/add", "/add", {"link": request_uri}).headers["location"]
    lines = consent_lines(client.get(consent).text)
    assert lines["given_name"] == GIVEN_NAME_LABEL and lines["grade"] == "Grade"
    assert lines["achievement.ects"] == "ECTS" and lines["achievement.name"] == "Name"
    assert lines["iat"] == "Issued at" and "status.status_list.idx" in lines
    client.cookies.set("lang", "nl")
    lines = consent_lines(client.get(consent).text)
    assert lines["given_name"] == "Roepnaam" and lines["grade"] == "Cijfer" and lines["achievement.ects"] == "EC"
    client.cookies.set("lang", "en")

    # Open Badge: the wallet's own table of OB3 fields; what it does not know, the last part in words.
    request_uri, _ = verifier.request({"credentials": [{
        "id": "badge", "format": "jwt_vc_json",
        "meta": {"type_values": [["https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"]]},
        "claims": [{"path": ["credentialSubject", "achievement", "name"]}]}]})
    consent = submit(client, "/add", "/add", {"link": request_uri}).headers["location"]
    page = client.get(consent).text
    lines = consent_lines(page)
    assert lines["credentialSubject.achievement.name"] == "Achievement"
    assert lines["credentialSubject.achievement.description"] == "Description of the achievement"
    assert lines["credentialSubject.achievement.criteria.narrative"] == "Criteria"
    assert lines["credentialSubject.achievement.creditsAvailable"] == "Credits (ECTS)"
    assert lines["credentialSubject.achievement.alignment[0].targetName"] == "Aligned to"
    assert lines["issuer.name"] == "Issued by" and lines["validUntil"] == "Valid until"
    assert lines["credentialSubject.achievement.alignment[0].type[0]"] == "Type #1"  # not in the table
    assert "credentialSubject.achievement.name</code>" in page and "Learner › Achievement › Name" not in page
    client.cookies.set("lang", "nl")
    lines = consent_lines(client.get(consent).text)
    assert lines["credentialSubject.achievement.name"] == "Prestatie" and lines["issuer.name"] == "Uitgegeven door"


def test_a_verifier_that_says_no_is_shown_in_words_and_never_as_shared(
        browser: Callable[[], TestClient], issuer: TinyIssuer, verifier: TinyVerifier) -> None:
    client = browser()
    register(client, "ada.lovelace")
    accept(client, issuer.offer("Microcredential_sd_jwt"))
    query = {"credentials": [{"id": "micro", "format": "dc+sd-jwt", "meta": {"vct_values": [issuer.vct]},
                              "claims": [{"path": ["grade"]}]}]}

    def share(**request: Any) -> tuple[httpx.Response, Any]:
        request_uri, transaction = verifier.request(query, **request)
        consent = submit(client, "/add", "/add", {"link": request_uri}).headers["location"]
        return submit(client, consent, consent + "/confirm"), transaction

    verifier.refusal = (400, {"error": "invalid_request",
                              "error_description": "presentation rejected: trusted_issuer"})
    refused, transaction = share()
    assert refused.status_code == 200 and len(transaction.posted) == 1  # sent, and answered with a no
    text = refused.text
    assert "<h1 id=\"refused-heading\">Not accepted by Tiny Employer</h1>" in text
    assert "What you shared was not accepted by Tiny Employer." in text and "What Tiny Employer said:" in text
    assert '<blockquote class="verifier-words"><p>presentation rejected: trusted_issuer</p></blockquote>' in text
    assert "lists this as not accepted, not as shared" in text and "ask Tiny Employer what they need" in text
    assert 'href="/add"' in text and 'href="/credentials"' in text and 'href="/history"' in text
    words = text.split('<main id="main"', 1)[1].split("</main>", 1)[0]  # what the page says, not its links' ids
    for technical in ("502", "party_error", "verifier_refused", "HTTP 400", "invalid_request"):
        assert not re.search(rf"\b{technical}\b", words), technical

    verifier.refusal = (400, {"error": "invalid_request", "error_description": "the presentation request has expired"})
    expired, _ = share()
    assert "The request has expired" in expired.text and "Ask Tiny Employer for a new QR code or link" in expired.text
    assert "What Tiny Employer said:" in expired.text  # its own words are there too, apart
    verifier.refusal = (400, {"error": "invalid_request",
                              "error_description": "the presentation request has already been answered"})
    client.cookies.set("lang", "nl")
    answered, _ = share()
    assert "Niet geaccepteerd door Tiny Employer" in answered.text and "Het verzoek is al beantwoord" in answered.text
    client.cookies.set("lang", "en")
    verifier.refusal = None
    nobody = f"http://localhost:{free_port()}/response"  # nothing listens there
    unreachable, transaction = share(response_uri=nobody)
    assert unreachable.status_code == 502 and transaction.posted == []
    assert "No answer from Tiny Employer" in unreachable.text and "got no answer from Tiny Employer" in unreachable.text
    assert "not as shared" not in unreachable.text

    history = client.get("/history").text
    assert history.count(">Not accepted<") == 3 and history.count(">Not delivered<") == 1
    assert ">Shared<" not in history
    assert "What you shared was not accepted by Tiny Employer." in history and "The request has expired" in history

    # The API answers the same refusals as protocol errors: 502, a precise code, and why.
    token = client.post("/api/v1/token", json={"username": "ada.lovelace", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}", "accept": "application/json"}
    verifier.refusal = (400, {"error": "invalid_request", "error_description": "the presentation request has expired"})
    for response_uri, code, why in ((None, "verifier_refused", "the request has expired"),
                                    (nobody, "verifier_unreachable", "could not be reached")):
        request_uri, _ = verifier.request(query, response_uri=response_uri)
        pending = client.post("/api/v1/presentations", json={"request": request_uri}, headers=bearer).json()["id"]
        answer = client.post(f"/api/v1/presentations/{pending}/confirm", json={}, headers=bearer)
        assert answer.status_code == 502 and answer.json()["error"] == code, answer.text
        assert why in answer.json()["error_description"]
    outcomes = [r["outcome"] for r in client.get("/api/v1/presentations", headers=bearer).json()["data"]]
    assert outcomes == ["failed", "refused", "failed", "refused", "refused", "refused"] and "sent" not in outcomes


def test_the_list_pages_through_many_credentials_and_keeps_the_search(browser: Callable[[], TestClient],
                                                                        issuer: TinyIssuer,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wallet.pages.credentials.PAGE_SIZE", 2)
    client = browser()
    register(client, "ada.lovelace")
    for _ in range(5):
        accept(client, issuer.offer("Microcredential_sd_jwt"))

    def page(url: str) -> tuple[list[str], dict[str, str]]:
        html = client.get(url).text
        cards = re.findall(r'<a href="/credentials/([0-9a-f-]{36})">', html)
        pager = re.search(r'<nav class="pager"[^>]*>(.*?)</nav>', html, re.S)
        links = dict((rel, href.replace("&amp;", "&")) for href, rel in
                     re.findall(r'<a href="([^"]+)" rel="(prev|next)">', pager.group(1))) if pager else {}
        return cards, links

    seen = []
    url: str | None = "/credentials"
    while url:
        cards, links = page(url)
        seen += cards
        assert "5 credentials" in client.get(url).text
        url = links.get("next")
    assert len(seen) == 5 == len(set(seen))  # every credential once, over three pages
    assert page("/credentials?page=3") == (seen[4:], {"prev": "/credentials?page=2"})
    assert page("/credentials?page=2")[1] == {"prev": "/credentials", "next": "/credentials?page=3"}
    assert page("/credentials?page=9") == ([], {"prev": "/credentials?page=3"})  # past the end: a way back
    searched, links = page("/credentials?q=cryptography")
    assert len(searched) == 2 and links == {"next": "/credentials?q=cryptography&page=2"}  # the search stays
    assert client.get("/credentials?page=0").status_code == 400  # a bad request, never a 500
    assert page("/credentials?q=no-such-thing") == ([], {})

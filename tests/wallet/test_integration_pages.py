"""The learner's pages over real HTTP with our own issuer and verifier (three uvicorn services, their databases):
the cards name the institution that awarded each badge, the consent page names claims in words, and a
verifier that says no is shown as "not accepted", in words, and never as shared."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.issuer.live import MICROCREDENTIAL
from tests.reliability.cluster import admin_client
from tests.servers import RunningService, running_service
from tests.wallet.test_pages import BROWSER, PASSWORD, register, submit

pytestmark = pytest.mark.integration

#: Two institutions on one issuer service (whose own metadata name is "eduwallet").
INSTITUTIONS = ("Hogeschool Rivierstad", "Universiteit Zeestad")
BOTH = ["EduCredential", "EduCredentialSdJwt"]


@dataclass
class Parties:
    issuer: RunningService
    wallet: RunningService
    verifier: RunningService
    #: The issuer's admin API.
    admin: httpx.Client
    #: Institution name -> (its DID, the name of its badge class).
    awarded: dict[str, tuple[str, str]]
    badge_ids: list[int]
    #: Institution name -> the `iss` of its SD-JWT VCs.
    sd_jwt_issuers: dict[str, str]


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parties]:
    folder = tmp_path_factory.mktemp("learner-pages")
    with running_service("issuer", folder) as issuer, running_service("wallet", folder) as wallet, \
            running_service("verifier", folder) as verifier, admin_client(issuer) as admin:
        awarded, badge_ids, sd_jwt_issuers = {}, [], {}
        for number, name in enumerate(INSTITUTIONS, start=1):
            institution = admin.post("/admin/institutions", json={"name": name, "country": "NL"})
            assert institution.status_code == 201, institution.text
            badge_name = f"Open Science Practice {number}"
            badge = admin.post("/admin/badge-classes", json={"institution_id": institution.json()["id"],
                                                             "name": badge_name, **MICROCREDENTIAL})
            assert badge.status_code == 201, badge.text
            awarded[name] = (institution.json()["did"], badge_name)
            badge_ids.append(badge.json()["id"])
            sd_jwt_issuers[name] = institution.json()["sd_jwt_vc_issuer"]
        yield Parties(issuer, wallet, verifier, admin, awarded, badge_ids, sd_jwt_issuers)


@dataclass
class Learner:
    username: str
    #: The learner's browser on the wallet (its own cookie jar).
    browser: httpx.Client


@pytest.fixture
def learner(parties: Parties) -> Iterator[Learner]:
    """A new learner holding both institutions' badges, each in both formats (four credentials)."""
    with httpx.Client(base_url=parties.wallet.url, headers=BROWSER, follow_redirects=False, timeout=60) as client:
        username = f"noor-{secrets.token_hex(4)}"
        register(client, username)
        for badge_id in parties.badge_ids:
            award = parties.admin.post(f"/admin/badge-classes/{badge_id}/awards", json={
                "name": "Noor Bakker", "email": "noor@student.example.nl", "result": "8",
                "credential_configuration_ids": BOTH})
            assert award.status_code == 201, award.text
            opened = submit(client, "/add", "/add", {"link": award.json()["offer_uri"]})
            assert opened.status_code == 303 and opened.headers["location"].startswith("/offers/"), opened.text
            added = submit(client, opened.headers["location"], opened.headers["location"] + "/accept")
            assert added.status_code == 303, added.text
        yield Learner(username, client)


def ask(parties: Parties, **body: Any) -> str:
    """A presentation request made on our verifier; the wallet link to open it (`/present?...`)."""
    key_file = parties.verifier.var_dir / "verifier-api.key"  # the admin API key the verifier made on its start
    headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"} if key_file.exists() else {}
    with httpx.Client(base_url=parties.verifier.url, timeout=30, headers=headers) as http:
        created = http.post("/api/presentation-requests", json=body)
    assert created.status_code == 201, created.text
    return f"/present?{urlsplit(created.json()['request_uri']).query}"


def open_request(client: httpx.Client, link: str) -> str:
    opened = client.get(link)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/presentations/"), opened.text
    return str(opened.headers["location"])


def labels(page: str) -> dict[str, str]:
    """Exact claim path -> its label, as the consent page shows them."""
    found = re.findall(r'<span class="claim-name">([^<]*)</span> <span class="claim-value">[^<]*</span> '
                       r'<code class="claim-path" title="[^"]*">([^<]*)</code>', page)
    return {path: html.unescape(label) for label, path in found}


def test_cards_name_the_institution_that_awarded_each_badge(parties: Parties, learner: Learner) -> None:
    page = learner.browser.get("/credentials").text
    cards = re.findall(r'<h2 class="card-title"><a href="/credentials/([0-9a-f-]{36})">([^<]+)</a></h2>\s*'
                       r'<p class="card-subtitle">([^<]+)</p>', page)
    assert len(cards) == 4, page
    for institution, (_, badge) in parties.awarded.items():
        assert sorted(sub for _, name, sub in cards if name == badge) == [institution, institution], cards
    assert "eduwallet" not in {sub for _, _, sub in cards}  # the issuing service's metadata name
    for credential_id, name, institution in cards:
        detail = learner.browser.get(f"/credentials/{credential_id}").text
        assert f"Issued by {institution}" in detail, (name, institution)
    json_please = {"accept": "application/json"}
    token = learner.browser.post("/api/v1/token", json={"username": learner.username, "password": PASSWORD},
                                 headers=json_please).json()
    api = learner.browser.get("/api/v1/credentials", headers={
        **json_please, "Authorization": f"Bearer {token['access_token']}"}).json()
    assert sorted(c["issuer"]["name"] for c in api["data"]) == sorted(INSTITUTIONS * 2)


def test_consent_labels_come_from_type_metadata_and_the_ob3_table(parties: Parties, learner: Learner) -> None:
    browser = learner.browser
    link = ask(parties, preset="sd-jwt", vct_values=[f"{parties.issuer.url}/vct/edu-credential"],
               claims=["email", "achievement.name"])
    consent = open_request(browser, link)
    shown = labels(browser.get(consent).text)
    # The issuer's type metadata: "E-mail", "Achievement", "Issued by"; the fallbacks would say
    # "Email", "Name" and "Issuing institution".
    assert shown["email"] == "E-mail" and shown["achievement.name"] == "Achievement"
    assert shown["issuing_institution.name"] == "Issued by › Name"
    browser.cookies.set("lang", "nl")
    shown = labels(browser.get(consent).text)
    assert shown["achievement.name"] == "Prestatie" and shown["issuing_institution.name"] == "Uitgegeven door › Naam"
    browser.cookies.set("lang", "en")
    assert submit(browser, consent, consent + "/confirm").status_code == 200
    # The history names what was shared with the same labels as the consent page did.
    chosen = re.findall(r"<p>Chosen: ([^<]*)</p>", browser.get("/history").text)
    assert chosen == ["E-mail"], chosen  # the fallback would say "Email"; the achievement is always shared

    institution = INSTITUTIONS[0]
    did, badge = parties.awarded[institution]
    consent = open_request(browser, ask(parties, preset="ob3", achievement=badge, trusted_issuers=[did]))
    shown = labels(browser.get(consent).text)
    assert shown["credentialSubject.achievement.name"] == "Achievement"
    assert shown["credentialSubject.achievement.criteria.narrative"] == "Criteria"
    assert shown["credentialSubject.result[0].value"] == "Result"
    assert shown["issuer.name"] == "Issued by" and shown["credentialSubject.achievement.creditsAvailable"] == (
        "Credits (ECTS)")
    assert submit(browser, consent, consent + "/decline").status_code == 303


def test_an_sd_jwt_verifier_trusts_one_institution_not_every_one_on_the_issuer(parties: Parties,
                                                                              learner: Learner) -> None:
    """Each institution signs its SD-JWT VCs under an `iss` of its own, so trusting one is not trusting all."""
    institution, other = INSTITUTIONS
    vct = f"{parties.issuer.url}/vct/badge-classes/{parties.badge_ids[0]}"  # the first institution's badge
    for trusted, accepted in ((parties.sd_jwt_issuers[other], False), (parties.sd_jwt_issuers[institution], True)):
        consent = open_request(learner.browser, ask(parties, preset="sd-jwt", vct_values=[vct],
                                                    claims=["achievement.name"], trusted_issuers=[trusted]))
        answer = submit(learner.browser, consent, consent + "/confirm")
        assert answer.status_code == 200, answer.text
        if accepted:
            assert "Sent to localhost." in answer.text, answer.text
        else:
            assert "Not accepted by localhost" in answer.text and "trusted_issuer" in answer.text, answer.text


def test_a_verifier_that_says_no_is_not_accepted_in_words_and_never_shared(parties: Parties,
                                                                          learner: Learner) -> None:
    browser = learner.browser
    institution, other = INSTITUTIONS
    did, badge = parties.awarded[institution]
    # The verifier trusts only the other institution: it refuses the presentation.
    untrusting = open_request(browser, ask(parties, preset="ob3", achievement=badge,
                                           trusted_issuers=[parties.awarded[other][0]]))
    refused = submit(browser, untrusting, untrusting + "/confirm")
    assert refused.status_code == 200, refused.text
    assert '<h1 id="refused-heading">Not accepted by localhost</h1>' in refused.text
    assert "What you shared was not accepted by localhost." in refused.text
    words = re.search(r'<blockquote class="verifier-words"><p>([^<]+)</p></blockquote>', refused.text)
    assert words and "presentation rejected" in words.group(1) and "trusted_issuer" in words.group(1)
    assert "Error code" not in refused.text and "party_error" not in refused.text

    # Two tabs on one request: the first answer is verified, the second comes too late.
    link = ask(parties, preset="ob3", achievement=badge, trusted_issuers=[did])
    first, second = open_request(browser, link), open_request(browser, link)
    shared = submit(browser, first, first + "/confirm")
    assert shared.status_code == 200 and "Sent to localhost." in shared.text, shared.text
    late = submit(browser, second, second + "/confirm")
    assert late.status_code == 200 and "The request was already answered" in late.text, late.text
    assert "Ask localhost for a new QR code or link" in late.text
    # Opening the answered request again: the verifier will not hand it out.
    again = browser.get(link)
    assert again.status_code == 200 and "This request can no longer be answered" in again.text, again.text
    assert "The request was already answered" in again.text

    history = browser.get("/history").text
    assert history.count(">Shared<") == 1 and history.count(">Not accepted<") == 2, history
    browser.cookies.set("lang", "nl")
    again = browser.get(link)
    assert "Dit verzoek kan niet meer worden beantwoord" in again.text and "al beantwoord" in again.text
    browser.cookies.set("lang", "en")


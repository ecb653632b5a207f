"""How a credential is shown (`wallet.rendering`): whose name stands on the card, and the claims' own labels."""

from __future__ import annotations

from typing import Any

import pytest

from vc.sd_jwt_vc import parse_type_metadata
from wallet.rendering import card, claim_display, claim_labels, summarize

#: The issuing *service's* metadata name, the same for every institution it issues for.
SERVICE = [{"name": "eduwallet", "locale": "en"}, {"name": "eduwallet NL", "locale": "nl"}]


def _summary(claims: dict[str, Any], format: str = "dc+sd-jwt", **extra: Any) -> dict[str, Any]:
    return summarize(format=format, claims=claims, types=["https://issuer.example.nl/vct/x"],
                     issuer="https://issuer.example.nl", valid_from=None, valid_until=None,
                     credential_issuer="https://issuer.example.nl", configuration_id="X", issuer_display=SERVICE,
                     **extra)


@pytest.mark.parametrize(("format", "claims", "institution"), [
    ("jwt_vc_json", {"issuer": {"id": "did:web:a", "name": "Hogeschool Rivierstad"}}, "Hogeschool Rivierstad"),
    ("dc+sd-jwt", {"issuing_institution": {"id": "did:web:b", "name": "Universiteit Zeestad"}}, "Universiteit Zeestad"),
    ("dc+sd-jwt", {"issuing_authority": "Hogeschool Rivierstad", "issuing_country": "NL"}, "Hogeschool Rivierstad"),
    ("dc+sd-jwt", {"issuer_name": "Universiteit Zeestad"}, "Universiteit Zeestad"),
    ("dc+sd-jwt", {"issuer_name": {"en": "Sea City University", "nl": "Universiteit Zeestad"}},
     "Sea City University"),
])
def test_the_card_names_the_institution_in_the_credential(format: str, claims: dict[str, Any],
                                                          institution: str) -> None:
    assert card(_summary(claims, format), locale="en", status="valid")["issuer"]["name"] == institution


def test_without_an_institution_in_the_credential_the_service_name_stays() -> None:
    summary = _summary({"given_name": "Noor", "issuing_institution": {"id": "did:web:c"}})
    assert card(summary, locale="en", status="valid")["issuer"]["name"] == "eduwallet"
    assert card(summary, locale="nl", status="valid")["issuer"]["name"] == "eduwallet NL"


def test_claim_labels_from_type_metadata_then_the_issuers_claims_descriptions() -> None:
    type_metadata = parse_type_metadata({"vct": "https://issuer.example.nl/vct/x", "claims": [
        {"path": ["email"], "display": [{"locale": "en", "label": "E-mail"}, {"locale": "nl", "label": "E-mailadres"}]},
        {"path": ["learning_outcomes", None], "display": [{"locale": "en", "label": "Outcome"}]},
        {"path": ["grade"]}]})
    configuration = [{"path": ["family_name"], "display": [{"name": "Achternaam", "locale": "nl"}]},
                     {"path": ["email"], "display": [{"name": "Mail", "locale": "en"}]}]
    summary = _summary({}, claim_display=claim_display(type_metadata.claims, configuration))
    assert claim_labels(summary, "nl") == [
        {"path": ["email"], "label": "E-mailadres", "in_language": True},
        {"path": ["learning_outcomes", None], "label": "Outcome", "in_language": False},
        {"path": ["family_name"], "label": "Achternaam", "in_language": True},
        {"path": ["email"], "label": "Mail", "in_language": False}]
    assert claim_labels(_summary({}), "en") == []  # stored before labels were kept: none

"""OB 3.0 Pydantic models (schemas.ob3): lossless round trips of the 1EdTech and educredentials examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.ob3 import (
    Achievement,
    AchievementSubject,
    Alignment,
    Criteria,
    IdentityObject,
    Image,
    OpenBadgeCredential,
    Profile,
    Result,
    ResultDescription,
)
from vc.baking import extract_credential
from vc.jws import decode_jws
from vc.ob3 import validate_open_badge_credential
from vc.vc_jwt import decode_vc_jwt

ONE_EDTECH_JSON = ["simple.json", "complete.json", "simple-err-expired.json", "bit-string-list/credential-status-revoked.json"]
ONE_EDTECH_BAKED = ["simple-json.png", "simple-json.svg", "simple-jwt.png", "simple-jwt.svg"]
EDUCREDENTIALS = [
    "theed_microcredential_full_ho.json",
    "theed_microcredential_minimal_ho.json",
    "theed_regular_full_ho.json",
    "theed_extracurricular_full_ho.json",
    "mbob_zw_td_microcredential_full.json",
]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def assert_lossless(document: dict[str, Any]) -> OpenBadgeCredential:
    model = OpenBadgeCredential.model_validate(document)
    dumped = model.model_dump(by_alias=True, exclude_none=True)
    assert dumped == document
    assert json.dumps(dumped, sort_keys=True) == json.dumps(document, sort_keys=True)  # 3 stays 3, 3.0 stays 3.0
    assert model.to_json() == document
    assert isinstance(model.credentialSubject, AchievementSubject)
    assert isinstance(model.credentialSubject.achievement, Achievement)
    assert isinstance(model.credentialSubject.achievement.criteria, Criteria)
    return model


@pytest.mark.parametrize("name", ONE_EDTECH_JSON)
def test_1edtech_json_examples_round_trip(ob3_spec_dir: Path, name: str) -> None:
    assert_lossless(load(ob3_spec_dir / "examples" / "1edtech" / name))


@pytest.mark.parametrize("name", ONE_EDTECH_BAKED)
def test_1edtech_baked_examples_round_trip(ob3_spec_dir: Path, name: str) -> None:
    baked = extract_credential((ob3_spec_dir / "examples" / "1edtech" / name).read_bytes())
    document = decode_jws(baked).claims() if isinstance(baked, str) else baked
    assert_lossless(document)  # JWT payloads keep iss/jti/nbf/iat/aud as extra properties
    if isinstance(baked, str):
        assert_lossless(decode_vc_jwt(baked).credential)


@pytest.mark.parametrize("name", EDUCREDENTIALS)
def test_educredentials_examples_round_trip(ob3_spec_dir: Path, name: str) -> None:
    document = load(ob3_spec_dir / "examples" / "educredentials" / name)
    model = assert_lossless(document)
    achievement = model.credentialSubject.achievement
    # educredentials extension terms are kept as extra properties, not dropped
    assert achievement.model_extra is not None
    assert {"ECTS", "SBU", "assessmentType"} & achievement.model_extra.keys()


def test_complete_example_is_parsed_into_the_models(ob3_spec_dir: Path) -> None:
    model = OpenBadgeCredential.model_validate(load(ob3_spec_dir / "examples" / "1edtech" / "complete.json"))
    subject = model.credentialSubject
    achievement = subject.achievement
    assert isinstance(model.issuer, Profile)
    assert achievement.alignment and all(isinstance(a, Alignment) for a in achievement.alignment)
    assert achievement.resultDescription and all(isinstance(r, ResultDescription) for r in achievement.resultDescription)
    assert subject.result and all(isinstance(r, Result) for r in subject.result)
    assert subject.identifier and all(isinstance(i, IdentityObject) for i in subject.identifier)
    assert isinstance(achievement.image, Image)
    assert model.evidence


@pytest.mark.parametrize(
    ("name", "field"),
    [("simple-err-issuer.json", "issuer"), ("simple-err-type.json", "type"), ("simple-err-context.json", "@context")],
)
def test_1edtech_negative_examples_are_refused(ob3_spec_dir: Path, name: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        OpenBadgeCredential.model_validate(load(ob3_spec_dir / "examples" / "1edtech" / name))
    assert any(error["loc"][0] == field for error in info.value.errors())


def test_a_credential_built_in_code_passes_the_schema() -> None:
    credential = OpenBadgeCredential(
        id="urn:uuid:5a1c0d4e-8f2b-4c1e-9a6d-0b7e3f2a9c11",
        name="Web Security Essentials",
        issuer=Profile(id="did:web:issuer.example.edu", name="Example University"),
        validFrom="2026-09-01T10:00:00Z",
        credentialSubject=AchievementSubject(
            id="did:example:holder",
            achievement=Achievement(
                id="https://issuer.example.edu/achievements/web-sec-101",
                name="Web Security Essentials",
                description="Secure design and testing of web APIs (3 ECTS).",
                criteria=Criteria(narrative="Passed the final assessment with at least 60%."),
                ECTS=3,
            ),
            result=[Result(value="8")],
        ),
    )
    wire = credential.to_json()
    validate_open_badge_credential(wire)
    assert wire["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert wire["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert wire["credentialSubject"]["achievement"]["ECTS"] == 3
    assert wire["credentialSubject"]["result"] == [{"type": ["Result"], "value": "8"}]
    assert OpenBadgeCredential.model_validate(wire).to_json() == wire


def test_wrong_field_types_are_refused() -> None:
    with pytest.raises(ValidationError):
        Achievement.model_validate({"id": "x", "name": 3, "description": "d", "criteria": {}})
    with pytest.raises(ValidationError):  # strict: "true" is not coerced to True, "3" not to 3
        IdentityObject.model_validate({"hashed": "true", "identityHash": "h", "identityType": "emailAddress"})
    with pytest.raises(ValidationError):
        AchievementSubject.model_validate({"achievement": {"id": "x", "name": "n", "description": "d", "criteria": {}},
                                           "creditsEarned": "3"})


def test_type_without_verifiable_credential_is_refused(ob3_spec_dir: Path) -> None:
    document = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    document["type"] = ["OpenBadgeCredential"]
    with pytest.raises(ValidationError, match="VerifiableCredential"):
        OpenBadgeCredential.model_validate(document)

"""OB 3.0 JSON Schema validation (vc.ob3) against the 1EdTech and educredentials examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from vc.errors import SchemaInvalid
from vc.ob3 import (
    EDUCREDENTIALS_SCHEMAS_URL,
    OB3_SCHEMA_URL,
    CredentialSchemas,
    open_badge_credential_errors,
    validate_open_badge_credential,
)

VALID_1EDTECH = ["simple.json", "complete.json", "simple-err-expired.json"]
EDUCREDENTIALS = [
    "theed_microcredential_full_ho.json",
    "theed_microcredential_minimal_ho.json",
    "theed_regular_full_ho.json",
    "theed_extracurricular_full_ho.json",
    "mbob_zw_td_microcredential_full.json",
]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def educredential_schemas(ob3_spec_dir: Path) -> CredentialSchemas:
    return CredentialSchemas.from_directory(ob3_spec_dir / "examples" / "educredentials" / "schemas")


@pytest.mark.parametrize("name", VALID_1EDTECH)
def test_1edtech_valid_examples_pass(ob3_spec_dir: Path, name: str) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / name)
    assert open_badge_credential_errors(credential) == []
    validate_open_badge_credential(credential)


@pytest.mark.parametrize("name", EDUCREDENTIALS)
def test_educredentials_examples_pass(ob3_spec_dir: Path, name: str) -> None:
    validate_open_badge_credential(load(ob3_spec_dir / "examples" / "educredentials" / name))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("simple-err-type.json", "$.type:"),
        ("simple-err-issuer.json", "$: 'issuer' is a required property"),
        ("simple-err-context.json", "$['@context'][0]:"),
    ],
)
def test_1edtech_negative_examples_fail_with_a_readable_reason(ob3_spec_dir: Path, name: str, expected: str) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / name)
    assert any(line.startswith(expected) for line in open_badge_credential_errors(credential))
    with pytest.raises(SchemaInvalid, match="OpenBadgeCredential is not valid") as info:
        validate_open_badge_credential(credential)
    assert expected in str(info.value)


def test_message_lists_only_the_first_errors(ob3_spec_dir: Path) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    for name in ("id", "type", "issuer", "validFrom", "credentialSubject", "@context"):
        del credential[name]
    errors = open_badge_credential_errors(credential)
    assert len(errors) == 6
    with pytest.raises(SchemaInvalid, match=r"\(and 1 more\)"):
        validate_open_badge_credential(credential)


@pytest.mark.parametrize("value", ["2024-13-01T00:00:00Z", "2024-01-01", "2024-01-01T00:00:00", "yesterday"])
def test_date_time_format_is_checked(ob3_spec_dir: Path, value: str) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    credential["validFrom"] = value
    assert any("validFrom" in line and "date-time" in line for line in open_badge_credential_errors(credential))


@pytest.mark.parametrize("value", ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123+02:00", "2016-12-31T23:59:60Z"])
def test_rfc3339_date_times_pass(ob3_spec_dir: Path, value: str) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    credential["validFrom"] = value
    assert open_badge_credential_errors(credential) == []


def test_not_an_object_is_refused() -> None:
    with pytest.raises(SchemaInvalid):
        validate_open_badge_credential(["not", "a", "credential"])


# --- educredentials profile schemas, mapped from their raw.githubusercontent URLs to a folder --------


def test_profile_schemas_are_registered_under_their_published_urls(educredential_schemas: CredentialSchemas) -> None:
    assert OB3_SCHEMA_URL in educredential_schemas
    for name in ("microcredential", "microcredential_ects", "microcredential_sbu", "regular", "extracurricular"):
        assert f"{EDUCREDENTIALS_SCHEMAS_URL}{name}.json" in educredential_schemas


@pytest.mark.parametrize("name", EDUCREDENTIALS)
def test_educredentials_examples_pass_every_credential_schema_they_name(
    ob3_spec_dir: Path, educredential_schemas: CredentialSchemas, name: str
) -> None:
    credential = load(ob3_spec_dir / "examples" / "educredentials" / name)
    checked = educredential_schemas.validate_credential_schemas(credential)
    assert checked == [entry["id"] for entry in credential["credentialSchema"]]
    assert OB3_SCHEMA_URL in checked and len(checked) >= 2


def test_microcredential_without_required_profile_field_fails(
    ob3_spec_dir: Path, educredential_schemas: CredentialSchemas
) -> None:
    credential = load(ob3_spec_dir / "examples" / "educredentials" / "theed_microcredential_full_ho.json")
    del credential["credentialSubject"]["achievement"]["assessmentType"]
    url = f"{EDUCREDENTIALS_SCHEMAS_URL}microcredential.json"
    assert any("assessmentType" in e for e in educredential_schemas.errors(credential, url))
    with pytest.raises(SchemaInvalid, match="assessmentType"):
        educredential_schemas.validate_credential_schemas(credential)


@pytest.mark.parametrize(("ects", "ok"), [(3, True), (30, True), (4.5, True), (2.5, False), (31, False), (3.25, False)])
def test_microcredential_ects_bounds(
    ob3_spec_dir: Path, educredential_schemas: CredentialSchemas, ects: float, ok: bool
) -> None:
    credential = load(ob3_spec_dir / "examples" / "educredentials" / "theed_microcredential_full_ho.json")
    credential["credentialSubject"]["achievement"]["ECTS"] = ects
    url = f"{EDUCREDENTIALS_SCHEMAS_URL}microcredential_ects.json"
    assert (educredential_schemas.errors(credential, url) == []) is ok


def test_named_profiles_can_be_checked_for_a_badge_class(
    ob3_spec_dir: Path, educredential_schemas: CredentialSchemas
) -> None:
    credential = load(ob3_spec_dir / "examples" / "educredentials" / "theed_microcredential_full_ho.json")
    profiles = [f"{EDUCREDENTIALS_SCHEMAS_URL}microcredential.json", f"{EDUCREDENTIALS_SCHEMAS_URL}microcredential_ects.json"]
    educredential_schemas.validate(credential, profiles)
    without_ects = copy.deepcopy(credential)
    del without_ects["credentialSubject"]["achievement"]["ECTS"]
    with pytest.raises(SchemaInvalid, match="ECTS"):
        educredential_schemas.validate(without_ects, profiles)


def test_unknown_credential_schema_is_refused_unless_allowed(
    ob3_spec_dir: Path, educredential_schemas: CredentialSchemas
) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    credential["credentialSchema"] = [
        {"id": OB3_SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"},
        {"id": "https://schemas.example.org/unknown.json", "type": "1EdTechJsonSchemaValidator2019"},
    ]
    with pytest.raises(SchemaInvalid, match="unknown credential schema"):
        educredential_schemas.validate_credential_schemas(credential)
    assert educredential_schemas.validate_credential_schemas(credential, allow_unknown=True) == [OB3_SCHEMA_URL]


def test_a_ref_between_profile_schemas_resolves_locally(tmp_path: Path, ob3_spec_dir: Path) -> None:
    (tmp_path / "base.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2019-09/schema#",
        "type": "object", "required": ["validUntil"],
    }))
    (tmp_path / "profile.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2019-09/schema#",
        "allOf": [{"$ref": f"{EDUCREDENTIALS_SCHEMAS_URL}base.json"}, {"$ref": OB3_SCHEMA_URL}],
    }))
    schemas = CredentialSchemas.from_directory(tmp_path)
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    with pytest.raises(SchemaInvalid, match="validUntil"):
        schemas.validate(credential, f"{EDUCREDENTIALS_SCHEMAS_URL}profile.json")
    credential["validUntil"] = "2030-01-01T00:00:00Z"
    schemas.validate(credential, f"{EDUCREDENTIALS_SCHEMAS_URL}profile.json")
    del credential["issuer"]  # the $ref to the 1EdTech schema is followed too
    with pytest.raises(SchemaInvalid, match="issuer"):
        schemas.validate(credential, f"{EDUCREDENTIALS_SCHEMAS_URL}profile.json")


def test_bad_schema_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaInvalid, match="no schema directory"):
        CredentialSchemas.from_directory(tmp_path / "missing")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(SchemaInvalid, match="not JSON"):
        CredentialSchemas.from_directory(tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"type": 12}))
    with pytest.raises(SchemaInvalid, match="not a valid JSON Schema"):
        CredentialSchemas.from_directory(tmp_path)


@pytest.mark.parametrize(("value", "ok"), [("1990-02-28", True), ("1990-02-30", False), ("28-02-1990", False)])
def test_date_format_is_checked(ob3_spec_dir: Path, value: str, ok: bool) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    credential["credentialSubject"]["source"] = {"id": "https://example.org/p", "type": ["Profile"], "dateOfBirth": value}
    assert (open_badge_credential_errors(credential) == []) is ok


def test_credential_schema_entries(ob3_spec_dir: Path, educredential_schemas: CredentialSchemas) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    credential["credentialSchema"] = {"id": "https://example.org/shacl", "type": "ShaclValidator"}
    assert educredential_schemas.validate_credential_schemas(credential) == []  # not a JSON Schema entry
    credential["credentialSchema"] = [credential["credentialSchema"], {"id": OB3_SCHEMA_URL,
                                                                       "type": "1EdTechJsonSchemaValidator2019"}]
    assert educredential_schemas.validate_credential_schemas(credential) == [OB3_SCHEMA_URL]
    for bad in ("https://example.org/schema.json", [{"type": "1EdTechJsonSchemaValidator2019"}]):
        credential["credentialSchema"] = bad
        with pytest.raises(SchemaInvalid, match="credentialSchema"):
            educredential_schemas.validate_credential_schemas(credential)


def test_schema_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(SchemaInvalid, match="not a JSON object"):
        CredentialSchemas({"https://example.org/s.json": ["not", "a", "schema"]})  # type: ignore[dict-item]

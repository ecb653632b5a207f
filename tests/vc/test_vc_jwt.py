"""VC-JWT (VC-JOSE-COSE / VCDM 1.1 JWT encoding) and the OB 3.0 JWT proof format (vc.vc_jwt)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS
from vc.baking import extract_png, extract_svg
from vc.did_jwk import create_did_jwk
from vc.encoding import b64url_decode, b64url_encode, json_bytes
from vc.errors import (
    AlgorithmNotAllowed,
    ClaimInvalid,
    HeaderInvalid,
    KeyResolutionError,
    MalformedToken,
    SchemaInvalid,
    SignatureInvalid,
    TokenExpired,
    TokenNotYetValid,
)
from vc.jws import decode_jws, sign_jws
from vc.key_resolution import VerificationKeyResolver
from vc.keys import SoftwareSigner
from vc.vc_jwt import (
    VCDM_1_1,
    VCDM_1_1_CONTEXT,
    VCDM_2_0,
    VCDM_2_0_CONTEXT,
    decode_vc_jwt,
    encode_ob3_jwt,
    sign_vc_jwt,
    verify_ob3_jwt,
    verify_vc_jwt,
)

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ONE_EDTECH_ISSUER = "https://1edtech.edu/issuers/565049"
ONE_EDTECH_SUBJECT = "did:example:ebfeb1f712ebc6f1c276e12ec21"
resolve_did = VerificationKeyResolver(cache=None)


def header_jwk(_issuer: str | None, header: dict[str, Any]) -> dict[str, Any]:
    """The key in the JOSE header, as the 1EdTech validator uses it for its baked examples."""
    return dict(header["jwk"])


def did_signer(alg: str = "ES256") -> SoftwareSigner:
    signer = SoftwareSigner.generate(alg)
    did = create_did_jwk(signer.public_jwk)
    return signer.with_kid(f"{did}#0")


def issuer_of(signer: SoftwareSigner) -> str:
    assert signer.kid is not None
    return signer.kid.split("#")[0]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def ob3_credential(signer: SoftwareSigner, ob3_spec_dir: Path, **changes: Any) -> dict[str, Any]:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / "simple.json")
    del credential["proof"]
    credential["issuer"]["id"] = issuer_of(signer)
    credential["validFrom"] = "2026-09-01T10:00:00Z"
    credential.update(changes)
    return credential


def raw_token(payload: dict[str, Any], signer: SoftwareSigner, typ: str | None = "JWT") -> str:
    return sign_jws(payload, signer, typ=typ)


# --- the 1EdTech examples ----------------------------------------------------------------------------


def test_1edtech_simple_jwt_is_a_consistent_vcdm_1_1_credential(ob3_spec_dir: Path) -> None:
    """`simple.jwt` (legacy `vc` claim, RS256) carries neither `kid` nor `jwk`, and no public key for it
    exists in 1EdTech/digital-credentials-public-validator (its ExternalProofProbe demands one of
    them): it decodes, its layout and first context agree, but no key can be found for it."""
    token = (ob3_spec_dir / "examples" / "1edtech" / "simple.jwt").read_text().strip()
    vc_jwt = decode_vc_jwt(token)
    assert vc_jwt.header == {"alg": "RS256", "typ": "JWT"}
    assert vc_jwt.vcdm == VCDM_1_1
    assert vc_jwt.credential["@context"][0] == VCDM_1_1_CONTEXT
    assert vc_jwt.issuer == "https://example.edu/issuers/565049" == vc_jwt.claims["iss"]
    assert vc_jwt.subject == "did:example:ebfeb1f712ebc6f1c276e12ec21"
    assert vc_jwt.credential["id"] == vc_jwt.claims["jti"]
    assert vc_jwt.valid_from == datetime(2010, 1, 1, tzinfo=UTC)  # nbf 1262304000 = issuanceDate
    assert vc_jwt.valid_until is None
    with pytest.raises(KeyResolutionError):
        verify_vc_jwt(token, resolve_key=resolve_did, now=NOW)


@pytest.mark.parametrize("image", ["simple-jwt.png", "simple-jwt.svg"])
def test_1edtech_baked_vcdm_2_0_jwts_verify(ob3_spec_dir: Path, image: str) -> None:
    data = (ob3_spec_dir / "examples" / "1edtech" / image).read_bytes()
    token = extract_png(data) if image.endswith(".png") else extract_svg(data)
    vc_jwt = verify_ob3_jwt(token, resolve_key=header_jwk, now=NOW)
    assert vc_jwt.vcdm == VCDM_2_0
    assert vc_jwt.header["alg"] == "RS256" and "typ" not in vc_jwt.header
    assert vc_jwt.issuer == ONE_EDTECH_ISSUER
    assert vc_jwt.subject == ONE_EDTECH_SUBJECT
    assert vc_jwt.valid_from == datetime(2010, 1, 1, tzinfo=UTC)
    assert vc_jwt.credential["credentialSubject"]["achievement"]["name"] == "Teamwork"
    assert not {"iss", "jti", "nbf", "iat", "aud"} & vc_jwt.credential.keys()


def test_1edtech_baked_vcdm_1_1_jwt_verifies() -> None:
    token = extract_svg((VECTORS / "ob3" / "simple-jwt_v1.svg").read_bytes())
    vc_jwt = verify_ob3_jwt(token, resolve_key=header_jwk, now=NOW)
    assert vc_jwt.vcdm == VCDM_1_1
    assert vc_jwt.issuer == "https://example.edu/issuers/565049"
    assert vc_jwt.subject == ONE_EDTECH_SUBJECT
    assert vc_jwt.credential["issuanceDate"] == "2010-01-01T00:00:00Z"


def test_1edtech_baked_jwt_tampered_fails(ob3_spec_dir: Path) -> None:
    token = extract_svg((ob3_spec_dir / "examples" / "1edtech" / "simple-jwt.svg").read_bytes())
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["credentialSubject"]["achievement"]["name"] = "Leadership"
    with pytest.raises(SignatureInvalid):
        verify_ob3_jwt(f"{header}.{b64url_encode(json_bytes(claims))}.{signature}", resolve_key=header_jwk, now=NOW)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(SignatureInvalid):
        verify_ob3_jwt(f"{header}.{payload}.{flipped}", resolve_key=header_jwk, now=NOW)


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("simple-err-type.json", ClaimInvalid, "not an Open Badges credential"),
        ("simple-err-issuer.json", ClaimInvalid, "no issuer"),
        ("simple-err-context.json", ClaimInvalid, "must start its @context"),
        ("simple-err-expired.json", TokenExpired, "expired"),
    ],
)
def test_1edtech_negative_examples_are_refused_as_jwts(
    ob3_spec_dir: Path, name: str, error: type[Exception], reason: str
) -> None:
    credential = load(ob3_spec_dir / "examples" / "1edtech" / name)
    del credential["proof"]
    signer = SoftwareSigner.generate("RS256")
    token = raw_token(credential, signer)
    with pytest.raises(error, match=reason):
        verify_ob3_jwt(token, resolve_key=lambda _i, _h: signer.public_jwk, now=NOW)


# --- layout and first @context must agree -------------------------------------------------------------


@pytest.fixture
def signer() -> SoftwareSigner:
    return did_signer()


def v11_payload(signer: SoftwareSigner, context: str = VCDM_1_1_CONTEXT) -> dict[str, Any]:
    return {
        "iss": issuer_of(signer), "nbf": int(NOW.timestamp()) - 60, "jti": "urn:uuid:1", "sub": "did:example:holder",
        "vc": {
            "@context": [context, OB3_CONTEXT], "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "credentialSubject": {"type": ["AchievementSubject"]},
        },
    }


def test_v2_context_inside_a_vc_claim_is_refused(signer: SoftwareSigner) -> None:
    token = raw_token(v11_payload(signer, context=VCDM_2_0_CONTEXT), signer)
    with pytest.raises(ClaimInvalid, match="VCDM 1.1 layout"):
        verify_vc_jwt(token, resolve_key=resolve_did, now=NOW)


def test_v1_context_as_a_bare_payload_is_refused(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    credential = ob3_credential(signer, ob3_spec_dir)
    credential["@context"] = [VCDM_1_1_CONTEXT, OB3_CONTEXT]
    with pytest.raises(ClaimInvalid, match="VCDM 2.0 layout"):
        verify_vc_jwt(raw_token(credential, signer), resolve_key=resolve_did, now=NOW)


def test_payload_with_both_layouts_is_refused(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    payload = {**ob3_credential(signer, ob3_spec_dir), "vc": v11_payload(signer)["vc"]}
    with pytest.raises(ClaimInvalid, match="both"):
        verify_vc_jwt(raw_token(payload, signer), resolve_key=resolve_did, now=NOW)


def test_vc_jwt_typ_with_a_vc_claim_is_refused(signer: SoftwareSigner) -> None:
    with pytest.raises(HeaderInvalid, match="vc\\+jwt"):
        decode_vc_jwt(raw_token(v11_payload(signer), signer, typ="vc+jwt"))


@pytest.mark.parametrize(
    ("payload", "error"),
    [({"iss": "did:example:x", "name": "no credential"}, MalformedToken),
     ({"vp": {"@context": [VCDM_1_1_CONTEXT]}}, MalformedToken),
     ({"vc": "a string"}, MalformedToken),
     ({"vc": {"@context": [VCDM_1_1_CONTEXT], "type": ["OpenBadgeCredential"], "issuer": "did:example:x"}}, ClaimInvalid)],
)
def test_not_a_credential_is_refused(signer: SoftwareSigner, payload: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_vc_jwt(raw_token(payload, signer))


def test_vcdm_1_1_claims_fill_the_credential(signer: SoftwareSigner) -> None:
    payload = v11_payload(signer)
    payload["exp"] = payload["nbf"] + 3600
    vc_jwt = verify_vc_jwt(raw_token(payload, signer), resolve_key=resolve_did, now=NOW)
    assert vc_jwt.vcdm == VCDM_1_1
    assert vc_jwt.credential["issuer"] == issuer_of(signer)
    assert vc_jwt.credential["id"] == "urn:uuid:1"
    assert vc_jwt.credential["credentialSubject"]["id"] == "did:example:holder" == vc_jwt.subject
    assert vc_jwt.valid_from == NOW - timedelta(seconds=60)
    assert vc_jwt.credential["expirationDate"] == (NOW + timedelta(seconds=3540)).isoformat().replace("+00:00", "Z")
    with pytest.raises(TokenExpired):
        verify_vc_jwt(raw_token(payload, signer), resolve_key=resolve_did, now=NOW + timedelta(hours=2))


# --- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_ob3_round_trip(alg: str, ob3_spec_dir: Path) -> None:
    signer = did_signer(alg)
    credential = ob3_credential(signer, ob3_spec_dir, validUntil="2030-09-01T10:00:00Z")
    token = encode_ob3_jwt(credential, signer)
    header, claims = decode_jws(token).header, decode_jws(token).claims()
    assert header == {"alg": alg, "typ": "JWT", "kid": signer.kid}
    assert claims == {
        **credential, "iss": issuer_of(signer), "jti": credential["id"], "sub": credential["credentialSubject"]["id"],
        "nbf": int(datetime(2026, 9, 1, 10, tzinfo=UTC).timestamp()),
        "exp": int(datetime(2030, 9, 1, 10, tzinfo=UTC).timestamp()),
    }
    vc_jwt = verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW)
    assert vc_jwt.credential == credential
    assert vc_jwt.issuer == issuer_of(signer) and vc_jwt.vcdm == VCDM_2_0
    assert vc_jwt.valid_until == datetime(2030, 9, 1, 10, tzinfo=UTC)


def test_signer_without_kid_puts_its_jwk_in_the_header(ob3_spec_dir: Path) -> None:
    signer = SoftwareSigner.generate("RS256")
    credential = ob3_credential(signer.with_kid("did:example:unused#0"), ob3_spec_dir)
    token = encode_ob3_jwt(credential, signer)
    assert decode_jws(token).header == {"alg": "RS256", "typ": "JWT", "jwk": signer.public_jwk}
    assert verify_ob3_jwt(token, resolve_key=header_jwk, now=NOW).credential == credential


@pytest.mark.parametrize("typ", ["JWT", "vc+jwt", "application/vc+jwt", None])
def test_accepted_typ_values(signer: SoftwareSigner, ob3_spec_dir: Path, typ: str | None) -> None:
    credential = ob3_credential(signer, ob3_spec_dir)
    verify_ob3_jwt(raw_token(credential, signer, typ=typ), resolve_key=resolve_did, now=NOW)


def test_other_typ_is_refused(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    with pytest.raises(HeaderInvalid):
        verify_vc_jwt(raw_token(ob3_credential(signer, ob3_spec_dir), signer, typ="dc+sd-jwt"),
                      resolve_key=resolve_did, now=NOW)


# --- validity period -------------------------------------------------------------------------------


def test_expired_credential_is_refused(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    token = encode_ob3_jwt(ob3_credential(signer, ob3_spec_dir, validUntil="2026-09-01T11:00:00Z"), signer)
    with pytest.raises(TokenExpired):
        verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW)
    verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW - timedelta(minutes=61))


def test_not_yet_valid_credential_is_refused_outside_the_skew(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    token = encode_ob3_jwt(ob3_credential(signer, ob3_spec_dir, validFrom="2026-09-01T12:00:30Z"), signer)
    verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW)  # 30 s early, within the default 60 s skew
    with pytest.raises(TokenNotYetValid):
        verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW, skew=timedelta(0))
    with pytest.raises(TokenNotYetValid):
        verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW - timedelta(hours=1))


# --- keys, algorithms and claims ------------------------------------------------------------------


def test_wrong_key_fails(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    token = encode_ob3_jwt(ob3_credential(signer, ob3_spec_dir), signer)
    other = SoftwareSigner.generate("ES256")
    with pytest.raises(SignatureInvalid):
        verify_ob3_jwt(token, resolve_key=lambda _i, _h: other.public_jwk, now=NOW)


def test_algorithm_outside_the_allowlist_is_refused(ob3_spec_dir: Path) -> None:
    signer = did_signer("RS256")
    token = encode_ob3_jwt(ob3_credential(signer, ob3_spec_dir), signer)
    with pytest.raises(AlgorithmNotAllowed):
        verify_ob3_jwt(token, resolve_key=resolve_did, algorithms=["ES256"], now=NOW)


def test_kid_of_another_did_is_refused(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    attacker = did_signer()
    credential = ob3_credential(signer, ob3_spec_dir)  # names the victim as issuer
    with pytest.raises(KeyResolutionError, match="does not belong to the issuer"):
        verify_ob3_jwt(raw_token(credential, attacker), resolve_key=lambda _i, _h: attacker.public_jwk, now=NOW)


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("iss", "did:example:someone-else", "iss does not match"),
        ("jti", "urn:uuid:other", "jti does not match"),
        ("sub", "did:example:other-holder", "sub does not match"),
        ("nbf", 1_000_000_000, "nbf does not match validFrom"),
        ("exp", 1_000_000_000, "exp does not match validUntil"),
        ("nbf", "yesterday", "NumericDate"),
    ],
)
def test_claims_must_agree_with_the_credential(
    signer: SoftwareSigner, ob3_spec_dir: Path, claim: str, value: Any, reason: str
) -> None:
    credential = ob3_credential(signer, ob3_spec_dir, validUntil="2030-01-01T00:00:00Z")
    payload = decode_jws(encode_ob3_jwt(credential, signer)).claims()
    payload[claim] = value
    with pytest.raises(ClaimInvalid, match=reason):
        verify_ob3_jwt(raw_token(payload, signer), resolve_key=resolve_did, now=NOW)


def test_schema_invalid_ob3_payload_is_refused_after_a_good_signature(
    signer: SoftwareSigner, ob3_spec_dir: Path
) -> None:
    credential = ob3_credential(signer, ob3_spec_dir)
    del credential["credentialSubject"]["achievement"]["criteria"]
    token = sign_vc_jwt(credential, signer)
    verify_vc_jwt(token, resolve_key=resolve_did, now=NOW)  # a fine VC-JWT ...
    with pytest.raises(SchemaInvalid, match="criteria"):  # ... but not a valid Open Badge
        verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW)


# --- signing ---------------------------------------------------------------------------------------


def test_encode_refuses_what_the_schema_refuses(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    credential = ob3_credential(signer, ob3_spec_dir)
    del credential["validFrom"]
    with pytest.raises(SchemaInvalid, match="validFrom"):
        encode_ob3_jwt(credential, signer)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"@context": [VCDM_1_1_CONTEXT]}, "first @context"),
        ({"iss": "did:example:other"}, "conflicting iss"),
        ({"vc": {}}, "must not hold vc"),
        ({"issuer": {"name": "no id"}}, "no issuer"),
        ({"validFrom": "1st of September"}, "not a date-time"),
    ],
)
def test_sign_vc_jwt_refuses_bad_credentials(
    signer: SoftwareSigner, ob3_spec_dir: Path, change: dict[str, Any], reason: str
) -> None:
    credential = {**ob3_credential(signer, ob3_spec_dir), **change}
    with pytest.raises(ClaimInvalid, match=reason):
        sign_vc_jwt(credential, signer)


def test_bitstring_status_list_credential_as_jwt(signer: SoftwareSigner) -> None:
    """PROTOCOLS §4.2 composed example: a VCDM 2.0 status list credential, same layout."""
    status_list = {
        "@context": [VCDM_2_0_CONTEXT],
        "id": "https://issuer.example.edu/status/bsl/revocation/3",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_of(signer),
        "validFrom": "2026-09-01T00:00:00Z",
        "credentialSubject": {
            "id": "https://issuer.example.edu/status/bsl/revocation/3#list", "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
        },
    }
    token = sign_vc_jwt(copy.deepcopy(status_list), signer)
    claims = decode_jws(token).claims()
    assert (claims["iss"], claims["jti"], claims["sub"]) == (
        issuer_of(signer), status_list["id"], status_list["credentialSubject"]["id"])
    assert "exp" not in claims
    vc_jwt = verify_vc_jwt(token, resolve_key=resolve_did, now=NOW)
    assert vc_jwt.credential == status_list
    with pytest.raises(ClaimInvalid, match="not an Open Badges credential"):
        verify_ob3_jwt(token, resolve_key=resolve_did, now=NOW)


def test_bad_dates_are_refused(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    for changes, reason in (({"validFrom": 5}, "date-time string"), ({"validUntil": "soon"}, "not a date-time")):
        with pytest.raises(ClaimInvalid, match=reason):
            decode_vc_jwt(raw_token(ob3_credential(signer, ob3_spec_dir, **changes), signer))
    payload = decode_jws(encode_ob3_jwt(ob3_credential(signer, ob3_spec_dir), signer)).claims()
    with pytest.raises(ClaimInvalid, match="out of range"):
        decode_vc_jwt(raw_token({**payload, "exp": 1e20}, signer))


def test_date_without_offset_is_read_as_utc(signer: SoftwareSigner) -> None:
    payload = v11_payload(signer)
    del payload["nbf"]
    payload["vc"]["issuanceDate"] = "2026-09-01T10:00:00"
    assert decode_vc_jwt(raw_token(payload, signer)).valid_from == datetime(2026, 9, 1, 10, tzinfo=UTC)


def test_resolver_must_return_a_jwk(signer: SoftwareSigner, ob3_spec_dir: Path) -> None:
    token = encode_ob3_jwt(ob3_credential(signer, ob3_spec_dir), signer)
    with pytest.raises(KeyResolutionError, match="no JWK"):
        verify_vc_jwt(token, resolve_key=lambda _i, _h: None, now=NOW)  # type: ignore[arg-type,return-value]


def test_sign_vc_jwt_refuses_a_non_object(signer: SoftwareSigner) -> None:
    with pytest.raises(ClaimInvalid, match="JSON object"):
        sign_vc_jwt(["not", "a", "credential"], signer)  # type: ignore[arg-type]

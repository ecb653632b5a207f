"""vc.sd_jwt against RFC 9901's own examples, round trips, and one negative test per §7 check."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS
from vc.encoding import b64url_decode, b64url_encode, json_bytes
from vc.errors import (
    AlgorithmNotAllowed,
    ClaimInvalid,
    HeaderInvalid,
    KeyBindingError,
    MalformedToken,
    SignatureInvalid,
    TokenExpired,
    TokenNotYetValid,
)
from vc.jws import sign_jws
from vc.keys import SoftwareSigner
from vc.sd_jwt import (
    ARRAY_ELEMENT,
    KB_JWT_TYP,
    SD,
    SD_ALG,
    SEPARATOR,
    ClaimNameCollision,
    ClaimNotFound,
    DuplicateDigest,
    KeyBindingAudienceMismatch,
    KeyBindingHeaderInvalid,
    KeyBindingMissing,
    KeyBindingNonceMismatch,
    KeyBindingSignatureInvalid,
    KeyBindingStale,
    KeyBindingUnexpected,
    MalformedDisclosure,
    MisplacedDisclosure,
    ReservedClaimName,
    SdHashMismatch,
    SdJwt,
    UnreferencedDisclosure,
    UnsupportedHashAlgorithm,
    create_disclosure,
    create_key_binding_jwt,
    decode_disclosure,
    digest,
    issue_sd_jwt,
    parse_sd_jwt,
    present_sd_jwt,
    select_claim_paths,
    unsafe_randomness,
    verify_sd_jwt,
)

SPEC = VECTORS / "sd_jwt"
SPEC_KEY = json.loads((SPEC / "issuer_key.json").read_text())["jwk"]
SPEC_TYP = "example+sd-jwt"
SPEC_CASES = sorted(p for p in SPEC.iterdir() if (p / "expected.json").is_file())
TYP = "example+sd-jwt"
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
AUD = "decentralized_identifier:did:web:verifier.example.com"
NONCE = "rB3x9kQmV0d2oL7sYt1pZw"


def _disclosure_vectors() -> list[dict[str, Any]]:
    rows = json.loads((SPEC / "disclosure_examples.json").read_text())
    rows += json.loads((SPEC / "main_example_issuance" / "disclosures.json").read_text())
    rows += json.loads((SPEC / "protocols_3_1.json").read_text())["disclosures"]
    return rows


# -- the specs' own examples -----------------------------------------------------------------------

@pytest.mark.parametrize("row", _disclosure_vectors(), ids=lambda r: r.get("claim", r["disclosure"][:12]))
def test_spec_disclosure_decodes_and_hashes_as_published(row: dict[str, Any]) -> None:
    disclosure = decode_disclosure(row["disclosure"])
    assert [disclosure.salt, *([disclosure.name] if disclosure.name else []), disclosure.value] == row["contents"]
    if "digest" in row:
        assert digest(row["disclosure"]) == row["digest"]


def test_protocols_3_1_table_disclosures_are_what_create_disclosure_makes() -> None:
    table = json.loads((SPEC / "protocols_3_1.json").read_text())["disclosures"]
    for row in table:
        salt, *rest = row["contents"]
        name, value = (None, rest[0]) if len(rest) == 1 else rest
        made = create_disclosure(salt, name, value)
        assert made.encoded == row["disclosure"]
        assert digest(made.encoded) == row["digest"]


def test_spec_main_example_payload_holds_the_digests_of_its_disclosures() -> None:
    """RFC 9901 §5.1: every object Disclosure's digest is in `_sd`, array ones replace elements."""
    parsed = parse_sd_jwt((SPEC / "main_example_issuance" / "sd_jwt.txt").read_text().strip())
    payload = json.loads(b64url_decode(parsed.issuer_jwt.split(".")[1]))
    rows = json.loads((SPEC / "main_example_issuance" / "disclosures.json").read_text())
    assert sorted(payload[SD]) == sorted(r["digest"] for r in rows if len(r["contents"]) == 3)
    assert [e[ARRAY_ELEMENT] for e in payload["nationalities"]] == [r["digest"] for r in rows if len(r["contents"]) == 2]
    assert parsed.disclosures == tuple(r["disclosure"] for r in rows)


@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda p: p.name)
def test_spec_sd_jwt_verifies_to_the_published_processed_payload(case: Path) -> None:
    token = (case / "sd_jwt.txt").read_text().strip()
    kb_file = case / "key_binding.json"
    kb = json.loads(kb_file.read_text()) if kb_file.is_file() else None
    result = verify_sd_jwt(
        token, issuer_key=lambda header, payload: SPEC_KEY, typ=SPEC_TYP, key_binding=kb is not None,
        audience=kb and kb["aud"], nonce=kb and kb["nonce"],
        now=datetime.fromtimestamp(kb["iat"] + 30 if kb else 1_700_000_000, UTC))
    assert result.claims == json.loads((case / "expected.json").read_text())
    assert SD not in json.dumps(result.claims) and SD_ALG not in result.claims
    assert len(result.disclosed_paths) == len(parse_sd_jwt(token).disclosures)


def test_spec_key_binding_sd_hash_is_over_the_presented_sd_jwt() -> None:
    token = (SPEC / "main_example_presentation" / "sd_jwt.txt").read_text().strip()
    parsed = parse_sd_jwt(token)
    kb_payload = json.loads(b64url_decode(parsed.kb_jwt.split(".")[1]))  # type: ignore[union-attr]
    assert kb_payload["sd_hash"] == digest(token[: token.rindex(SEPARATOR) + 1]) == digest(parsed.sd_jwt)


def test_spec_presentation_with_another_nonce_is_refused() -> None:
    token = (SPEC / "main_example_presentation" / "sd_jwt.txt").read_text().strip()
    with pytest.raises(KeyBindingNonceMismatch):
        verify_sd_jwt(token, issuer_key=lambda h, p: SPEC_KEY, typ=SPEC_TYP, key_binding=True,
                      audience="https://verifier.example.org", nonce="0987654321",
                      now=datetime.fromtimestamp(1737118540, UTC))


def test_spec_sd_jwt_with_another_issuer_key_is_refused(issuer: SoftwareSigner) -> None:
    token = (SPEC / "simple_structured" / "sd_jwt.txt").read_text().strip()
    with pytest.raises(SignatureInvalid):
        verify_sd_jwt(token, issuer_key=lambda h, p: issuer.public_jwk, typ=SPEC_TYP, key_binding=False,
                      now=NOW)


# -- fixtures and helpers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def issuer() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256", kid="issuer-key-1")


@pytest.fixture(scope="module")
def holder() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


CLAIMS: dict[str, Any] = {
    "iss": "https://issuer.example.edu",
    "iat": 1_790_000_000,
    "exp": 1_947_680_000,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "achievement": {"name": "Web Security Essentials", "ects": 3, "criteria": {"narrative": "Pass the exam"}},
    "learning_outcomes": ["Secure API design", "Threat modelling", "Incident response"],
    "result": {"grade": "A"},
}
DISCLOSABLE = [("given_name",), ("family_name",), ("achievement",), ("achievement", "name"),
               ("learning_outcomes", None), ("result", "grade")]


def _issue(issuer: SoftwareSigner, holder: SoftwareSigner | None = None, **kwargs: Any) -> str:
    return issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=kwargs.pop("disclosable", DISCLOSABLE),
                        holder_jwk=holder.public_jwk if holder else None, **kwargs).sd_jwt


def _verify(token: str, issuer: SoftwareSigner, *, key_binding: bool = False, **kwargs: Any) -> Any:
    kwargs.setdefault("now", NOW)
    if key_binding:
        kwargs.setdefault("audience", AUD)
        kwargs.setdefault("nonce", NONCE)
    return verify_sd_jwt(token, issuer_key=lambda h, p: issuer.public_jwk, typ=TYP, key_binding=key_binding,
                         **kwargs)


def _craft(payload: dict[str, Any], disclosures: list[str], issuer: SoftwareSigner) -> str:
    """An SD-JWT with a payload the tests choose (signed properly, so only the SD rules can fail)."""
    return SdJwt(sign_jws(payload, issuer, typ=TYP), tuple(disclosures)).sd_jwt


def _raw_disclosure(array: list[Any]) -> str:
    return b64url_encode(json.dumps(array).encode())


def _present(token: str, holder: SoftwareSigner, disclose: list[tuple[Any, ...]], **kwargs: Any) -> str:
    kwargs.setdefault("audience", AUD)
    kwargs.setdefault("nonce", NONCE)
    kwargs.setdefault("now", NOW)
    return present_sd_jwt(token, disclose=disclose, holder=holder, **kwargs)


# -- issue / present / verify ----------------------------------------------------------------------

def test_issue_hides_the_chosen_claims_and_full_disclosure_gives_them_back(issuer: SoftwareSigner) -> None:
    issued = issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=DISCLOSABLE)
    assert {"given_name", "family_name", "achievement"}.isdisjoint(issued.payload)
    assert all(set(e) == {ARRAY_ELEMENT} for e in issued.payload["learning_outcomes"])
    assert issued.payload["result"] == {SD: [digest(d.encoded) for d in issued.disclosures if d.name == "grade"]}
    assert issued.payload[SD_ALG] == "sha-256"
    assert issued.sd_jwt.endswith(SEPARATOR) and len(issued.disclosures) == 8
    result = _verify(issued.sd_jwt, issuer)
    assert result.claims == CLAIMS


def test_holder_presents_a_subset_with_key_binding(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    token = _issue(issuer, holder)
    presentation = _present(token, holder, [("given_name",), ("learning_outcomes", 1), ("result", "grade")])
    result = _verify(presentation, issuer, key_binding=True)
    assert result.claims["given_name"] == "Ada" and "family_name" not in result.claims
    assert result.claims["learning_outcomes"] == ["Threat modelling"]
    assert result.claims["result"] == {"grade": "A"} and "achievement" not in result.claims
    assert set(result.disclosed_paths) == {("given_name",), ("learning_outcomes", 0), ("result", "grade")}
    assert result.kb_payload["aud"] == AUD and result.kb_payload["nonce"] == NONCE
    assert result.header["typ"] == TYP and result.payload["cnf"]["jwk"] == holder.public_jwk


def test_presenting_a_nested_claim_brings_its_parent_disclosure(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    token = _issue(issuer, holder)
    presentation = _present(token, holder, [("achievement", "name")])
    assert len(parse_sd_jwt(presentation).disclosures) == 2  # achievement (recursive) and its name
    claims = _verify(presentation, issuer, key_binding=True).claims
    assert claims["achievement"] == {"name": "Web Security Essentials", "ects": 3,
                                     "criteria": {"narrative": "Pass the exam"}}


def test_presenting_an_object_brings_the_claims_hidden_inside_it(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    token = _issue(issuer, holder)
    claims = _verify(_present(token, holder, [("achievement",), ("learning_outcomes",)]), issuer,
                     key_binding=True).claims
    assert claims["achievement"]["name"] == "Web Security Essentials"
    assert claims["learning_outcomes"] == CLAIMS["learning_outcomes"]


def test_presentation_without_key_binding(issuer: SoftwareSigner) -> None:
    presentation = present_sd_jwt(_issue(issuer), disclose=[("family_name",)])
    assert presentation.endswith(SEPARATOR)
    assert _verify(presentation, issuer).claims["family_name"] == "Lovelace"


def test_decoy_digests_are_added_and_ignored(issuer: SoftwareSigner) -> None:
    issued = issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=DISCLOSABLE, decoys=3)
    assert len(issued.payload[SD]) == 3 + 3  # given_name, family_name, achievement + decoys
    assert len(issued.payload["learning_outcomes"]) == 3 + 3
    assert _verify(issued.sd_jwt, issuer).claims == CLAIMS
    assert _verify(present_sd_jwt(issued.sd_jwt), issuer).claims["learning_outcomes"] == []


@pytest.mark.parametrize("sd_alg", ["sha-256", "sha-384", "sha-512"])
def test_sd_alg_choices(issuer: SoftwareSigner, holder: SoftwareSigner, sd_alg: str) -> None:
    issued = issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=DISCLOSABLE, holder_jwk=holder.public_jwk,
                          sd_alg=sd_alg)
    assert issued.payload[SD_ALG] == sd_alg
    assert len(b64url_decode(issued.payload[SD][0])) == hashlib.new(sd_alg.replace("-", "")).digest_size
    result = _verify(_present(issued.sd_jwt, holder, [("given_name",)]), issuer, key_binding=True)
    assert result.claims["given_name"] == "Ada"


def test_salts_are_128_bit_random_and_unique(issuer: SoftwareSigner) -> None:
    salts = [d.salt for _ in range(3) for d in issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=DISCLOSABLE).disclosures]
    assert all(len(b64url_decode(s)) == 16 for s in salts)
    assert len(set(salts)) == len(salts)


def test_unsafe_randomness_repeats_and_says_so_loudly(issuer: SoftwareSigner, caplog: pytest.LogCaptureFixture) -> None:
    runs = []
    for _ in range(2):
        with caplog.at_level(logging.WARNING), pytest.warns(RuntimeWarning, match="PREDICTABLE"), unsafe_randomness(7):
            runs.append(issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=DISCLOSABLE, decoys=2).payload)
    assert runs[0] == runs[1]
    assert "PREDICTABLE" in caplog.text
    assert issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=DISCLOSABLE).payload[SD] != runs[0][SD]


def test_no_disclosable_claims_means_no_sd_and_no_disclosures(issuer: SoftwareSigner) -> None:
    issued = issue_sd_jwt(CLAIMS, issuer, typ=TYP)
    assert SD not in issued.payload and issued.disclosures == () and issued.sd_jwt.count(SEPARATOR) == 1


@pytest.mark.parametrize("path", [("nickname",), ("achievement", "level"), ("learning_outcomes", 7),
                                  ("given_name", "x"), ("result", None)])
def test_issue_refuses_a_claim_path_that_selects_nothing(issuer: SoftwareSigner, path: tuple[Any, ...]) -> None:
    with pytest.raises(ClaimNotFound):
        issue_sd_jwt(CLAIMS, issuer, typ=TYP, disclosable=[path])


@pytest.mark.parametrize("claims", [{SD: []}, {"a": {ARRAY_ELEMENT: "x"}}, {SD_ALG: "sha-256"}])
def test_issue_refuses_reserved_claim_names(issuer: SoftwareSigner, claims: dict[str, Any]) -> None:
    with pytest.raises(ReservedClaimName):
        issue_sd_jwt(claims, issuer, typ=TYP)


def test_issue_refuses_a_private_holder_key(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    with pytest.raises(ClaimInvalid):
        issue_sd_jwt(CLAIMS, issuer, typ=TYP, holder_jwk={**holder.public_jwk, "d": "AAAA"})


def test_present_refuses_a_claim_that_is_not_there(issuer: SoftwareSigner) -> None:
    with pytest.raises(ClaimNotFound):
        present_sd_jwt(_issue(issuer), disclose=[("date_of_birth",)])


def test_select_claim_paths() -> None:
    assert select_claim_paths(CLAIMS, ("learning_outcomes", None)) == [("learning_outcomes", i) for i in range(3)]
    assert select_claim_paths(CLAIMS, ("achievement", "criteria", "narrative")) == [
        ("achievement", "criteria", "narrative")]
    assert select_claim_paths(CLAIMS, ("achievement", None)) == []  # null on an object aborts
    assert select_claim_paths(CLAIMS, ("learning_outcomes", 0, "x")) == []  # a key on a string aborts
    with pytest.raises(ClaimInvalid):
        select_claim_paths(CLAIMS, ("learning_outcomes", True))


# -- parsing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "eyJh.eyJh.c2ln", "~", "eyJh.eyJh~", "eyJh.eyJh.c2ln~WyJh~not-a-jwt"])
def test_parse_refuses_a_malformed_sd_jwt(text: str) -> None:
    with pytest.raises(MalformedToken):
        parse_sd_jwt(text)


@pytest.mark.parametrize("text", ["eyJh.eyJh.c2ln~~", "eyJh.eyJh.c2ln~W=~", "eyJh.eyJh.c2ln~Wy J~"])
def test_parse_refuses_a_malformed_disclosure(text: str) -> None:
    with pytest.raises(MalformedDisclosure):
        parse_sd_jwt(text)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(MalformedToken):
        parse_sd_jwt(b"eyJh.eyJh.c2ln~")  # type: ignore[arg-type]


def test_parse_splits_the_parts() -> None:
    parsed = parse_sd_jwt("eyJh.eyJi.c2ln~ZDE~ZDI~eyJr.eyJi.c2ln")
    assert parsed == SdJwt("eyJh.eyJi.c2ln", ("ZDE", "ZDI"), "eyJr.eyJi.c2ln")
    assert parsed.sd_jwt == "eyJh.eyJi.c2ln~ZDE~ZDI~" and parsed.serialize() == "eyJh.eyJi.c2ln~ZDE~ZDI~eyJr.eyJi.c2ln"


# -- §7.1: the Issuer-signed JWT -------------------------------------------------------------------

def test_forged_issuer_signature_is_refused(issuer: SoftwareSigner) -> None:
    other = SoftwareSigner.generate("ES256")
    with pytest.raises(SignatureInvalid):
        _verify(_issue(other), issuer)


def test_tampered_issuer_payload_is_refused(issuer: SoftwareSigner) -> None:
    header, _, signature = parse_sd_jwt(_issue(issuer)).issuer_jwt.split(".")
    forged = b64url_encode(json_bytes({**CLAIMS, "given_name": "Eve"}))
    with pytest.raises(SignatureInvalid):
        _verify(f"{header}.{forged}.{signature}~", issuer)


def test_alg_none_is_refused(issuer: SoftwareSigner) -> None:
    token = f"{b64url_encode(json_bytes({'alg': 'none', 'typ': TYP}))}.{b64url_encode(json_bytes(CLAIMS))}.AA~"
    with pytest.raises(AlgorithmNotAllowed):
        _verify(token, issuer)


def test_hs256_signed_with_the_public_key_is_refused(issuer: SoftwareSigner) -> None:
    signing_input = f"{b64url_encode(json_bytes({'alg': 'HS256', 'typ': TYP}))}.{b64url_encode(json_bytes(CLAIMS))}"
    secret = json.dumps(issuer.public_jwk).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(AlgorithmNotAllowed):
        _verify(f"{signing_input}.{b64url_encode(mac)}~", issuer)


def test_alg_outside_the_allowlist_is_refused(issuer: SoftwareSigner) -> None:
    with pytest.raises(AlgorithmNotAllowed):
        _verify(_issue(issuer), issuer, algorithms=("EdDSA",))


def test_wrong_issuer_jwt_typ_is_refused(issuer: SoftwareSigner) -> None:
    token = issue_sd_jwt(CLAIMS, issuer, typ="JWT").sd_jwt
    with pytest.raises(HeaderInvalid):
        _verify(token, issuer)


def test_unsupported_sd_alg_is_refused(issuer: SoftwareSigner) -> None:
    with pytest.raises(UnsupportedHashAlgorithm):
        _verify(_craft({**CLAIMS, SD_ALG: "md5"}, [], issuer), issuer)
    with pytest.raises(UnsupportedHashAlgorithm):
        _verify(_issue(issuer, sd_alg="sha-512"), issuer, sd_algs=("sha-256",))


def test_expired_sd_jwt_is_refused(issuer: SoftwareSigner) -> None:
    with pytest.raises(TokenExpired):
        _verify(_issue(issuer), issuer, now=datetime.fromtimestamp(CLAIMS["exp"] + 61, UTC))
    assert _verify(_issue(issuer), issuer, now=datetime.fromtimestamp(CLAIMS["exp"] - 30, UTC))


def test_sd_jwt_not_yet_valid_is_refused(issuer: SoftwareSigner) -> None:
    token = issue_sd_jwt({**CLAIMS, "nbf": 1_800_000_000}, issuer, typ=TYP).sd_jwt
    with pytest.raises(TokenNotYetValid):
        _verify(token, issuer, now=datetime.fromtimestamp(1_800_000_000 - 120, UTC))
    with pytest.raises(TokenNotYetValid):
        _verify(_issue(issuer), issuer, now=datetime.fromtimestamp(CLAIMS["iat"] - 3600, UTC))


def test_non_numeric_exp_is_refused(issuer: SoftwareSigner) -> None:
    with pytest.raises(ClaimInvalid):
        _verify(issue_sd_jwt({**CLAIMS, "exp": "tomorrow"}, issuer, typ=TYP).sd_jwt, issuer)


# -- §7.1 step 3-5: Disclosures ---------------------------------------------------------------------

def test_altered_disclosure_is_refused(issuer: SoftwareSigner) -> None:
    parsed = parse_sd_jwt(_issue(issuer, disclosable=[("given_name",)]))
    salt = decode_disclosure(parsed.disclosures[0]).salt
    altered = create_disclosure(salt, "given_name", "Eve").encoded
    with pytest.raises(UnreferencedDisclosure):
        _verify(SdJwt(parsed.issuer_jwt, (altered,)).sd_jwt, issuer)


def test_added_unreferenced_disclosure_is_refused(issuer: SoftwareSigner) -> None:
    parsed = parse_sd_jwt(_issue(issuer))
    extra = create_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "is_over_18", True).encoded
    with pytest.raises(UnreferencedDisclosure):
        _verify(SdJwt(parsed.issuer_jwt, (*parsed.disclosures, extra)).sd_jwt, issuer)


def test_duplicate_digest_is_refused(issuer: SoftwareSigner) -> None:
    d = create_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "given_name", "Ada").encoded
    with pytest.raises(DuplicateDigest):
        _verify(_craft({SD: [digest(d), digest(d)]}, [d], issuer), issuer)
    with pytest.raises(DuplicateDigest):  # once in _sd, once in an array, and no Disclosure sent at all
        _verify(_craft({SD: [digest(d)], "list": [{ARRAY_ELEMENT: digest(d)}]}, [], issuer), issuer)


def test_same_disclosure_sent_twice_is_refused(issuer: SoftwareSigner) -> None:
    parsed = parse_sd_jwt(_issue(issuer))
    with pytest.raises(DuplicateDigest):
        _verify(SdJwt(parsed.issuer_jwt, (*parsed.disclosures, parsed.disclosures[0])).sd_jwt, issuer)


@pytest.mark.parametrize("name", [SD, ARRAY_ELEMENT])
def test_reserved_claim_name_in_a_disclosure_is_refused(issuer: SoftwareSigner, name: str) -> None:
    d = _raw_disclosure(["c2FsdHNhbHRzYWx0c2FsdA", name, ["x"]])
    with pytest.raises(ReservedClaimName):
        _verify(_craft({SD: [digest(d)]}, [d], issuer), issuer)
    with pytest.raises(ReservedClaimName):
        create_disclosure("c2FsdA", name, 1)


@pytest.mark.parametrize("payload", [{ARRAY_ELEMENT: "x"}, {"a": {SD_ALG: "sha-256"}},
                                     {"list": [{ARRAY_ELEMENT: "x", "other": 1}]}])
def test_reserved_claim_name_in_the_payload_is_refused(issuer: SoftwareSigner, payload: dict[str, Any]) -> None:
    with pytest.raises(ReservedClaimName):
        _verify(_craft(payload, [], issuer), issuer)


def test_disclosed_name_colliding_with_a_claim_is_refused(issuer: SoftwareSigner) -> None:
    d = create_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "given_name", "Eve").encoded
    with pytest.raises(ClaimNameCollision):
        _verify(_craft({"given_name": "Ada", SD: [digest(d)]}, [d], issuer), issuer)
    d2 = create_disclosure("b3RoZXJzYWx0b3RoZXJzYQ", "given_name", "Ada").encoded
    with pytest.raises(ClaimNameCollision):
        _verify(_craft({SD: [digest(d), digest(d2)]}, [d, d2], issuer), issuer)


def test_array_element_disclosure_in_sd_is_refused(issuer: SoftwareSigner) -> None:
    d = create_disclosure("c2FsdHNhbHRzYWx0c2FsdA", None, "Ada").encoded
    with pytest.raises(MisplacedDisclosure):
        _verify(_craft({SD: [digest(d)]}, [d], issuer), issuer)


def test_property_disclosure_in_an_array_is_refused(issuer: SoftwareSigner) -> None:
    d = create_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "given_name", "Ada").encoded
    with pytest.raises(MisplacedDisclosure):
        _verify(_craft({"names": [{ARRAY_ELEMENT: digest(d)}]}, [d], issuer), issuer)


@pytest.mark.parametrize("raw", [b"not json", b'{"a": 1}', b'["salt"]', b'["s", "n", "v", "x"]', b'[1, "n", "v"]',
                                 b'["s", 2, "v"]', b"\xff\xfe"])
def test_malformed_disclosure_is_refused(issuer: SoftwareSigner, raw: bytes) -> None:
    d = b64url_encode(raw)
    with pytest.raises(MalformedDisclosure):
        _verify(_craft({SD: [digest(d)], "list": []}, [d], issuer), issuer)


@pytest.mark.parametrize("payload", [{SD: "abc"}, {SD: [1]}, {"list": [{ARRAY_ELEMENT: 5}]}])
def test_malformed_digest_containers_are_refused(issuer: SoftwareSigner, payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedDisclosure):
        _verify(_craft(payload, [], issuer), issuer)


def test_deeply_nested_payload_is_refused_cleanly(issuer: SoftwareSigner) -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(MalformedToken):
        _verify(_craft({"deep": deep}, [], issuer), issuer)


# -- §7.3: Key Binding -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bound(issuer: SoftwareSigner, holder: SoftwareSigner) -> str:
    return present_sd_jwt(_issue(issuer, holder), disclose=[("given_name",)])


def _with_kb(sd_jwt: str, signer: SoftwareSigner, payload: dict[str, Any] | None = None, typ: str = KB_JWT_TYP) -> str:
    claims = {"iat": int(NOW.timestamp()), "aud": AUD, "nonce": NONCE, "sd_hash": digest(sd_jwt)}
    return sd_jwt + sign_jws({**claims, **(payload or {})}, signer, typ=typ, include_kid=False)


def test_key_binding_as_the_holder_makes_it(issuer: SoftwareSigner, holder: SoftwareSigner, bound: str) -> None:
    result = _verify(_with_kb(bound, holder), issuer, key_binding=True)
    assert result.kb_header == {"alg": "ES256", "typ": KB_JWT_TYP}


def test_key_binding_missing_when_required_is_refused(issuer: SoftwareSigner, bound: str) -> None:
    with pytest.raises(KeyBindingMissing):
        _verify(bound, issuer, key_binding=True)


def test_key_binding_present_when_not_expected_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner,
                                                          bound: str) -> None:
    with pytest.raises(KeyBindingUnexpected):
        _verify(_with_kb(bound, holder), issuer, key_binding=False)


def test_holder_refuses_an_issued_sd_jwt_carrying_a_kb_jwt(holder: SoftwareSigner, bound: str) -> None:
    with pytest.raises(KeyBindingUnexpected):
        present_sd_jwt(_with_kb(bound, holder), disclose=[("given_name",)])


def test_wrong_kb_typ_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner, bound: str) -> None:
    with pytest.raises(KeyBindingHeaderInvalid):
        _verify(_with_kb(bound, holder, typ="JWT"), issuer, key_binding=True)


def test_kb_alg_none_is_refused(issuer: SoftwareSigner, bound: str) -> None:
    claims = {"iat": int(NOW.timestamp()), "aud": AUD, "nonce": NONCE, "sd_hash": digest(bound)}
    kb = f"{b64url_encode(json_bytes({'alg': 'none', 'typ': KB_JWT_TYP}))}.{b64url_encode(json_bytes(claims))}.AA"
    with pytest.raises(KeyBindingHeaderInvalid) as raised:
        _verify(bound + kb, issuer, key_binding=True)
    assert isinstance(raised.value.__cause__, AlgorithmNotAllowed)


def test_kb_signed_by_another_key_is_refused(issuer: SoftwareSigner, bound: str) -> None:
    with pytest.raises(KeyBindingSignatureInvalid) as raised:
        _verify(_with_kb(bound, SoftwareSigner.generate("ES256")), issuer, key_binding=True)
    assert isinstance(raised.value, SignatureInvalid)


def test_wrong_kb_audience_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner, bound: str) -> None:
    with pytest.raises(KeyBindingAudienceMismatch):
        _verify(_with_kb(bound, holder, {"aud": "https://evil.example"}), issuer, key_binding=True)
    with pytest.raises(KeyBindingAudienceMismatch):
        _verify(_with_kb(bound, holder, {"aud": [AUD, "https://evil.example"]}), issuer, key_binding=True)


def test_wrong_kb_nonce_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner, bound: str) -> None:
    with pytest.raises(KeyBindingNonceMismatch):
        _verify(_with_kb(bound, holder, {"nonce": "replayed"}), issuer, key_binding=True)


@pytest.mark.parametrize("iat", [int((NOW - timedelta(minutes=10)).timestamp()),
                                 int((NOW + timedelta(minutes=5)).timestamp()), None, "now"])
def test_stale_or_missing_kb_iat_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner, bound: str,
                                            iat: Any) -> None:
    with pytest.raises(KeyBindingStale):
        _verify(_with_kb(bound, holder, {"iat": iat}), issuer, key_binding=True)


def test_kb_iat_window_follows_the_parameters(issuer: SoftwareSigner, holder: SoftwareSigner, bound: str) -> None:
    token = _with_kb(bound, holder, {"iat": int((NOW - timedelta(minutes=10)).timestamp())})
    assert _verify(token, issuer, key_binding=True, kb_max_age=timedelta(minutes=15))


def test_sd_hash_mismatch_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    token = _issue(issuer, holder)
    presentation = _present(token, holder, [("given_name",), ("family_name",)])
    parsed = parse_sd_jwt(presentation)
    fewer = SdJwt(parsed.issuer_jwt, parsed.disclosures[:1], parsed.kb_jwt).serialize()  # drop one after signing
    with pytest.raises(SdHashMismatch):
        _verify(fewer, issuer, key_binding=True)
    with pytest.raises(SdHashMismatch):
        _verify(_with_kb(parsed.sd_jwt, holder, {"sd_hash": digest(parsed.sd_jwt, "sha-512")}), issuer,
                key_binding=True)


def test_key_binding_without_cnf_is_refused(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    with pytest.raises(KeyBindingError):
        _verify(_with_kb(_issue(issuer), holder), issuer, key_binding=True)


def test_create_key_binding_jwt_needs_an_sd_jwt_ending_in_tilde(holder: SoftwareSigner, bound: str) -> None:
    with pytest.raises(MalformedToken):
        create_key_binding_jwt(bound.rstrip(SEPARATOR), holder, audience=AUD, nonce=NONCE)


def test_a_hand_built_sd_jwt_object_is_checked_like_a_string(issuer: SoftwareSigner) -> None:
    parsed = parse_sd_jwt(_issue(issuer))
    with pytest.raises(MalformedToken):
        _verify(SdJwt(parsed.issuer_jwt + ".extra", parsed.disclosures), issuer)
    with pytest.raises(MalformedDisclosure):
        present_sd_jwt(SdJwt(parsed.issuer_jwt, ("not base64!",)))

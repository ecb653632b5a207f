"""vc.sd_jwt_vc: the dc+sd-jwt profile, JWT VC Issuer Metadata key discovery, Type Metadata."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from vc.encoding import b64url_decode
from vc.errors import (
    ClaimInvalid,
    HeaderInvalid,
    KeyResolutionError,
    SignatureInvalid,
    TokenExpired,
    TokenNotYetValid,
)
from vc.fetch import Fetcher, FetchPolicy, static_resolver
from vc.keys import SoftwareSigner
from vc.sd_jwt import issue_sd_jwt, present_sd_jwt
from vc.sd_jwt_vc import (
    DC_SD_JWT,
    LEGACY_VC_SD_JWT,
    NEVER_DISCLOSABLE,
    NonDisclosableClaim,
    TypeMetadataInvalid,
    check_presentation_against_type_metadata,
    create_jwt_vc_issuer_metadata,
    fetch_issuer_key,
    issue_sd_jwt_vc,
    jwt_vc_issuer_key_resolver,
    jwt_vc_issuer_metadata_url,
    parse_type_metadata,
    resolve_issuer_key,
    selective_disclosure_rules,
    verify_sd_jwt_vc,
)

ISS = "https://issuer.example.edu"
VCT = "https://issuer.example.edu/vct/microcredential/v1"
NOW = datetime(2026, 10, 1, tzinfo=UTC)
AUD = "x509_hash:verifier.example.com"
NONCE = "n-0S6_WzA2Mj"
CLAIMS: dict[str, Any] = {
    "iss": ISS,
    "iat": 1_790_000_000,
    "exp": 1_947_680_000,
    "vct": VCT,
    "status": {"status_list": {"idx": 7, "uri": "https://issuer.example.edu/status/tsl/1"}},
    "given_name": "Ada",
    "family_name": "Lovelace",
    "achievement": {"name": "Web Security Essentials", "ects": 3},
    "learning_outcomes": ["Secure API design", "Threat modelling"],
    "grade": "A",
}
DISCLOSABLE = [("given_name",), ("family_name",), ("grade",), ("learning_outcomes", None)]
TYPE_METADATA: dict[str, Any] = {
    "vct": VCT,
    "name": "Microcredential",
    "display": [{"locale": "en-GB", "name": "Microcredential"}],
    "claims": [
        {"path": ["given_name"], "display": [{"locale": "en-GB", "label": "Given name"}], "sd": "always",
         "mandatory": True, "svg_id": "given_name"},
        {"path": ["family_name"], "sd": "always"},
        {"path": ["achievement", "name"], "sd": "never", "mandatory": True},
        {"path": ["learning_outcomes", None], "sd": "allowed"},
        {"path": ["grade"]},
    ],
}


@pytest.fixture(scope="module")
def issuer() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256", kid="issuer-key-1")


@pytest.fixture(scope="module")
def holder() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


def _verify(token: str, issuer: SoftwareSigner, **kwargs: Any) -> Any:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("key_binding", False)
    return verify_sd_jwt_vc(token, issuer_key=lambda h, p: issuer.public_jwk, **kwargs)


# -- issue and verify --------------------------------------------------------------------------------

def test_issue_and_verify_a_dc_sd_jwt_with_key_binding(issuer: SoftwareSigner, holder: SoftwareSigner) -> None:
    issued = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=DISCLOSABLE, holder_jwk=holder.public_jwk)
    header = json.loads(b64url_decode(issued.sd_jwt.split(".")[0]))
    assert header == {"alg": "ES256", "typ": DC_SD_JWT, "kid": "issuer-key-1"}
    assert {"iss", "vct", "exp", "status", "cnf"} <= issued.payload.keys()
    presentation = present_sd_jwt(issued.sd_jwt, disclose=[("grade",)], holder=holder, audience=AUD, nonce=NONCE,
                                  now=NOW)
    result = _verify(presentation, issuer, key_binding=True, audience=AUD, nonce=NONCE)
    assert result.claims["grade"] == "A" and "given_name" not in result.claims
    assert result.claims["vct"] == VCT and result.disclosed_paths == (("grade",),)


def test_vct_is_required(issuer: SoftwareSigner) -> None:
    with pytest.raises(ClaimInvalid):
        issue_sd_jwt_vc({k: v for k, v in CLAIMS.items() if k != "vct"}, issuer)
    token = issue_sd_jwt({k: v for k, v in CLAIMS.items() if k != "vct"}, issuer, typ=DC_SD_JWT).sd_jwt
    with pytest.raises(ClaimInvalid):
        _verify(token, issuer)


REGISTERED_SAMPLES = {"nbf": 1_790_000_000, "cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}},
                      "vct#integrity": "sha256-WRL5ca/xGgX3c1VLmXfh+9cLlJNXN+TsMk+PmKjZ5t0=",
                      "aka_vcts": ["urn:eu.europa.ec.eudi:learning:credential:1"]}


@pytest.mark.parametrize("name", sorted(NEVER_DISCLOSABLE))
def test_issue_refuses_to_make_a_registered_claim_disclosable(issuer: SoftwareSigner, name: str) -> None:
    claims = {**CLAIMS, name: CLAIMS.get(name, REGISTERED_SAMPLES.get(name))}
    with pytest.raises(NonDisclosableClaim):
        issue_sd_jwt_vc(claims, issuer, disclosable=[(name,)])


def test_issue_refuses_a_sub_claim_of_status(issuer: SoftwareSigner) -> None:
    with pytest.raises(NonDisclosableClaim):
        issue_sd_jwt_vc(CLAIMS, issuer, disclosable=[("status", "status_list")])


@pytest.mark.parametrize("path", [("exp",), ("status",), ("status", "status_list"), ("cnf",)])
def test_verify_refuses_a_disclosed_non_disclosable_claim(issuer: SoftwareSigner, holder: SoftwareSigner,
                                                          path: tuple[str, ...]) -> None:
    claims = {**CLAIMS, "cnf": {"jwk": holder.public_jwk}}
    token = issue_sd_jwt(claims, issuer, typ=DC_SD_JWT, disclosable=[path]).sd_jwt  # a non-conforming issuer
    with pytest.raises(NonDisclosableClaim):
        _verify(token, issuer)


def test_legacy_vc_sd_jwt_typ_is_accepted_for_an_sd_jwt_vc_payload(issuer: SoftwareSigner) -> None:
    token = issue_sd_jwt(CLAIMS, issuer, typ=LEGACY_VC_SD_JWT, disclosable=DISCLOSABLE).sd_jwt
    assert _verify(token, issuer).claims["given_name"] == "Ada"


def test_legacy_vc_sd_jwt_typ_with_a_context_is_refused(issuer: SoftwareSigner) -> None:
    claims = {**CLAIMS, "@context": ["https://www.w3.org/ns/credentials/v2"]}
    with pytest.raises(HeaderInvalid):
        _verify(issue_sd_jwt(claims, issuer, typ=LEGACY_VC_SD_JWT).sd_jwt, issuer)
    with pytest.raises(HeaderInvalid):  # and without vct it is not an SD-JWT VC at all
        _verify(issue_sd_jwt({k: v for k, v in CLAIMS.items() if k != "vct"}, issuer, typ=LEGACY_VC_SD_JWT).sd_jwt,
                issuer)


@pytest.mark.parametrize("typ", ["example+sd-jwt", "JWT", "vp+sd-jwt"])
def test_other_typ_is_refused(issuer: SoftwareSigner, typ: str) -> None:
    with pytest.raises(HeaderInvalid):
        _verify(issue_sd_jwt(CLAIMS, issuer, typ=typ).sd_jwt, issuer)


def test_expiry_and_not_before_with_clock_skew(issuer: SoftwareSigner) -> None:
    token = issue_sd_jwt_vc({**CLAIMS, "nbf": 1_800_000_000}, issuer).sd_jwt
    with pytest.raises(TokenExpired):
        _verify(token, issuer, now=datetime.fromtimestamp(CLAIMS["exp"] + 61, UTC))
    assert _verify(token, issuer, now=datetime.fromtimestamp(CLAIMS["exp"] + 30, UTC))
    with pytest.raises(TokenNotYetValid):
        _verify(token, issuer, now=datetime.fromtimestamp(1_800_000_000 - 61, UTC))
    assert _verify(token, issuer, now=datetime.fromtimestamp(1_800_000_000 - 30, UTC))
    assert _verify(token, issuer, now=datetime.fromtimestamp(1_800_000_000 - 300, UTC),
                   clock_skew=timedelta(minutes=10))


def test_aka_vcts_must_not_repeat_vct(issuer: SoftwareSigner) -> None:
    with pytest.raises(ClaimInvalid):
        issue_sd_jwt_vc({**CLAIMS, "aka_vcts": [VCT]}, issuer)
    assert issue_sd_jwt_vc({**CLAIMS, "aka_vcts": ["urn:eu.europa.ec.eudi:learning:credential:1"]}, issuer)


# -- JWT VC Issuer Metadata --------------------------------------------------------------------------

@pytest.mark.parametrize(("iss", "url"), [
    ("https://example.com", "https://example.com/.well-known/jwt-vc-issuer"),
    ("https://example.com/", "https://example.com/.well-known/jwt-vc-issuer"),
    ("https://example.com/tenant/1234", "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"),
    ("https://example.com/tenant/1234/", "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"),
    ("https://issuer.example.edu:8443/f", "https://issuer.example.edu:8443/.well-known/jwt-vc-issuer/f"),
])
def test_jwt_vc_issuer_metadata_url(iss: str, url: str) -> None:
    assert jwt_vc_issuer_metadata_url(iss) == url


@pytest.mark.parametrize("iss", ["http://example.com", "did:web:issuer.example.edu", "https://example.com/?a=1",
                                 "https://example.com/#f", "https://user@example.com", "https:///path", 42])
def test_jwt_vc_issuer_metadata_url_refuses(iss: Any) -> None:
    with pytest.raises(KeyResolutionError):
        jwt_vc_issuer_metadata_url(iss, allow_http_loopback=True)


def test_loopback_http_issuer_only_when_the_policy_allows_it() -> None:
    assert jwt_vc_issuer_metadata_url("http://localhost:8001", allow_http_loopback=True) == (
        "http://localhost:8001/.well-known/jwt-vc-issuer")
    assert jwt_vc_issuer_metadata_url("http://127.0.0.1:8001/i/", allow_http_loopback=True) == (
        "http://127.0.0.1:8001/.well-known/jwt-vc-issuer/i")
    with pytest.raises(KeyResolutionError):
        jwt_vc_issuer_metadata_url("http://localhost:8001")


def test_create_jwt_vc_issuer_metadata(issuer: SoftwareSigner) -> None:
    key = {**issuer.public_jwk, "kid": "issuer-key-1"}
    assert create_jwt_vc_issuer_metadata(ISS, [key]) == {"issuer": ISS, "jwks": {"keys": [key]}}
    with pytest.raises(KeyResolutionError):
        create_jwt_vc_issuer_metadata(ISS, [{**key, "d": "secret"}])


def _keys(*signers: SoftwareSigner) -> list[dict[str, Any]]:
    return [{**s.public_jwk, "kid": s.kid} for s in signers]


def test_resolve_issuer_key_by_kid(issuer: SoftwareSigner) -> None:
    other = SoftwareSigner.generate("ES256", kid="issuer-key-0")
    metadata = create_jwt_vc_issuer_metadata(ISS, _keys(other, issuer))
    assert resolve_issuer_key(metadata, iss=ISS, header={"kid": "issuer-key-1"})["x"] == issuer.public_jwk["x"]
    with pytest.raises(KeyResolutionError):
        resolve_issuer_key(metadata, iss=ISS, header={"kid": "unknown"})
    with pytest.raises(KeyResolutionError):  # no kid and two keys: no guessing
        resolve_issuer_key(metadata, iss=ISS, header={})
    single = create_jwt_vc_issuer_metadata(ISS, _keys(issuer))
    assert resolve_issuer_key(single, iss=ISS, header={})["kid"] == "issuer-key-1"


@pytest.mark.parametrize("metadata", [
    {"issuer": "https://issuer.example.edu/", "jwks": {"keys": []}},  # not identical
    {"issuer": "https://evil.example", "jwks": {"keys": []}},
    {"issuer": ISS},  # neither jwks nor jwks_uri
    {"issuer": ISS, "jwks": {"keys": []}, "jwks_uri": "https://issuer.example.edu/jwks"},  # both
    {"issuer": ISS, "jwks": {"keys": "none"}},
    {"issuer": ISS, "jwks_uri": 7},
    ["not", "an", "object"],
])
def test_resolve_issuer_key_refuses_bad_metadata(issuer: SoftwareSigner, metadata: Any) -> None:
    with pytest.raises(KeyResolutionError):
        resolve_issuer_key(metadata, iss=ISS, header={"kid": "issuer-key-1"})


def test_resolve_issuer_key_refuses_a_published_private_key(issuer: SoftwareSigner) -> None:
    metadata = {"issuer": ISS, "jwks": {"keys": [{**_keys(issuer)[0], "d": "AAAA"}]}}
    with pytest.raises(KeyResolutionError):
        resolve_issuer_key(metadata, iss=ISS, header={"kid": "issuer-key-1"})


class _FakeFetcher:
    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents, self.asked = documents, []

    def get_json(self, url: str) -> Any:
        self.asked.append(url)
        return self.documents[url]


def test_jwks_uri_is_fetched_through_the_fetcher(issuer: SoftwareSigner) -> None:
    fetcher = _FakeFetcher({
        f"{ISS}/.well-known/jwt-vc-issuer": {"issuer": ISS, "jwks_uri": f"{ISS}/jwks.json"},
        f"{ISS}/jwks.json": {"keys": _keys(issuer)},
    })
    key = fetch_issuer_key({"kid": "issuer-key-1"}, {"iss": ISS}, fetcher=fetcher)
    assert key["x"] == issuer.public_jwk["x"]
    assert fetcher.asked == [f"{ISS}/.well-known/jwt-vc-issuer", f"{ISS}/jwks.json"]


def test_fetch_issuer_key_needs_an_https_iss() -> None:
    with pytest.raises(KeyResolutionError):
        fetch_issuer_key({}, {"iss": "did:web:issuer.example.edu"}, fetcher=_FakeFetcher({}))
    with pytest.raises(KeyResolutionError):
        fetch_issuer_key({}, {}, fetcher=_FakeFetcher({}))


def _mock_fetcher(routes: dict[str, httpx.Response], policy: FetchPolicy | None = None) -> Fetcher:
    def handle(request: httpx.Request) -> httpx.Response:
        return routes.get(str(request.url), httpx.Response(404))
    return Fetcher(policy or FetchPolicy(), transport=httpx.MockTransport(handle),
                   resolver=static_resolver({"issuer.example.edu": "93.184.216.34", "localhost": "127.0.0.1"}))


def test_verify_with_keys_from_jwt_vc_issuer_metadata_over_http(issuer: SoftwareSigner) -> None:
    metadata = create_jwt_vc_issuer_metadata(ISS, _keys(issuer))
    fetcher = _mock_fetcher({f"{ISS}/.well-known/jwt-vc-issuer": httpx.Response(200, json=metadata)})
    with fetcher:
        token = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=DISCLOSABLE).sd_jwt
        result = verify_sd_jwt_vc(token, issuer_key=jwt_vc_issuer_key_resolver(fetcher), key_binding=False, now=NOW)
    assert result.claims["family_name"] == "Lovelace"


def test_a_key_from_another_issuers_metadata_is_refused(issuer: SoftwareSigner) -> None:
    forger = SoftwareSigner.generate("ES256", kid="issuer-key-1")
    metadata = create_jwt_vc_issuer_metadata(ISS, _keys(issuer))
    fetcher = _mock_fetcher({f"{ISS}/.well-known/jwt-vc-issuer": httpx.Response(200, json=metadata)})
    with fetcher, pytest.raises(SignatureInvalid):
        verify_sd_jwt_vc(issue_sd_jwt_vc(CLAIMS, forger).sd_jwt, issuer_key=jwt_vc_issuer_key_resolver(fetcher),
                         key_binding=False, now=NOW)


def test_unreachable_issuer_metadata_is_a_key_resolution_error(issuer: SoftwareSigner) -> None:
    with _mock_fetcher({}) as fetcher, pytest.raises(KeyResolutionError):
        verify_sd_jwt_vc(issue_sd_jwt_vc(CLAIMS, issuer).sd_jwt, issuer_key=jwt_vc_issuer_key_resolver(fetcher),
                         key_binding=False, now=NOW)


def test_loopback_issuer_follows_the_fetchers_policy(issuer: SoftwareSigner) -> None:
    iss = "http://localhost:8001"
    metadata = create_jwt_vc_issuer_metadata(iss, _keys(issuer))
    routes = {f"{iss}/.well-known/jwt-vc-issuer": httpx.Response(200, json=metadata)}
    token = issue_sd_jwt_vc({**CLAIMS, "iss": iss}, issuer).sd_jwt
    with _mock_fetcher(routes, FetchPolicy(allow_http_loopback=True)) as dev:
        assert verify_sd_jwt_vc(token, issuer_key=jwt_vc_issuer_key_resolver(dev), key_binding=False, now=NOW)
    with _mock_fetcher(routes) as production, pytest.raises(KeyResolutionError):
        verify_sd_jwt_vc(token, issuer_key=jwt_vc_issuer_key_resolver(production), key_binding=False, now=NOW)


# -- Type Metadata -----------------------------------------------------------------------------------

def test_parse_type_metadata() -> None:
    tm = parse_type_metadata(TYPE_METADATA, vct=VCT)
    assert tm.vct == VCT and tm.name == "Microcredential" and tm.display[0]["locale"] == "en-GB"
    assert tm.claims[0].path == ("given_name",) and tm.claims[0].sd == "always" and tm.claims[0].mandatory
    assert tm.claims[0].display[0]["label"] == "Given name" and tm.claims[0].svg_id == "given_name"
    assert tm.claims[3].path == ("learning_outcomes", None) and tm.claims[4].sd == "allowed"


@pytest.mark.parametrize("change", [
    {"vct": None}, {"vct": "https://other.example/vct"}, {"name": 5}, {"claims": {}},
    {"claims": [{"path": []}]}, {"claims": [{"path": ["a", -1]}]}, {"claims": [{"path": ["a"], "sd": "sometimes"}]},
    {"claims": [{"path": ["a"], "mandatory": "yes"}]}, {"claims": [{"path": ["a"], "svg_id": "1abc"}]},
    {"claims": [{"path": ["a"], "svg_id": "x"}, {"path": ["b"], "svg_id": "x"}]},
    {"claims": [{"path": ["a"], "display": [{"locale": "en"}]}]}, {"display": [{"locale": "en", "label": "x"}]},
])
def test_parse_type_metadata_refuses(change: dict[str, Any]) -> None:
    with pytest.raises(TypeMetadataInvalid):
        parse_type_metadata({**TYPE_METADATA, **change}, vct=VCT)


def test_selective_disclosure_rules() -> None:
    rules = selective_disclosure_rules(parse_type_metadata(TYPE_METADATA), CLAIMS)
    assert rules.must == (("given_name",), ("family_name",))
    assert rules.may == (("learning_outcomes", 0), ("learning_outcomes", 1), ("grade",))
    assert ("achievement", "name") in rules.must_not
    assert {("iss",), ("exp",), ("vct",), ("status",)} <= set(rules.must_not)


def test_selective_disclosure_rules_refuse_a_missing_mandatory_claim() -> None:
    with pytest.raises(ClaimInvalid):
        selective_disclosure_rules(parse_type_metadata(TYPE_METADATA), {k: v for k, v in CLAIMS.items()
                                                                       if k != "given_name"})


def test_type_metadata_that_makes_exp_always_disclosable_is_refused() -> None:
    tm = parse_type_metadata({"vct": VCT, "claims": [{"path": ["exp"], "sd": "always"}]})
    with pytest.raises(TypeMetadataInvalid):
        selective_disclosure_rules(tm, CLAIMS)


def test_issue_follows_type_metadata(issuer: SoftwareSigner) -> None:
    tm = parse_type_metadata(TYPE_METADATA)
    issued = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=[("grade",)], type_metadata=tm)
    assert {d.name for d in issued.disclosures} == {"given_name", "family_name", "grade"}
    with pytest.raises(NonDisclosableClaim):
        issue_sd_jwt_vc(CLAIMS, issuer, disclosable=[("achievement", "name")], type_metadata=tm)


def test_presentation_checked_against_type_metadata(issuer: SoftwareSigner) -> None:
    tm = parse_type_metadata(TYPE_METADATA)
    good = issue_sd_jwt_vc(CLAIMS, issuer, type_metadata=tm).sd_jwt
    check_presentation_against_type_metadata(tm, _verify(good, issuer))
    check_presentation_against_type_metadata(tm, _verify(present_sd_jwt(good), issuer))  # undisclosed is fine
    in_clear = issue_sd_jwt_vc(CLAIMS, issuer, disclosable=[("family_name",)]).sd_jwt
    with pytest.raises(ClaimInvalid):
        check_presentation_against_type_metadata(tm, _verify(in_clear, issuer))
    hidden = issue_sd_jwt(CLAIMS, issuer, typ=DC_SD_JWT,
                          disclosable=[("given_name",), ("family_name",), ("achievement", "name")]).sd_jwt
    with pytest.raises(NonDisclosableClaim):
        check_presentation_against_type_metadata(tm, _verify(hidden, issuer))
    without_name = issue_sd_jwt_vc({**CLAIMS, "achievement": {"ects": 3}}, issuer,
                                   disclosable=[("given_name",), ("family_name",)]).sd_jwt
    with pytest.raises(ClaimInvalid, match="mandatory"):
        check_presentation_against_type_metadata(tm, _verify(without_name, issuer))

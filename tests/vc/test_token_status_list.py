"""IETF Token Status List (draft-ietf-oauth-status-list): vectors, token, referenced token, cache."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS
from vc.encoding import b64url_encode
from vc.errors import (
    AlgorithmNotAllowed,
    ClaimInvalid,
    HeaderInvalid,
    MalformedToken,
    SignatureInvalid,
    StatusError,
    StatusRevoked,
    StatusSuspended,
    TokenExpired,
    TokenNotYetValid,
)
from vc.fetch import Fetcher, FetchPolicy
from vc.jws import sign_jws
from vc.keys import SoftwareSigner
from vc.token_status_list import (
    INVALID,
    MEDIA_TYPE,
    STATUS_LIST_JWT_TYP,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListCache,
    StatusListReference,
    check_status,
    create_status_list_token,
    ensure_valid,
    parse_status_claim,
    status_list_token_fetcher,
    verify_status_list_token,
)

TSL_VECTORS = sorted((VECTORS / "token_status_list").glob("status_list_*bit*.json")) + [
    VECTORS / "token_status_list" / "protocols_toy_1bit.json"
]
URI = "https://issuer.example.edu/status/tsl/1"
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text())
    return vector


def _expected_list(vector: dict[str, Any]) -> StatusList:
    """The list the vector describes, built entry by entry (every entry not listed is VALID)."""
    if "byte_array" in vector:
        size = len(bytes.fromhex(vector["byte_array"])) * 8 // vector["bits"]
    else:
        size = vector["size"]
    expected = StatusList.new(size, vector["bits"])
    for index, value in vector["statuses"].items():
        expected.set(int(index), value)
    return expected


# --- spec vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", TSL_VECTORS, ids=lambda p: p.stem)
def test_vector_decodes_to_the_spec_statuses(path: Path) -> None:
    vector = _load(path)
    decoded = StatusList.from_json({"bits": vector["bits"], "lst": vector["lst"]})
    if "byte_array" in vector:
        assert bytes(decoded.data) == bytes.fromhex(vector["byte_array"])
    for index, value in vector["statuses"].items():
        assert decoded.get(int(index)) == value, index
    # every entry the vector does not list is VALID: the whole byte array matches
    assert decoded == _expected_list(vector)


@pytest.mark.parametrize("path", TSL_VECTORS, ids=lambda p: p.stem)
def test_encoding_the_spec_statuses_round_trips(path: Path) -> None:
    vector = _load(path)
    encoded = _expected_list(vector).to_json()
    assert encoded["bits"] == vector["bits"]
    compressed = base64.urlsafe_b64decode(encoded["lst"] + "==")
    assert compressed[:2] == b"\x78\xda"  # ZLIB header: DEFLATE at the highest compression level
    # zlib output may differ between implementations: compare what it inflates to
    assert zlib.decompress(compressed) == zlib.decompress(base64.urlsafe_b64decode(vector["lst"] + "=="))


def test_spec_status_list_token_verifies_with_the_spec_key() -> None:
    vector = _load(VECTORS / "token_status_list" / "status_list_token_jwt.json")
    token = verify_status_list_token(vector["token"], uri=vector["uri"], key=vector["jwk"], now=NOW)
    assert token.header == {"alg": "ES256", "kid": "12", "typ": STATUS_LIST_JWT_TYP}
    assert token.claims == vector["claims"]
    assert (token.sub, token.iat, token.exp, token.ttl) == (vector["uri"], 1686920170, 2291720170, 43200)
    assert {str(i): token.status_list.get(i) for i in range(16)} == vector["statuses"]


def test_spec_status_list_token_refused_for_another_uri_or_after_exp() -> None:
    vector = _load(VECTORS / "token_status_list" / "status_list_token_jwt.json")
    with pytest.raises(ClaimInvalid):
        verify_status_list_token(vector["token"], uri="https://example.com/statuslists/2", key=vector["jwk"], now=NOW)
    with pytest.raises(TokenExpired):
        verify_status_list_token(vector["token"], uri=vector["uri"], key=vector["jwk"],
                                 now=datetime.fromtimestamp(2291720170 + 61, UTC))
    with pytest.raises(SignatureInvalid):
        verify_status_list_token(vector["token"], uri=vector["uri"], key=SoftwareSigner.generate().public_jwk, now=NOW)
    with pytest.raises(AlgorithmNotAllowed):
        verify_status_list_token(vector["token"], uri=vector["uri"], key=vector["jwk"], now=NOW, algorithms=["EdDSA"])


# --- the Status List value type ---------------------------------------------------------------


def test_index_zero_is_the_least_significant_bit_of_byte_zero() -> None:
    one = StatusList.new(16, 1)
    one.set(0, INVALID)
    one.set(15, INVALID)
    assert bytes(one.data) == b"\x01\x80"
    two = StatusList.new(8, 2)
    two.set(0, 3)
    two.set(3, SUSPENDED)
    two.set(4, INVALID)
    assert bytes(two.data) == b"\x83\x01"
    assert [two.get(i) for i in range(8)] == [3, 0, 0, 2, 1, 0, 0, 0]
    two.set(0, VALID)
    assert two.get(0) == VALID and two.get(3) == SUSPENDED


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_every_value_round_trips_through_encoding(bits: int) -> None:
    status_list = StatusList.new(131_072, bits)
    indices = [0, 1, 7, 8, 999, 131_071]
    for n, index in enumerate(indices):
        status_list.set(index, (n + 1) % (1 << bits))
    decoded = StatusList.from_json(status_list.to_json())
    assert decoded == status_list
    assert decoded.size == 131_072
    assert [decoded.get(i) for i in indices] == [(n + 1) % (1 << bits) for n in range(len(indices))]


def test_new_list_with_a_default_value() -> None:
    status_list = StatusList.new(12, 2, default=SUSPENDED)
    assert status_list.size == 12
    assert all(status_list.get(i) == SUSPENDED for i in range(12))
    assert StatusList.new(10, 1).size == 16  # whole bytes


@pytest.mark.parametrize("index", [-1, 16, 10**6, True, "3", 1.0])
def test_index_out_of_range_is_an_error(index: Any) -> None:
    status_list = StatusList.new(16, 1)
    with pytest.raises(StatusError):
        status_list.get(index)
    with pytest.raises(StatusError):
        status_list.set(index, 1)


@pytest.mark.parametrize(("bits", "value"), [(1, 2), (2, 4), (4, 16), (8, 256), (1, -1), (2, True)])
def test_value_must_fit_the_bits(bits: int, value: Any) -> None:
    with pytest.raises(StatusError):
        StatusList.new(8, bits).set(0, value)


@pytest.mark.parametrize("bits", [0, 3, 16, True, "1", 1.0, None])
def test_bad_bits_are_refused(bits: Any) -> None:
    with pytest.raises(StatusError):
        StatusList(b"\x00", bits)
    with pytest.raises(StatusError):
        StatusList.from_json({"bits": bits, "lst": "eNrbuRgAAhcBXQ"})


def _lst(raw: bytes) -> str:
    return b64url_encode(raw)


@pytest.mark.parametrize(
    "status_list",
    [
        None,
        [],
        "eNrbuRgAAhcBXQ",
        {"bits": 1},
        {"bits": 1, "lst": ""},
        {"bits": 1, "lst": 12},
        {"bits": 1, "lst": "eNrbuRgAAhcBXQ=="},  # padded
        {"bits": 1, "lst": "eNrbuRgAAhcB+Q"},  # not the base64url alphabet
        {"bits": 1, "lst": "eNrbuRgA AhcBXQ"},
        {"bits": 1, "lst": _lst(b"\xb9\xa3")},  # not compressed
        {"bits": 1, "lst": _lst(gzip.compress(b"\xb9\xa3"))},  # GZIP, not ZLIB
        {"bits": 1, "lst": _lst(zlib.compress(b"\xb9\xa3")[:-3])},  # truncated
        {"bits": 1, "lst": _lst(zlib.compress(b"\xb9\xa3") + b"\x00")},  # trailing bytes
        {"bits": 1, "lst": _lst(zlib.compress(bytes(9 * 1024 * 1024), 9))},  # 9 MiB bomb, ~9 KB
    ],
)
def test_bad_status_list_is_refused(status_list: Any) -> None:
    with pytest.raises(StatusError):
        StatusList.from_json(status_list)


def test_inflated_size_is_bounded_by_max_bytes() -> None:
    encoded = StatusList.new(131_072).to_json()  # 16 KiB
    assert StatusList.from_json(encoded, max_bytes=16 * 1024).size == 131_072
    with pytest.raises(StatusError, match="exceeds"):
        StatusList.from_json(encoded, max_bytes=16 * 1024 - 1)


def test_ensure_valid_maps_status_types_to_errors() -> None:
    ensure_valid(VALID)
    with pytest.raises(StatusRevoked):
        ensure_valid(INVALID)
    with pytest.raises(StatusSuspended):
        ensure_valid(SUSPENDED)
    with pytest.raises(StatusError) as excinfo:
        ensure_valid(0x03)
    assert not isinstance(excinfo.value, StatusRevoked | StatusSuspended)


# --- Status List Token ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256", kid="status-key-1")


def _token(signer: SoftwareSigner, **claims: Any) -> str:
    base: dict[str, Any] = {"sub": URI, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 3600,
                            "ttl": 600, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}
    base.update(claims)
    # Python's json writes NaN/Infinity (not JSON, RFC 8259 §6): a forged token can carry them, ours never do.
    payload = json.dumps({k: v for k, v in base.items() if v is not None}).encode()
    return sign_jws(payload, signer, typ=STATUS_LIST_JWT_TYP)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_create_and_verify_status_list_token(alg: str) -> None:
    signer = SoftwareSigner.generate(alg, kid="k1")
    status_list = StatusList.new(131_072, 2)
    status_list.set(4711, SUSPENDED)
    token = create_status_list_token(status_list, signer, uri=URI, now=NOW, lifetime=timedelta(hours=12),
                                     ttl=300, iss="https://issuer.example.edu")
    verified = verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=NOW + timedelta(hours=1))
    assert verified.header == {"alg": alg, "typ": "statuslist+jwt", "kid": "k1"}
    assert verified.sub == URI
    assert verified.iat == int(NOW.timestamp())
    assert verified.exp == int(NOW.timestamp()) + 12 * 3600
    assert verified.ttl == 300
    assert verified.claims["iss"] == "https://issuer.example.edu"
    assert verified.status_list == status_list
    assert verified.status_list.get(4711) == SUSPENDED


def test_create_without_exp_or_ttl(signer: SoftwareSigner) -> None:
    token = create_status_list_token(StatusList.new(8), signer, uri=URI, now=NOW, lifetime=None, ttl=None)
    verified = verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=NOW + timedelta(days=400))
    assert verified.exp is None and verified.ttl is None
    assert "exp" not in verified.claims and "ttl" not in verified.claims


@pytest.mark.parametrize("ttl", [0, -5, True])
def test_create_refuses_a_non_positive_ttl(signer: SoftwareSigner, ttl: Any) -> None:
    with pytest.raises(StatusError):
        create_status_list_token(StatusList.new(8), signer, uri=URI, ttl=ttl)


def test_verify_refuses_wrong_typ(signer: SoftwareSigner) -> None:
    claims = {"sub": URI, "iat": int(NOW.timestamp()), "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}
    for typ in ("JWT", None, "dc+sd-jwt"):
        token = sign_jws(claims, signer, typ=typ)
        with pytest.raises(HeaderInvalid):
            verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=NOW)
    # RFC 7515 §4.1.9: the full media type names the same type
    token = sign_jws(claims, signer, typ="application/statuslist+jwt")
    assert verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=NOW).sub == URI


def test_verify_refuses_alg_none_and_hmac(signer: SoftwareSigner) -> None:
    body = b64url_encode(json.dumps({"sub": URI, "iat": 1, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}).encode())
    for alg in ("none", "HS256"):
        header = b64url_encode(json.dumps({"alg": alg, "typ": STATUS_LIST_JWT_TYP}).encode())
        with pytest.raises(AlgorithmNotAllowed):
            verify_status_list_token(f"{header}.{body}.{b64url_encode(b'x')}", uri=URI, key=signer.public_jwk, now=NOW)


def test_verify_refuses_a_tampered_or_foreign_token(signer: SoftwareSigner) -> None:
    token = _token(signer)
    header, _, signature = token.split(".")
    forged = _token(SoftwareSigner.generate(), status_list={"bits": 1, "lst": StatusList.new(8).to_json()["lst"]})
    with pytest.raises(SignatureInvalid):
        verify_status_list_token(f"{header}.{forged.split('.')[1]}.{signature}", uri=URI, key=signer.public_jwk, now=NOW)
    with pytest.raises(SignatureInvalid):
        verify_status_list_token(forged, uri=URI, key=signer.public_jwk, now=NOW)
    with pytest.raises(MalformedToken):
        verify_status_list_token("not.a-jwt", uri=URI, key=signer.public_jwk, now=NOW)


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"sub": None}, ClaimInvalid),
        ({"sub": "https://issuer.example.edu/status/tsl/2"}, ClaimInvalid),
        ({"iat": None}, ClaimInvalid),
        ({"iat": "1790000000"}, ClaimInvalid),
        ({"exp": "tomorrow"}, ClaimInvalid),
        ({"exp": int(NOW.timestamp()) - 61}, TokenExpired),
        ({"nbf": int(NOW.timestamp()) + 3600}, TokenNotYetValid),
        ({"ttl": 0}, ClaimInvalid),
        ({"ttl": -1}, ClaimInvalid),
        ({"ttl": "600"}, ClaimInvalid),
        ({"ttl": float("inf")}, MalformedToken),
        ({"exp": float("nan")}, MalformedToken),
        ({"iat": float("inf")}, MalformedToken),
        ({"status_list": None}, ClaimInvalid),
        ({"status_list": {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}}, StatusError),
        ({"status_list": {"bits": 1, "lst": "!!"}}, StatusError),
    ],
)
def test_verify_refuses_bad_claims(signer: SoftwareSigner, claims: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_status_list_token(_token(signer, **claims), uri=URI, key=signer.public_jwk, now=NOW)


def test_exp_allows_the_leeway(signer: SoftwareSigner) -> None:
    token = _token(signer, exp=int(NOW.timestamp()))
    assert verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=NOW + timedelta(seconds=59)).exp
    with pytest.raises(TokenExpired):
        verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=NOW + timedelta(seconds=1),
                                 leeway=timedelta(0))


def test_a_naive_now_is_taken_as_utc(signer: SoftwareSigner) -> None:
    token = _token(signer, exp=int(NOW.timestamp()) + 30)
    naive = NOW.replace(tzinfo=None)
    assert verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=naive, leeway=timedelta(0)).sub == URI
    with pytest.raises(TokenExpired):
        verify_status_list_token(token, uri=URI, key=signer.public_jwk, now=naive + timedelta(seconds=30),
                                 leeway=timedelta(0))


def test_verify_asks_the_key_resolver_with_iss_and_header(signer: SoftwareSigner) -> None:
    seen: list[tuple[str | None, dict[str, Any]]] = []

    def resolve_key(issuer: str | None, header: dict[str, Any]) -> dict[str, Any]:
        seen.append((issuer, header))
        return dict(signer.public_jwk)

    verify_status_list_token(_token(signer, iss="https://issuer.example.edu"), uri=URI, resolve_key=resolve_key, now=NOW)
    verify_status_list_token(_token(signer), uri=URI, resolve_key=resolve_key, now=NOW)
    assert [issuer for issuer, _ in seen] == ["https://issuer.example.edu", None]
    assert seen[0][1] == {"alg": "ES256", "typ": STATUS_LIST_JWT_TYP, "kid": "status-key-1"}


def test_verify_needs_exactly_one_key_source(signer: SoftwareSigner) -> None:
    with pytest.raises(TypeError):
        verify_status_list_token(_token(signer), uri=URI, now=NOW)
    with pytest.raises(TypeError):
        verify_status_list_token(_token(signer), uri=URI, key=signer.public_jwk,
                                 resolve_key=lambda i, h: signer.public_jwk, now=NOW)


# --- Referenced Token and check_status ------------------------------------------------------------


def test_parse_status_claim() -> None:
    reference = parse_status_claim({"status_list": {"idx": 7, "uri": URI}, "other_mechanism": {}})
    assert reference == StatusListReference(idx=7, uri=URI)
    assert reference.to_json() == {"status_list": {"idx": 7, "uri": URI}}
    assert parse_status_claim(reference.to_json()) == reference


@pytest.mark.parametrize(
    "status",
    [
        None,
        "https://issuer.example.edu/status/tsl/1",
        {},
        {"status_list": None},
        {"status_list": {"uri": URI}},
        {"status_list": {"idx": -1, "uri": URI}},
        {"status_list": {"idx": "7", "uri": URI}},
        {"status_list": {"idx": 7.0, "uri": URI}},
        {"status_list": {"idx": True, "uri": URI}},
        {"status_list": {"idx": 7}},
        {"status_list": {"idx": 7, "uri": "/status/tsl/1"}},
        {"status_list": {"idx": 7, "uri": 42}},
    ],
)
def test_parse_status_claim_refuses_bad_claims(status: Any) -> None:
    with pytest.raises(ClaimInvalid):
        parse_status_claim(status)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class _Provider:
    """A Status Provider in memory: serves the current token for each URI and counts the fetches."""

    def __init__(self, signer: SoftwareSigner, clock: _Clock) -> None:
        self.signer, self.clock = signer, clock
        self.lists: dict[str, StatusList] = {}
        self.fetches: list[str] = []
        self.ttl: int | None = 300
        self.lifetime: timedelta | None = timedelta(hours=1)

    def fetch_token(self, uri: str) -> str:
        self.fetches.append(uri)
        return create_status_list_token(self.lists[uri], self.signer, uri=uri, now=self.clock(),
                                        lifetime=self.lifetime, ttl=self.ttl)

    def resolve_key(self, issuer: str | None, header: dict[str, Any]) -> dict[str, Any]:
        assert header["kid"] == self.signer.kid
        return dict(self.signer.public_jwk)


@pytest.fixture
def provider(signer: SoftwareSigner) -> _Provider:
    provider = _Provider(signer, _Clock(NOW))
    status_list = StatusList.new(131_072, 2)
    status_list.set(10, INVALID)
    status_list.set(20, SUSPENDED)
    provider.lists[URI] = status_list
    return provider


def _claim(idx: int, uri: str = URI) -> dict[str, Any]:
    return {"status_list": {"idx": idx, "uri": uri}}


def test_check_status_reads_the_referenced_entry(provider: _Provider) -> None:
    kwargs: dict[str, Any] = {"fetch_token": provider.fetch_token, "resolve_key": provider.resolve_key, "now": NOW}
    assert check_status(_claim(5), **kwargs) == VALID
    assert check_status(_claim(10), **kwargs) == INVALID
    assert check_status(_claim(20), **kwargs) == SUSPENDED
    with pytest.raises(StatusRevoked):
        ensure_valid(check_status(_claim(10), **kwargs))
    assert provider.fetches == [URI] * 4  # no cache: one fetch per check


def test_check_status_index_out_of_range(provider: _Provider) -> None:
    with pytest.raises(StatusError, match="out of range"):
        check_status(_claim(131_072), fetch_token=provider.fetch_token, resolve_key=provider.resolve_key, now=NOW)


def test_check_status_refuses_a_token_for_another_list(provider: _Provider) -> None:
    other = "https://issuer.example.edu/status/tsl/2"
    provider.lists[other] = provider.lists[URI]

    def wrong_list(uri: str) -> str:
        return provider.fetch_token(other)

    with pytest.raises(ClaimInvalid, match="sub"):
        check_status(_claim(1), fetch_token=wrong_list, resolve_key=provider.resolve_key, now=NOW)


def test_check_status_refuses_a_bad_claim_before_fetching(provider: _Provider) -> None:
    with pytest.raises(ClaimInvalid):
        check_status({"status_list": {"idx": -1, "uri": URI}}, fetch_token=provider.fetch_token,
                     resolve_key=provider.resolve_key, now=NOW)
    assert provider.fetches == []


def test_cache_honours_ttl(provider: _Provider) -> None:
    clock = provider.clock
    cache = StatusListCache(clock=clock)
    kwargs: dict[str, Any] = {"fetch_token": provider.fetch_token, "resolve_key": provider.resolve_key, "cache": cache}
    assert check_status(_claim(10), **kwargs) == INVALID
    provider.lists[URI].set(10, VALID)  # the issuer reinstates the credential
    clock.now = NOW + timedelta(seconds=299)
    assert check_status(_claim(10), **kwargs) == INVALID  # still within ttl: cached copy
    assert provider.fetches == [URI]
    clock.now = NOW + timedelta(seconds=300)
    assert check_status(_claim(10), **kwargs) == VALID  # ttl over: fresh copy
    assert provider.fetches == [URI, URI]


def test_cache_never_keeps_a_token_past_exp(provider: _Provider) -> None:
    provider.ttl = 3600
    provider.lifetime = timedelta(seconds=120)
    cache = StatusListCache(clock=provider.clock)
    kwargs: dict[str, Any] = {"fetch_token": provider.fetch_token, "resolve_key": provider.resolve_key, "cache": cache}
    check_status(_claim(1), **kwargs)
    provider.clock.now = NOW + timedelta(seconds=119)
    check_status(_claim(1), **kwargs)
    assert len(provider.fetches) == 1
    provider.clock.now = NOW + timedelta(seconds=120)
    check_status(_claim(1), **kwargs)
    assert len(provider.fetches) == 2


def test_cache_default_and_max_ttl(provider: _Provider, signer: SoftwareSigner) -> None:
    clock = _Clock(NOW)
    cache = StatusListCache(clock=clock, default_ttl=timedelta(seconds=30), max_ttl=timedelta(seconds=60))
    no_ttl = verify_status_list_token(
        create_status_list_token(StatusList.new(8), signer, uri=URI, now=NOW, ttl=None), uri=URI,
        key=signer.public_jwk, now=NOW)
    long_ttl = verify_status_list_token(
        create_status_list_token(StatusList.new(8), signer, uri=URI + "/b", now=NOW, ttl=86400), uri=URI + "/b",
        key=signer.public_jwk, now=NOW)
    cache.put(URI, no_ttl)
    cache.put(URI + "/b", long_ttl)
    clock.now = NOW + timedelta(seconds=29)
    assert cache.get(URI) is no_ttl
    clock.now = NOW + timedelta(seconds=30)
    assert cache.get(URI) is None
    assert cache.get(URI + "/b") is long_ttl
    clock.now = NOW + timedelta(seconds=60)
    assert cache.get(URI + "/b") is None


def test_cache_copes_with_an_enormous_ttl_and_exp(signer: SoftwareSigner) -> None:
    cache = StatusListCache(clock=_Clock(NOW), max_ttl=timedelta(hours=1))
    token = verify_status_list_token(_token(signer, ttl=10**300, exp=10**300), uri=URI, key=signer.public_jwk, now=NOW)
    cache.put(URI, token)
    assert cache.get(URI) is token
    cache.clock = _Clock(NOW + timedelta(hours=1))
    assert cache.get(URI) is None


def test_cache_evicts_the_least_recently_used(signer: SoftwareSigner) -> None:
    cache = StatusListCache(clock=_Clock(NOW), max_entries=2)
    tokens = {}
    for name in ("a", "b", "c"):
        uri = f"{URI}/{name}"
        tokens[name] = verify_status_list_token(
            create_status_list_token(StatusList.new(8), signer, uri=uri, now=NOW), uri=uri, key=signer.public_jwk,
            now=NOW)
    cache.put(f"{URI}/a", tokens["a"])
    cache.put(f"{URI}/b", tokens["b"])
    assert cache.get(f"{URI}/a") is tokens["a"]  # a is now the most recent
    cache.put(f"{URI}/c", tokens["c"])
    assert cache.get(f"{URI}/b") is None
    assert cache.get(f"{URI}/a") is tokens["a"] and cache.get(f"{URI}/c") is tokens["c"]


def test_an_expired_token_is_not_cached(signer: SoftwareSigner) -> None:
    cache = StatusListCache(clock=_Clock(NOW + timedelta(days=2)))
    token = verify_status_list_token(create_status_list_token(StatusList.new(8), signer, uri=URI, now=NOW), uri=URI,
                                     key=signer.public_jwk, now=NOW)
    cache.put(URI, token)
    assert cache.get(URI) is None


# --- fetching over HTTP ---------------------------------------------------------------------------


class _FakeFetcher:
    def __init__(self, content_type: str, body: bytes) -> None:
        self.content_type, self.body = content_type, body
        self.requests: list[tuple[str, str]] = []

    def get_bytes(self, url: str, *, accept: str = "*/*") -> tuple[str, bytes]:
        self.requests.append((url, accept))
        return self.content_type, self.body


def test_token_fetcher_asks_for_and_insists_on_the_media_type() -> None:
    fetcher = _FakeFetcher("application/statuslist+jwt; charset=utf-8", b"a.b.c\n")
    assert status_list_token_fetcher(fetcher)(URI) == "a.b.c"
    assert fetcher.requests == [(URI, MEDIA_TYPE)]
    with pytest.raises(StatusError, match="content type"):
        status_list_token_fetcher(_FakeFetcher("application/json", b"a.b.c"))(URI)
    with pytest.raises(MalformedToken):
        status_list_token_fetcher(_FakeFetcher(MEDIA_TYPE, "ä.b.c".encode()))(URI)


@pytest.fixture
def status_server(signer: SoftwareSigner) -> Iterator[tuple[str, StatusList]]:
    """A Status Provider on 127.0.0.1 serving a freshly signed token on every GET."""
    status_list = StatusList.new(131_072, 1)
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state["accept"] = self.headers.get("Accept")
            uri = state["base"] + self.path
            body = create_status_list_token(status_list, signer, uri=uri, ttl=60).encode("ascii")
            self.send_response(200)
            self.send_header("Content-Type", MEDIA_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["base"] = f"http://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["base"], status_list
        assert state["accept"] == MEDIA_TYPE
    finally:
        server.shutdown()
        server.server_close()


def test_check_status_over_real_http(status_server: tuple[str, StatusList], signer: SoftwareSigner) -> None:
    base, status_list = status_server
    status_list.set(94_567, INVALID)
    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        fetch_token = status_list_token_fetcher(fetcher)
        cache = StatusListCache()
        kwargs: dict[str, Any] = {"fetch_token": fetch_token, "resolve_key": lambda i, h: dict(signer.public_jwk),
                                  "cache": cache}
        assert check_status(_claim(94_567, f"{base}/status/1"), **kwargs) == INVALID
        assert check_status(_claim(94_568, f"{base}/status/1"), **kwargs) == VALID
        assert cache.get(f"{base}/status/1") is not None

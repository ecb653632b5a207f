"""W3C Bitstring Status List v1.0: spec and 1EdTech vectors, bit order, errors, VC-JWT over HTTP."""

from __future__ import annotations

import copy
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
from vc.bitstring_status_list import (
    MIN_STATUS_LIST_LENGTH,
    Bitstring,
    BitstringStatusListEntry,
    BitstringStatusListError,
    MalformedValueError,
    RangeError,
    StatusListLengthError,
    StatusRetrievalError,
    StatusVerificationError,
    check_bitstring_status,
    create_status_list_credential,
    create_status_list_entry,
    parse_status_list_entry,
    status_list_entries,
    validate_bitstring_status,
)
from vc.encoding import b64url_encode
from vc.errors import FetchError, KeyResolutionError, SignatureInvalid, StatusError
from vc.fetch import Fetcher, FetchPolicy
from vc.keys import SoftwareSigner
from vc.vc_jwt import sign_vc_jwt, verify_vc_jwt

BSL = VECTORS / "bitstring_status_list"
LIST_VECTORS = [BSL / "spec_example_all_zero.json", BSL / "protocols_index_94567.json"]
NOW = datetime(2026, 10, 1, tzinfo=UTC)
LIST_URL = "https://issuer.example.edu/status/bsl/revocation/3"


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text())
    return vector


def _encoded(raw: bytes) -> str:
    return "u" + b64url_encode(raw)


def _list_credential(bitstring: Bitstring | None = None, **subject: Any) -> dict[str, Any]:
    credential = create_status_list_credential(
        id=LIST_URL, issuer="did:web:issuer.example.edu", status_purpose="revocation",
        bitstring=bitstring or Bitstring.new(), valid_from=datetime(2026, 9, 1, tzinfo=UTC))
    credential["credentialSubject"].update(subject)
    return credential


def _entry(index: int | str = 94567, **changes: Any) -> dict[str, Any]:
    entry = create_status_list_entry(status_list_credential=LIST_URL, status_list_index=int(index))
    entry["statusListIndex"] = str(index)
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


# --- vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LIST_VECTORS, ids=lambda p: p.stem)
def test_vector_status(path: Path) -> None:
    vector = _load(path)
    assert check_bitstring_status(vector["entry"], vector["list_credential"], now=NOW) == vector["expected"]


@pytest.mark.parametrize("path", LIST_VECTORS, ids=lambda p: p.stem)
def test_vector_bits_and_rebuild(path: Path) -> None:
    vector = _load(path)
    published = vector["list_credential"]
    decoded = Bitstring.decode(published["credentialSubject"]["encodedList"])
    assert decoded.length == vector["length"]
    expected = Bitstring.new(vector["length"])
    for index in vector["set_indices"]:
        expected.set(index, 1)
    assert decoded == expected  # exactly the listed bits are set
    rebuilt = create_status_list_credential(
        id=published["id"], issuer=published["issuer"],
        status_purpose=published["credentialSubject"]["statusPurpose"], bitstring=expected,
        valid_from=datetime.fromisoformat(published["validFrom"]), subject_id=published["credentialSubject"]["id"])
    # GZIP headers (mtime, OS) differ between encoders: compare everything but the bytes of encodedList
    assert Bitstring.decode(rebuilt["credentialSubject"].pop("encodedList")) == decoded
    published_without = copy.deepcopy(published)
    del published_without["credentialSubject"]["encodedList"]
    assert rebuilt == published_without


def test_1edtech_fixture_index_23_is_revoked(ob3_spec_dir: Path) -> None:
    folder = ob3_spec_dir / "examples" / "1edtech" / "bit-string-list"
    credential = json.loads((folder / "credential-status-revoked.json").read_text())
    list_credential = json.loads((folder / "testlist").read_text())
    entries = status_list_entries(credential)
    assert [(e.status_purpose, e.status_list_index) for e in entries] == [("revocation", 23)]
    result = check_bitstring_status(credential["credentialStatus"], list_credential, now=NOW)
    assert result == {"status": 1, "purpose": "revocation", "valid": False}
    bitstring = Bitstring.decode(list_credential["credentialSubject"]["encodedList"])
    assert [i for i in (22, 23, 24) if bitstring.get(i)] == [23]
    assert bitstring.data.count(0) == len(bitstring.data) - 1  # nothing else is set


def test_spec_example_credential_status_array() -> None:
    vector = _load(BSL / "spec_example_credential_status_array.json")
    entries = status_list_entries(vector["credential"])
    assert [{"status_purpose": e.status_purpose, "status_list_index": e.status_list_index,
             "status_list_credential": e.status_list_credential} for e in entries] == vector["expected_entries"]
    other = {"type": "TokenStatusList", "whatever": 1}
    assert status_list_entries({"credentialStatus": other}) == []
    assert status_list_entries({}) == []


# --- the bitstring -----------------------------------------------------------------------------


def test_index_zero_is_the_most_significant_bit_of_byte_zero() -> None:
    bitstring = Bitstring.new()
    bitstring.set(0, 1)
    bitstring.set(7, 1)
    bitstring.set(8, 1)
    bitstring.set(MIN_STATUS_LIST_LENGTH - 1, 1)
    assert bitstring.data[:2] == b"\x81\x80" and bitstring.data[-1] == 0x01
    assert [bitstring.get(i) for i in (0, 1, 7, 8, 9)] == [1, 0, 1, 1, 0]
    bitstring.set(7, 0)
    assert bitstring.data[0] == 0x80


def test_multi_bit_entries_read_left_to_right() -> None:
    two = Bitstring.new(MIN_STATUS_LIST_LENGTH, status_size=2)
    two.set(0, 2)
    two.set(1, 3)
    assert two.data[0] == 0b1011_0000
    three = Bitstring.new(MIN_STATUS_LIST_LENGTH, status_size=3)
    three.set(2, 5)  # bits 6, 7 | 8: straddles bytes 0 and 1
    assert (three.data[0], three.data[1]) == (0b0000_0010, 0b1000_0000)
    assert [three.get(i) for i in range(4)] == [0, 0, 5, 0]
    decoded = Bitstring.decode(three.encode(), status_size=3, min_length=MIN_STATUS_LIST_LENGTH)
    assert decoded == three and decoded.get(2) == 5


def test_encode_is_multibase_base64url_gzip() -> None:
    bitstring = Bitstring.new()
    bitstring.set(94567, 1)
    encoded = bitstring.encode()
    assert encoded.startswith("uH4sI")  # 'u' multibase prefix, then base64url of the GZIP magic 1f 8b 08
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert Bitstring.decode(encoded) == bitstring


def test_a_gzip_file_of_several_members_decodes_whole() -> None:
    """RFC 1952 §2.2: a gzip file is a series of members."""
    bitstring = Bitstring.new()
    bitstring.set(MIN_STATUS_LIST_LENGTH - 1, 1)
    halves = gzip.compress(bytes(bitstring.data[:8192])) + gzip.compress(bytes(bitstring.data[8192:]))
    assert Bitstring.decode(_encoded(halves)) == bitstring


def test_list_length_below_the_minimum_is_refused() -> None:
    short = _encoded(gzip.compress(bytes(MIN_STATUS_LIST_LENGTH // 8 - 1)))
    with pytest.raises(StatusListLengthError) as excinfo:
        Bitstring.decode(short)
    assert excinfo.value.code == "STATUS_LIST_LENGTH_ERROR"
    assert Bitstring.decode(short, min_length=1000).length == MIN_STATUS_LIST_LENGTH - 8
    sixteen_kb = Bitstring.new().encode()
    with pytest.raises(StatusListLengthError):  # 2-bit entries: only 65,536 of them
        Bitstring.decode(sixteen_kb, status_size=2)
    with pytest.raises(StatusListLengthError):
        Bitstring.new(MIN_STATUS_LIST_LENGTH - 1)
    with pytest.raises(StatusListLengthError):
        check_bitstring_status(_entry(5), _list_credential(encodedList=short), now=NOW)


@pytest.mark.parametrize(
    "encoded",
    [
        None,
        42,
        "",
        "u",
        Bitstring.new().encode()[1:],  # no multibase prefix
        "z" + Bitstring.new().encode()[1:],  # base58btc prefix
        Bitstring.new().encode() + "==",
        Bitstring.new().encode().replace("-", "+"),
        _encoded(bytes(16384)),  # not compressed
        _encoded(zlib.compress(bytes(16384))),  # ZLIB, not GZIP
        _encoded(gzip.compress(bytes(16384))[:-4]),  # truncated
        _encoded(gzip.compress(bytes(16384)) + b"\x00\x00"),  # trailing garbage
        _encoded(gzip.compress(bytes(8 * 1024 * 1024)) + gzip.compress(b"\x00")),  # two members past the bound
        _encoded(gzip.compress(bytes(9 * 1024 * 1024))),  # 9 MiB bomb, ~9 KB
    ],
    # Named, not shown: gzip stamps the time, and parallel test workers must collect the same ids.
    ids=["none", "number", "empty", "prefix-only", "no-prefix", "base58-prefix", "padded", "base64-not-url",
         "not-compressed", "zlib", "truncated", "trailing-garbage", "two-members", "bomb"],
)
def test_malformed_encoded_list_is_refused(encoded: Any) -> None:
    with pytest.raises(MalformedValueError) as excinfo:
        Bitstring.decode(encoded)
    assert excinfo.value.code == "MALFORMED_VALUE_ERROR"


def test_index_outside_the_list_is_a_range_error() -> None:
    with pytest.raises(RangeError) as excinfo:
        check_bitstring_status(_entry(MIN_STATUS_LIST_LENGTH), _list_credential(), now=NOW)
    assert excinfo.value.code == "RANGE_ERROR"
    assert excinfo.value.problem_type == "https://www.w3.org/TR/vc-data-model#RANGE_ERROR"
    assert check_bitstring_status(_entry(MIN_STATUS_LIST_LENGTH - 1), _list_credential(), now=NOW)["valid"]
    with pytest.raises(RangeError):
        check_bitstring_status(_entry("9" * 40), _list_credential(), now=NOW)
    with pytest.raises(RangeError):
        Bitstring.new().set(0, 2)


@pytest.mark.parametrize(
    ("error", "code", "problem_type"),
    [
        (StatusRetrievalError, "STATUS_RETRIEVAL_ERROR", "https://www.w3.org/ns/credentials/status-list#STATUS_RETRIEVAL_ERROR"),
        (StatusVerificationError, "STATUS_VERIFICATION_ERROR", "https://www.w3.org/ns/credentials/status-list#STATUS_VERIFICATION_ERROR"),
        (StatusListLengthError, "STATUS_LIST_LENGTH_ERROR", "https://www.w3.org/ns/credentials/status-list#STATUS_LIST_LENGTH_ERROR"),
        (RangeError, "RANGE_ERROR", "https://www.w3.org/TR/vc-data-model#RANGE_ERROR"),
        (MalformedValueError, "MALFORMED_VALUE_ERROR", "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR"),
    ],
)
def test_errors_carry_the_spec_codes(error: type[BitstringStatusListError], code: str, problem_type: str) -> None:
    assert issubclass(error, StatusError)
    instance = error("detail")
    assert (instance.code, instance.problem_type, str(instance)) == (code, problem_type, "detail")


# --- entries -------------------------------------------------------------------------------------


def test_create_entry_and_parse_it_back() -> None:
    entry = create_status_list_entry(status_list_credential=LIST_URL, status_list_index=94567,
                                     status_purpose="suspension")
    assert entry == {
        "id": f"{LIST_URL}#94567", "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
        "statusListIndex": "94567", "statusListCredential": LIST_URL,
    }
    assert parse_status_list_entry(entry) == BitstringStatusListEntry(
        status_purpose="suspension", status_list_index=94567, status_list_credential=LIST_URL, id=f"{LIST_URL}#94567")


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "StatusList2021Entry"},
        {"type": None},
        {"statusPurpose": None},
        {"statusPurpose": ""},
        {"statusPurpose": ["revocation"]},
        {"statusListIndex": "-1"},
        {"statusListIndex": "1.5"},
        {"statusListIndex": ""},
        {"statusListIndex": " 1"},
        {"statusListIndex": "0x10"},
        {"statusListIndex": "１２"},  # full-width digits
        {"statusListIndex": True},
        {"statusListIndex": -1},
        {"statusListIndex": 1.5},
        {"statusListCredential": None},
        {"statusListCredential": "/status/3"},
        {"statusListCredential": "did:example:12345"},
        {"id": LIST_URL},  # MUST NOT be the list's URL
        {"id": 7},
        {"statusSize": 0},
        {"statusSize": -1},
        {"statusSize": True},
        {"statusSize": "2"},
        {"statusSize": 17},
        {"statusSize": 2},  # statusMessage missing
        {"statusSize": 2, "statusMessage": [{"status": "0x0", "message": "a"}] * 2},
        {"statusSize": 1, "statusMessage": [{"status": "0x0", "message": "a"}] * 3},
        {"statusMessage": [{"status": "0", "message": "a"}, {"status": "0x1", "message": "b"}]},
        {"statusMessage": [{"status": "0x0"}, {"status": "0x1", "message": "b"}]},
        {"statusMessage": "set/unset"},
    ],
)
def test_malformed_entry_is_refused(changes: dict[str, Any]) -> None:
    entry = {**_entry(), **changes}
    with pytest.raises(MalformedValueError):
        parse_status_list_entry({k: v for k, v in entry.items() if v is not None})
    with pytest.raises(MalformedValueError):
        check_bitstring_status({k: v for k, v in entry.items() if v is not None}, _list_credential(), now=NOW)


def test_malformed_entry_shapes() -> None:
    shapes: list[Any] = [None, [], "https://issuer.example.edu/status/3#1"]
    for entry in shapes:
        with pytest.raises(MalformedValueError):
            parse_status_list_entry(entry)
    with pytest.raises(MalformedValueError):
        status_list_entries({"credentialStatus": [_entry(), {"type": "BitstringStatusListEntry"}]})


# --- the list credential -------------------------------------------------------------------------


def test_create_status_list_credential_shape() -> None:
    bitstring = Bitstring.new()
    credential = create_status_list_credential(
        id=LIST_URL, issuer={"id": "did:web:issuer.example.edu", "type": ["Profile"]},
        status_purpose=["revocation", "suspension"], bitstring=bitstring,
        valid_from=datetime(2026, 9, 1, 2, 0, tzinfo=UTC) + timedelta(microseconds=5),
        valid_until=datetime(2026, 9, 2, tzinfo=UTC), ttl=300_000)
    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": "did:web:issuer.example.edu", "type": ["Profile"]},
        "validFrom": "2026-09-01T02:00:00Z",
        "validUntil": "2026-09-02T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list", "type": "BitstringStatusList", "statusPurpose": ["revocation", "suspension"],
            "encodedList": bitstring.encode(), "ttl": 300_000,
        },
    }
    with pytest.raises(ValueError):
        create_status_list_credential(id=LIST_URL, issuer="did:web:x", status_purpose="revocation",
                                      bitstring=bitstring, valid_from=datetime(2026, 9, 1))


def test_one_list_may_carry_several_purposes() -> None:
    bitstring = Bitstring.new()
    bitstring.set(12345, 1)
    list_credential = _list_credential(bitstring, statusPurpose=["revocation", "suspension"])
    assert check_bitstring_status(_entry(12345, statusPurpose="suspension"), list_credential, now=NOW) == {
        "status": 1, "purpose": "suspension", "valid": False}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda c: c.update(type=["VerifiableCredential"]), MalformedValueError),
        (lambda c: c.pop("type"), MalformedValueError),
        (lambda c: c.update(credentialSubject=[c["credentialSubject"]]), MalformedValueError),
        (lambda c: c["credentialSubject"].update(type="StatusList2021"), MalformedValueError),
        (lambda c: c["credentialSubject"].update(statusPurpose="suspension"), StatusVerificationError),
        (lambda c: c["credentialSubject"].update(statusPurpose=["suspension", "message"]), StatusVerificationError),
        (lambda c: c["credentialSubject"].update(statusPurpose=[]), MalformedValueError),
        (lambda c: c["credentialSubject"].update(statusPurpose=7), MalformedValueError),
        (lambda c: c["credentialSubject"].pop("encodedList"), MalformedValueError),
        (lambda c: c.update(validUntil="2026-09-30T23:59:59Z"), StatusVerificationError),
        (lambda c: c.update(validFrom="2026-10-02T00:00:00Z"), StatusVerificationError),
        (lambda c: c.update(validFrom="yesterday"), MalformedValueError),
        (lambda c: c.update(validFrom="2026-09-01T00:00:00"), MalformedValueError),  # no time zone
    ],
)
def test_bad_list_credential_is_refused(change: Any, error: type[Exception]) -> None:
    list_credential = _list_credential()
    change(list_credential)
    with pytest.raises(error):
        check_bitstring_status(_entry(), list_credential, now=NOW)


def test_a_naive_now_is_taken_as_utc() -> None:
    list_credential = _list_credential()
    list_credential["validUntil"] = "2026-10-01T00:00:00Z"
    naive = NOW.replace(tzinfo=None)
    assert check_bitstring_status(_entry(), list_credential, now=naive - timedelta(seconds=1))["valid"]
    with pytest.raises(StatusVerificationError):
        check_bitstring_status(_entry(), list_credential, now=naive)


def test_list_credential_must_be_an_object() -> None:
    with pytest.raises(MalformedValueError):
        check_bitstring_status(_entry(), ["not", "a", "credential"], now=NOW)


def test_message_purpose_returns_the_message() -> None:
    messages = [{"status": f"0x{n:X}", "message": text}
                for n, text in enumerate(["pending_review", "accepted", "rejected", "undefined"])]
    bitstring = Bitstring.new(MIN_STATUS_LIST_LENGTH, status_size=2)
    bitstring.set(492847 % MIN_STATUS_LIST_LENGTH, 2)
    entry = _entry(492847 % MIN_STATUS_LIST_LENGTH, statusPurpose="message", statusSize=2, statusMessage=messages)
    result = check_bitstring_status(entry, _list_credential(bitstring, statusPurpose="message"), now=NOW)
    assert result == {"status": 2, "purpose": "message", "valid": False, "message": "rejected"}
    one_bit = check_bitstring_status(_entry(1, statusPurpose="message"), _list_credential(statusPurpose="message"),
                                     now=NOW)
    assert one_bit == {"status": 0, "purpose": "message", "valid": True, "message": "unset"}


# --- the whole Validate Algorithm, with a VC-JWT list over HTTP ---------------------------------------


def test_validate_maps_dereference_failures_to_spec_errors() -> None:
    def unreachable(url: str) -> dict[str, Any]:
        raise FetchError("connection refused")

    def forged(url: str) -> dict[str, Any]:
        raise SignatureInvalid("signature does not verify")

    def unknown_key(url: str) -> dict[str, Any]:
        raise KeyResolutionError("no key")

    with pytest.raises(StatusRetrievalError):
        validate_bitstring_status(_entry(), dereference=unreachable, now=NOW)
    with pytest.raises(StatusVerificationError):
        validate_bitstring_status(_entry(), dereference=forged, now=NOW)
    with pytest.raises(StatusVerificationError):
        validate_bitstring_status(_entry(), dereference=unknown_key, now=NOW)
    with pytest.raises(MalformedValueError):  # the entry is checked before anything is fetched
        validate_bitstring_status(_entry(statusListIndex="x"), dereference=unreachable, now=NOW)


@pytest.fixture
def list_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """Serves VC-JWT status list credentials from a dict path -> body on 127.0.0.1."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/vc+jwt")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def test_validate_a_vc_jwt_status_list_over_http(list_server: tuple[str, dict[str, bytes]]) -> None:
    base, served = list_server
    issuer_key = SoftwareSigner.generate("ES256", kid="did:web:issuer.example.edu#key-1")
    url = f"{base}/status/bsl/revocation/3"
    bitstring = Bitstring.new()
    bitstring.set(94567, 1)
    list_credential = create_status_list_credential(
        id=url, issuer="did:web:issuer.example.edu", status_purpose="revocation", bitstring=bitstring,
        valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=1))
    served["/status/bsl/revocation/3"] = sign_vc_jwt(list_credential, issuer_key).encode("ascii")
    forger = SoftwareSigner.generate("ES256", kid="did:web:issuer.example.edu#key-1")
    served["/status/bsl/revocation/4"] = sign_vc_jwt({**list_credential, "id": f"{base}/status/bsl/revocation/4"},
                                                     forger).encode("ascii")

    with Fetcher(FetchPolicy(allow_http_loopback=True)) as fetcher:
        def dereference(list_url: str) -> dict[str, Any]:
            _, body = fetcher.get_bytes(list_url, accept="application/vc+jwt")
            verified = verify_vc_jwt(body.decode("ascii"), resolve_key=lambda h, c: dict(issuer_key.public_jwk), now=NOW)
            return verified.credential

        revoked = create_status_list_entry(status_list_credential=url, status_list_index=94567)
        fine = create_status_list_entry(status_list_credential=url, status_list_index=94568)
        assert validate_bitstring_status(revoked, dereference=dereference, now=NOW) == {
            "status": 1, "purpose": "revocation", "valid": False}
        assert validate_bitstring_status(fine, dereference=dereference, now=NOW)["valid"] is True
        with pytest.raises(StatusRetrievalError):
            validate_bitstring_status(
                create_status_list_entry(status_list_credential=f"{base}/status/missing", status_list_index=1),
                dereference=dereference, now=NOW)
        with pytest.raises(StatusVerificationError):
            validate_bitstring_status(
                create_status_list_entry(status_list_credential=f"{base}/status/bsl/revocation/4", status_list_index=1),
                dereference=dereference, now=NOW)


def test_a_list_signed_a_moment_ahead_of_our_clock_is_valid_within_the_skew() -> None:
    """A list signed just now by a host (or in a second) ahead of ours: accepted within `skew`, not beyond."""
    list_credential = _list_credential()
    list_credential["validFrom"] = "2026-10-01T00:00:30Z"
    assert check_bitstring_status(_entry(), list_credential, now=NOW)["valid"]
    with pytest.raises(StatusVerificationError, match="not valid yet"):
        check_bitstring_status(_entry(), list_credential, now=NOW, skew=timedelta(seconds=10))

"""Service layer of presentation requests on a real SQLite database: create, request objects, claim once,
results, retention."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from schemas.dcql import parse_dcql_query
from schemas.oauth2 import InvalidRequest, NotFound
from schemas.oid4vp import AuthorizationRequest, parse_authorization_request_uri
from servicekit.database import make_engine, upgrade_database
from servicekit.web.qr import qr_png
from vc.jws import decode_jws, verify_jws
from vc.key_resolution import resolve_verification_key
from vc.keys import MasterKey
from vc.x509 import validate_x5c
from verifier.app import MIGRATIONS
from verifier.identity import SigningIdentity, load_identity
from verifier.models import PresentationRequest, RequestStatus, utcnow
from verifier.presets import OB3_TYPE_IRI, dcql_for_preset
from verifier.requests import (
    NewRequest,
    answer_presentation_request,
    authorization_request_uri,
    client_metadata,
    create_presentation_request,
    find_request_to_answer,
    get_presentation_request,
    request_object,
)
from verifier.results import delete_expired_results, presentation_result
from verifier.settings import VerifierSettings


@dataclass
class Verifier:
    engine: Engine
    settings: VerifierSettings
    master_key: MasterKey
    identity: SigningIdentity

    def create(self, **options: object) -> PresentationRequest:
        options.setdefault("dcql_query", dcql_for_preset("ob3"))
        with Session(self.engine, expire_on_commit=False) as session:
            return create_presentation_request(session=session, settings=self.settings, identity=self.identity,
                                               master_key=self.master_key, new=NewRequest(**options))  # type: ignore[arg-type]


@pytest.fixture
def verifier(tmp_path: Path) -> Iterator[Verifier]:
    settings = VerifierSettings(var_dir=tmp_path, public_url="http://localhost:8003",
                                certificate_dns_name="localhost")
    engine = make_engine(settings.db_url)
    upgrade_database(engine, MIGRATIONS)
    master_key = MasterKey.from_text(MasterKey.generate_text())
    yield Verifier(engine, settings, master_key, load_identity(engine, master_key, settings))
    engine.dispose()


def test_identity_is_made_once_and_reused(verifier: Verifier) -> None:
    again = load_identity(verifier.engine, verifier.master_key, verifier.settings)
    assert again.x509_hash == verifier.identity.x509_hash
    assert again.signer.public_jwk == verifier.identity.signer.public_jwk
    assert verifier.identity.dns_names == ["localhost"]
    assert verifier.identity.did == "did:web:localhost%3A8003"


def test_x509_hash_request_object_is_signed_with_the_leaf_in_x5c(verifier: Verifier) -> None:
    request = verifier.create()
    assert request.client_id == f"x509_hash:{verifier.identity.x509_hash}"
    token = request_object(settings=verifier.settings, identity=verifier.identity, master_key=verifier.master_key,
                           request=request)
    decoded = decode_jws(token)
    assert decoded.header["typ"] == "oauth-authz-req+jwt" and decoded.header["alg"] == "ES256"
    chain = validate_x5c(decoded.header["x5c"])
    assert f"x509_hash:{chain.x509_hash}" == request.client_id
    verify_jws(token, chain.public_jwk, algorithms=["ES256"], typ="oauth-authz-req+jwt")
    claims = AuthorizationRequest.model_validate(decoded.claims())
    assert claims.client_id == request.client_id and claims.nonce == request.nonce and claims.state == request.state
    assert claims.response_uri == "http://localhost:8003/oid4vp/response"
    assert decoded.claims()["aud"] == "https://self-issued.me/v2"
    assert len(request.nonce) >= 22 and request.nonce != request.state  # >= 128 bits


def test_direct_post_jwt_metadata_has_an_ephemeral_key_per_request(verifier: Verifier) -> None:
    first, second = verifier.create(response_mode="direct_post.jwt"), verifier.create(response_mode="direct_post.jwt")
    one, two = client_metadata(verifier.master_key, first), client_metadata(verifier.master_key, second)
    [key] = one["jwks"]["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ECDH-ES" and key["use"] == "enc"
    assert "d" not in key and key["kid"] == first.id
    assert key["x"] != two["jwks"]["keys"][0]["x"]
    assert one["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    assert one["vp_formats_supported"]["dc+sd-jwt"]["kb-jwt_alg_values"]
    plain = client_metadata(verifier.master_key, verifier.create(response_mode="direct_post"))
    assert "jwks" not in plain and "jwt_vc_json" in plain["vp_formats_supported"]


def test_decentralized_identifier_request_is_signed_with_a_did_url_kid(verifier: Verifier) -> None:
    request = verifier.create(client_id_prefix="decentralized_identifier")
    assert request.client_id == "decentralized_identifier:did:web:localhost%3A8003"
    token = request_object(settings=verifier.settings, identity=verifier.identity, master_key=verifier.master_key,
                           request=request)
    assert decode_jws(token).header["kid"] == "did:web:localhost%3A8003#key-1"


def test_did_jwk_identity(verifier: Verifier) -> None:
    settings = verifier.settings.model_copy(update={"did_method": "jwk"})
    identity = load_identity(verifier.engine, verifier.master_key, settings)
    with Session(verifier.engine) as session:
        request = create_presentation_request(session=session, settings=settings, identity=identity,
                                              master_key=verifier.master_key,
                                              new=NewRequest(dcql_query=dcql_for_preset("ob3"),
                                                             client_id_prefix="decentralized_identifier"))
        token = request_object(settings=settings, identity=identity, master_key=verifier.master_key,
                               request=request)
    header = decode_jws(token).header
    jwk = resolve_verification_key(header, issuer=identity.did, relationship="authentication")
    verify_jws(token, jwk, algorithms=["ES256"], typ="oauth-authz-req+jwt")


def test_x509_san_dns_needs_a_dns_name(verifier: Verifier, tmp_path: Path) -> None:
    request = verifier.create(client_id_prefix="x509_san_dns")
    assert request.client_id == "x509_san_dns:localhost"
    settings = VerifierSettings(var_dir=tmp_path / "other")
    engine = make_engine(settings.db_url)
    upgrade_database(engine, MIGRATIONS)
    identity = load_identity(engine, verifier.master_key, settings)
    with Session(engine) as session, pytest.raises(InvalidRequest, match="DNS name"):
        create_presentation_request(session=session, settings=settings, identity=identity,
                                    master_key=verifier.master_key,
                                    new=NewRequest(dcql_query=dcql_for_preset("ob3"), client_id_prefix="x509_san_dns"))


def test_x509_san_dns_names_the_host_the_responses_go_to(verifier: Verifier, tmp_path: Path) -> None:
    """§5.9.3: a wallet refuses a response URI on another host than the client identifier names."""
    settings = VerifierSettings(var_dir=tmp_path / "elsewhere", certificate_dns_name="verifier.example.com",
                                public_url="https://verify.example.org")
    engine = make_engine(settings.db_url)
    upgrade_database(engine, MIGRATIONS)
    identity = load_identity(engine, verifier.master_key, settings)
    assert identity.dns_names == ["verifier.example.com"]
    with Session(engine) as session, pytest.raises(InvalidRequest, match="verify.example.org"):
        create_presentation_request(session=session, settings=settings, identity=identity,
                                    master_key=verifier.master_key,
                                    new=NewRequest(dcql_query=dcql_for_preset("ob3"), client_id_prefix="x509_san_dns"))


def test_by_reference_uri_and_its_qr_code(verifier: Verifier) -> None:
    request = verifier.create(request_uri_method="post")
    uri = authorization_request_uri(settings=verifier.settings, master_key=verifier.master_key, request=request)
    parsed = parse_authorization_request_uri(uri)
    assert uri.startswith("openid4vp://?")
    assert parsed.client_id == request.client_id and parsed.request_uri_method == "post"
    assert parsed.request_uri == f"http://localhost:8003/oid4vp/requests/{request.id}"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(uri))))
    assert code.text == uri


def test_redirect_uri_request_travels_unsigned_by_value(verifier: Verifier) -> None:
    request = verifier.create(client_id_prefix="redirect_uri", response_mode="direct_post")
    uri = authorization_request_uri(settings=verifier.settings, master_key=verifier.master_key, request=request)
    params = {k: v[0] for k, v in parse_qs(urlsplit(uri).query).items()}
    assert "request_uri" not in params and "request" not in params
    assert params["client_id"] == "redirect_uri:http://localhost:8003/oid4vp/response"
    parsed = parse_authorization_request_uri(uri)
    assert parsed.parameters is not None and parsed.parameters.nonce == request.nonce
    with pytest.raises(InvalidRequest):
        request_object(settings=verifier.settings, identity=verifier.identity, master_key=verifier.master_key,
                       request=request)


def test_presets() -> None:
    ob3 = dcql_for_preset("ob3")["credentials"][0]
    assert ob3["format"] == "jwt_vc_json" and ob3["meta"]["type_values"] == [[OB3_TYPE_IRI], ["OpenBadgeCredential"]]
    named = dcql_for_preset("ob3", achievement="Web Security")["credentials"][0]
    assert named["claims"] == [{"id": "achievement", "path": ["credentialSubject", "achievement", "name"],
                                "values": ["Web Security"]}]
    sd = dcql_for_preset("sd-jwt", claims=["given_name", "learning_outcomes.*", "achievement.name"],
                         vct_values=["https://x.example/vct"])
    assert sd["credentials"][0]["claims"] == [{"path": ["given_name"]}, {"path": ["learning_outcomes", None]},
                                              {"path": ["achievement", "name"]}]
    for query in (ob3, named, sd["credentials"][0]):
        parse_dcql_query({"credentials": [query]})
    with pytest.raises(InvalidRequest):
        dcql_for_preset("sd-jwt", achievement="x")
    with pytest.raises(InvalidRequest):
        dcql_for_preset("sd-jwt", claims=[""])


@pytest.mark.parametrize("query", [
    {}, {"credentials": []}, {"credentials": [{"id": "x", "format": "mso_mdoc", "meta": {"doctype_value": "d"}}]},
    {"credentials": [{"id": "x", "format": "dc+sd-jwt", "meta": {}}]},
    {"credentials": [{"id": "a b", "format": "jwt_vc_json", "meta": {"type_values": [["T"]]}}]},
])
def test_unanswerable_dcql_queries_are_refused(verifier: Verifier, query: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest):
        verifier.create(dcql_query=query)


def _verdict(status: str = RequestStatus.VERIFIED) -> dict[str, object]:
    return {"verdict": status, "checks": {}, "claims": {"q": {"grade": "8"}}}


def test_a_request_is_answered_once(verifier: Verifier) -> None:
    request = verifier.create()
    with verifier.engine.begin() as connection:
        found = find_request_to_answer(connection, state=request.state)
        assert found is not None and found.id == request.id and found.nonce == request.nonce
        assert found.dcql_query == request.dcql_query and found.answered_at is None
        assert find_request_to_answer(connection, request_id=request.id) == found
        assert find_request_to_answer(connection, state="unknown") is None
        assert answer_presentation_request(connection, request.id, result=_verdict(), response_code="code-1")
        assert not answer_presentation_request(connection, request.id, result=_verdict(RequestStatus.REJECTED))
        answered = find_request_to_answer(connection, request_id=request.id)
        assert answered is not None and answered.answered_at is not None
    with Session(verifier.engine) as session:
        stored = get_presentation_request(session, request.id)
        assert stored.status == RequestStatus.VERIFIED and stored.result == _verdict()
        assert stored.response_code == "code-1" and stored.answered_at is not None


def test_an_expired_request_cannot_be_answered(verifier: Verifier) -> None:
    request = verifier.create()
    with verifier.engine.begin() as connection:
        later = utcnow() + timedelta(hours=1)
        assert not answer_presentation_request(connection, request.id, result=_verdict(), now=later)
    with Session(verifier.engine) as session:
        stored = get_presentation_request(session, request.id)
        assert stored.answered_at is None and stored.result is None and stored.status == RequestStatus.PENDING


def test_concurrent_answers_have_exactly_one_winner(verifier: Verifier) -> None:
    request = verifier.create()
    barrier = threading.Barrier(24)
    wins: list[bool] = []

    def answer(number: int) -> None:
        barrier.wait()
        with verifier.engine.begin() as connection:
            wins.append(answer_presentation_request(connection, request.id, result={**_verdict(), "n": number}))

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 23 + [True]


def test_poll_result_pending_then_expired(verifier: Verifier) -> None:
    request = verifier.create()
    with Session(verifier.engine) as session:
        pending = presentation_result(session, get_presentation_request(session, request.id))
        assert pending["status"] == RequestStatus.PENDING and pending["checks"] == {} and pending["claims"] == {}
        later = presentation_result(session, get_presentation_request(session, request.id),
                                    now=utcnow() + timedelta(hours=1))
        assert later["status"] == RequestStatus.EXPIRED
        with pytest.raises(NotFound):
            get_presentation_request(session, "nope")


def test_retention_deletes_old_results_only(verifier: Verifier) -> None:
    old, new = verifier.create(), verifier.create()
    with Session(verifier.engine) as session:
        row = session.get(PresentationRequest, old.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=31)
        session.add(row)
        session.commit()
        assert delete_expired_results(session, retention_days=30) == 1
        assert session.get(PresentationRequest, old.id) is None
        assert session.get(PresentationRequest, new.id) is not None

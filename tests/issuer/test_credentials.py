"""The credential endpoint's service (`issuer.services.credentials`), without HTTP: every OB 3.0 credential
it signs passes the whole 1EdTech schema, nothing holds the database while signing, a refused request
logs nothing, and signing keys are unsealed once per process."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from issuer.admin_models import AwardPublic, BadgeClassUpdate
from issuer.formats import FORMATS
from issuer.models import Award, IssuedCredential, SigningKey
from issuer.services import badges, credentials, nonces, offers
from issuer.services.dpop import DpopNonces, DpopRequest, PresentedToken
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from schemas.oid4vci import PRE_AUTHORIZED_CODE_GRANT, InvalidNonce
from tests.issuer.factories import make_award, make_badge, make_institution
from tests.issuer.live import MICROCREDENTIAL
from vc.jws import decode_jws, sign_jws
from vc.keys import SoftwareSigner
from vc.ob3 import open_badge_credential_errors


def _access_token(session: Session, settings: IssuerSettings, award: AwardPublic) -> str:
    assert award.credential_offer_uri is not None
    reference = award.credential_offer_uri.rsplit("/", 1)[1]
    offer = offers.credential_offer(session=session, reference=reference, settings=settings)
    code = offer["grants"][PRE_AUTHORIZED_CODE_GRANT]["pre-authorized_code"]
    form = {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": code}
    return str(offers.redeem_pre_authorized_code(session=session, settings=settings, form=form)["access_token"])


def _bearer(settings: IssuerSettings, token: str) -> PresentedToken:
    return PresentedToken("bearer", token, DpopRequest((), "POST", settings.base_url + "/oid4vci/credential",
                                                       DpopNonces(b"test-secret")))


def _request(session: Session, settings: IssuerSettings, *, configuration_id: str, batch: int = 1,
             c_nonce: str | None = None) -> bytes:
    nonce = c_nonce or nonces.issue_c_nonce(session=session, ttl_seconds=300)
    proofs = []
    for _ in range(batch):
        holder = SoftwareSigner.generate("ES256")
        proofs.append(sign_jws({"aud": settings.base_url, "iat": int(time.time()), "nonce": nonce}, holder,
                               typ="openid4vci-proof+jwt", header={"jwk": holder.public_jwk}, include_kid=False))
    return json.dumps({"credential_configuration_id": configuration_id, "proofs": {"jwt": proofs}}).encode()


def _issue(session: Session, keys: KeyStore, settings: IssuerSettings, award: AwardPublic, *,
           configuration_id: str = "EduCredential", batch: int = 1) -> list[str]:
    token = _access_token(session, settings, award)
    body = _request(session, settings, configuration_id=configuration_id, batch=batch)
    answer = credentials.issue_credentials(session=session, keys=keys, settings=settings, body=body,
                                           presented=_bearer(settings, token))
    return [item["credential"] for item in answer["credentials"]]


def _write_lock_is_free(database: Path) -> bool:
    """Whether another connection could start writing at once (SQLite allows one writer)."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@pytest.fixture
def database(settings: IssuerSettings) -> Path:
    return Path(settings.db_url.split("///", 1)[1])


def test_every_issued_open_badge_passes_the_whole_schema(session: Session, admin: Principal, keys: KeyStore,
                                                         settings: IssuerSettings) -> None:
    """What each credential shares with others is checked once (`vc.ob3.SharedContentValidator`); the
    whole credential, as a verifier receives it, must still pass a full validation, in every shape."""
    institution = make_institution(session, admin, keys, country="NL", homepage="https://uv.example.nl/")
    micro = make_badge(session, admin, institution.id, settings.base_url, **MICROCREDENTIAL)
    plain = make_badge(session, admin, institution.id, settings.base_url, name="Plain", ects=None, eqf_level=None)
    issued = []
    for badge, fields in [(micro, {"result": "8.5"}), (micro, {"eduid": "urn:eduid:7", "result": "6"}),
                          (micro, {}), (plain, {}), (plain, {"eduid": "urn:eduid:8"})]:
        for n in range(2):
            award = make_award(session, admin, badge.id, settings, email=f"l{len(issued)}.{n}@x.nl", **fields)
            issued += _issue(session, keys, settings, award, batch=1 + n * 2)
    badges.update_badge_class(session=session, principal=admin, badge_class_id=micro.id, base_url=settings.base_url,
                              data=BadgeClassUpdate(description="Edited after the first credentials.",
                                                    tags=["security", "edited"]))
    award = make_award(session, admin, micro.id, settings, email="after@x.nl", result="7")
    issued += _issue(session, keys, settings, award, batch=2)
    baked = session.get(Award, award.id)
    assert baked is not None
    issued.append(credentials.issue_credential(session=session, keys=keys, settings=settings, award=baked,
                                               configuration_id="EduCredential", holder=None))
    assert len(issued) == 5 * (1 + 3) + 2 + 1
    descriptions = set()
    for token in issued:
        payload = decode_jws(token).claims()
        assert open_badge_credential_errors(payload) == [], payload["credentialSubject"]
        descriptions.add(payload["credentialSubject"]["achievement"]["description"])
    assert "Edited after the first credentials." in descriptions


def test_no_transaction_is_open_while_credentials_are_signed(session: Session, admin: Principal, keys: KeyStore,
                                                             settings: IssuerSettings, database: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    institution = make_institution(session, admin, keys)
    badge = make_badge(session, admin, institution.id, settings.base_url)
    award = make_award(session, admin, badge.id, settings, format="dc+sd-jwt")
    seen: list[bool] = []
    original = FORMATS["EduCredentialSdJwt"]

    class Watching:
        configuration_id, format, status_kind = original.configuration_id, original.format, original.status_kind

        def configuration(self, base_url: str) -> dict[str, Any]:
            return original.configuration(base_url)

        def issue(self, context: Any) -> str:
            seen.append(not session.in_transaction() and _write_lock_is_free(database))
            return original.issue(context)

    monkeypatch.setitem(FORMATS, "EduCredentialSdJwt", Watching())
    assert len(_issue(session, keys, settings, award, configuration_id="EduCredentialSdJwt", batch=3)) == 3
    assert seen == [True, True, True]
    assert len(session.exec(select(IssuedCredential)).all()) == 3, "logged, with their status entries, before"


def test_a_refused_nonce_logs_nothing_and_frees_the_database(session: Session, admin: Principal, keys: KeyStore,
                                                             settings: IssuerSettings, database: Path) -> None:
    institution = make_institution(session, admin, keys)
    badge = make_badge(session, admin, institution.id, settings.base_url)
    award = make_award(session, admin, badge.id, settings)
    token = _access_token(session, settings, award)
    body = _request(session, settings, configuration_id="EduCredential", batch=2, c_nonce="never-issued")
    with pytest.raises(InvalidNonce):
        credentials.issue_credentials(session=session, keys=keys, settings=settings, body=body,
                                           presented=_bearer(settings, token))
    assert _write_lock_is_free(database)
    assert session.exec(select(IssuedCredential)).all() == []


def test_signing_keys_are_unsealed_once_and_the_cache_is_bounded(session: Session, admin: Principal, keys: KeyStore,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("A", "B", "C"):
        make_institution(session, admin, keys, name=name)
    rows = session.exec(select(SigningKey).order_by(SigningKey.id)).all()  # type: ignore[arg-type]
    assert len(rows) == 3
    small = KeyStore(keys.master_key, keys.base_url, cache_size=2)
    unsealed: list[str] = []
    open_private_key = small.master_key.open_private_key

    def counting(sealed: str, aad: str) -> Any:
        unsealed.append(aad)
        return open_private_key(sealed, aad)

    monkeypatch.setattr(small.master_key, "open_private_key", counting)
    first = small.signer_for(rows[0])
    assert small.signer_for(rows[0]) is first and len(unsealed) == 1
    small.signer_for(rows[1])
    small.signer_for(rows[2])  # the least recently used one (rows[0]) leaves the cache
    assert len(unsealed) == 3
    small.signer_for(rows[2])
    small.signer_for(rows[0])
    assert len(unsealed) == 4


def test_a_status_index_claimed_by_a_concurrent_request_is_picked_again(
        session: Session, admin: Principal, keys: KeyStore, settings: IssuerSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL two requests can pick the same free index at once: the loser's insert fails on the unique
    (list, index) pair, and its whole write step (nonce included) is rolled back and done again."""
    institution = make_institution(session, admin, keys)
    badge = make_badge(session, admin, institution.id, settings.base_url)
    award = make_award(session, admin, badge.id, settings)
    claim = credentials.claim_status_entries
    attempts: list[int] = []

    def losing_once(**kwargs: Any) -> Any:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise IntegrityError("INSERT INTO issuedcredential ...", {}, Exception("uq_status_entry"))
        return claim(**kwargs)

    monkeypatch.setattr(credentials, "claim_status_entries", losing_once)
    [token] = _issue(session, keys, settings, award)
    assert attempts == [0, 1]
    assert decode_jws(token).claims()["credentialStatus"]["statusListIndex"]
    assert len(session.exec(select(IssuedCredential)).all()) == 1

"""vc.checks: every named check runs and reports; forged or stale credentials fail for the right reason."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas.dcql import parse_dcql_query
from tests.verifier import factories
from tests.verifier.factories import NOW, VCT, Issuer, Party, present_vp_jwt
from vc.bitstring_status_list import validate_bitstring_status
from vc.checks import (
    CHECK_NAMES,
    CREDENTIAL_REVOKED,
    CREDENTIAL_SUSPENDED,
    CheckContext,
    CredentialReport,
    HolderBinding,
    check_credential_json,
    check_dcql,
    check_sd_jwt_vc,
    check_vc_jwt,
    check_vp_jwt,
)
from vc.dcql import OB_VOCAB
from vc.encoding import b64url_decode, b64url_encode
from vc.jws import sign_jws
from vc.key_resolution import VerificationKeyResolver
from vc.keys import SoftwareSigner
from vc.sd_jwt import create_disclosure, create_key_binding_jwt, parse_sd_jwt
from vc.token_status_list import INVALID, SUSPENDED, check_status
from vc.vc_jwt import verify_vc_jwt

AUDIENCE = "x509_hash:ab12cd34"
NONCE = "n-0S6_WzA2Mj"


def present_sd_jwt_vc(*args: Any, now: datetime = NOW, **kwargs: Any) -> str:
    """The factory's presentation, its KB-JWT dated at the checks' `NOW` (not the clock, which moves on
    while a long test session runs)."""
    return factories.present_sd_jwt_vc(*args, now=now, **kwargs)


def context_for(issuer: Issuer, **changes: Any) -> CheckContext:
    resolver = VerificationKeyResolver(fetcher=None)

    def bitstring(entry: Any, credential_issuer: str | None) -> Any:
        purpose = entry["statusPurpose"]
        return validate_bitstring_status(
            entry, dereference=lambda url: verify_vc_jwt(
                issuer.status_list_credential_jwt(purpose),
                resolve_key=resolver).credential)

    context = CheckContext(
        issuer_key=resolver, holder_key=VerificationKeyResolver(fetcher=None, relationship="authentication"), now=NOW,
        holder_binding=HolderBinding(audience=AUDIENCE, nonce=NONCE),
        token_status=lambda claim, _issuer: check_status(claim, fetch_token=lambda uri: issuer.status_list_token(),
                                                resolve_key=resolver),
        bitstring_status=bitstring, trusted_issuers=[issuer.id])
    return replace(context, **changes)


def outcome(report: CredentialReport, name: str) -> str:
    return report.checks[name].outcome


def assert_only_failure(report: CredentialReport, name: str, reason: str) -> None:
    failed = {n: c.reason for n, c in report.checks.items() if c.outcome == "failed"}
    assert list(failed) == [name], failed
    assert reason.lower() in (failed[name] or "").lower(), failed[name]
    assert not report.verified


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def holder() -> Party:
    return Party.new()


def sd_presentation(issuer: Issuer, holder: Party, **options: Any) -> str:
    return present_sd_jwt_vc(issuer.sd_jwt_vc(holder, status_index=5, **options), holder, audience=AUDIENCE,
                             nonce=NONCE)


# -- dc+sd-jwt ---------------------------------------------------------------------------------

def test_sd_jwt_vc_presentation_passes_every_check(issuer: Issuer, holder: Party) -> None:
    report = check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer))
    assert report.verified, report.to_json()
    assert set(report.checks) == set(CHECK_NAMES)
    assert {n: c.outcome for n, c in report.checks.items()} == {
        "issuer_signature": "passed", "holder_binding": "passed", "validity_period": "passed", "status": "passed",
        "trusted_issuer": "passed", "ob3_schema": "skipped", "dcql": "skipped"}
    assert report.issuer == issuer.id and report.types == ["https://issuer.example.edu/vct/microcredential/v1"]
    # Only what was disclosed: given_name and grade, not family_name.
    assert report.claims["given_name"] == "Ada" and report.claims["grade"] == "8.5"
    assert "family_name" not in report.claims and "_sd" not in report.claims


def test_tampered_issuer_signature_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = sd_presentation(issuer, holder)
    jwt, rest = presentation.split("~", 1)
    header, payload, signature = jwt.split(".")
    forged = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    report = check_sd_jwt_vc(f"{header}.{payload}.{forged}~{rest}", context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"
    assert "signature" in (report.checks["issuer_signature"].reason or "")
    assert not report.verified


def _resigned(presentation: str, header: dict[str, Any], sign: Any) -> str:
    jwt, rest = presentation.split("~", 1)
    payload = jwt.split(".")[1]
    head = b64url_encode(json.dumps(header).encode())
    return f"{head}.{payload}.{sign(f'{head}.{payload}'.encode())}~{rest}"


def test_alg_none_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = _resigned(sd_presentation(issuer, holder), {"alg": "none", "typ": "dc+sd-jwt"}, lambda _: "AAAA")
    report = check_sd_jwt_vc(presentation, context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"
    assert "none" in (report.checks["issuer_signature"].reason or "")


def test_hs256_with_the_public_key_as_secret_is_refused(issuer: Issuer, holder: Party) -> None:
    import hashlib
    import hmac

    secret = json.dumps(issuer.party.jwk).encode()
    presentation = _resigned(sd_presentation(issuer, holder),
                             {"alg": "HS256", "typ": "dc+sd-jwt", "kid": issuer.party.signer.kid},
                             lambda data: b64url_encode(hmac.new(secret, data, hashlib.sha256).digest()))
    report = check_sd_jwt_vc(presentation, context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"
    assert "HMAC" in (report.checks["issuer_signature"].reason or "")


def test_key_from_another_issuer_is_refused(issuer: Issuer, holder: Party) -> None:
    """Signed by another party's key but claiming our issuer (its kid names the issuer's DID)."""
    other = Party.new()
    impostor = Issuer(party=Party(other.signer.with_kid(issuer.party.signer.kid), issuer.party.did))
    report = check_sd_jwt_vc(sd_presentation(impostor, holder), context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"


def test_replayed_nonce_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = sd_presentation(issuer, holder)
    report = check_sd_jwt_vc(presentation, context_for(issuer, holder_binding=HolderBinding(AUDIENCE, "other-nonce")))
    assert_only_failure(report, "holder_binding", "nonce")


def test_wrong_audience_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = sd_presentation(issuer, holder)
    report = check_sd_jwt_vc(presentation, context_for(
        issuer, holder_binding=HolderBinding("x509_hash:someone-else", NONCE)))
    assert_only_failure(report, "holder_binding", "aud")


def test_stale_kb_jwt_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = present_sd_jwt_vc(issuer.sd_jwt_vc(holder), holder, audience=AUDIENCE, nonce=NONCE,
                                     now=NOW - timedelta(hours=1))
    report = check_sd_jwt_vc(presentation, context_for(issuer))
    assert_only_failure(report, "holder_binding", "iat")


def test_kb_jwt_from_the_future_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = present_sd_jwt_vc(issuer.sd_jwt_vc(holder), holder, audience=AUDIENCE, nonce=NONCE,
                                     now=NOW + timedelta(hours=1))
    assert_only_failure(check_sd_jwt_vc(presentation, context_for(issuer)), "holder_binding", "iat")


def test_kb_jwt_signed_by_another_key_is_refused(issuer: Issuer, holder: Party) -> None:
    thief = Party.new()
    presentation = present_sd_jwt_vc(issuer.sd_jwt_vc(holder), thief, audience=AUDIENCE, nonce=NONCE)
    assert_only_failure(check_sd_jwt_vc(presentation, context_for(issuer)), "holder_binding", "signature")


def test_missing_kb_jwt_is_refused(issuer: Issuer, holder: Party) -> None:
    sd_jwt = issuer.sd_jwt_vc(holder)
    assert_only_failure(check_sd_jwt_vc(sd_jwt, context_for(issuer)), "holder_binding", "no KB-JWT")


def test_added_disclosure_is_refused(issuer: Issuer, holder: Party) -> None:
    """A Disclosure the issuer never made (no digest references it)."""
    parsed = parse_sd_jwt(present_sd_jwt_vc(issuer.sd_jwt_vc(holder), holder, audience=AUDIENCE, nonce=NONCE))
    extra = create_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "grade", "10").encoded
    forged = "~".join((parsed.issuer_jwt, *parsed.disclosures, extra, ""))
    # The holder even signs a KB-JWT over it: the Disclosure is still not the issuer's.
    presentation = forged + create_key_binding_jwt(forged, holder.signer.with_kid(None), audience=AUDIENCE,
                                                   nonce=NONCE)
    report = check_sd_jwt_vc(presentation, context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"
    assert "not referenced" in (report.checks["issuer_signature"].reason or "")


def test_altered_disclosure_is_refused(issuer: Issuer, holder: Party) -> None:
    presentation = sd_presentation(issuer, holder)
    parts = presentation.split("~")
    for i, part in enumerate(parts[1:-1], start=1):
        salt, name, value = json.loads(b64url_decode(part))
        if name == "grade":
            parts[i] = b64url_encode(json.dumps([salt, name, "10"]).encode())
    report = check_sd_jwt_vc("~".join(parts), context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"


def test_sd_hash_mismatch_is_refused(issuer: Issuer, holder: Party) -> None:
    """A valid KB-JWT made over fewer Disclosures than are sent along with it."""
    sd_jwt = issuer.sd_jwt_vc(holder)
    short = present_sd_jwt_vc(sd_jwt, holder, audience=AUDIENCE, nonce=NONCE, disclose=(("given_name",),))
    full = present_sd_jwt_vc(sd_jwt, holder, audience=AUDIENCE, nonce=NONCE)
    kb_jwt = short.rsplit("~", 1)[1]
    forged = full.rsplit("~", 1)[0] + "~" + kb_jwt
    assert_only_failure(check_sd_jwt_vc(forged, context_for(issuer)), "holder_binding", "sd_hash")


def test_expired_sd_jwt_vc_is_refused(issuer: Issuer, holder: Party) -> None:
    report = check_sd_jwt_vc(sd_presentation(issuer, holder, exp=NOW - timedelta(days=1)), context_for(issuer))
    assert_only_failure(report, "validity_period", "expired")


def test_not_yet_valid_sd_jwt_vc_is_refused(issuer: Issuer, holder: Party) -> None:
    report = check_sd_jwt_vc(sd_presentation(issuer, holder, nbf=NOW + timedelta(days=1)), context_for(issuer))
    assert_only_failure(report, "validity_period", "not valid yet")


def test_clock_skew_is_allowed(issuer: Issuer, holder: Party) -> None:
    presentation = sd_presentation(issuer, holder, nbf=NOW + timedelta(seconds=30))
    assert check_sd_jwt_vc(presentation, context_for(issuer, clock_skew=timedelta(minutes=1))).verified
    assert not check_sd_jwt_vc(presentation, context_for(issuer, clock_skew=timedelta(0))).verified


def test_revoked_sd_jwt_vc_is_refused_with_credential_revoked(issuer: Issuer, holder: Party) -> None:
    issuer.token_list.set(5, INVALID)
    report = check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer))
    assert_only_failure(report, "status", "revoked")
    assert report.errors == [CREDENTIAL_REVOKED]


def test_suspended_sd_jwt_vc_is_refused(issuer: Issuer, holder: Party) -> None:
    issuer.token_list.set(5, SUSPENDED)
    report = check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer))
    assert_only_failure(report, "status", "suspended")
    assert report.errors == [CREDENTIAL_SUSPENDED]


def test_untrusted_issuer_is_refused(issuer: Issuer, holder: Party) -> None:
    report = check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer, trusted_issuers=["did:web:x"]))
    assert_only_failure(report, "trusted_issuer", "not a trusted issuer")


def test_no_trusted_issuer_list_skips_the_check(issuer: Issuer, holder: Party) -> None:
    report = check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer, trusted_issuers=None))
    assert report.verified and outcome(report, "trusted_issuer") == "skipped"


def test_dcql_is_judged_per_credential_over_the_whole_vp_token(issuer: Issuer, holder: Party) -> None:
    query = parse_dcql_query({"credentials": [
        {"id": "grade", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}, "claims": [{"path": ["grade"]}]},
        {"id": "name", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}, "claims": [{"path": ["family_name"]}]},
    ]})
    presented = {"grade": [check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer))],
                 "name": [check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer))]}
    assert all(outcome(r, "dcql") == "skipped" for reports in presented.values() for r in reports)
    check = check_dcql(query, presented)
    assert not check.satisfied
    assert outcome(presented["grade"][0], "dcql") == "passed" and presented["grade"][0].verified
    assert_only_failure(presented["name"][0], "dcql", "family_name")
    assert "credential query name has no matching credential" in check.problems


def test_dcql_refuses_unknown_ids_and_counts_and_skips_unverified_credentials(issuer: Issuer, holder: Party) -> None:
    query = parse_dcql_query({"credentials": [
        {"id": "badge", "format": "jwt_vc_json", "meta": {"type_values": [[OB_VOCAB + "OpenBadgeCredential"]]}}]})
    # OB 3.0.3 makes AchievementCredential an alias of OpenBadgeCredential: the expanded type matches.
    alias = issuer.ob3_credential(holder)
    alias["type"] = ["VerifiableCredential", "AchievementCredential"]
    [report] = check_vp_jwt(present_vp_jwt([issuer.sign_credential(alias)], holder, audience=AUDIENCE,
                                           nonce=NONCE), context_for(issuer))
    assert check_dcql(query, {"badge": [report]}).satisfied and outcome(report, "dcql") == "passed"

    two = check_vp_jwt(present_vp_jwt([issuer.ob3_jwt(holder)] * 2, holder, audience=AUDIENCE, nonce=NONCE),
                       context_for(issuer))
    check = check_dcql(query, {"badge": two, "extra": []})
    assert check.problems[:2] == ("badge: expected one presentation, got 2",
                                  "vp_token has extra, which is not a credential query id")
    assert all(outcome(r, "dcql") == "failed" for r in two)

    forged = check_vp_jwt(present_vp_jwt([Issuer(party=Party(Party.new().signer.with_kid(issuer.party.signer.kid),
                                                              issuer.party.did)).ob3_jwt(holder)],
                                         holder, audience=AUDIENCE, nonce=NONCE), context_for(issuer))
    check = check_dcql(query, {"badge": forged})
    assert check.problems == ("credential query badge has no matching credential",)
    assert outcome(forged[0], "issuer_signature") == "failed" and outcome(forged[0], "dcql") == "skipped"


def test_every_failing_check_is_reported_not_only_the_first(issuer: Issuer, holder: Party) -> None:
    issuer.token_list.set(5, INVALID)
    presentation = present_sd_jwt_vc(issuer.sd_jwt_vc(holder, status_index=5, exp=NOW - timedelta(days=1)),
                                     holder, audience=AUDIENCE, nonce="stale-nonce")
    report = check_sd_jwt_vc(presentation, context_for(issuer, trusted_issuers=[]))
    failed = {n for n, c in report.checks.items() if c.outcome == "failed"}
    assert failed == {"holder_binding", "validity_period", "status", "trusted_issuer"}


def test_standalone_sd_jwt_without_binding_skips_holder_binding(issuer: Issuer, holder: Party) -> None:
    report = check_sd_jwt_vc(issuer.sd_jwt_vc(holder), context_for(issuer, holder_binding=None))
    assert report.verified and outcome(report, "holder_binding") == "skipped"
    # A pasted presentation with KB-JWT is still checked as a credential.
    assert check_sd_jwt_vc(sd_presentation(issuer, holder), context_for(issuer, holder_binding=None)).verified


def test_garbage_is_reported_not_raised(issuer: Issuer) -> None:
    report = check_sd_jwt_vc("not an sd-jwt", context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"
    assert all(outcome(report, n) == "skipped" for n in CHECK_NAMES if n != "issuer_signature")


# -- jwt_vc_json -------------------------------------------------------------------------------

def vp(issuer: Issuer, holder: Party, **options: Any) -> str:
    return present_vp_jwt([issuer.ob3_jwt(holder, status_index=7, **options)], holder, audience=AUDIENCE,
                          nonce=NONCE, iat=NOW)


def test_vp_jwt_with_ob3_credential_passes_every_check(issuer: Issuer, holder: Party) -> None:
    [report] = check_vp_jwt(vp(issuer, holder), context_for(issuer))
    assert report.verified, report.to_json()
    assert {n: c.outcome for n, c in report.checks.items()} == {
        "issuer_signature": "passed", "holder_binding": "passed", "validity_period": "passed", "status": "passed",
        "trusted_issuer": "passed", "ob3_schema": "passed", "dcql": "skipped"}
    assert report.claims["credentialSubject"]["achievement"]["name"] == "Web Security Essentials"


def test_vp_jwt_for_another_audience_is_refused(issuer: Issuer, holder: Party) -> None:
    [report] = check_vp_jwt(vp(issuer, holder), context_for(issuer, holder_binding=HolderBinding("other", NONCE)))
    assert_only_failure(report, "holder_binding", "aud")


def test_vp_jwt_with_replayed_nonce_is_refused(issuer: Issuer, holder: Party) -> None:
    [report] = check_vp_jwt(vp(issuer, holder), context_for(issuer, holder_binding=HolderBinding(AUDIENCE, "x")))
    assert_only_failure(report, "holder_binding", "nonce")


def test_stale_vp_jwt_is_refused(issuer: Issuer, holder: Party) -> None:
    token = present_vp_jwt([issuer.ob3_jwt(holder)], holder, audience=AUDIENCE, nonce=NONCE,
                           iat=NOW - timedelta(hours=1))
    [report] = check_vp_jwt(token, context_for(issuer))
    assert_only_failure(report, "holder_binding", "stale")


def test_vp_jwt_by_someone_else_than_the_bound_holder_is_refused(issuer: Issuer, holder: Party) -> None:
    thief = Party.new()
    token = present_vp_jwt([issuer.ob3_jwt(holder)], thief, audience=AUDIENCE, nonce=NONCE, iat=NOW)
    [report] = check_vp_jwt(token, context_for(issuer))
    assert_only_failure(report, "holder_binding", "bound")


def test_vc_jwt_with_tampered_signature_is_refused(issuer: Issuer, holder: Party) -> None:
    credential = issuer.ob3_jwt(holder)
    head, payload, signature = credential.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["name"] = "Forged Badge"
    forged = f"{head}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    token = present_vp_jwt([forged], holder, audience=AUDIENCE, nonce=NONCE, iat=NOW)
    [report] = check_vp_jwt(token, context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed" and not report.verified


def test_vc_jwt_signed_with_another_issuers_key_is_refused(issuer: Issuer, holder: Party) -> None:
    other = Party.new()
    impostor = Issuer(party=Party(other.signer.with_kid(issuer.party.signer.kid), issuer.party.did))
    token = present_vp_jwt([impostor.ob3_jwt(holder)], holder, audience=AUDIENCE, nonce=NONCE, iat=NOW)
    [report] = check_vp_jwt(token, context_for(issuer))
    assert outcome(report, "issuer_signature") == "failed"


def test_expired_ob3_credential_is_refused(issuer: Issuer, holder: Party) -> None:
    [report] = check_vp_jwt(vp(issuer, holder, valid_from=NOW - timedelta(days=9),
                               valid_until=NOW - timedelta(days=1)), context_for(issuer))
    assert_only_failure(report, "validity_period", "expired")


def test_not_yet_valid_ob3_credential_is_refused(issuer: Issuer, holder: Party) -> None:
    [report] = check_vp_jwt(vp(issuer, holder, valid_from=NOW + timedelta(days=1)), context_for(issuer))
    assert_only_failure(report, "validity_period", "not valid before")


def test_revoked_ob3_credential_is_refused(issuer: Issuer, holder: Party) -> None:
    issuer.bitstring("revocation").set(7, 1)
    [report] = check_vp_jwt(vp(issuer, holder), context_for(issuer))
    assert_only_failure(report, "status", "revoked")
    assert report.errors == [CREDENTIAL_REVOKED]


def test_suspended_ob3_credential_is_refused(issuer: Issuer, holder: Party) -> None:
    issuer.bitstring("suspension").set(7, 1)
    [report] = check_vp_jwt(vp(issuer, holder, status_purpose="suspension"), context_for(issuer))
    assert_only_failure(report, "status", "suspended")
    assert report.errors == [CREDENTIAL_SUSPENDED]


def test_schema_invalid_ob3_credential_is_refused(issuer: Issuer, holder: Party) -> None:
    credential = issuer.ob3_credential(holder)
    del credential["credentialSubject"]["achievement"]["criteria"]
    credential["credentialSubject"]["achievement"]["name"] = 42
    token = present_vp_jwt([issuer.sign_credential(credential)], holder, audience=AUDIENCE, nonce=NONCE, iat=NOW)
    [report] = check_vp_jwt(token, context_for(issuer))
    assert_only_failure(report, "ob3_schema", "name")


def test_untrusted_ob3_issuer_is_refused(issuer: Issuer, holder: Party) -> None:
    [report] = check_vp_jwt(vp(issuer, holder), context_for(issuer, trusted_issuers=["did:web:other.example"]))
    assert_only_failure(report, "trusted_issuer", "not a trusted issuer")


def test_unreadable_vp_is_reported(issuer: Issuer) -> None:
    [report] = check_vp_jwt("e30.e30.sig", context_for(issuer))
    assert not report.verified and outcome(report, "holder_binding") == "failed"


def test_standalone_vc_jwt_and_json_credential(issuer: Issuer, holder: Party) -> None:
    report = check_vc_jwt(issuer.ob3_jwt(holder), context_for(issuer, holder_binding=None))
    assert report.verified and outcome(report, "holder_binding") == "skipped"
    as_json = check_credential_json(issuer.ob3_credential(holder), context_for(issuer, holder_binding=None))
    assert outcome(as_json, "issuer_signature") == "failed" and outcome(as_json, "ob3_schema") == "passed"
    assert outcome(as_json, "validity_period") == "passed"


def test_vp_jwt_holder_key_signer_without_did(issuer: Issuer, holder: Party) -> None:
    """A VP signed by a key whose kid is not a DID URL of the holder."""
    rogue = SoftwareSigner(holder.signer.private_key, kid="key-1")
    token = sign_jws({"iss": holder.did, "aud": AUDIENCE, "nonce": NONCE, "iat": int(NOW.timestamp()),
                      "vp": {"@context": ["https://www.w3.org/2018/credentials/v1"],
                             "type": ["VerifiablePresentation"],
                             "verifiableCredential": [issuer.ob3_jwt(holder)]}}, rogue, typ="JWT")
    [report] = check_vp_jwt(token, context_for(issuer))
    assert_only_failure(report, "holder_binding", "kid")

"""Named verification checks of a presented or uploaded credential, every one reported.

Like walt.id's verification policies, each check has a name and a result (`passed`, `failed`
with a reason, or `skipped` with why), and every check runs: a report says *all* that is
wrong with a credential, not only the first thing. A credential is accepted when no check
failed.

Checks (OpenID4VP 1.0 §8.6 / PROTOCOLS §2.4, https://openid.net/specs/openid-4-verifiable-presentations-1_0.html):

- `issuer_signature`: the issuer's signature (and, for SD-JWT, every Disclosure's digest,
  RFC 9901 §7.1) verifies with the issuer's key (did:web, did:jwk, did:key or JWT VC Issuer
  Metadata, through the `issuer_key` resolver handed in).
- `holder_binding`: the KB-JWT (RFC 9901 §7.3: `typ kb+jwt`, the `cnf` key, `aud` = the
  verifier's full client id, `nonce`, `sd_hash`, `iat` window) or the VP JWT (OpenID4VP
  App. B.1: signed by the key the credential is bound to, `aud`, `nonce`, fresh `iat`).
  Skipped when nothing was presented to us (standalone check) or the query waived it.
- `validity_period`: `exp`/`nbf`/`iat`, or `validFrom`/`validUntil`, with a clock skew.
- `status`: IETF Token Status List (SD-JWT VC) or W3C Bitstring Status List (VCs); revoked
  and suspended credentials fail with the error `credential_revoked` / `credential_suspended`.
- `trusted_issuer`: the issuer is in the trusted list (skipped when any issuer is accepted).
- `ob3_schema`: the 1EdTech JSON Schema, for OB 3.0 credentials in the VCDM 2.0 layout.
- `dcql`: the credential answers its DCQL Credential Query (format, type, requested claims
  and values), judged over the whole VP Token by `check_dcql` (with `vc.dcql`); skipped for a
  credential checked on its own.

Time, keys and status lists come in through `CheckContext`; nothing here fetches by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from schemas.dcql import DcqlQuery
from vc.bitstring_status_list import BITSTRING_STATUS_LIST_ENTRY, parse_status_list_entry
from vc.dcql import Candidate, DcqlCheck, check_presentations
from vc.errors import (
    KeyBindingError,
    MalformedToken,
    SchemaInvalid,
    StatusRevoked,
    StatusSuspended,
    TokenExpired,
    TokenNotYetValid,
    VcError,
)
from vc.jws import decode_jws
from vc.keys import SIGNING_ALGORITHMS, KeyResolver
from vc.ob3 import open_badge_credential_errors
from vc.presentation import verify_vp_jwt
from vc.sd_jwt import SEPARATOR, SdJwt, check_validity, parse_sd_jwt, verify_sd_jwt
from vc.token_status_list import ensure_valid
from vc.vc_jwt import OB3_CREDENTIAL_TYPES, VCDM_2_0, VcJwt, verify_vc_jwt

__all__ = [
    "CHECK_NAMES",
    "CREDENTIAL_REVOKED",
    "CREDENTIAL_SUSPENDED",
    "DCQL",
    "HOLDER_BINDING",
    "ISSUER_SIGNATURE",
    "OB3_SCHEMA",
    "SD_JWT_VC_TYPES",
    "STATUS",
    "TRUSTED_ISSUER",
    "VALIDITY_PERIOD",
    "CheckContext",
    "CheckResult",
    "CredentialReport",
    "HolderBinding",
    "check_credential_json",
    "check_dcql",
    "check_sd_jwt_vc",
    "check_vc_jwt",
    "check_vp_jwt",
]

ISSUER_SIGNATURE = "issuer_signature"
HOLDER_BINDING = "holder_binding"
VALIDITY_PERIOD = "validity_period"
STATUS = "status"
TRUSTED_ISSUER = "trusted_issuer"
OB3_SCHEMA = "ob3_schema"
DCQL = "dcql"
CHECK_NAMES = (ISSUER_SIGNATURE, HOLDER_BINDING, VALIDITY_PERIOD, STATUS, TRUSTED_ISSUER, OB3_SCHEMA, DCQL)

CREDENTIAL_REVOKED = "credential_revoked"
CREDENTIAL_SUSPENDED = "credential_suspended"

#: SD-JWT VC `typ` values: `dc+sd-jwt`, and the pre-2024 `vc+sd-jwt` still sent by some issuers.
SD_JWT_VC_TYPES = ("dc+sd-jwt", "vc+sd-jwt")
#: Passed to the library verifiers to switch their own time checks off; this module checks time itself.
_NO_TIME_CHECKS = timedelta(days=365_000)

Outcome = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: Outcome
    reason: str | None = None
    #: A machine-readable error code for failures that have one (`credential_revoked`, ...).
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": self.outcome}
        if self.reason:
            body["reason"] = self.reason
        if self.error:
            body["error"] = self.error
        return body


#: The passed result of each check (results are immutable, so one of each serves every report).
_PASSED = {name: CheckResult(name, "passed") for name in CHECK_NAMES}


@dataclass
class CredentialReport:
    """Every check of one credential, its issuer, and the claims it disclosed."""

    format: str
    checks: dict[str, CheckResult] = field(default_factory=dict)
    issuer: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    #: The SD-JWT VC `vct`, or the VC `type` list.
    types: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(check.outcome != "failed" for check in self.checks.values())

    @property
    def errors(self) -> list[str]:
        return [c.error for c in self.checks.values() if c.outcome == "failed" and c.error]

    def add(self, result: CheckResult) -> None:
        self.checks[result.name] = result

    def skip_rest(self, reason: str) -> None:
        for name in CHECK_NAMES:
            self.checks.setdefault(name, CheckResult(name, "skipped", reason))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "verified": self.verified,
            "issuer": self.issuer,
            "types": self.types,
            "checks": {name: self.checks[name].to_json() for name in CHECK_NAMES if name in self.checks},
            "claims": self.claims,
        }


@dataclass(frozen=True)
class HolderBinding:
    """What a holder binding must say to be bound to *this* request."""

    audience: str
    nonce: str
    max_age: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckContext:
    """Everything the checks need from outside: keys, time, status lists, trust, the query."""

    #: `(issuer, JOSE header) -> public JWK` of an issuer.
    issuer_key: KeyResolver
    #: `(holder DID, JOSE header) -> JWK` of a holder (VP JWT), e.g. with relationship `authentication`.
    holder_key: KeyResolver | None = None
    now: datetime | None = None
    clock_skew: timedelta = timedelta(minutes=5)
    #: None: not a presentation to us (a standalone check); `holder_binding` is skipped.
    holder_binding: HolderBinding | None = None
    #: Whether the query wants holder binding (DCQL `require_cryptographic_holder_binding`).
    require_holder_binding: bool = True
    #: `(status claim, credential issuer) -> Token Status List value` (`vc.token_status_list.check_status`).
    token_status: Callable[[Any, str | None], int] | None = None
    #: `(credentialStatus entry, credential issuer) -> {"status", "purpose", "valid"}` (`validate_bitstring_status`).
    bitstring_status: Callable[[Any, str | None], Mapping[str, Any]] | None = None
    #: Accepted issuers; None accepts any issuer (the check is then skipped).
    trusted_issuers: Collection[str] | None = None
    algorithms: Collection[str] = SIGNING_ALGORITHMS

    @property
    def moment(self) -> datetime:
        now = self.now or datetime.now(UTC)
        return now if now.tzinfo else now.replace(tzinfo=UTC)


@contextmanager
def _checking(report: CredentialReport, name: str) -> Iterator[None]:
    """Run one check: passes when the block returns, fails with the library's reason when it raises."""
    try:
        yield
    except StatusRevoked as exc:
        report.add(CheckResult(name, "failed", str(exc), CREDENTIAL_REVOKED))
    except StatusSuspended as exc:
        report.add(CheckResult(name, "failed", str(exc), CREDENTIAL_SUSPENDED))
    except (VcError, ValueError, TypeError, KeyError) as exc:
        report.add(CheckResult(name, "failed", str(exc) or type(exc).__name__))
    else:
        report.checks.setdefault(name, _PASSED[name])


def _trusted_issuer(report: CredentialReport, context: CheckContext) -> None:
    if context.trusted_issuers is None:
        report.add(CheckResult(TRUSTED_ISSUER, "skipped", "no trusted-issuer list: any issuer is accepted"))
    elif report.issuer is not None and report.issuer in context.trusted_issuers:
        report.add(_PASSED[TRUSTED_ISSUER])
    else:
        report.add(CheckResult(TRUSTED_ISSUER, "failed", f"issuer {report.issuer!r} is not a trusted issuer"))


_NO_QUERY = CheckResult(DCQL, "skipped", "no query to answer")
_NOT_A_BADGE = CheckResult(OB3_SCHEMA, "skipped", "not an Open Badges VC-JWT")


def check_dcql(query: DcqlQuery, presented: Mapping[str, Sequence[CredentialReport]]) -> DcqlCheck:
    """The `dcql` check of a VP Token (OpenID4VP 1.0 §8.6), by `vc.dcql.check_presentations`.

    `presented` maps each Credential Query id of the `vp_token` to the reports of its credentials.
    Only credentials whose issuer signature verified take part (their claims are the issuer's);
    each of them gets its `dcql` result here. Holder binding is its own named check, so it is not
    judged again as a DCQL requirement.
    """
    verified = {qid: [r for r in reports if _passed(r, ISSUER_SIGNATURE)] for qid, reports in presented.items()}
    candidates = {qid: [_candidate(qid, report) for report in reports]
                  for qid, reports in verified.items() if reports or not presented[qid]}
    check = check_presentations(query, candidates)
    for qid, verdicts in check.verdicts.items():
        for report, problem in zip(verified[qid], verdicts, strict=True):
            report.add(_PASSED[DCQL] if problem is None else CheckResult(DCQL, "failed", problem))
    return check


def _passed(report: CredentialReport, name: str) -> bool:
    check = report.checks.get(name)
    return check is not None and check.outcome == "passed"


def _candidate(query_id: str, report: CredentialReport) -> Candidate:
    sd_jwt_vc = report.format == "dc+sd-jwt"
    return Candidate(id=query_id, format=report.format, claims=report.claims,
                     vct=report.types[0] if sd_jwt_vc and report.types else None,
                     type=() if sd_jwt_vc else tuple(report.types))


# -- dc+sd-jwt -----------------------------------------------------------------------------------

def _token_status(report: CredentialReport, context: CheckContext, status_claim: Any) -> None:
    if status_claim is None:
        report.add(CheckResult(STATUS, "skipped", "the credential names no status list"))
    elif context.token_status is None:
        report.add(CheckResult(STATUS, "skipped", "status lists are not checked here"))
    else:
        with _checking(report, STATUS):
            ensure_valid(context.token_status(status_claim, report.issuer))


def _sd_jwt_unverified(report: CredentialReport, text: str, reason: str) -> CredentialReport:
    """The issuer signature failed: say whether the SD-JWT could be read at all, skip the rest."""
    try:
        parse_sd_jwt(text)
    except VcError as exc:
        report.add(CheckResult(ISSUER_SIGNATURE, "failed", f"not an SD-JWT: {exc}"))
        report.skip_rest("the credential could not be read")
        return report
    report.add(CheckResult(ISSUER_SIGNATURE, "failed", reason))
    report.skip_rest("the issuer's signature did not verify")
    return report


def check_sd_jwt_vc(text: str, context: CheckContext) -> CredentialReport:
    """Every check of an SD-JWT VC (with its KB-JWT when presented to us)."""
    report = CredentialReport(format="dc+sd-jwt")
    text = text.strip()
    want_binding = context.holder_binding is not None and context.require_holder_binding
    binding = context.holder_binding
    now = context.moment

    def verify(token: str, key_binding: bool) -> Any:
        # One pass verifies the issuer signature, the Disclosures and the KB-JWT; time is checked below.
        return verify_sd_jwt(
            token, issuer_key=lambda header, payload: context.issuer_key(payload.get("iss"), header),
            typ=SD_JWT_VC_TYPES, key_binding=key_binding, audience=binding.audience if binding else None,
            nonce=binding.nonce if binding else None, algorithms=context.algorithms,
            now=now, clock_skew=_NO_TIME_CHECKS, kb_max_age=_NO_TIME_CHECKS)

    verified = None
    if want_binding or text.endswith(SEPARATOR):  # checked with its KB-JWT, or it has none
        try:
            verified = verify(text, want_binding)
        except KeyBindingError as exc:
            report.add(CheckResult(HOLDER_BINDING, "failed", str(exc)))
        except VcError as exc:
            return _sd_jwt_unverified(report, text, str(exc))
    if verified is None:  # binding failed, or a KB-JWT we do not check: verify the SD-JWT alone
        try:
            parsed = parse_sd_jwt(text)
            verified = verify(SdJwt(parsed.issuer_jwt, parsed.disclosures).sd_jwt, False)
        except VcError as exc:
            return _sd_jwt_unverified(report, text, str(exc))
    report.add(_PASSED[ISSUER_SIGNATURE])
    claims: dict[str, Any] = verified.claims
    report.issuer = claims.get("iss") if isinstance(claims.get("iss"), str) else None
    report.types = [claims["vct"]] if isinstance(claims.get("vct"), str) else []
    report.claims = claims

    if HOLDER_BINDING not in report.checks:
        if not want_binding:
            why = "nothing was presented to a verifier" if binding is None else "the query does not ask for it"
            report.add(CheckResult(HOLDER_BINDING, "skipped", why))
        else:
            assert binding is not None and verified.kb_payload is not None
            iat = verified.kb_payload.get("iat")
            moment, skew = now.timestamp(), context.clock_skew.total_seconds()
            if (not isinstance(iat, int | float) or iat > moment + skew
                    or iat < moment - binding.max_age.total_seconds() - skew):
                report.add(CheckResult(HOLDER_BINDING, "failed", "the KB-JWT iat is outside the acceptable window"))
            else:
                report.add(_PASSED[HOLDER_BINDING])
    with _checking(report, VALIDITY_PERIOD):
        check_validity(claims, now=now, clock_skew=context.clock_skew)
    _token_status(report, context, claims.get("status"))
    _trusted_issuer(report, context)
    report.add(_NOT_A_BADGE)
    report.add(_NO_QUERY)
    return report


# -- jwt_vc_json -------------------------------------------------------------------------------

def _validity_period(report: CredentialReport, vc_jwt: VcJwt, context: CheckContext) -> None:
    moment, skew = context.moment, context.clock_skew
    if vc_jwt.valid_from is not None and moment + skew < vc_jwt.valid_from:
        report.add(CheckResult(VALIDITY_PERIOD, "failed", f"not valid before {vc_jwt.valid_from.isoformat()}"))
    elif vc_jwt.valid_until is not None and moment - skew >= vc_jwt.valid_until:
        report.add(CheckResult(VALIDITY_PERIOD, "failed", f"expired at {vc_jwt.valid_until.isoformat()}"))
    else:
        report.add(_PASSED[VALIDITY_PERIOD])


def _bitstring_status(report: CredentialReport, credential: Mapping[str, Any], context: CheckContext) -> None:
    with _checking(report, STATUS):
        status = credential.get("credentialStatus")
        items = status if isinstance(status, list) else [] if status is None else [status]
        entries = [(item, parse_status_list_entry(item)) for item in items
                   if isinstance(item, Mapping) and item.get("type") == BITSTRING_STATUS_LIST_ENTRY]
        entries = [(item, e) for item, e in entries if e.status_purpose in ("revocation", "suspension")]
        if not entries:
            report.add(CheckResult(STATUS, "skipped", "the credential names no revocation or suspension list"))
            return
        if context.bitstring_status is None:
            report.add(CheckResult(STATUS, "skipped", "status lists are not checked here"))
            return
        for item, entry in entries:
            if not context.bitstring_status(item, report.issuer).get("valid", False):
                if entry.status_purpose == "revocation":
                    raise StatusRevoked("the credential is revoked (Bitstring Status List)")
                raise StatusSuspended("the credential is suspended (Bitstring Status List)")


def _ob3_schema(report: CredentialReport, vc_jwt: VcJwt) -> None:
    types = vc_jwt.credential.get("type")
    types = types if isinstance(types, list) else [types]
    if not any(t in OB3_CREDENTIAL_TYPES for t in types):
        report.add(CheckResult(OB3_SCHEMA, "skipped", "not an Open Badges credential"))
    elif vc_jwt.vcdm != VCDM_2_0:
        report.add(CheckResult(OB3_SCHEMA, "skipped", "the 1EdTech schema covers the VCDM 2.0 layout only"))
    else:
        errors = open_badge_credential_errors(vc_jwt.credential)
        report.add(CheckResult(OB3_SCHEMA, "failed", "; ".join(errors[:5])) if errors
                   else CheckResult(OB3_SCHEMA, "passed"))


def _vc_jwt_report(token: str, context: CheckContext, holder_binding: CheckResult) -> CredentialReport:
    report = CredentialReport(format="jwt_vc_json")
    try:
        vc_jwt = verify_vc_jwt(token, resolve_key=context.issuer_key, algorithms=context.algorithms,
                               now=context.moment, skew=_NO_TIME_CHECKS)
    except VcError as exc:
        report.add(CheckResult(ISSUER_SIGNATURE, "failed", str(exc)))
        report.add(holder_binding)
        report.skip_rest("the issuer's signature did not verify")
        return report
    report.add(_PASSED[ISSUER_SIGNATURE])
    report.issuer = vc_jwt.issuer
    types = vc_jwt.credential.get("type")
    report.types = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
    report.claims = vc_jwt.credential
    report.add(holder_binding)
    _validity_period(report, vc_jwt, context)
    _bitstring_status(report, vc_jwt.credential, context)
    _trusted_issuer(report, context)
    _ob3_schema(report, vc_jwt)
    report.add(_NO_QUERY)
    return report


def check_vc_jwt(token: str, context: CheckContext) -> CredentialReport:
    """Every check of a bare VC-JWT (an uploaded credential; no holder binding to check)."""
    return _vc_jwt_report(token.strip(), context, CheckResult(HOLDER_BINDING, "skipped",
                                                              "nothing was presented to a verifier"))


def check_vp_jwt(token: str, context: CheckContext) -> list[CredentialReport]:
    """Every check of each credential in a `jwt_vc_json` presentation (a VP JWT)."""
    binding = context.holder_binding
    try:
        if binding is None or context.holder_key is None:
            raise MalformedToken("a VP JWT is only checked as a presentation to this verifier")
        presentation = verify_vp_jwt(
            token.strip(), aud=binding.audience, nonce=binding.nonce, resolve_holder_key=context.holder_key,
            algorithms=context.algorithms, now=context.moment, skew=context.clock_skew, max_age=binding.max_age,
            require_binding=context.require_holder_binding)
    except VcError as exc:
        failure = CheckResult(HOLDER_BINDING, "failed", str(exc))
        try:
            credentials = _embedded_credentials(token)
        except VcError:
            report = CredentialReport(format="jwt_vc_json")
            report.add(CheckResult(ISSUER_SIGNATURE, "failed", f"not a VP JWT: {exc}"))
            report.add(failure)
            report.skip_rest("the presentation could not be read")
            return [report]
        return [_vc_jwt_report(credential, context, failure) for credential in credentials]
    return [_vc_jwt_report(credential, context, _PASSED[HOLDER_BINDING])
            for credential in presentation.verifiable_credential]


def _embedded_credentials(token: str) -> list[str]:
    """The VC-JWTs inside a VP JWT whose holder checks failed (to still report on each)."""
    vp = decode_jws(token.strip()).claims().get("vp")
    credentials = vp.get("verifiableCredential") if isinstance(vp, dict) else None
    if isinstance(credentials, str):
        credentials = [credentials]
    if not isinstance(credentials, list) or not credentials or not all(isinstance(c, str) for c in credentials):
        raise MalformedToken("the presentation holds no VC-JWT")
    return credentials[:10]


def check_credential_json(credential: Mapping[str, Any], context: CheckContext) -> CredentialReport:
    """An uploaded credential as JSON (an embedded proof): what can be checked without a JWT."""
    report = CredentialReport(format="ldp_vc")
    report.add(CheckResult(ISSUER_SIGNATURE, "failed",
                           "only JWT proofs (VC-JWT) are verified here; this credential carries none"))
    report.add(CheckResult(HOLDER_BINDING, "skipped", "nothing was presented to a verifier"))
    issuer = credential.get("issuer")
    report.issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer if isinstance(issuer, str) else None
    types = credential.get("type")
    report.types = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
    report.claims = dict(credential)
    with _checking(report, VALIDITY_PERIOD):
        for name, late in (("validFrom", False), ("validUntil", True)):
            value = credential.get(name)
            if value is None:
                continue
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            if late and context.moment - context.clock_skew >= moment:
                raise TokenExpired(f"expired at {moment.isoformat()}")
            if not late and context.moment + context.clock_skew < moment:
                raise TokenNotYetValid(f"not valid before {moment.isoformat()}")
    _bitstring_status(report, credential, context)
    _trusted_issuer(report, context)
    if any(t in OB3_CREDENTIAL_TYPES for t in report.types):
        with _checking(report, OB3_SCHEMA):
            errors = open_badge_credential_errors(dict(credential))
            if errors:
                raise SchemaInvalid("; ".join(errors[:5]))
    else:
        report.add(CheckResult(OB3_SCHEMA, "skipped", "not an Open Badges credential"))
    report.add(_NO_QUERY)
    return report


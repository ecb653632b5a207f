"""The verdict and the named checks (`vc.checks`) in words a recruiter understands.

Each check becomes a `CheckLine`: its label ("Signed by the issuer"), its outcome, and for a
failed or skipped check a plain-language explanation, with the library's own reason kept as a
technical detail. Texts are message ids of `verifier/messages/*.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vc.checks import CHECK_NAMES, CREDENTIAL_REVOKED, CREDENTIAL_SUSPENDED, VALIDITY_PERIOD

__all__ = ["CheckLine", "Verdict", "check_lines", "verdict"]

#: Why a check was skipped, recognised by the library's reason (first match wins).
_SKIPPED = (
    ("could not be read", "skip.unreadable"),
    ("signature did not verify", "skip.signature_failed"),
    ("nothing was presented", "skip.not_presented"),
    ("does not ask for it", "skip.not_asked"),
    ("names no", "skip.no_status_list"),
    ("any issuer is accepted", "skip.any_issuer"),
    ("not an open badges", "skip.not_open_badge"),
    ("layout only", "skip.old_layout"),
    ("no query to answer", "skip.no_query"),
)
_ERRORS = {CREDENTIAL_REVOKED: "reason.credential_revoked", CREDENTIAL_SUSPENDED: "reason.credential_suspended"}


@dataclass(frozen=True)
class CheckLine:
    name: str
    #: Message id of the check's name, e.g. "Signed by the issuer".
    label: str
    outcome: str
    #: Message id of the plain-language explanation (failed or skipped checks).
    explanation: str | None
    #: The library's reason, shown as a technical detail.
    detail: str | None


@dataclass(frozen=True)
class Verdict:
    #: `verified`, `rejected`, `expired` or `pending`.
    status: str
    #: Message ids: the verdict in large words, and the sentence under it.
    word: str
    text: str


def _explanation(name: str, outcome: str, reason: str, error: str | None) -> str | None:
    lowered = reason.lower()
    if outcome == "passed":
        return None
    if outcome == "skipped":
        return next((message for needle, message in _SKIPPED if needle in lowered), "skip.other")
    if error in _ERRORS:
        return _ERRORS[error]
    if "no credential was presented" in lowered:
        return "reason.no_credential"
    if name == VALIDITY_PERIOD:
        if "expired" in lowered:
            return "reason.expired"
        if "not valid before" in lowered or "not yet valid" in lowered:
            return "reason.not_yet_valid"
    return f"reason.{name}"


def check_lines(checks: Mapping[str, Mapping[str, Any]]) -> list[CheckLine]:
    """The named checks of a result or report, in their fixed order."""
    lines = []
    for name in CHECK_NAMES:
        check = checks.get(name)
        if not isinstance(check, Mapping):
            continue
        outcome = str(check.get("outcome"))
        outcome = outcome if outcome in ("passed", "failed", "skipped") else "skipped"
        reason = str(check.get("reason") or "")
        error = check.get("error") if isinstance(check.get("error"), str) else None
        lines.append(CheckLine(name=name, label=f"check.{name}", outcome=outcome,
                               explanation=_explanation(name, outcome, reason, error), detail=reason or None))
    return lines


def verdict(status: str, *, error: str | None = None, lines: list[CheckLine] | None = None,
            file: bool = False) -> Verdict:
    """The verdict of a request (`status`) or of a checked `file` (`verified`/`rejected`), and why."""
    if status == "verified":
        return Verdict(status, "verdict.verified", "verdict.verified.file" if file else "verdict.verified.text")
    if status == "expired":
        return Verdict(status, "verdict.expired", "verdict.expired.text")
    if status != "rejected":
        return Verdict("pending", "verdict.pending", "verdict.pending.text")
    if error in _ERRORS:
        return Verdict(status, "verdict.rejected", _ERRORS[error])
    if error == "access_denied":
        return Verdict(status, "verdict.rejected", "verdict.reason.access_denied")
    failed = [line for line in lines or [] if line.outcome == "failed" and line.explanation]
    if failed:
        return Verdict(status, "verdict.rejected", failed[0].explanation or "verdict.reason.other")
    return Verdict(status, "verdict.rejected", "verdict.reason.other")

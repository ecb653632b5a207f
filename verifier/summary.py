"""A verified credential in the pilot's terms: badge name, learner, result, criteria, passed or not.

Open Badges 3.0 (https://www.imsglobal.org/spec/ob/v3p0/): `credentialSubject.achievement`
holds `name`, `criteria` and `resultDescription` (each with an `id` and maybe a
`requiredValue`); `credentialSubject.result` holds `Result`s pointing at a description by
`resultDescription` with a `value`. "Passed" means the result meets `requiredValue`:
numerically when both are numbers, by position when the description lists its
`allowedValue`s (ordered from low to high, OB 3.0 §B.1.21), otherwise by equality.

SD-JWT VCs have no fixed vocabulary; the usual claim names (`achievement.name`,
`achievement_title`, `given_name`/`family_name`, `grade`, `result`) are read when present.
"""

from __future__ import annotations

from typing import Any

__all__ = ["badge_summary", "meets_required_value"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def meets_required_value(value: Any, required: Any, allowed: list[Any] | None = None) -> bool:
    """Whether a result `value` meets `requiredValue`."""
    if allowed and value in allowed and required in allowed:
        return allowed.index(value) >= allowed.index(required)
    number, threshold = _number(value), _number(required)
    if number is not None and threshold is not None:
        return number >= threshold
    return str(value).strip().lower() == str(required).strip().lower()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _results(subject: dict[str, Any], achievement: dict[str, Any]) -> tuple[list[dict[str, Any]], bool | None]:
    descriptions = [d for d in _as_list(achievement.get("resultDescription")) if isinstance(d, dict)]
    results = [r for r in _as_list(subject.get("result")) if isinstance(r, dict)]
    shown: list[dict[str, Any]] = []
    verdicts: list[bool] = []
    required_ones = [d for d in descriptions if d.get("requiredValue") is not None]
    for result in results:
        description = next((d for d in descriptions if d.get("id") == result.get("resultDescription")), None)
        if description is None and len(results) == 1 and len(required_ones) == 1:
            description = required_ones[0]
        entry: dict[str, Any] = {"value": result.get("value"), "status": result.get("status")}
        if description is not None:
            entry["name"] = description.get("name")
            required = description.get("requiredValue")
            if required is not None and result.get("value") is not None:
                entry["required_value"] = required
                entry["passed"] = meets_required_value(result["value"], required, description.get("allowedValue"))
                verdicts.append(entry["passed"])
        shown.append({k: v for k, v in entry.items() if v is not None})
    return shown, (all(verdicts) if verdicts else None)


def _as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def badge_summary(fmt: str, claims: dict[str, Any]) -> dict[str, Any]:
    """`{badge, learner, result, criteria, passed}` of one credential's disclosed claims."""
    if fmt == "dc+sd-jwt":
        achievement = _as_object(claims.get("achievement"))
        names = [claims.get("given_name"), claims.get("family_name")]
        learner = " ".join(n for n in names if isinstance(n, str)) or claims.get("sub")
        result = claims.get("grade", claims.get("result", claims.get("assessment_grade")))
        return {k: v for k, v in {
            "badge": achievement.get("name") or claims.get("achievement_title") or claims.get("name"),
            "learner": learner, "result": result, "criteria": achievement.get("criteria"), "passed": None,
        }.items() if v is not None}
    subject = claims.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    subject = _as_object(subject)
    achievement = _as_object(subject.get("achievement"))
    identifiers = [i.get("identifier") for i in _as_list(subject.get("identifier")) if isinstance(i, dict)]
    results, passed = _results(subject, achievement)
    criteria = _as_object(achievement.get("criteria"))
    return {
        "badge": achievement.get("name") or claims.get("name"),
        "learner": subject.get("id") or (identifiers[0] if identifiers else None),
        "result": results,
        "criteria": criteria.get("narrative") or criteria.get("id"),
        "passed": passed,
    }

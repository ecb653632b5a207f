"""The badge class form: its fields as the page shows them, and the OB 3.0 / EU microcredential model behind them.

One flat HTML form (working without JavaScript) maps onto `BadgeClassCreate` / `BadgeClassUpdate`:
comma-separated tags, one learning outcome per line, the first OB 3.0 ResultDescription, a few
rows of OB 3.0 Alignments (e.g. ESCO skills) and the quality assurance body. Validation is the
admin models' own; its errors come back keyed by form field id, as message ids.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from issuer.admin_models import (
    ASSESSMENT_TYPES,
    PARTICIPATION_TYPES,
    SUPERVISION_TYPES,
    BadgeClassCreate,
    BadgeClassPublic,
    BadgeClassUpdate,
)
from issuer.services.images import MAX_IMAGE_BYTES, PNG_SIGNATURE

__all__ = ["ACHIEVEMENT_TYPES", "RESULT_TYPES", "BadgeForm", "choices", "read_image", "term_id"]

#: OB 3.0 achievementType values offered in the form (others stay selectable when a badge has one).
ACHIEVEMENT_TYPES = ("MicroCredential", "Badge", "Course", "Certificate", "CertificateOfCompletion", "Certification",
                     "Competency", "Assessment", "Award", "LearningProgram", "Degree", "Achievement")
#: OB 3.0 ResultType values offered in the form.
RESULT_TYPES = ("Result", "GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "RawScore",
                "ScaledScore", "Status")
#: OB 3.0 Alignment targetType values offered in the form.
ALIGNMENT_TYPES = ("ceasn:Competency", "ceterms:Credential", "CFItem", "CTDL")
TEXT_FIELDS = ("name", "description", "achievement_type", "tags", "language", "criteria_narrative", "criteria_url",
               "result_name", "result_type", "result_required", "result_min", "result_max", "result_allowed",
               "ects", "eqf_level", "nlqf_level", "learning_outcomes", "assessment_type", "participation_type",
               "supervision_type", "identity_checked", "qa_name", "qa_url", "qa_description", "prerequisites",
               "issuer_id")
ALIGNMENT_FIELDS = {"name": "targetName", "url": "targetUrl", "framework": "targetFramework", "code": "targetCode",
                    "type": "targetType"}
_ALIGNMENT_NAME = re.compile(r"^alignment-(\d{1,2})-(name|url|framework|code|type)$")
_RESULT_KEYS = {"name": "result_name", "resultType": "result_type", "requiredValue": "result_required",
                "valueMin": "result_min", "valueMax": "result_max", "allowedValue": "result_allowed"}
_QA_KEYS = {"name": "qa_name", "url": "qa_url", "description": "qa_description"}
MAX_ALIGNMENTS = 52
BLANK_ALIGNMENT_ROWS = 2


def _split(text: str, separator: str) -> list[str]:
    return [part.strip() for part in text.split(separator) if part.strip()]


def _none(text: str) -> str | None:
    return text.strip() or None


class BadgeForm:
    """The values of the form (as text, for showing it again) and what they mean as a badge class."""

    def __init__(self, values: Mapping[str, str], alignments: list[dict[str, str]]) -> None:
        self.values = {name: values.get(name, "") for name in TEXT_FIELDS}
        filled = [row for row in alignments if any(row.values())]
        self.alignments = filled + [dict.fromkeys(ALIGNMENT_FIELDS, "") for _ in range(BLANK_ALIGNMENT_ROWS)]

    @classmethod
    def empty(cls) -> BadgeForm:
        return cls({"achievement_type": "MicroCredential", "result_type": "Result"}, [])

    @classmethod
    def from_badge(cls, badge: BadgeClassPublic) -> BadgeForm:
        result: dict[str, Any] = badge.result_descriptions[0] if badge.result_descriptions else {}
        qa = badge.quality_assurance or {}
        values = {
            "name": badge.name, "description": badge.description, "achievement_type": badge.achievement_type,
            "tags": ", ".join(badge.tags), "language": badge.language or "",
            "criteria_narrative": badge.criteria_narrative or "", "criteria_url": badge.criteria_url or "",
            "result_name": result.get("name", ""), "result_type": result.get("resultType", "Result"),
            "result_required": result.get("requiredValue", ""), "result_min": result.get("valueMin", ""),
            "result_max": result.get("valueMax", ""), "result_allowed": ", ".join(result.get("allowedValue") or []),
            "ects": f"{badge.ects:g}" if badge.ects is not None else "",
            "eqf_level": str(badge.eqf_level or ""), "nlqf_level": str(badge.nlqf_level or ""),
            "learning_outcomes": "\n".join(badge.learning_outcomes), "assessment_type": badge.assessment_type or "",
            "participation_type": badge.participation_type or "", "supervision_type": badge.supervision_type or "",
            "identity_checked": {True: "yes", False: "no"}.get(badge.identity_checked, ""),  # type: ignore[arg-type]
            "qa_name": qa.get("name", ""), "qa_url": qa.get("url", ""), "qa_description": qa.get("description", ""),
            "prerequisites": badge.prerequisites or "", "issuer_id": str(badge.issuer_id)}
        alignments = [{key: str(a.get(wire) or "") for key, wire in ALIGNMENT_FIELDS.items()} for a in badge.alignments]
        return cls(values, alignments)

    @classmethod
    def from_form(cls, form: FormData) -> BadgeForm:
        values = {name: value for name in TEXT_FIELDS if isinstance(value := form.get(name, ""), str)}
        rows: dict[int, dict[str, str]] = {}
        for key, value in form.multi_items():
            match = _ALIGNMENT_NAME.match(key)
            if match and isinstance(value, str) and int(match.group(1)) < MAX_ALIGNMENTS:
                rows.setdefault(int(match.group(1)), dict.fromkeys(ALIGNMENT_FIELDS, ""))[match.group(2)] = value.strip()
        return cls(values, [rows[n] for n in sorted(rows)])

    # -- to the model ---------------------------------------------------------------------------------

    def _fields(self, errors: dict[str, str]) -> tuple[dict[str, Any], list[int]]:
        v = {name: value.strip() for name, value in self.values.items()}
        fields: dict[str, Any] = {
            "name": v["name"], "description": v["description"] or None, "achievement_type": v["achievement_type"] or None,
            "tags": _split(v["tags"], ","), "language": _none(v["language"]),
            "criteria_narrative": _none(v["criteria_narrative"]), "criteria_url": _none(v["criteria_url"]),
            "learning_outcomes": _split(v["learning_outcomes"], "\n"),
            "assessment_type": _none(v["assessment_type"]), "participation_type": _none(v["participation_type"]),
            "supervision_type": _none(v["supervision_type"]),
            "identity_checked": {"yes": True, "no": False}.get(v["identity_checked"]),
            "prerequisites": _none(v["prerequisites"]),
        }
        for name in ("ects", "eqf_level", "nlqf_level"):
            text = v[name].replace(",", ".")  # Dutch decimal comma
            try:
                fields[name] = (float(text) if name == "ects" else int(text)) if text else None
            except ValueError:
                errors[name] = "badge.error.ects" if name == "ects" else "badge.error.level"
        result = {"name": v["result_name"], "resultType": v["result_type"] or "Result",
                  "requiredValue": _none(v["result_required"]), "valueMin": _none(v["result_min"]),
                  "valueMax": _none(v["result_max"]), "allowedValue": _split(v["result_allowed"], ",") or None}
        has_result = any(v[k] for k in ("result_name", "result_required", "result_min", "result_max", "result_allowed"))
        fields["result_descriptions"] = [{k: x for k, x in result.items() if x is not None}] if has_result else []
        rows = [n for n, row in enumerate(self.alignments) if any(row.values())]
        fields["alignments"] = [{ALIGNMENT_FIELDS[k]: x for k, x in self.alignments[n].items() if x} for n in rows]
        has_qa = any(v[k] for k in _QA_KEYS.values())
        fields["quality_assurance"] = ({k: v[f] for k, f in _QA_KEYS.items() if v[f]} if has_qa else None)
        return fields, rows

    def to_create(self, institution_id: int, image: str | None) -> tuple[BadgeClassCreate | None, dict[str, str]]:
        """A `BadgeClassCreate`, or the errors by field id (message ids)."""
        errors: dict[str, str] = {}
        fields, rows = self._fields(errors)
        issuer = self.values["issuer_id"].strip()
        data = {**fields, "institution_id": institution_id,
                "issuer_id": int(issuer) if issuer.isdigit() else None, **({"image": image} if image else {})}
        return self._validate(BadgeClassCreate, data, rows, errors)

    def to_update(self, image: str | None, more_results: list[dict[str, Any]]) -> tuple[BadgeClassUpdate | None,
                                                                                         dict[str, str]]:
        """A `BadgeClassUpdate` setting every field (empty ones are cleared); `more_results` are kept after the
        form's result description."""
        errors: dict[str, str] = {}
        fields, rows = self._fields(errors)
        kept = [{k: x for k, x in rd.items() if k != "id"} for rd in more_results]
        fields["result_descriptions"] = fields["result_descriptions"] + kept if fields["result_descriptions"] else kept
        data = {**fields, **({"image": image} if image else {})}
        return self._validate(BadgeClassUpdate, data, rows, errors)

    def _validate(self, model: type[Any], data: dict[str, Any], rows: list[int],
                  errors: dict[str, str]) -> tuple[Any, dict[str, str]]:
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                field = _field_of(error["loc"], rows)
                errors.setdefault(field, _message_of(field, error["type"]))
            return None, errors
        return (None, errors) if errors else (parsed, errors)


def _field_of(loc: tuple[int | str, ...], rows: list[int]) -> str:
    """The form field id of a validation error location."""
    head = loc[0] if loc else ""
    if head == "result_descriptions":
        return _RESULT_KEYS.get(str(loc[2]) if len(loc) > 2 else "name", "result_name")
    if head == "alignments" and len(loc) > 1 and isinstance(loc[1], int):
        wire = str(loc[2]) if len(loc) > 2 else "targetName"
        key = next((k for k, w in ALIGNMENT_FIELDS.items() if w == wire), "name")
        return f"alignment-{rows[loc[1]]}-{key}"
    if head == "quality_assurance":
        return _QA_KEYS.get(str(loc[1]) if len(loc) > 1 else "name", "qa_name")
    return str(head) if head in TEXT_FIELDS or head == "image" else "name"


def _message_of(field: str, kind: str) -> str:
    if kind in ("missing", "string_too_short"):
        return "form.error.required"
    if kind.startswith("url"):
        return "form.error.url"
    if field == "ects":
        return "badge.error.ects"
    if field in ("eqf_level", "nlqf_level"):
        return "badge.error.level"
    if kind in ("string_too_long", "too_long"):
        return "form.error.too_long"
    if field == "language":
        return "badge.error.language"
    if kind == "literal_error":
        return "form.error.choice"
    return "form.error.invalid"


def read_image(upload: object) -> tuple[str | None, str | None]:
    """An uploaded badge image as a `data:` URI (what the admin model takes), or an error message id.

    (None, None) when no file was chosen. The service checks the content in depth."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, None
    content = upload.file.read(MAX_IMAGE_BYTES + 1)
    if not content:
        return None, None
    if len(content) > MAX_IMAGE_BYTES:
        return None, "badge.error.image_size"
    if content.startswith(PNG_SIGNATURE):
        media_type = "image/png"
    elif content[:2000].lstrip().lower().startswith((b"<svg", b"<?xml")):
        media_type = "image/svg+xml"
    else:
        return None, "badge.error.image"
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}", None


def choices(t: Callable[..., str], current: Mapping[str, str]) -> dict[str, list[tuple[str, str]]]:
    """The options of the form's select fields, in the reader's language; a stored value outside our lists
    stays selectable."""

    def keep(options: list[tuple[str, str]], value: str) -> list[tuple[str, str]]:
        return options + [(value, value)] if value and value not in {o for o, _ in options} else options

    not_stated = [("", t("badge.not_stated"))]
    levels = [(str(n), t("badge.level_n", level=n)) for n in range(1, 9)]
    return {
        "achievement_type": keep([(a, t(term_id("achievement_type", a))) for a in ACHIEVEMENT_TYPES],
                                 current.get("achievement_type", "")),
        "result_type": keep([(r, t(term_id("result_type", r))) for r in RESULT_TYPES], current.get("result_type", "")),
        "eqf_level": not_stated + levels,
        "nlqf_level": not_stated + levels,
        "assessment_type": not_stated + [(a, t(term_id("assessment", a))) for a in ASSESSMENT_TYPES],
        "participation_type": not_stated + [(p, t(term_id("participation", p))) for p in PARTICIPATION_TYPES],
        "supervision_type": not_stated + [(s, t(term_id("supervision", s))) for s in SUPERVISION_TYPES],
        "identity_checked": not_stated + [("yes", t("badge.yes")), ("no", t("badge.no"))],
        "alignment_type": not_stated + [(a, t(term_id("alignment_type", a))) for a in ALIGNMENT_TYPES],
    }


def term_id(kind: str, value: str) -> str:
    """The message id naming a vocabulary value, e.g. `assessment.application_of_a_skill`."""
    return kind + "." + re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")

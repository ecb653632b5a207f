"""Badge classes: OB 3.0 Achievements with the EU microcredential elements; create, edit, archive, list.

Archiving stops new awards; credentials already awarded stay valid.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from issuer.admin_models import BadgeClassCreate, BadgeClassPublic, BadgeClassUpdate
from issuer.models import BadgeClass, Institution, Issuer
from issuer.services.common import get_or_404, unix_now
from issuer.services.images import default_badge_png, parse_image_data_uri
from issuer.services.institutions import default_issuer
from issuer.services.staff import Principal
from schemas.oauth2 import InvalidRequest, NotFound

__all__ = [
    "badge_class_names",
    "badge_image",
    "badge_image_url",
    "badge_vct",
    "create_badge_class",
    "get_badge_class",
    "list_badge_classes",
    "load_badge_class",
    "update_badge_class",
]

_PLAIN_FIELDS = ("description", "criteria_narrative", "achievement_type", "tags", "ects", "eqf_level", "nlqf_level",
                 "learning_outcomes", "assessment_type", "participation_type", "supervision_type",
                 "identity_checked", "language", "prerequisites")


def badge_vct(base_url: str, badge_class_id: int) -> str:
    """The SD-JWT VC type of a badge class; its Type Metadata is served at this URL."""
    return f"{base_url}/vct/badge-classes/{badge_class_id}"


def badge_image_url(base_url: str, badge_class_id: int) -> str:
    return f"{base_url}/badge-classes/{badge_class_id}/image"


def achievement_id(base_url: str, badge_class_id: int) -> str:
    return f"{base_url}/badge-classes/{badge_class_id}"


def badge_public(badge: BadgeClass, base_url: str) -> BadgeClassPublic:
    assert badge.id is not None
    return BadgeClassPublic(
        id=badge.id, institution_id=badge.institution_id, issuer_id=badge.issuer_id, name=badge.name,
        description=badge.description, criteria_narrative=badge.criteria_narrative, criteria_url=badge.criteria_url,
        achievement_type=badge.achievement_type, image_url=badge_image_url(base_url, badge.id), tags=badge.tags,
        alignments=badge.alignments, result_descriptions=badge.result_descriptions, ects=badge.ects,
        eqf_level=badge.eqf_level, nlqf_level=badge.nlqf_level, learning_outcomes=badge.learning_outcomes,
        assessment_type=badge.assessment_type, participation_type=badge.participation_type,
        supervision_type=badge.supervision_type, identity_checked=badge.identity_checked,
        quality_assurance=badge.quality_assurance, language=badge.language, prerequisites=badge.prerequisites,
        archived=badge.archived, vct=badge_vct(base_url, badge.id), created_at=badge.created_at)


def _apply(badge: BadgeClass, data: BadgeClassCreate | BadgeClassUpdate, base_url: str) -> None:
    given: dict[str, Any] = data.model_dump(exclude_unset=True, mode="json")
    for name in _PLAIN_FIELDS:
        if name in given:
            setattr(badge, name, given[name] if given[name] is not None else _empty(name))
    if "name" in given and given["name"] is not None:
        badge.name = given["name"]
    if "criteria_url" in given:
        badge.criteria_url = given["criteria_url"]
    if "alignments" in given:
        badge.alignments = given["alignments"] or []
    if "quality_assurance" in given:
        badge.quality_assurance = given["quality_assurance"]
    if "result_descriptions" in given:
        # Each ResultDescription gets an `id` so a Result can point at it (OB 3.0 Result.resultDescription).
        assert badge.id is not None
        badge.result_descriptions = [
            {"id": f"{achievement_id(base_url, badge.id)}#result-{n}", **{k: v for k, v in rd.items() if v is not None}}
            for n, rd in enumerate(given["result_descriptions"] or [], start=1)]
    if given.get("image"):
        badge.image, badge.image_media_type = parse_image_data_uri(given["image"])
    if isinstance(data, BadgeClassUpdate) and data.archived is not None:
        badge.archived = data.archived
    if not badge.criteria_narrative and not badge.criteria_url:
        raise InvalidRequest("criteria: give criteria_narrative, criteria_url or both")


def _empty(name: str) -> Any:
    return [] if name in ("tags", "learning_outcomes") else ("" if name == "description" else None)


def create_badge_class(*, session: Session, principal: Principal, data: BadgeClassCreate, base_url: str,
                       now: int | None = None) -> BadgeClassPublic:
    principal.check_institution(data.institution_id)
    institution = get_or_404(session, Institution, data.institution_id, "institution")
    if data.issuer_id is None:
        if principal.role == "issuer_staff":
            assert principal.issuer_id is not None
            issuer = get_or_404(session, Issuer, principal.issuer_id, "issuer")
        else:
            issuer = default_issuer(session=session, institution=institution, now=now)
    else:
        issuer = session.get(Issuer, data.issuer_id)
        if issuer is None or issuer.institution_id != data.institution_id:
            raise NotFound(f"issuer {data.issuer_id} not found in institution {data.institution_id}")
    assert issuer.id is not None
    principal.check_issuer(data.institution_id, issuer.id)
    badge = BadgeClass(institution_id=data.institution_id, issuer_id=issuer.id, name=data.name,
                       criteria_narrative=data.criteria_narrative, created_at=unix_now(now))
    if not data.criteria_narrative and not data.criteria_url:
        badge.criteria_narrative = f"Awarded by {institution.name} for completing {data.name}."
    session.add(badge)
    session.flush()  # the id names the result descriptions
    _apply(badge, data, base_url)
    session.add(badge)
    session.commit()
    return badge_public(badge, base_url)


def load_badge_class(*, session: Session, principal: Principal, badge_class_id: int) -> BadgeClass:
    """The badge class, if the principal may work on it (404 across institutions, 403 across issuers)."""
    badge = session.get(BadgeClass, badge_class_id)
    if badge is None:
        raise NotFound(f"badge class {badge_class_id} not found")
    try:
        principal.check_institution(badge.institution_id)
    except NotFound as exc:
        raise NotFound(f"badge class {badge_class_id} not found") from exc
    principal.check_issuer(badge.institution_id, badge.issuer_id)
    return badge


def get_badge_class(*, session: Session, principal: Principal, badge_class_id: int, base_url: str) -> BadgeClassPublic:
    return badge_public(load_badge_class(session=session, principal=principal, badge_class_id=badge_class_id), base_url)


def update_badge_class(*, session: Session, principal: Principal, badge_class_id: int, data: BadgeClassUpdate,
                       base_url: str) -> BadgeClassPublic:
    badge = load_badge_class(session=session, principal=principal, badge_class_id=badge_class_id)
    _apply(badge, data, base_url)
    session.add(badge)
    session.commit()
    return badge_public(badge, base_url)


def list_badge_classes(*, session: Session, principal: Principal, base_url: str, institution_id: int | None = None,
                       include_archived: bool = False) -> list[BadgeClassPublic]:
    query = select(BadgeClass).order_by(col(BadgeClass.id))
    if institution_id is not None:
        principal.check_institution(institution_id)
        query = query.where(BadgeClass.institution_id == institution_id)
    if not principal.is_service_admin:
        query = query.where(BadgeClass.institution_id == principal.institution_id)
    if principal.role == "issuer_staff":
        query = query.where(BadgeClass.issuer_id == principal.issuer_id)
    if not include_archived:
        query = query.where(col(BadgeClass.archived).is_(False))
    return [badge_public(b, base_url) for b in session.exec(query).all()]


def badge_class_names(*, session: Session, badge_class_ids: set[int]) -> dict[int, str]:
    """Id → name of these badge classes, in one query (for lists of awards the caller may already see)."""
    if not badge_class_ids:
        return {}
    rows = session.exec(select(BadgeClass.id, BadgeClass.name).where(col(BadgeClass.id).in_(badge_class_ids))).all()
    return {badge_id: name for badge_id, name in rows if badge_id is not None}


def badge_image(*, session: Session, badge_class_id: int) -> tuple[bytes, str]:
    """The public badge image (PNG or SVG): uploaded, or generated."""
    badge = session.get(BadgeClass, badge_class_id)
    if badge is None:
        raise NotFound(f"badge class {badge_class_id} not found")
    if badge.image and badge.image_media_type:
        return badge.image, badge.image_media_type
    return default_badge_png(badge.name, badge_class_id), "image/png"

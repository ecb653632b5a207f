"""Awards: a badge class given to one learner, with a credential offer; bulk awards; revoke and suspend.

Every credential issued for an award carries a status entry; changing the award's
status changes what its status lists say at the next request.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer.admin_models import AwardCreate, AwardPublic, BulkAwardCreate, BulkAwardResult
from issuer.models import Award, BadgeClass
from issuer.services.badges import load_badge_class
from issuer.services.common import Conflict, get_or_404, secret_hash, unix_now
from issuer.services.configurations import CONFIGURATION_FORMATS, DEFAULT_CONFIGURATION
from issuer.services.offers import CreatedOffer, create_offer, create_offers
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from schemas.oauth2 import InvalidRequest, NotFound
from servicekit.database import dialect_insert

__all__ = [
    "award_badge",
    "bulk_award",
    "change_award_status",
    "find_awards",
    "get_award",
    "list_awards",
    "new_offer",
]

#: status change → (allowed current statuses, new status)
TRANSITIONS = {"revoke": (("valid", "suspended"), "revoked"),
               "suspend": (("valid",), "suspended"),
               "unsuspend": (("suspended",), "valid")}


def award_public(award: Award, offer: CreatedOffer | None = None, *, created: bool = True) -> AwardPublic:
    assert award.id is not None
    extra: dict[str, Any] = {}
    if offer is not None:
        extra = {"offer_uri": offer.offer_uri, "credential_offer_uri": offer.credential_offer_uri,
                 "qr_png_url": offer.qr_png_url, "qr_svg_url": offer.qr_svg_url, "tx_code": offer.tx_code,
                 "offer_expires_at": offer.expires_at}
    return AwardPublic(id=award.id, badge_class_id=award.badge_class_id, institution_id=award.institution_id,
                       learner_name=award.learner_name, learner_email=award.learner_email, eduid=award.eduid,
                       result=award.result_value, format=award.format,
                       credential_configuration_ids=list(award.credential_configuration_ids), status=award.status,
                       created_at=award.created_at, status_changed_at=award.status_changed_at, created=created,
                       **extra)


def _configuration_ids(data: AwardCreate) -> list[str]:
    ids = data.credential_configuration_ids or [DEFAULT_CONFIGURATION[data.format]]
    unknown = [i for i in ids if i not in CONFIGURATION_FORMATS]
    if unknown:
        raise InvalidRequest(f"unknown credential configuration: {', '.join(unknown)}")
    return list(dict.fromkeys(ids))


def _check_result(badge: BadgeClass, result: str | None) -> None:
    if result is None:
        return
    if not badge.result_descriptions:
        raise InvalidRequest("this badge class has no result description, so an award takes no result")
    allowed = badge.result_descriptions[0].get("allowedValue")
    if allowed and result not in allowed:
        raise InvalidRequest(f"result must be one of: {', '.join(allowed)}")


def _key_hash(institution_id: int, key: str) -> str:
    return secret_hash(f"award:{institution_id}:{key}")


def _award(session: Session, badge: BadgeClass, data: AwardCreate, settings: IssuerSettings,
           now: int) -> tuple[Award, CreatedOffer | None]:
    """Insert the award and its offer (no commit); an existing award with the same key is returned instead."""
    if badge.archived:
        raise Conflict("the badge class is archived: it can no longer be awarded")
    _check_result(badge, data.result)
    configuration_ids = _configuration_ids(data)
    key = _key_hash(badge.institution_id, data.idempotency_key) if data.idempotency_key else None
    if key is not None:
        existing = session.exec(select(Award).where(Award.idempotency_key == key)).first()
        if existing is not None:
            return existing, None
    assert badge.id is not None
    award = Award(badge_class_id=badge.id, institution_id=badge.institution_id, learner_name=data.name,
                  learner_email=data.email, eduid=data.eduid, result_value=data.result,
                  format=data.format, credential_configuration_ids=configuration_ids, idempotency_key=key,
                  created_at=now)
    session.add(award)
    session.flush()
    return award, create_offer(session=session, award=award, settings=settings, pin=data.pin, now=now, replace=False)


def award_badge(*, session: Session, principal: Principal, badge_class_id: int, data: AwardCreate,
                settings: IssuerSettings, now: int | None = None) -> AwardPublic:
    """Award a badge class to one learner; the answer carries the offer URI and PIN (shown only here)."""
    badge = load_badge_class(session=session, principal=principal, badge_class_id=badge_class_id)
    try:
        award, offer = _award(session, badge, data, settings, unix_now(now))
        session.commit()
    except IntegrityError:  # a concurrent request with the same idempotency key won
        session.rollback()
        assert data.idempotency_key is not None
        award = session.exec(select(Award).where(
            Award.idempotency_key == _key_hash(badge.institution_id, data.idempotency_key))).one()
        offer = None
    return award_public(award, offer, created=offer is not None)


def bulk_award(*, session: Session, principal: Principal, badge_class_id: int, data: BulkAwardCreate,
               settings: IssuerSettings, now: int | None = None) -> list[BulkAwardResult]:
    """Award one badge class to many learners; each row succeeds or fails on its own.

    A row's idempotency key is (badge class, e-mail), so running the same file again awards nobody twice.
    Set-based: the rows are checked first, then the awards not made before go in with one INSERT that skips
    a key another request took meanwhile (ON CONFLICT DO NOTHING), and their offers with one more; the
    request commits once, so a crash leaves every row of it awarded or none.
    """
    badge = load_badge_class(session=session, principal=principal, badge_class_id=badge_class_id)
    if badge.archived:
        raise Conflict("the badge class is archived: it can no longer be awarded")
    assert badge.id is not None
    now = unix_now(now)
    results: list[BulkAwardResult | str] = []  # a row's error, or its award's idempotency key
    new_awards: dict[str, dict[str, Any]] = {}  # key → the award's columns, from the key's first row
    first_rows: dict[str, int] = {}  # key → position of its first row
    for position, row in enumerate(data.rows):
        try:
            email = row.email.strip().lower() if isinstance(row.email, str) else row.email
            award_data = AwardCreate(name=row.name, email=email, eduid=row.eduid or None, result=row.result or None,
                                     format=data.format, pin=data.pin,
                                     idempotency_key=f"bulk:{badge_class_id}:{email}")
            _check_result(badge, award_data.result)
            configuration_ids = _configuration_ids(award_data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            results.append(BulkAwardResult(line=row.line, status="error", error=f"{where}: {first['msg']}"))
            continue
        except InvalidRequest as exc:
            results.append(BulkAwardResult(line=row.line, status="error", error=exc.description))
            continue
        key = _key_hash(badge.institution_id, award_data.idempotency_key or "")
        new_awards.setdefault(key, {
            "badge_class_id": badge.id, "institution_id": badge.institution_id, "learner_name": award_data.name,
            "learner_email": award_data.email, "eduid": award_data.eduid, "result_value": award_data.result,
            "format": award_data.format, "credential_configuration_ids": configuration_ids,
            "idempotency_key": key, "created_at": now})
        first_rows.setdefault(key, position)
        results.append(key)
    award_ids = _existing_awards(session, list(new_awards))
    for key in award_ids:
        del new_awards[key]
    created = _insert_awards(session, list(new_awards.values()))
    offers = dict(zip(created, create_offers(session=session, award_ids=list(created.values()), settings=settings,
                                             pin=data.pin, now=now), strict=True))
    award_ids |= created | _existing_awards(session, [key for key in new_awards if key not in created])
    session.commit()
    answer = []
    for position, (result, row) in enumerate(zip(results, data.rows, strict=True)):
        if isinstance(result, BulkAwardResult):
            answer.append(result)
        elif result in offers and first_rows[result] == position:
            offer = offers[result]
            answer.append(BulkAwardResult(line=row.line, status="created", award_id=award_ids[result],
                                          offer_uri=offer.offer_uri, tx_code=offer.tx_code))
        else:  # made before, by an earlier row of this request, or by a concurrent request
            answer.append(BulkAwardResult(line=row.line, status="exists", award_id=award_ids[result]))
    return answer


def _existing_awards(session: Session, keys: list[str]) -> dict[str, int]:
    """Idempotency key → award id, for the keys that have an award."""
    if not keys:
        return {}
    rows = session.exec(select(Award.idempotency_key, Award.id).where(col(Award.idempotency_key).in_(keys))).all()
    return {key: award_id for key, award_id in rows if key is not None and award_id is not None}


def _insert_awards(session: Session, awards: list[dict[str, Any]]) -> dict[str, int]:
    """Insert awards in one statement, skipping a key taken meanwhile; idempotency key → id of those inserted.

    The rows go in sorted by key: concurrent bulk awards of overlapping files then take PostgreSQL's
    unique-index locks in one order and wait for each other instead of deadlocking.
    """
    if not awards:
        return {}
    awards = sorted(awards, key=lambda award: award["idempotency_key"])
    table = Award.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session)
    statement = (insert(table).on_conflict_do_nothing(index_elements=[table.c.idempotency_key])
                 .returning(table.c.idempotency_key, table.c.id))
    return {key: award_id for key, award_id in session.execute(statement, awards).all()}


def load_award(*, session: Session, principal: Principal, award_id: int) -> Award:
    award = session.get(Award, award_id)
    if award is None:
        raise NotFound(f"award {award_id} not found")
    badge = get_or_404(session, BadgeClass, award.badge_class_id, "badge class")
    try:
        principal.check_institution(award.institution_id)
    except NotFound as exc:
        raise NotFound(f"award {award_id} not found") from exc
    principal.check_issuer(badge.institution_id, badge.issuer_id)
    return award


def get_award(*, session: Session, principal: Principal, award_id: int) -> AwardPublic:
    return award_public(load_award(session=session, principal=principal, award_id=award_id))


def list_awards(*, session: Session, principal: Principal, badge_class_id: int, limit: int = 100,
                offset: int = 0) -> list[AwardPublic]:
    load_badge_class(session=session, principal=principal, badge_class_id=badge_class_id)
    rows = session.exec(select(Award).where(Award.badge_class_id == badge_class_id).order_by(col(Award.id))
                        .offset(offset).limit(limit)).all()
    return [award_public(a) for a in rows]


def find_awards(*, session: Session, principal: Principal, query: str | None = None, status: str | None = None,
                limit: int = 100, offset: int = 0) -> list[AwardPublic]:
    """The awards this staff member may see, newest first: their institution's (issuer staff: their issuer's;
    the service admin: all). `query` is part of the learner's e-mail address, name or eduID, any case."""
    statement = select(Award).join(BadgeClass, col(BadgeClass.id) == Award.badge_class_id)
    if not principal.is_service_admin:
        statement = statement.where(col(Award.institution_id) == principal.institution_id)
        if principal.role == "issuer_staff":
            statement = statement.where(col(BadgeClass.issuer_id) == principal.issuer_id)
    if query and query.strip():
        pattern = "%" + query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in
                                          (col(Award.learner_email), col(Award.learner_name), col(Award.eduid)))))
    if status is not None:
        statement = statement.where(col(Award.status) == status)
    rows = session.exec(statement.order_by(col(Award.id).desc()).offset(offset).limit(limit)).all()
    return [award_public(a) for a in rows]


def change_award_status(*, session: Session, principal: Principal, award_id: int, action: str,
                        now: int | None = None) -> AwardPublic:
    """revoke (final), suspend, unsuspend. Repeating the same change is harmless."""
    allowed, target = TRANSITIONS[action]
    award = load_award(session=session, principal=principal, award_id=award_id)
    if award.status != target:
        if award.status not in allowed:
            raise Conflict(f"cannot {action} an award that is {award.status}")
        award.status = target
        award.status_changed_at = unix_now(now)
        session.add(award)
        session.commit()
    return award_public(award)


def new_offer(*, session: Session, principal: Principal, award_id: int, pin: bool, settings: IssuerSettings,
              now: int | None = None) -> AwardPublic:
    """A fresh offer (new link, new PIN) for an award, e.g. when the learner lost the first one."""
    award = load_award(session=session, principal=principal, award_id=award_id)
    if award.status != "valid":
        raise Conflict(f"the award is {award.status}")
    offer = create_offer(session=session, award=award, settings=settings, pin=pin, now=now)
    session.commit()
    return award_public(award, offer)

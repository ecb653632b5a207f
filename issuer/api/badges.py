"""Admin API: badge classes and awards (one, bulk, revoke/suspend/unsuspend, new offer)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict

from issuer.admin_models import (
    AwardCreate,
    AwardPublic,
    BadgeClassCreate,
    BadgeClassPublic,
    BadgeClassUpdate,
    BulkAwardCreate,
    BulkAwardResult,
)
from issuer.api.deps import KeysDep, PrincipalDep, SessionDep, SettingsDep
from issuer.services import awards, badges, baking
from servicekit.app import error_responses
from servicekit.database import Offset, RowId

router = APIRouter(prefix="/admin", tags=["admin: badge classes and awards"],
                   responses=error_responses(401, 403, 404, 409))


class NewOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: bool = False


@router.post("/badge-classes", status_code=status.HTTP_201_CREATED)
def create_badge_class(data: BadgeClassCreate, session: SessionDep, principal: PrincipalDep,
                       settings: SettingsDep) -> BadgeClassPublic:
    return badges.create_badge_class(session=session, principal=principal, data=data, base_url=settings.base_url)


@router.get("/badge-classes")
def list_badge_classes(session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                       institution_id: RowId | None = None, include_archived: bool = False) -> list[BadgeClassPublic]:
    return badges.list_badge_classes(session=session, principal=principal, base_url=settings.base_url,
                                     institution_id=institution_id, include_archived=include_archived)


@router.get("/badge-classes/{badge_class_id}")
def get_badge_class(badge_class_id: RowId, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> BadgeClassPublic:
    return badges.get_badge_class(session=session, principal=principal, badge_class_id=badge_class_id,
                                  base_url=settings.base_url)


@router.patch("/badge-classes/{badge_class_id}")
def update_badge_class(badge_class_id: RowId, data: BadgeClassUpdate, session: SessionDep, principal: PrincipalDep,
                       settings: SettingsDep) -> BadgeClassPublic:
    return badges.update_badge_class(session=session, principal=principal, badge_class_id=badge_class_id, data=data,
                                     base_url=settings.base_url)


@router.post("/badge-classes/{badge_class_id}/archive")
def archive_badge_class(badge_class_id: RowId, session: SessionDep, principal: PrincipalDep,
                        settings: SettingsDep) -> BadgeClassPublic:
    return badges.update_badge_class(session=session, principal=principal, badge_class_id=badge_class_id,
                                     data=BadgeClassUpdate(archived=True), base_url=settings.base_url)


@router.post("/badge-classes/{badge_class_id}/awards", status_code=status.HTTP_201_CREATED)
def award_badge(badge_class_id: RowId, data: AwardCreate, session: SessionDep, principal: PrincipalDep,
                settings: SettingsDep) -> AwardPublic:
    return awards.award_badge(session=session, principal=principal, badge_class_id=badge_class_id, data=data,
                              settings=settings)


@router.post("/badge-classes/{badge_class_id}/awards/bulk")
def bulk_award(badge_class_id: RowId, data: BulkAwardCreate, session: SessionDep, principal: PrincipalDep,
               settings: SettingsDep) -> list[BulkAwardResult]:
    return awards.bulk_award(session=session, principal=principal, badge_class_id=badge_class_id, data=data,
                             settings=settings)


@router.get("/badge-classes/{badge_class_id}/awards")
def list_awards(badge_class_id: RowId, session: SessionDep, principal: PrincipalDep,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Offset = 0) -> list[AwardPublic]:
    return awards.list_awards(session=session, principal=principal, badge_class_id=badge_class_id, limit=limit,
                              offset=offset)


@router.get("/awards")
def find_awards(session: SessionDep, principal: PrincipalDep,
                q: Annotated[str | None, Query(max_length=200, description="Part of the learner's e-mail address, "
                                                                              "name or eduID")] = None,
                award_status: Annotated[Literal["valid", "suspended", "revoked"] | None, Query(alias="status")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0) -> list[AwardPublic]:
    """Find awards across the badge classes you may see (newest first), e.g. a learner's by e-mail address."""
    return awards.find_awards(session=session, principal=principal, query=q, status=award_status, limit=limit,
                              offset=offset)


@router.get("/awards/{award_id}")
def get_award(award_id: RowId, session: SessionDep, principal: PrincipalDep) -> AwardPublic:
    return awards.get_award(session=session, principal=principal, award_id=award_id)


@router.get("/awards/{award_id}/baked.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def baked_badge(award_id: RowId, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                key_store: KeysDep) -> Response:
    """The badge image with an OB 3.0 credential of this award baked in (OB 3.0 §5.3 PNG baking)."""
    png = baking.baked_badge_png(session=session, principal=principal, keys=key_store, settings=settings,
                                 award_id=award_id)
    return Response(png, media_type="image/png", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="badge-{award_id}.png"'})


@router.post("/awards/{award_id}/offers", status_code=status.HTTP_201_CREATED)
def new_offer(award_id: RowId, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
              data: NewOffer | None = None) -> AwardPublic:
    return awards.new_offer(session=session, principal=principal, award_id=award_id, pin=bool(data and data.pin),
                            settings=settings)


@router.post("/awards/{award_id}/{action}")
def change_award_status(award_id: RowId, action: Literal["revoke", "suspend", "unsuspend"], session: SessionDep,
                        principal: PrincipalDep) -> AwardPublic:
    return awards.change_award_status(session=session, principal=principal, award_id=award_id, action=action)

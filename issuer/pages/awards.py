"""Staff pages: award a badge class to one learner (the offer's QR code, link and PIN), one award with its
status, revoke / suspend / unsuspend, a new offer, and the baked badge."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from issuer.admin_models import AwardCreate, AwardPublic, BadgeClassPublic
from issuer.api.deps import KeysDep, SessionDep, SettingsDep
from issuer.pages.routing import StaffDep, render, staff_router, translate_errors
from issuer.pages.sessions import StaffUser
from issuer.services import awards, badges, baking
from issuer.services.common import Conflict
from issuer.services.configurations import (
    CONFIGURATION_FORMATS,
    EDU_CREDENTIAL,
    EDU_CREDENTIAL_SD_JWT,
    EU_LEARNING_CREDENTIAL,
)
from schemas.oauth2 import InvalidRequest
from servicekit.web import Pages, PagesDep, page_link, qr_png_data_uri

router = staff_router()

#: What staff choose from: a credential configuration (its format follows from it).
OFFERED = (EDU_CREDENTIAL, EDU_CREDENTIAL_SD_JWT, EU_LEARNING_CREDENTIAL)
Text = Annotated[str, Form(max_length=400)]
_AWARD_FIELDS = ("name", "email", "eduid", "result", "configuration")


def _award_form(request: Request, pages: Pages, staff: StaffUser, badge: BadgeClassPublic,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
    return render(pages, request, staff, "award_form.html", "award.new.title", {
        "badge": badge, "values": values or {"configuration": EDU_CREDENTIAL, "pin": "on"},
        "configurations": [(c, pages.t(request, f"configuration.{c}")) for c in OFFERED],
        "result_description": badge.result_descriptions[0] if badge.result_descriptions else None,
        "errors": translate_errors(pages, request, errors or {})}, status_code=status_code, name=badge.name)


def _offer_page(request: Request, pages: Pages, staff: StaffUser, badge: BadgeClassPublic,
                award: AwardPublic) -> HTMLResponse:
    assert award.offer_uri is not None
    return render(pages, request, staff, "offer.html", "offer.title", {
        "badge": badge, "award": award, "qr_image": qr_png_data_uri(award.offer_uri)}, name=award.learner_name)


@router.get("/staff/badges/{badge_class_id}/award", response_class=HTMLResponse)
def award_page(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
               settings: SettingsDep) -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    if badge.archived:
        return pages.redirect(request, f"/staff/badges/{badge_class_id}", flash="award.archived", level="error")
    return _award_form(request, pages, staff, badge)


@router.post("/staff/badges/{badge_class_id}/award", response_class=HTMLResponse)
def award(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
          settings: SettingsDep, name: Text = "", email: Text = "", eduid: Text = "", result: Text = "",
          configuration: Text = EDU_CREDENTIAL, pin: Text = "") -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    values = {"name": name, "email": email, "eduid": eduid, "result": result, "configuration": configuration,
              "pin": pin}
    if configuration not in OFFERED:
        return _award_form(request, pages, staff, badge, values, {"configuration": "form.error.choice"}, 400)
    try:
        data = AwardCreate.model_validate({
            "name": name, "email": email, "eduid": eduid.strip() or None, "result": result.strip() or None,
            "format": CONFIGURATION_FORMATS[configuration], "credential_configuration_ids": [configuration],
            "pin": bool(pin)})
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] and error["loc"][0] in _AWARD_FIELDS else "name"
            errors.setdefault(field, "award.error.email" if field == "email" else
                              "form.error.required" if error["type"] in ("missing", "string_too_short")
                              else "form.error.invalid")
        return _award_form(request, pages, staff, badge, values, errors, 400)
    try:
        made = awards.award_badge(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                  data=data, settings=settings)
    except Conflict:
        return pages.redirect(request, f"/staff/badges/{badge_class_id}", flash="award.archived", level="error")
    except InvalidRequest:
        return _award_form(request, pages, staff, badge, values, {"result": "award.error.result"}, 400)
    return _offer_page(request, pages, staff, badge, made)


AWARDS_PER_PAGE = 50


@router.get("/staff/awards", response_class=HTMLResponse)
def find_awards_page(request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                     q: Annotated[str | None, Query(max_length=200)] = None,
                     status: Literal["", "valid", "suspended", "revoked"] = "",
                     page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Find awards by learner across the badge classes this staff member may see."""
    found = awards.find_awards(session=session, principal=staff.principal, query=q, status=status or None,
                               limit=AWARDS_PER_PAGE + 1, offset=(page - 1) * AWARDS_PER_PAGE)
    shown = found[:AWARDS_PER_PAGE]
    names = badges.badge_class_names(session=session, badge_class_ids={a.badge_class_id for a in shown})
    return render(pages, request, staff, "awards.html", "awards.title", {
        "awards": shown, "badge_names": names, "query": q or "", "status": status,
        "status_options": [("", pages.t(request, "awards.any_status"))] + [
            (value, pages.t(request, f"status.{value}")) for value in ("valid", "suspended", "revoked")],
        "page": page,
        "previous_page": page_link("/staff/awards", page - 1, q=q, status=status) if page > 1 else None,
        "next_page": page_link("/staff/awards", page + 1, q=q, status=status) if len(found) > AWARDS_PER_PAGE
        else None})


@router.get("/staff/awards/{award_id}", response_class=HTMLResponse)
def award_detail(award_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                 settings: SettingsDep) -> Response:
    found = awards.get_award(session=session, principal=staff.principal, award_id=award_id)
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=found.badge_class_id,
                                   base_url=settings.base_url)
    return render(pages, request, staff, "award.html", "award.title", {"badge": badge, "award": found},
                  name=found.learner_name)


@router.get("/staff/awards/{award_id}/revoke", response_class=HTMLResponse)
def revoke_page(award_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                settings: SettingsDep) -> Response:
    found = awards.get_award(session=session, principal=staff.principal, award_id=award_id)
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=found.badge_class_id,
                                   base_url=settings.base_url)
    return render(pages, request, staff, "revoke.html", "revoke.title", {"badge": badge, "award": found},
                  name=found.learner_name)


@router.post("/staff/awards/{award_id}/status")
def change_status(award_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                  action: Annotated[Literal["revoke", "suspend", "unsuspend"], Form()]) -> Response:
    try:
        changed = awards.change_award_status(session=session, principal=staff.principal, award_id=award_id,
                                             action=action)
    except Conflict:
        return pages.redirect(request, f"/staff/awards/{award_id}", flash="award.status.refused", level="error")
    return pages.redirect(request, f"/staff/awards/{award_id}", flash=f"award.status.{action}",
                          name=changed.learner_name)


@router.post("/staff/awards/{award_id}/offer", response_class=HTMLResponse)
def new_offer(award_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
              settings: SettingsDep, pin: Text = "") -> Response:
    try:
        made = awards.new_offer(session=session, principal=staff.principal, award_id=award_id, pin=bool(pin),
                                settings=settings)
    except Conflict:
        return pages.redirect(request, f"/staff/awards/{award_id}", flash="award.offer.refused", level="error")
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=made.badge_class_id,
                                   base_url=settings.base_url)
    return _offer_page(request, pages, staff, badge, made)


@router.post("/staff/awards/{award_id}/baked-badge")
def baked_badge(award_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                settings: SettingsDep, key_store: KeysDep) -> Response:
    """The badge image with an OB 3.0 credential of this award baked in (a download)."""
    try:
        png = baking.baked_badge_png(session=session, principal=staff.principal, keys=key_store, settings=settings,
                                     award_id=award_id)
    except Conflict:
        return pages.redirect(request, f"/staff/awards/{award_id}", flash="award.baked.refused", level="error")
    return Response(png, media_type="image/png", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="badge-{award_id}.png"'})

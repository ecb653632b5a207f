"""Staff pages: badge classes of an institution: list, create, show (with its awards), edit, archive, restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from issuer.admin_models import BadgeClassPublic, BadgeClassUpdate
from issuer.api.deps import SessionDep, SettingsDep
from issuer.pages.badge_form import ALIGNMENT_TYPES, BadgeForm, choices, read_image
from issuer.pages.routing import FormDep, StaffDep, render, staff_router, translate_errors
from issuer.pages.sessions import StaffUser
from issuer.services import awards, badges, institutions
from schemas.oauth2 import InvalidRequest
from servicekit.web import Pages, PagesDep

router = staff_router()

AWARDS_PER_PAGE = 50


@router.get("/staff/institutions/{institution_id}/badges", response_class=HTMLResponse)
def badge_list(institution_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
               settings: SettingsDep, archived: bool = False) -> Response:
    institution = institutions.get_institution(session=session, principal=staff.principal,
                                               institution_id=institution_id, base_url=settings.base_url)
    found = badges.list_badge_classes(session=session, principal=staff.principal, base_url=settings.base_url,
                                      institution_id=institution_id, include_archived=archived)
    return render(pages, request, staff, "badges.html", "badges.title", {
        "institution": institution, "badge_classes": found, "archived": archived}, name=institution.name)


def _form_page(request: Request, pages: Pages, staff: StaffUser, session: SessionDep, base_url: str, *,
               institution_id: int, form: BadgeForm, badge: BadgeClassPublic | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    institution = institutions.get_institution(session=session, principal=staff.principal,
                                               institution_id=institution_id, base_url=base_url)
    issuers = institutions.list_issuers(session=session, principal=staff.principal, institution_id=institution_id)
    if staff.principal.role == "issuer_staff":
        issuers = [i for i in issuers if i.id == staff.principal.issuer_id]
    t = lambda message_id, **params: pages.t(request, message_id, **params)  # noqa: E731
    return render(pages, request, staff, "badge_form.html", "badge.edit.title" if badge else "badge.new.title", {
        "institution": institution, "issuer_options": [(str(i.id), i.name) for i in issuers], "badge": badge,
        "form": form,
        "choices": choices(t, form.values), "alignment_types": ALIGNMENT_TYPES,
        "errors": translate_errors(pages, request, errors or {})}, status_code=status_code,
        name=badge.name if badge else "")


def _service_error(exc: InvalidRequest) -> dict[str, str]:
    """The badge service's own refusals, put at the field they are about."""
    description = exc.description or ""
    if description.startswith("image"):
        return {"image": "badge.error.image"}
    if description.startswith("criteria"):
        return {"criteria_narrative": "badge.error.criteria"}
    return {"name": "form.error.invalid"}


@router.get("/staff/institutions/{institution_id}/badges/new", response_class=HTMLResponse)
def new_badge_page(institution_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                   settings: SettingsDep) -> Response:
    return _form_page(request, pages, staff, session, settings.base_url, institution_id=institution_id,
                      form=BadgeForm.empty())


@router.post("/staff/institutions/{institution_id}/badges", response_class=HTMLResponse)
def create_badge(institution_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                 settings: SettingsDep, submitted: FormDep) -> Response:
    form = BadgeForm.from_form(submitted)
    image, image_error = read_image(submitted.get("image"))
    data, errors = form.to_create(institution_id, image)
    if data is not None and image_error is None:
        try:
            created = badges.create_badge_class(session=session, principal=staff.principal, data=data,
                                                base_url=settings.base_url)
        except InvalidRequest as exc:
            session.rollback()
            errors = _service_error(exc)
        else:
            return pages.redirect(request, f"/staff/badges/{created.id}", flash="badge.created", name=created.name)
    if image_error:
        errors["image"] = image_error
    return _form_page(request, pages, staff, session, settings.base_url, institution_id=institution_id, form=form,
                      errors=errors, status_code=400)


@router.get("/staff/badges/{badge_class_id}", response_class=HTMLResponse)
def badge_page(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
               settings: SettingsDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    institution = institutions.get_institution(session=session, principal=staff.principal,
                                               institution_id=badge.institution_id, base_url=settings.base_url)
    issuers = institutions.list_issuers(session=session, principal=staff.principal, institution_id=badge.institution_id)
    found = awards.list_awards(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                               limit=AWARDS_PER_PAGE + 1, offset=(page - 1) * AWARDS_PER_PAGE)
    return render(pages, request, staff, "badge.html", "badge.title", {
        "badge": badge, "institution": institution, "issuer": next((i for i in issuers if i.id == badge.issuer_id), None),
        "awards": found[:AWARDS_PER_PAGE], "page": page, "more": len(found) > AWARDS_PER_PAGE}, name=badge.name)


@router.get("/staff/badges/{badge_class_id}/edit", response_class=HTMLResponse)
def edit_badge_page(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                    settings: SettingsDep) -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    return _form_page(request, pages, staff, session, settings.base_url, institution_id=badge.institution_id,
                      form=BadgeForm.from_badge(badge), badge=badge)


@router.post("/staff/badges/{badge_class_id}/edit", response_class=HTMLResponse)
def edit_badge(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
               settings: SettingsDep, submitted: FormDep) -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    form = BadgeForm.from_form(submitted)
    form.values["issuer_id"] = str(badge.issuer_id)
    image, image_error = read_image(submitted.get("image"))
    data, errors = form.to_update(image, badge.result_descriptions[1:])
    if data is not None and image_error is None:
        try:
            badges.update_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                      data=data, base_url=settings.base_url)
        except InvalidRequest as exc:
            session.rollback()
            errors = _service_error(exc)
        else:
            return pages.redirect(request, f"/staff/badges/{badge_class_id}", flash="badge.saved", name=badge.name)
    if image_error:
        errors["image"] = image_error
    return _form_page(request, pages, staff, session, settings.base_url, institution_id=badge.institution_id,
                      form=form, badge=badge, errors=errors, status_code=400)


def _set_archived(badge_class_id: int, archived: bool, request: Request, pages: Pages, staff: StaffUser,
                  session: SessionDep, base_url: str) -> Response:
    badge = badges.update_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                      data=BadgeClassUpdate(archived=archived), base_url=base_url)
    return pages.redirect(request, f"/staff/badges/{badge_class_id}",
                          flash="badge.archived" if archived else "badge.restored", name=badge.name)


@router.post("/staff/badges/{badge_class_id}/archive")
def archive_badge(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                  settings: SettingsDep) -> Response:
    return _set_archived(badge_class_id, True, request, pages, staff, session, settings.base_url)


@router.post("/staff/badges/{badge_class_id}/restore")
def restore_badge(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                  settings: SettingsDep) -> Response:
    return _set_archived(badge_class_id, False, request, pages, staff, session, settings.base_url)

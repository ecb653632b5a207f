"""Staff pages: the institutions overview, one institution with its issuers (faculties)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from issuer.admin_models import InstitutionCreate, IssuerCreate
from issuer.api.deps import KeysDep, SessionDep, SettingsDep
from issuer.pages.routing import StaffDep, render, staff_router
from issuer.pages.sessions import StaffUser
from issuer.services import badges, institutions
from servicekit.web import Pages, PagesDep

router = staff_router()

Text = Annotated[str, Form(max_length=2000)]


def _form_errors(exc: ValidationError, known: tuple[str, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] and error["loc"][0] in known else known[0]
        kind = error["type"]
        message = ("form.error.required" if kind in ("missing", "string_too_short") else
                   "form.error.url" if kind.startswith("url") else
                   "institution.error.country" if field == "country" else "form.error.invalid")
        errors.setdefault(field, message)
    return errors


def _overview(request: Request, pages: Pages, staff: StaffUser, session: SessionDep, base_url: str,
              values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
              status_code: int = 200) -> HTMLResponse:
    found = institutions.list_institutions(session=session, principal=staff.principal, base_url=base_url)
    return render(pages, request, staff, "institutions.html", "institutions.title", {
        "institutions": found, "values": values or {"signing_alg": "ES256"},
        "errors": {k: pages.t(request, v) for k, v in (errors or {}).items()}}, status_code=status_code)


@router.get("/staff", response_class=HTMLResponse)
def overview(request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
             settings: SettingsDep) -> Response:
    if staff.principal.institution_id is not None:
        return pages.redirect(request, f"/staff/institutions/{staff.principal.institution_id}")
    return _overview(request, pages, staff, session, settings.base_url)


@router.post("/staff/institutions", response_class=HTMLResponse)
def create_institution(request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep, settings: SettingsDep,
                       key_store: KeysDep, name: Text = "", homepage: Text = "", country: Text = "",
                       signing_alg: Text = "ES256") -> Response:
    values = {"name": name, "homepage": homepage, "country": country, "signing_alg": signing_alg}
    try:
        data = InstitutionCreate.model_validate({"name": name, "homepage": homepage.strip() or None,
                                                 "country": country.strip().upper() or None, "signing_alg": signing_alg})
    except ValidationError as exc:
        return _overview(request, pages, staff, session, settings.base_url, values,
                         _form_errors(exc, ("name", "homepage", "country", "signing_alg")), status_code=400)
    created = institutions.create_institution(session=session, principal=staff.principal, keys=key_store, data=data)
    return pages.redirect(request, f"/staff/institutions/{created.id}", flash="institution.created", name=created.name)


def _institution(request: Request, pages: Pages, staff: StaffUser, session: SessionDep, base_url: str,
                 institution_id: int, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    institution = institutions.get_institution(session=session, principal=staff.principal,
                                               institution_id=institution_id, base_url=base_url)
    issuers = institutions.list_issuers(session=session, principal=staff.principal, institution_id=institution_id)
    badge_classes = badges.list_badge_classes(session=session, principal=staff.principal, base_url=base_url,
                                              institution_id=institution_id)
    return render(pages, request, staff, "institution.html", "institution.title", {
        "institution": institution, "issuers": issuers, "badge_classes": badge_classes,
        "can_manage": staff.principal.role in ("service_admin", "institution_admin"),
        "values": values or {}, "errors": {k: pages.t(request, v) for k, v in (errors or {}).items()}},
        status_code=status_code, name=institution.name)


@router.get("/staff/institutions/{institution_id}", response_class=HTMLResponse)
def institution_page(institution_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                     settings: SettingsDep) -> Response:
    return _institution(request, pages, staff, session, settings.base_url, institution_id)


@router.post("/staff/institutions/{institution_id}/issuers", response_class=HTMLResponse)
def create_issuer(institution_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                  settings: SettingsDep, name: Text = "", description: Text = "", homepage: Text = "") -> Response:
    values = {"name": name, "description": description, "homepage": homepage}
    try:
        data = IssuerCreate.model_validate({"name": name, "description": description.strip() or None,
                                            "homepage": homepage.strip() or None})
    except ValidationError as exc:
        return _institution(request, pages, staff, session, settings.base_url, institution_id, values,
                            _form_errors(exc, ("name", "description", "homepage")), status_code=400)
    created = institutions.create_issuer(session=session, principal=staff.principal, institution_id=institution_id,
                                         data=data)
    return pages.redirect(request, f"/staff/institutions/{institution_id}", flash="issuer.created", name=created.name)

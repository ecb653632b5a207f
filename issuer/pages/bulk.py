"""Staff pages: bulk award from an uploaded CSV, its live progress, and its per-row report."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from issuer.admin_models import BadgeClassPublic
from issuer.api.deps import SessionDep, SettingsDep
from issuer.pages.bulk_jobs import BulkCsvError, load_bulk_job, read_award_csv, report_csv, run_bulk_job, start_bulk_job
from issuer.pages.routing import EngineDep, MasterKeyDep, StaffDep, render, staff_router, translate_errors
from issuer.pages.sessions import StaffUser
from issuer.services import badges
from issuer.services.common import Conflict
from schemas.oauth2 import NotFound
from servicekit.web import Pages, PagesDep

router = staff_router()

FORMATS = ("jwt_vc_json", "dc+sd-jwt")
#: Rows shown in the report page; the CSV download has them all.
REPORT_ROWS_SHOWN = 500


def _bulk_form(request: Request, pages: Pages, staff: StaffUser, badge: BadgeClassPublic,
               values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    return render(pages, request, staff, "bulk_form.html", "bulk.title", {
        "badge": badge, "values": values or {"format": "jwt_vc_json", "pin": ""},
        "formats": [(f, pages.t(request, f"format.{f}")) for f in FORMATS],
        "errors": translate_errors(pages, request, errors or {})}, status_code=status_code, name=badge.name)


@router.get("/staff/badges/{badge_class_id}/bulk", response_class=HTMLResponse)
def bulk_page(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
              settings: SettingsDep) -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    if badge.archived:
        return pages.redirect(request, f"/staff/badges/{badge_class_id}", flash="award.archived", level="error")
    return _bulk_form(request, pages, staff, badge)


@router.post("/staff/badges/{badge_class_id}/bulk", response_class=HTMLResponse)
def bulk_upload(badge_class_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
                settings: SettingsDep, engine: EngineDep, master_key: MasterKeyDep, background: BackgroundTasks,
                file: Annotated[UploadFile | None, File()] = None,
                format: Annotated[str, Form(max_length=30)] = "jwt_vc_json",  # noqa: A002 - the form field's name
                pin: Annotated[str, Form(max_length=10)] = "") -> Response:
    badge = badges.get_badge_class(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                   base_url=settings.base_url)
    values = {"format": format, "pin": pin}
    if format not in FORMATS:
        return _bulk_form(request, pages, staff, badge, values, {"format": "form.error.choice"}, 400)
    try:
        if file is None or not file.filename:
            raise BulkCsvError("empty")
        rows = read_award_csv(file.file.read())
    except BulkCsvError as exc:
        return _bulk_form(request, pages, staff, badge, values, {"file": f"bulk.error.{exc.reason}"}, 400)
    try:
        job_id = start_bulk_job(session=session, principal=staff.principal, badge_class_id=badge_class_id,
                                file_name=file.filename, credential_format=format, pin=bool(pin), total=len(rows),
                                report_lifetime=settings.offer_ttl_seconds)
    except Conflict:
        return pages.redirect(request, f"/staff/badges/{badge_class_id}", flash="award.archived", level="error")
    background.add_task(run_bulk_job, engine=engine, settings=settings, master_key=master_key,
                        principal=staff.principal, job_id=job_id, rows=rows)
    return pages.redirect(request, f"/staff/bulk/{job_id}")


@router.get("/staff/bulk/{job_id}", response_class=HTMLResponse)
def job_page(job_id: int, request: Request, pages: PagesDep, staff: StaffDep, session: SessionDep,
             settings: SettingsDep, master_key: MasterKeyDep) -> Response:
    view = load_bulk_job(session=session, principal=staff.principal, master_key=master_key, job_id=job_id,
                         report_lifetime=settings.offer_ttl_seconds)
    badge = badges.get_badge_class(session=session, principal=staff.principal,
                                   badge_class_id=view.job.badge_class_id, base_url=settings.base_url)
    problems = [{**r, "problem": _problem(pages, request, r.get("error") or "")} for r in view.report
                if r["status"] == "error"]
    return render(pages, request, staff, "bulk_job.html", "bulk.job.title", {
        "badge": badge, "view": view, "job": view.job, "problems": problems,
        "rows": view.report[:REPORT_ROWS_SHOWN], "rows_hidden": max(0, len(view.report) - REPORT_ROWS_SHOWN)},
        name=badge.name)


def _problem(pages: Pages, request: Request, error: str) -> str:
    """A row's error in the reader's language (the awards service words it for API clients)."""
    for field in ("email", "name", "eduid", "result"):
        if error.startswith(field) or (field == "result" and "result" in error):
            return pages.t(request, f"bulk.problem.{field}")
    return error


@router.get("/staff/bulk/{job_id}/status")
def job_status(job_id: int, staff: StaffDep, session: SessionDep, settings: SettingsDep,
               master_key: MasterKeyDep) -> JSONResponse:
    """The job's progress for the waiting page: its `state` changes at every step, so the page reloads."""
    view = load_bulk_job(session=session, principal=staff.principal, master_key=master_key, job_id=job_id,
                         report_lifetime=settings.offer_ttl_seconds)
    return JSONResponse({"state": view.poll_state, "processed": view.job.processed, "total": view.job.total},
                        headers={"Cache-Control": "no-store"})


@router.get("/staff/bulk/{job_id}/report.csv")
def job_report(job_id: int, staff: StaffDep, session: SessionDep, settings: SettingsDep,
               master_key: MasterKeyDep) -> Response:
    """Every row with its offer link and PIN, to send the learners (until the offers expire: 404 after)."""
    view = load_bulk_job(session=session, principal=staff.principal, master_key=master_key, job_id=job_id,
                         report_lifetime=settings.offer_ttl_seconds)
    if view.report_removed:
        raise NotFound(f"the report of bulk award {job_id} was deleted when its offers expired")
    return Response(report_csv(view.report), media_type="text/csv; charset=utf-8", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="bulk-award-{job_id}.csv"'})

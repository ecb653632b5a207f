"""The learner's account: encrypted backup download and restore, log out, delete the account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from schemas.oauth2 import InvalidGrant, InvalidRequest
from servicekit.web import CsrfProtected, Pages, PagesDep
from wallet.accounts import LearnerContext, delete_learner
from wallet.api.deps import ServicesDep, SessionDep
from wallet.backup import create_backup, restore_backup
from wallet.pages.common import PageLearner, end_page_session, render

__all__ = ["router"]

router = APIRouter(dependencies=[CsrfProtected], include_in_schema=False)
PassphraseField = Annotated[str, Form(max_length=1024)]
MIN_PASSPHRASE = 8


def _account_page(request: Request, pages: Pages, learner: LearnerContext, *, errors: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    return render(pages, request, "account.html", "account.title", learner=learner, errors=errors or {},
                  status_code=status_code)


@router.get("/account")
def account_page(request: Request, pages: PagesDep, learner: PageLearner) -> Response:
    return _account_page(request, pages, learner)


@router.post("/account/backup")
def backup(request: Request, pages: PagesDep, session: SessionDep, learner: PageLearner,
           passphrase: PassphraseField = "") -> Response:
    """The whole wallet as one file, encrypted under the passphrase (`wallet.backup`)."""
    if len(passphrase) < MIN_PASSPHRASE:
        return _account_page(request, pages, learner, status_code=400,
                             errors={"passphrase": pages.t(request, "backup.passphrase_short")})
    document = create_backup(session=session, learner=learner, passphrase=passphrase)
    filename = f"eduwallet-backup-{datetime.now(UTC):%Y-%m-%d}.json"
    return Response(json.dumps(document, indent=1), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.post("/account/restore")
async def restore(request: Request, pages: PagesDep, session: SessionDep, services: ServicesDep,
                  learner: PageLearner, backup_file: Annotated[UploadFile | None, File()] = None,
                  restore_passphrase: PassphraseField = "") -> Response:
    limit = services.settings.max_body_bytes
    data = await backup_file.read(limit + 1) if backup_file is not None else b""
    try:
        try:
            document = json.loads(data) if data else None
        except ValueError as exc:
            raise InvalidRequest("not a backup file") from exc
        if not isinstance(document, dict):
            raise InvalidRequest("not a backup file")
        restored = restore_backup(session=session, learner=learner, backup=document, passphrase=restore_passphrase)
    except InvalidGrant:
        return _account_page(request, pages, learner, status_code=400,
                             errors={"restore_passphrase": pages.t(request, "restore.wrong_passphrase")})
    except InvalidRequest as exc:
        return _account_page(request, pages, learner, status_code=400, errors={
            "backup_file": pages.t(request, "restore.unreadable", reason=exc.description or exc.error)})
    return pages.redirect(request, "/credentials", flash="restore.done", count=restored["credentials"])


@router.get("/account/delete")
def delete_page(request: Request, pages: PagesDep, learner: PageLearner) -> Response:
    return render(pages, request, "delete_account.html", "delete_account.title", learner=learner, errors={})


@router.post("/account/delete")
def delete(request: Request, pages: PagesDep, session: SessionDep, learner: PageLearner,
           confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    if confirm != "yes":
        return render(pages, request, "delete_account.html", "delete_account.title", learner=learner,
                      errors={"confirm": pages.t(request, "delete_account.confirm_missing")}, status_code=400)
    delete_learner(session=session, learner_id=learner.id)
    response = pages.redirect(request, "/login")
    end_page_session(pages, request, response, session=session)
    pages.flash(request, response, "delete_account.done", level="info")
    return response

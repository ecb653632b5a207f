"""Standalone check of an uploaded credential (raw body, or a multipart `file` field)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from schemas.oauth2 import InvalidRequest
from servicekit.app import error_responses
from verifier.api.deps import ServiceDep, SessionDep, SettingsDep
from verifier.check import check_uploaded_credential

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["standalone check"])

_UPLOAD = {"type": "string", "format": "binary"}
#: The route reads the body itself: a multipart `file` field, or the credential as the whole body.
CHECK_REQUEST = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {"file": _UPLOAD}}},
    "application/octet-stream": {"schema": _UPLOAD},
    "text/plain": {"schema": {"type": "string"}},
}}}


@router.post("/check", responses=error_responses(400), openapi_extra=CHECK_REQUEST)
async def check_credential(request: Request, session: SessionDep, settings: SettingsDep,
                           service: ServiceDep) -> dict[str, Any]:
    """Upload an OB3 credential (VC-JWT, JSON, baked PNG/SVG) or paste an SD-JWT: every named check."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            data = await upload.read()
        elif isinstance(upload, str):
            data = upload.encode()
        else:
            raise InvalidRequest("send the credential as the multipart field 'file'")
    else:
        data = await request.body()
    if not data.strip():
        raise InvalidRequest("no credential was sent")
    return await run_in_threadpool(check_uploaded_credential, session=session, settings=settings, service=service,
                                   data=data)

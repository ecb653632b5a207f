"""The result page a person sees (also where the same-device flow lands with its `response_code`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from verifier.api.deps import SessionDep
from verifier.requests import get_presentation_request
from verifier.results import presentation_result

__all__ = ["router"]

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

CHECK_LABELS = {
    "issuer_signature": "Signed by the issuer",
    "holder_binding": "Presented by its owner, for this request",
    "validity_period": "Within its validity period",
    "status": "Not revoked or suspended",
    "trusted_issuer": "Issued by a trusted institution",
    "ob3_schema": "A well-formed Open Badge",
    "dcql": "What was asked for",
}
ERROR_WORDS = {
    "credential_revoked": "the credential has been revoked by its issuer",
    "credential_suspended": "the credential is suspended by its issuer",
    "invalid_presentation": "the presentation did not pass the checks",
    "access_denied": "the learner declined to share",
}


@router.get("/presentation-requests/{request_id}", response_class=HTMLResponse)
def result_page(request: Request, request_id: str, session: SessionDep,
                response_code: str | None = Query(default=None, max_length=128)) -> HTMLResponse:
    result = presentation_result(session, get_presentation_request(session, request_id), response_code=response_code)
    return templates.TemplateResponse(request, "result.html", {"result": result, "labels": CHECK_LABELS,
                                                              "words": ERROR_WORDS},
                                      headers={"Cache-Control": "no-store"})

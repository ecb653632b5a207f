"""Presentation requests: resolve one (the consent summary), confirm or decline it; the history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from servicekit.app import error_responses
from servicekit.database import Offset
from wallet.api.deps import CurrentLearner, ServicesDep, SessionDep
from wallet.history import list_history
from wallet.presenting import confirm_presentation, decline_presentation, prepare_presentation
from wallet.schemas import PresentationConfirm, PresentationSubmit

router = APIRouter(prefix="/api/v1/presentations", tags=["presentations"],
                   responses=error_responses(401, 403, 404, 422, 502))


@router.post("")
def submit(body: PresentationSubmit, session: SessionDep, learner: CurrentLearner,
           services: ServicesDep) -> dict[str, Any]:
    """Resolve an `openid4vp://` request: who asks, and exactly which claims each answer would share."""
    return prepare_presentation(session=session, learner=learner, services=services, request_uri=body.request)


@router.post("/{presentation_id}/confirm")
def confirm(presentation_id: str, body: PresentationConfirm, session: SessionDep, learner: CurrentLearner,
            services: ServicesDep) -> dict[str, Any]:
    """Send what the learner agreed to; follow the returned `redirect_uri` (same-device flow)."""
    return confirm_presentation(session=session, learner=learner, services=services, pending_id=presentation_id,
                                credentials=body.credentials, disclose=body.disclose)


@router.post("/{presentation_id}/decline")
def decline(presentation_id: str, session: SessionDep, learner: CurrentLearner,
            services: ServicesDep) -> dict[str, Any]:
    return decline_presentation(session=session, learner=learner, services=services, pending_id=presentation_id)


@router.get("")
def history(session: SessionDep, learner: CurrentLearner, limit: Annotated[int, Query(ge=1, le=500)] = 100,
            offset: Offset = 0) -> dict[str, Any]:
    """What was shared with whom and when, newest first."""
    return {"data": list_history(session=session, learner=learner, limit=limit, offset=offset)}

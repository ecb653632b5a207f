"""The learner's credentials: list and search, detail, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from servicekit.app import error_responses
from servicekit.database import Offset
from wallet.api.deps import CurrentLearner, ServicesDep, SessionDep
from wallet.credentials import credential_cards, credential_detail
from wallet.export import export_credential
from wallet.schemas import CredentialDetail, CredentialList, CredentialSummary
from wallet.store import delete_credential

router = APIRouter(prefix="/api/v1/credentials", tags=["credentials"], responses=error_responses(401, 404))


@router.get("")
def list_(session: SessionDep, learner: CurrentLearner, services: ServicesDep,
          q: Annotated[str | None, Query(max_length=200, description="words that must all occur")] = None,
          format: Annotated[str | None, Query(max_length=32)] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50,
          offset: Offset = 0) -> CredentialList:
    cards, count = credential_cards(session=session, learner=learner, services=services, query=q, format=format,
                                    limit=limit, offset=offset)
    return CredentialList(data=[CredentialSummary(**c) for c in cards], count=count)


@router.get("/{credential_id}")
def get(credential_id: str, session: SessionDep, learner: CurrentLearner, services: ServicesDep) -> CredentialDetail:
    return CredentialDetail(**credential_detail(session=session, learner=learner, services=services,
                                                credential_id=credential_id))


@router.get("/{credential_id}/export")
def export(credential_id: str, session: SessionDep, learner: CurrentLearner, services: ServicesDep,
           as_: Annotated[str, Query(alias="as", pattern="^(json|jwt|png)$")] = "jwt") -> Response:
    """The credential as OB3 JSON, as issued (JWT / SD-JWT), or baked into its badge PNG."""
    media_type, body, filename = export_credential(session=session, learner=learner, services=services,
                                                   credential_id=credential_id, as_=as_)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.delete("/{credential_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(credential_id: str, session: SessionDep, learner: CurrentLearner) -> None:
    delete_credential(session=session, learner=learner, credential_id=credential_id)

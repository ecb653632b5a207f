"""The learner's credentials: list and search, detail, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from wallet.api.deps import CurrentLearner, ServicesDep, SessionDep
from wallet.export import export_credential
from wallet.rendering import card, detail
from wallet.schemas import CredentialDetail, CredentialList, CredentialSummary
from wallet.store import count_credentials, delete_credential, get_credential, list_credentials

router = APIRouter(prefix="/api/v1/credentials", tags=["credentials"])


@router.get("")
def list_(session: SessionDep, learner: CurrentLearner, services: ServicesDep,
          q: Annotated[str | None, Query(max_length=200, description="words that must all occur")] = None,
          format: Annotated[str | None, Query(max_length=32)] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50,
          offset: Annotated[int, Query(ge=0)] = 0) -> CredentialList:
    rows = list_credentials(session=session, learner=learner, query=q, format=format, limit=limit, offset=offset)
    checker = services.status_checker(session)
    data = [CredentialSummary(id=row.id, format=row.format, received_at=row.received_at.isoformat(),
                              **card(row.summary, locale=learner.locale, status=checker.status(row.summary)))
            for row in rows]
    return CredentialList(data=data, count=count_credentials(session=session, learner=learner, query=q, format=format))


@router.get("/{credential_id}")
def get(credential_id: str, session: SessionDep, learner: CurrentLearner, services: ServicesDep) -> CredentialDetail:
    row = get_credential(session=session, learner=learner, credential_id=credential_id)
    state = services.status_checker(session).status(row.summary)
    return CredentialDetail(id=row.id, format=row.format, received_at=row.received_at.isoformat(),
                            claims=row.claims, copies=len(row.copies),
                            **detail(row.summary, locale=learner.locale, status=state))


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

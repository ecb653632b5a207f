"""Admin API for the verifier's API keys: make one (shown once), list them, revoke one."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from servicekit.app import error_responses
from verifier.api.deps import CallerDep, SessionDep
from verifier.api_keys import create_api_key, list_api_keys, revoke_api_key
from verifier.models import ApiKey, as_utc

__all__ = ["router"]

router = APIRouter(prefix="/api/api-keys", tags=["api keys"], responses=error_responses(401, 403))


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    #: Admin keys also manage keys and the verifier-wide trusted-issuer list.
    admin: bool = False


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    admin: bool
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    #: The key itself: shown only in this answer (the verifier keeps its SHA-256).
    key: str


class ApiKeyList(BaseModel):
    data: list[ApiKeyPublic]


def _public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(id=row.id, name=row.name, admin=row.admin, created_at=as_utc(row.created_at),
                        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None)


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create(body: ApiKeyCreate, session: SessionDep, caller: CallerDep) -> ApiKeyCreated:
    """A new API key (admin keys only); the answer is the only time the key is shown."""
    row, key = create_api_key(session=session, caller=caller, name=body.name, admin=body.admin)
    return ApiKeyCreated(**_public(row).model_dump(), key=key)


@router.get("")
def list_keys(session: SessionDep, caller: CallerDep) -> ApiKeyList:
    return ApiKeyList(data=[_public(row) for row in list_api_keys(session=session, caller=caller)])


@router.delete("/{key_id}", status_code=204, responses=error_responses(404))
def revoke(session: SessionDep, caller: CallerDep,
           key_id: str = Path(min_length=1, max_length=32)) -> Response:
    """Revoke a key: it is refused from the next request on. The last admin key cannot be revoked."""
    revoke_api_key(session=session, caller=caller, key_id=key_id)
    return Response(status_code=204)

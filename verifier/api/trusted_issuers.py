"""The verifier-wide trusted-issuer list (DIDs or issuer URLs); a request may bring its own instead.

Any API key reads the list; only admin keys change it, since it decides what every request without a
list of its own accepts.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from schemas.oauth2 import InvalidRequest, NotFound
from servicekit.app import error_responses
from servicekit.database import RowId
from verifier.api.deps import AdminDep, CallerDep, SessionDep, SettingsDep
from verifier.models import TrustedIssuer, as_utc, utcnow

__all__ = ["router"]

router = APIRouter(prefix="/api/trusted-issuers", tags=["trusted issuers"], responses=error_responses(401))


class TrustedIssuerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: str = Field(min_length=5, max_length=500, pattern=r"^(did:[a-z0-9]+:\S+|https?://\S+)$")
    name: str | None = Field(default=None, max_length=200)


class TrustedIssuerPublic(BaseModel):
    id: int
    identifier: str
    name: str | None
    created_at: datetime


def _public(row: TrustedIssuer) -> TrustedIssuerPublic:
    assert row.id is not None
    return TrustedIssuerPublic(id=row.id, identifier=row.identifier, name=row.name, created_at=as_utc(row.created_at))


@router.get("")
def list_trusted_issuers(session: SessionDep, settings: SettingsDep, _caller: CallerDep) -> dict[str, object]:
    rows = session.exec(select(TrustedIssuer).order_by(TrustedIssuer.identifier)).all()  # type: ignore[arg-type]
    return {"data": [_public(r) for r in rows], "configured": settings.trusted_issuers,
            "trust_any_issuer": settings.trust_any_issuer}


@router.post("", status_code=201, responses=error_responses(403))
def add_trusted_issuer(body: TrustedIssuerCreate, session: SessionDep, _admin: AdminDep) -> TrustedIssuerPublic:
    row = TrustedIssuer(identifier=body.identifier, name=body.name, created_at=utcnow())
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InvalidRequest("this issuer is already trusted") from None
    session.refresh(row)
    return _public(row)


@router.delete("/{issuer_id}", status_code=204, responses=error_responses(403, 404))
def remove_trusted_issuer(issuer_id: RowId, session: SessionDep, _admin: AdminDep) -> Response:
    row = session.get(TrustedIssuer, issuer_id)
    if row is None:
        raise NotFound("no such trusted issuer")
    session.delete(row)
    session.commit()
    return Response(status_code=204)

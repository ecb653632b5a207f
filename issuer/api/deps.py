"""FastAPI dependencies of the issuer service, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from servicekit.database import session_scope
from sqlmodel import Session

from issuer.settings import IssuerSettings

__all__ = ["SessionDep", "SettingsDep"]


def get_settings(request: Request) -> IssuerSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.engine)


SettingsDep = Annotated[IssuerSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]

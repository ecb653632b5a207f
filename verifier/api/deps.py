"""FastAPI dependencies of the verifier service, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from servicekit.database import session_scope
from sqlmodel import Session

from verifier.settings import VerifierSettings

__all__ = ["SessionDep", "SettingsDep"]


def get_settings(request: Request) -> VerifierSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.engine)


SettingsDep = Annotated[VerifierSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]

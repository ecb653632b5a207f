"""FastAPI dependencies of the verifier service, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from servicekit.database import session_scope
from vc.keys import MasterKey
from verifier.identity import SigningIdentity
from verifier.settings import VerifierSettings
from verifier.verification import VerificationService

__all__ = ["IdentityDep", "ServiceDep", "MasterKeyDep", "SessionDep", "SettingsDep"]


async def get_settings(request: Request) -> VerifierSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Creating and closing a session does not block (the connection is taken on first use): no threadpool hop.
    for session in session_scope(request.app.state.engine):
        yield session


async def get_identity(request: Request) -> SigningIdentity:
    return request.app.state.identity  # type: ignore[no-any-return]


async def get_master_key(request: Request) -> MasterKey:
    return request.app.state.master_key  # type: ignore[no-any-return]


async def get_service(request: Request) -> VerificationService:
    return request.app.state.verification  # type: ignore[no-any-return]


SettingsDep = Annotated[VerifierSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
IdentityDep = Annotated[SigningIdentity, Depends(get_identity)]
MasterKeyDep = Annotated[MasterKey, Depends(get_master_key)]
ServiceDep = Annotated[VerificationService, Depends(get_service)]

"""FastAPI dependencies of the verifier service, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from servicekit.database import session_scope
from vc.keys import MasterKey
from verifier.api_keys import Caller, authenticate
from verifier.identity import SigningIdentity
from verifier.settings import VerifierSettings
from verifier.verification import VerificationService

__all__ = ["AdminDep", "CallerDep", "IdentityDep", "ServiceDep", "MasterKeyDep", "SessionDep", "SettingsDep"]


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


#: Documented in /openapi.json as the security scheme `ApiKey` of every route that takes it.
_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey", bearerFormat="ewv_...",
                     description="A verifier API key: `Authorization: Bearer <key>`. The first start writes an "
                                 "admin key to `<var_dir>/verifier-api.key`; admin keys make others "
                                 "(`POST /api/api-keys`).")


def get_caller(session: SessionDep,
               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The API key of the request, or 401 `invalid_token` with `WWW-Authenticate: Bearer`."""
    return authenticate(session=session, key=credentials.credentials if credentials else None)


async def get_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """An admin API key, or 403 `access_denied`."""
    caller.check_admin()
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
AdminDep = Annotated[Caller, Depends(get_admin)]

"""FastAPI dependencies of the wallet service, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from schemas.oauth2 import InvalidToken
from servicekit.database import session_scope
from vc.keys import MasterKey
from wallet.accounts import API_TOKEN, LearnerContext, resolve_token
from wallet.services import WalletServices
from wallet.settings import WalletSettings
from wallet.vault import IndexKey

__all__ = ["BearerToken", "CurrentLearner", "MasterKeyDep", "ServicesDep", "SessionDep", "SettingsDep",
           "UsernameIndexDep"]

_bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> WalletSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.engine)


def get_master_key(request: Request) -> MasterKey:
    return request.app.state.master_key  # type: ignore[no-any-return]


def get_username_index(request: Request) -> IndexKey:
    return request.app.state.username_index  # type: ignore[no-any-return]


def get_services(request: Request) -> WalletServices:
    return request.app.state.services  # type: ignore[no-any-return]


def get_bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise InvalidToken("a bearer token is required")
    return credentials.credentials


SettingsDep = Annotated[WalletSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
MasterKeyDep = Annotated[MasterKey, Depends(get_master_key)]
UsernameIndexDep = Annotated[IndexKey, Depends(get_username_index)]
BearerToken = Annotated[str, Depends(get_bearer_token)]
ServicesDep = Annotated[WalletServices, Depends(get_services)]


def get_current_learner(session: SessionDep, master_key: MasterKeyDep, token: BearerToken) -> LearnerContext:
    return resolve_token(session=session, master_key=master_key, token=token, kind=API_TOKEN)


CurrentLearner = Annotated[LearnerContext, Depends(get_current_learner)]

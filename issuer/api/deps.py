"""FastAPI dependencies of the issuer service, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from issuer.services.dpop import DpopNonces, DpopRequest, PresentedToken
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal, authenticate
from issuer.settings import IssuerSettings
from servicekit.database import session_scope

__all__ = ["DpopNoncesDep", "KeysDep", "PrincipalDep", "SessionDep", "SettingsDep", "bearer_token", "dpop_request",
           "presented_token"]


# `async` where nothing blocks, so FastAPI runs them on the event loop instead of a worker thread each
# (a thread hop costs more than any of them): making a Session does no I/O, closing one only hands its
# connection back. The routes that use the session run in the thread pool.

async def get_settings(request: Request) -> IssuerSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[Session]:
    with contextmanager(session_scope)(request.app.state.engine) as session:
        yield session


async def get_keys(request: Request) -> KeyStore:
    return request.app.state.keys  # type: ignore[no-any-return]


async def get_dpop_nonces(request: Request) -> DpopNonces:
    return request.app.state.dpop_nonces  # type: ignore[no-any-return]


def _authorization(request: Request) -> tuple[str | None, str | None]:
    """The `Authorization` header's scheme (lower case) and credentials, each None when absent."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() or None, token.strip() or None


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or None."""
    scheme, token = _authorization(request)
    return token if scheme == "bearer" else None


def dpop_request(request: Request, settings: IssuerSettings, path: str) -> DpopRequest:
    """The `DPoP` proofs of a request to `path`, which must name our public URL of `path` (RFC 9449 §4.3)."""
    return DpopRequest(tuple(request.headers.getlist("dpop")), request.method, settings.base_url + path,
                       request.app.state.dpop_nonces)


def presented_token(request: Request, settings: IssuerSettings, path: str) -> PresentedToken:
    """The access token of a request to `path` as `Authorization: Bearer|DPoP <token>` (RFC 6750 §2.1,
    RFC 9449 §7.1), with the request's DPoP proofs."""
    return PresentedToken(*_authorization(request), dpop_request(request, settings, path))


SettingsDep = Annotated[IssuerSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
DpopNoncesDep = Annotated[DpopNonces, Depends(get_dpop_nonces)]


def get_principal(request: Request, session: SessionDep) -> Principal:
    return authenticate(session=session, token=bearer_token(request))


PrincipalDep = Annotated[Principal, Depends(get_principal)]

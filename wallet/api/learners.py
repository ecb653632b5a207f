"""Learner accounts over the API: register, log in (bearer token), who am I, log out, delete the account."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from servicekit.app import error_responses
from wallet.accounts import API_TOKEN, delete_learner, issue_token, register_learner, revoke_token
from wallet.api.deps import BearerToken, CurrentLearner, MasterKeyDep, SessionDep, SettingsDep, UsernameIndexDep
from wallet.schemas import LearnerCreate, LearnerPublic, Login, TokenResponse
from wallet.throttle import throttled_authenticate

router = APIRouter(prefix="/api/v1", tags=["learners"], responses=error_responses(401))


@router.post("/learners", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
def register(body: LearnerCreate, session: SessionDep, master_key: MasterKeyDep,
             username_index: UsernameIndexDep) -> LearnerPublic:
    learner = register_learner(session=session, master_key=master_key, username_index=username_index,
                               username=body.username, password=body.password, locale=body.locale)
    return LearnerPublic(id=learner.id, username=learner.username, locale=learner.locale)


@router.post("/token", responses=error_responses(429))
def login(body: Login, session: SessionDep, master_key: MasterKeyDep, username_index: UsernameIndexDep,
          settings: SettingsDep, request: Request, response: Response) -> TokenResponse:
    """Log in; after repeated failures for the account or the client address, 429 with `Retry-After`."""
    learner = throttled_authenticate(session=session, master_key=master_key, username_index=username_index,
                                     username=body.username, password=body.password,
                                     address=request.client.host if request.client else None,
                                     settings=settings)
    token = issue_token(session=session, learner_id=learner.id, kind=API_TOKEN,
                        ttl=timedelta(seconds=settings.token_ttl_seconds))
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(access_token=token, expires_in=settings.token_ttl_seconds)


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, learner: CurrentLearner, token: BearerToken) -> None:
    revoke_token(session=session, token=token)


@router.get("/me")
def me(learner: CurrentLearner) -> LearnerPublic:
    return LearnerPublic(id=learner.id, username=learner.username, locale=learner.locale)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(session: SessionDep, learner: CurrentLearner) -> None:
    """Delete the account and everything in it: credentials, keys, history, sessions."""
    delete_learner(session=session, learner_id=learner.id)

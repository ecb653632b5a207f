"""Pages to get in and out: log in, register, log in with the OpenID Connect provider (eduID), log out."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from schemas.oauth2 import InvalidGrant, ProtocolError
from servicekit.throttle import TooManyAttempts
from servicekit.web import CsrfProtected, Pages, PagesDep
from vc.errors import VcError
from wallet.accounts import is_valid_password, is_valid_username, login_oidc_learner, register_learner
from wallet.api.deps import MasterKeyDep, ServicesDep, SessionDep, SettingsDep, UsernameIndexDep
from wallet.errors import Conflict
from wallet.oidc import LoginTransaction, begin_login, finish_login
from wallet.pages.common import OptionalLearner, end_page_session, render, start_page_session
from wallet.settings import WalletSettings
from wallet.throttle import throttled_authenticate

__all__ = ["router"]

router = APIRouter(dependencies=[CsrfProtected], include_in_schema=False)

HOME = "/credentials"
CALLBACK_PATH = "/login/oidc/callback"
_OIDC_AAD = "wallet-oidc-login"
_OIDC_COOKIE_AGE = 600

NextField = Annotated[str, Form(max_length=2000)]


def _login_page(request: Request, pages: Pages, settings: WalletSettings, *, next_path: str,
                errors: dict[str, str] | None = None, username: str = "", status_code: int = 200) -> Response:
    return render(pages, request, "login.html", "login.title", errors=errors or {}, username=username,
                  next_path=next_path, oidc=settings.oidc_enabled, provider=settings.oidc_provider_name,
                  status_code=status_code)


@router.get("/")
def home(learner: OptionalLearner) -> Response:
    return RedirectResponse(HOME if learner else "/login", status_code=303)


@router.get("/login")
def login_page(request: Request, pages: PagesDep, settings: SettingsDep, learner: OptionalLearner,
               next: str = HOME) -> Response:  # noqa: A002 - the query parameter's name
    if learner is not None:
        return pages.redirect(request, next)
    return _login_page(request, pages, settings, next_path=next)


@router.post("/login")
def login(request: Request, pages: PagesDep, session: SessionDep, master_key: MasterKeyDep,
          username_index: UsernameIndexDep, settings: SettingsDep,
          username: Annotated[str, Form(max_length=64)] = "", password: Annotated[str, Form(max_length=1024)] = "",
          next: NextField = HOME) -> Response:  # noqa: A002
    try:
        learner = throttled_authenticate(session=session, master_key=master_key, username_index=username_index,
                                         username=username, password=password,
                                         address=request.client.host if request.client else None,
                                         settings=settings)
    except InvalidGrant:
        return _login_page(request, pages, settings, next_path=next, username=username, status_code=400,
                           errors={"username": pages.t(request, "login.wrong")})
    except TooManyAttempts as exc:
        page = _login_page(request, pages, settings, next_path=next, username=username, status_code=429,
                           errors={"username": pages.t(request, "login.throttled", seconds=exc.retry_after)})
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = pages.redirect(request, next)
    start_page_session(pages, request, response, session=session, settings=settings, learner_id=learner.id)
    pages.flash(request, response, "login.welcome", level="success", name=learner.username)
    return response


@router.get("/register")
def register_page(request: Request, pages: PagesDep, learner: OptionalLearner) -> Response:
    if learner is not None:
        return pages.redirect(request, HOME)
    return render(pages, request, "register.html", "register.title", errors={}, username="")


@router.post("/register")
def register(request: Request, pages: PagesDep, session: SessionDep, master_key: MasterKeyDep,
             username_index: UsernameIndexDep, settings: SettingsDep,
             username: Annotated[str, Form(max_length=200)] = "",
             password: Annotated[str, Form(max_length=2000)] = "") -> Response:
    errors = {}
    if not is_valid_username(username):
        errors["username"] = pages.t(request, "register.username_invalid")
    if not is_valid_password(password):
        errors["password"] = pages.t(request, "register.password_invalid")
    if not errors:
        try:
            learner = register_learner(session=session, master_key=master_key, username_index=username_index,
                                       username=username, password=password, locale=pages.language(request))
        except Conflict:
            errors["username"] = pages.t(request, "register.username_taken")
    if errors:
        return render(pages, request, "register.html", "register.title", errors=errors, username=username,
                      status_code=400)
    response = pages.redirect(request, HOME)
    start_page_session(pages, request, response, session=session, settings=settings, learner_id=learner.id)
    pages.flash(request, response, "register.welcome", level="success", name=learner.username)
    return response


@router.post("/logout")
def logout(request: Request, pages: PagesDep, session: SessionDep) -> Response:
    response = pages.redirect(request, "/login")
    end_page_session(pages, request, response, session=session)
    pages.flash(request, response, "logout.done", level="info")
    return response


# -- OpenID Connect (eduID) ---------------------------------------------------------------------------

def _oidc_cookie(pages: Pages) -> str:
    return f"{'__Host-' if pages.cookies.secure else ''}{pages.service}_oidc"


@router.get("/login/oidc")
def oidc_start(request: Request, pages: PagesDep, settings: SettingsDep, services: ServicesDep,
               master_key: MasterKeyDep, next: str = HOME) -> Response:  # noqa: A002
    """Send the browser to the provider with a fresh state, nonce and PKCE verifier, kept sealed in a cookie."""
    if not settings.oidc_enabled or settings.oidc_issuer is None or settings.oidc_client_id is None:
        return pages.redirect(request, "/login")
    try:
        url, transaction = begin_login(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id,
                                       redirect_uri=settings.base_url + CALLBACK_PATH, scope=settings.oidc_scope,
                                       fetcher=services.fetcher, next_path=next)
    except ProtocolError as exc:
        return _oidc_failed(request, pages, exc)
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    sealed = master_key.seal(json.dumps(transaction.to_json()).encode(), _OIDC_AAD)
    pages.cookies.set(response, _oidc_cookie(pages), sealed, max_age=_OIDC_COOKIE_AGE)
    return response


@router.get("/login/oidc/callback")
def oidc_callback(request: Request, pages: PagesDep, settings: SettingsDep, services: ServicesDep,
                  session: SessionDep, master_key: MasterKeyDep, username_index: UsernameIndexDep) -> Response:
    """The provider's answer: check it, redeem the code, validate the ID token, log the learner in."""
    if not settings.oidc_enabled or settings.oidc_issuer is None or settings.oidc_client_id is None:
        return pages.redirect(request, "/login")
    assert settings.oidc_client_secret is not None
    try:
        sealed = request.cookies.get(_oidc_cookie(pages))
        if not sealed:
            raise InvalidGrant("this browser did not start a login (or it took too long); start again")
        try:
            transaction = LoginTransaction.from_json(json.loads(master_key.open(sealed, _OIDC_AAD)))
        except (VcError, ValueError) as exc:
            raise InvalidGrant("the login could not be continued; start again") from exc
        claims = finish_login(dict(request.query_params), transaction, issuer=settings.oidc_issuer,
                              client_id=settings.oidc_client_id,
                              client_secret=settings.oidc_client_secret.get_secret_value(), fetcher=services.fetcher,
                              skew=_skew(settings))
    except ProtocolError as exc:
        return _oidc_failed(request, pages, exc)
    learner = login_oidc_learner(session=session, master_key=master_key, username_index=username_index,
                                 issuer=settings.oidc_issuer, subject=claims.sub,
                                 preferred_username=claims.preferred_username, locale=pages.language(request))
    response = pages.redirect(request, transaction.next_path)
    pages.cookies.delete(response, _oidc_cookie(pages))
    start_page_session(pages, request, response, session=session, settings=settings, learner_id=learner.id)
    pages.flash(request, response, "login.welcome", level="success", name=learner.username)
    return response


def _oidc_failed(request: Request, pages: Pages, exc: ProtocolError) -> Response:
    """Back to the login page (a clean address, without the provider's answer in it), saying why."""
    # A browser that comes back without a page session (it never saw a page of ours) gets one now,
    # or the flash message, which is bound to the session, would be lost.
    pages.cookies.ensure_session(request)
    response = pages.redirect(request, "/login", flash="login.oidc_failed", level="error",
                              reason=exc.description or exc.error)
    pages.cookies.write_new_session(request, response)
    pages.cookies.delete(response, _oidc_cookie(pages))
    return response


def _skew(settings: WalletSettings) -> timedelta:
    return timedelta(seconds=settings.oidc_clock_skew_seconds)

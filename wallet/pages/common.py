"""What every wallet page shares: the learner of the page session, rendering, and showing values in words.

A learner's page session is the page-session cookie of `servicekit.web` linked, by the SHA-256 of
its id, to a `PAGE_SESSION` row of the token table (`wallet.accounts`): logging in makes a fresh
id (`start_page_session`), logging out deletes the row and the cookie. Pages that need a learner
take `PageLearner`; without a live session the browser goes to the login page and comes back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from schemas.oauth2 import InvalidToken
from servicekit.web import Pages, PagesDep
from wallet.accounts import PAGE_SESSION, LearnerContext, issue_token, resolve_token, revoke_token
from wallet.api.deps import MasterKeyDep, SessionDep
from wallet.rendering import claim_labels
from wallet.settings import WalletSettings
from wallet.status import parse_timestamp

__all__ = [
    "LoginRequired",
    "OptionalLearner",
    "PageLearner",
    "add_template_helpers",
    "end_page_session",
    "render",
    "start_page_session",
]

#: Left out of "everything the credential says": how it is built, not what it says.
_HIDDEN = frozenset({"@context", "cnf", "_sd", "_sd_alg", "vct#integrity", "proof", "credentialSchema"})
#: Top-level claims a consent page lists apart, as the technical details that travel with a credential.
_TECHNICAL = _HIDDEN | {"iss", "iat", "nbf", "exp", "jti", "sub", "vct", "status", "type", "id", "credentialStatus",
                        "validFrom", "validUntil", "issuanceDate", "expirationDate"}


#: JWT claims that hold a moment as seconds since 1970 (RFC 7519 §4.1.4-6).
_EPOCH_CLAIMS = frozenset({"iat", "exp", "nbf"})


class LoginRequired(Exception):  # noqa: N818 - named for what the browser must do
    """The page needs a logged-in learner; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _current_learner(request: Request, session: Session, master_key: Any, pages: Pages) -> LearnerContext | None:
    session_id = pages.cookies.session_id(request)
    if not session_id:
        return None
    try:
        learner = resolve_token(session=session, master_key=master_key, token=session_id, kind=PAGE_SESSION)
    except InvalidToken:
        return None
    # Pages speak the reader's language; the service functions render names in `learner.locale`.
    return replace(learner, locale=pages.language(request))


def get_optional_learner(request: Request, session: SessionDep, master_key: MasterKeyDep,
                         pages: PagesDep) -> LearnerContext | None:
    return _current_learner(request, session, master_key, pages)


def get_page_learner(request: Request, session: SessionDep, master_key: MasterKeyDep,
                     pages: PagesDep) -> LearnerContext:
    learner = _current_learner(request, session, master_key, pages)
    if learner is None:
        query = request.url.query
        raise LoginRequired(request.url.path + (f"?{query}" if query else "") if request.method == "GET" else "/")
    return learner


PageLearner = Annotated[LearnerContext, Depends(get_page_learner)]
OptionalLearner = Annotated[LearnerContext | None, Depends(get_optional_learner)]


def start_page_session(pages: Pages, request: Request, response: Response, *, session: Session,
                       settings: WalletSettings, learner_id: str) -> None:
    """Log the browser in: a fresh page-session id (earlier ones and their CSRF tokens stop working)."""
    old = pages.cookies.cookie_session_id(request)
    if old:
        revoke_token(session=session, token=old)
    ttl = settings.page_session_ttl_seconds
    session_id = pages.new_session(request, response, max_age=ttl)
    issue_token(session=session, learner_id=learner_id, kind=PAGE_SESSION, ttl=timedelta(seconds=ttl),
                token=session_id)


def end_page_session(pages: Pages, request: Request, response: Response, *, session: Session) -> None:
    """Log the browser out: the session is forgotten and the browser gets a fresh anonymous one
    (so a flash message added afterwards still shows on the next page)."""
    current = pages.cookies.cookie_session_id(request)
    if current:
        revoke_token(session=session, token=current)
    pages.new_session(request, response)


def render(pages: Pages, request: Request, template: str, title_id: str, *, learner: LearnerContext | None = None,
           status_code: int = 200, title_params: dict[str, Any] | None = None, **context: Any) -> HTMLResponse:
    """A page with its translated title and, when logged in, the learner (for the menu)."""
    return pages.render(request, template, {"page_title": pages.t(request, title_id, **(title_params or {})),
                                            "learner": learner, **context}, status_code=status_code)


# -- values in words (template filters and globals) -----------------------------------------------

def _words(key: str) -> str:
    """`given_name` / `creditsAvailable` as "given name" / "credits available"."""
    spaced = "".join(f" {c.lower()}" if c.isupper() and i and not key[i - 1].isupper() else c
                     for i, c in enumerate(key))
    text = " ".join(spaced.replace("_", " ").replace("-", " ").split())
    return text[:1].upper() + text[1:]


def _path_matches(pattern: Sequence[Any], path: Sequence[Any]) -> bool:
    """A metadata claim path (`None` for every array element) against a concrete claim path."""
    return len(pattern) == len(path) and all(
        p == q or (p is None and isinstance(q, int)) for p, q in zip(pattern, path, strict=True))


def _generic_path(path: Sequence[Any]) -> str:
    """`credentialSubject.result.*.value`: a claim path with its array indices as `*` (catalog ids)."""
    return ".".join("*" if isinstance(part, int) else str(part) for part in path)


def path_text(path: Sequence[Any]) -> str:
    """`credentialSubject.result[0].value`: the exact claim path, compact, for the consent page."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def add_template_helpers(pages: Pages) -> None:
    """Filters the wallet's templates use: dates, numbers, claim names and values in the page's language."""
    catalog = pages.catalog

    def known(language: str, message_id: str) -> str | None:
        return catalog.messages.get(language, {}).get(message_id) or catalog.messages["en"].get(message_id)

    def date(value: Any, language: str, with_time: bool = False) -> str:
        moment = parse_timestamp(value)
        if moment is None:
            return ""
        month = catalog.translate(language, f"date.month.{moment.month}")
        text = f"{moment.day} {month} {moment.year}"
        return f"{text}, {moment.strftime('%H:%M')} UTC" if with_time else text

    def number(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def claim_label(path: Sequence[Any], language: str) -> str:
        parts = []
        for part in path:
            if isinstance(part, int):
                parts.append(f"#{part + 1}")
            else:
                parts.append(known(language, f"claim.{part}") or _words(str(part)))
        return " › ".join(parts) or "·"

    def leaf_label(path: Sequence[Any], language: str) -> str:
        """The last named part of a path in words, with the element number of trailing indices."""
        named = [p for p in path if not isinstance(p, int)]
        if not named:
            return claim_label(path, language)
        numbers: list[str] = []
        for part in reversed(path):
            if not isinstance(part, int):
                break
            numbers.insert(0, f"#{part + 1}")
        last = str(named[-1])
        return " ".join([known(language, f"claim.{last}") or _words(last), *numbers])

    def claim_title(path: Sequence[Any], labels: Sequence[Any], credential_format: str, language: str) -> str:
        """What a consent page calls a claim: its label in the credential's own metadata (SD-JWT VC
        Type Metadata, the issuer's claims descriptions) in the learner's language; for an Open
        Badge the wallet's own table (`ob3.<path>`); a labelled parent with the rest; else the last
        part of the path in words. The exact path is always shown next to it."""
        own = [entry for entry in labels if _path_matches(entry["path"], path)]
        fitting = [entry["label"] for entry in own if entry.get("in_language")]
        badge = known(language, f"ob3.{_generic_path(path)}") if credential_format == "jwt_vc_json" else None
        for found in (badge, *fitting, *(entry["label"] for entry in own)):
            if found:
                return str(found)
        for cut in range(len(path) - 1, 0, -1):
            parent = [entry for entry in labels if _path_matches(entry["path"], path[:cut])]
            if parent:
                best = next((e for e in parent if e.get("in_language")), parent[0])
                return f"{best['label']} › {claim_label(path[cut:], language)}"
        return leaf_label(path, language)

    def shared_claim_title(path: Sequence[Any], shared: Mapping[str, Any], language: str) -> str:
        """`claim_title` for a history or "sent" entry (it keeps the credential's `claim_display`, all languages)."""
        return claim_title(path, claim_labels(shared, language), str(shared.get("format") or ""), language)

    def claim_value(value: Any, language: str, path: Sequence[Any] = ()) -> str:
        if path and path[-1] in _EPOCH_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
            return date(datetime.fromtimestamp(value, UTC), language, with_time=True)
        if isinstance(value, bool):
            return catalog.translate(language, "value.yes" if value else "value.no")
        if value is None or value == {} or value == []:
            return "–"
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return number(value)

    def shown_claims(claims: Any) -> list[tuple[tuple[Any, ...], Any]]:
        """Every leaf of a credential's claims except the technical ones, in document order."""
        from vc.claims_path import leaf_paths

        found = []
        for path in leaf_paths(claims):
            if any(isinstance(p, str) and p in _HIDDEN for p in path):
                continue
            value: Any = claims
            for part in path:
                value = value[part]
            found.append((path, value))
        return found

    def image_src(credential_id: str, reference: Any, kind: str = "badge") -> str:
        """Where an `<img>` finds a credential's image: a `data:` image as is, a URL through the wallet."""
        if isinstance(reference, str) and reference.startswith("data:image/"):
            return reference
        if isinstance(reference, str) and reference.startswith(("https://", "http://")):
            return f"/credentials/{credential_id}/image/{kind}"
        return pages.static_url("badge.svg")

    def is_technical(path: Sequence[Any]) -> bool:
        return bool(path) and isinstance(path[0], str) and path[0] in _TECHNICAL

    pages.environment.tests["is_technical"] = is_technical
    pages.environment.filters.update(wallet_date=date, wallet_number=number, claim_label=claim_label,
                                     claim_value=claim_value)
    pages.environment.globals.update(shown_claims=shown_claims, image_src=image_src, claim_title=claim_title,
                                     shared_claim_title=shared_claim_title,
                                     claim_path_text=path_text,
                                     claim_path_value=lambda path: json.dumps(list(path)))

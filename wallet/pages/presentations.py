"""Sharing: the consent page for a presentation request, what was sent, and the history of sharing.

Links that open the wallet directly land here too: `/present?client_id=...&request_uri=...` takes
the parameters of an `openid4vp://` link (OpenID4VP 1.0 §5), so a verifier's QR code or its
same-device link can point at this wallet's own address.

When the verifier says no (its request expired or was answered, it refused the presentation) or
does not answer, the learner gets `refused.html`: what happened in words, the verifier's own
words apart, and where to go next; not an error page. The API answers the same with a 502.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from schemas.oauth2 import InvalidRequest, ProtocolError
from schemas.oid4vp import OPENID4VP_SCHEME
from servicekit.web import CsrfProtected, Pages, PagesDep
from wallet.accounts import LearnerContext
from wallet.api.deps import ServicesDep, SessionDep
from wallet.errors import VerifierRefused, VerifierUnreachable
from wallet.history import list_history
from wallet.pages.common import PageLearner, render
from wallet.presenting import confirm_presentation, decline_presentation, describe_presentation, prepare_presentation
from wallet.refusals import Stage

__all__ = ["refusal_page", "router"]

router = APIRouter(dependencies=[CsrfProtected], include_in_schema=False)
HISTORY_SIZE = 200
_MAX_PATH = 32


def link_host(link: str) -> str | None:
    """The host a presentation request link fetches its request from (who the learner is dealing with)."""
    for uri in parse_qs(urlsplit(link.strip()).query).get("request_uri", [])[:1]:
        return urlsplit(uri).hostname
    return None


def refusal_page(request: Request, pages: Pages, learner: LearnerContext, exc: VerifierRefused | VerifierUnreachable,
                 *, stage: Stage, verifier: str | None) -> Response:
    """The verifier said no (`VerifierRefused`, shown with 200: its answer is the news) or did not
    answer (`VerifierUnreachable`, 502), in words, with the way on."""
    reason = exc.reason if isinstance(exc, VerifierRefused) else "unreachable"
    who = verifier or pages.t(request, "refused.the_verifier")
    if reason == "unreachable":
        title, next_step = "refused.title_unreachable", "later"
    else:
        title = "refused.title_open" if stage == "open" else "refused.title"
        next_step = "ask" if reason == "refused" else "new_request"
    return render(pages, request, "refused.html", title, title_params={"verifier": who}, learner=learner,
                  status_code=200 if isinstance(exc, VerifierRefused) else exc.status_code, stage=stage,
                  reason="refused_open" if (reason, stage) == ("refused", "open") else reason, next_step=next_step,
                  verifier=who, words=exc.verifier_words if isinstance(exc, VerifierRefused) else None)


@router.get("/present")
def open_request(request: Request, pages: PagesDep, session: SessionDep, services: ServicesDep,
                 learner: PageLearner) -> Response:
    """An `openid4vp://` link's parameters, opened in this wallet."""
    link = f"{OPENID4VP_SCHEME}?{request.url.query}"
    try:
        consent = prepare_presentation(session=session, learner=learner, services=services, request_uri=link)
    except (VerifierRefused, VerifierUnreachable) as exc:
        return refusal_page(request, pages, learner, exc, stage="open", verifier=link_host(link))
    except ProtocolError as exc:
        return pages.error_page(request, exc.status_code, "consent.failed_title",
                                message=pages.t(request, "add.failed", reason=exc.description or exc.error))
    return pages.redirect(request, f"/presentations/{consent['id']}")


@router.get("/presentations/{presentation_id}")
def consent_page(request: Request, presentation_id: str, pages: PagesDep, session: SessionDep,
                 learner: PageLearner) -> Response:
    consent = describe_presentation(session=session, learner=learner, pending_id=presentation_id)
    verifier = consent["verifier"]
    return render(pages, request, "consent.html", "consent.title",
                  title_params={"verifier": verifier["name"] or verifier["response_host"]},
                  learner=learner, consent=consent)


def _path(text: str) -> list[str | int]:
    """A claim path from a consent checkbox (a JSON array of names and indices)."""
    try:
        path = json.loads(text)
    except ValueError as exc:
        raise InvalidRequest("a ticked claim is not a claim path") from exc
    if (not isinstance(path, list) or not 0 < len(path) <= _MAX_PATH
            or not all(isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in path)):
        raise InvalidRequest("a ticked claim is not a claim path")
    return path


def _choices(form: Any, consent: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, list[list[str | int]]]]:
    """The learner's answer on the consent page: credentials per query, and the claims ticked per credential."""
    credentials: dict[str, list[str]] = {}
    ticked: dict[str, list[list[str | int]]] = {}
    for request in consent["requests"]:
        chosen = [c for c in form.getlist(f"credential:{request['query_id']}") if isinstance(c, str)]
        credentials[request["query_id"]] = chosen
        for option in request["options"]:
            if option["credential_id"] in chosen and option["choices"]:
                ticked[option["credential_id"]] = [_path(v) for v in form.getlist(f"claim:{option['credential_id']}")
                                                   if isinstance(v, str)]
    return credentials, ticked


@router.post("/presentations/{presentation_id}/confirm")
async def confirm(request: Request, presentation_id: str, pages: PagesDep, session: SessionDep,
                  services: ServicesDep, learner: PageLearner) -> Response:
    consent = describe_presentation(session=session, learner=learner, pending_id=presentation_id)
    try:
        credentials, ticked = _choices(await request.form(), consent)
        result = confirm_presentation(session=session, learner=learner, services=services,
                                      pending_id=presentation_id, credentials=credentials,
                                      disclose_by_credential=ticked)
    except (VerifierRefused, VerifierUnreachable) as exc:
        verifier = consent["verifier"]
        return refusal_page(request, pages, learner, exc, stage="send",
                            verifier=verifier["name"] or verifier["response_host"])
    except ProtocolError as exc:
        return pages.error_page(request, exc.status_code, "consent.failed_title",
                                message=pages.t(request, "consent.failed", reason=exc.description or exc.error))
    return render(pages, request, "sent.html", "sent.title", learner=learner, result=result,
                  verifier=consent["verifier"])


@router.post("/presentations/{presentation_id}/decline")
def decline(request: Request, presentation_id: str, pages: PagesDep, session: SessionDep, services: ServicesDep,
            learner: PageLearner) -> Response:
    decline_presentation(session=session, learner=learner, services=services, pending_id=presentation_id)
    return pages.redirect(request, "/history", flash="consent.declined", level="info")


@router.get("/history")
def history_page(request: Request, pages: PagesDep, session: SessionDep, learner: PageLearner) -> Response:
    records = list_history(session=session, learner=learner, limit=HISTORY_SIZE)
    return render(pages, request, "history.html", "history.title", learner=learner, records=records)

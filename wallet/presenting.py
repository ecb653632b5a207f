"""Presenting credentials over OpenID4VP 1.0, with the learner's consent in between.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html

1. `prepare_presentation`: resolve and check the request (`vc.oid4vp_request`), evaluate its
   DCQL query against the learner's credentials (`vc.dcql`; candidates pre-selected through the
   keyed type index), and return the consent summary: who asks (the full client id, how it is
   identified, where the answer goes) and, per requested credential, exactly which claims would
   be shared, those the learner may withhold (`disclosed`, grouped in `choices`: one per
   Disclosure the learner can leave out) apart from those that always travel with the
   credential (`always_shared`: an SD-JWT's claims in the clear, or a whole VC-JWT).
   `describe_presentation` gives the same summary again for a request still waiting.
2. `confirm_presentation`: with the learner's choices (which credential, and optionally fewer
   claims), build the presentations (SD-JWT with only those Disclosures + KB-JWT with `aud` =
   the full client id, `nonce`, `sd_hash`; or a VP JWT bound to the same), send them
   (`direct_post` or encrypted `direct_post.jwt`), keep the history, and hand back the
   verifier's `redirect_uri` to follow. `decline_presentation` sends `access_denied` instead.
   A verifier that answers with an error did not accept it: the history says `refused`, with
   why (`wallet.refusals`), never `sent`; no answer at all is `failed`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from schemas.dcql import DcqlQuery
from schemas.oauth2 import AccessDenied, InvalidRequest, NotFound
from schemas.oid4vci import FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON, parse_model
from schemas.oid4vp import AuthorizationRequest, parse_client_id
from vc.claims_path import ConcretePath, leaf_paths
from vc.dcql import Candidate, match_credentials
from vc.did_jwk import DID_JWK_PREFIX
from vc.oid4vp_request import (
    ResolvedRequest,
    create_authorization_response,
    create_error_response,
    resolve_authorization_request,
    send_authorization_response,
)
from vc.presentation import create_vp_jwt
from vc.sd_jwt import present_sd_jwt
from vc.vc_jwt import decode_vc_jwt
from wallet.accounts import LearnerContext
from wallet.errors import PartyError, VerifierRefused
from wallet.history import record_presentation
from wallet.pending import PRESENTATION, drop_pending, load_pending, save_pending
from wallet.refusals import verifier_errors
from wallet.rendering import card, claim_labels
from wallet.services import WalletServices
from wallet.store import OpenedCredential, count_presentation, get_credential, holder_signer, select_by_type

__all__ = ["WALLET_METADATA", "candidates_for", "confirm_presentation", "decline_presentation",
           "describe_presentation", "prepare_presentation"]

#: OpenID4VP §10: what this wallet supports, sent along when a request_uri is POSTed to (§5.10).
WALLET_METADATA = {
    "vp_formats_supported": {
        FORMAT_DC_SD_JWT: {"sd-jwt_alg_values": ["ES256", "RS256", "EdDSA"], "kb-jwt_alg_values": ["ES256"]},
        FORMAT_JWT_VC_JSON: {"alg_values": ["ES256"]},
    },
    "client_id_prefixes_supported": ["redirect_uri", "x509_hash", "x509_san_dns", "decentralized_identifier"],
    "response_modes_supported": ["direct_post", "direct_post.jwt"],
}


# -- claims shown and sent -------------------------------------------------------------------

def _get(claims: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        claims = claims[part]
    return claims


def _is_prefix(prefix: Sequence[Any], path: Sequence[Any]) -> bool:
    return len(prefix) <= len(path) and tuple(path[:len(prefix)]) == tuple(prefix)


def _shared_claims(credential: OpenedCredential, wanted: Sequence[ConcretePath]) -> tuple[list[Any], list[Any]]:
    """(disclosed, always_shared): the leaves a presentation of `wanted` reveals, as `{path, value}`.

    SD-JWT: a leaf is revealed when every Disclosure on its way is sent; a Disclosure is sent
    when its path leads to or lies within a wanted path (`vc.sd_jwt.present_sd_jwt`). Leaves
    behind no Disclosure always travel. A VC-JWT always travels whole. Each disclosed leaf
    names `unit`: the path of its innermost Disclosure, which the learner can leave out.
    """
    claims = credential.claims
    if credential.format != FORMAT_DC_SD_JWT:
        return [], [{"path": list(p), "value": _get(claims, p)} for p in leaf_paths(claims)]
    disclosable: list[tuple[Any, ...]] = [tuple(p) for p in credential.summary.get("disclosable") or ()]
    sent = {p for p in disclosable if any(_is_prefix(p, w) or _is_prefix(w, p) for w in wanted)}
    disclosed, always = [], []
    for leaf in leaf_paths(claims):
        on_the_way: list[tuple[Any, ...]] = [p for p in disclosable if _is_prefix(p, leaf)]
        if not on_the_way:
            always.append({"path": list(leaf), "value": _get(claims, leaf)})
        elif all(p in sent for p in on_the_way):
            innermost = max(on_the_way, key=len)
            disclosed.append({"path": list(leaf), "value": _get(claims, leaf), "unit": list(innermost)})
    return disclosed, always


def _choices(disclosed: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The disclosed leaves grouped by the Disclosure that carries them: what a learner can tick off."""
    units: dict[tuple[Any, ...], dict[str, Any]] = {}
    for leaf in disclosed:
        unit = units.setdefault(tuple(leaf["unit"]), {"path": list(leaf["unit"]), "claims": []})
        unit["claims"].append({"path": leaf["path"], "value": leaf["value"]})
    return list(units.values())


# -- 1. prepare ------------------------------------------------------------------------------

def candidates_for(session: Session, learner: LearnerContext, dcql_query: DcqlQuery,
                   ) -> tuple[dict[str, OpenedCredential], list[Candidate]]:
    """The learner's credentials that may answer the query, pre-selected by the keyed type index."""
    opened: dict[str, OpenedCredential] = {}
    for query in dcql_query.credentials:
        if query.format not in (FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON):
            continue
        wanted = (query.meta.vct_values if query.format == FORMAT_DC_SD_JWT
                  else [t for alternative in query.meta.type_values or () for t in alternative])
        for credential in select_by_type(session=session, learner=learner, format=query.format, type_values=wanted):
            opened[credential.id] = credential
    candidates = []
    for credential in opened.values():
        claims = credential.claims
        types = tuple(credential.summary.get("types") or ())
        candidates.append(Candidate(
            id=credential.id, format=credential.format, claims=claims,
            vct=claims.get("vct") if credential.format == FORMAT_DC_SD_JWT else None,
            aka_vcts=types[1:] if credential.format == FORMAT_DC_SD_JWT else (),
            type=types if credential.format != FORMAT_DC_SD_JWT else (),
            holder_binding=all(copy.holder_key_id is not None for copy in credential.copies)))
    return opened, candidates


def _verifier(resolved: ResolvedRequest) -> dict[str, Any]:
    metadata = resolved.request.client_metadata
    extra = metadata.model_extra or {} if metadata is not None else {}
    return {
        "client_id": resolved.client.client_id,
        "identified_by": resolved.client.prefix,
        "signed": resolved.signed,
        "name": extra.get("client_name") if isinstance(extra.get("client_name"), str) else None,
        "certificate_dns_names": list(resolved.certificate_dns_names),
        "response_host": urlsplit(resolved.response_uri).hostname,
    }


def prepare_presentation(*, session: Session, learner: LearnerContext, services: WalletServices, request_uri: str,
                         now: datetime | None = None) -> dict[str, Any]:
    """Resolve the request and evaluate it; the consent summary (kept pending for `confirm_presentation`)."""
    with verifier_errors("open"):
        resolved = resolve_authorization_request(request_uri, services.fetcher, now=now,
                                                 wallet_nonce=secrets.token_urlsafe(16),
                                                 wallet_metadata=WALLET_METADATA)
    request = resolved.request
    assert request.dcql_query is not None
    opened, candidates = candidates_for(session, learner, request.dcql_query)
    match = match_credentials(request.dcql_query, candidates)
    options_state = {query_id: [{"credential_id": found.candidate.id, "disclose": [list(p) for p in found.disclose]}
                                for found in match.matches[query_id]] for query_id in match.selection}
    state = {"request": request.dump(), "client_id": resolved.client.client_id, "signed": resolved.signed,
             "dns_names": list(resolved.certificate_dns_names), "options": options_state,
             "selection": list(match.selection), "satisfiable": match.satisfied, "missing": list(match.missing)}
    pending_id = save_pending(session=session, learner=learner, kind=PRESENTATION, state=state, now=now,
                              ttl=timedelta(seconds=services.settings.pending_ttl_seconds))
    return _consent(session, learner, pending_id, state, resolved, opened)


def describe_presentation(*, session: Session, learner: LearnerContext, pending_id: str,
                          now: datetime | None = None) -> dict[str, Any]:
    """The consent summary of a request that still waits for the learner's answer."""
    state = load_pending(session=session, learner=learner, pending_id=pending_id, kind=PRESENTATION, now=now)
    return _consent(session, learner, pending_id, state, _resolved(state), {})


def _consent(session: Session, learner: LearnerContext, pending_id: str, state: Mapping[str, Any],
             resolved: ResolvedRequest, opened: Mapping[str, OpenedCredential]) -> dict[str, Any]:
    """Who asks and, per Credential Query and matching credential, exactly what would be shared."""
    request = resolved.request
    assert request.dcql_query is not None
    requests: list[dict[str, Any]] = []
    for query_id in state["selection"]:
        options = []
        for option in state["options"].get(query_id, []):
            credential = opened.get(option["credential_id"])
            if credential is None:
                try:
                    credential = get_credential(session=session, learner=learner,
                                                credential_id=option["credential_id"])
                except NotFound:
                    continue  # deleted since the request came in
            disclosed, always = _shared_claims(credential, [tuple(p) for p in option["disclose"]])
            shown = card(credential.summary, locale=learner.locale, status="valid")
            options.append({"credential_id": credential.id, "format": credential.format, "name": shown["name"],
                            "issuer": shown["issuer"]["name"], "image": shown["image"],
                            "disclosed": [{"path": d["path"], "value": d["value"]} for d in disclosed],
                            "choices": _choices(disclosed), "always_shared": always,
                            "labels": claim_labels(credential.summary, learner.locale)})
        requests.append({"query_id": query_id, "multiple": request.dcql_query.credential(query_id).multiple,
                         "options": options})
    return {"id": pending_id, "verifier": _verifier(resolved), "satisfiable": state["satisfiable"],
            "missing": list(state["missing"]), "requests": requests}


# -- 2. confirm or decline -------------------------------------------------------------------

def _recorded_verifier(resolved: ResolvedRequest) -> dict[str, Any]:
    """Who the history says it was shared with."""
    verifier = _verifier(resolved)
    return {"verifier": verifier["client_id"], "verifier_name": verifier["name"],
            "response_host": verifier["response_host"], "signed": resolved.signed}


def _resolved(state: Mapping[str, Any]) -> ResolvedRequest:
    request = parse_model(AuthorizationRequest, state["request"])
    return ResolvedRequest(request, parse_client_id(state["client_id"]), state["signed"], tuple(state["dns_names"]))


def _chosen_paths(offered: Sequence[Sequence[Any]], disclose: Sequence[Sequence[Any]] | None) -> list[ConcretePath]:
    """The requested paths the learner agreed to: all of them, or those the learner's list covers,
    narrowed to the learner's deeper paths where a requested path is only partly agreed to.
    Nothing outside the requested paths is ever added."""
    paths = [tuple(p) for p in offered]
    if disclose is None:
        return paths
    agreed = [tuple(d) for d in disclose]
    kept = [p for p in paths if any(_is_prefix(d, p) for d in agreed)]
    narrowed = [d for d in agreed if any(_is_prefix(p, d) for p in paths) and not any(_is_prefix(k, d) for k in kept)]
    return kept + list(dict.fromkeys(narrowed))


def _present(session: Session, learner: LearnerContext, credential: OpenedCredential, paths: Sequence[ConcretePath],
             request: AuthorizationRequest, client_id: str, now: datetime | None) -> str:
    copy = credential.next_copy()
    signer = (holder_signer(session=session, learner=learner, holder_key_id=copy.holder_key_id)
              if copy.holder_key_id is not None else None)
    if credential.format == FORMAT_DC_SD_JWT:
        # KB-JWT: aud is the full client id, prefix included (§8.6, "Always Use the Full Client Identifier").
        return present_sd_jwt(copy.credential, disclose=paths, holder=signer,
                              audience=client_id if signer else None, nonce=request.nonce if signer else None,
                              now=now)
    if signer is None:
        raise InvalidRequest("this credential is not bound to a key of this wallet and cannot be presented")
    # The holder DID of *this* copy: each batch copy is bound to its own key.
    holder = decode_vc_jwt(copy.credential).subject
    if not isinstance(holder, str) or not holder.startswith(("did:jwk:", "did:key:")):
        raise InvalidRequest("the credential's subject is not a DID this wallet holds")
    kid = f"{holder}#0" if holder.startswith(DID_JWK_PREFIX) else f"{holder}#{holder.removeprefix('did:key:')}"
    return create_vp_jwt([copy.credential], holder_signer=signer.with_kid(kid), holder_did=holder, aud=client_id,
                         nonce=request.nonce, iat=now)


def confirm_presentation(*, session: Session, learner: LearnerContext, services: WalletServices, pending_id: str,
                         credentials: Mapping[str, Sequence[str]] | None = None,
                         disclose: Sequence[Sequence[str | int]] | None = None,
                         disclose_by_credential: Mapping[str, Sequence[Sequence[str | int]]] | None = None,
                         now: datetime | None = None) -> dict[str, Any]:
    """Send what the learner agreed to. `credentials`: query id -> chosen credential ids (default:
    the first match, all when `multiple`); `disclose`: only the requested claims within these paths;
    `disclose_by_credential`: the same per chosen credential (the consent page's ticked claims)."""
    state = load_pending(session=session, learner=learner, pending_id=pending_id, kind=PRESENTATION, now=now)
    resolved = _resolved(state)
    request = resolved.request
    assert request.dcql_query is not None
    if not state["selection"]:
        raise AccessDenied("the learner has no credentials that answer this request; decline it instead")
    unknown = set(credentials or {}) - set(state["selection"])
    if unknown:
        raise InvalidRequest(f"not requested by the verifier: {', '.join(sorted(unknown))}")
    vp_token: dict[str, list[str]] = {}
    shared: list[dict[str, Any]] = []
    used: list[str] = []
    for query_id in state["selection"]:
        options = {o["credential_id"]: o for o in state["options"].get(query_id, [])}
        multiple = request.dcql_query.credential(query_id).multiple
        chosen = list((credentials or {}).get(query_id) or (list(options) if multiple else list(options)[:1]))
        if not chosen or any(c not in options for c in chosen) or (len(chosen) > 1 and not multiple):
            raise InvalidRequest(f"choose {'one or more' if multiple else 'one'} of the offered credentials "
                                 f"for {query_id}")
        for credential_id in chosen:
            try:
                credential = get_credential(session=session, learner=learner, credential_id=credential_id)
            except NotFound as exc:
                raise InvalidRequest("a chosen credential was deleted meanwhile") from exc
            agreed = (disclose_by_credential or {}).get(credential_id, disclose)
            paths = _chosen_paths(options[credential_id]["disclose"], agreed)
            vp_token.setdefault(query_id, []).append(
                _present(session, learner, credential, paths, request, resolved.client.client_id, now))
            disclosed, always = _shared_claims(credential, paths)
            shared.append({"query_id": query_id, "credential_id": credential_id, "format": credential.format,
                           "name": card(credential.summary, locale=learner.locale, status="valid")["name"],
                           "disclosed": [d["path"] for d in disclosed], "always_shared": [a["path"] for a in always],
                           "claim_display": credential.summary.get("claim_display") or []})
            used.append(credential_id)
    if not drop_pending(session=session, learner=learner, pending_id=pending_id):
        raise NotFound("no such presentation request, or it was already answered")
    record = {**_recorded_verifier(resolved), "credentials": shared}
    try:
        with verifier_errors("send"):
            answer = send_authorization_response(resolved, create_authorization_response(resolved, vp_token),
                                                 services.fetcher)
    except VerifierRefused as exc:  # it arrived, and was not accepted: never recorded as shared
        record_presentation(session=session, learner=learner, now=now, record={
            **record, "outcome": "refused", "reason": exc.description, "refusal": exc.reason,
            "verifier_error": exc.verifier_error, "verifier_words": exc.verifier_words})
        raise
    except PartyError as exc:
        record_presentation(session=session, learner=learner, now=now,
                            record={**record, "outcome": "failed", "reason": exc.description})
        raise
    for credential_id in used:
        count_presentation(session=session, learner=learner, credential_id=credential_id)
    record_presentation(session=session, learner=learner, now=now,
                        record={**record, "outcome": "sent", "redirect_uri": answer.redirect_uri})
    return {"status": "sent", "verifier": resolved.client.client_id, "redirect_uri": answer.redirect_uri,
            "disclosed": shared}


def decline_presentation(*, session: Session, learner: LearnerContext, services: WalletServices, pending_id: str,
                         now: datetime | None = None) -> dict[str, Any]:
    """Tell the verifier no (`access_denied`, §8.5) and note it in the history."""
    resolved = _resolved(load_pending(session=session, learner=learner, pending_id=pending_id, kind=PRESENTATION,
                                      now=now))
    if not drop_pending(session=session, learner=learner, pending_id=pending_id):
        raise NotFound("no such presentation request, or it was already answered")
    note = None
    try:
        with verifier_errors("send"):
            send_authorization_response(resolved, create_error_response(resolved, "access_denied",
                                                                        "declined by the user"), services.fetcher)
    except PartyError as exc:  # declining does not depend on the verifier taking it well
        note = exc.description
    record_presentation(session=session, learner=learner, now=now, record={
        **_recorded_verifier(resolved), "credentials": [], "outcome": "declined", "reason": note})
    return {"status": "declined", "verifier": resolved.client.client_id, "disclosed": []}

"""What the issuer publishes: metadata at the well-known paths, did:web documents, JWKS, SD-JWT VC
Type Metadata, badge images and the logo, and the signed status lists."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from issuer.api.deps import KeysDep, SessionDep, SettingsDep
from issuer.services import badges, keys, metadata, status
from issuer.services.images import default_badge_png
from servicekit.app import error_responses
from servicekit.database import RowId
from vc.token_status_list import MEDIA_TYPE as STATUS_LIST_JWT_MEDIA_TYPE

router = APIRouter(tags=["published"], responses=error_responses(404))


def _cached(seconds: int) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={seconds}"}


@router.get("/.well-known/openid-credential-issuer")
def credential_issuer_metadata(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata.credential_issuer_metadata(settings), headers=_cached(300))


@router.get("/.well-known/oauth-authorization-server")
@router.get("/.well-known/openid-configuration")
def authorization_server_metadata(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata.authorization_server_metadata(settings), headers=_cached(300))


@router.get("/.well-known/jwt-vc-issuer")
def jwt_vc_issuer_metadata(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata.jwt_vc_issuer_metadata(session=session, settings=settings), headers=_cached(60))


@router.get("/.well-known/jwt-vc-issuer/institutions/{institution_id}")
def institution_jwt_vc_issuer_metadata(institution_id: RowId, session: SessionDep,
                                       settings: SettingsDep) -> JSONResponse:
    """JWT VC Issuer Metadata of one institution: the keys of the `iss` its SD-JWT VCs carry."""
    return JSONResponse(metadata.jwt_vc_issuer_metadata(session=session, settings=settings,
                                                        institution_id=institution_id), headers=_cached(60))


@router.get("/jwks.json")
def jwks(session: SessionDep) -> JSONResponse:
    return JSONResponse(keys.public_jwks(session=session), headers=_cached(60))


@router.get("/institutions/{institution_id}/did.json", response_class=Response,
            responses={200: {"content": {"application/did+json": {}}}})
def did_document(institution_id: RowId, session: SessionDep, key_store: KeysDep) -> JSONResponse:
    document = keys.did_document(session=session, keys=key_store, institution_id=institution_id)
    return JSONResponse(document, media_type="application/did+json", headers=_cached(60))


@router.get("/vct/edu-credential")
def base_type_metadata(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata.type_metadata(session=session, settings=settings, badge_class_id=None),
                        headers=_cached(300))


@router.get("/vct/badge-classes/{badge_class_id}")
def badge_type_metadata(badge_class_id: RowId, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(metadata.type_metadata(session=session, settings=settings, badge_class_id=badge_class_id),
                        headers=_cached(300))


@router.get("/badge-classes/{badge_class_id}/image", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}})
def badge_image(badge_class_id: RowId, session: SessionDep) -> Response:
    content, media_type = badges.badge_image(session=session, badge_class_id=badge_class_id)
    return Response(content, media_type=media_type, headers=_cached(3600))


@cache
def _logo() -> bytes:
    return default_badge_png("edu wallet", 7)


@router.get("/logo.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def logo() -> Response:
    return Response(_logo(), media_type="image/png", headers=_cached(86400))


@router.get("/status/tsl/{list_id}", response_class=Response,
            responses={200: {"content": {STATUS_LIST_JWT_MEDIA_TYPE: {}}}})
def token_status_list(list_id: RowId, session: SessionDep, settings: SettingsDep, key_store: KeysDep) -> Response:
    """Token Status List §8.1: the Status List Token, `application/statuslist+jwt`."""
    token = status.status_list_token(session=session, keys=key_store, list_id=list_id,
                                     ttl_seconds=settings.status_list_ttl_seconds)
    return Response(token, media_type=STATUS_LIST_JWT_MEDIA_TYPE, headers=_cached(settings.status_list_ttl_seconds))


@router.get("/status/bsl/{list_id}/{purpose}", response_class=Response,
            responses={200: {"content": {"application/vc+jwt": {}}}})
def bitstring_status_list(list_id: RowId, purpose: str, session: SessionDep, settings: SettingsDep,
                          key_store: KeysDep) -> Response:
    """Bitstring Status List §4: the BitstringStatusListCredential as a VC-JWT (`application/vc+jwt`)."""
    token = status.bitstring_status_list_credential(session=session, keys=key_store, list_id=list_id, purpose=purpose,
                                                    ttl_seconds=settings.status_list_ttl_seconds)
    return Response(token, media_type="application/vc+jwt", headers=_cached(settings.status_list_ttl_seconds))

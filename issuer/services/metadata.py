"""What the issuer publishes about itself: Credential Issuer Metadata, Authorization Server Metadata,
JWT VC Issuer Metadata and SD-JWT VC Type Metadata.

- OpenID4VCI 1.0 §12.2 (https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-issuer-metadata):
  served at `/.well-known/openid-credential-issuer`; `credential_issuer` is `settings.base_url`,
  which is also the Authorization Server (no `authorization_servers`).
- RFC 8414 + OpenID4VCI §12.3: `/.well-known/oauth-authorization-server` (and, for clients that
  look there, `/.well-known/openid-configuration`), with
  `pre-authorized_grant_anonymous_access_supported: true`.
- SD-JWT VC "JWT VC Issuer Metadata": `/.well-known/jwt-vc-issuer/institutions/<id>` with one institution's
  keys for its own `iss` (`<base>/institutions/<id>`), and `/.well-known/jwt-vc-issuer` with every key for
  credentials issued under the service's URL before; `kid` = the RFC 7638 thumbprint (`issuer.services.keys`).
- SD-JWT VC "Type Metadata" for each `vct` this issuer uses.
Each document is built as its `schemas.oid4vci` model, so what we publish is what we parse.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from issuer.formats import FORMATS
from issuer.formats.sd_jwt_vc import badge_type_metadata, base_type_metadata
from issuer.models import BadgeClass, Institution
from issuer.services.keys import institution_issuer_url, jwt_vc_issuer_jwks
from issuer.settings import IssuerSettings
from schemas.oauth2 import NotFound
from schemas.oid4vci import (
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    AuthorizationServerMetadata,
    CredentialIssuerMetadata,
)
from vc.dpop import DPOP_SIGNING_ALGORITHMS
from vc.sd_jwt_vc import create_jwt_vc_issuer_metadata, parse_type_metadata

__all__ = [
    "CREDENTIAL_PATH",
    "NOTIFICATION_PATH",
    "TOKEN_PATH",
    "authorization_server_metadata",
    "credential_issuer_metadata",
    "jwt_vc_issuer_metadata",
    "type_metadata",
]


#: The endpoints' paths under the issuer's URL (DPoP proofs name them in `htu`).
TOKEN_PATH = "/oid4vci/token"
CREDENTIAL_PATH = "/oid4vci/credential"
NOTIFICATION_PATH = "/oid4vci/notification"


def credential_issuer_metadata(settings: IssuerSettings) -> dict[str, Any]:
    base = settings.base_url
    logo = {"uri": f"{base}/logo.png", "alt_text": "eduwallet"}
    document = {
        "credential_issuer": base,
        "credential_endpoint": base + CREDENTIAL_PATH,
        "nonce_endpoint": f"{base}/oid4vci/nonce",
        "notification_endpoint": base + NOTIFICATION_PATH,
        "batch_credential_issuance": {"batch_size": settings.batch_size},
        "display": [{"name": settings.display_name, "locale": "en", "logo": logo},
                    {"name": settings.display_name, "locale": "nl", "logo": logo}],
        "credential_configurations_supported": {cid: f.configuration(base) for cid, f in FORMATS.items()},
    }
    return CredentialIssuerMetadata.model_validate(document).dump()


def authorization_server_metadata(settings: IssuerSettings) -> dict[str, Any]:
    base = settings.base_url
    document = {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_CODE_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_details_types_supported": [OPENID_CREDENTIAL],
        "dpop_signing_alg_values_supported": list(DPOP_SIGNING_ALGORITHMS),
        "scopes_supported": [f["scope"] for f in (fmt.configuration(base) for fmt in FORMATS.values())],
    }
    return AuthorizationServerMetadata.model_validate(document).dump()


def jwt_vc_issuer_metadata(*, session: Session, settings: IssuerSettings,
                           institution_id: int | None = None) -> dict[str, Any]:
    """`{issuer, jwks}` of one institution (`iss` = `institution_issuer_url`): its signing keys, active or
    retired, so every SD-JWT VC it issued verifies; each under the `kid` our SD-JWT VCs and Status List Tokens
    carry (its JWK thumbprint). Without an institution: this service's URL with every key, for SD-JWT VCs
    issued before each institution had an `iss` of its own."""
    if institution_id is None:
        return create_jwt_vc_issuer_metadata(settings.base_url, jwt_vc_issuer_jwks(session=session))
    if session.get(Institution, institution_id) is None:
        raise NotFound(f"institution {institution_id} not found")
    return create_jwt_vc_issuer_metadata(institution_issuer_url(settings.base_url, institution_id),
                                         jwt_vc_issuer_jwks(session=session, institution_id=institution_id))


def type_metadata(*, session: Session, settings: IssuerSettings, badge_class_id: int | None) -> dict[str, Any]:
    """Type Metadata of a badge class's `vct` (or, for None, of the `vct` every badge's type extends)."""
    if badge_class_id is None:
        document = base_type_metadata(settings.base_url)
    else:
        badge = session.get(BadgeClass, badge_class_id)
        if badge is None:
            raise NotFound(f"badge class {badge_class_id} not found")
        document = badge_type_metadata(badge, settings.base_url)
    parse_type_metadata(document, vct=document["vct"])  # publish only what parses
    return document

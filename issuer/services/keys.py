"""Institution signing keys: made on demand, sealed at rest, rotated, published.

Each institution signs with one active key (ES256 by default, RS256 when it chose
so). Rotation makes a new active key; the old ones stay in the `did:web` document
and the JWKS so credentials they signed keep verifying. Which `kid` a JOSE header
carries follows from who the `iss` is, so verifiers find the key where that issuer
publishes it:

- OB 3.0 VC-JWTs and Bitstring Status List credentials (issuer = the institution's
  `did:web`): the DID URL `did:web:<host>:institutions:<id>#key-N`, a verification
  method of the DID document (https://w3c-ccg.github.io/did-method-web/, `vc.did_web`).
- SD-JWT VCs and Status List Tokens (`iss` = this service's https URL): the key's RFC 7638
  JWK thumbprint, its `kid` in the JWK Set of `/.well-known/jwt-vc-issuer`
  (SD-JWT VC draft -18 "JWT VC Issuer Metadata"; a DID URL `kid` cannot speak for an
  https issuer, `vc.key_resolution`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from issuer.admin_models import SigningKeyPublic
from issuer.models import Institution, SigningKey
from issuer.services.common import unix_now
from schemas.oauth2 import NotFound
from vc.did_web import did_web_from_url
from vc.jwk import jwk_thumbprint
from vc.keys import MasterKey, SoftwareSigner, generate_private_key

__all__ = [
    "KeyStore",
    "did_document",
    "institution_did",
    "institution_issuer_url",
    "jwt_vc_issuer_jwks",
    "jwt_vc_issuer_signer",
    "list_keys",
    "public_jwks",
    "rotate_key",
]

#: Unsealed signers kept per process (most recently used first out when full).
SIGNER_CACHE_SIZE = 256


@lru_cache(maxsize=1024)
def institution_did(base_url: str, institution_id: int) -> str:
    """`did:web` of an institution under this service: `http://h:p` → `did:web:h%3Ap:institutions:7`,
    whose document is served at `<base_url>/institutions/7/did.json`."""
    return did_web_from_url(f"{base_url}/institutions/{institution_id}")


def institution_issuer_url(base_url: str, institution_id: int) -> str:
    """The `iss` of an institution's SD-JWT VCs and Status List Tokens: an https URL of its own, so that a
    verifier trusts one institution, not every institution on this service. Its keys are at
    `<origin>/.well-known/jwt-vc-issuer/institutions/7` (SD-JWT VC §5: the path after the well-known part)."""
    return f"{base_url}/institutions/{institution_id}"


def jwt_vc_issuer_signer(signer: SoftwareSigner) -> SoftwareSigner:
    """The same key with the `kid` it has in `/.well-known/jwt-vc-issuer`: its RFC 7638 thumbprint.
    For JWTs whose `iss` is this service's URL (SD-JWT VCs, Status List Tokens)."""
    return signer.with_kid(jwk_thumbprint(signer.public_jwk))


class KeyStore:
    """Unseals signing keys with the master key and keeps the unsealed signers of this process
    (a bounded LRU cache by `kid`: a key is unsealed once, not per credential)."""

    def __init__(self, master_key: MasterKey, base_url: str, *, cache_size: int = SIGNER_CACHE_SIZE) -> None:
        self.master_key = master_key
        self.base_url = base_url
        self._signers: OrderedDict[str, SoftwareSigner] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _aad(self, kid: str) -> str:
        return f"issuer-signing-key:{kid}"

    def _remember(self, signer: SoftwareSigner) -> None:
        assert signer.kid is not None
        with self._lock:
            self._signers[signer.kid] = signer
            self._signers.move_to_end(signer.kid)
            while len(self._signers) > self._cache_size:
                self._signers.popitem(last=False)

    def signer_for(self, key: SigningKey) -> SoftwareSigner:
        """The unsealed signer of `key`, its `kid` the DID URL."""
        with self._lock:
            signer = self._signers.get(key.kid)
            if signer is not None:
                self._signers.move_to_end(key.kid)
                return signer
        private_key = self.master_key.open_private_key(key.sealed_private_key, self._aad(key.kid))
        signer = SoftwareSigner(private_key, kid=key.kid, alg=key.alg)
        self._remember(signer)
        return signer

    def active_signer(self, *, session: Session, institution_id: int, now: int | None = None) -> SoftwareSigner:
        """The institution's active signer; the first key is made on first use."""
        key = session.exec(select(SigningKey).where(SigningKey.institution_id == institution_id,
                                                    col(SigningKey.active).is_(True))
                           .order_by(col(SigningKey.id).desc())).first()
        if key is None:
            key = self.new_key(session=session, institution_id=institution_id, now=now)
        return self.signer_for(key)

    def new_key(self, *, session: Session, institution_id: int, now: int | None = None) -> SigningKey:
        """Make and store a new active key; earlier keys of the institution are retired (still published)."""
        institution = session.get(Institution, institution_id)
        if institution is None:
            raise NotFound(f"institution {institution_id} not found")
        now = unix_now(now)
        did = institution_did(self.base_url, institution_id)
        for _attempt in range(5):
            count = len(session.exec(select(SigningKey.id).where(SigningKey.institution_id == institution_id)).all())
            kid = f"{did}#key-{count + 1}"
            private_key = generate_private_key(institution.signing_alg)
            signer = SoftwareSigner(private_key, kid=kid, alg=institution.signing_alg)
            session.execute(update(SigningKey).where(col(SigningKey.institution_id) == institution_id,
                                                     col(SigningKey.active).is_(True))
                            .values(active=False, retired_at=now))
            key = SigningKey(institution_id=institution_id, kid=kid, alg=institution.signing_alg,
                             public_jwk={**signer.public_jwk, "kid": kid, "alg": signer.alg, "use": "sig"},
                             sealed_private_key=self.master_key.seal_private_key(private_key, self._aad(kid)),
                             active=True, created_at=now)
            session.add(key)
            try:
                session.commit()
            except IntegrityError:  # another worker made key-N at the same moment: take the next number
                session.rollback()
                continue
            self._remember(signer)
            return key
        raise RuntimeError("could not allocate a key id")


def _keys(session: Session, institution_id: int | None) -> list[SigningKey]:
    query = select(SigningKey).order_by(col(SigningKey.id))
    if institution_id is not None:
        query = query.where(SigningKey.institution_id == institution_id)
    return list(session.exec(query).all())


def list_keys(*, session: Session, institution_id: int) -> list[SigningKeyPublic]:
    return [SigningKeyPublic(kid=k.kid, alg=k.alg, active=k.active, public_jwk=k.public_jwk, created_at=k.created_at,
                             retired_at=k.retired_at) for k in _keys(session, institution_id)]


def rotate_key(*, session: Session, keys: KeyStore, institution_id: int, now: int | None = None) -> SigningKeyPublic:
    key = keys.new_key(session=session, institution_id=institution_id, now=now)
    return SigningKeyPublic(kid=key.kid, alg=key.alg, active=key.active, public_jwk=key.public_jwk,
                            created_at=key.created_at, retired_at=key.retired_at)


def _by_thumbprint(rows: list[SigningKey]) -> list[dict[str, Any]]:
    return [{**k.public_jwk, "kid": jwk_thumbprint(k.public_jwk)} for k in rows]


def public_jwks(*, session: Session) -> dict[str, Any]:
    """RFC 7517 JWK Set of every key, active and retired (retired ones verify older credentials), under
    each `kid` our headers name it by: the DID URL and the thumbprint."""
    rows = _keys(session, None)
    return {"keys": [dict(k.public_jwk) for k in rows] + _by_thumbprint(rows)}


def jwt_vc_issuer_jwks(*, session: Session, institution_id: int | None = None) -> list[dict[str, Any]]:
    """The keys, active and retired, of one institution (or of all) as published in JWT VC Issuer Metadata:
    `kid` = the RFC 7638 thumbprint that `jwt_vc_issuer_signer` puts in the headers."""
    return _by_thumbprint(_keys(session, institution_id))


def did_document(*, session: Session, keys: KeyStore, institution_id: int) -> dict[str, Any]:
    """The institution's DID document: one `JsonWebKey` verification method per key (VC-JOSE-COSE)."""
    if session.get(Institution, institution_id) is None:
        raise NotFound(f"institution {institution_id} not found")
    rows = _keys(session, institution_id)
    did = institution_did(keys.base_url, institution_id)
    methods = [{"id": k.kid, "type": "JsonWebKey", "controller": did,
                "publicKeyJwk": {m: v for m, v in k.public_jwk.items() if m not in ("kid", "use")}} for k in rows]
    ids = [m["id"] for m in methods]
    return {"@context": ["https://www.w3.org/ns/did/v1", "https://www.w3.org/ns/cid/v1"],
            "id": did, "verificationMethod": methods, "authentication": ids, "assertionMethod": ids}

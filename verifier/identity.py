"""The verifier's own identity: the key that signs request objects, its certificate chain and its DIDs.

OpenID4VP 1.0 §5.9 (client identifier prefixes):
https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#section-5.9

- `x509_hash:<b64url SHA-256 of the DER leaf>`: signed, leaf in `x5c`. The default. With no
  configured chain, a self-signed P-256 certificate is made on first start and kept in the
  database (the key sealed under the master key), so every worker and restart signs alike.
- `x509_san_dns:<dns name>`: only when the leaf carries a DNS subjectAltName.
- `decentralized_identifier:<did>`: the verifier's did:web (document served at
  `/.well-known/did.json`) or a did:jwk of the same key; header `kid` = the DID URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vc.did_jwk import create_did_jwk
from vc.did_web import create_did_web_document, did_web_from_url
from vc.keys import MasterKey, SoftwareSigner, generate_private_key
from vc.x509 import certificates_from_pem, certificates_to_pem, dns_names, make_self_signed_certificate, x509_hash
from verifier.models import VerifierIdentity, utcnow
from verifier.settings import VerifierSettings

__all__ = ["SigningIdentity", "did_document", "load_identity"]

_IDENTITY_ROW = "request-signing"
_SEAL_AAD = "verifier-identity:" + _IDENTITY_ROW


@dataclass(frozen=True)
class SigningIdentity:
    """How this verifier signs request objects under each client identifier prefix."""

    signer: SoftwareSigner
    chain: list[x509.Certificate]
    did: str
    base_url: str

    @property
    def x509_hash(self) -> str:
        return x509_hash(self.chain[0])

    @property
    def dns_names(self) -> list[str]:
        """The leaf's DNS subjectAltNames (what `x509_san_dns:` may name)."""
        return dns_names(self.chain[0])

    @property
    def kid(self) -> str:
        """The DID URL of the signing key (`decentralized_identifier:`)."""
        return f"{self.did}#0" if self.did.startswith("did:jwk:") else f"{self.did}#key-1"


def did_document(identity: SigningIdentity) -> dict[str, object]:
    """The did:web document of this verifier (one JsonWebKey verification method, `#key-1`)."""
    return create_did_web_document(did_web_from_url(identity.base_url), [{**identity.signer.public_jwk, "kid": "key-1"}])


def _configured(settings: VerifierSettings) -> tuple[ec.EllipticCurvePrivateKey, list[x509.Certificate]] | None:
    if settings.certificate_chain_file is None and settings.signing_key_file is None:
        return None
    if settings.certificate_chain_file is None or settings.signing_key_file is None:
        raise RuntimeError("set both certificate_chain_file and signing_key_file, or neither")
    chain = certificates_from_pem(Path(settings.certificate_chain_file).read_bytes())
    key = serialization.load_pem_private_key(Path(settings.signing_key_file).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise RuntimeError("the verifier signing key must be an EC P-256 key")
    if chain[0].public_key() != key.public_key():
        raise RuntimeError("the signing key does not match the leaf certificate")
    return key, chain


def _stored(engine: Engine, master_key: MasterKey,
            settings: VerifierSettings) -> tuple[ec.EllipticCurvePrivateKey, list[x509.Certificate]]:
    with Session(engine) as session:
        row = session.get(VerifierIdentity, _IDENTITY_ROW)
        if row is None:
            key = generate_private_key("ES256")
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            cert = make_self_signed_certificate(key, common_name="eduwallet verifier",
                                                dns_name=settings.certificate_dns_name)
            session.add(VerifierIdentity(id=_IDENTITY_ROW, sealed_key=master_key.seal_private_key(key, _SEAL_AAD),
                                         certificate_chain=certificates_to_pem([cert]), created_at=utcnow()))
            try:
                session.commit()
            except IntegrityError:  # another worker made it first: use theirs
                session.rollback()
            row = session.get(VerifierIdentity, _IDENTITY_ROW)
            assert row is not None
        key = master_key.open_private_key(row.sealed_key, _SEAL_AAD)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key, certificates_from_pem(row.certificate_chain)


def load_identity(engine: Engine, master_key: MasterKey, settings: VerifierSettings) -> SigningIdentity:
    """The configured chain and key, or the stored self-signed one (made on first start)."""
    key, chain = _configured(settings) or _stored(engine, master_key, settings)
    signer = SoftwareSigner(key, alg="ES256")
    did = create_did_jwk({**signer.public_jwk, "use": "sig"}) if settings.did_method == "jwk" else did_web_from_url(settings.base_url)
    return SigningIdentity(signer=signer, chain=chain, did=did, base_url=settings.base_url)

"""X.509 certificates for OpenID4VP client identifiers (`x509_hash:`, `x509_san_dns:`) and JOSE `x5c`.

OpenID4VP 1.0 §5.9.3: https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#section-5.9.3
RFC 7515 §4.1.6 (`x5c`): https://www.rfc-editor.org/rfc/rfc7515#section-4.1.6

- `x509_hash:<hash>`: `hash` is base64url (no padding) of the SHA-256 of the DER leaf
  certificate; the request object is signed with the leaf's key, the leaf is the first
  `x5c` entry. The hash itself pins the certificate, so a self-signed leaf is fine.
- `x509_san_dns:<name>`: the leaf carries `name` as a DNS subjectAltName and the chain
  must validate up to a trust anchor the wallet accepts.
- `x5c` entries are *standard* base64 (not base64url) of DER, leaf first.

Verifier side: `make_self_signed_certificate`, `x509_hash`, `encode_x5c`.
Wallet side: `validate_x5c` (chain signatures, validity, optional trust anchors, DNS SAN),
which returns the leaf's public JWK to verify the request object with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vc.encoding import b64url_encode
from vc.errors import HeaderInvalid, KeyResolutionError, MalformedToken
from vc.jwk import PublicKey, public_jwk

__all__ = [
    "ValidatedChain",
    "certificate_der",
    "certificates_from_pem",
    "certificates_to_pem",
    "decode_x5c",
    "dns_names",
    "encode_x5c",
    "make_self_signed_certificate",
    "validate_x5c",
    "x509_hash",
]

#: A chain longer than this is refused (a wallet parses what a stranger sends).
MAX_CHAIN_LENGTH = 5


def make_self_signed_certificate(
    private_key: ec.EllipticCurvePrivateKey,
    *,
    common_name: str,
    dns_name: str | None = None,
    valid_days: int = 3650,
    now: datetime | None = None,
) -> x509.Certificate:
    """A self-signed P-256 certificate for `private_key`, with `dns_name` as DNS SAN when given."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
        raise KeyResolutionError("the verifier certificate key must be P-256")
    now = now or datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
    )
    if dns_name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
    return builder.sign(private_key, hashes.SHA256())


def certificate_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def x509_hash(certificate: x509.Certificate) -> str:
    """The `x509_hash` client identifier value: base64url SHA-256 of the DER leaf."""
    return b64url_encode(hashlib.sha256(certificate_der(certificate)).digest())


def encode_x5c(chain: Sequence[x509.Certificate]) -> list[str]:
    """The JOSE `x5c` header value: standard base64 DER, leaf first."""
    return [base64.b64encode(certificate_der(cert)).decode("ascii") for cert in chain]


def decode_x5c(x5c: Any) -> list[x509.Certificate]:
    """Parse an `x5c` header value (a non-empty list of base64 DER strings)."""
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise HeaderInvalid("x5c must be a non-empty array of strings")
    if len(x5c) > MAX_CHAIN_LENGTH:
        raise HeaderInvalid("x5c chain too long")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("x5c holds something that is not a base64 DER certificate") from exc


def certificates_from_pem(pem: bytes | str) -> list[x509.Certificate]:
    """A PEM bundle (leaf first) as certificates."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise MalformedToken("not a PEM certificate chain") from exc
    return chain


def certificates_to_pem(chain: Sequence[x509.Certificate]) -> str:
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for cert in chain)


def dns_names(certificate: x509.Certificate) -> list[str]:
    """The DNS subjectAltNames of a certificate."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.DNSName)


@dataclass(frozen=True)
class ValidatedChain:
    """What `validate_x5c` established about an `x5c` chain."""

    leaf: x509.Certificate
    public_jwk: dict[str, str]
    x509_hash: str
    dns_names: list[str]


def _check_issued_by(child: x509.Certificate, parent: x509.Certificate) -> None:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise HeaderInvalid("x5c: a certificate is not signed by the next one") from exc


def validate_x5c(
    x5c: Any,
    *,
    now: datetime | None = None,
    trust_anchors: Sequence[x509.Certificate] | None = None,
    dns_name: str | None = None,
) -> ValidatedChain:
    """Validate an `x5c` chain and return its leaf key.

    Each certificate must be within its validity period and signed by the next one.
    With `trust_anchors`, the last certificate must be an anchor or be signed by one
    (`x509_san_dns` needs this; `x509_hash` pins the leaf and needs none).
    With `dns_name`, the leaf must carry it as a DNS subjectAltName (`x509_san_dns`).
    """
    chain = decode_x5c(x5c)
    now = now or datetime.now(UTC)
    for cert in chain:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise HeaderInvalid("x5c: a certificate is outside its validity period")
    for child, parent in zip(chain, chain[1:], strict=False):
        _check_issued_by(child, parent)
    if trust_anchors is not None:
        last = chain[-1]
        anchored = any(certificate_der(last) == certificate_der(anchor) for anchor in trust_anchors)
        for anchor in trust_anchors:
            if anchored:
                break
            try:
                _check_issued_by(last, anchor)
                anchored = True
            except HeaderInvalid:
                continue
        if not anchored:
            raise HeaderInvalid("x5c: the chain does not lead to a trusted anchor")
    leaf = chain[0]
    names = dns_names(leaf)
    if dns_name is not None and dns_name not in names:
        raise HeaderInvalid("x5c: the leaf certificate does not carry the client's DNS name")
    key: PublicKey = leaf.public_key()  # type: ignore[assignment]
    try:
        jwk = public_jwk(key)
    except KeyResolutionError as exc:
        raise HeaderInvalid(f"x5c: unsupported leaf key: {exc}") from exc
    return ValidatedChain(leaf=leaf, public_jwk=jwk, x509_hash=x509_hash(leaf), dns_names=names)

"""vc.x509: self-signed verifier certificates, the `x509_hash` client id, `x5c` encode/validate."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vc.errors import HeaderInvalid, KeyResolutionError, MalformedToken
from vc.jwk import public_jwk
from vc.x509 import (
    certificate_der,
    certificates_from_pem,
    certificates_to_pem,
    decode_x5c,
    dns_names,
    encode_x5c,
    make_self_signed_certificate,
    validate_x5c,
    x509_hash,
)

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _ca_signed(leaf_key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
               dns: str) -> x509.Certificate:
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns)]))
            .issuer_name(ca.subject).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=10)).not_valid_after(NOW + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))


def test_self_signed_certificate_carries_key_and_dns_name() -> None:
    key = _key()
    cert = make_self_signed_certificate(key, common_name="eduwallet verifier", dns_name="verifier.example.com",
                                        now=NOW)
    assert cert.subject == cert.issuer
    assert public_jwk(cert.public_key()) == public_jwk(key)  # type: ignore[arg-type]
    assert dns_names(cert) == ["verifier.example.com"]
    assert cert.not_valid_before_utc <= NOW <= cert.not_valid_after_utc
    cert.verify_directly_issued_by(cert)


def test_certificate_without_dns_name_has_no_san() -> None:
    assert dns_names(make_self_signed_certificate(_key(), common_name="v", now=NOW)) == []


def test_only_p256_keys_make_a_verifier_certificate() -> None:
    with pytest.raises(KeyResolutionError):
        make_self_signed_certificate(ec.generate_private_key(ec.SECP384R1()), common_name="v")


def test_x509_hash_is_base64url_sha256_of_the_der_leaf_as_openssl_computes_it(tmp_path) -> None:
    """OpenID4VP 1.0 §5.9.3: x509_hash = base64url(SHA-256(DER leaf)), checked against the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    cert = make_self_signed_certificate(_key(), common_name="v", now=NOW)
    pem = tmp_path / "leaf.pem"
    pem.write_text(certificates_to_pem([cert]))
    der = subprocess.run(["openssl", "x509", "-in", str(pem), "-outform", "DER"], capture_output=True,
                         check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True,
                            check=True).stdout
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert x509_hash(cert) == expected
    assert "=" not in expected and len(expected) == 43


def test_x5c_is_standard_base64_der_leaf_first_and_round_trips() -> None:
    ca_key, leaf_key = _key(), _key()
    ca = _ca(ca_key)
    leaf = _ca_signed(leaf_key, ca_key, ca, "verifier.example.com")
    x5c = encode_x5c([leaf, ca])
    assert base64.b64decode(x5c[0]) == certificate_der(leaf)
    assert [certificate_der(c) for c in decode_x5c(x5c)] == [certificate_der(leaf), certificate_der(ca)]
    assert [certificate_der(c) for c in certificates_from_pem(certificates_to_pem([leaf, ca]))] == \
        [certificate_der(leaf), certificate_der(ca)]


def test_validate_self_signed_leaf_returns_key_and_hash() -> None:
    key = _key()
    cert = make_self_signed_certificate(key, common_name="v", dns_name="verifier.example.com", now=NOW)
    chain = validate_x5c(encode_x5c([cert]), now=NOW)
    assert chain.public_jwk == public_jwk(key)
    assert chain.x509_hash == x509_hash(cert)
    assert chain.dns_names == ["verifier.example.com"]


def test_validate_chain_to_a_trust_anchor_with_dns_san() -> None:
    ca_key, leaf_key = _key(), _key()
    ca = _ca(ca_key)
    leaf = _ca_signed(leaf_key, ca_key, ca, "verifier.example.com")
    # The anchor may be sent in the chain or be known only to the wallet.
    assert validate_x5c(encode_x5c([leaf, ca]), now=NOW, trust_anchors=[ca],
                        dns_name="verifier.example.com").public_jwk == public_jwk(leaf_key)
    assert validate_x5c(encode_x5c([leaf]), now=NOW, trust_anchors=[ca]).public_jwk == public_jwk(leaf_key)


def test_chain_not_leading_to_an_anchor_is_refused() -> None:
    ca_key, leaf_key = _key(), _key()
    leaf = _ca_signed(leaf_key, ca_key, _ca(ca_key), "verifier.example.com")
    with pytest.raises(HeaderInvalid, match="trusted anchor"):
        validate_x5c(encode_x5c([leaf]), now=NOW, trust_anchors=[_ca(_key())])


def test_chain_whose_links_do_not_sign_each_other_is_refused() -> None:
    ca_key, leaf_key = _key(), _key()
    leaf = _ca_signed(leaf_key, ca_key, _ca(ca_key), "verifier.example.com")
    with pytest.raises(HeaderInvalid, match="not signed by the next"):
        validate_x5c(encode_x5c([leaf, _ca(_key())]), now=NOW)


def test_wrong_dns_name_is_refused() -> None:
    cert = make_self_signed_certificate(_key(), common_name="v", dns_name="verifier.example.com", now=NOW)
    with pytest.raises(HeaderInvalid, match="DNS name"):
        validate_x5c(encode_x5c([cert]), now=NOW, dns_name="evil.example.com")


def test_expired_and_not_yet_valid_certificates_are_refused() -> None:
    cert = make_self_signed_certificate(_key(), common_name="v", valid_days=1, now=NOW)
    with pytest.raises(HeaderInvalid, match="validity"):
        validate_x5c(encode_x5c([cert]), now=NOW + timedelta(days=2))
    with pytest.raises(HeaderInvalid, match="validity"):
        validate_x5c(encode_x5c([cert]), now=NOW - timedelta(days=1))


@pytest.mark.parametrize("x5c", [None, [], "MIIB", [1], ["not base64!"], ["aGVsbG8="], ["A"] * 6])
def test_malformed_x5c_is_refused(x5c: object) -> None:
    with pytest.raises((HeaderInvalid, MalformedToken)):
        decode_x5c(x5c)


def test_pem_that_is_not_a_certificate_is_refused() -> None:
    with pytest.raises(MalformedToken):
        certificates_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")

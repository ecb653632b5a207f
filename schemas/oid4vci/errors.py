"""OpenID4VCI 1.0 error codes (§8.3.1.2 Credential Request Errors, §9.3 Deferred, §11.3 Notification).

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-credential-request-errors

Token Endpoint errors are plain RFC 6749 codes (`schemas.oauth2`): `invalid_request` for a
missing or unexpected `tx_code`, `invalid_grant` for a wrong `tx_code` or a bad pre-authorized
code, `invalid_client` for an anonymous request the server does not allow (§6.3).
All answer HTTP 400 with `{"error", "error_description"}`; they are never encrypted.
"""

from __future__ import annotations

from schemas.oauth2 import ProtocolError

__all__ = [
    "CredentialRequestDenied",
    "InvalidCredentialRequest",
    "InvalidEncryptionParameters",
    "InvalidNonce",
    "InvalidNotificationId",
    "InvalidNotificationRequest",
    "InvalidProof",
    "InvalidTransactionId",
    "UnknownCredentialConfiguration",
    "UnknownCredentialIdentifier",
]


class InvalidCredentialRequest(ProtocolError):
    """The Credential Request is missing a required parameter, includes an unsupported parameter
    or parameter value, repeats the same parameter, or is otherwise malformed."""

    error = "invalid_credential_request"


class UnknownCredentialConfiguration(ProtocolError):
    """Requested Credential Configuration is unknown."""

    error = "unknown_credential_configuration"


class UnknownCredentialIdentifier(ProtocolError):
    """Requested Credential identifier is unknown."""

    error = "unknown_credential_identifier"


class InvalidProof(ProtocolError):
    """The `proofs` parameter in the Credential Request is invalid: (1) if the field is missing,
    or (2) one of the provided key proofs is invalid, or (3) if at least one of the key proofs
    does not contain a `c_nonce` value."""

    error = "invalid_proof"


class InvalidNonce(ProtocolError):
    """The `proofs` parameter in the Credential Request uses an invalid nonce: at least one of the
    key proofs contains an invalid `c_nonce` value. The wallet should retrieve a new `c_nonce` value."""

    error = "invalid_nonce"


class InvalidEncryptionParameters(ProtocolError):
    """The encryption parameters in the Credential Request are either invalid or missing (the
    Credential Issuer requires encrypted responses but the request carries no encryption parameters)."""

    error = "invalid_encryption_parameters"


class CredentialRequestDenied(ProtocolError):
    """The Credential Request has not been accepted by the Credential Issuer. The Wallet SHOULD
    treat this error as unrecoverable."""

    error = "credential_request_denied"


class InvalidTransactionId(ProtocolError):
    """The Deferred Credential Request contains an invalid `transaction_id`: it was not issued by
    the respective Credential Issuer or it was already used to obtain a Credential."""

    error = "invalid_transaction_id"


class InvalidNotificationId(ProtocolError):
    """The `notification_id` in the Notification Request was invalid."""

    error = "invalid_notification_id"


class InvalidNotificationRequest(ProtocolError):
    """The Notification Request is missing a required parameter, includes an unsupported parameter
    or parameter value, repeats the same parameter, or is otherwise malformed."""

    error = "invalid_notification_request"

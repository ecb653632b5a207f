"""What every credential format gets to build one credential, and what it must offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from issuer.models import Award, BadgeClass, Institution, Issuer
from issuer.services.proofs import PROOF_SIGNING_ALGORITHMS, VerifiedProof
from issuer.services.status import StatusEntry
from vc.keys import Signer

__all__ = ["CredentialFormat", "IssuanceContext", "binding_metadata", "iso_time", "split_name"]


@dataclass(frozen=True)
class IssuanceContext:
    base_url: str
    award: Award
    badge: BadgeClass
    institution: Institution
    issuer: Issuer
    #: The holder key the credential is bound to; None for an unbound credential (a baked badge).
    holder: VerifiedProof | None
    status: StatusEntry
    signer: Signer
    #: `urn:uuid:...`, the credential's `id` / `jti`.
    credential_id: str
    now: int
    valid_until: int | None


class CredentialFormat(Protocol):
    configuration_id: str
    format: str
    #: `token_status_list` or `bitstring_status_list`
    status_kind: str

    def configuration(self, base_url: str) -> dict[str, Any]:
        """This format's `credential_configurations_supported` entry."""
        ...

    def issue(self, context: IssuanceContext) -> str:
        """The signed credential, as it goes into the Credential Response."""
        ...


def binding_metadata(binding_methods: list[str], signing_algs: list[str]) -> dict[str, Any]:
    """The key-binding members of a configuration (§12.2.4): we always bind to a `jwt` proof key."""
    return {"cryptographic_binding_methods_supported": binding_methods,
            "credential_signing_alg_values_supported": signing_algs,
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(PROOF_SIGNING_ALGORITHMS)}}}


def iso_time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_name(name: str) -> tuple[str, str]:
    """(given name, family name) from one name field: the last word is the family name ("" given name
    for a one-word name)."""
    words = name.split()
    if len(words) < 2:
        return "", name
    return " ".join(words[:-1]), words[-1]

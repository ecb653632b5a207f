"""Test credentials made with the library: issuers, holders, OB3 VC-JWTs, SD-JWT VCs, status lists,
and the holder side of OpenID4VP (SD-JWT + KB-JWT, VP JWT), as a wallet would make them."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vc.bitstring_status_list import Bitstring, create_status_list_credential, create_status_list_entry
from vc.did_jwk import create_did_jwk
from vc.keys import SoftwareSigner
from vc.presentation import create_vp_jwt
from vc.sd_jwt import ClaimPath, issue_sd_jwt, present_sd_jwt
from vc.token_status_list import StatusList, create_status_list_token
from vc.vc_jwt import encode_ob3_jwt, sign_vc_jwt

NOW = datetime.now(UTC).replace(microsecond=0)
VCT = "https://issuer.example.edu/vct/microcredential/v1"
OB3_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Party:
    """A key with a did:jwk (an issuer or a holder)."""

    signer: SoftwareSigner
    did: str

    @classmethod
    def new(cls) -> Party:
        signer = SoftwareSigner.generate("ES256")
        did = create_did_jwk(signer.public_jwk)
        return cls(signer.with_kid(f"{did}#0"), did)

    @property
    def jwk(self) -> dict[str, str]:
        return dict(self.signer.public_jwk)


@dataclass
class Issuer:
    """A test issuer: its did:jwk for OB3, an identifier `iss` for SD-JWT VCs, and its status lists."""

    party: Party = field(default_factory=Party.new)
    #: The `iss` of its SD-JWT VCs (its DID by default; an https URL when served over HTTP).
    iss: str | None = None
    base_url: str = "https://issuer.example.edu"
    token_list: StatusList = field(default_factory=lambda: StatusList.new(1024, bits=2))
    bitstrings: dict[str, Bitstring] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.iss or self.party.did

    @property
    def tsl_uri(self) -> str:
        return f"{self.base_url}/status/tsl/1"

    def bsl_uri(self, purpose: str) -> str:
        return f"{self.base_url}/status/bsl/{purpose}"

    # -- OB3 ---------------------------------------------------------------------------------
    def ob3_credential(self, holder: Party, *, name: str = "Web Security Essentials",
                       valid_from: datetime | None = None, valid_until: datetime | None = None,
                       status_index: int | None = None, status_purpose: str = "revocation",
                       result: str | None = None,
                       required_value: str | None = None) -> dict[str, Any]:
        achievement: dict[str, Any] = {
            "id": "https://issuer.example.edu/achievements/web-sec-101",
            "type": ["Achievement"],
            "name": name,
            "description": "Secure design and testing of web APIs (3 ECTS).",
            "criteria": {"narrative": "Passed the final assessment with at least 6."},
        }
        subject: dict[str, Any] = {"id": holder.did, "type": ["AchievementSubject"], "achievement": achievement}
        if required_value is not None:
            achievement["resultDescription"] = [{
                "id": "https://issuer.example.edu/results/final", "type": ["ResultDescription"],
                "name": "Final grade", "resultType": "GradePointAverage", "requiredValue": required_value}]
        if result is not None:
            subject["result"] = [{"type": ["Result"], "resultDescription": "https://issuer.example.edu/results/final",
                                  "value": result}]
        credential: dict[str, Any] = {
            "@context": OB3_CONTEXT,
            "id": "urn:uuid:5a1c0d4e-8f2b-4c1e-9a6d-0b7e3f2a9c11",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": name,
            "issuer": {"id": self.party.did, "type": ["Profile"], "name": "Example University"},
            "validFrom": iso(valid_from or NOW - timedelta(days=1)),
            "credentialSubject": subject,
        }
        if valid_until is not None:
            credential["validUntil"] = iso(valid_until)
        if status_index is not None:
            credential["credentialStatus"] = create_status_list_entry(
                status_list_credential=self.bsl_uri(status_purpose), status_list_index=status_index,
                status_purpose=status_purpose)
        return credential

    def ob3_jwt(self, holder: Party, **options: Any) -> str:
        return encode_ob3_jwt(self.ob3_credential(holder, **options), self.party.signer)

    def sign_credential(self, credential: dict[str, Any]) -> str:
        """Sign any credential (no schema check: for schema-invalid test credentials)."""
        return sign_vc_jwt(copy.deepcopy(credential), self.party.signer)

    def bitstring(self, purpose: str) -> Bitstring:
        return self.bitstrings.setdefault(purpose, Bitstring.new())

    def status_list_credential_jwt(self, purpose: str) -> str:
        credential = create_status_list_credential(
            id=self.bsl_uri(purpose), issuer=self.party.did, status_purpose=purpose,
            bitstring=self.bitstring(purpose), valid_from=NOW - timedelta(days=1))
        return sign_vc_jwt(credential, self.party.signer)

    # -- SD-JWT VC -----------------------------------------------------------------------------
    def sd_jwt_vc(self, holder: Party | None, *, claims: dict[str, Any] | None = None,
                  disclosable: Iterable[ClaimPath] = (("given_name",), ("family_name",), ("grade",)),
                  exp: datetime | None = None, nbf: datetime | None = None, status_index: int | None = None,
                  vct: str = VCT, typ: str = "dc+sd-jwt") -> str:
        payload: dict[str, Any] = {
            "iss": self.id, "iat": int((NOW - timedelta(hours=1)).timestamp()), "vct": vct,
            "given_name": "Ada", "family_name": "Lovelace", "grade": "8.5",
            "achievement": {"name": "Web Security Essentials", "ects": 3},
        }
        payload.update(claims or {})
        payload["exp"] = int((exp or NOW + timedelta(days=365)).timestamp())
        if nbf is not None:
            payload["nbf"] = int(nbf.timestamp())
        if status_index is not None:
            payload["status"] = {"status_list": {"idx": status_index, "uri": self.tsl_uri}}
        signer = self.party.signer if self.iss is None else self.party.signer.with_kid("key-1")
        return issue_sd_jwt(payload, signer, typ=typ, disclosable=disclosable,
                            holder_jwk=holder.jwk if holder else None, decoys=2).sd_jwt

    def status_list_token(self) -> str:
        signer = self.party.signer if self.iss is None else self.party.signer.with_kid("key-1")
        return create_status_list_token(self.token_list, signer, uri=self.tsl_uri, ttl=60,
                                        iss=self.iss or self.party.did)


def present_sd_jwt_vc(sd_jwt: str, holder: Party, *, audience: str, nonce: str,
                      disclose: Iterable[ClaimPath] = (("given_name",), ("grade",)),
                      now: datetime | None = None) -> str:
    """The holder's presentation: the chosen Disclosures and a KB-JWT for this verifier."""
    return present_sd_jwt(sd_jwt, disclose=disclose, holder=holder.signer.with_kid(None), audience=audience,
                          nonce=nonce, now=now)


def present_vp_jwt(vc_jwts: list[str], holder: Party, *, audience: str, nonce: str,
                   iat: datetime | None = None) -> str:
    return create_vp_jwt(vc_jwts, holder_signer=holder.signer, holder_did=holder.did, aud=audience, nonce=nonce,
                         iat=iat)

"""vc.oid4vci_client: the Wallet's steps of the OpenID4VCI 1.0 pre-authorized code flow.

The issuer here is an `httpx.MockTransport` handler that checks what the client sends the way
an issuer must (§6.1 token request, §7 nonce, App. F.1 key proofs, §8.2 credential request).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
import pytest

from schemas.oid4vci import CredentialIssuerMetadata, CredentialOffer, parse_model
from tests.conftest import VECTORS
from vc.did_jwk import did_jwk_to_jwk
from vc.dpop import DpopClient, verify_dpop_proof
from vc.errors import FetchRefused, MalformedToken
from vc.fetch import Fetcher, FetchPolicy, static_resolver
from vc.jws import decode_jws, verify_jws
from vc.keys import SoftwareSigner
from vc.oid4vci_client import (
    ErrorResponse,
    IssuerContext,
    ProofBinding,
    authorization_server_for,
    create_proof_jwt,
    obtain_credentials,
    parse_offer_link,
    proof_binding_for,
    request_token,
    resolve_credential_offer,
    resolve_issuer,
)

ISSUER = "https://issuer.example.edu"
RESOLVER = static_resolver({"issuer.example.edu": "93.184.216.34", "as.example.edu": "93.184.216.35"})
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def _vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / "oid4vci" / f"{name}.json").read_text())["message"]  # type: ignore[no-any-return]


class FakeIssuer:
    """A minimal OpenID4VCI issuer + authorization server answering an httpx.MockTransport."""

    def __init__(self, *, tx_code: str | None = "493536", batch_size: int | None = 3,
                 binding: list[str] | None = None, format: str = "dc+sd-jwt") -> None:
        self.tx_code = tx_code
        self.nonces: list[str] = []
        self.reject_nonces = 0
        self.legacy_response = False
        self.deferred = False
        self.offer_content_type = "application/json"
        self.metadata: dict[str, Any] = {
            "credential_issuer": ISSUER,
            "credential_endpoint": f"{ISSUER}/credential",
            "nonce_endpoint": f"{ISSUER}/nonce",
            "display": [{"name": "Example University", "locale": "en"}],
            "credential_configurations_supported": {
                "Badge": {
                    "format": format,
                    **({"vct": f"{ISSUER}/vct/badge"} if format == "dc+sd-jwt" else
                       {"credential_definition": {"type": ["VerifiableCredential", "OpenBadgeCredential"]}}),
                    "cryptographic_binding_methods_supported": binding or ["jwk"],
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
                },
            },
        }
        if batch_size:
            self.metadata["batch_credential_issuance"] = {"batch_size": batch_size}
        self.as_metadata: dict[str, Any] = {
            "issuer": ISSUER, "token_endpoint": f"{ISSUER}/token",
            "pre-authorized_grant_anonymous_access_supported": True,
        }
        grant: dict[str, Any] = {"pre-authorized_code": "SplxlOBeZQQYbYS6WxSbIA"}
        if tx_code is not None:
            grant["tx_code"] = {"input_mode": "numeric", "length": len(tx_code)}
        self.offer = {"credential_issuer": ISSUER, "credential_configuration_ids": ["Badge"],
                      "grants": {GRANT: grant}}
        self.credential_requests: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self.token_response_extra: dict[str, Any] = {}
        #: The DPoP proofs received, in order, and the key the token was bound to (RFC 9449).
        self.dpop_proofs: list[str] = []
        self.dpop_jkt: str | None = None
        #: When set, proofs must carry this server nonce (RFC 9449 §8, §9), given in `DPoP-Nonce`.
        self.dpop_nonce: str | None = None

    def fetcher(self) -> Fetcher:
        return Fetcher(FetchPolicy(), transport=httpx.MockTransport(self.handle), resolver=RESOLVER)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == f"{ISSUER}/offers/1":
            return httpx.Response(200, content=json.dumps(self.offer), headers={"content-type": self.offer_content_type})
        if url == f"{ISSUER}/.well-known/openid-credential-issuer":
            return httpx.Response(200, json=self.metadata)
        if url == f"{ISSUER}/.well-known/oauth-authorization-server":
            return httpx.Response(200, json=self.as_metadata)
        if url == f"{ISSUER}/token":
            return self._token(request)
        if url == f"{ISSUER}/nonce":
            assert request.method == "POST" and "authorization" not in request.headers
            self.nonces.append(f"nonce-{len(self.nonces)}")
            return httpx.Response(200, json={"c_nonce": self.nonces[-1]}, headers={"cache-control": "no-store"})
        if url == f"{ISSUER}/credential":
            return self._credential(request)
        return httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(request.content.decode())
        self.token_requests.append(form)
        assert form["grant_type"] == [GRANT]
        assert form["pre-authorized_code"] == ["SplxlOBeZQQYbYS6WxSbIA"]
        if self.tx_code is None:
            assert "tx_code" not in form
        elif form.get("tx_code") != [self.tx_code]:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "wrong tx_code"})
        if "dpop" in request.headers:
            self.dpop_proofs.append(request.headers["dpop"])
            proof = verify_dpop_proof(request.headers["dpop"], htm="POST", htu=f"{ISSUER}/token", now=int(time.time()),
                                      max_age_seconds=60, clock_skew_seconds=5)
            if self.dpop_nonce and proof.nonce != self.dpop_nonce:
                return httpx.Response(400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": self.dpop_nonce})
            self.dpop_jkt = proof.jkt
        return httpx.Response(200, json={"access_token": "at-1", "token_type": "DPoP" if self.dpop_jkt else "Bearer",
                                         "expires_in": 600, **self.token_response_extra})

    def _credential(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != ("DPoP at-1" if self.dpop_jkt else "Bearer at-1"):
            return httpx.Response(401, json={"error": "invalid_token"})
        if self.dpop_jkt:
            self.dpop_proofs.append(request.headers["dpop"])
            proof = verify_dpop_proof(request.headers["dpop"], htm="POST", htu=f"{ISSUER}/credential", access_token="at-1",
                                      now=int(time.time()), max_age_seconds=60, clock_skew_seconds=5)
            assert proof.jkt == self.dpop_jkt
            if self.dpop_nonce and proof.nonce != self.dpop_nonce:  # §9: the challenge, no body needed
                return httpx.Response(401, headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
                                                    "DPoP-Nonce": self.dpop_nonce})
        body = json.loads(request.content)
        self.credential_requests.append(body)
        proofs = body["proofs"]["jwt"]
        keys = []
        for proof in proofs:  # App. F.1 checks, as an issuer makes them
            decoded = decode_jws(proof)
            header = decoded.header
            assert header["typ"] == "openid4vci-proof+jwt"
            jwk = header.get("jwk") or did_jwk_to_jwk(header["kid"].split("#")[0])
            verify_jws(proof, jwk, algorithms=["ES256"], typ="openid4vci-proof+jwt")
            claims = decoded.claims()
            assert claims["aud"] == ISSUER and isinstance(claims["iat"], int) and "iss" not in claims
            if claims["nonce"] != self.nonces[-1] or self.reject_nonces:
                self.reject_nonces = max(0, self.reject_nonces - 1)
                return httpx.Response(400, json={"error": "invalid_nonce"})
            keys.append(json.dumps(jwk, sort_keys=True))
        assert len(set(keys)) == len(keys), "one key per proof"
        if self.deferred:
            return httpx.Response(202, json={"transaction_id": "t-1", "interval": 5})
        credentials = [f"credential-for-{i}" for i in range(len(proofs))]
        if self.legacy_response:
            return httpx.Response(200, json={"credential": credentials[0], "c_nonce": "old"})
        return httpx.Response(200, json={"credentials": [{"credential": c} for c in credentials]})


def _run(issuer: FakeIssuer, *, tx_code: str | None = "493536", keys: int = 1, link: str | None = None,
         dpop: DpopClient | None = None) -> tuple[IssuerContext, list[str], list[SoftwareSigner]]:
    fetcher = issuer.fetcher()
    offer = resolve_credential_offer(link or f"openid-credential-offer://?credential_offer_uri={ISSUER}/offers/1",
                                     fetcher)
    context = resolve_issuer(offer, fetcher)
    token = request_token(context, fetcher, tx_code=tx_code, dpop=dpop)
    signers = [SoftwareSigner.generate() for _ in range(keys)]
    return context, obtain_credentials(context, token, "Badge", signers, fetcher, dpop=dpop), signers


# -- the offer --------------------------------------------------------------------------------------

def test_parse_offer_link_forms() -> None:
    offer = {"credential_issuer": ISSUER, "credential_configuration_ids": ["Badge"]}
    by_value, none = parse_offer_link("openid-credential-offer://?credential_offer=" + quote(json.dumps(offer)))
    assert by_value is not None and by_value.credential_issuer == ISSUER and none is None
    assert parse_offer_link(f"haip-vci://?credential_offer_uri={quote(ISSUER + '/o/1')}") == (None, ISSUER + "/o/1")
    wallet_link = f"https://wallet.example.org/offer?credential_offer_uri={quote(ISSUER + '/o/2')}"
    assert parse_offer_link(wallet_link) == (None, ISSUER + "/o/2")
    assert parse_offer_link(f"  {ISSUER}/o/3 ") == (None, ISSUER + "/o/3")
    for bad in ("", "mailto:someone@example.com", "openid-credential-offer://?nothing=1",
                "openid-credential-offer://?credential_offer_uri=ftp%3A%2F%2Fx",
                "openid-credential-offer://?credential_offer=%7Bnot%20json"):
        with pytest.raises(MalformedToken):
            parse_offer_link(bad)


def test_spec_offers_parse() -> None:
    offer = parse_model(CredentialOffer, _vector("credential_offer_multiple_credentials"))
    assert offer.grants is not None and offer.grants.pre_authorized_code is not None
    assert offer.grants.pre_authorized_code.tx_code is not None
    assert offer.grants.pre_authorized_code.tx_code.length == 4
    by_reference = parse_model(CredentialOffer, _vector("credential_offer_by_reference"))
    assert by_reference.grants and by_reference.grants.pre_authorized_code
    assert by_reference.grants.pre_authorized_code.tx_code is not None  # {} still means "a PIN is needed"


def test_spec_metadata_authorization_server_and_refusals() -> None:
    metadata = parse_model(CredentialIssuerMetadata, _vector("credential_issuer_metadata_sd_jwt_long"))
    offer = CredentialOffer(credential_issuer=metadata.credential_issuer,
                            credential_configuration_ids=["SD_JWT_VC_example_in_OpenID4VCI"])
    assert authorization_server_for(offer, metadata) == "https://server.example.com"
    configuration = metadata.credential_configurations_supported["SD_JWT_VC_example_in_OpenID4VCI"]
    with pytest.raises(MalformedToken, match="key attestations"):
        proof_binding_for(configuration, "ES256")


def test_offer_by_reference_must_be_json() -> None:
    issuer = FakeIssuer()
    issuer.offer_content_type = "application/jwt"
    with pytest.raises(MalformedToken, match="application/json"):
        resolve_credential_offer(f"openid-credential-offer://?credential_offer_uri={ISSUER}/offers/1",
                                 issuer.fetcher())


def test_offer_pointing_at_a_private_address_is_refused_before_any_request() -> None:
    issuer = FakeIssuer()
    for target in ("https://10.0.0.7/offer", "https://169.254.169.254/latest/meta-data", "https://[::1]/o"):
        with pytest.raises(FetchRefused):
            resolve_credential_offer(f"openid-credential-offer://?credential_offer_uri={quote(target)}",
                                     issuer.fetcher())
    with pytest.raises(FetchRefused):
        resolve_credential_offer("https://192.168.1.1/offer", issuer.fetcher())
    with pytest.raises(MalformedToken, match="https"):  # plain http is refused when parsing the offer
        resolve_credential_offer("openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.example.edu%2Fo",
                                 issuer.fetcher())


# -- metadata -------------------------------------------------------------------------------------

def test_metadata_naming_another_issuer_is_discarded() -> None:
    issuer = FakeIssuer()
    issuer.metadata["credential_issuer"] = "https://evil.example.com"
    with pytest.raises(MalformedToken, match="another credential_issuer"):
        _run(issuer)


def test_authorization_server_metadata_must_name_its_issuer() -> None:
    issuer = FakeIssuer()
    issuer.as_metadata["issuer"] = "https://evil.example.com"
    with pytest.raises(MalformedToken, match="another issuer"):
        _run(issuer)


def test_offer_of_an_unknown_configuration_is_refused() -> None:
    issuer = FakeIssuer()
    issuer.offer["credential_configuration_ids"] = ["NotThere"]
    with pytest.raises(MalformedToken, match="NotThere"):
        _run(issuer)


# -- token ----------------------------------------------------------------------------------------

def test_tx_code_is_required_when_offered_and_checked_by_the_issuer() -> None:
    with pytest.raises(MalformedToken, match="tx_code"):
        _run(FakeIssuer(), tx_code=None)
    with pytest.raises(ErrorResponse) as caught:
        _run(FakeIssuer(), tx_code="000000")
    assert caught.value.error == "invalid_grant" and caught.value.status == 400


def test_no_tx_code_is_sent_when_none_was_offered() -> None:
    issuer = FakeIssuer(tx_code=None)
    _run(issuer, tx_code="123456")
    assert "tx_code" not in issuer.token_requests[0]


# -- nonce, proofs, credential request -------------------------------------------------------------

def test_full_flow_with_batch_of_fresh_keys() -> None:
    issuer = FakeIssuer(batch_size=3)
    _, credentials, signers = _run(issuer, keys=3)
    assert credentials == ["credential-for-0", "credential-for-1", "credential-for-2"]
    [request] = issuer.credential_requests
    assert request["credential_configuration_id"] == "Badge" and len(request["proofs"]["jwt"]) == 3
    headers = [decode_jws(p).header for p in request["proofs"]["jwt"]]
    assert [h["jwk"] for h in headers] == [s.public_jwk for s in signers]


def test_batch_is_capped_at_the_issuers_batch_size() -> None:
    issuer = FakeIssuer(batch_size=None)
    _, credentials, _ = _run(issuer, keys=3)
    assert len(credentials) == 1 and len(issuer.credential_requests[0]["proofs"]["jwt"]) == 1


def test_invalid_nonce_is_retried_once_with_a_fresh_nonce() -> None:
    issuer = FakeIssuer()
    issuer.reject_nonces = 1
    _, credentials, _ = _run(issuer)
    assert credentials == ["credential-for-0"] and len(issuer.nonces) == 2
    issuer = FakeIssuer()
    issuer.reject_nonces = 2
    with pytest.raises(ErrorResponse) as caught:
        _run(issuer)
    assert caught.value.error == "invalid_nonce" and len(issuer.nonces) == 2


def test_a_dpop_key_binds_the_token_when_the_authorization_server_lists_its_algorithm() -> None:
    issuer = FakeIssuer()
    issuer.as_metadata["dpop_signing_alg_values_supported"] = ["ES256"]
    issuer.reject_nonces = 1  # the retried credential request needs a proof of its own
    dpop = DpopClient(SoftwareSigner.generate("ES256"))
    assert _run(issuer, dpop=dpop)[1] == ["credential-for-0"]
    assert len(issuer.dpop_proofs) == 3 and len({decode_jws(p).claims()["jti"] for p in issuer.dpop_proofs}) == 3
    keys = {json.dumps(decode_jws(p).header["jwk"]) for p in issuer.dpop_proofs}
    assert keys == {json.dumps(dpop.signer.public_jwk)}
    assert "ath" not in decode_jws(issuer.dpop_proofs[0]).claims()  # the token request has no token yet


def test_a_server_dpop_nonce_is_taken_and_the_request_sent_once_more() -> None:
    issuer = FakeIssuer()
    issuer.as_metadata["dpop_signing_alg_values_supported"] = ["ES256"]
    issuer.dpop_nonce = "server-nonce-1"
    dpop = DpopClient(SoftwareSigner.generate("ES256"))
    assert _run(issuer, dpop=dpop)[1] == ["credential-for-0"]
    nonces = [decode_jws(p).claims().get("nonce") for p in issuer.dpop_proofs]
    # token: refused without a nonce (400 use_dpop_nonce), then sent with it; the credential request uses it at once
    assert nonces == [None, "server-nonce-1", "server-nonce-1"]
    context, token = _token_for(issuer, dpop)  # the remembered nonce is sent at once
    issuer.dpop_nonce = "server-nonce-2"  # then the server moves on: the 401 challenge of §9 gives the new one
    assert obtain_credentials(context, token, "Badge", [SoftwareSigner.generate()], issuer.fetcher(), dpop=dpop)
    assert [decode_jws(p).claims().get("nonce") for p in issuer.dpop_proofs[-2:]] == ["server-nonce-1",
                                                                                      "server-nonce-2"]


def _token_for(issuer: FakeIssuer, dpop: DpopClient) -> tuple[IssuerContext, Any]:
    fetcher = issuer.fetcher()
    context = resolve_issuer(resolve_credential_offer(f"openid-credential-offer://?credential_offer_uri={ISSUER}"
                                                      "/offers/1", fetcher), fetcher)
    return context, request_token(context, fetcher, tx_code="493536", dpop=dpop)


def test_without_dpop_in_the_metadata_the_token_stays_bearer() -> None:
    issuer = FakeIssuer()
    issuer.as_metadata["dpop_signing_alg_values_supported"] = ["PS256"]  # not an algorithm of our key
    assert _run(issuer, dpop=DpopClient(SoftwareSigner.generate("ES256")))[1] == ["credential-for-0"]
    assert issuer.dpop_proofs == [] and issuer.dpop_jkt is None


def test_a_dpop_token_the_wallet_did_not_ask_for_is_refused() -> None:
    issuer = FakeIssuer()
    issuer.token_response_extra = {"token_type": "DPoP"}
    with pytest.raises(MalformedToken, match="token_type"):
        _run(issuer)


def test_legacy_single_credential_response_is_accepted() -> None:
    issuer = FakeIssuer()
    issuer.legacy_response = True
    assert _run(issuer)[1] == ["credential-for-0"]


def test_deferred_issuance_is_refused_clearly() -> None:
    issuer = FakeIssuer()
    issuer.deferred = True
    with pytest.raises(MalformedToken, match="deferred"):
        _run(issuer)


def test_credential_identifiers_from_the_token_response_are_used() -> None:
    issuer = FakeIssuer()
    issuer.token_response_extra = {"authorization_details": [{
        "type": "openid_credential", "credential_configuration_id": "Badge", "credential_identifiers": ["B-1"]}]}
    _run(issuer)
    request = issuer.credential_requests[0]
    assert request["credential_identifier"] == "B-1" and "credential_configuration_id" not in request


def test_jwt_vc_json_binds_a_did_jwk_subject() -> None:
    issuer = FakeIssuer(format="jwt_vc_json", binding=["did:jwk", "jwk"])
    _, _, [signer] = _run(issuer)
    header = decode_jws(issuer.credential_requests[0]["proofs"]["jwt"][0]).header
    assert "jwk" not in header and header["kid"].endswith("#0")
    assert did_jwk_to_jwk(header["kid"][:-2]) == signer.public_jwk


def test_required_encryption_and_unsupported_algorithms_are_refused() -> None:
    issuer = FakeIssuer()
    issuer.metadata["credential_response_encryption"] = {
        "alg_values_supported": ["ECDH-ES"], "enc_values_supported": ["A128GCM"], "encryption_required": True}
    with pytest.raises(MalformedToken, match="encrypted"):
        _run(issuer)
    issuer = FakeIssuer()
    issuer.metadata["credential_configurations_supported"]["Badge"]["proof_types_supported"]["jwt"][
        "proof_signing_alg_values_supported"] = ["EdDSA"]
    with pytest.raises(MalformedToken, match="ES256"):
        _run(issuer)


def test_proof_jwt_shape() -> None:
    signer = SoftwareSigner.generate()
    proof = create_proof_jwt(signer, credential_issuer=ISSUER, nonce="n-1", binding=ProofBinding("did:key"))
    decoded = decode_jws(proof)
    assert decoded.header["typ"] == "openid4vci-proof+jwt" and decoded.header["alg"] == "ES256"
    assert decoded.header["kid"].startswith("did:key:zDn") and "jwk" not in decoded.header
    assert decoded.claims()["nonce"] == "n-1" and decoded.claims()["aud"] == ISSUER

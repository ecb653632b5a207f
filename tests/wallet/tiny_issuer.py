"""A tiny OpenID4VCI 1.0 issuer for the wallet's tests, built from the credential library.

It serves what a real issuer serves (issuer and AS metadata, offers by reference, token with
`tx_code`, nonce, credential endpoint with `proofs`, did:web document, JWT VC Issuer Metadata,
SD-JWT VC type metadata, a Token Status List and a Bitstring Status List) and checks the
wallet's key proofs the way App. F.1 says. `fault` makes it misbehave in one named way, so
the wallet's refusals can be tested:

    bad_signature            the credential's signature does not verify
    wrong_holder             the credential is bound to a key the wallet never proved
    expired                  the credential expired yesterday
    unreferenced_disclosure  the SD-JWT carries a Disclosure no digest refers to
    wrong_metadata_issuer    the issuer metadata names another credential_issuer
    wrong_vct                the SD-JWT VC is of another type than the configuration says
    sd_never_disclosable     the type metadata says `grade` is `sd: never`, the credential hides it
    not_ob3                  the OB3 credential breaks the 1EdTech schema (no validFrom)

With `sd_jwt_library="sd-jwt-python"` the SD-JWT VCs are made by the OpenWallet Foundation's
reference implementation (`sd_jwt.issuer.SDJWTIssuer`) instead of `vc.sd_jwt_vc`: the wallet then
reads an SD-JWT it did not write itself.
"""

from __future__ import annotations

import io
import json
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageDraw

from tests.servers import free_port
from vc.bitstring_status_list import Bitstring, create_status_list_credential, create_status_list_entry
from vc.did_jwk import create_did_jwk, did_jwk_to_jwk
from vc.did_web import create_did_web_document, did_web_from_url
from vc.jws import decode_jws, verify_jws
from vc.keys import SoftwareSigner
from vc.sd_jwt import create_disclosure
from vc.sd_jwt_vc import create_jwt_vc_issuer_metadata, issue_sd_jwt_vc
from vc.token_status_list import StatusList, create_status_list_token
from vc.vc_jwt import encode_ob3_jwt, sign_vc_jwt

GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: Claim values the encryption-at-rest tests look for in the raw database file.
GIVEN_NAME = "Zebulonius"
FAMILY_NAME = "Quixotic-Hartwell"
SD_ACHIEVEMENT = "Cryptography Foundations Zxq"
OB3_ACHIEVEMENT = "Applied Lichenology Vqz"
GRADE = "summa-cum-laude-9"
#: The type metadata's label of `given_name` (the wallet's own catalog says "Given name").
GIVEN_NAME_LABEL = "First name on record"


def _error(status: int, error: str, description: str = "") -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})


class TinyIssuer:
    def __init__(self, *, tx_code: str | None = "493536", batch_size: int | None = 3, fault: str | None = None,
                 sd_jwt_library: str = "vc") -> None:
        self.url = ""
        self.sd_jwt_library = sd_jwt_library
        self.tx_code = tx_code
        self.batch_size = batch_size
        self.fault = fault
        self.sd_signer = SoftwareSigner.generate(kid="sd-key-1")
        self.ob3_key = SoftwareSigner.generate()
        self.offers: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, list[str]] = {}
        self.tokens: dict[str, list[str]] = {}
        self.nonces: set[str] = set()
        self.token_status = StatusList.new(1024, bits=2)
        self.bitstring = Bitstring.new()
        self.next_index = 0
        self.issued: list[dict[str, Any]] = []
        self.proof_headers: list[dict[str, Any]] = []

    # -- identities ----------------------------------------------------------------------------

    @property
    def did(self) -> str:
        return did_web_from_url(self.url)

    @property
    def ob3_signer(self) -> SoftwareSigner:
        return self.ob3_key.with_kid(f"{self.did}#key-1")

    @property
    def vct(self) -> str:
        return f"{self.url}/vct/microcredential"

    def metadata(self) -> dict[str, Any]:
        binding = {"cryptographic_binding_methods_supported": ["jwk", "did:jwk"],
                   "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}}
        metadata: dict[str, Any] = {
            "credential_issuer": "https://elsewhere.example.com" if self.fault == "wrong_metadata_issuer" else self.url,
            "credential_endpoint": f"{self.url}/credential",
            "nonce_endpoint": f"{self.url}/nonce",
            "display": [{"name": "Tiny University", "locale": "en", "logo": {"uri": f"{self.url}/logo.png"}},
                        {"name": "Kleine Universiteit", "locale": "nl"}],
            "credential_configurations_supported": {
                "Microcredential_sd_jwt": {
                    "format": "dc+sd-jwt", "vct": self.vct, **binding,
                    "credential_metadata": {"display": [{"name": "Microcredential", "locale": "en"}]},
                },
                "OpenBadgeCredential_jwt": {
                    "format": "jwt_vc_json",
                    "credential_definition": {"type": ["VerifiableCredential", "OpenBadgeCredential"]}, **binding,
                    "credential_metadata": {"display": [{"name": "Open Badge", "locale": "en"}]},
                },
                "Mdoc": {"format": "mso_mdoc", "doctype": "org.iso.18013.5.1.mDL"},
            },
        }
        if self.batch_size:
            metadata["batch_credential_issuance"] = {"batch_size": self.batch_size}
        return metadata

    def type_metadata(self) -> dict[str, Any]:
        claims = [{"path": ["achievement", "name"], "sd": "never"},
                  {"path": ["given_name"], "sd": "always", "display": [{"locale": "en", "label": GIVEN_NAME_LABEL},
                                                                      {"locale": "nl", "label": "Roepnaam"}]}]
        if self.fault == "sd_never_disclosable":
            claims.append({"path": ["grade"], "sd": "never"})
        return {"vct": self.vct, "name": "Microcredential",
                "display": [{"locale": "en", "name": "Microcredential (type metadata)",
                             "rendering": {"simple": {"background_color": "#12107c",
                                                      "logo": {"uri": f"{self.url}/microcredential.png",
                                                               "alt_text": "Microcredential"}}}}],
                "claims": claims}

    # -- offers --------------------------------------------------------------------------------

    def offer(self, *configurations: str, by_reference: bool = True) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = list(configurations or ["Microcredential_sd_jwt", "OpenBadgeCredential_jwt"])
        grant: dict[str, Any] = {"pre-authorized_code": code}
        if self.tx_code is not None:
            grant["tx_code"] = {"input_mode": "numeric", "length": len(self.tx_code),
                                "description": "Code sent to your e-mail"}
        offer = {"credential_issuer": self.url, "credential_configuration_ids": self.codes[code],
                 "grants": {GRANT: grant}}
        if not by_reference:
            return "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer))
        offer_id = secrets.token_urlsafe(8)
        self.offers[offer_id] = offer
        return "openid-credential-offer://?credential_offer_uri=" + quote(f"{self.url}/offers/{offer_id}", safe="")

    def set_status(self, credential_index: int, value: int) -> None:
        """Token Status List value (0 valid, 1 revoked, 2 suspended) / Bitstring bit for one issued credential."""
        issued = self.issued[credential_index]
        if issued["format"] == "dc+sd-jwt":
            self.token_status.set(issued["idx"], value)
        else:
            self.bitstring.set(issued["idx"], 1 if value else 0)

    # -- credentials ---------------------------------------------------------------------------

    def _holder_jwk(self, proof: str) -> dict[str, Any]:
        decoded = decode_jws(proof)
        header = decoded.header
        self.proof_headers.append(header)
        jwk = header.get("jwk") or did_jwk_to_jwk(header["kid"].split("#")[0])
        verify_jws(proof, jwk, algorithms=["ES256"], typ="openid4vci-proof+jwt")
        claims = decoded.claims()
        if claims.get("aud") != self.url or claims.get("nonce") not in self.nonces:
            raise PermissionError("invalid_nonce" if claims.get("aud") == self.url else "invalid_proof")
        return jwk

    def _times(self) -> tuple[datetime, datetime]:
        now = datetime.now(UTC).replace(microsecond=0)
        if self.fault == "expired":
            return now - timedelta(days=30), now - timedelta(days=1)
        return now - timedelta(minutes=1), now + timedelta(days=365)

    def sd_jwt_vc(self, holder_jwk: dict[str, Any]) -> str:
        valid_from, valid_until = self._times()
        idx = self.next_index
        self.next_index += 1
        self.issued.append({"format": "dc+sd-jwt", "idx": idx})
        bound = SoftwareSigner.generate().public_jwk if self.fault == "wrong_holder" else holder_jwk
        claims = {
            "iss": self.url, "vct": "https://other.example.com/vct" if self.fault == "wrong_vct" else self.vct,
            "iat": int(valid_from.timestamp()), "exp": int(valid_until.timestamp()),
            "given_name": GIVEN_NAME, "family_name": FAMILY_NAME, "grade": GRADE,
            "achievement": {"name": SD_ACHIEVEMENT, "ects": 5, "eqf_level": 6, "description": "Hashes and signatures."},
            "status": {"status_list": {"idx": idx, "uri": f"{self.url}/status/tsl"}},
        }
        if self.sd_jwt_library == "sd-jwt-python":
            token = self._reference_sd_jwt(claims, bound)
        else:
            token = issue_sd_jwt_vc(claims, self.sd_signer, holder_jwk=bound, decoys=2, disclosable=[
                ("given_name",), ("family_name",), ("grade",), ("achievement", "ects")]).sd_jwt
        if self.fault == "bad_signature":
            head, payload, signature = token.split("~", 1)[0].split(".")
            token = ".".join([head, payload, signature[::-1]]) + "~" + token.split("~", 1)[1]
        if self.fault == "unreferenced_disclosure":
            token += create_disclosure(secrets.token_urlsafe(16), "nickname", "Zeb").encoded + "~"
        return token

    def _reference_sd_jwt(self, claims: dict[str, Any], holder_jwk: dict[str, Any]) -> str:
        """The same SD-JWT VC, made by sd-jwt-python (keys as jwcrypto JWKs)."""
        from jwcrypto.jwk import JWK
        from sd_jwt.common import SDObj
        from sd_jwt.issuer import SDJWTIssuer

        from vc.jwk import private_jwk

        user_claims = {SDObj(k) if k in ("given_name", "family_name", "grade") else k: v for k, v in claims.items()}
        user_claims["achievement"] = {SDObj(k) if k == "ects" else k: v for k, v in claims["achievement"].items()}
        issuer = SDJWTIssuer(user_claims, JWK(**private_jwk(self.sd_signer.private_key)),
                             holder_key=JWK(**holder_jwk), sign_alg="ES256", add_decoy_claims=True,
                             extra_header_parameters={"typ": "dc+sd-jwt", "kid": "sd-key-1"})
        return str(issuer.sd_jwt_issuance)

    def ob3_jwt(self, holder_jwk: dict[str, Any]) -> str:
        valid_from, valid_until = self._times()
        idx = self.next_index
        self.next_index += 1
        self.issued.append({"format": "jwt_vc_json", "idx": idx})
        bound = SoftwareSigner.generate().public_jwk if self.fault == "wrong_holder" else holder_jwk
        credential: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/credentials/v2",
                         "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": f"urn:uuid:{secrets.token_hex(16)}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": OB3_ACHIEVEMENT,
            "issuer": {"id": self.did, "type": ["Profile"], "name": "Tiny University"},
            "validFrom": valid_from.isoformat().replace("+00:00", "Z"),
            "validUntil": valid_until.isoformat().replace("+00:00", "Z"),
            "credentialSubject": {
                "id": create_did_jwk(bound), "type": ["AchievementSubject"],
                "achievement": {
                    "id": f"{self.url}/achievements/lichen", "type": ["Achievement"], "name": OB3_ACHIEVEMENT,
                    "description": "Field identification of lichens (4 ECTS).",
                    "criteria": {"narrative": "Identify thirty species."},
                    "image": {"id": f"{self.url}/badge.png", "type": "Image"},
                    "creditsAvailable": 4,
                    "alignment": [{"type": ["Alignment"], "targetType": "ext:EQF", "targetName": "EQF level 5",
                                   "targetCode": "5", "targetUrl": "https://europa.eu/europass/en/eqf"}],
                },
            },
            "credentialStatus": create_status_list_entry(status_list_credential=f"{self.url}/status/bsl",
                                                         status_list_index=idx),
        }
        if self.fault == "not_ob3":
            del credential["validFrom"]
            return sign_vc_jwt(credential, self.ob3_signer)
        token = encode_ob3_jwt(credential, self.ob3_signer)
        if self.fault == "bad_signature":
            head, payload, signature = token.split(".")
            token = ".".join([head, payload, signature[::-1]])
        return token

    # -- the app -------------------------------------------------------------------------------

    def app(self) -> FastAPI:  # noqa: C901 - one closure per endpoint reads best here
        app = FastAPI()

        @app.get("/offers/{offer_id}")
        def get_offer(offer_id: str) -> Any:
            offer = self.offers.pop(offer_id, None)  # single use
            return offer if offer is not None else _error(404, "not_found")

        @app.get("/.well-known/openid-credential-issuer")
        def issuer_metadata() -> Any:
            return self.metadata()

        @app.get("/.well-known/oauth-authorization-server")
        def as_metadata() -> Any:
            return {"issuer": self.url, "token_endpoint": f"{self.url}/token",
                    "pre-authorized_grant_anonymous_access_supported": True}

        @app.post("/token")
        def token(grant_type: str = Form(), pre_authorized_code: str = Form(alias="pre-authorized_code"),
                  tx_code: str | None = Form(default=None)) -> Any:
            if grant_type != GRANT:
                return _error(400, "unsupported_grant_type")
            if (tx_code is None) != (self.tx_code is None):
                return _error(400, "invalid_request", "tx_code missing or unexpected")
            if tx_code != self.tx_code or pre_authorized_code not in self.codes:
                return _error(400, "invalid_grant")
            access_token = secrets.token_urlsafe(16)
            self.tokens[access_token] = self.codes.pop(pre_authorized_code)
            return {"access_token": access_token, "token_type": "Bearer", "expires_in": 300}

        @app.post("/nonce")
        def nonce() -> Any:
            value = secrets.token_urlsafe(16)
            self.nonces.add(value)
            return JSONResponse({"c_nonce": value}, headers={"Cache-Control": "no-store"})

        @app.post("/credential")
        async def credential(request: Request, authorization: str = Header(default="")) -> Any:
            allowed = self.tokens.get(authorization.removeprefix("Bearer "))
            if allowed is None:
                return _error(401, "invalid_token")
            body = await request.json()
            configuration = body.get("credential_configuration_id")
            if configuration not in allowed:
                return _error(400, "unknown_credential_configuration")
            proofs = body.get("proofs", {}).get("jwt", [])
            if not proofs or len(proofs) > (self.batch_size or 1):
                return _error(400, "invalid_proof", "proofs missing or more than batch_size")
            try:
                holders = [self._holder_jwk(p) for p in proofs]
            except PermissionError as exc:
                return _error(400, str(exc))
            for proof in proofs:
                self.nonces.discard(decode_jws(proof).claims()["nonce"])
            make = self.sd_jwt_vc if configuration == "Microcredential_sd_jwt" else self.ob3_jwt
            return {"credentials": [{"credential": make(h)} for h in holders]}

        @app.get("/.well-known/did.json")
        def did_document() -> Any:
            return create_did_web_document(self.did, [{**self.ob3_key.public_jwk, "kid": "key-1"}])

        @app.get("/.well-known/jwt-vc-issuer")
        def jwt_vc_issuer() -> Any:
            return create_jwt_vc_issuer_metadata(self.url, [{**self.sd_signer.public_jwk, "kid": "sd-key-1"}])

        @app.get("/badge.png")
        def badge() -> Response:
            return Response(badge_png("#1d6b45", "#0b5cad"), media_type="image/png")

        @app.get("/microcredential.png")
        def microcredential_image() -> Response:
            return Response(badge_png("#12107c", "#b42318"), media_type="image/png")

        @app.get("/logo.png")
        def logo() -> Response:
            return Response(badge_png("#12325a", "#12325a"), media_type="image/png")

        @app.get("/vct/microcredential")
        def vct() -> Any:
            return self.type_metadata()

        @app.get("/status/tsl")
        def token_status_list() -> Response:
            token = create_status_list_token(self.token_status, self.sd_signer, uri=f"{self.url}/status/tsl",
                                             iss=self.url, ttl=1)
            return Response(token, media_type="application/statuslist+jwt")

        @app.get("/status/bsl")
        def bitstring_status_list() -> Response:
            credential = create_status_list_credential(
                id=f"{self.url}/status/bsl", issuer=self.did, status_purpose="revocation", bitstring=self.bitstring,
                valid_from=datetime.now(UTC) - timedelta(minutes=1))
            return Response(sign_vc_jwt(credential, self.ob3_signer), media_type="application/vc+jwt")

        return app


def badge_png(background: str, ribbon: str) -> bytes:
    """A small badge image (a rosette with ribbons) for the issuer's `image` and `logo` URLs."""
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(84, 150), (56, 246), (102, 222), (128, 250), (128, 160)], fill=ribbon)
    draw.polygon([(172, 150), (200, 246), (154, 222), (128, 250), (128, 160)], fill=ribbon)
    draw.ellipse((36, 20, 220, 204), fill=background)
    draw.ellipse((58, 42, 198, 182), outline="#ffd43b", width=8)
    star = [(128 + r * math.sin(math.pi * i / 5), 114 - r * math.cos(math.pi * i / 5))
            for i, r in zip(range(10), [46, 19] * 5, strict=True)]
    draw.polygon(star, fill="#ffd43b")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@contextmanager
def serve(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1; yields its `http://localhost:<port>` URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_tiny_issuer(**options: Any) -> Iterator[TinyIssuer]:
    issuer = TinyIssuer(**options)
    port = free_port()
    issuer.url = f"http://localhost:{port}"
    with serve(issuer.app(), port):
        yield issuer

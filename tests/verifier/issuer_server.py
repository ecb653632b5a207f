"""A tiny test issuer on loopback HTTP: its did:web document, JWT VC Issuer Metadata and status lists.

What a real issuer publishes, served from a `tests.verifier.factories.Issuer` so tests can revoke or
suspend and the verifier fetches the change.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import free_port
from tests.verifier.factories import Issuer, Party
from vc.did_web import create_did_web_document


@contextmanager
def served_issuer() -> Iterator[Issuer]:
    """An issuer at `http://localhost:<port>`: OB3 as `did:web:localhost%3A<port>`, SD-JWT VCs with `iss` = the URL."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    did = f"did:web:localhost%3A{port}"
    party = Party.new()
    issuer = Issuer(party=Party(party.signer.with_kid(f"{did}#key-1"), did), iss=base_url, base_url=base_url)
    jwk = {**party.signer.public_jwk, "kid": "key-1"}
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requests.append(self.path)
            if self.path == "/.well-known/did.json":
                self._send("application/did+json", json.dumps(create_did_web_document(did, [jwk])))
            elif self.path == "/.well-known/jwt-vc-issuer":
                self._send("application/json", json.dumps({"issuer": base_url, "jwks": {"keys": [jwk]}}))
            elif self.path == "/status/tsl/1":
                self._send("application/statuslist+jwt", issuer.status_list_token())
            elif self.path.startswith("/status/bsl/"):
                self._send("application/vc+jwt", issuer.status_list_credential_jwt(self.path.rsplit("/", 1)[1]))
            else:
                self.send_error(404)

        def _send(self, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    issuer.requests = requests  # type: ignore[attr-defined]
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()

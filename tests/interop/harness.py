"""Drive the independent OpenID4VCI / OpenID4VP implementation (OpenWallet Foundation oid4vc-ts and
sd-jwt-js, under Node.js) from the tests.

The four programs beside this file each print one JSON document (servers: one JSON line when ready):

* `wallet-receive.mjs OFFER_URI [--tx-code X]` — an OpenID4VCI 1.0 wallet (pre-authorized code).
* `wallet-present.mjs OPENID4VP_URI --credential C --holder-jwk J` — an OpenID4VP 1.0 wallet.
* `issuer-serve.mjs --port P` — an OpenID4VCI 1.0 issuer (`dc+sd-jwt` and OB3 `jwt_vc_json`).
* `verifier-serve.mjs --port P` — an OpenID4VP 1.0 verifier (DCQL, x509_hash / x509_san_dns /
  decentralized_identifier / redirect_uri, direct_post and direct_post.jwt).

They import nothing of eduwallet, so a test that passes with them on one side and our service on
the other shows interoperability with an implementation that is not ours. Servers bind 127.0.0.1
and call themselves `http://localhost:<port>`, like `tests.servers`.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

INTEROP_DIR = Path(__file__).resolve().parent
NODE_MODULES = INTEROP_DIR / "node_modules"
PROGRAM_TIMEOUT = 90.0
SERVER_START_TIMEOUT = 30.0


class NodeProgramError(AssertionError):
    """A node program exited non-zero; `document` is the JSON error it printed."""

    def __init__(self, program: str, returncode: int, document: dict[str, Any], stderr: str) -> None:
        self.program = program
        self.returncode = returncode
        self.document = document
        self.stderr = stderr
        super().__init__(f"{program} failed ({returncode}): {json.dumps(document)[:2000]}\n{stderr[-2000:]}")


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js (node) is needed for the interop tests and is not on PATH")
    return node


def _installed() -> bool:
    marker = NODE_MODULES / ".package-lock.json"  # written by npm after a complete install
    lock = INTEROP_DIR / "package-lock.json"
    return marker.is_file() and (not lock.is_file() or lock.stat().st_mtime <= marker.stat().st_mtime)


def ensure_node_modules() -> None:
    """`npm ci` (or `npm install` without a lock) in this folder, if `node_modules` is missing or stale."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install the interop test dependencies and is not on PATH")
    with open(Path(tempfile.gettempdir()) / "eduwallet-interop-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several pytest processes may start at once
        if _installed():
            return
        command = "ci" if (INTEROP_DIR / "package-lock.json").is_file() else "install"
        result = subprocess.run([npm, command, "--no-audit", "--no-fund"], cwd=INTEROP_DIR, capture_output=True,
                                text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"npm {command} failed in {INTEROP_DIR}:\n{result.stdout}\n{result.stderr}")


def _last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            document = json.loads(line)
            if isinstance(document, dict):
                return document
    raise ValueError(f"no JSON document in the output: {text[-1000:]!r}")


def run_node(program: str, *args: str, check: bool = True, timeout: float = PROGRAM_TIMEOUT) -> dict[str, Any]:
    """Run `node <program> <args>` here; return the JSON document it printed.

    With `check=False` a failure is returned too, with `"exit_code"` set (0 on success).
    """
    result = subprocess.run([node_executable(), program, *args], cwd=INTEROP_DIR, capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "INTEROP_DEBUG": "1"})
    try:
        document = _last_json_line(result.stdout)
    except ValueError:
        document = {"error": "no_output", "stdout": result.stdout[-2000:]}
    if check and result.returncode != 0:
        raise NodeProgramError(program, result.returncode, document, result.stderr)
    return {**document, "exit_code": result.returncode} if not check else document


def wallet_receive(offer_uri: str, *, tx_code: str | None = None, configurations: Sequence[str] = (),
                   batch: int | None = None, verify: bool = True, check: bool = True,
                   dpop: bool = False) -> dict[str, Any]:
    """The independent wallet takes `offer_uri` (OpenID4VCI 1.0 pre-authorized code flow).

    Returns `{credential_issuer, credentials: [{configuration_id, format, credential, holder_private_jwk,
    holder_public_jwk, verification: {verified, checks, claims | error}}], notifications, ...}`.
    """
    args = [offer_uri]
    if tx_code is not None:
        args += ["--tx-code", tx_code]
    for configuration in configurations:
        args += ["--configuration", configuration]
    if batch is not None:
        args += ["--batch", str(batch)]
    if not verify:
        args.append("--no-verify")
    if dpop:
        args.append("--dpop")
    return run_node("wallet-receive.mjs", *args, check=check)


def wallet_present(request_uri: str, *, credential: str, holder_jwk: dict[str, Any], credential_format: str | None = None,
                   disclose_all: bool = False, kb_aud: str | None = None, kb_nonce: str | None = None,
                   submit: bool = True, check: bool = True) -> dict[str, Any]:
    """The independent wallet answers `request_uri` (OpenID4VP 1.0) with `credential`, bound to `holder_jwk`.

    Returns `{status: submitted|refused|declined, http_status, verifier_response, client_id, response_mode,
    query_id, disclosed, vp_token, encrypted, ...}`.
    """
    with tempfile.TemporaryDirectory(prefix="interop-") as folder:
        credential_file = Path(folder) / "credential"
        credential_file.write_text(credential)
        key_file = Path(folder) / "holder.jwk"
        key_file.write_text(json.dumps(holder_jwk))
        args = [request_uri, "--credential", f"@{credential_file}", "--holder-jwk", f"@{key_file}"]
        if credential_format:
            args += ["--format", credential_format]
        if disclose_all:
            args.append("--disclose-all")
        if kb_aud is not None:
            args += ["--kb-aud", kb_aud]
        if kb_nonce is not None:
            args += ["--kb-nonce", kb_nonce]
        if not submit:
            args.append("--no-submit")
        return run_node("wallet-present.mjs", *args, check=check)


def post_authorization_response(response_uri: str, response: dict[str, Any]) -> httpx.Response:
    """POST a response made by `wallet_present(..., submit=False)` (`{response: JWE}` or `{vp_token, state}`)
    to `response_uri` again, as an attacker replaying it would (OpenID4VP 1.0 § 8.2)."""
    form = {key: json.dumps(value) if isinstance(value, dict) else str(value) for key, value in response.items()}
    with httpx.Client(timeout=30) as client:
        return client.post(response_uri, data=form)


@dataclass
class NodeServer:
    """A running node server: its base URL, the JSON line it printed when ready, and an HTTP client."""

    name: str
    base_url: str
    ready: dict[str, Any]
    process: subprocess.Popen[str]
    log_file: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=30.0)

    def post_json(self, path: str, body: dict[str, Any], *, expect: int | None = None) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        if expect is not None and response.status_code != expect:
            raise AssertionError(f"{self.name} POST {path}: {response.status_code} {response.text}")
        return dict(response.json())

    def get_json(self, path: str) -> dict[str, Any]:
        response = self.client.get(path)
        response.raise_for_status()
        return dict(response.json())

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


class NodeIssuer(NodeServer):
    """`issuer-serve.mjs`: an OpenID4VCI 1.0 issuer with `interop_sd_jwt` (dc+sd-jwt) and `interop_ob3_jwt`."""

    SD_JWT = "interop_sd_jwt"
    OB3 = "interop_ob3_jwt"

    @property
    def vct(self) -> str:
        return f"{self.base_url}/vct/microcredential"

    @property
    def did(self) -> str:
        return str(self.ready["did"])

    def offer(self, *, configurations: Sequence[str] | None = None, tx_code: bool | str = False,
              by_value: bool = False, layout: str = "vcdm2.0", claims: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new offer: `{offer_uri, offer_id, pre_authorized_code, tx_code}`."""
        body: dict[str, Any] = {"tx_code": tx_code, "by_value": by_value, "layout": layout, "claims": claims or {}}
        if configurations is not None:
            body["credential_configuration_ids"] = list(configurations)
        return self.post_json("/offers", body, expect=201)

    def set_status(self, offer_id: str, status: str) -> dict[str, Any]:
        """Mark every credential issued for `offer_id` `valid`, `revoked` or `suspended` (SD-JWT VC only)."""
        return self.post_json("/admin/status", {"offer_id": offer_id, "status": status}, expect=200)


class NodeVerifier(NodeServer):
    """`verifier-serve.mjs`: an OpenID4VP 1.0 verifier with DCQL and signed request objects."""

    def request(self, *, credential_format: str = "dc+sd-jwt", vct_values: Sequence[str] | None = None,
                type_values: Sequence[Sequence[str]] | None = None, claims: Sequence[Sequence[str | int | None]] = (),
                dcql_query: dict[str, Any] | None = None, client_id_prefix: str = "x509_hash",
                response_mode: str = "direct_post", request_uri_method: str | None = None,
                trusted_issuers: Sequence[str] | None = None) -> dict[str, Any]:
        """A new presentation request: `{id, request_uri, client_id, nonce, state, dcql_query}`."""
        body: dict[str, Any] = {"format": credential_format, "claims": [list(p) for p in claims],
                                "client_id_prefix": client_id_prefix, "response_mode": response_mode}
        if vct_values is not None:
            body["vct_values"] = list(vct_values)
        if type_values is not None:
            body["type_values"] = [list(alternative) for alternative in type_values]
        if dcql_query is not None:
            body["dcql_query"] = dcql_query
        if request_uri_method is not None:
            body["request_uri_method"] = request_uri_method
        if trusted_issuers is not None:
            body["trusted_issuers"] = list(trusted_issuers)
        return self.post_json("/requests", body, expect=201)

    def result(self, request_id: str) -> dict[str, Any]:
        """`{status: pending|verified|rejected, checks, claims, error?, wallet_posts}`."""
        return self.get_json(f"/results/{request_id}")


def _read_ready_line(process: subprocess.Popen[str], log_file: Path, timeout: float) -> dict[str, Any]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            buffer += process.stdout.read()
            break
        readable, _, _ = select.select([process.stdout], [], [], 0.2)
        if readable:
            line = process.stdout.readline()
            buffer += line
            if line.strip().startswith("{"):
                document = json.loads(line)
                if "error" in document:
                    raise RuntimeError(f"node server failed to start: {document}\n{log_file.read_text()}")
                return dict(document)
    raise RuntimeError(f"node server did not become ready: {buffer}\n{log_file.read_text(errors='replace')}")


@contextmanager
def _node_server(cls: type[NodeServer], program: str, tmp_path: Path) -> Iterator[Any]:
    ensure_node_modules()
    log_file = tmp_path / f"{program}.log"
    with log_file.open("w") as log:
        process = subprocess.Popen([node_executable(), program, "--port", "0"], cwd=INTEROP_DIR,
                                   stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        ready = _read_ready_line(process, log_file, SERVER_START_TIMEOUT)
        server = cls(program, str(ready["base_url"]), ready, process, log_file)
        try:
            yield server
        finally:
            server.client.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def node_issuer(tmp_path: Path) -> Iterator[NodeIssuer]:
    """Run `issuer-serve.mjs` on a free loopback port until the block ends."""
    with _node_server(NodeIssuer, "issuer-serve.mjs", tmp_path) as server:
        yield server


@contextmanager
def node_verifier(tmp_path: Path) -> Iterator[NodeVerifier]:
    """Run `verifier-serve.mjs` on a free loopback port until the block ends."""
    with _node_server(NodeVerifier, "verifier-serve.mjs", tmp_path) as server:
        yield server


def credential_of(received: dict[str, Any], credential_format: str) -> dict[str, Any]:
    """The first credential of `credential_format` in a `wallet_receive` result."""
    for credential in received["credentials"]:
        if credential["format"] == credential_format:
            return dict(credential)
    raise AssertionError(f"no {credential_format} credential in {[c['format'] for c in received['credentials']]}")

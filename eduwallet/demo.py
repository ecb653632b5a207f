"""`eduwallet demo`: the whole story end to end, over real HTTP.

An institution awards a badge (an OpenID4VCI 1.0 credential offer protected by a PIN), a
learner's wallet accepts it, an employer's verifier asks for it (an OpenID4VP 1.0 request with
a DCQL query), the wallet presents it after showing exactly what it shares with whom, and the
verifier's verdict is printed with each named check. The demo uses the services' public APIs
through the same HTTP helpers as `eduwallet issuer|wallet|verifier`, so it does nothing a
user of those commands could not do.

Services that answer `/healthz` at the given URLs are used as they are; when none does, the
demo runs `eduwallet serve --var-dir DIR` (log: `DIR/demo-services.log`) and stops it at the
end. The demo institution, badge class and learner are found by name, so a second run reuses
them; each run makes a new award. Exit code 0 only when the verdict is "verified".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console

from eduwallet.commands import issuer as issuer_cli
from eduwallet.commands import verifier as verifier_cli
from eduwallet.commands import wallet as wallet_cli
from eduwallet.serve import SERVICES

__all__ = ["CredentialFormat", "DemoError", "default_url", "run_demo"]

INSTITUTION = {"name": "Universiteit Voorbeeld (demo)", "homepage": "https://www.example.nl/", "country": "NL"}
BADGE_CLASS: dict[str, Any] = {
    "name": "Web Security (demo)",
    "description": "Secure web applications: threat modelling, the OWASP Top 10 and secure authentication.",
    "criteria_narrative": "Passed the final assignment with at least a 5.5.",
    "ects": 3, "eqf_level": 6, "language": "en",
    "learning_outcomes": ["Explains the OWASP Top 10 risks and how to prevent each of them.",
                          "Builds login, session and password handling that resist common attacks."],
    "result_descriptions": [{"name": "Final grade", "resultType": "Result", "requiredValue": "5.5",
                             "valueMin": "1", "valueMax": "10"}],
    "assessment_type": "testing", "participation_type": "online", "supervision_type": "supervised online",
    "identity_checked": True,
}
LEARNER = {"name": "Ada Lovelace", "email": "ada.lovelace@example.nl", "result": "8"}
#: The demo learner's wallet account (a local development wallet; the token is kept like `wallet login` does).
WALLET_USER, WALLET_PASSWORD = "demo-learner", "demo-learner-password"
LOG_FILE = "demo-services.log"
#: Seconds to wait for services we started, and for the verifier's result.
START_TIMEOUT, RESULT_TIMEOUT = 90.0, 30.0


class CredentialFormat(StrEnum):
    jwt_vc_json = "jwt_vc_json"
    dc_sd_jwt = "dc+sd-jwt"


class DemoError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def default_url(service: str) -> str:
    """Where `eduwallet serve` puts a service: 127.0.0.1 and `EDUWALLET_<SERVICE>_PORT` (or 8001/8002/8003)."""
    known = {s.name: s for s in SERVICES}[service]
    return f"http://127.0.0.1:{os.environ.get(known.env_prefix + 'PORT') or known.port}"


class Story:
    """What happened so far: the JSON document, and (for people) a running commentary."""

    def __init__(self, as_json: bool) -> None:
        self.document: dict[str, Any] = {}
        self.console = None if as_json else Console(highlight=False, soft_wrap=True)
        self.current = "start"

    def say(self, text: str = "", *, markup: bool = False) -> None:
        """A line for people (none with --json); `markup` only for our own Rich styling, never for data."""
        if self.console is not None:
            self.console.print(text, markup=markup)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """One step of the story; the CLI helpers' errors become a `DemoError` naming it."""
        self.current = title
        if self.console is not None:
            self.console.rule(f"[bold]{title}")
        try:
            yield
        except issuer_cli.CommandError as exc:
            raise DemoError(exc.error, exc.description) from exc
        except wallet_cli.CliError as exc:
            raise DemoError(str(exc.body["error"]), str(exc.body["error_description"])) from exc


# -- the services ------------------------------------------------------------------------------

def _healthy(url: str) -> bool:
    try:
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            return client.get(url.rstrip("/") + "/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def demo_services(urls: dict[str, str], var_dir: Path) -> Iterator[bool]:
    """Use the services at `urls` when all answer; else run `eduwallet serve` meanwhile. Yields whether it did."""
    answering = [name for name, url in urls.items() if _healthy(url)]
    if len(answering) == len(urls):
        yield False
        return
    if answering:
        silent = [f"{n} ({urls[n]})" for n in urls if n not in answering]
        raise DemoError("partly_running", f"{', '.join(answering)} answer but {', '.join(silent)} do not: "
                                          "start all three (eduwallet serve) or none")
    env = dict(os.environ)
    for service in SERVICES:
        parts = urlsplit(urls[service.name])
        if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
            raise DemoError("unreachable", f"no {service.name} answers at {urls[service.name]}, and the demo starts "
                                           "services only for loopback URLs with a port")
        env[service.env_prefix + "PORT"] = str(parts.port)
        env[service.env_prefix + "VAR_DIR"] = str(var_dir.resolve())
    var_dir.mkdir(parents=True, exist_ok=True)
    log_path = var_dir / LOG_FILE
    with log_path.open("ab") as log:
        # A session of its own: a Ctrl-C reaches only the demo, which then stops the services once.
        process = subprocess.Popen([sys.executable, "-m", "eduwallet.cli", "serve", "--var-dir", str(var_dir)],
                                   env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        waiting = dict(urls)
        while waiting:
            if process.poll() is not None:
                raise DemoError("start_failed", f"the services stopped (exit code {process.returncode}); "
                                                f"the end of {log_path}:\n{_log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise DemoError("start_failed", f"{', '.join(waiting)} did not answer /healthz within "
                                                f"{START_TIMEOUT:.0f} s; see {log_path}")
            waiting = {name: url for name, url in waiting.items() if not _healthy(url)}
            if waiting:
                time.sleep(0.3)
        yield True
    finally:
        if process.poll() is None:
            process.terminate()  # `eduwallet serve` stops its services on SIGTERM (even where SIGINT is ignored)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- the story ---------------------------------------------------------------------------------

def _find_or_create(client: Any, list_path: str, create_path: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    for item in issuer_cli._call(client, "GET", list_path):
        if item["name"] == body["name"]:
            return item, False
    return issuer_cli._call(client, "POST", create_path, body), True


def _api_token(var_dir: Path, *, service: str, file_name: str) -> str:
    """A service's API token: `EDUWALLET_<SERVICE>_TOKEN`, else the development one it wrote into `var_dir`."""
    variable = f"EDUWALLET_{service.upper()}_TOKEN"
    if os.environ.get(variable):
        return os.environ[variable]
    path = var_dir / file_name
    if not path.is_file():
        raise DemoError("no_token", f"no {service} API token: {path} does not exist (the {service} writes it on its "
                                    f"first start with this var dir); pass --var-dir or set {variable}")
    return path.read_text().strip()


def _award(story: Story, urls: dict[str, str], var_dir: Path, credential_format: str) -> dict[str, Any]:
    with story.step("Issuer: the institution awards a badge"), \
            issuer_cli._client(urls["issuer"], _api_token(var_dir, service="issuer", file_name=issuer_cli.TOKEN_FILE)) as client:
        institution, new = _find_or_create(client, "/admin/institutions", "/admin/institutions", INSTITUTION)
        story.document["institution"] = {"id": institution["id"], "name": institution["name"],
                                         "did": institution["did"], "created": new}
        story.say(f"institution {institution['id']} {'created' if new else 'reused'}: {institution['name']} "
                  f"({institution['did']})")
        badge, new = _find_or_create(client, f"/admin/badge-classes?institution_id={institution['id']}",
                                     "/admin/badge-classes", {"institution_id": institution["id"], **BADGE_CLASS})
        required = badge["result_descriptions"][0].get("requiredValue") if badge["result_descriptions"] else None
        story.document["badge_class"] = {"id": badge["id"], "name": badge["name"], "vct": badge["vct"],
                                         "ects": badge["ects"], "eqf_level": badge["eqf_level"],
                                         "learning_outcomes": badge["learning_outcomes"],
                                         "required_value": required, "created": new}
        story.say(f"badge class {badge['id']} {'created' if new else 'reused'}: {badge['name']} "
                  f"({badge['ects']:g} ECTS, EQF {badge['eqf_level']}, pass mark {required})")
        award = issuer_cli._call(client, "POST", f"/admin/badge-classes/{badge['id']}/awards",
                                 {**LEARNER, "format": credential_format, "pin": True})
    story.document["award"] = {"id": award["id"], "learner": LEARNER["name"], "email": LEARNER["email"],
                               "result": LEARNER["result"], "format": credential_format,
                               "offer_uri": award["offer_uri"], "tx_code": award["tx_code"]}
    story.say(f"award {award['id']}: {badge['name']} for {LEARNER['name']} (grade {LEARNER['result']}, "
              f"{credential_format})")
    if story.console is not None:
        story.say("scan the offer with a wallet, or open the link:")
        verifier_cli._print_terminal_qr(award["offer_uri"])
    story.say(f"offer: {award['offer_uri']}")
    story.say(f"PIN:   {award['tx_code']}")
    # Who the verifier should trust: the institution, by its did:web for OB 3.0 JWTs and by its own
    # https `iss` (keys in its JWT VC Issuer Metadata) for SD-JWT VCs.
    trusted = institution["did"] if credential_format == "jwt_vc_json" else institution["sd_jwt_vc_issuer"]
    return {"badge": badge, "trusted_issuer": trusted}


def _receive(story: Story, wallet: wallet_cli.Wallet) -> dict[str, Any]:
    award = story.document["award"]
    with story.step("Wallet: the learner accepts the offer"):
        try:
            learner_id = wallet.call("POST", "/api/v1/learners", auth=False,
                                     json={"username": WALLET_USER, "password": WALLET_PASSWORD}).json()["id"]
        except wallet_cli.CliError as exc:
            if exc.body.get("status") != 409:  # 409: the learner exists (a second run)
                raise
            learner_id = None
        try:
            wallet.login()
        except wallet_cli.CliError as exc:
            raise DemoError(str(exc.body["error"]), f"cannot log in as the demo learner {WALLET_USER!r}: "
                            f"{exc.body['error_description']} (does another account use that name?)") from exc
        story.document["learner"] = {"username": WALLET_USER, "created": learner_id is not None}
        story.say(f"wallet learner {WALLET_USER} " + (f"created ({learner_id})" if learner_id else "reused"))
        received = wallet.call("POST", "/api/v1/offers",
                               json={"offer": award["offer_uri"], "tx_code": award["tx_code"], "accept": True}).json()
    if not received["credentials"]:
        reasons = "; ".join(f"{r['credential_configuration_id']}: {r['reason']}" for r in received.get("refused", []))
        raise DemoError("credential_refused", f"the wallet stored no credential: {reasons or 'none offered'}")
    credential = received["credentials"][0]
    story.document["credential"] = {k: credential[k] for k in ("id", "format", "name", "issuer")}
    story.say(f"received {credential['name']} from {credential['issuer']} ({credential['format']}, "
              f"id {credential['id']}), PIN accepted")
    return credential


def _request_body(badge: dict[str, Any], credential_format: str, trusted_issuer: str) -> dict[str, Any]:
    if credential_format == "jwt_vc_json":
        return {"preset": "ob3", "achievement": badge["name"], "trusted_issuers": [trusted_issuer]}
    return {"preset": "sd-jwt", "vct_values": [badge["vct"]], "claims": ["achievement.name", "result"],
            "trusted_issuers": [trusted_issuer]}


def _present(story: Story, wallet: wallet_cli.Wallet, request: dict[str, Any], credential_id: str) -> None:
    with story.step("Wallet: the learner consents and presents"):
        consent = wallet.call("POST", "/api/v1/presentations", json={"request": request["request_uri"]}).json()
        chosen = [(r, o) for r in consent["requests"] for o in r["options"] if o["credential_id"] == credential_id]
        if not consent["satisfiable"] or not chosen:
            wallet.call("POST", f"/api/v1/presentations/{consent['id']}/decline")
            raise DemoError("access_denied", "the wallet does not offer the new credential for this request; "
                                             "declined: " + "; ".join(consent["missing"]))
        query, option = chosen[0]
        # Exactly what goes to whom, as `eduwallet wallet present` shows it before asking.
        story.say(wallet_cli._describe_consent({**consent, "requests": [{**query, "options": [option]}]}))
        story.say("consent given (--yes)")
        sent = wallet.call("POST", f"/api/v1/presentations/{consent['id']}/confirm",
                           json={"credentials": {query["query_id"]: [credential_id]}}).json()
    story.document["presentation"] = {"verifier": consent["verifier"]["client_id"],
                                      "response_host": consent["verifier"]["response_host"],
                                      "credential_id": credential_id, "disclosed": option["disclosed"],
                                      "always_shared": option["always_shared"]}
    story.say(f"sent to {sent['verifier']}")


def _verdict(story: Story, verifier_url: str, token: str, request_id: str, as_json: bool) -> dict[str, Any]:
    with story.step("Verifier: the employer sees the verdict"):
        deadline = time.monotonic() + RESULT_TIMEOUT
        while True:
            result = verifier_cli._call(verifier_url, "GET", f"/api/presentation-requests/{request_id}",
                                        as_json=as_json, token=token)
            if result["status"] != "pending":
                break
            if time.monotonic() > deadline:
                raise DemoError("timeout", f"request {request_id} is still pending after {RESULT_TIMEOUT:.0f} s")
            time.sleep(0.5)
    verdict = result.get("verdict", result["status"])
    story.document.update(verdict=verdict, checks=result.get("checks", {}), summary=result.get("summary"))
    if result.get("error"):
        story.document["verifier_error"] = result["error"]
    if story.console is not None:
        colour = "green" if verdict == "verified" else "red"
        story.say(f"verdict: [bold {colour}]{verdict}[/]", markup=True)
        for label, value in (result.get("summary") or {}).items():
            if value not in (None, [], ""):
                story.say(f"  {label}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
        for name, check in result.get("checks", {}).items():
            colour = {"passed": "green", "skipped": "yellow"}.get(check.get("outcome"), "red")
            story.say(f"  [{colour}]{check.get('outcome')}[/] {name}", markup=True)
            if check.get("reason"):
                story.say(f"      {check['reason']}")
    return result


def run_demo(*, urls: dict[str, str], var_dir: Path, credential_format: str, as_json: bool) -> int:
    """Tell the whole story; returns the exit code (0 only when the verifier says "verified")."""
    story = Story(as_json)
    try:
        with story.step("Services"), demo_services(urls, var_dir) as started:
            story.document["services"] = {**urls, "started_by_demo": started, "var_dir": str(var_dir)}
            story.say(("started " if started else "using the running ")
                      + ", ".join(f"{name} {url}" for name, url in urls.items())
                      + (f" (log: {var_dir / LOG_FILE})" if started else ""))
            issued = _award(story, urls, var_dir, credential_format)
            wallet = wallet_cli.Wallet(urls["wallet"], WALLET_USER, WALLET_PASSWORD)
            credential = _receive(story, wallet)
            with story.step("Verifier: the employer asks for the badge"):
                verifier_token = _api_token(var_dir, service="verifier", file_name=verifier_cli.KEY_FILE)
                body = _request_body(issued["badge"], credential_format, issued["trusted_issuer"])
                request = verifier_cli._call(urls["verifier"], "POST", "/api/presentation-requests", json=body,
                                             as_json=as_json, token=verifier_token)
            story.document["request"] = {"id": request["id"], "request_uri": request["request_uri"],
                                         "client_id": request["client_id"], "query": body}
            story.say(f"request {request['id']}: {_describe_request(body)}, trusting {issued['trusted_issuer']}")
            story.say(f"request: {request['request_uri']}")
            _present(story, wallet, request, credential["id"])
            result = _verdict(story, urls["verifier"], verifier_token, request["id"], as_json)
            if started:
                story.current = "Services"
                story.say("stopping the services")
    except DemoError as exc:
        if as_json:
            print(json.dumps({"error": exc.error, "error_description": exc.description, "step": story.current,
                              "story": story.document}, ensure_ascii=False))
        else:
            print(f"error in {story.current!r}: {exc.error}: {exc.description}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(story.document, ensure_ascii=False))
    return 0 if result.get("verdict") == "verified" else 1


def _describe_request(body: dict[str, Any]) -> str:
    if body["preset"] == "ob3":
        return f"an Open Badge for achievement {body['achievement']!r}"
    return f"an SD-JWT VC of type {body['vct_values'][0]} with {', '.join(body['claims'])}"

"""`eduwallet wallet ...`: talks to the running wallet over HTTP.

    eduwallet wallet user create --username U --password P --json
    eduwallet wallet login --user U --password P
    eduwallet wallet accept OFFER_URI --user U [--tx-code CODE] --json
    eduwallet wallet list --user U [--query WORDS] --json
    eduwallet wallet present REQUEST_URI --user U --yes [--disclose PATH ...] --json
    eduwallet wallet export ID --user U [--png FILE | --json]
    eduwallet wallet backup --user U --passphrase P --out FILE / restore FILE --user U --passphrase P

The bearer token of each user is kept in `$EDUWALLET_HOME/wallet-tokens.json` (default
`~/.eduwallet`, mode 0600) after `user create` or `login`; with `--password` (or
`EDUWALLET_WALLET_PASSWORD`) any command logs in again when the token has expired.
With `--json` every command prints exactly one JSON document on stdout, errors included.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

app = typer.Typer(name="wallet", help="Commands for the wallet service (over HTTP).", no_args_is_help=True)
user_app = typer.Typer(name="user", help="Learner accounts.", no_args_is_help=True)
app.add_typer(user_app)

DEFAULT_URL = "http://127.0.0.1:8002"

UrlOption = Annotated[str, typer.Option("--url", envvar="EDUWALLET_WALLET_URL", help="The wallet's base URL.")]
UserOption = Annotated[str, typer.Option("--user", "-u", help="The learner's username.")]
PasswordOption = Annotated[str | None, typer.Option("--password", envvar="EDUWALLET_WALLET_PASSWORD",
                                                    help="Log in again with it when no valid token is kept.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


class CliError(Exception):
    def __init__(self, error: str, description: str, status: int | None = None) -> None:
        super().__init__(description)
        self.body = {"error": error, "error_description": description}
        if status is not None:
            self.body["status"] = status  # type: ignore[assignment]


def _fail(exc: CliError, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps(exc.body))
    else:
        typer.echo(f"error: {exc.body['error_description']} ({exc.body['error']})", err=True)
    raise typer.Exit(1)


def _emit(document: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(document, indent=2) if as_json else text)


# -- tokens ------------------------------------------------------------------------------------

def _token_file() -> Path:
    return Path(os.environ.get("EDUWALLET_HOME") or Path.home() / ".eduwallet") / "wallet-tokens.json"


def _tokens() -> dict[str, str]:
    path = _token_file()
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_token(url: str, user: str, token: str) -> None:
    path = _token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = {**_tokens(), f"{url.rstrip('/')} {user}": token}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(tokens, handle)


class Wallet:
    """The wallet's learner API, as one user."""

    def __init__(self, url: str, user: str | None = None, password: str | None = None) -> None:
        self.url, self.user, self.password = url.rstrip("/"), user, password
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def call(self, method: str, path: str, *, auth: bool = True, retry: bool = True, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if auth:
            token = _tokens().get(f"{self.url} {self.user}")
            if token is None and self.password:
                token = self.login()
            if token is None:
                raise CliError("invalid_token", f"log in first: eduwallet wallet login --user {self.user}")
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError("unreachable", f"the wallet at {self.url} cannot be reached: {exc}") from exc
        if response.status_code == 401 and auth and retry and self.password:
            self.login()
            return self.call(method, path, retry=False, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                raise CliError(body.get("error", "error"), body.get("error_description") or response.reason_phrase,
                               response.status_code)
            except ValueError:
                raise CliError("error", f"HTTP {response.status_code}", response.status_code) from None
        return response

    def login(self) -> str:
        body = {"username": self.user, "password": self.password}
        token = self.call("POST", "/api/v1/token", auth=False, json=body).json()["access_token"]
        _save_token(self.url, self.user or "", token)
        return str(token)


def _parse_path(text: str) -> list[str | int]:
    """`achievement.name`, `learning_outcomes.0` or a JSON array as a claims path."""
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise typer.BadParameter(f"not a JSON array: {text}") from None
        if not isinstance(value, list) or not value:
            raise typer.BadParameter(f"a claims path is a non-empty array: {text}")
        return value
    return [int(part) if part.isdigit() else part for part in text.split(".") if part]


# -- commands ----------------------------------------------------------------------------------

@user_app.command("create")
def user_create(username: Annotated[str, typer.Option(help="3-64 letters, digits or . _ @ + -")],
                password: Annotated[str, typer.Option(help="At least 8 characters.")],
                locale: Annotated[str, typer.Option(help="Language to show credentials in.")] = "en",
                url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Register a learner (and keep a token for the next commands)."""
    wallet = Wallet(url, username, password)
    try:
        created = wallet.call("POST", "/api/v1/learners", auth=False,
                              json={"username": username, "password": password, "locale": locale}).json()
        wallet.login()
    except CliError as exc:
        _fail(exc, as_json)
    _emit(created, as_json, f"created learner {created['username']} ({created['id']})")


@app.command()
def login(user: UserOption, password: Annotated[str, typer.Option(envvar="EDUWALLET_WALLET_PASSWORD")],
          url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Log in and keep the token."""
    try:
        Wallet(url, user, password).login()
    except CliError as exc:
        _fail(exc, as_json)
    _emit({"user": user, "logged_in": True}, as_json, f"logged in as {user}")


@app.command()
def accept(offer_uri: Annotated[str, typer.Argument(help="openid-credential-offer://... or an https link")],
           user: UserOption, tx_code: Annotated[str | None, typer.Option("--tx-code", help="The code the issuer sent you.")] = None,
           password: PasswordOption = None, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Accept a credential offer: receive, check and store its credentials."""
    try:
        result = Wallet(url, user, password).call(
            "POST", "/api/v1/offers", json={"offer": offer_uri, "tx_code": tx_code, "accept": True}).json()
    except CliError as exc:
        _fail(exc, as_json)
    document: dict[str, Any] = {"credentials": [{k: c[k] for k in ("id", "format", "name", "issuer")}
                                                for c in result["credentials"]]}
    if result.get("refused"):
        document["refused"] = result["refused"]
    lines = [f"received {c['name']} from {c['issuer']} ({c['format']}, id {c['id']})" for c in result["credentials"]]
    lines += [f"refused {r['credential_configuration_id']}: {r['reason']}" for r in result.get("refused", [])]
    _emit(document, as_json, "\n".join(lines))


@app.command("list")
def list_(user: UserOption, query: Annotated[str | None, typer.Option("--query", "-q", help="Words to search for.")] = None,
          limit: Annotated[int, typer.Option(min=1, max=500)] = 100, password: PasswordOption = None,
          url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """The learner's credentials."""
    params: dict[str, Any] = {"limit": limit}
    if query:
        params["q"] = query
    try:
        result = Wallet(url, user, password).call("GET", "/api/v1/credentials", params=params).json()
    except CliError as exc:
        _fail(exc, as_json)
    lines = [f"{c['id']}  {c['status']:8s}  {c['name']}  ({c['issuer']['name']}, {c['format']})" for c in result["data"]]
    _emit(result, as_json, "\n".join(lines) or "no credentials")


def _describe_consent(consent: dict[str, Any]) -> str:
    verifier = consent["verifier"]
    who = verifier.get("name") or verifier["client_id"]
    lines = [f"{who} ({verifier['client_id']}, answers go to {verifier['response_host']}) asks for:"]
    for request in consent["requests"]:
        option = request["options"][0]
        lines.append(f"  {option['name']} from {option['issuer']}:")
        lines += [f"    share {'.'.join(map(str, d['path']))} = {json.dumps(d['value'])}" for d in option["disclosed"]]
        lines.append(f"    and, always part of this credential: "
                     f"{', '.join('.'.join(map(str, a['path'])) for a in option['always_shared'])}")
    return "\n".join(lines)


@app.command()
def present(request_uri: Annotated[str, typer.Argument(help="openid4vp://...")], user: UserOption,
            yes: Annotated[bool, typer.Option("--yes", help="Consent without asking (scripts).")] = False,
            disclose: Annotated[list[str] | None, typer.Option(
                "--disclose", help="Share only requested claims within this path (repeatable): grade, a.b, or JSON.")] = None,
            password: PasswordOption = None, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Answer a presentation request, after consent. With --json and without --yes, only show what would be shared."""
    wallet = Wallet(url, user, password)
    try:
        consent = wallet.call("POST", "/api/v1/presentations", json={"request": request_uri}).json()
        if not consent["satisfiable"]:
            wallet.call("POST", f"/api/v1/presentations/{consent['id']}/decline")
            raise CliError("access_denied", "no credential answers this request; it was declined: "
                           + "; ".join(consent["missing"]))
        if not yes:
            if as_json:
                _emit(consent, True, "")
                return
            typer.echo(_describe_consent(consent))
            if not typer.confirm("Share this?"):
                result = wallet.call("POST", f"/api/v1/presentations/{consent['id']}/decline").json()
                _emit(result, False, "declined")
                return
        body = {"disclose": [_parse_path(p) for p in disclose]} if disclose else {}
        result = wallet.call("POST", f"/api/v1/presentations/{consent['id']}/confirm", json=body).json()
    except CliError as exc:
        _fail(exc, as_json)
    shared = "; ".join(f"{d['name']}: {', '.join('.'.join(map(str, p)) for p in d['disclosed']) or 'no optional claims'}"
                       for d in result["disclosed"])
    text = f"sent to {result['verifier']} ({shared})"
    if result.get("redirect_uri"):
        text += f"\ncontinue at {result['redirect_uri']}"
    _emit(result, as_json, text)


@app.command()
def export(credential_id: Annotated[str, typer.Argument(help="The credential id (see `list`).")], user: UserOption,
           png: Annotated[Path | None, typer.Option("--png", help="Write the badge image with the credential baked in.")] = None,
           password: PasswordOption = None, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Print the credential as issued (JWT), as OB3 JSON (--json), or bake it into a PNG (--png FILE)."""
    if png is not None and as_json:
        raise typer.BadParameter("use either --png or --json")
    kind = "png" if png is not None else "json" if as_json else "jwt"
    try:
        response = Wallet(url, user, password).call("GET", f"/api/v1/credentials/{credential_id}/export",
                                                    params={"as": kind})
    except CliError as exc:
        _fail(exc, as_json)
    if png is not None:
        png.write_bytes(response.content)
        typer.echo(f"wrote {png}")
    elif as_json:
        typer.echo(json.dumps(response.json(), indent=2))
    else:
        sys.stdout.write(response.text + "\n")


@app.command()
def backup(user: UserOption, passphrase: Annotated[str, typer.Option(help="Encrypts the backup; at least 8 characters.")],
           out: Annotated[Path, typer.Option("--out", help="Where to write the backup file.")],
           password: PasswordOption = None, url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Write an encrypted backup of the whole wallet."""
    try:
        document = Wallet(url, user, password).call("POST", "/api/v1/backup", json={"passphrase": passphrase}).json()
    except CliError as exc:
        _fail(exc, as_json)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)
    _emit({"file": str(out)}, as_json, f"wrote {out}")


@app.command()
def restore(file: Annotated[Path, typer.Argument(help="A backup written by `backup`.")], user: UserOption,
            passphrase: Annotated[str, typer.Option()], password: PasswordOption = None,
            url: UrlOption = DEFAULT_URL, as_json: JsonOption = False) -> None:
    """Add a backup's credentials and history to the wallet."""
    try:
        document = json.loads(file.read_text())
        result = Wallet(url, user, password).call("POST", "/api/v1/backup/restore",
                                                  json={"passphrase": passphrase, "backup": document}).json()
    except ValueError:
        _fail(CliError("invalid_request", f"{file} is not a backup file"), as_json)
    except CliError as exc:
        _fail(exc, as_json)
    _emit(result, as_json, f"restored {result['credentials']} credentials and {result['history']} history entries")

"""`eduwallet verifier ...`: talks to the running verifier over HTTP.

    eduwallet verifier request [--preset ob3|sd-jwt] [--achievement NAME] [--claims PATH,...]
                               [--trusted-issuer ID ...] [--dcql FILE] --json  -> {"id", "request_uri", "qr_png_url", ...}
    eduwallet verifier result ID --json    -> {"status", "checks", "claims", ...}
    eduwallet verifier verify FILE --json  -> the standalone check report
    eduwallet verifier api-key create --name NAME [--admin] --json  -> {"id", "name", "key", ...}
    eduwallet verifier api-key list | revoke ID

`request`, `result` and `api-key` need an API key: `--token`, else `EDUWALLET_VERIFIER_TOKEN`, else the
development admin key the verifier writes on its first start to `<var>/verifier-api.key` (`<var>` is
`EDUWALLET_VERIFIER_VAR_DIR` or `./var`). `verify` (the standalone check) needs none.
With `--json` exactly one JSON document goes to stdout (an error too, as `{"error", ...}`,
with a non-zero exit code).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

app = typer.Typer(name="verifier", help="Commands for the verifier service (over HTTP).", no_args_is_help=True)
api_key_app = typer.Typer(name="api-key", help="API keys of the verifier's API (admin keys only).",
                          no_args_is_help=True)
app.add_typer(api_key_app)

DEFAULT_URL = "http://127.0.0.1:8003"
#: What the verifier writes into its var dir on first start (`verifier.api_keys.KEY_FILE_NAME`).
KEY_FILE = "verifier-api.key"
UrlOption = Annotated[str, typer.Option("--url", envvar="EDUWALLET_VERIFIER_URL", help="The running verifier.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]
TokenOption = Annotated[str | None, typer.Option("--token", help="API key (default: EDUWALLET_VERIFIER_TOKEN or "
                                                 "var/verifier-api.key).", show_default=False)]


def _fail(message: str, *, as_json: bool, code: int = 1, body: dict[str, Any] | None = None) -> NoReturn:
    if as_json:
        print(json.dumps(body or {"error": "cli_error", "error_description": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def find_api_key(token: str | None) -> str | None:
    """`--token`, else `EDUWALLET_VERIFIER_TOKEN`, else the key file in `EDUWALLET_VERIFIER_VAR_DIR` or `./var`."""
    if token:
        return token
    if os.environ.get("EDUWALLET_VERIFIER_TOKEN"):
        return os.environ["EDUWALLET_VERIFIER_TOKEN"]
    path = key_file()
    return path.read_text().strip() if path.is_file() else None


def key_file() -> Path:
    return Path(os.environ.get("EDUWALLET_VERIFIER_VAR_DIR", "var")) / KEY_FILE


def _api_key(token: str | None, *, as_json: bool) -> str:
    key = find_api_key(token)
    if key is None:
        message = (f"no API key: pass --token, set EDUWALLET_VERIFIER_TOKEN, or start the verifier once with "
                   f"`eduwallet serve` so it writes {key_file()}")
        _fail(message, as_json=as_json, body={"error": "no_token", "error_description": message})
    return key


def _call(url: str, method: str, path: str, *, as_json: bool, token: str | None = None,
          **kwargs: Any) -> dict[str, Any]:
    """One request; `token` (an API key) goes in `Authorization: Bearer`. Errors end the command."""
    if token is not None:
        kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=30.0, trust_env=False) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the verifier at {url}: {exc}", as_json=as_json, code=2)
    if response.status_code == 204:
        return {}
    try:
        body = response.json()
    except ValueError:
        _fail(f"the verifier answered HTTP {response.status_code} without JSON", as_json=as_json)
    if response.status_code >= 400:
        description = body.get("error_description", body.get("error", "")) if isinstance(body, dict) else ""
        _fail(f"HTTP {response.status_code}: {description}", as_json=as_json,
              body=body if isinstance(body, dict) else None)
    return body  # type: ignore[no-any-return]


def _show_checks(checks: dict[str, Any]) -> None:
    for name, check in checks.items():
        reason = f" ({check['reason']})" if check.get("reason") else ""
        print(f"  {check.get('outcome', '?'):8s} {name}{reason}")


@app.command("request")
def request(
    preset: Annotated[str | None, typer.Option(help="ob3 (an Open Badge) or sd-jwt (an SD-JWT VC).")] = None,
    achievement: Annotated[str | None, typer.Option(help="ob3: the achievement name asked for.")] = None,
    claims: Annotated[str | None, typer.Option(help="Claim paths, comma-separated (a.b, list.*).")] = None,
    vct: Annotated[list[str] | None, typer.Option(help="sd-jwt: accepted vct values (repeatable).")] = None,
    trusted_issuer: Annotated[list[str] | None, typer.Option(help="A trusted issuer DID or URL (repeatable).")] = None,
    dcql: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A DCQL query JSON file.")] = None,
    client_id_prefix: Annotated[str | None, typer.Option(
        help="x509_hash, x509_san_dns, decentralized_identifier or redirect_uri.")] = None,
    response_mode: Annotated[str | None, typer.Option(help="direct_post or direct_post.jwt.")] = None,
    webhook: Annotated[str | None, typer.Option(help="POST the result here when answered.")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a presentation request (preset or DCQL file); prints its openid4vp:// URI and QR URL."""
    body: dict[str, Any] = {}
    if dcql is not None:
        if preset or achievement or claims or vct:
            _fail("--dcql replaces --preset, --achievement, --claims and --vct", as_json=as_json)
        try:
            body["dcql_query"] = json.loads(dcql.read_text(encoding="utf-8"))
        except ValueError:
            _fail(f"{dcql} is not JSON", as_json=as_json)
    else:
        body["preset"] = preset or ("sd-jwt" if vct else "ob3")
        if achievement:
            body["achievement"] = achievement
        if claims:
            body["claims"] = [c.strip() for c in claims.split(",") if c.strip()]
        if vct:
            body["vct_values"] = vct
    for key, value in (("trusted_issuers", trusted_issuer), ("client_id_prefix", client_id_prefix),
                       ("response_mode", response_mode), ("webhook_url", webhook)):
        if value:
            body[key] = value
    created = _call(url, "POST", "/api/presentation-requests", json=body, as_json=as_json,
                    token=_api_key(token, as_json=as_json))
    if as_json:
        print(json.dumps(created))
        return
    print(f"request {created['id']} (expires {created['expires_at']})")
    print(created["request_uri"])
    print(f"QR code: {created['qr_png_url']}")
    _print_terminal_qr(created["request_uri"])


def _print_terminal_qr(data: str) -> None:
    import qrcode

    code = qrcode.QRCode(border=2)
    code.add_data(data)
    code.make(fit=True)
    code.print_ascii(invert=True)


@app.command("result")
def result(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request id.")],
    response_code: Annotated[str | None, typer.Option(help="Same-device flow: the response_code.")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The status of a request and, once answered, the verdict, each check and the disclosed claims."""
    params = {"response_code": response_code} if response_code else {}
    body = _call(url, "GET", f"/api/presentation-requests/{request_id}", params=params, as_json=as_json,
                 token=_api_key(token, as_json=as_json))
    if as_json:
        print(json.dumps(body))
        return
    print(f"{body['status']}" + (f" ({body['error']})" if body.get("error") else ""))
    summary = body.get("summary") or {}
    for label in ("badge", "learner", "result", "criteria", "passed"):
        if summary.get(label) not in (None, [], ""):
            print(f"  {label}: {summary[label]}")
    _show_checks(body.get("checks", {}))


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="VC-JWT, JSON, baked PNG/SVG or SD-JWT.")],
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
) -> None:
    """Check a credential file with every named check (the standalone check)."""
    report = _call(url, "POST", "/api/check", content=file.read_bytes(),
                   headers={"Content-Type": "application/octet-stream"}, as_json=as_json)
    if as_json:
        print(json.dumps(report))
    else:
        print("valid" if report.get("verified") else "NOT valid", f"({report.get('format')})")
        _show_checks(report.get("checks", {}))
    if not report.get("verified"):
        raise typer.Exit(1)


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Option(help="Who the key is for (unique).")],
    admin: Annotated[bool, typer.Option("--admin", help="May manage keys and the trusted-issuer list.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an API key; the key is printed once (the verifier keeps only its hash)."""
    made = _call(url, "POST", "/api/api-keys", json={"name": name, "admin": admin}, as_json=as_json,
                 token=_api_key(token, as_json=as_json))
    if as_json:
        print(json.dumps(made))
        return
    print(f"API key {made['id']} ({made['name']}{', admin' if made['admin'] else ''}); it is not shown again:")
    print(made["key"])


@api_key_app.command("list")
def api_key_list(url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Every API key (id, name, admin, made, revoked); never the keys themselves."""
    listed = _call(url, "GET", "/api/api-keys", as_json=as_json, token=_api_key(token, as_json=as_json))
    if as_json:
        print(json.dumps(listed))
        return
    for key in listed["data"]:
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
        print(f"{key['id']}  {key['name']}{' (admin)' if key['admin'] else ''}  {state}")


@api_key_app.command("revoke")
def api_key_revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (from `api-key list`).")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key: the verifier refuses it from the next request on."""
    _call(url, "DELETE", f"/api/api-keys/{key_id}", as_json=as_json, token=_api_key(token, as_json=as_json))
    if as_json:
        print(json.dumps({"id": key_id, "revoked": True}))
    else:
        print(f"API key {key_id} revoked")

"""`eduwallet verifier ...`: talks to the running verifier over HTTP.

    eduwallet verifier request [--preset ob3|sd-jwt] [--achievement NAME] [--claims PATH,...]
                               [--trusted-issuer ID ...] [--dcql FILE] --json  -> {"id", "request_uri", "qr_png_url", ...}
    eduwallet verifier result ID --json    -> {"status", "checks", "claims", ...}
    eduwallet verifier verify FILE --json  -> the standalone check report

With `--json` exactly one JSON document goes to stdout (an error too, as `{"error", ...}`,
with a non-zero exit code).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

app = typer.Typer(name="verifier", help="Commands for the verifier service (over HTTP).", no_args_is_help=True)

DEFAULT_URL = "http://127.0.0.1:8003"
UrlOption = Annotated[str, typer.Option("--url", envvar="EDUWALLET_VERIFIER_URL", help="The running verifier.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


def _fail(message: str, *, as_json: bool, code: int = 1, body: dict[str, Any] | None = None) -> NoReturn:
    if as_json:
        print(json.dumps(body or {"error": "cli_error", "error_description": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _call(url: str, method: str, path: str, *, as_json: bool, **kwargs: Any) -> dict[str, Any]:
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=30.0, trust_env=False) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the verifier at {url}: {exc}", as_json=as_json, code=2)
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
    created = _call(url, "POST", "/api/presentation-requests", json=body, as_json=as_json)
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
    as_json: JsonOption = False,
) -> None:
    """The status of a request and, once answered, the verdict, each check and the disclosed claims."""
    params = {"response_code": response_code} if response_code else {}
    body = _call(url, "GET", f"/api/presentation-requests/{request_id}", params=params, as_json=as_json)
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

"""`eduwallet issuer ...`: talks to the running issuer's admin API over HTTP.

The issuer is found at `--url` (default: where `eduwallet serve` starts it). The API token is
`--token`, else `EDUWALLET_ISSUER_TOKEN`, else the development admin token that the issuer
writes on its first start to `<var>/issuer-admin.token` (`<var>` is `EDUWALLET_ISSUER_VAR_DIR`
or `./var`). With `--json` every command prints exactly one JSON document on stdout (an error
too, as `{"error", "error_description"}`, with exit code 1); progress goes to stderr.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["app"]

app = typer.Typer(name="issuer", help="Commands for the issuer service (over HTTP).", no_args_is_help=True)
institution_app = typer.Typer(name="institution", help="Institutions.", no_args_is_help=True)
badge_app = typer.Typer(name="badge", help="Badge classes.", no_args_is_help=True)
app.add_typer(institution_app)
app.add_typer(badge_app)

DEFAULT_URL = "http://127.0.0.1:8001"
TOKEN_FILE = "issuer-admin.token"
#: Rows per bulk request (the API takes at most 1000).
BULK_CHUNK = 500

Url = Annotated[str, typer.Option("--url", envvar="EDUWALLET_ISSUER_URL", help="The issuer's base URL.")]
Token = Annotated[str | None, typer.Option("--token", help="API token (default: EDUWALLET_ISSUER_TOKEN or "
                                           "var/issuer-admin.token).", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

err = Console(stderr=True)
out = Console()


class CommandError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _token(token: str | None) -> str:
    if token:
        return token
    if os.environ.get("EDUWALLET_ISSUER_TOKEN"):
        return os.environ["EDUWALLET_ISSUER_TOKEN"]
    path = Path(os.environ.get("EDUWALLET_ISSUER_VAR_DIR", "var")) / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    raise CommandError("no_token", f"no API token: pass --token, set EDUWALLET_ISSUER_TOKEN, or start the issuer "
                                   f"once with `eduwallet serve` so it writes {path}")


def _client(url: str, token: str | None) -> httpx.Client:
    return httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {_token(token)}"}, timeout=120)


def _call(client: httpx.Client, method: str, path: str, body: Any = None,
          params: dict[str, Any] | None = None) -> Any:
    try:
        response = client.request(method, path, json=body, params=params)
    except httpx.HTTPError as exc:
        raise CommandError("connection_failed", f"cannot reach the issuer at {client.base_url}: {exc}") from exc
    if response.status_code >= 400:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        raise CommandError(str(answer.get("error", f"http_{response.status_code}")),
                           str(answer.get("error_description", response.reason_phrase)))
    return response.json()


def _fail(exc: CommandError, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps({"error": exc.error, "error_description": exc.description}))
    else:
        err.print(f"[red]error[/red] {exc.error}: {exc.description}")
    raise typer.Exit(1)


def _emit(document: dict[str, Any], as_json: bool, human: str) -> None:
    if as_json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        out.print(human)


@institution_app.command("create")
def institution_create(
    name: Annotated[str, typer.Option(help="The institution's name.")],
    homepage: Annotated[str | None, typer.Option(help="Homepage URL.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 code, e.g. NL.")] = None,
    signing_alg: Annotated[str, typer.Option(help="ES256 (default) or RS256.")] = "ES256",
    url: Url = DEFAULT_URL, token: Token = None, as_json: Json = False,
) -> None:
    """Create an institution (with its did:web and first signing key)."""
    body = {"name": name, "homepage": homepage, "country": country, "signing_alg": signing_alg}
    try:
        with _client(url, token) as client:
            made = _call(client, "POST", "/admin/institutions", {k: v for k, v in body.items() if v is not None})
    except CommandError as exc:
        _fail(exc, as_json)
    # Whom verifiers trust for this institution: its did:web (Open Badges) and its SD-JWT VC `iss`.
    _emit({"id": made["id"], "did": made["did"], "sd_jwt_vc_issuer": made["sd_jwt_vc_issuer"]}, as_json,
          f"institution {made['id']}: {made['did']}\nSD-JWT VC issuer: {made['sd_jwt_vc_issuer']}")


@badge_app.command("create")
def badge_create(
    institution: Annotated[int, typer.Option(help="Institution id.")],
    name: Annotated[str, typer.Option(help="The badge's name.")],
    description: Annotated[str | None, typer.Option(help="What the badge stands for.")] = None,
    criteria: Annotated[str | None, typer.Option(help="Criteria narrative.")] = None,
    ects: Annotated[float | None, typer.Option(help="Study load in ECTS credits (multiples of 0.5).")] = None,
    eqf: Annotated[int | None, typer.Option(help="EQF level 1-8.")] = None,
    issuer: Annotated[int | None, typer.Option(help="Issuer (faculty) id; default: the institution's first.")] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: Json = False,
) -> None:
    """Create a badge class."""
    body = {"institution_id": institution, "issuer_id": issuer, "name": name, "description": description,
            "criteria_narrative": criteria, "ects": ects, "eqf_level": eqf}
    try:
        with _client(url, token) as client:
            made = _call(client, "POST", "/admin/badge-classes", {k: v for k, v in body.items() if v is not None})
    except CommandError as exc:
        _fail(exc, as_json)
    _emit({"id": made["id"]}, as_json, f"badge class {made['id']}: {made['name']}")


@app.command("award")
def award(
    badge: Annotated[int, typer.Option(help="Badge class id.")],
    name: Annotated[str, typer.Option(help="The learner's name.")],
    email: Annotated[str, typer.Option(help="The learner's e-mail address.")],
    eduid: Annotated[str | None, typer.Option(help="The learner's eduID identifier.")] = None,
    result: Annotated[str | None, typer.Option(help="The learner's result (grade).")] = None,
    credential_format: Annotated[str, typer.Option("--format", help="jwt_vc_json or dc+sd-jwt.")] = "jwt_vc_json",
    pin: Annotated[bool, typer.Option("--pin", help="Protect the offer with a PIN (tx_code).")] = False,
    url: Url = DEFAULT_URL, token: Token = None, as_json: Json = False,
) -> None:
    """Award a badge class to one learner: prints the offer URI (for a QR code or link) and the PIN."""
    body = {"name": name, "email": email, "eduid": eduid, "result": result, "format": credential_format, "pin": pin}
    try:
        with _client(url, token) as client:
            made = _call(client, "POST", f"/admin/badge-classes/{badge}/awards",
                         {k: v for k, v in body.items() if v is not None})
    except CommandError as exc:
        _fail(exc, as_json)
    document = {"award_id": made["id"], "offer_uri": made["offer_uri"], "tx_code": made["tx_code"],
                "qr_png_url": made["qr_png_url"]}
    human = f"award {made['id']}\noffer: {made['offer_uri']}\nQR:    {made['qr_png_url']}"
    if made["tx_code"]:
        human += f"\nPIN:   {made['tx_code']}"
    _emit(document, as_json, human)


@app.command("awards")
def find_awards(
    learner: Annotated[str | None, typer.Option(help="Part of the learner's e-mail address, name or eduID.")] = None,
    status: Annotated[str | None, typer.Option(help="valid, suspended or revoked.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 100,
    url: Url = DEFAULT_URL, token: Token = None, as_json: Json = False,
) -> None:
    """Find awards by learner across the badge classes your token may see, e.g. to revoke one."""
    params = {"q": learner, "status": status, "limit": limit}
    try:
        with _client(url, token) as client:
            found = _call(client, "GET", "/admin/awards", params={k: v for k, v in params.items() if v is not None})
    except CommandError as exc:
        _fail(exc, as_json)
    document = {"awards": [{"award_id": a["id"], "badge_class_id": a["badge_class_id"], "learner": a["learner_name"],
                            "email": a["learner_email"], "status": a["status"]} for a in found]}
    human = "\n".join(f"award {a['id']}  {a['status']:<9}  {a['learner_name']} <{a['learner_email']}>  "
                      f"badge class {a['badge_class_id']}" for a in found) or "no award matches"
    _emit(document, as_json, human)


def _status_command(action: str) -> None:
    def command(award_id: Annotated[int, typer.Argument(help="Award id.")], url: Url = DEFAULT_URL,
                token: Token = None, as_json: Json = False) -> None:
        try:
            with _client(url, token) as client:
                changed = _call(client, "POST", f"/admin/awards/{award_id}/{action}")
        except CommandError as exc:
            _fail(exc, as_json)
        _emit({"award_id": changed["id"], "status": changed["status"]}, as_json,
              f"award {changed['id']} is {changed['status']}")

    command.__doc__ = {"revoke": "Revoke an award (final).", "suspend": "Suspend an award.",
                       "unsuspend": "Lift an award's suspension."}[action]
    app.command(action)(command)


for _action in ("revoke", "suspend", "unsuspend"):
    _status_command(_action)


def read_award_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a bulk-award CSV (header `name,email[,eduid][,result]`), with their line numbers."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = {f.strip().lower() for f in reader.fieldnames or ()}
        if not {"name", "email"} <= fields:
            raise CommandError("invalid_csv", f"{path}: the header must name the columns name and email")
        for row in reader:
            clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            yield {"line": reader.line_num, "name": clean.get("name", ""), "email": clean.get("email", ""),
                   "eduid": clean.get("eduid") or None, "result": clean.get("result") or None}


@app.command("bulk-award")
def bulk_award(
    file: Annotated[Path, typer.Argument(help="CSV with columns name,email[,eduid][,result].", exists=True,
                                         dir_okay=False, readable=True)],
    badge: Annotated[int, typer.Option(help="Badge class id.")],
    credential_format: Annotated[str, typer.Option("--format", help="jwt_vc_json or dc+sd-jwt.")] = "jwt_vc_json",
    pin: Annotated[bool, typer.Option("--pin", help="Protect every offer with a PIN.")] = False,
    offers_out: Annotated[Path | None, typer.Option("--out", help="Write line,email,award_id,offer_uri,tx_code "
                                                    "of the new awards to this CSV.")] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: Json = False,
) -> None:
    """Award a badge class to every learner in a CSV. Bad rows are reported by line and skip only themselves
    (exit code 2 when there were any); running the same file again awards nobody twice."""
    try:
        rows = list(read_award_rows(file))
        results: list[dict[str, Any]] = []
        with _client(url, token) as client, Progress(
                TextColumn("awarding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=err, disable=not err.is_terminal) as progress:
            task = progress.add_task("awarding", total=len(rows))
            for start in range(0, len(rows), BULK_CHUNK):
                chunk = rows[start:start + BULK_CHUNK]
                results += _call(client, "POST", f"/admin/badge-classes/{badge}/awards/bulk",
                                 {"rows": chunk, "format": credential_format, "pin": pin})
                progress.advance(task, len(chunk))
    except CommandError as exc:
        _fail(exc, as_json)
    emails = {row["line"]: row["email"] for row in rows}
    created = [r for r in results if r["status"] == "created"]
    errors = [{"line": r["line"], "error": r["error"]} for r in results if r["status"] == "error"]
    if offers_out is not None:
        with offers_out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "email", "award_id", "offer_uri", "tx_code"])
            for r in created:
                writer.writerow([r["line"], emails.get(r["line"], ""), r["award_id"], r["offer_uri"], r["tx_code"] or ""])
    summary = {"rows": len(rows), "created": len(created), "existing": sum(r["status"] == "exists" for r in results),
               "errors": errors,
               "awards": [{"line": r["line"], "award_id": r["award_id"], "offer_uri": r["offer_uri"],
                           "tx_code": r["tx_code"]} for r in created]}
    human = (f"{summary['rows']} rows: {summary['created']} awarded, {summary['existing']} already awarded, "
             f"{len(errors)} with errors")
    for error in errors:
        human += f"\n  line {error['line']}: {error['error']}"
    _emit(summary, as_json, human)
    if errors:
        raise typer.Exit(2)

"""The `eduwallet` command.

Every command that prints data takes `--json` and then prints exactly one JSON
document on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eduwallet import demo as demo_story
from eduwallet.commands import issuer, verifier, wallet
from eduwallet.serve import serve as run_services

app = typer.Typer(name="eduwallet", help="Verifiable microcredentials: issuer, wallet and verifier.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

app.add_typer(issuer.app)
app.add_typer(wallet.app)
app.add_typer(verifier.app)


@app.callback()
def main() -> None:
    """Verifiable microcredentials: issuer, wallet and verifier."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    var_dir: Annotated[Path, typer.Option(help="Where the SQLite files and generated keys live.")] = Path("var"),
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes per service.")] = 1,
) -> None:
    """Run the issuer (:8001), wallet (:8002) and verifier (:8003) until Ctrl-C."""
    raise typer.Exit(run_services(host=host, var_dir=var_dir, workers=workers))


@app.command()
def demo(
    credential_format: Annotated[demo_story.CredentialFormat, typer.Option(
        "--format", help="The credential format to award and present.")] = demo_story.CredentialFormat.jwt_vc_json,
    issuer_url: Annotated[str | None, typer.Option(
        help="The issuer (default http://127.0.0.1:8001, or the port in EDUWALLET_ISSUER_PORT).",
        show_default=False)] = None,
    wallet_url: Annotated[str | None, typer.Option(
        help="The wallet (default http://127.0.0.1:8002, or EDUWALLET_WALLET_PORT).", show_default=False)] = None,
    verifier_url: Annotated[str | None, typer.Option(
        help="The verifier (default http://127.0.0.1:8003, or EDUWALLET_VERIFIER_PORT).", show_default=False)] = None,
    var_dir: Annotated[Path, typer.Option(
        help="The services' var dir (the issuer's admin token and the verifier's API key are read there).")]
    = Path("var"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole story as one JSON document.")] = False,
) -> None:
    """The whole story end to end: award a badge, accept it in a wallet, present it, print the verdict.

    Uses the services when they answer, else starts them (`eduwallet serve`) for the demo.
    Exit code 0 only when the verifier's verdict is "verified".
    """
    urls = {"issuer": issuer_url or demo_story.default_url("issuer"),
            "wallet": wallet_url or demo_story.default_url("wallet"),
            "verifier": verifier_url or demo_story.default_url("verifier")}
    raise typer.Exit(demo_story.run_demo(urls={k: v.rstrip("/") for k, v in urls.items()}, var_dir=var_dir,
                                         credential_format=credential_format.value, as_json=as_json))


if __name__ == "__main__":
    app()

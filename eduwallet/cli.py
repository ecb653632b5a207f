"""The `eduwallet` command.

Every command that prints data takes `--json` and then prints exactly one JSON
document on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


if __name__ == "__main__":
    app()

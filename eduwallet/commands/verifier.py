"""`eduwallet verifier ...`: talks to the running verifier over HTTP."""

from __future__ import annotations

import typer

app = typer.Typer(name="verifier", help="Commands for the verifier service (over HTTP).", no_args_is_help=True)

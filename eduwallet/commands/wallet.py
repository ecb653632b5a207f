"""`eduwallet wallet ...`: talks to the running wallet over HTTP."""

from __future__ import annotations

import typer

app = typer.Typer(name="wallet", help="Commands for the wallet service (over HTTP).", no_args_is_help=True)

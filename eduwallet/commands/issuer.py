"""`eduwallet issuer ...`: talks to the running issuer over HTTP."""

from __future__ import annotations

import typer

app = typer.Typer(name="issuer", help="Commands for the issuer service (over HTTP).", no_args_is_help=True)

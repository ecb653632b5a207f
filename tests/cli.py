"""Run the `eduwallet` command as a learner or administrator does: in a process of its own.

Not through Click's in-process runner: that swaps `sys.stdout` and `os.environ` of the test process
for the command's run, state that tests running beside it in the same worker can disturb (a command's
JSON went missing that way once in a parallel run). A process costs about half a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def eduwallet(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`eduwallet ARGS` with this environment plus `env`; stdout and stderr as text."""
    return subprocess.run([sys.executable, "-m", "eduwallet.cli", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


def json_document(result: subprocess.CompletedProcess[str]) -> Any:
    """The one JSON document a `--json` command printed (it prints exactly one, errors included)."""
    try:
        return json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(f"exit {result.returncode}, not one JSON document on stdout:\n{result.stdout}\n"
                             f"stderr:\n{result.stderr}") from exc

"""Interop tests: install the independent implementation (oid4vc-ts, sd-jwt-js) once per session."""

from __future__ import annotations

import pytest

from tests.interop.harness import ensure_node_modules, node_executable


@pytest.fixture(scope="session", autouse=True)
def interop_node_modules() -> None:
    """`npm ci` in tests/interop when `node_modules` is missing (needs node and the npm registry)."""
    try:
        node_executable()
        ensure_node_modules()
    except RuntimeError as error:
        pytest.fail(str(error))

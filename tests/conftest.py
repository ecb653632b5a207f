"""Shared fixtures: paths to the spec material, services on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The project's shared spec material (OB3 schemas, contexts, examples), beside the repository.
SHARED_SPEC = ROOT.parent / "shared" / "spec"
VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(scope="session")
def ob3_spec_dir() -> Path:
    path = SHARED_SPEC / "ob3"
    if not path.is_dir():
        pytest.fail(f"the shared spec material is missing: {path}")
    return path


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS

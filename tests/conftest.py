"""Shared fixtures: paths to the spec material, services on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The project's shared spec material (OB3 schemas, contexts, examples), beside the repository.
SHARED_SPEC = ROOT.parent / "shared" / "spec"
VECTORS = Path(__file__).parent / "vectors"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for `-n auto`: two per core, at least 4 and at most 8. A test mostly waits for the uvicorn
    processes it started (each of them a core's worth at times, and ~130 MB), so one worker per core
    leaves cores idle, and many more only queue on them and on memory."""
    return min(8, max(4, 2 * (os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def ob3_spec_dir() -> Path:
    path = SHARED_SPEC / "ob3"
    if not path.is_dir():
        pytest.fail(f"the shared spec material is missing: {path}")
    return path


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS

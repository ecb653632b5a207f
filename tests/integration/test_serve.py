"""`eduwallet serve` starts the three services, each answers /healthz, and Ctrl-C stops them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, running_service

pytestmark = pytest.mark.integration


def test_each_service_answers_healthz_and_readyz(tmp_path: Path) -> None:
    for name in ("issuer", "wallet", "verifier"):
        with running_service(name, tmp_path) as service:
            assert httpx.get(service.url + "/healthz").json() == {"status": "ok"}  # noqa: TID251
            assert httpx.get(service.url + "/readyz").json() == {"status": "ok"}  # noqa: TID251


def test_serve_starts_three_services_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("issuer", "wallet", "verifier")}
    env_ports = {f"EDUWALLET_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    import os

    process = subprocess.Popen([sys.executable, "-m", "eduwallet.cli", "serve", "--var-dir", str(tmp_path / "var")],
                               env={**os.environ, **env_ports}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        pending = dict(ports)
        while pending and time.monotonic() < deadline:
            for name, port in list(pending.items()):
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: TID251
                except httpx.HTTPError:
                    continue
                assert response.status_code == 200 and response.json() == {"status": "ok"}
                pending.pop(name)
            time.sleep(0.2)
        assert not pending, f"not ready: {pending}"
        for name in ports:
            assert (tmp_path / "var" / f"{name}.db").exists()
            assert (tmp_path / "var" / f"{name}-master.key").exists()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode()
    assert b"stopped" in output
    for port in ports.values():
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: TID251

"""`eduwallet serve`: the issuer, wallet and verifier, each in its own uvicorn process.

Each service is started as `uvicorn --factory <service>.app:create_app`, so what runs
here is what a production set-up runs (with more workers, behind TLS). Ctrl-C (SIGINT)
or SIGTERM stops all three and waits for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SERVICES", "Service", "serve"]


@dataclass(frozen=True)
class Service:
    name: str
    port: int

    @property
    def env_prefix(self) -> str:
        return f"EDUWALLET_{self.name.upper()}_"

    def url(self, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}"


SERVICES = (Service("issuer", 8001), Service("wallet", 8002), Service("verifier", 8003))


def service_command(service: Service, *, host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", f"{service.name}.app:create_app",
            "--host", host, "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            "--no-server-header"]


def serve(*, host: str = "127.0.0.1", var_dir: Path = Path("var"), workers: int = 1,
          ports: dict[str, int] | None = None, echo: bool = True) -> int:
    """Run the three services until interrupted; returns an exit code."""
    var_dir.mkdir(parents=True, exist_ok=True)
    processes: list[tuple[Service, subprocess.Popen[bytes]]] = []
    for service in SERVICES:
        port = (ports or {}).get(service.name) or int(os.environ.get(service.env_prefix + "PORT", service.port))
        env = dict(os.environ)
        env.setdefault(service.env_prefix + "VAR_DIR", str(var_dir.resolve()))
        env.setdefault(service.env_prefix + "PORT", str(port))
        env.setdefault(service.env_prefix + "HOST", host)
        processes.append((service, subprocess.Popen(service_command(service, host=host, port=port, workers=workers),
                                                    env=env)))
        if echo:
            print(f"{service.name:9s} http://{host}:{port}", flush=True)

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    code = 0
    try:
        while True:
            for service, process in processes:
                if process.poll() is not None:
                    print(f"{service.name} stopped (exit code {process.returncode})", file=sys.stderr, flush=True)
                    code = process.returncode or 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for _service, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for _service, process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if echo:
        print("stopped", flush=True)
    return code

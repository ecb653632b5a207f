"""Start the test OpenID Provider (`server.mjs`: panva's certified `oidc-provider` under Node.js) and
log in through its forms over real HTTP, as a browser would.

`ensure_node_modules()` runs `npm ci` here when `node_modules` is missing or older than the lock.
`running_openid_provider(clients=..., accounts=...)` runs one provider on 127.0.0.1 and yields its
issuer URL (`http://localhost:<port>`). `log_in_at_provider(client, url, ...)` follows an
authentication request through the provider's login and consent forms and returns the URL the
provider finally redirects to (the client's `redirect_uri` with `code`, `state` and `iss`).
"""

from __future__ import annotations

import fcntl
import json
import re
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.servers import free_port

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
START_TIMEOUT = 30.0

#: The account every test logs in with (a learner at the test provider).
ACCOUNT = {"username": "sanne", "password": "eduid-test-password", "sub": "Sanne.de.Vries-7f3a",
           "claims": {"name": "Sanne de Vries", "preferred_username": "sanne.devries",
                      "email": "sanne@example.edu", "email_verified": True}}


def _installed() -> bool:
    marker = NODE_MODULES / ".package-lock.json"  # npm writes it after a complete install
    return marker.is_file() and (HERE / "package-lock.json").stat().st_mtime <= marker.stat().st_mtime


def ensure_node_modules() -> None:
    """`npm ci` in this folder unless `node_modules` is complete and newer than the lock."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the OpenID Connect tests need Node.js 20.19+ and npm on PATH")
    with open(Path(tempfile.gettempdir()) / "eduwallet-oidc-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several pytest processes may start at once
        if _installed():
            return
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True,
                                timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"npm ci failed in {HERE}:\n{result.stdout}\n{result.stderr}")


@contextmanager
def running_openid_provider(*, clients: Sequence[dict[str, Any]], accounts: Sequence[dict[str, Any]] = (ACCOUNT,),
                            port: int | None = None) -> Iterator[str]:
    """Run `server.mjs` with these clients and accounts (on `port`, or a free one); yields the issuer URL."""
    ensure_node_modules()
    node = shutil.which("node")
    assert node is not None
    port = port or free_port()
    config = json.dumps({"port": port, "clients": list(clients), "accounts": list(accounts)})
    process = subprocess.Popen([node, "server.mjs", config], cwd=HERE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("{"):
            process.kill()
            raise RuntimeError(f"the OpenID Provider did not start: {line}{process.stderr.read() if process.stderr else ''}")
        yield json.loads(line)["issuer"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _form_action(html: str, path_end: str) -> str:
    match = re.search(r'<form method="post" action="([^"]*/' + re.escape(path_end) + r')">', html)
    assert match, f"no {path_end} form in the provider's page:\n{html[:2000]}"
    return match.group(1)


def log_in_at_provider(client: httpx.Client, authorization_url: str, *, username: str = ACCOUNT["username"],
                       password: str = ACCOUNT["password"], consent: bool = True, max_hops: int = 20) -> str:
    """Follow the provider's redirects and forms (log in, then allow or deny); the final redirect's URL.

    Stops at the first redirect that leaves the provider (to the client's redirect URI) and returns it.
    """
    provider = httpx.URL(authorization_url)
    url, method, data = authorization_url, "GET", None
    for _ in range(max_hops):
        response = client.request(method, url, data=data)
        if response.is_redirect:
            location = urljoin(url, response.headers["location"])
            target = httpx.URL(location)
            if (target.host, target.port) != (provider.host, provider.port):
                return location
            url, method, data = location, "GET", None
            continue
        html = response.text
        assert response.status_code == 200, f"{response.status_code} from the provider:\n{html[:2000]}"
        if 'action="' in html and "/login" in html:
            url, method, data = urljoin(url, _form_action(html, "login")), "POST", {"login": username,
                                                                                   "password": password}
        else:
            url = urljoin(url, _form_action(html, "confirm" if consent else "abort"))
            method, data = "POST", {}
    raise AssertionError("the provider did not redirect back within the expected steps")

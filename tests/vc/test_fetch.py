"""vc.fetch: the one door for outbound HTTP (SSRF guard, size/time limits, redirects)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from vc.errors import FetchError, FetchRefused
from vc.fetch import (
    Fetcher,
    FetchPolicy,
    FetchStatusError,
    assert_fetchable,
    is_loopback_host,
    static_resolver,
)

PUBLIC_IP = "93.184.216.34"
RESOLVER = static_resolver({
    "issuer.example": PUBLIC_IP,
    "other.example": "93.184.216.35",
    "intranet.example": "10.1.2.3",
    "metadata.example": "169.254.169.254",
    "split.example": [PUBLIC_IP, "192.168.0.7"],
    "pinned.localhost": "127.0.0.1",
})
DEV = FetchPolicy(allow_http_loopback=True)


class Recorder:
    """An httpx.MockTransport handler that records requests and answers from a route table."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes.get(str(request.url), httpx.Response(404))


def mock_fetcher(routes: dict[str, httpx.Response], policy: FetchPolicy | None = None) -> tuple[Fetcher, Recorder]:
    recorder = Recorder(routes)
    return Fetcher(policy, transport=httpx.MockTransport(recorder), resolver=RESOLVER), recorder


# -- URL and address checks (SSRF guard) -------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://10.0.0.1/.well-known/did.json",
    "https://192.168.1.10/",
    "https://172.16.5.4/",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[2002:a00:1::1]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://224.0.0.1/",
    "https://100.64.0.1/",
    "https://192.0.2.1/",
    "https://127.0.0.1/",
    "https://[::1]/",
])
def test_private_loopback_and_special_addresses_are_refused(url: str) -> None:
    with pytest.raises(FetchRefused):
        assert_fetchable(url, FetchPolicy(), resolver=RESOLVER)


@pytest.mark.parametrize("url", ["http://[::1]:8000/x", "http://127.0.0.1:8000/x", "http://localhost:8000/x"])
def test_loopback_is_refused_without_the_dev_flag(url: str) -> None:
    with pytest.raises(FetchRefused):
        assert_fetchable(url, FetchPolicy(), resolver=RESOLVER)


@pytest.mark.parametrize("url", ["http://[::1]:8000/x", "http://127.0.0.1:8000/x", "http://127.9.9.9/x",
                                 "https://127.0.0.1/x"])
def test_loopback_is_allowed_with_the_dev_flag(url: str) -> None:
    assert_fetchable(url, DEV, resolver=RESOLVER)


def test_the_dev_flag_never_allows_http_to_other_hosts() -> None:
    with pytest.raises(FetchRefused, match="loopback"):
        assert_fetchable("http://issuer.example/x", DEV, resolver=RESOLVER)
    with pytest.raises(FetchRefused):
        assert_fetchable("http://10.0.0.1/x", DEV, resolver=RESOLVER)


def test_a_hostname_that_resolves_to_a_private_address_is_refused() -> None:
    with pytest.raises(FetchRefused, match="private"):
        assert_fetchable("https://intranet.example/", FetchPolicy(), resolver=RESOLVER)
    with pytest.raises(FetchRefused, match="link-local"):
        assert_fetchable("https://metadata.example/", FetchPolicy(), resolver=RESOLVER)


def test_every_resolved_address_is_checked() -> None:
    with pytest.raises(FetchRefused):
        assert_fetchable("https://split.example/", FetchPolicy(), resolver=RESOLVER)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://issuer.example/x", "gopher://issuer.example/",
                                 "data:text/plain,hi", "javascript:alert(1)", "//issuer.example/x", "issuer.example"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchRefused):
        assert_fetchable(url, DEV, resolver=RESOLVER)


@pytest.mark.parametrize("url", ["https://user:secret@issuer.example/", "https://user@issuer.example/",
                                 "http://admin@localhost:8000/"])
def test_userinfo_is_refused(url: str) -> None:
    with pytest.raises(FetchRefused, match="userinfo"):
        assert_fetchable(url, DEV, resolver=RESOLVER)


def test_allowed_hosts_restricts_the_hosts() -> None:
    policy = FetchPolicy(allowed_hosts=frozenset({"Issuer.Example"}))
    assert_fetchable("https://issuer.example/x", policy, resolver=RESOLVER)
    with pytest.raises(FetchRefused, match="allowed hosts"):
        assert_fetchable("https://other.example/x", policy, resolver=RESOLVER)


def test_private_network_hosts_allow_private_but_never_link_local() -> None:
    policy = FetchPolicy(private_network_hosts=frozenset({"intranet.example", "metadata.example"}))
    assert_fetchable("https://intranet.example/", policy, resolver=RESOLVER)
    with pytest.raises(FetchRefused):
        assert_fetchable("https://metadata.example/", policy, resolver=RESOLVER)
    with pytest.raises(FetchRefused):  # the trust names a host, not every private address
        assert_fetchable("https://10.1.2.3/", policy, resolver=RESOLVER)


def test_an_unresolvable_host_is_a_fetch_error() -> None:
    with pytest.raises(FetchError):
        assert_fetchable("https://nowhere.example/", FetchPolicy(), resolver=RESOLVER)


def test_is_loopback_host() -> None:
    assert is_loopback_host("localhost") and is_loopback_host("app.localhost") and is_loopback_host("::1")
    assert is_loopback_host("127.0.0.2") and not is_loopback_host("localhost.example")
    assert not is_loopback_host("10.0.0.1")


def test_a_refused_url_never_reaches_the_transport() -> None:
    fetcher, recorder = mock_fetcher({})
    for url in ["https://intranet.example/", "http://issuer.example/", "https://u:p@issuer.example/"]:
        with pytest.raises(FetchRefused):
            fetcher.get_json(url)
    assert recorder.requests == []


# -- the verbs, over httpx.MockTransport -------------------------------------------------------

def test_get_json_returns_the_document_and_sends_accept() -> None:
    fetcher, recorder = mock_fetcher({"https://issuer.example/meta": httpx.Response(200, json={"issuer": "x"})})
    with fetcher:
        assert fetcher.get_json("https://issuer.example/meta") == {"issuer": "x"}
    sent = recorder.requests[0]
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["accept-encoding"] == "identity"


def test_get_json_accepts_plus_json_types() -> None:
    body = json.dumps({"id": "did:web:issuer.example"}).encode()
    fetcher, _ = mock_fetcher({"https://issuer.example/did.json": httpx.Response(
        200, content=body, headers={"content-type": "application/did+json; charset=utf-8"})})
    assert fetcher.get_json("https://issuer.example/did.json")["id"] == "did:web:issuer.example"


def test_get_json_refuses_html_and_broken_json() -> None:
    fetcher, _ = mock_fetcher({
        "https://issuer.example/html": httpx.Response(200, html="<p>{}</p>"),
        "https://issuer.example/broken": httpx.Response(200, content=b"{nope",
                                                         headers={"content-type": "application/json"}),
    })
    with pytest.raises(FetchError, match="not JSON"):
        fetcher.get_json("https://issuer.example/html")
    with pytest.raises(FetchError, match="not JSON"):
        fetcher.get_json("https://issuer.example/broken")


def test_get_bytes_returns_the_media_type_and_body() -> None:
    fetcher, recorder = mock_fetcher({"https://issuer.example/status/1": httpx.Response(
        200, content=b"eyJ.x.y", headers={"content-type": "application/statuslist+jwt"})})
    assert fetcher.get_bytes("https://issuer.example/status/1", accept="application/statuslist+jwt") == (
        "application/statuslist+jwt", b"eyJ.x.y")
    assert recorder.requests[0].headers["accept"] == "application/statuslist+jwt"


def test_post_form_and_post_json() -> None:
    fetcher, recorder = mock_fetcher({
        "https://issuer.example/token": httpx.Response(200, json={"access_token": "at"}),
        "https://issuer.example/credential": httpx.Response(202, json={"transaction_id": "t"}),
    })
    token = fetcher.post_form("https://issuer.example/token", {"grant_type": "x", "code": "a b"},
                              headers={"DPoP": "proof"})
    assert token.status == 200 and token.json() == {"access_token": "at"}
    assert recorder.requests[0].content == b"grant_type=x&code=a+b"
    assert recorder.requests[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert recorder.requests[0].headers["dpop"] == "proof"
    deferred = fetcher.post_json("https://issuer.example/credential", {"proofs": {"jwt": ["j"]}},
                                 headers={"Authorization": "Bearer at"})
    assert deferred.status == 202 and deferred.content_type == "application/json"
    assert json.loads(recorder.requests[1].content) == {"proofs": {"jwt": ["j"]}}
    assert recorder.requests[1].headers["authorization"] == "Bearer at"


def test_non_2xx_raises_with_the_status_and_the_body() -> None:
    fetcher, _ = mock_fetcher({"https://issuer.example/credential": httpx.Response(
        400, json={"error": "invalid_nonce"})})
    with pytest.raises(FetchStatusError) as caught:
        fetcher.post_json("https://issuer.example/credential", {})
    assert caught.value.status == 400
    assert caught.value.response is not None and caught.value.response.json() == {"error": "invalid_nonce"}
    with pytest.raises(FetchError):
        fetcher.get_json("https://issuer.example/missing")


def test_redirects_are_not_followed_by_default() -> None:
    fetcher, recorder = mock_fetcher({
        "https://issuer.example/a": httpx.Response(302, headers={"location": "https://issuer.example/b"}),
        "https://issuer.example/b": httpx.Response(200, json={}),
    })
    with pytest.raises(FetchStatusError) as caught:
        fetcher.get_json("https://issuer.example/a")
    assert caught.value.status == 302
    assert len(recorder.requests) == 1


def test_allowed_redirects_are_followed_and_each_hop_is_checked() -> None:
    routes = {
        "https://issuer.example/a": httpx.Response(302, headers={"location": "/b"}),
        "https://issuer.example/b": httpx.Response(200, json={"ok": True}),
        "https://issuer.example/to-metadata": httpx.Response(
            302, headers={"location": "http://169.254.169.254/latest/meta-data/"}),
        "https://issuer.example/to-intranet": httpx.Response(301, headers={"location": "https://intranet.example/"}),
        "https://issuer.example/loop": httpx.Response(307, headers={"location": "https://issuer.example/loop"}),
    }
    fetcher, recorder = mock_fetcher(routes, FetchPolicy(max_redirects=2))
    assert fetcher.get_json("https://issuer.example/a") == {"ok": True}
    with pytest.raises(FetchRefused):
        fetcher.get_json("https://issuer.example/to-metadata")
    with pytest.raises(FetchRefused):
        fetcher.get_json("https://issuer.example/to-intranet")
    with pytest.raises(FetchStatusError):
        fetcher.get_json("https://issuer.example/loop")
    assert not any(r.url.host in ("169.254.169.254", "intranet.example") for r in recorder.requests)


def test_post_never_follows_redirects() -> None:
    fetcher, recorder = mock_fetcher({"https://issuer.example/token": httpx.Response(
        307, headers={"location": "https://issuer.example/elsewhere"})}, FetchPolicy(max_redirects=3))
    with pytest.raises(FetchStatusError):
        fetcher.post_form("https://issuer.example/token", {"a": "b"})
    assert len(recorder.requests) == 1


def test_oversized_bodies_are_refused() -> None:
    fetcher, _ = mock_fetcher({"https://issuer.example/big": httpx.Response(200, content=b"x" * 2000)},
                              FetchPolicy(max_bytes=1000))
    with pytest.raises(FetchError, match="more than 1000 bytes"):
        fetcher.get_bytes("https://issuer.example/big")


# -- a real server on 127.0.0.1 ------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes: no Content-Length needed

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _head(self, status: int = 200, content_type: str = "application/json", length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        try:
            if self.path == "/json":
                body = json.dumps({"ok": True, "host": self.headers["Host"]}).encode()
                self._head(length=len(body))
                self.wfile.write(body)
            elif self.path == "/big":  # 2 MB with no Content-Length
                self._head(content_type="application/octet-stream")
                for _ in range(32):
                    self.wfile.write(b"x" * 65536)
            elif self.path == "/declared-big":
                self._head(length=50_000_000)
                self.wfile.write(b"x" * 1024)
            elif self.path == "/slow":
                time.sleep(2)
                self._head(length=2)
                self.wfile.write(b"{}")
            elif self.path == "/drip":
                self._head(content_type="application/octet-stream")
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif self.path == "/gzip":  # a compression bomb would come this way: never decoded
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.end_headers()
                self.wfile.write(b"\x1f\x8b" + b"\x00" * 64)
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/json")
                self.end_headers()
            else:
                self._head(status=404, length=0)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_real_server_over_loopback_with_the_dev_flag(server_port: int) -> None:
    with Fetcher(DEV) as fetcher:
        assert fetcher.get_json(f"http://127.0.0.1:{server_port}/json")["ok"] is True
        assert fetcher.get_json(f"http://localhost:{server_port}/json")["ok"] is True


def test_real_server_is_refused_without_the_dev_flag(server_port: int) -> None:
    with Fetcher(FetchPolicy()) as fetcher, pytest.raises(FetchRefused):
        fetcher.get_json(f"http://127.0.0.1:{server_port}/json")


def test_real_server_redirect_followed_only_when_allowed(server_port: int) -> None:
    with Fetcher(DEV) as fetcher, pytest.raises(FetchStatusError):
        fetcher.get_json(f"http://127.0.0.1:{server_port}/redirect")
    with Fetcher(FetchPolicy(allow_http_loopback=True, max_redirects=1)) as fetcher:
        assert fetcher.get_json(f"http://127.0.0.1:{server_port}/redirect")["ok"] is True


def test_real_server_body_is_cut_at_max_bytes(server_port: int) -> None:
    with Fetcher(FetchPolicy(allow_http_loopback=True, max_bytes=100_000)) as fetcher:
        with pytest.raises(FetchError, match="more than 100000 bytes"):
            fetcher.get_bytes(f"http://127.0.0.1:{server_port}/big")
        with pytest.raises(FetchError, match="more than 100000 bytes"):
            fetcher.get_bytes(f"http://127.0.0.1:{server_port}/declared-big")


def test_real_server_compressed_body_is_refused(server_port: int) -> None:
    with Fetcher(DEV) as fetcher, pytest.raises(FetchError, match="gzip"):
        fetcher.get_bytes(f"http://127.0.0.1:{server_port}/gzip")


def test_real_server_that_answers_late_times_out(server_port: int) -> None:
    started = time.monotonic()
    with Fetcher(FetchPolicy(allow_http_loopback=True, timeout=0.5)) as fetcher:
        with pytest.raises(FetchError, match="timed out"):
            fetcher.get_json(f"http://127.0.0.1:{server_port}/slow")
    assert time.monotonic() - started < 1.9


def test_real_server_that_drips_hits_the_total_deadline(server_port: int) -> None:
    # Each byte arrives well inside the read timeout; only the whole-exchange deadline stops it.
    started = time.monotonic()
    with Fetcher(FetchPolicy(allow_http_loopback=True, timeout=0.6)) as fetcher:
        with pytest.raises(FetchError, match="timed out"):
            fetcher.get_bytes(f"http://127.0.0.1:{server_port}/drip")
    assert time.monotonic() - started < 2.5


def test_connections_go_to_the_checked_address(server_port: int) -> None:
    # The name is resolved by our resolver, checked, and the socket opened to that very address.
    with Fetcher(DEV, resolver=RESOLVER) as fetcher:
        document = fetcher.get_json(f"http://pinned.localhost:{server_port}/json")
    assert document == {"ok": True, "host": f"pinned.localhost:{server_port}"}


def test_dns_rebinding_between_check_and_connect_is_refused() -> None:
    answers = iter([[PUBLIC_IP], ["10.0.0.8"]])  # first the check, then the connection

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    with Fetcher(FetchPolicy(), resolver=rebinding) as fetcher, pytest.raises(FetchRefused, match="private"):
        fetcher.get_json("https://rebind.example/.well-known/did.json")


# -- a kept-alive connection the server closes as the next request arrives ---------------------------

class _ClosingKeepAliveServer:
    """Answers the first request on each connection with keep-alive, then closes the connection when the
    next request on it arrives, unanswered: what an idle timeout firing just as a request comes looks like."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[tuple[int, str]] = []  # (connection number, request line), answered or not
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        number = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            number += 1
            threading.Thread(target=self._connection, args=(connection, number), daemon=True).start()

    def _connection(self, connection: socket.socket, number: int) -> None:
        with connection, connection.makefile("rb") as reader:
            for answered in (True, False):
                request_line = reader.readline().decode().strip()
                if not request_line:  # the client closed the connection
                    return
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)
                self.requests.append((number, request_line))
                if answered:
                    body = b'{"ok": true}'
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def closing_server() -> Iterator[_ClosingKeepAliveServer]:
    server = _ClosingKeepAliveServer()
    try:
        yield server
    finally:
        server.close()


def test_a_get_on_a_connection_the_server_closed_is_sent_again_on_a_fresh_one(
        closing_server: _ClosingKeepAliveServer) -> None:
    url = f"http://127.0.0.1:{closing_server.port}/offer"
    with Fetcher(DEV) as fetcher:
        assert fetcher.get_json(url) == {"ok": True}
        assert fetcher.get_json(url) == {"ok": True}  # the kept connection fails; a new one answers
    assert closing_server.requests == [(1, "GET /offer HTTP/1.1"), (1, "GET /offer HTTP/1.1"),
                                       (2, "GET /offer HTTP/1.1")]


def test_a_post_on_a_connection_the_server_closed_is_never_sent_twice(
        closing_server: _ClosingKeepAliveServer) -> None:
    url = f"http://127.0.0.1:{closing_server.port}/token"
    with Fetcher(DEV) as fetcher:
        assert fetcher.post_form(url, {"grant_type": "x"}).json() == {"ok": True}
        with pytest.raises(FetchError, match="failed: RemoteProtocolError"):
            fetcher.post_form(url, {"grant_type": "x"})  # the server may have acted on it: not repeated
    assert closing_server.requests == [(1, "POST /token HTTP/1.1"), (1, "POST /token HTTP/1.1")]

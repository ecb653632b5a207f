"""The one door for outbound HTTP: every fetch of offers, metadata, request objects, DID documents,
JWKS and status lists goes through `Fetcher`.

Everything fetched is hostile until checked (OWASP SSRF Prevention Cheat Sheet,
https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html ;
SD-JWT VC §"retrieval": https only, bounded size and time, limited redirects, SSRF checks):

* `https` only; plain `http` only to a loopback host (`localhost`, 127.0.0.0/8, ::1) and only
  when the policy's development flag `allow_http_loopback` is set;
* no userinfo (`https://user:pass@host/`) in URLs;
* the host name is resolved and *every* address checked: private, loopback, link-local (cloud
  metadata at 169.254.169.254), multicast, reserved, shared and unspecified addresses are refused
  before anything is sent. The same check runs again inside the connection, on the exact address
  connected to, so a DNS answer that changes between check and connect (rebinding) gains nothing;
* bodies are streamed and cut at `max_bytes`, the whole exchange (redirects included) gets
  `timeout` seconds, compressed bodies are refused (we ask for `identity`);
* redirects are not followed unless `max_redirects` allows it (GET only), and each hop is checked
  like the first URL;
* any status outside 2xx raises `FetchStatusError` (a `FetchError`) carrying the status and the
  response, so a caller can still read an OAuth error body.

Policy refusals raise `vc.errors.FetchRefused`; network failures `vc.errors.FetchError`.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpcore
import httpx

from vc.errors import FetchError, FetchRefused

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "FetchPolicy",
    "FetchResponse",
    "FetchStatusError",
    "Fetcher",
    "Resolver",
    "assert_fetchable",
    "is_json_media_type",
    "is_loopback_host",
    "static_resolver",
    "system_resolver",
]

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_TIMEOUT = 5.0
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A kept-alive connection that the server closed as our request went out fails with one of these before
# any answer: a GET goes once more, on a fresh connection; a POST never (it may have been acted on).
_STALE_CONNECTION_ERRORS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

#: Resolves a host name to the IP addresses a connection may use (`socket.getaddrinfo` by default).
Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class FetchPolicy:
    """What a `Fetcher` may reach.

    `allowed_hosts`: when set, the only host names that may be fetched.
    `private_network_hosts`: host names the operator trusts to live on a private network (an
    institution whose DNS answers with 10.x addresses internally); their private addresses are
    accepted. Link-local, multicast, unspecified and (without the dev flag) loopback addresses are
    refused even for them.
    """

    allow_http_loopback: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    max_redirects: int = 0
    allowed_hosts: frozenset[str] | None = None
    private_network_hosts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:  # host names compare in lower case
        if self.allowed_hosts is not None:
            object.__setattr__(self, "allowed_hosts", frozenset(h.lower() for h in self.allowed_hosts))
        object.__setattr__(self, "private_network_hosts", frozenset(h.lower() for h in self.private_network_hosts))


@dataclass(frozen=True)
class FetchResponse:
    """A response read within the policy's limits."""

    status: int
    headers: Mapping[str, str]
    content_type: str
    content: bytes
    url: str

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            raise FetchError(f"the response from {_origin(self.url)} is not JSON") from exc


class FetchStatusError(FetchError):
    """The server answered outside 2xx (or with a redirect we do not follow)."""

    def __init__(self, message: str, *, status: int, response: FetchResponse | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.response = response


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}") from exc
    return [str(info[4][0]) for info in infos]


def static_resolver(table: Mapping[str, str | Sequence[str]]) -> Resolver:
    """A resolver answering from a fixed table (tests, or pinning hosts in configuration)."""

    def resolve(host: str, port: int) -> list[str]:
        answer = table.get(host.lower())
        if answer is None:
            raise FetchError(f"cannot resolve host {host!r}")
        return [answer] if isinstance(answer, str) else list(answer)

    return resolve


def is_loopback_host(host: str) -> bool:
    """`localhost` (RFC 6761 §6.3, also `*.localhost`) or a loopback IP literal."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip_literal(host)
    return ip is not None and _unwrap(ip).is_loopback


def is_json_media_type(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _unwrap(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address, else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return embedded
    return ip


def _address_refusal(address: str, host: str, policy: FetchPolicy) -> str | None:
    """Why `address` (an answer for `host`) may not be connected to, or None when it may."""
    try:
        ip = _unwrap(ipaddress.ip_address(address))
    except ValueError:
        return f"{address!r} is not an IP address"
    if ip.is_loopback:
        return None if policy.allow_http_loopback else "a loopback address"
    if ip.is_unspecified or ip.is_link_local or ip.is_multicast:
        return "an unspecified, link-local or multicast address"
    if ip.is_global:
        return None
    if ip.is_private and host.lower() in policy.private_network_hosts:
        return None
    return "a private or reserved address"


def _checked_addresses(host: str, port: int, policy: FetchPolicy, resolver: Resolver) -> list[str]:
    literal = _ip_literal(host)
    addresses = [str(literal)] if literal is not None else list(resolver(host, port))
    if not addresses:
        raise FetchError(f"cannot resolve host {host!r}")
    for address in addresses:
        refusal = _address_refusal(address, host, policy)
        if refusal is not None:
            raise FetchRefused(f"refusing {host!r}: it resolves to {refusal}")
    return addresses


def _parse(url: str) -> httpx.URL:
    if not isinstance(url, str):
        raise FetchRefused("a URL is a string")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FetchRefused("not a valid URL") from exc
    return parsed


def _origin(url: str | httpx.URL) -> str:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
    except (httpx.InvalidURL, ValueError, TypeError):
        return "<invalid URL>"


def _check_url(parsed: httpx.URL, policy: FetchPolicy) -> str:
    """URL-level rules (scheme, userinfo, host allow-list). Returns the host name."""
    host = parsed.host.lower()
    if parsed.scheme == "https":
        pass
    elif parsed.scheme == "http":
        if not (policy.allow_http_loopback and is_loopback_host(host)):
            raise FetchRefused("plain http is only allowed to loopback hosts in development")
    else:
        raise FetchRefused(f"the {parsed.scheme or 'empty'!r} scheme is not fetched; only https")
    if parsed.userinfo:
        raise FetchRefused("URLs with userinfo are refused")
    if not host:
        raise FetchRefused("the URL has no host")
    if policy.allowed_hosts is not None and host not in policy.allowed_hosts:
        raise FetchRefused(f"host {host!r} is not in the allowed hosts")
    return host


def assert_fetchable(url: str, policy: FetchPolicy, *, resolver: Resolver | None = None) -> None:
    """Raise `FetchRefused` unless `policy` allows fetching `url` (resolves the host to check it)."""
    parsed = _parse(url)
    host = _check_url(parsed, policy)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    _checked_addresses(host, port, policy, resolver or system_resolver)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves and checks the host itself and connects only to the checked addresses."""

    def __init__(self, policy: FetchPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception = FetchError(f"cannot connect to {host!r}")
        for address in _checked_addresses(host, port, self._policy, self._resolver):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: FetchPolicy, resolver: Resolver) -> None:
        super().__init__(trust_env=False)
        # httpx has no parameter for httpcore's network backend: swap in a pool that uses ours, so the
        # address check happens on the very address connected to. TLS still verifies the host name.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_GuardedBackend(policy, resolver),
            max_connections=20,
            max_keepalive_connections=10,
            # Below the 5-second idle timeout of uvicorn and Node: we drop an idle connection well before
            # such a server does, instead of racing it.
            keepalive_expiry=2.0,
        )


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class Fetcher:
    """One `httpx.Client` behind the policy. Use as a context manager or call `close()`.

    `transport` replaces the network (an `httpx.MockTransport` or `httpx.ASGITransport` in tests);
    URL and address checks still run, with `resolver` answering for host names.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._resolver = resolver or system_resolver
        self._client = httpx.Client(
            transport=transport or _GuardedTransport(self.policy, self._resolver),
            timeout=httpx.Timeout(self.policy.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "eduwallet", "Accept-Encoding": "identity"},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- the verbs ---------------------------------------------------------------------------

    def get_json(self, url: str, *, accept: str = "application/json") -> Any:
        """GET a JSON document (`application/json` or a `+json` type; a missing type is tolerated)."""
        response = self.request("GET", url, accept=accept)
        if response.content_type and not is_json_media_type(response.content_type):
            raise FetchError(f"{_origin(url)} answered {response.content_type!r}, not JSON")
        return response.json()

    def get_bytes(self, url: str, *, accept: str = "*/*") -> tuple[str, bytes]:
        """GET any body; returns (media type without parameters, body)."""
        response = self.request("GET", url, accept=accept)
        return response.content_type, response.content

    def post_form(self, url: str, data: Mapping[str, str], *, headers: Mapping[str, str] | None = None,
                  accept: str = "application/json") -> FetchResponse:
        """POST `application/x-www-form-urlencoded` (OAuth token requests, OpenID4VP direct_post)."""
        body = urlencode(dict(data)).encode("ascii")
        merged = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", url, content=body, headers=merged, accept=accept)

    def post_json(self, url: str, body: Any, *, headers: Mapping[str, str] | None = None,
                  accept: str = "application/json") -> FetchResponse:
        content = json.dumps(body, separators=(",", ":")).encode("utf-8")
        merged = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", url, content=content, headers=merged, accept=accept)

    def request(self, method: str, url: str, *, content: bytes | None = None,
                headers: Mapping[str, str] | None = None, accept: str = "*/*") -> FetchResponse:
        """Send one request under the policy; redirects are followed (GET only) up to `max_redirects`."""
        deadline = time.monotonic() + self.policy.timeout
        hops = 0
        while True:
            assert_fetchable(url, self.policy, resolver=self._resolver)
            status, response = self._exchange(method, url, content, {**(headers or {}), "Accept": accept}, deadline)
            if status in _REDIRECT_STATUSES:
                location = response.headers.get("location")
                if method != "GET" or location is None or hops >= self.policy.max_redirects:
                    raise FetchStatusError(f"{_origin(url)} redirected; redirects are not followed here",
                                           status=status, response=response)
                hops += 1
                url = str(httpx.URL(url).join(location))
                continue
            if not 200 <= status < 300:
                raise FetchStatusError(f"{_origin(url)} answered HTTP {status}", status=status, response=response)
            return response

    def _exchange(self, method: str, url: str, content: bytes | None, headers: dict[str, str],
                  deadline: float) -> tuple[int, FetchResponse]:
        retries = 1 if method == "GET" else 0
        while True:
            try:
                return self._exchange_once(method, url, content, headers, deadline)
            except httpx.TimeoutException as exc:
                raise FetchError(f"{_origin(url)} timed out") from exc
            except httpx.HTTPError as exc:
                if retries and isinstance(exc, _STALE_CONNECTION_ERRORS):
                    retries -= 1
                    continue
                raise FetchError(f"fetching from {_origin(url)} failed: {type(exc).__name__}") from exc

    def _exchange_once(self, method: str, url: str, content: bytes | None, headers: dict[str, str],
                       deadline: float) -> tuple[int, FetchResponse]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{_origin(url)} timed out")
        with self._client.stream(method, url, content=content, headers=headers,
                                 timeout=httpx.Timeout(remaining)) as response:
            body = self._read_limited(response, url, deadline)
            return response.status_code, FetchResponse(
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                content_type=_media_type(response.headers.get("content-type", "")),
                content=body,
                url=url,
            )

    def _read_limited(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(f"{_origin(url)} sent a {encoding!r}-encoded body; only identity is accepted")
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise FetchError(f"{_origin(url)} sent more than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        # httpx.MockTransport reads the body itself; every real transport streams it.
        source = [response.content] if response.is_stream_consumed else response.iter_raw()
        for chunk in source:
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{_origin(url)} sent more than {limit} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"{_origin(url)} timed out")
            chunks.append(chunk)
        return b"".join(chunks)

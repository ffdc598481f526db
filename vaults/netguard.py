"""Where a tool call may go (14 §3 "URL check"): http(s) only, no metadata endpoints, no
private, loopback or link-local address — checked on the literal host *and* on every address
the name resolves to (REF checks literals only). ``OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS``
lifts the address rule for tests and trusted labs; the allow-list still applies."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = {"http", "https"}
BLOCKED_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "metadata.google.internal", "169.254.169.254"}


class DestinationRefused(ValueError):
    """The URL fails the destination check; the call is ``denied``."""


def _blocked_address(address: ipaddress._BaseAddress) -> bool:
    return (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_unspecified or address.is_multicast or address.is_reserved
    )


def _resolve(host: str, port: int) -> list[ipaddress._BaseAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"Cannot resolve host '{host}'") from exc
    addresses = []
    for info in infos:
        raw = info[4][0].split("%", 1)[0]
        addresses.append(ipaddress.ip_address(raw))
    return addresses


def check_url(url: str, allowed_hosts: list[str] | None = None, *, resolve: bool = True) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise DestinationRefused(f"Blocked scheme: {parts.scheme or '(none)'}")
    host = (parts.hostname or "").lower().strip(".")
    if not host:
        raise DestinationRefused("Empty hostname")
    if allowed_hosts:
        normalized = [str(h).lower().strip(".") for h in allowed_hosts]
        if host not in normalized and not any(host.endswith(f".{h}") for h in normalized):
            raise DestinationRefused(f"Host '{host}' not in allowlist")
    if settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS:
        return url
    if host in BLOCKED_HOSTS:
        raise DestinationRefused(f"Blocked host: {host}")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if _blocked_address(literal):
            raise DestinationRefused(f"Blocked private IP: {host}")
        return url
    if resolve:
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise DestinationRefused("Invalid port") from exc
        for address in _resolve(host, port):
            if _blocked_address(address):
                raise DestinationRefused(f"Host '{host}' resolves to a blocked address")
    return url


# --- connection-time check -------------------------------------------------------------------
# The URL check above resolves the name, but the HTTP library resolves it again when it
# connects; a name whose answer changes in between (DNS rebinding) would slip through. So the
# session used for tool calls also checks the address it actually connected to.

from requests.adapters import HTTPAdapter  # noqa: E402
from urllib3.connection import HTTPConnection, HTTPSConnection  # noqa: E402
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool  # noqa: E402


def check_peer(sock) -> None:
    if settings.OPENINTENT_TOOLS_ALLOW_PRIVATE_DESTINATIONS:
        return
    peer = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
    if _blocked_address(peer):
        sock.close()
        raise DestinationRefused(f"Connected address {peer} is blocked")


def _pool_classes(peer_check) -> dict:
    """urllib3 pool classes whose new connections pass ``peer_check(sock)`` first."""

    class Mixin:
        def _new_conn(self):
            sock = super()._new_conn()
            peer_check(sock)
            return sock

    class GuardedHTTPConnection(Mixin, HTTPConnection):
        pass

    class GuardedHTTPSConnection(Mixin, HTTPSConnection):
        pass

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


class GuardedAdapter(HTTPAdapter):
    """A requests transport whose connections refuse blocked peers. ``peer_check`` defaults
    to the tool-call policy; outbound webhooks pass their own (06)."""

    def __init__(self, *args, peer_check=check_peer, **kwargs):
        self._pool_classes = _pool_classes(peer_check)
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

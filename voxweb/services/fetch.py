"""Server-side URL fetching (``/slicer/mrml?url=``), off unless enabled and never a proxy inward.

Only http and https. Every host a request goes to — the first and each redirect — is resolved
and refused when any of its addresses is loopback, private, shared (CGNAT), link-local,
multicast, reserved, broadcast or unspecified — IPv6 forms that carry an IPv4 address (mapped,
compatible, translated, NAT64, 6to4, Teredo) judged by that address — unless private targets
are explicitly allowed (the DNS answer that is checked is the one connected to: the connection
is pinned to the vetted address). Bodies are size-capped and written to a temporary file."""

from __future__ import annotations

import http.client
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urljoin, urlsplit

MAX_REDIRECTS = 5
CHUNK = 1 << 20


class FetchRefusedError(PermissionError):
    """The URL is not allowed (scheme, address, size, or fetching is off)."""


class FetchFailedError(OSError):
    """The remote side did not deliver."""


@dataclass(frozen=True)
class FetchPolicy:
    enabled: bool = False
    allow_private: bool = False
    # Host names that may resolve to private addresses (an internal PACS, say).
    private_hosts: frozenset[str] = frozenset()
    max_bytes: int = 2 << 30
    timeout: float = 30.0


# IPv6 ranges whose last 32 bits are an IPv4 address the packet really goes to (RFC 4291
# compatible, RFC 2765 translated, RFC 6052 NAT64): judged by that address, or a v6 spelling
# of 127.0.0.1 walks past the filter.
_IPV4_IN_LOW_BITS = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("64:ff9b::/96"),
)
# RFC 8215 local-use NAT64: the operator picks where the IPv4 address sits, so refuse it all.
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, compatible, translated, NAT64,
    6to4, both Teredo addresses); empty for a plain IPv6 address."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client); ipaddress undoes the client's XOR
    if any(ip in net for net in _IPV4_IN_LOW_BITS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _forbidden_ipv4(ip: ipaddress.IPv4Address) -> bool:
    return (
        not ip.is_global
        or ip.is_multicast  # is_global says True for 224/4
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_link_local
        or ip in _SHARED_ADDRESS_SPACE
        or ip == ipaddress.IPv4Address("255.255.255.255")
    )


def is_forbidden_address(address: str) -> bool:
    """True for loopback, private, shared (CGNAT), link-local, multicast, reserved, broadcast
    and unspecified addresses, however an IPv6 address spells an IPv4 one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return _forbidden_ipv4(ip)
    if ip in _NAT64_LOCAL_USE:
        return True
    embedded = embedded_ipv4(ip)
    if embedded:
        # these prefixes are not "global" themselves; the address behind them decides
        return ip.is_unspecified or ip.is_loopback or any(_forbidden_ipv4(v4) for v4 in embedded)
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_link_local
        or ip.is_site_local
    )


def _vetted_address(host: str, port: int, policy: FetchPolicy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchFailedError(f"cannot resolve {host}: {exc}") from None
    addresses = [info[4][0] for info in infos]
    if not policy.allow_private and host.lower() not in policy.private_hosts:
        for address in addresses:
            if is_forbidden_address(address):
                raise FetchRefusedError(
                    f"refusing to fetch from {host} ({address}): loopback, private and link-local "
                    "addresses are not allowed (voxweb serve --allow-private-urls)"
                )
    return addresses[0]


def _connect(
    scheme: str, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    if scheme == "https":
        context = ssl.create_default_context()

        class PinnedHTTPS(http.client.HTTPSConnection):
            def connect(self) -> None:  # connect to the vetted address, verify the real name
                sock = socket.create_connection((address, port), timeout)
                self.sock = context.wrap_socket(sock, server_hostname=host)

        return PinnedHTTPS(host, port, timeout=timeout, context=context)

    class PinnedHTTP(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.create_connection((address, port), timeout)

    return PinnedHTTP(host, port, timeout=timeout)


def open_connection(
    url: str, policy: FetchPolicy
) -> tuple[SplitResult, http.client.HTTPConnection]:
    """A connection to ``url``'s server, pinned to an address the policy allows.

    The name is resolved once and checked here; the connection goes to that address (so a
    second lookup cannot swap in a private one), and HTTPS still verifies the real name.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefusedError(f"only http and https URLs can be fetched, not {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _vetted_address(parts.hostname, port, policy)
    return parts, _connect(parts.scheme, parts.hostname, port, address, policy.timeout)


def fetch_to_file(url: str, policy: FetchPolicy, directory: Path | None = None) -> Path:
    """Download ``url`` into a temporary file (named like the URL's file) and return its path."""
    if not policy.enabled:
        raise FetchRefusedError(
            "loading from URLs is disabled; start voxweb with --allow-url-fetch"
        )
    for _ in range(MAX_REDIRECTS + 1):
        parts, conn = open_connection(url, policy)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            conn.request("GET", target, headers={"User-Agent": "voxweb", "Accept": "*/*"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise FetchFailedError(f"{url} answered {response.status} {response.reason}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchRefusedError(
                    f"{url} is {declared} bytes, over the limit of {policy.max_bytes}"
                )
            name = os.path.basename(parts.path) or "download"
            folder = Path(tempfile.mkdtemp(prefix="voxweb-fetch-", dir=directory))
            path = folder / name
            size = 0
            try:
                with path.open("wb") as out:
                    while block := response.read(CHUNK):
                        size += len(block)
                        if size > policy.max_bytes:
                            raise FetchRefusedError(
                                f"{url} is over the limit of {policy.max_bytes} bytes"
                            )
                        out.write(block)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            return path
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, (FetchRefusedError, FetchFailedError)):
                raise
            raise FetchFailedError(f"fetching {url} failed: {exc}") from None
        finally:
            conn.close()
    raise FetchFailedError(f"too many redirects fetching {url}")

"""The SSRF guard: every outbound connection goes to an address that was checked first.

A hostname is resolved once, inside the connection step, each address is checked against the
policy, and the socket is opened to that very address (never to the name again), so a DNS
answer cannot change between check and connect. The guard is an httpcore network backend, so
it sees every connection httpx opens, redirect hops included; the Host header and the TLS
SNI / certificate check keep using the hostname from the URL.

Refused unless allowlisted: loopback, private (RFC 1918, ULA), carrier-grade NAT, link-local,
multicast, reserved, unspecified, documentation and benchmarking ranges, cloud metadata
addresses, and IPv6 forms that embed one of those (IPv4-mapped, IPv4-compatible, NAT64,
6to4). Teredo is refused outright.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
TEREDO = ipaddress.ip_network("2001::/32")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class DestinationForbidden(Exception):
    """The request's destination address is refused by the outbound policy."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(
            f"Refused to connect to {host} ({address}): {reason} address; "
            "allowlist it in HOOKTIDE_OUTBOUND_ALLOW if this is intended."
        )
        self.host = host
        self.address = address
        self.reason = reason


def parse_allowlist(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (comma- or space-separated string, or an iterable); a bare address is a /32 or /128."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)
    except ValueError as exc:
        raise ValueError(f"HOOKTIDE_OUTBOUND_ALLOW holds an invalid CIDR: {exc}") from exc


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, compatible), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in NAT64) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast destination, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return "scoped IPv6"
    inner = embedded_ipv4(ip)
    if inner is not None:
        why = refusal(inner)
        return f"{why} (embedded in {ip})" if why else None
    checks: list[tuple[bool, str]] = [
        (ip in METADATA, "cloud metadata"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv6Address) and ip in TEREDO, "Teredo"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "non-global"),
    ]
    return next((reason for hit, reason in checks if hit), None)


class OutboundPolicy:
    """Which destination addresses are allowed: public unicast, plus the allowlisted CIDRs."""

    def __init__(self, *, allow: Sequence[IPNetwork] = ()) -> None:
        self.allow = tuple(allow)

    @classmethod
    def from_setting(cls, value: str) -> OutboundPolicy:
        return cls(allow=parse_allowlist(value))

    def __repr__(self) -> str:
        return f"OutboundPolicy(allow={[str(n) for n in self.allow]})"

    def allowlisted(self, ip: IPAddress) -> bool:
        candidates = [ip, *filter(None, [embedded_ipv4(ip)])]
        return any(c.version == net.version and c in net for c in candidates for net in self.allow)

    def check(self, host: str, address: str) -> IPAddress:
        """The parsed address if allowed; raises `DestinationForbidden` otherwise."""
        ip = ipaddress.ip_address(address)
        if self.allowlisted(ip):
            return ip
        reason = refusal(ip)
        if reason is not None:
            raise DestinationForbidden(host, address, reason)
        return ip


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the system resolver's order (IP literals included)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_checked(
    host: str, port: int, policy: OutboundPolicy, resolver: Resolver = system_resolver
) -> list[IPAddress]:
    """The allowed addresses of `host`; raises `DestinationForbidden` when none is allowed."""
    try:
        addresses = await resolver(host.strip("[]"), port)
    except OSError as exc:
        raise httpcore.ConnectError(f"Cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise httpcore.ConnectError(f"{host} resolves to no address")
    allowed: list[IPAddress] = []
    first_refusal: DestinationForbidden | None = None
    for address in addresses:
        try:
            allowed.append(policy.check(host, address))
        except DestinationForbidden as exc:
            first_refusal = first_refusal or exc
    if not allowed:
        assert first_refusal is not None
        raise first_refusal
    return allowed


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address itself (no second lookup)."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()
        self.connected: list[tuple[str, str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self.policy, self.resolver)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            self.connected.append((host, str(ip), port))
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationForbidden(path, path, "Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@functools.cache
def ssl_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~40 ms of CPU, which per
    call (twice, once for httpx's own pool) was most of an outbound call's cost."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (and its error mapping), over a connection pool that connects
    only through `GuardedBackend`. Proxies and Unix sockets are not offered: both would
    connect somewhere other than the checked address."""

    def __init__(self, backend: GuardedBackend, *, verify: bool = True) -> None:
        super().__init__(verify=ssl_context(verify), trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx's transport layout changed: the SSRF guard cannot attach")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context(verify),
            max_connections=10,
            max_keepalive_connections=5,
            network_backend=backend,
        )
        self.backend = backend

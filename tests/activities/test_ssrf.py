"""The SSRF guard's address policy, resolution and pinning. No test here sends a packet
anywhere: refusals happen before any connect, and the stand-in backend records attempts."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import httpcore
import pytest

from activities.http.ssrf import (
    DestinationForbidden,
    GuardedBackend,
    OutboundPolicy,
    Resolver,
    parse_allowlist,
    refusal,
    resolve_checked,
    system_resolver,
)

STRICT = OutboundPolicy()
LOOPBACK = OutboundPolicy.from_setting("127.0.0.0/8,::1/128")

REFUSED = [
    "127.0.0.1",
    "127.255.0.9",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "100.100.100.200",
    "192.0.0.192",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "198.18.0.1",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2002:a00:1::1",
    "2001::1",
    "2001:db8::1",
    "fc00::1",
    "fd00::1",
    "fd00:ec2::254",
    "fe80::1",
    "fec0::1",
    "ff02::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the network: records where it was asked to connect, then refuses."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.calls.append((host, port))
        raise httpcore.ConnectError("recorded, not connected")


def fixed(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize("address", REFUSED)
def test_special_addresses_are_refused_by_default(address: str) -> None:
    with pytest.raises(DestinationForbidden):
        STRICT.check("example.test", address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_are_allowed(address: str) -> None:
    assert STRICT.check("example.test", address) == ipaddress.ip_address(address)


def test_refusal_names_the_reason_and_the_embedding_form() -> None:
    assert refusal(ipaddress.ip_address("169.254.169.254")) == "cloud metadata"
    assert refusal(ipaddress.ip_address("10.1.2.3")) == "private"
    assert (
        refusal(ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback (embedded in ::ffff:7f00:1)"
    )
    assert refusal(ipaddress.ip_address("2001::1")) == "Teredo"


def test_allowlisted_cidr_permits_only_its_own_range() -> None:
    assert str(LOOPBACK.check("peer", "127.0.0.1")) == "127.0.0.1"
    assert str(LOOPBACK.check("peer", "::1")) == "::1"
    assert str(LOOPBACK.check("peer", "::ffff:127.0.0.1")) == "::ffff:7f00:1"
    for address in ("10.0.0.1", "169.254.169.254", "fd00::1", "::2"):
        with pytest.raises(DestinationForbidden):
            LOOPBACK.check("peer", address)


def test_allowlist_setting_reads_commas_spaces_and_bare_addresses() -> None:
    nets = parse_allowlist("127.0.0.0/8, ::1  10.1.2.3")
    assert [str(n) for n in nets] == ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]
    assert parse_allowlist("") == ()


def test_allowlist_setting_rejects_an_invalid_cidr_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="HOOKTIDE_OUTBOUND_ALLOW"):
        parse_allowlist("127.0.0.0/8,not-a-net")


@pytest.mark.parametrize("spelling", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "0"])
async def test_numeric_ipv4_spellings_resolve_to_special_addresses_and_are_refused(
    spelling: str,
) -> None:
    with pytest.raises(DestinationForbidden):
        await resolve_checked(spelling, 80, STRICT, system_resolver)


async def test_hostname_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(DestinationForbidden, match="localhost"):
        await resolve_checked("localhost", 80, STRICT, system_resolver)
    with pytest.raises(DestinationForbidden, match="loopback"):
        await resolve_checked("evil.test", 80, STRICT, fixed("127.0.0.1"))


async def test_only_the_allowed_addresses_of_a_mixed_answer_are_used() -> None:
    allowed = await resolve_checked(
        "mixed.test",
        80,
        STRICT,
        fixed("10.0.0.1", "8.8.8.8", "169.254.169.254"),
    )
    assert [str(a) for a in allowed] == ["8.8.8.8"]


async def test_guarded_backend_refuses_before_connecting() -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(
        STRICT,
        resolver=fixed("169.254.169.254", "::ffff:10.0.0.1"),
        inner=inner,
    )
    with pytest.raises(DestinationForbidden, match="cloud metadata"):
        await backend.connect_tcp("metadata.test", 80)
    assert inner.calls == []


async def test_guarded_backend_connects_to_the_checked_address_not_the_name() -> None:
    inner = RecordingBackend()
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["8.8.4.4"] if len(lookups) == 1 else ["127.0.0.1"]

    backend = GuardedBackend(STRICT, resolver=rebinding, inner=inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("rebind.test", 443)
    assert lookups == ["rebind.test"]
    assert inner.calls == [("8.8.4.4", 443)]


async def test_guarded_backend_refuses_unix_sockets() -> None:
    backend = GuardedBackend(LOOPBACK, inner=RecordingBackend())
    with pytest.raises(DestinationForbidden, match="Unix socket"):
        await backend.connect_unix_socket("/var/run/docker.sock")

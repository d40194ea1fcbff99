"""IP addresses and networks as the route file and settings write them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def parse_networks(items: str | Iterable[str], *, what: str) -> tuple[Network, ...]:
    """CIDRs (or single addresses) from a list or a comma/space-separated string."""
    texts = items.replace(",", " ").split() if isinstance(items, str) else list(items)
    networks: list[Network] = []
    for text in texts:
        try:
            networks.append(ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(
                f"{what}: '{text}' is not an IP address or CIDR network "
                "(write e.g. 10.0.0.0/8 or 2001:db8::/32)"
            ) from exc
    return tuple(networks)


def parse_ip(text: str | None) -> Address | None:
    """An address from a peer or hop value (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `"[::1]"`)."""
    if not text:
        return None
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        addr = ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def contains(networks: Sequence[Network], addr: Address) -> bool:
    # `in` does not compare versions: an IPv4 address can "match" an IPv6 network.
    return any(addr.version == net.version and addr in net for net in networks)

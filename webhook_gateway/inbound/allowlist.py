"""A route's IP allowlist (`allow_ips`): IPv4 and IPv6 CIDRs; empty means everyone."""

from __future__ import annotations

from collections.abc import Sequence

from webhook_gateway.config.networks import Network, contains, parse_ip
from webhook_gateway.errors import Forbidden


class IpAllowlist:
    def __init__(self, networks: Sequence[Network] = ()) -> None:
        self.networks = tuple(networks)

    def __repr__(self) -> str:
        return f"IpAllowlist({[str(n) for n in self.networks]!r})"

    def check(self, client_ip: str | None) -> None:
        """Raises `Forbidden` unless the list is empty or holds the client's address."""
        if not self.networks:
            return
        addr = parse_ip(client_ip)
        if addr is None or not contains(self.networks, addr):
            shown = str(addr) if addr else "unknown"
            raise Forbidden(
                f"Client address {shown} is not on this route's allowlist; "
                "ask the gateway's operator to add the sender's network to allow_ips."
            )

"""Who is calling, and which URL they called: proxy headers are believed only when the
direct peer is a trusted proxy (HOOKTIDE_TRUSTED_PROXIES).

The client is the right-most address in X-Forwarded-For (or `Forwarded: for=`) that is not
itself a trusted proxy: everything left of it was written by the client and can be forged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from starlette.datastructures import URL, Headers

from webhook_gateway.config.networks import Address, Network, contains, parse_ip, parse_networks
from webhook_gateway.contracts.errors import ConfigError

__all__ = ["Address", "Network", "ProxyTrust", "contains", "parse_ip", "parse_networks"]

ForwardedHeader = Literal["x-forwarded-for", "forwarded"]

MAX_HOPS = 64
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class ProxyTrust:
    def __init__(
        self, trusted: Sequence[Network] = (), *, header: ForwardedHeader = "x-forwarded-for"
    ) -> None:
        self.trusted = tuple(trusted)
        self.header = header

    @classmethod
    def from_setting(cls, trusted: str, *, header: ForwardedHeader) -> ProxyTrust:
        """From HOOKTIDE_TRUSTED_PROXIES; a bad entry is a `ConfigError` naming it."""
        try:
            return cls(parse_networks(trusted, what="HOOKTIDE_TRUSTED_PROXIES"), header=header)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    def __repr__(self) -> str:
        return f"ProxyTrust({[str(n) for n in self.trusted]!r}, header={self.header!r})"

    def _trusted_peer(self, peer: str | None) -> bool:
        if not self.trusted:  # no proxy is trusted: nothing to parse
            return False
        addr = parse_ip(peer)
        return addr is not None and contains(self.trusted, addr)

    def client_ip(self, peer: str | None, headers: Headers) -> str | None:
        """The calling client's address; None when a trusted proxy reported garbage."""
        if not self._trusted_peer(peer):
            return peer
        hops = self._hops(headers)
        for hop in reversed(hops):
            addr = parse_ip(hop)
            if addr is None:
                return None
            if not contains(self.trusted, addr):
                return str(addr)
        first = parse_ip(hops[0]) if hops else None
        return str(first) if first else peer

    def public_url(self, url: URL, peer: str | None, headers: Headers) -> str:
        """`url` with the scheme and host a trusted proxy says the client used."""
        if not self._trusted_peer(peer):
            return str(url)
        if self.header == "forwarded":
            last = _forwarded_elements(headers)[-1:] or [{}]
            proto, host = last[0].get("proto"), last[0].get("host")
        else:
            proto = _last(headers, "x-forwarded-proto")
            host = _last(headers, "x-forwarded-host")
        try:
            if proto and proto.lower() in {"http", "https"}:
                url = url.replace(scheme=proto.lower())
            if host and _HOST.fullmatch(host):
                url = url.replace(netloc=host)
        except ValueError:  # the Host header itself does not parse; verifiers will refuse
            pass
        return str(url)

    def _hops(self, headers: Headers) -> list[str]:
        if self.header == "forwarded":
            return [e.get("for", "") for e in _forwarded_elements(headers)][-MAX_HOPS:]
        hops = [h.strip() for v in headers.getlist("x-forwarded-for") for h in v.split(",")]
        return hops[-MAX_HOPS:]


def _last(headers: Headers, name: str) -> str | None:
    values = [v.strip() for value in headers.getlist(name) for v in value.split(",")]
    return values[-1] if values else None


def _forwarded_elements(headers: Headers) -> list[dict[str, str]]:
    """RFC 7239 `Forwarded` elements, oldest first, as lower-cased parameter dicts."""
    elements: list[dict[str, str]] = []
    for value in headers.getlist("forwarded"):
        for element in value.split(","):
            params: dict[str, str] = {}
            for pair in element.split(";"):
                key, _, val = pair.partition("=")
                params[key.strip().lower()] = val.strip().strip('"')
            elements.append(params)
    return elements

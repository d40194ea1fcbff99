"""Client address and public URL: proxy headers count only from trusted proxies."""

from __future__ import annotations

import pytest
from starlette.datastructures import URL, Headers

from webhook_gateway.config.networks import parse_networks
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.errors import Forbidden
from webhook_gateway.inbound.allowlist import IpAllowlist
from webhook_gateway.inbound.client_ip import ProxyTrust

PROXIES = ProxyTrust(parse_networks("10.0.0.0/8, fd00::/8", what="test"))


def headers(**values: str) -> Headers:
    return Headers({k.replace("_", "-"): v for k, v in values.items()})


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert PROXIES.client_ip("203.0.113.9", headers(x_forwarded_for="192.0.2.1")) == "203.0.113.9"


def test_right_most_untrusted_hop_is_the_client() -> None:
    chain = headers(x_forwarded_for="6.6.6.6, 192.0.2.1, 10.0.0.2")
    assert PROXIES.client_ip("10.0.0.1", chain) == "192.0.2.1"


def test_repeated_x_forwarded_for_headers_are_read_in_order() -> None:
    raw = Headers(raw=[(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"192.0.2.7")])
    assert PROXIES.client_ip("10.0.0.1", raw) == "192.0.2.7"


def test_garbage_hop_from_a_trusted_proxy_gives_no_client_address() -> None:
    assert PROXIES.client_ip("10.0.0.1", headers(x_forwarded_for="not-an-ip")) is None


def test_forwarded_header_with_ipv6_and_port_when_configured() -> None:
    trust = ProxyTrust(PROXIES.trusted, header="forwarded")
    value = 'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"'
    assert trust.client_ip("fd00::1", headers(forwarded=value)) == "2001:db8:cafe::17"


def test_forwarded_header_is_ignored_when_x_forwarded_for_is_configured() -> None:
    assert PROXIES.client_ip("10.0.0.1", headers(forwarded="for=192.0.2.60")) == "10.0.0.1"


def test_public_url_takes_proto_and_host_from_a_trusted_proxy_only() -> None:
    url = URL("http://10.0.0.5:8000/webhooks/sms?x=1")
    forwarded = headers(x_forwarded_proto="https", x_forwarded_host="hooks.example.com")
    assert (
        PROXIES.public_url(url, "10.0.0.1", forwarded)
        == "https://hooks.example.com/webhooks/sms?x=1"
    )
    assert PROXIES.public_url(url, "203.0.113.9", forwarded) == str(url)


def test_bad_trusted_proxy_setting_refuses_to_start_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"HOOKTIDE_TRUSTED_PROXIES.*'10.0.0.0/33'"):
        ProxyTrust.from_setting("10.0.0.0/33", header="x-forwarded-for")


def test_allowlist_admits_ipv4_and_ipv6_members() -> None:
    allow = IpAllowlist(parse_networks(["192.0.2.0/24", "2001:db8::/32"], what="t"))
    allow.check("192.0.2.200")
    allow.check("2001:db8::5")
    allow.check("::ffff:192.0.2.1")


@pytest.mark.parametrize("client", ["198.51.100.1", "2001:db9::1", None, "0.0.0.1"])
def test_allowlist_refuses_others_with_403(client: str | None) -> None:
    allow = IpAllowlist(parse_networks(["192.0.2.0/24", "::/96"], what="t"))
    with pytest.raises(Forbidden) as info:
        allow.check(client)
    assert info.value.status == 403


def test_empty_allowlist_admits_everyone() -> None:
    IpAllowlist().check(None)

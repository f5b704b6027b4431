"""Client addresses as rate-limit keys: one key per address however written, one per IPv6
network, and trusted proxies as addresses or CIDR ranges (issue 13 item 16)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from jwtauth.ratelimit import DEFAULT_POLICIES, MemoryRateLimiter
from jwtauth.ratelimit.addresses import (
    UNKNOWN_ADDRESS,
    TrustedProxies,
    address_key,
    canonical_network,
    normalise_address,
    parse_network,
)

# One address, written six ways.
SIX_WAYS_V6 = [
    "2001:db8::1",
    "2001:DB8::1",
    "2001:0db8:0000:0000:0000:0000:0000:0001",
    "2001:db8:0:0::1",
    "[2001:db8::1]",
    " 2001:db8::1%eth0 ",
]
SIX_WAYS_V4 = [
    "192.0.2.1",
    " 192.0.2.1",
    "::ffff:192.0.2.1",
    "::FFFF:c000:0201",
    "[::ffff:192.0.2.1]",
    "0:0:0:0:0:ffff:192.0.2.1",
]


@pytest.mark.parametrize("spelling", SIX_WAYS_V6)
def test_an_ipv6_address_has_one_canonical_form(spelling: str) -> None:
    assert normalise_address(spelling) == "2001:db8::1"


@pytest.mark.parametrize("spelling", SIX_WAYS_V4)
def test_an_ipv4_mapped_address_is_the_ipv4_address(spelling: str) -> None:
    assert normalise_address(spelling) == "192.0.2.1"


@pytest.mark.parametrize(
    "text", ["", "unknown", "192.0.2.1:443", "192.0.2", "01.2.3.4", "2001:db8::g", "_hidden"]
)
def test_what_is_not_an_address_is_none_and_keys_one_shared_bucket(text: str) -> None:
    assert normalise_address(text) is None
    assert address_key(text) == UNKNOWN_ADDRESS
    assert address_key(None) == UNKNOWN_ADDRESS


def test_one_ipv6_subscriber_network_is_one_key() -> None:
    keys = {address_key(f"2001:db8:1:2:{n:x}::{n:x}") for n in range(1, 500)}
    assert keys == {"2001:db8:1:2::/64"}
    assert address_key("2001:db8:1:3::1") == "2001:db8:1:3::/64"  # the next /64 is another


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (48, "2001:db8:1::/48"),
        (56, "2001:db8:1::/56"),
        (128, "2001:db8:1:2:3:4:5:6/128"),
    ],
)
def test_the_ipv6_prefix_is_configurable(prefix: int, expected: str) -> None:
    assert address_key("2001:db8:1:2:3:4:5:6", prefix) == expected


@pytest.mark.parametrize("prefix", [0, 31, 129])
def test_an_ipv6_prefix_outside_32_to_128_is_refused(prefix: int) -> None:
    with pytest.raises(ValueError, match="between 32 and 128"):
        address_key("2001:db8::1", prefix)


def test_ipv4_addresses_are_not_aggregated() -> None:
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.2") == "192.0.2.2"


@pytest.mark.anyio
async def test_one_address_written_six_ways_spends_one_quota() -> None:
    limiter = MemoryRateLimiter()
    policy = DEFAULT_POLICIES["login-ip"]  # 5 a minute
    decisions = [await limiter.hit(policy, address_key(way)) for way in SIX_WAYS_V6]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert len(limiter) == 1


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        (" 192.0.2.7/32 ", "192.0.2.7"),
        ("::1", "::1"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("2001:db8::5/128", "2001:db8::5"),
    ],
)
def test_trusted_proxy_entries_are_addresses_or_ranges(entry: str, canonical: str) -> None:
    assert canonical_network(entry) == canonical
    assert parse_network(entry) == ip_network(canonical)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("nope", "not an IP address or CIDR range"),
        ("", "not an IP address or CIDR range"),
        ("10.0.0.0/33", "not an IP address or CIDR range"),
        ("fe80::1%eth0", "not an IP address or CIDR range"),
        ("10.1.2.3/8", "bits set after its prefix length"),
        ("2001:db8::1/32", "bits set after its prefix length"),
    ],
)
def test_malformed_trusted_proxy_entries_are_refused_without_quoting_them(
    entry: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason) as refused:
        parse_network(entry)
    if entry:
        assert entry not in str(refused.value)


@pytest.mark.parametrize(
    ("proxies", "address", "trusted"),
    [
        (["0.0.0.0/0"], "203.0.113.7", True),  # the range that never matched as a string
        (["10.0.0.0/8"], "10.200.3.4", True),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["127.0.0.1"], "::ffff:127.0.0.1", True),  # a dual-stack listener's view of loopback
        (["2001:db8::/32"], "2001:DB8:ffff::1", True),
        (["2001:db8::/32"], "2001:db9::1", False),
        (["::/0"], "192.0.2.1", False),  # IPv4 is not inside an IPv6 range
        (["127.0.0.1"], "not-an-address", False),
        ([], "127.0.0.1", False),
    ],
)
def test_membership_of_trusted_proxies_is_by_network(
    proxies: list[str], address: str, trusted: bool
) -> None:
    assert (address in TrustedProxies.parse(proxies)) is trusted

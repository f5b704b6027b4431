"""Client addresses as rate-limit keys, and the proxies whose forwarding headers are believed.

A rate limit per address is only as good as its key. Keyed by the raw text, one address written
six ways (``2001:db8::1``, ``2001:DB8:0::1``, ``[2001:db8::1]``, ``2001:db8::1%eth0``,
``::ffff:192.0.2.1`` for ``192.0.2.1``...) is six buckets, and one IPv6 subscriber, who is
normally given a whole /64 or more (RFC 6177), has 2**64 of them. :func:`address_key` gives one
key per address and one per IPv6 network of a configurable prefix.

Framework-free, like the rest of :mod:`jwtauth.ratelimit`; the server resolves the client
address with :func:`jwtauth.server.middleware.client_address`, on a :class:`TrustedProxies`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

__all__ = [
    "DEFAULT_IPV6_PREFIX",
    "UNKNOWN_ADDRESS",
    "Network",
    "TrustedProxies",
    "address_key",
    "canonical_network",
    "normalise_address",
    "parse_network",
]

Network = IPv4Network | IPv6Network

DEFAULT_IPV6_PREFIX = 64
"""What one IPv6 subscriber is usually given, so what one rate-limit key covers by default."""

UNKNOWN_ADDRESS = "unknown"
"""The key of every request whose client address is missing or not an IP address: one shared
bucket, so that a client cannot mint new keys by sending addresses that do not parse."""


def normalise_address(text: str) -> str | None:
    """The canonical text of the IP address ``text``, or ``None`` when it is not one.

    Whitespace and ``[`` ``]`` around it and a zone id (``%eth0``) are dropped, an IPv4-mapped
    IPv6 address (``::ffff:192.0.2.1``) is the IPv4 address it maps, and IPv6 is written in the
    RFC 5952 form (lower case, longest run of zeros compressed). A port is not an address part:
    ``192.0.2.1:443`` is ``None``.
    """
    candidate = text.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    # A zone id names an interface of the host that saw the address, not a different client.
    candidate = candidate.partition("%")[0]
    try:
        address = ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def address_key(address: str | None, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The rate-limit key of a client address.

    An IPv4 address is its own key; an IPv6 address is keyed by its ``/ipv6_prefix`` network
    (``2001:db8:1:2::/64``); a missing address or one that is not an IP address is
    :data:`UNKNOWN_ADDRESS`.

    Raises:
        ValueError: ``ipv6_prefix`` is outside 32..128 (shorter would put whole providers in
            one bucket).
    """
    if not 32 <= ipv6_prefix <= 128:
        raise ValueError("ipv6_prefix must be between 32 and 128")
    normal = normalise_address(address) if address is not None else None
    if normal is None:
        return UNKNOWN_ADDRESS
    parsed = ip_address(normal)
    if isinstance(parsed, IPv4Address):
        return normal
    return str(IPv6Network((parsed, ipv6_prefix), strict=False))


def parse_network(entry: str) -> Network:
    """One trusted-proxy entry: an address (``10.0.0.7``, ``::1``) or a CIDR range
    (``10.0.0.0/8``, ``2001:db8::/32``).

    Raises:
        ValueError: not an address or range, or a range with bits set beyond its prefix
            (``10.0.0.1/8``: meant ``10.0.0.0/8`` or ``10.0.0.1``? we do not guess). The
            message names the expected form and never repeats the entry.
    """
    text = entry.strip()
    # ipaddress accepts a zone id (fe80::1%eth0), but it names an interface, not a network.
    if "%" in text:
        raise ValueError(_NOT_A_NETWORK)
    try:
        ip_network(text, strict=False)
    except ValueError:
        raise ValueError(_NOT_A_NETWORK) from None
    try:
        return ip_network(text, strict=True)
    except ValueError:
        raise ValueError(
            "a CIDR range with bits set after its prefix length; write its network address "
            "(10.0.0.0/8, not 10.0.0.1/8)"
        ) from None


_NOT_A_NETWORK = "not an IP address or CIDR range (examples: 10.0.0.7, 10.0.0.0/8, 2001:db8::/32)"


def canonical_network(entry: str) -> str:
    """:func:`parse_network`'s result as text: a single address without ``/32`` or ``/128``.

    Raises:
        ValueError: as :func:`parse_network`.
    """
    network = parse_network(entry)
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The peers whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed.

    ``address in proxies`` is true for an address inside any of the networks, however the
    address is written (see :func:`normalise_address`).
    """

    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str | Network] | TrustedProxies) -> TrustedProxies:
        """From addresses and CIDR ranges, as ``JWTAUTH_TRUSTED_PROXIES`` lists them.

        Raises:
            ValueError: an entry that :func:`parse_network` refuses.
        """
        if isinstance(entries, TrustedProxies):
            return entries
        return cls(
            tuple(
                e if isinstance(e, IPv4Network | IPv6Network) else parse_network(e) for e in entries
            )
        )

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        normal = normalise_address(address)
        if normal is None:
            return False
        parsed = ip_address(normal)
        return any(parsed in network for network in self.networks)

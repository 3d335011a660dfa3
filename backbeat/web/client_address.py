"""The visitor's address when Backbeat runs behind a reverse proxy or load balancer.

Behind a proxy (nginx or Caddy terminating TLS, a load balancer) every connection comes
from the proxy, so the peer address is the proxy's. Used as the visitor's, it would put
every visitor into one cookieless id per User-Agent, look up the proxy's country, and
flag everyone at once for the per-visitor event rate. ``BACKBEAT_TRUSTED_PROXIES`` names
the proxies (addresses or networks); for a connection from one of them the address is
read from ``X-Forwarded-For``, which each proxy extends with the address it saw.

The header is read from the right: the last entry was written by the proxy that connected
to us, and each entry to its left by the proxy before it, as long as that one is trusted
too. The first address from the right that is not a trusted proxy is the visitor's; what
lies to its left came from the visitor and could be anything. A connection from anywhere
else is taken as it is, whatever headers it sends, so a visitor cannot forge an address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
__all__ = ["TrustedProxies", "forwarded_for", "visitor_address"]

_MAX_HOPS = 16  # entries read from the right, at most: a huge header costs nothing more


class TrustedProxies:
    """Which peers may tell us the visitor's address, and reading it."""

    def __init__(self, networks: Iterable[_Network] = ()) -> None:
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return self._trusted(ip)

    def _trusted(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(ip in net for net in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The visitor's address: `peer`, or for a trusted peer the rightmost address of
        `forwarded_for` (``X-Forwarded-For``) that is not a trusted proxy itself."""
        if not self.networks or not forwarded_for or not self.trusts(peer):
            return peer
        hops = forwarded_for.rsplit(",", _MAX_HOPS)[-_MAX_HOPS:]
        for entry in reversed(hops):
            address = entry.strip()
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return peer  # garbage where an address should be: trust none of it
            if not self._trusted(ip):
                return address
        return peer  # every hop a proxy of ours: the request came from inside


def forwarded_for(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """Every ``X-Forwarded-For`` value of an ASGI request, joined in order (a proxy may add
    a header line of its own rather than extend the last one); None when there is none."""
    values = [v for k, v in headers if k.lower() == b"x-forwarded-for"]
    if not values:
        return None
    return b",".join(values).decode("latin-1")


def visitor_address(peer: str, headers: Sequence[tuple[bytes, bytes]],
                    proxies: TrustedProxies) -> str:
    """The visitor's address for a request from `peer` with these raw headers."""
    if not proxies:
        return peer
    return proxies.client(peer, forwarded_for(headers))

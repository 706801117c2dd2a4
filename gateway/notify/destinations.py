"""Where the gateway may send a notification: allow-listed hosts on public addresses only.

A hospital names its endpoint, but the gateway makes the request, from inside the operator's
network. Without these checks a hospital could point a rest-hook at 10.0.0.5, 127.0.0.1:5432
or the cloud metadata service (169.254.169.254) and use the gateway to reach them (SSRF). So:
the host must be on the hospital's allow-list (set by an admin), every address it resolves to
must be a public one, and the request is then sent to the address that was checked (no second
DNS lookup an attacker could answer differently) with redirects never followed. The check runs
at registration and again before every delivery. In `CLAIMGW_ENV=dev` plain http and the
address 127.0.0.1 are also allowed, for the demo and the tests.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
DEV_LOOPBACK = ipaddress.ip_address("127.0.0.1")
HOST_NAME = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class EndpointRefused(ValueError):
    """An endpoint the gateway will not send to, with the reason in words."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked endpoint: its URL, host name, port and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{self.port}"
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.scheme}://{netloc}{parts.path or '/'}{query}"


def resolve(host: str, port: int) -> list[str]:
    """Every address a host name resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EndpointRefused(f"the host {host} does not resolve") from exc
    return sorted({str(info[4][0]) for info in infos})


def split_endpoint(url: str, *, dev: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint URL; https only outside dev, no credentials."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused("the endpoint is not a valid URL") from exc
    allowed = ("https", "http") if dev else ("https",)
    if parts.scheme not in allowed:
        raise EndpointRefused("the endpoint must be an https URL")
    if not parts.hostname:
        raise EndpointRefused("the endpoint has no host")
    if parts.username or parts.password:
        raise EndpointRefused("the endpoint may not carry a user name or password")
    if parts.fragment:
        raise EndpointRefused("the endpoint may not have a fragment")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname.lower().rstrip("."), port or default


def address_allowed(address: str, *, dev: bool) -> bool:
    """A public unicast address; in dev also 127.0.0.1."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if dev and ip == DEV_LOOPBACK:
        return True
    return ip.is_global and not ip.is_multicast


def check_endpoint(
    url: str,
    *,
    allowed_hosts: Collection[str],
    dev: bool,
    resolver: Resolver = resolve,
) -> Destination:
    """The destination of an endpoint, or EndpointRefused saying why it may not be used."""
    scheme, host, port = split_endpoint(url, dev=dev)
    if host not in {h.lower() for h in allowed_hosts}:
        raise EndpointRefused(
            f"the host {host} is not on this hospital's allow-list; ask the SSO to add it"
        )
    addresses = resolver(host, port)
    if not addresses:
        raise EndpointRefused(f"the host {host} does not resolve")
    refused = [a for a in addresses if not address_allowed(a, dev=dev)]
    if refused:
        raise EndpointRefused(
            f"the host {host} resolves to a private, loopback or link-local address"
        )
    return Destination(url=url.strip(), scheme=scheme, host=host, port=port, address=addresses[0])


def normalise_host(host: str) -> str:
    """An allow-list entry as stored: a lower-case host name or IP literal, no port."""
    value = host.strip().lower().rstrip(".").strip("[]")
    if _is_ip(value) or (len(value) <= 253 and HOST_NAME.match(value)):
        return value
    raise EndpointRefused(f"{host[:80]!r} is not a host name")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True

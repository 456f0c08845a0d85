"""SSRF rules for webhook URLs: checked when an endpoint is saved and again at every delivery.

https, at most 2048 characters, no credentials, a host that resolves only to public addresses
(loopback, private addresses and http only with allow_private; link-local, multicast and
reserved never). An IPv4 address embedded in IPv6 is judged as itself, so every spelling of an
address gets one verdict. At delivery `VettingResolver` is the HTTP client's resolver, so the
vetted addresses are the ones connected to. See
docs/decisions/0022-webhook-urls-vetted-at-connect.md.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from wavis.core.errors import WavisError

MAX_URL_CHARS = 2048
PRIVATE_SUFFIXES = (".local", ".internal", ".intranet")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> addresses (a seam for tests; the default asks the system resolver).
Lookup = Callable[[str, int], Awaitable[list[str]]]


class SsrfRefused(Exception):
    """The URL or an address it resolves to is not allowed."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    literal: IpAddress | None  # the host, when it is an IP address


def invalid(message: str) -> WavisError:
    return WavisError("INVALID_WEBHOOK_URL", message, {"field": "url"})


def parse_url(url: str) -> Target:
    """Shape checks (no DNS): raise SsrfRefused with a sentence."""
    if len(url) > MAX_URL_CHARS:
        raise SsrfRefused(f"The URL is longer than {MAX_URL_CHARS} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SsrfRefused(f"The URL is not valid ({exc}).") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SsrfRefused("The URL must be an absolute https URL.")
    if parts.username is not None or parts.password is not None:
        raise SsrfRefused("The URL must not carry credentials.")
    host = parts.hostname.lower().rstrip(".")
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), literal)


# IPv6 prefixes that carry an IPv4 address in their low 32 bits: IPv4-compatible (::/96,
# deprecated) and NAT64 (64:ff9b::/96). Mapped (::ffff:0:0/96) and 6to4 (2002::/16) have
# their own properties in ipaddress.
_IPV4_IN_LOW_BITS = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b::/96"))


def canonical(address: IpAddress) -> IpAddress:
    """The address a connection to `address` reaches: an IPv4 address embedded in IPv6
    (mapped, compatible, NAT64, 6to4) is judged as that IPv4 address, so every spelling of
    one address gets one verdict."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) > 1 and any(address in net for net in _IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def kind_words(address: IpAddress) -> str:
    """What the canonical address is, in words; loopback before the rest (::1 is also in a
    reserved block, but it is loopback to every reader)."""
    ip = canonical(address)
    for attribute, words in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                             ("is_multicast", "multicast"), ("is_unspecified", "unspecified"),
                             ("is_reserved", "reserved"), ("is_private", "private")):
        if getattr(ip, attribute):
            return words
    return "public" if ip.is_global else "non-public"


def classify(address: IpAddress) -> str:
    """"public", "private" (loopback and private networks: allowed in development) or
    "forbidden" (never: link-local, multicast, unspecified, reserved)."""
    words = kind_words(address)
    if words in ("link-local", "multicast", "unspecified", "reserved"):
        return "forbidden"
    return "public" if words == "public" else "private"


def check_address(address: str | IpAddress, allow_private: bool) -> IpAddress:
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    kind = classify(ip)
    if kind == "forbidden" or (kind == "private" and not allow_private):
        raise SsrfRefused(f"The URL resolves to {ip}, a {kind_words(ip)} address.")
    return ip


def check_target(target: Target, allow_private: bool) -> None:
    """The checks that need no DNS: name suffixes and literal addresses."""
    if target.literal is None and (target.host.endswith(PRIVATE_SUFFIXES)
                                   or target.host in ("local", "internal", "intranet")):
        if not allow_private:
            raise SsrfRefused("The URL's host is an internal name (.local, .internal, "
                              ".intranet).")
    if target.literal is not None:
        check_address(target.literal, allow_private)


def check_addresses(target: Target, addresses: list[str], allow_private: bool) -> None:
    if not addresses:
        raise SsrfRefused(f"The host {target.host} does not resolve.")
    kinds = {classify(check_address(address, allow_private)) for address in addresses}
    if target.scheme == "http" and kinds != {"private"}:
        # Plain http only ever goes to loopback/private development receivers.
        raise SsrfRefused("The URL must be https (http is allowed only for loopback and "
                          "private addresses in development).")


async def system_lookup(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SsrfRefused(f"The host {host} does not resolve ({exc}).") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def vet_url(url: str, allow_private: bool, lookup: Lookup = system_lookup) -> Target:
    """Every rule, resolving the host now: raise SsrfRefused when any fails."""
    target = parse_url(url)
    if target.scheme == "http" and not allow_private:
        raise SsrfRefused("The URL must be https.")
    check_target(target, allow_private)
    addresses = ([str(target.literal)] if target.literal is not None
                 else await lookup(target.host, target.port))
    check_addresses(target, addresses, allow_private)
    return target


class VettingResolver(AbstractResolver):
    """aiohttp resolver that refuses (SsrfRefused) when any address of a name is not allowed,
    and hands the client exactly the addresses it checked."""

    def __init__(self, allow_private: bool, lookup: Lookup = system_lookup) -> None:
        self.allow_private = allow_private
        self.lookup = lookup

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        addresses = await self.lookup(host, port)
        if not addresses:
            raise SsrfRefused(f"The host {host} does not resolve.")
        results: list[ResolveResult] = []
        for address in addresses:
            ip = check_address(address, self.allow_private)
            results.append(ResolveResult(
                hostname=host, host=str(ip), port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST))
        return results

    async def close(self) -> None:
        return None

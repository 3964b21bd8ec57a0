"""Which hosts a trader's LLM base URL may reach, checked when it is saved and on every connection.

A trader chooses its own `llm_base_url`, and registration is open by default, so the URL is
untrusted input that makes the worker open connections (server-side request forgery). Rules:

  always refused   link-local addresses (169.254.0.0/16, fe80::/10), cloud metadata endpoints
                   (169.254.169.254, fd00:ec2::/32, 100.100.100.200, metadata.google.internal,
                   ...), and addresses that are not one host (0.0.0.0, multicast, reserved)
  operator's call  loopback and private addresses (127.0.0.0/8, ::1, 10/8, 172.16/12,
                   192.168/16, fc00::/7, 100.64/10, ...): refused unless
                   HYPERORU_LLM_ALLOW_PRIVATE_HOSTS=true (e.g. Ollama on localhost)
  allowed          every other (global) address

An IPv4 address inside an IPv6 one (::ffff:a.b.c.d, 64:ff9b::a.b.c.d, 2002:aabb:ccdd::) is judged
as the IPv4 address it reaches. At save time (`base_url_problem`) a host name is looked up and
refused when any of its addresses is; one that does not resolve yet is accepted. Saving proves
little on its own: a name can resolve elsewhere later (DNS rebinding), and a provider can redirect.
So `GuardedBackend`, the network backend of every LLM connection, resolves the name itself,
checks every address, and connects to the checked address (never re-resolving), on each
connection including redirects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore2

ALLOW_PRIVATE_SETTING = "HYPERORU_LLM_ALLOW_PRIVATE_HOSTS"
RESOLVE_TIMEOUT_S = 3.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_METADATA_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS, GCP, Azure, Oracle, DigitalOcean, ...
        "169.254.170.2/32",  # AWS ECS task credentials
        "fd00:ec2::/32",  # AWS over IPv6 (fd00:ec2::254)
        "100.100.100.200/32",  # Alibaba Cloud
    )
)
METADATA_HOSTNAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class HostNotAllowed(Exception):
    """A connection the egress rules refuse; the message names the host and the rule."""


def _reached(addr: IPAddress) -> IPAddress:
    """The address a connection to `addr` really reaches (an embedded IPv4 one, if any)."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr in _NAT64:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if addr.sixtofour is not None:
            return addr.sixtofour
    return addr


def address_problem(address: str | IPAddress, allow_private: bool) -> str | None:
    """Why a connection to this address is refused ("is a link-local address"), or None."""
    addr = _reached(ipaddress.ip_address(address) if isinstance(address, str) else address)
    if any(addr in net for net in _METADATA_NETWORKS if net.version == addr.version):
        return "is a cloud metadata address"
    if addr.is_link_local:
        return "is link-local"
    if not addr.is_loopback and (addr.is_unspecified or addr.is_multicast or addr.is_reserved):
        return "is not a single host's address"
    if (addr.is_global and not addr.is_loopback) or allow_private:
        return None
    kind = "loopback" if addr.is_loopback else "private"
    return f"is a {kind} address (allowed only with {ALLOW_PRIVATE_SETTING}=true)"


def name_problem(host: str, allow_private: bool) -> str | None:
    """Refusals known from the name alone: metadata names, `localhost`."""
    name = host.strip().lower().rstrip(".")
    if name in METADATA_HOSTNAMES:
        return "is a cloud metadata host"
    if (name == "localhost" or name.endswith(".localhost")) and not allow_private:
        return f"is a loopback host (allowed only with {ALLOW_PRIVATE_SETTING}=true)"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (numeric forms like 2130706433 too)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def _refusal(host: str, address: str | None, problem: str) -> str:
    shown = host if address is None or address == host else f"{host} ({address})"
    return f"the LLM host {shown} {problem}"


async def base_url_problem(
    url: str, allow_private: bool, resolver: Resolver = system_resolver
) -> str | None:
    """Save-time check of a (syntactically valid) base URL: why its host is refused, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    problem = name_problem(host, allow_private)
    if problem:
        return _refusal(host, None, problem)
    literal = _literal(host)
    if literal is not None:
        problem = address_problem(literal, allow_private)
        return _refusal(host, None, problem) if problem else None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await asyncio.wait_for(resolver(host, port), RESOLVE_TIMEOUT_S)
    except (OSError, TimeoutError, UnicodeError):
        return None  # not resolvable now: every connection is checked again anyway
    for address in addresses:
        problem = address_problem(address, allow_private)
        if problem:
            return _refusal(host, address, problem)
    return None


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked address literally, so the
    address connected to is the address checked (no second lookup an attacker could answer)."""

    def __init__(
        self,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        inner: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.inner = inner or httpcore2.AnyIOBackend()

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        problem = name_problem(host, self.allow_private)
        if problem:
            raise HostNotAllowed(_refusal(host, None, problem))
        literal = _literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await asyncio.wait_for(self.resolver(host, port), timeout)
            except TimeoutError:
                raise httpcore2.ConnectTimeout(f"looking up {host} timed out") from None
            except (OSError, UnicodeError) as err:
                raise httpcore2.ConnectError(f"cannot resolve {host}: {err}") from None
        if not addresses:
            raise httpcore2.ConnectError(f"{host} has no address")
        # Any refused address refuses the host: a name that also points at metadata is hostile.
        for address in addresses:
            problem = address_problem(address, self.allow_private)
            if problem:
                raise HostNotAllowed(_refusal(host, address, problem))
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self._addresses(host, port, timeout):
            try:
                stream = await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as err:
                last = err
                continue
            peer = stream.get_extra_info("server_addr")
            peer_ip = str(peer[0]).split("%", 1)[0] if peer else address
            problem = address_problem(peer_ip, self.allow_private)
            if problem:  # cannot happen when connecting to a literal; checked all the same
                await stream.aclose()
                raise HostNotAllowed(_refusal(host, peer_ip, problem))
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise HostNotAllowed("the LLM client does not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)

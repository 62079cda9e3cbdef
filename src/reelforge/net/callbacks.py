"""Callback URL safety: refuse URLs that resolve to loopback, private, link-local,
multicast, reserved or cloud-metadata addresses (SSRF), unless an operator allowlists
the host or its network. Checked at submit and again before each delivery, because DNS
answers can change between the two."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from reelforge.errors import UnsafeCallbackUrl

_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _allowed(host: str, addrs: Sequence[IPAddress], allow: Sequence[str]) -> bool:
    for entry in allow:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host:
            return True
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addrs and all(a in net for a in addrs):
            return True
    return False


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPAT = ipaddress.ip_network("::/96")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (RFC 2765): ::ffff:0:a.b.c.d
# Local-use NAT64 (RFC 8215): not globally reachable, and a site's translator may embed the
# IPv4 address at any of RFC 6052's offsets, so none is trusted (Python 3.11 calls it global).
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible,
    IPv4-translated)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64 or addr in _SIIT or (addr in _COMPAT and int(addr) > 1):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def _is_public(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr in _NAT64_LOCAL:
            return False
        inner = _embedded_ipv4(addr)
        if inner is not None:
            addr = inner
    return bool(addr.is_global) and not addr.is_multicast


def check_callback_url(url: str, allow: Sequence[str] = ()) -> str:
    """Return the URL if it is safe to POST to; raise UnsafeCallbackUrl otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeCallbackUrl(
            f"callback_url is not a valid URL: {exc}", field="callback_url"
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeCallbackUrl(
            "callback_url must be an http:// or https:// URL with a host", field="callback_url"
        )
    if parts.username or parts.password:
        raise UnsafeCallbackUrl("callback_url must not contain credentials", field="callback_url")
    host = parts.hostname.lower().rstrip(".")
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise UnsafeCallbackUrl(
            f"callback_url host {host!r} does not resolve", field="callback_url"
        ) from exc
    except UnicodeError:  # idna: an empty label (a..b) or one over 63 characters
        raise UnsafeCallbackUrl(
            f"callback_url host {host[:80]!r} is not a valid DNS name "
            "(empty label, or a label over 63 characters)",
            field="callback_url",
        ) from None
    addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if _allowed(host, addrs, allow):
        return url
    if host in _METADATA_HOSTS or not addrs or not all(_is_public(a) for a in addrs):
        raise UnsafeCallbackUrl(
            f"callback_url host {host!r} resolves to a private, loopback, link-local or "
            "metadata address; an operator can allow it with RF_WEBHOOK_ALLOW_HOSTS",
            field="callback_url",
        )
    return url


def resolve_public(
    url: str, allow: Sequence[str], *, field: str, setting: str, code: str
) -> tuple[str, int, list[IPAddress]]:
    """Check a URL the platform will fetch and resolve its host once: (host, port, the
    checked addresses). Connect to one of those addresses (not the name again: DNS answers
    can change between the check and the connection)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeCallbackUrl(
            f"{field} is not a valid URL: {exc}", field=field, code=code
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeCallbackUrl(
            f"{field} must be an http:// or https:// URL with a host", field=field, code=code
        )
    if parts.username or parts.password:
        raise UnsafeCallbackUrl(f"{field} must not contain credentials", field=field, code=code)
    host = parts.hostname.lower().rstrip(".")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeCallbackUrl(
            f"{field} host {host!r} does not resolve", field=field, code=code
        ) from exc
    addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if _allowed(host, addrs, allow):
        return host, port, addrs
    if host in _METADATA_HOSTS or not addrs or not all(_is_public(a) for a in addrs):
        raise UnsafeCallbackUrl(
            f"{field} host {host!r} resolves to a private, loopback, link-local or metadata "
            f"address; an operator can allow it with {setting}",
            field=field,
            code=code,
        )
    return host, port, addrs

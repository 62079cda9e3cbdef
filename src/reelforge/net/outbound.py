"""Outgoing HTTP to URLs users give us (webhook callbacks, `image_url`), safe against SSRF
and DNS rebinding: the host is resolved once and every address it has is checked
(net.callbacks); the connection then goes to a checked address — never to the name
again, which httpx would resolve a second time — with the URL's host name in the `Host`
header and as the TLS SNI, so the certificate is still verified against the name.

Redirects are never followed here: a caller that follows them (image fetching) calls again
with the new URL, which is resolved and checked again. Webhooks do not follow them at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

import httpx

from reelforge.net.callbacks import resolve_public


@contextlib.contextmanager
def pinned_stream(
    method: str,
    url: str,
    *,
    allow: Sequence[str],
    field: str,
    setting: str,
    code: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Iterator[httpx.Response]:
    """Send one request to a checked address of the URL's host and yield the response
    (streamed: read it inside the block). Raises UnsafeCallbackUrl (`code`, `field`) when
    the URL may not be fetched, httpx.HTTPError for network trouble. When the host has
    several addresses, one that refuses the connection (nothing sent yet) passes the
    request to the next."""
    host, port, addrs = resolve_public(url, allow, field=field, setting=setting, code=code)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    default_port = 443 if https else 80
    sent = {"Host": host if port == default_port else f"{host}:{port}", **(headers or {})}
    extensions = {"sni_hostname": host} if https else {}
    last: httpx.ConnectError | None = None
    for addr in dict.fromkeys(addrs):  # in the resolver's order, each once
        literal = f"[{addr}]" if isinstance(addr, ipaddress.IPv6Address) else str(addr)
        target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        # trust_env=False: a proxy from the environment would resolve the name itself.
        with httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=verify
        ) as client:
            request = client.build_request(
                method, target, headers=sent, content=content, extensions=extensions
            )
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError as exc:
                last = exc
                continue
            try:
                yield response
            finally:
                response.close()
            return
    assert last is not None
    raise last

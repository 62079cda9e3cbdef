"""`ProviderApi`: the HTTP client every provider module talks through.

- 5xx answers, timeouts and connection errors are retried with exponential backoff and full
  jitter (0.5 s doubling up to 20 s, `tries` attempts), waiting through an interruptible
  `wait` so a cancel is not held up by a backoff;
- 429 (and what a provider's `error_for` calls throttling) raises `ProviderThrottled` with the
  Retry-After the provider gave: the caller decides whether the job goes back to the queue
  (create) or the poll waits (status);
- a request that is not idempotent (a task creation) is not re-sent after a timeout or a
  dropped connection, since the provider may have acted on it: `AmbiguousRequest` lets the
  caller look the task up first;
- every message that leaves this module has the credentials (and tokens made from them)
  replaced by `***`;
- every string of a provider's answer (a JSON body, an error body) is cleaned as it enters
  (`clean_text`): NUL, the other C0 and C1 control characters but tab and newline, and lone
  surrogates are removed, so a hostile or broken answer cannot break the database writes that
  record it (PostgreSQL text refuses NUL) or the logs and pages that show it.
"""

from __future__ import annotations

import ipaddress
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from reelforge.backends.providers.base import (
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from reelforge.errors import BackendError, PayloadTooLarge

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 20.0
DEFAULT_TRIES = 6


class AmbiguousRequest(ProviderUnavailable):
    """A non-idempotent request timed out or lost its connection after it was sent."""

    code = "provider_unavailable"


def backoff(tries: int, first: float = FIRST_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Full jitter: uniform(0, min(cap, first * 2**(tries-1))), never below a tenth of it."""
    ceiling = min(cap, first * 2 ** max(0, tries - 1))
    return random.uniform(ceiling / 10, ceiling)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str, limit: int | None = None) -> str:
    """`text` as reelforge stores and shows a provider's words: without NUL, the other C0 and
    C1 control characters (tab and newline stay) and lone surrogates, cut to `limit`
    characters (with an ellipsis) where one is given."""
    text = _UNPRINTABLE.sub("", text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "\u2026"
    return text


def clean_json(value: Any) -> Any:
    """A parsed JSON answer with every string in it (keys too) passed through `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {
            (clean_text(k) if isinstance(k, str) else k): clean_json(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


_BEARER = re.compile(r"(?i)\bbearer\s+[^\s)\]\"',;]+")


class Redactor:
    """Replaces every secret (and any value derived from one that was registered) by ***,
    and any bearer token quoted back (one it was not told of: a key that was rotated)."""

    def __init__(self, secrets: Sequence[str] = ()):
        self._secrets = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _BEARER.sub("Bearer ***", text)

    def error(self, error: BaseException) -> None:
        """Scrub `error`'s message and args in place (a ReelforgeError's `message` is what the
        job records; its args are what a log line prints)."""
        message = getattr(error, "message", None)
        if isinstance(message, str):
            error.message = self(message)  # type: ignore[attr-defined]
        error.args = tuple(self(a) if isinstance(a, str) else a for a in error.args)


class ProviderApi:
    """One provider's API at `base_url`. `auth()` gives the headers of one request (called
    per request: signed tokens expire); `wait(seconds)` sleeps and may raise JobInterrupted."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        auth: Callable[[], dict[str, str]],
        redact: Redactor,
        error_for: Callable[[int, Any], BackendError | None] = lambda status, body: None,
        timeout: float = 30.0,
        tries: int = DEFAULT_TRIES,
        first_backoff: float = FIRST_BACKOFF,
        wait: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        on_request: Callable[[str, str, float], None] | None = None,
    ):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.redact = redact
        self.error_for = error_for
        self.tries = tries
        self.first_backoff = first_backoff
        self.wait = wait
        self.on_request = on_request  # (method, path, seconds): request timing for benches
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ProviderApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send a request and return its JSON body (None for an empty one)."""
        response = self._send(method, path, json=json, params=params, idempotent=idempotent)
        if not response.content:
            return None
        try:
            return clean_json(response.json())  # provider text enters the platform here
        except ValueError:
            raise ProviderError(
                f"{self.provider} answered {method} {self._where(path)} with a body that is "
                f"not JSON ({response.headers.get('content-type', 'no content type')})",
                code="provider_bad_response",
            ) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        url = self.url(path)
        last = ""
        for attempt in range(1, self.tries + 1):
            started = time.perf_counter()
            try:
                response = self.client.request(
                    method, url, json=json, params=params, headers=self.auth()
                )
            except httpx.TimeoutException as exc:
                last = f"timed out ({type(exc).__name__})"
                sent = not isinstance(exc, httpx.ConnectTimeout)
                if sent and not idempotent:
                    raise AmbiguousRequest(self._message(method, path, last)) from None
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
                sent = not isinstance(exc, httpx.ConnectError)
                if sent and not idempotent:
                    raise AmbiguousRequest(self._message(method, path, last)) from None
            else:
                if self.on_request is not None:
                    self.on_request(method, path, time.perf_counter() - started)
                if response.status_code < 400:
                    return response
                body = _body(response)
                special = self.error_for(response.status_code, body)
                if isinstance(special, ProviderThrottled):
                    if special.retry_after is None:
                        special.retry_after = retry_after(response)
                    raise _scrubbed(special, self.redact)
                if response.status_code == 429 and special is None:
                    raise ProviderThrottled(
                        self._message(method, path, f"429 {_summary(body)}"),
                        retry_after=retry_after(response),
                    )
                if response.status_code >= 500 and special is None:
                    last = f"{response.status_code} {_summary(body)}"
                else:
                    error = special or ProviderError(
                        self._message(method, path, f"{response.status_code} {_summary(body)}"),
                        code="provider_rejected",
                    )
                    raise _scrubbed(error, self.redact)
            if attempt < self.tries:
                self.wait(backoff(attempt, self.first_backoff))
        raise ProviderUnavailable(
            self._message(method, path, f"{last}, {self.tries} tries"),
            code="provider_unavailable",
        )

    def check_result_url(self, url: str) -> None:
        """A result URL comes from the provider's answer: fetch it only from the provider's
        own host or over https from a host that is not a literal private, loopback or
        link-local address (a compromised answer must not make the worker fetch internal
        services). Names are resolved by the HTTP client; DNS answers are not pinned here."""
        parts = urlsplit(self.url(url))
        base = urlsplit(self.base_url)
        if parts.scheme in ("http", "https") and parts.hostname == base.hostname:
            return  # the host the operator configured for this provider (any port)
        host = parts.hostname or ""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            address = None
        private = address is not None and (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        )
        if parts.scheme != "https" or not host or private or host == "localhost":
            raise ProviderError(
                f"{self.provider} named a result location reelforge does not fetch "
                f"({parts.scheme}://{self.redact(host)}): only https from a public host, or "
                f"the provider's own address",
                code="provider_bad_response",
            )

    def download(
        self,
        url: str,
        dest: Path,
        *,
        max_bytes: int,
        authenticated: bool,
        check: Callable[[], None] = lambda: None,
    ) -> int:
        """Stream `url` to `dest` (at most `max_bytes`), retrying 5xx and dropped connections
        from the start. Returns the byte count. `check` runs between chunks (cancellation).
        Redirects (at most 5) are followed by hand, each target checked by `check_result_url`
        before it is fetched; the credentials go only to the first URL's origin."""
        last = ""
        for attempt in range(1, self.tries + 1):
            try:
                written = self._fetch(url, dest, max_bytes, authenticated, check)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"download failed ({type(exc).__name__})"
            else:
                if written is not None:
                    return written
                last = "5xx"
            if attempt < self.tries:
                self.wait(backoff(attempt, self.first_backoff))
        raise ProviderUnavailable(
            self._message("GET", url, f"{last}, {self.tries} tries"), code="provider_unavailable"
        )

    def _fetch(
        self,
        url: str,
        dest: Path,
        max_bytes: int,
        authenticated: bool,
        check: Callable[[], None],
    ) -> int | None:
        """One try: the byte count, or None after a 5xx (to be tried again)."""
        target = self.url(url)
        origin = urlsplit(target)[:2]
        for _hop in range(6):
            self.check_result_url(target)
            same_origin = urlsplit(target)[:2] == origin
            headers = self.auth() if authenticated and same_origin else {}
            with self.client.stream("GET", target, headers=headers) as response:
                if response.is_redirect and _hop < 5:
                    target = urljoin(target, response.headers.get("location", ""))
                    continue
                if response.status_code == 429:
                    raise ProviderThrottled(
                        self._message("GET", url, "429 while downloading"),
                        retry_after=retry_after(response),
                    )
                if response.status_code >= 500:
                    return None
                if response.status_code >= 300:
                    raise ProviderError(
                        self._message("GET", url, f"{response.status_code} for the result"),
                        code="provider_result_unavailable",
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(self.provider, int(declared), max_bytes)
                written = 0
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        written += len(chunk)
                        if written > max_bytes:
                            raise _too_large(self.provider, written, max_bytes)
                        out.write(chunk)
                        check()
                return written
        raise ProviderError(  # not reached: the last hop answers as it is
            self._message("GET", url, "too many redirects"), code="provider_result_unavailable"
        )

    def _where(self, path: str) -> str:
        # a signed download URL's query string is a bearer credential of its own
        return self.redact(self.url(path).split("?", 1)[0])

    def _message(self, method: str, path: str, what: str) -> str:
        return self.redact(f"{self.provider} {method} {self._where(path)}: {what}")


def _scrubbed(error: BackendError, redact: Redactor) -> BackendError:
    redact.error(error)
    return error


def _body(response: httpx.Response) -> Any:
    """An error answer's body, cleaned as every provider answer is (`clean_json`)."""
    try:
        return clean_json(response.json())
    except ValueError:
        return clean_text(response.text[:500])


def _summary(body: Any) -> str:
    text = body if isinstance(body, str) else repr(body)
    text = " ".join(text.split())
    return text[:300]


def _too_large(provider: str, size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{provider}'s result is {size} bytes or more; the limit is {limit} "
        f"(RF_PROVIDER_MAX_DOWNLOAD_BYTES)",
        code="provider_result_too_large",
    )

"""Every error a user can meet: a class, a stable code, an HTTP status and a message
that says what to do. Entry points translate these; nothing else catches them broadly.

ReelforgeError
├── InvalidRequest (400/422)      bad input, caught at the edge
│   ├── InvalidImage              not an image, truncated, too many pixels
│   ├── PayloadTooLarge (413)
│   ├── UnsafeCallbackUrl         callback resolves to a private/loopback/metadata address
│   └── WebhookRejected (400)     a payment webhook that does not verify (invalid_signature)
├── Unauthorized (401)
├── PaymentRequired (402)         not enough credits for the request (insufficient_credits)
├── Forbidden (403)               an admin route called with a non-admin key
├── NotFound (404)                also used for another account's ids
├── Conflict (409)                idempotency key reused with different parameters, bad state
├── OutputUnavailable (410)       a stored output is missing (output_missing) or its bytes no
│                                 longer match their SHA-256 (output_damaged): submit it again
├── CapabilityMissing (422)       no configured model can serve this request
├── PaymentProviderError (502)    Stripe refused a request or could not be reached
├── InvalidSetting (400)          a setting cannot be read (invalid_setting); names the RF_ variable
├── ServiceUnavailable (503)      a service a setting names cannot be used: database_unreachable,
│   │                             database_missing, database_access_denied, queue_unreachable,
│   │                             data_dir_not_writable
│   └── BlobStoreError (503)      blob_bucket_missing, blob_access_denied, blob_store_unreachable,
│                                 blob_store_unwritable, blob_store_error
├── RateLimited (429)             rate_limited, queue_full, budget_exceeded (+ Retry-After)
└── GenerationFailed              raised inside workers; recorded on the job, never sent as HTTP
    ├── JobInterrupted            cancel requested or worker stopping (not a failure)
    └── BackendError
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


class ReelforgeError(Exception):
    """Base class: `code` is stable and documented; `message` tells the user what to do."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def to_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidRequest(ReelforgeError):
    code = "invalid_request"
    http_status = 422


# Where FastAPI says a request's problem was: the first item of its error's `loc`.
REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


@runtime_checkable
class Failed(Protocol):
    def errors(self) -> Sequence[Any]: ...  # pydantic's ValidationError, FastAPI's


def invalid_from(
    failed: Failed | Sequence[Mapping[str, Any]], *, located: bool = False
) -> InvalidRequest:
    """The one mapping of a validation failure to the error every entry point answers with
    (the API's 422, the web's form error, the CLI's message): its first problem, the field
    as a dotted path, `unknown_field` for a field the model does not have, `invalid_request`
    otherwise, and the message `field: problem`. `failed` is pydantic's ValidationError (or
    its `errors()`), or FastAPI's RequestValidationError (`located`: the first `loc` item
    names the request part: body, query, path)."""
    errors = failed.errors() if isinstance(failed, Failed) else failed
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    if located and loc and loc[0] in REQUEST_PARTS:
        loc = loc[1:]
    field = ".".join(str(x) for x in loc) or None
    code = "unknown_field" if first.get("type", "") == "extra_forbidden" else "invalid_request"
    msg = str(first.get("msg", "invalid request"))
    return InvalidRequest(f"{field}: {msg}" if field else msg, code=code, field=field)


class InvalidImage(InvalidRequest):
    code = "invalid_image"


class InvalidCharacters(InvalidRequest):
    """NUL, another control character, a lone surrogate or an invisible format character in
    an outside string (body field, path or query parameter, header, file name)."""

    code = "invalid_characters"


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"
    http_status = 413


class UnsafeCallbackUrl(InvalidRequest):
    code = "unsafe_callback_url"


class WebhookRejected(InvalidRequest):
    """A webhook delivery that is not verifiably from Stripe (or not an event at all)."""

    code = "invalid_signature"
    http_status = 400


class Unauthorized(ReelforgeError):
    code = "unauthorized"
    http_status = 401


class PaymentRequired(ReelforgeError):
    code = "insufficient_credits"
    http_status = 402


class Forbidden(ReelforgeError):
    code = "forbidden"
    http_status = 403


class NotFound(ReelforgeError):
    code = "not_found"
    http_status = 404


class Conflict(ReelforgeError):
    code = "conflict"
    http_status = 409


class OutputUnavailable(ReelforgeError):
    """A succeeded job's stored file is gone (`output_missing`) or its bytes are not the
    ones the job produced (`output_damaged`): never served; the request can be submitted
    again (a same-seed request renders anew)."""

    code = "output_missing"
    http_status = 410


class CapabilityMissing(ReelforgeError):
    code = "no_model_available"
    http_status = 422


class PaymentProviderError(ReelforgeError):
    """Stripe refused the request or could not be reached; its message is passed on."""

    code = "payment_provider_error"
    http_status = 502


class RateLimited(ReelforgeError):
    code = "rate_limited"
    http_status = 429

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, code=code, field=field)
        self.retry_after = retry_after  # seconds, sent as Retry-After


class InvalidSetting(ReelforgeError):
    """A setting (environment, RF_CONFIG file) is missing or malformed; the message names the
    variable and never shows a secret's value."""

    code = "invalid_setting"
    http_status = 400


class ServiceUnavailable(ReelforgeError):
    """A service the settings name (database, queue, blob store, data directory) cannot be
    used; the message says what to change."""

    code = "service_unavailable"
    http_status = 503


class BlobStoreError(ServiceUnavailable):
    """The blob store refused an operation or could not be reached (not a missing blob:
    that is NotFound)."""

    code = "blob_store_error"


class GenerationFailed(ReelforgeError):
    code = "generation_failed"


class JobInterrupted(GenerationFailed):
    """Raised from a progress callback to stop a running generation at the next step."""

    code = "interrupted"

    def __init__(self, reason: str):
        super().__init__(f"generation interrupted: {reason}")
        self.reason = reason  # "cancelled" or "shutdown"


class BackendError(GenerationFailed):
    code = "backend_error"

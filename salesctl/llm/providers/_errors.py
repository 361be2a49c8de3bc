"""Turn whatever an SDK raised into one normalised failure, without leaking secrets.

Every adapter funnels its SDK's exceptions through here, so the retry policy and the gateway
see the same `error_type` vocabulary whichever provider failed.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from salesctl.errors import ProviderError
from salesctl.llm.types import ProviderResponse

ProviderErrorType = Literal[
    "rate_limited",
    "server_error",
    "timeout",
    "connection_error",
    "auth_error",
    "bad_request",
    "malformed_response",
    "stream_interrupted",
    "missing_api_key",
]

SIMULATED_HEADER = "x-salesctl-simulated"
"""Set on every response of salesctl's provider simulator."""

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})
"""HTTP statuses worth another attempt (529: Anthropic's "overloaded")."""

_DESCRIPTIONS: dict[str, str] = {
    "rate_limited": "rate limited",
    "server_error": "server error",
    "timeout": "timed out",
    "connection_error": "connection failed",
    "auth_error": "authentication refused (check the API key)",
    "bad_request": "request refused",
    "malformed_response": "malformed response",
    "stream_interrupted": "stream interrupted",
}

_KEY_SHAPES = re.compile(
    r"\b(?:sk|csk|sk-ant|sk-or|sk-proj)-[A-Za-z0-9_\-]{6,}"
    r"|\bAIza[0-9A-Za-z_\-]{20,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{8,}"
)
_DETAIL_LIMIT = 200
SERVED_TYPES = frozenset({"timeout", "malformed_response", "stream_interrupted"})


class MalformedResponse(Exception):
    """The provider answered, but not in a shape the adapter can read."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, classified."""

    error_type: ProviderErrorType
    retryable: bool
    status_code: int | None = None
    retry_after: float | None = None
    detail: str = ""
    simulated: bool = False
    cut_short: bool = False
    """The connection broke while the response body was arriving."""

    @property
    def served(self) -> bool:
        """The provider received the request and may have served (and billed) it, with
        nothing usable to show for it: no answer in time, an unreadable answer, an answer cut
        short. An error status is not served."""
        return self.status_code is None and (self.error_type in SERVED_TYPES or self.cut_short)

    def to_error(
        self,
        provider: str,
        *,
        attempts: int,
        secret: str | None = None,
        partial: ProviderResponse | None = None,
        unanswered: int = 0,
    ) -> ProviderError:
        """The ProviderError the caller sees: one line, secrets scrubbed, attempts counted."""
        what = _DESCRIPTIONS.get(self.error_type, self.error_type)
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        tries = f" after {attempts} attempt{'s' * (attempts != 1)}" if attempts else ""
        detail = scrub(self.detail, secret)
        message = f"{provider}: {what}{status}{tries}" + (f": {detail}" if detail else "")
        return ProviderError(
            message,
            provider=provider,
            error_type=self.error_type,
            status_code=self.status_code,
            retry_after=self.retry_after,
            attempts=attempts,
            partial=partial,
            simulated=self.simulated or bool(partial and partial.simulated),
            unanswered=unanswered,
        )


def scrub(text: str, secret: str | None = None) -> str:
    """One short line with the API key (and anything shaped like a key) masked."""
    if secret:
        text = text.replace(secret, "***")
    text = _KEY_SHAPES.sub("***", text)
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def failure_for_status(
    status: int, *, retry_after: float | None = None, detail: str = "", simulated: bool = False
) -> Failure:
    """Classify an HTTP error status."""
    kind: ProviderErrorType
    if status == 429:
        kind = "rate_limited"
    elif status == 408:
        kind = "timeout"
    elif status >= 500:
        kind = "server_error"
    elif status in (401, 403):
        kind = "auth_error"
    else:
        kind = "bad_request"
    return Failure(kind, status in RETRYABLE_STATUS, status, retry_after, detail, simulated)


def retry_after_seconds(headers: Any) -> float | None:
    """The wait the server asked for: `retry-after-ms`, else `retry-after` (seconds or a date)."""
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(float(millis) / 1000, 0.0)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _simulated(headers: Any) -> bool:
    """The error response carries the simulator's mark."""
    try:
        flag = str(headers.get(SIMULATED_HEADER) or "").strip().lower() if headers else ""
    except AttributeError:
        return False
    return flag not in ("", "0", "false", "no")


def _headers_get(headers: Any) -> Any:
    """Header lookups case-insensitively, for plain dicts (google-genai) as well as httpx."""
    if isinstance(headers, dict):
        return {str(k).lower(): v for k, v in headers.items()}
    return headers


def body_message(body: Any, fallback: str = "") -> str:
    """The human part of an error body (`{"error": {"message": …}}` and friends)."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (TypeError, ValueError):
            return str(body if isinstance(body, str) else fallback)
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str):
            return message
        if isinstance(inner, str):
            return inner
        message = body.get("message")
        if isinstance(message, str):
            return message
    return fallback


NOT_SENT_TIMEOUTS = frozenset({"ConnectTimeout", "PoolTimeout"})
"""Timeouts before the request left: classified as connection failures, so a `timeout` always
means a request the provider received and did not answer in time (which it may bill)."""


def _endpoint(exc: BaseException) -> str:
    """` to https://host:port`, the server a failed request was for, when it is known."""
    try:
        url = exc.request.url  # type: ignore[attr-defined]  # httpx raises if there is none
    except (AttributeError, RuntimeError):
        return ""
    return (
        f" to {url.scheme}://{url.netloc.decode() if isinstance(url.netloc, bytes) else url.netloc}"
    )


def transport_failure(exc: BaseException) -> Failure | None:
    """Timeouts and broken connections below the SDK (asyncio, httpx, httpx2)."""
    if isinstance(exc, TimeoutError):
        return Failure("timeout", True, detail="no answer within the timeout")
    for cls in type(exc).__mro__:
        module = cls.__module__.split(".", 1)[0]
        if module not in ("httpx", "httpx2", "httpcore"):
            continue
        if cls.__name__ in NOT_SENT_TIMEOUTS:
            return Failure("connection_error", True, detail=type(exc).__name__)
        if "Timeout" in cls.__name__:
            return Failure("timeout", True, detail=type(exc).__name__)
        if cls.__name__ in ("TransportError", "NetworkError", "ProtocolError", "ConnectError"):
            # httpx says so when the server closed the connection part-way through a body.
            cut = "complete message body" in str(exc)
            detail = "the response was cut short" if cut else type(exc).__name__
            return Failure("connection_error", True, detail=detail + _endpoint(exc), cut_short=cut)
    if isinstance(exc, (ConnectionError, OSError)):
        return Failure("connection_error", True, detail=type(exc).__name__)
    return None


def stainless_failure(exc: BaseException, sdk: Any) -> Failure | None:
    """Classify an exception of a Stainless-generated SDK (openai, anthropic, cerebras).

    `sdk` is the SDK module; the three share exception names and shapes.
    """
    if isinstance(exc, MalformedResponse):
        return Failure("malformed_response", False, detail=str(exc))
    if isinstance(exc, sdk.APITimeoutError):
        cause = exc.__cause__
        if cause is not None and type(cause).__name__ in NOT_SENT_TIMEOUTS:
            return Failure("connection_error", True, detail=type(cause).__name__)
        return Failure("timeout", True, detail="no answer within the timeout")
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__
        found = transport_failure(cause) if cause is not None else None
        return found or Failure(
            "connection_error", True, detail=type(exc).__name__ + _endpoint(exc)
        )
    if isinstance(exc, sdk.APIStatusError):
        headers = exc.response.headers
        return failure_for_status(
            exc.response.status_code,
            retry_after=retry_after_seconds(headers),
            detail=body_message(getattr(exc, "body", None), fallback=getattr(exc, "message", "")),
            simulated=_simulated(headers),
        )
    if isinstance(exc, sdk.APIResponseValidationError):
        return Failure("malformed_response", False, detail="the body did not match the API schema")
    if isinstance(exc, sdk.APIError):
        # An error event inside an SSE stream: the request got through, the answer broke.
        return Failure("server_error", False, detail=getattr(exc, "message", "") or str(exc))
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return Failure("malformed_response", False, detail="the body is not valid JSON")
    return transport_failure(exc)


def gemini_failure(exc: BaseException) -> Failure | None:
    """Classify an exception of google-genai."""
    from google.genai import errors

    if isinstance(exc, MalformedResponse):
        return Failure("malformed_response", False, detail=str(exc))
    if isinstance(exc, errors.APIError):
        response = getattr(exc, "response", None)
        headers = _headers_get(getattr(response, "headers", None))
        code = exc.code if isinstance(exc.code, int) else 0
        if not code:
            return Failure("malformed_response", False, detail=exc.message or "")
        return failure_for_status(
            code,
            retry_after=retry_after_seconds(headers),
            detail=exc.message or "",
            simulated=_simulated(headers),
        )
    if isinstance(exc, errors.UnknownApiResponseError | json.JSONDecodeError):
        return Failure("malformed_response", False, detail="the body is not valid JSON")
    found = transport_failure(exc)
    if found is not None:
        return found
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return Failure("malformed_response", False, detail="the body did not match the API schema")
    return None

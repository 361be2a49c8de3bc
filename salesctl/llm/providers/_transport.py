"""The HTTP transport of the SDKs that still speak httpx (cerebras-cloud-sdk, google-genai).

httpcore 1.x, under httpx, re-scans its whole connection pool on every request and every
response, polls each idle socket (`has_expired` → `select.poll`) while doing so, and counts
*all* connections, not the idle ones, against `max_keepalive_connections`: once more calls
are in flight than that limit, every connection that falls idle is closed and the next call
opens a new one. A bulk run at `--concurrency 64` or more spent most of its loop in that scan
and in connecting (issue #17). httpcore2, under httpx2 (which the openai and anthropic SDKs
use), has a pool that does one pass per change, never re-checks a reserved connection, and
counts only idle connections as surplus.

`Httpx2PoolTransport` is an httpx transport that sends through an httpcore2 pool, so an SDK
that wants an `httpx.AsyncClient` gets httpx's client (its API, its exceptions) over
httpcore2's pool. It does what `httpx.AsyncHTTPTransport` does, with httpcore2 in place of
httpcore, and maps httpcore2's exceptions to httpx's, exactly as httpx maps httpcore's, so the
SDKs (and `_errors.transport_failure`) see the same exceptions as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import httpx

POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
"""Connections kept per SDK client. One client serves a whole run, so its pool holds as many
connections as the run has calls in flight (`--concurrency`); none is closed for being
surplus while the run lasts, and each closes after `keepalive_expiry` (5 s) idle."""

_EXCEPTIONS: dict[type[Exception], type[httpx.HTTPError]] = {}


def _exception_map() -> dict[type[Exception], type[httpx.HTTPError]]:
    if not _EXCEPTIONS:
        import httpcore2

        _EXCEPTIONS.update(
            {
                httpcore2.TimeoutException: httpx.TimeoutException,
                httpcore2.ConnectTimeout: httpx.ConnectTimeout,
                httpcore2.ReadTimeout: httpx.ReadTimeout,
                httpcore2.WriteTimeout: httpx.WriteTimeout,
                httpcore2.PoolTimeout: httpx.PoolTimeout,
                httpcore2.NetworkError: httpx.NetworkError,
                httpcore2.ConnectError: httpx.ConnectError,
                httpcore2.ReadError: httpx.ReadError,
                httpcore2.WriteError: httpx.WriteError,
                httpcore2.ProxyError: httpx.ProxyError,
                httpcore2.UnsupportedProtocol: httpx.UnsupportedProtocol,
                httpcore2.ProtocolError: httpx.ProtocolError,
                httpcore2.LocalProtocolError: httpx.LocalProtocolError,
                httpcore2.RemoteProtocolError: httpx.RemoteProtocolError,
            }
        )
    return _EXCEPTIONS


@contextlib.contextmanager
def _httpx_exceptions() -> Iterator[None]:
    """Re-raise an httpcore2 exception as the httpx one httpx raises for httpcore's."""
    try:
        yield
    except Exception as exc:
        mapped: type[httpx.HTTPError] | None = None
        for source, target in _exception_map().items():
            if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
                mapped = target  # the most specific match
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_exceptions():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _httpx_exceptions():
                await close()


class Httpx2PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore2 connection pool (HTTP/1.1, TLS verified as httpx
    verifies it by default; proxies from the environment stay httpx's own mounts)."""

    def __init__(self, limits: httpx.Limits = POOL_LIMITS) -> None:
        import httpcore2

        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import httpcore2

        assert isinstance(request.stream, httpx.AsyncByteStream)
        outgoing = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_exceptions():
            response = await self._pool.handle_async_request(outgoing)
        stream: Any = response.stream
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        with _httpx_exceptions():
            await self._pool.aclose()

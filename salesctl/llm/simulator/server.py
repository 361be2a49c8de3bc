"""The simulator's HTTP server and its Python API.

One standard-library ThreadingHTTPServer on loopback serves every provider under its own
path prefix, so the real SDKs can be pointed at it through their base URL settings. Each
connection gets a thread, so concurrent requests (and the `latency_ms` delay) overlap.

JSON answers carry a Content-Length and keep the connection alive; streams use chunked
transfer encoding, so a stream cut short (fault `cut_stream`) is an unterminated chunked
body, which httpx reports as an error, as it would a real dropped connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import brain
from .anthropic_api import AnthropicMessages
from .cache import CacheUse, PromptCache
from .faults import Directives, Fault, UsageShape, make_fault, make_script, make_shape
from .gemini_api import GeminiGenerateContent
from .ledger import Ledger, ServedCall
from .openai_api import OpenAIChat
from .wire import BadRequest, PromptUsage, Rendered, Reported, Served, SseEvent, WireFormat

log = logging.getLogger(__name__)

PREFIXES: dict[str, str] = {
    "openrouter": "/openrouter/api/v1",
    "openai": "/openai/v1",
    "cerebras": "/cerebras",
    "claude": "/anthropic",
    "gemini": "/gemini",
}
"""Path prefix of each provider: the base URL to give its SDK is `{url}{prefix}`."""

ENV_VARS = {
    "cerebras": "CEREBRAS_BASE_URL",
    "claude": "ANTHROPIC_BASE_URL",
    "gemini": "GOOGLE_GEMINI_BASE_URL",
    "openrouter": "OPENROUTER_BASE_URL",
    "openai": "OPENAI_BASE_URL",
}

DEFAULT_QUIRKS: dict[str, Any] = {
    # OpenAI-compatible streams: the final usage chunk still carries a (content-less) choice.
    "usage_chunk_has_choices": False,
    # Gemini streams: every chunk carries the usageMetadata so far, as the live API sends it.
    "gemini_usage_on_every_chunk": False,
    # Anthropic: shorter prefixes are not cached (the live API needs 1024-4096 tokens).
    "anthropic_cache_min_tokens": 0,
    # OpenAI-style automatic caching: the shortest prefix that gets cached.
    "automatic_cache_min_tokens": 1024,
}

SIMULATED_HEADER = ("x-salesctl-simulated", "true")
DEFAULT_RETRY_AFTER = 1.0
DEFAULT_TIMEOUT_HOLD = 30.0


class _Dropped(Exception):
    """The connection was closed on purpose; nothing more to send."""


class Simulator:
    """A local stand-in for the LLM providers' HTTP APIs; starts serving on construction.

    >>> with Simulator() as sim:
    ...     client = openai.AsyncOpenAI(base_url=sim.base_urls()["openai"], api_key="k")
    """

    def __init__(
        self,
        latency_ms: float = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        quirks: dict[str, Any] | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        self._quirks: dict[str, Any] = {**DEFAULT_QUIRKS, **(quirks or {})}
        self._directives = Directives()
        self._ledger = Ledger()
        self._cache = PromptCache()
        self._closing = threading.Event()
        self._wires: dict[str, WireFormat] = {
            "openai": OpenAIChat("openai", self._quirks),
            "openrouter": OpenAIChat("openrouter", self._quirks),
            "cerebras": OpenAIChat("cerebras", self._quirks),
            "claude": AnthropicMessages(),
            "gemini": GeminiGenerateContent(self._quirks),
        }
        self._server = _Server((host, port), self)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"llm-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def quirks(self) -> dict[str, Any]:
        """Provider quirks to imitate (see DEFAULT_QUIRKS); change them in place."""
        return self._quirks

    # --- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_urls(self) -> dict[str, str]:
        """What to pass as each SDK's base URL, by salesctl provider name."""
        return {provider: self.url + PREFIXES[provider] for provider in ENV_VARS}

    def env(self) -> dict[str, str]:
        """The base-URL environment variables that point salesctl at the simulator."""
        urls = self.base_urls()
        return {var: urls[provider] for provider, var in ENV_VARS.items()}

    # --- scripting ----------------------------------------------------------------------------

    def fail_next(
        self,
        provider: str | None = None,
        status: int | None = None,
        *,
        kind: str | None = None,
        retry_after: float | bool | None = None,
        delay: float | None = None,
        after_chunks: int = 2,
        message: str | None = None,
        times: int = 1,
        after_bytes: int | None = None,
    ) -> None:
        """Make the next `times` requests to `provider` (None: any) fail; see `Fault`."""
        self._directives.add_fault(
            make_fault(
                provider,
                status,
                kind=kind,
                retry_after=retry_after,
                delay=delay,
                after_chunks=after_chunks,
                message=message,
                times=times,
                after_bytes=after_bytes,
            )
        )

    def shape_next(self, provider: str | None = None, *, times: int = 1, **figures: Any) -> None:
        """Make the next `times` answers of `provider` (None: any) report the usage given
        (cache reads and writes, one-hour writes, reasoning, a long prompt), say they served
        `served_model`, or (OpenRouter) send or omit `usage.cost`; see `UsageShape`."""
        self._directives.add_shape(make_shape(provider, times=times, **figures))

    def script(
        self,
        provider: str | None = None,
        *,
        text: str | None = None,
        json: Any = None,
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> None:
        """Fix the next answer of `provider` (None: any): its text, JSON value or tool calls."""
        self._directives.add_script(
            provider, make_script(provider, text=text, json=json, tool_calls=tool_calls)
        )

    @property
    def ledger(self) -> list[ServedCall]:
        """Every request answered so far (a copy), oldest first."""
        return self._ledger.snapshot()

    @property
    def pending_faults(self) -> list[Fault]:
        return self._directives.pending_faults()

    def reset(self) -> None:
        """Forget faults, scripts, the ledger and the prompt cache."""
        self._directives.clear()
        self._ledger.clear()
        self._cache.clear()

    # --- serving ------------------------------------------------------------------------------

    def _handle(self, h: _Handler, method: str) -> None:
        parts = urlsplit(h.path)
        path, query = parts.path, parse_qs(parts.query)
        body = h.read_body()
        if path.startswith("/_sim/"):
            self._control(h, method, path, body)
            return
        provider = next((p for p, pre in PREFIXES.items() if path.startswith(pre + "/")), None)
        if provider is None:
            h.send_json(404, {"error": {"message": f"no simulated API at {path}"}})
            return
        prefix = PREFIXES[provider]
        wire = self._wires[provider]
        route = wire.route(method, path[len(prefix) :])
        if route is None:
            h.send_json(404, *wire.error(provider, 404, f"Unknown path {path}"))
            return
        if route.action == "noop":
            h.send_bytes(200, b"", "text/plain")
            return
        payload: Any = {}
        try:
            payload = json.loads(body or b"{}")
            invalid = None if isinstance(payload, dict) else "the body must be a JSON object"
        except ValueError as err:
            invalid = f"Invalid JSON body: {err}"
        if not isinstance(payload, dict):
            payload = {}
        requested = str(payload.get("model") or route.model or "")
        stream = bool(route.stream if route.stream is not None else payload.get("stream"))
        if not wire.api_key(h.headers, query):  # auth is checked first, as the real APIs do
            self._record_error(provider, requested, stream, 401)
            h.send_json(401, *wire.error(provider, 401))
            return
        if invalid:
            self._record_error(provider, requested, stream, 400)
            h.send_json(400, *wire.error(provider, 400, invalid))
            return
        try:
            req = wire.parse(provider, route, payload)
        except (BadRequest, KeyError, TypeError, AttributeError) as err:
            self._record_error(provider, requested, stream, 400)
            h.send_json(400, *wire.error(provider, 400, str(err)))
            return
        if route.action == "count_tokens":
            h.send_json(200, wire.count_tokens_body(req.prompt_tokens))
            return
        self._complete(h, provider, wire, req, payload)

    def _complete(
        self,
        h: _Handler,
        provider: str,
        wire: WireFormat,
        req: brain.ChatRequest,
        payload: dict[str, Any],
    ) -> None:
        if self.latency_ms and self._closing.wait(self.latency_ms / 1000):
            raise _Dropped
        fault = self._directives.take_fault(provider)
        if fault is not None and self._apply_blocking_fault(h, provider, wire, req, fault):
            return
        kind = fault.kind if fault else None
        script = self._directives.take_script(provider)
        shape = self._directives.take_shape(provider)
        ans = brain.answer(req, script, wrong_content=kind == "wrong_content")
        prompt = PromptUsage(req.prompt_tokens, self._cache_use(wire, req))
        prompt, served = _shaped(prompt, ans, shape)
        rendered = wire.render(provider, req, ans, prompt, payload, served)
        billed = (prompt.total, ans.output_tokens, ans.reasoning_tokens)
        if req.stream:
            self._send_stream(h, provider, wire, req, rendered, fault, billed)
        else:
            self._send_body(h, provider, req, rendered, fault, billed)

    def _apply_blocking_fault(
        self, h: _Handler, provider: str, wire: WireFormat, req: brain.ChatRequest, fault: Fault
    ) -> bool:
        """Faults that replace the answer entirely; True when the request is done."""
        if fault.kind == "status":
            self._record_error(provider, req.model, req.stream, fault.status, fault.kind)
            body, headers = wire.error(provider, fault.status, fault.message)
            # retry_after=False: a 429 without the header, as some gateways send it.
            if fault.retry_after is not False and (
                fault.retry_after is not None or fault.status == 429
            ):
                seconds = DEFAULT_RETRY_AFTER if fault.retry_after is None else fault.retry_after
                headers["retry-after"] = f"{seconds:g}"
                headers["retry-after-ms"] = str(round(seconds * 1000))
            h.send_json(fault.status, body, headers)
            return True
        if fault.kind == "refused":
            self._record_error(provider, req.model, req.stream, 0, fault.kind)
            h.drop()
        if fault.kind == "timeout":  # the prompt was read; the client gives up first
            self._record_error(
                provider, req.model, req.stream, 0, fault.kind, billed_prompt=req.prompt_tokens
            )
            self._closing.wait(DEFAULT_TIMEOUT_HOLD if fault.delay is None else fault.delay)
            h.drop()
        if fault.kind == "slow" and self._closing.wait(1.0 if fault.delay is None else fault.delay):
            raise _Dropped
        return False

    def _cache_use(self, wire: WireFormat, req: brain.ChatRequest) -> CacheUse:
        scope = f"{req.provider}:{req.model}"
        if wire.cache_style == "explicit":
            minimum = int(self.quirks.get("anthropic_cache_min_tokens") or 0)
            return self._cache.explicit(scope, req.segments, minimum)
        minimum = int(self.quirks.get("automatic_cache_min_tokens") or 1024)
        return self._cache.automatic(scope, req.segments, minimum)

    def _send_body(
        self,
        h: _Handler,
        provider: str,
        req: brain.ChatRequest,
        rendered: Rendered,
        fault: Fault | None,
        billed: tuple[int, int, int],
    ) -> None:
        data = json.dumps(rendered.body).encode()
        kind = fault.kind if fault else None
        if kind in ("malformed", "cut_stream"):
            self._record(provider, req, rendered.model, 200, None, kind, billed)
            if kind == "malformed":  # a complete HTTP body that is not complete JSON
                h.send_bytes(200, data[: len(data) // 2], "application/json", rendered.headers)
            else:  # the body stops short of its Content-Length
                assert fault is not None
                cut = len(data) // 2 if fault.after_bytes is None else fault.after_bytes
                cut = max(len(data) + cut, 0) if cut < 0 else cut
                h.send_bytes(200, data, "application/json", rendered.headers, cut=cut)
            return
        self._record(
            provider, req, rendered.model, 200, rendered.reported, kind, billed, rendered.body
        )
        h.send_bytes(200, data, "application/json", rendered.headers)

    def _send_stream(
        self,
        h: _Handler,
        provider: str,
        wire: WireFormat,
        req: brain.ChatRequest,
        rendered: Rendered,
        fault: Fault | None,
        billed: tuple[int, int, int],
    ) -> None:
        events: list[SseEvent] = rendered.events
        kind = fault.kind if fault else None
        tail = [SseEvent(done)] if (done := wire.stream_done()) else []
        content = sum(e.content for e in events)
        rest = b""
        if kind == "cut_stream" and fault is not None and fault.after_bytes is not None:
            events, rest = _cut_at_byte(events + tail, fault.after_bytes)
        elif kind == "cut_stream" and fault is not None:
            events = events[: _cut_position(events, fault.after_chunks)]
        elif kind == "malformed":
            first = next((i for i, e in enumerate(events) if e.content), 0)
            events = [*events[: first + 1], SseEvent(wire.malformed_event())]
        else:
            events = events + tail
        reported = next((e.reported for e in reversed(events) if e.reported), None)
        if kind in ("cut_stream", "malformed") and content:
            # Billed for the output it generated before it stopped: the content it sent.
            prompt, output, reasoning = billed
            sent = min(sum(e.content for e in events) + bool(rest), content)
            billed = (prompt, round(output * sent / content), reasoning)
        self._record(provider, req, rendered.model, 200, reported, kind, billed)
        h.start_stream(rendered.headers)
        for event in events:
            h.write_chunk(event.data)
        if rest:
            h.write_chunk(rest)
        if kind == "cut_stream":
            h.drop()
        else:
            h.end_stream()

    # --- ledger -------------------------------------------------------------------------------

    def _record(
        self,
        provider: str,
        req: brain.ChatRequest,
        served: str,
        status: int,
        reported: Reported | None,
        fault: str | None,
        billed: tuple[int, int, int],
        body: dict[str, Any] | None = None,
    ) -> None:
        """One answered request; `billed` is (prompt, output, reasoning) it is charged for."""
        r = reported or Reported(0, 0)
        self._ledger.add(
            ServedCall(
                provider=provider,
                model=served,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cache_read_tokens=r.cache_read_tokens,
                cache_write_tokens=r.cache_write_tokens,
                status=status,
                stream=req.stream,
                cost_usd_reported=r.cost_usd,
                requested_model=req.model,
                reasoning_tokens=r.reasoning_tokens,
                fault=fault,
                usage_reported=reported is not None,
                raw_usage=r.raw,
                cache_write_1h_tokens=r.cache_write_1h_tokens,
                billed_prompt_tokens=billed[0],
                billed_output_tokens=billed[1] + billed[2],
                body=body,
            )
        )

    def _record_error(
        self,
        provider: str,
        model: str,
        stream: bool,
        status: int,
        fault: str | None = None,
        *,
        billed_prompt: int = 0,
    ) -> None:
        self._ledger.add(
            ServedCall(
                provider=provider,
                model=model,
                input_tokens=0,
                output_tokens=0,
                cache_read_tokens=0,
                cache_write_tokens=0,
                status=status,
                stream=stream,
                requested_model=model,
                fault=fault,
                usage_reported=False,
                billed_prompt_tokens=billed_prompt,
            )
        )

    # --- control surface ------------------------------------------------------------------------

    def _control(self, h: _Handler, method: str, path: str, body: bytes) -> None:
        """`/_sim/...`: script the simulator from another process (e.g. a CLI under test)."""
        try:
            args = json.loads(body or b"{}")
            if not isinstance(args, dict):
                raise ValueError("expected a JSON object")
            actions: dict[tuple[str, str], Callable[..., Any]] = {
                ("POST", "/_sim/faults"): self.fail_next,
                ("POST", "/_sim/script"): self.script,
                ("POST", "/_sim/shape"): self.shape_next,
                ("POST", "/_sim/reset"): self.reset,
                ("POST", "/_sim/quirks"): self.quirks.update,
            }
            action = actions.get((method, path))
            if action is not None:
                action(**args)
                h.send_json(200, {"ok": True})
            elif (method, path) == ("GET", "/_sim/ledger"):
                h.send_json(200, [call.to_dict() for call in self.ledger])
            elif (method, path) == ("GET", "/_sim/health"):
                h.send_json(200, {"ok": True, "base_urls": self.base_urls()})
            else:
                h.send_json(404, {"error": f"unknown control endpoint {method} {path}"})
        except (TypeError, ValueError) as err:
            h.send_json(400, {"error": str(err)})


def _shaped(
    prompt: PromptUsage, ans: brain.Answer, shape: UsageShape | None
) -> tuple[PromptUsage, Served]:
    """The prompt usage (and, in place, the answer's output counts) a usage shape asks for."""
    if shape is None:
        return prompt, Served()
    read = prompt.cache.read if shape.cache_read_tokens is None else shape.cache_read_tokens
    write = prompt.cache.write if shape.cache_write_tokens is None else shape.cache_write_tokens
    total = prompt.total if shape.prompt_tokens is None else shape.prompt_tokens
    cache = CacheUse(read=read, write=write, write_1h=shape.cache_write_1h_tokens or 0)
    if shape.output_tokens is not None:
        ans.output_tokens = shape.output_tokens
    if shape.reasoning_tokens is not None:
        ans.reasoning_tokens = shape.reasoning_tokens
    shaped = PromptUsage(max(total, read + write), cache)
    return shaped, Served(model=shape.served_model, report_cost=shape.report_cost)


def _cut_at_byte(events: list[SseEvent], cut: int) -> tuple[list[SseEvent], bytes]:
    """The events sent whole before byte `cut` of the stream body (negative: counted from
    its end), and the start of the one it cuts through (may be empty)."""
    if cut < 0:
        cut = max(sum(len(e.data) for e in events) + cut, 0)
    whole: list[SseEvent] = []
    offset = 0
    for event in events:
        if offset + len(event.data) > cut:
            return whole, event.data[: cut - offset]
        whole.append(event)
        offset += len(event.data)
    return whole, b""


def _cut_position(events: list[SseEvent], after_chunks: int) -> int:
    """How many events a `cut_stream` fault lets through.

    Up to `after_chunks` content chunks, and never the event that completes the usage
    report (message_delta / the usage chunk / Gemini's last chunk), so a cut stream never
    reports final usage, whatever `after_chunks` is.
    """
    content = [i for i, e in enumerate(events) if e.content]
    if not content:
        return max(len(events) - 1, 0)
    last = content[-1]
    final = last if events[last].reported else last + 1
    allowed = content[after_chunks - 1] + 1 if 0 < after_chunks <= len(content) else final
    if after_chunks <= 0:
        allowed = content[0]
    return min(allowed, final)


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its simulator and can close live connections."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    server_address: tuple[str, int]  # bound from a (host, port) of text, never bytes

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self._connections_lock:
            self._connections.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            live = list(self._connections)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator: error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Speaks HTTP/1.1 for the simulator; the simulator decides what to say."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive answers otherwise wait ~40 ms for delayed ACKs
    server_version = "salesctl-llm-simulator/1.0"
    timeout = 60  # idle keep-alive connections end after a minute
    server: _Server

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self.server.simulator._handle(self, method)
        except _Dropped:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header(*SIMULATED_HEADER)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        cut: int | None = None,
    ) -> None:
        """Send a whole body; with `cut`, stop after that many bytes and drop the connection."""
        self._head(
            status,
            {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})},
        )
        if cut is None:
            self.wfile.write(data)
            return
        self.wfile.write(data[:cut])
        self.drop()

    def start_stream(self, headers: dict[str, str]) -> None:
        self._head(
            200,
            {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
                **headers,
            },
        )

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self) -> None:
        """Close the connection abruptly, whatever was (not) sent."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Dropped

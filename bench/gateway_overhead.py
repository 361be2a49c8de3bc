"""Tracking overhead: what `CostOptimizedLLMProvider` adds to a call over the bare SDK.

The same calls go through the official openai SDK client directly and through the gateway
(which uses that SDK too, then prices the answer, spools and queues its tracking row; a
background task inserts the rows in batches), against the provider simulator in its own
process with no added latency: alternately, one call at a time and 64 at once, on SQLite
and on PostgreSQL. Afterwards the tracking rows are counted (every call, exactly once).

What is compared. What the gateway adds is work on the caller's event loop (routing,
pricing, spooling, queueing, and the tracking writer's batches, which run on the same loop),
so the figures are the event-loop thread's CPU time:
  * one at a time: each call's thread CPU time; added p50/p99 = gateway minus bare SDK at the
    same percentile. The clients take turns in runs of 100 calls, and each gateway run ends
    with a flush of its tracking writer, whose CPU is charged to the run's last call, so every
    tracking row's insert is paid for by a gateway call (none leaks into a bare one). The wall
    time outside each call's HTTP exchange (timed inside the SDK's httpx client, so the
    simulator's own jitter drops out) is shown alongside: on a busy shared machine its p99 is
    mostly the scheduler (the gateway over an instant provider shows how much);
  * 64 at once: each call's own CPU (its coroutine's steps, timed one by one: `Charged`) plus
    an even share of the rest of its batch's loop CPU (the event loop's callbacks and
    selector, and for the gateway the tracking writer's batches and the flush that ends the
    batch), so a batch's calls add up to the batch's whole loop CPU. Gateway batches
    alternate with bare ones; added p50/p99 = gateway minus bare SDK at the same percentile
    of the per-call figures, as one at a time. (The whole batch's CPU divided by 64 is shown
    alongside: its spread between neighbouring batches is the machine's drift, which moves
    all 64 calls of a batch at once.)
  * 32 at once, wall (issue #17's tail target): batches of 32 concurrent calls, gateway and
    bare SDK batches alternating, each call's wall time as its caller sees it; added p99 =
    gateway minus bare SDK at the 99th percentile of the calls' wall times. The gateway's
    tracking writer works during its own batches; what is left is flushed after each gateway
    batch, untimed, so none of it lands in a bare batch.
A third client, the gateway over a provider that answers instantly in-process, shows the
gateway's own cost with no SDK or HTTP at all. With `--peers` (and litellm installed), the
same calls through `litellm.acompletion` priced with `litellm.completion_cost`, one at a time
and 32 at once, against the same bare SDK (information, no target).

    .venv/bin/python -m bench.gateway_overhead [--quick] [--calls 2000]
    .venv/bin/python -m bench.gateway_overhead --database postgresql
    .venv/bin/python -m bench.gateway_overhead --inserts    # the tracking insert alone
    .venv/bin/python -m bench.gateway_overhead --database sqlite --peers   # and litellm
    .venv/bin/python -m bench.gateway_overhead --database sqlite --gc-freeze  # see below

`--gc-freeze` calls `gc.freeze()` after the warm-up, as the agent commands do once they have
loaded their modules: the cycle collector's full passes then skip everything imported, and
the 32-at-once tail shows how much of it was those passes (docs/performance.md, "Tail
latency").

`--inserts` times only the tracking writer's insert: the loop thread's CPU for one
`insert_rows()` of 1, 8, 64 and 500 rows (information, no target), which the per-call figures
spread too thin to show.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import gc
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any

from bench._common import (
    Measurement,
    bench_main,
    count_tracked,
    drop_postgres,
    load_average,
    migrated_engine,
    percentile,
    postgres_available,
    progress,
    recreate_postgres,
    scratch_dir,
    simulator_process,
)

P50_TARGET_MS = 0.5
P99_TARGET_MS = 2.0
CONCURRENCY = 64
TAIL_CONCURRENCY = 32
TAIL_TARGET_MS = 10.0
"""Issue #17: at 32 concurrent calls the gateway adds at most 10 ms to the p99 wall time."""
RUN_LENGTH = 100
"""Calls one client makes before the other takes its turn (one at a time)."""
MODEL = "gpt-4o-mini"
MAX_TOKENS = 120
PROMPT = (
    "Qualify TechCorp Inc as a lead. Company: TechCorp Inc, SaaS, 250 employees, North "
    "America. Contact: Dana Lee, VP of Sales. Notes: asked about pricing for 40 seats; "
    "evaluating two vendors this quarter; budget approved. Reply with a score 0-100, a tier "
    "(hot/warm/cold) and one sentence of reasoning."
)
POSTGRES_DATABASE = "salesctl_bench_overhead"
INSERT_BATCH_SIZES = (1, 8, 64, 500)
INSERT_ROUNDS = 40
"""Inserts per batch size with `--inserts`."""

_in_http: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "in_http", default=None
)


def time_http(sdk_client: Any) -> Any:
    """Make the SDK client's httpx `send` (request out, whole body in) add its wall time to
    the current call's counter. Returns the client."""
    http = sdk_client._client  # the SDK's httpx.AsyncClient
    send = http.send

    async def timed_send(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await send(*args, **kwargs)
        finally:
            counter = _in_http.get()
            if counter is not None:
                counter[0] += time.perf_counter() - started

    http.send = timed_send
    return sdk_client


def timed_openai_provider(settings: Any) -> Any:
    """The gateway's own OpenAI adapter, its SDK client's HTTP exchanges timed."""
    from salesctl.llm.providers import OpenAIProvider

    class TimedOpenAIProvider(OpenAIProvider):
        def _build_client(self, api_key: str) -> Any:
            return time_http(super()._build_client(api_key))

    return TimedOpenAIProvider(settings)


class InstantProvider:
    """Answers at once in-process: what is left of a call's time is the gateway's own."""

    name = "openai"

    def __init__(self) -> None:
        from salesctl.llm.types import ProviderResponse, Usage

        self.answer = ProviderResponse(
            text="Score: 82 (hot). Strong ICP fit: budget approved, evaluating now.",
            usage=Usage(input_tokens=96, output_tokens=18),
            model=MODEL,
        )

    async def complete(self, request: Any) -> Any:
        return self.answer

    def stream(self, request: Any) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


Call = Callable[[], Awaitable[Any]]


@dataclass
class Client:
    """One way of making the call, and what its calls measured."""

    call: Call
    settle: Callable[[], Awaitable[None]] | None = None
    """Finishes the calls' background work (the gateway's tracking flush)."""
    wall: list[float] = field(default_factory=list)
    outside_http: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    batch_cpu: list[float] = field(default_factory=list)


class Charged:
    """Awaits a coroutine step by step, adding the loop thread's CPU time of each step to
    `counter[0]`: one call's own CPU while others run on the same loop."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], counter: list[float]) -> None:
        self.coroutine = coroutine
        self.counter = counter

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, counter = self.coroutine, self.counter
        value: Any = None
        error: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                yielded = coroutine.send(value) if error is None else coroutine.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                counter[0] += time.thread_time() - started
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # a cancellation, say: hand it to the coroutine
                value, error = None, exc


async def _timed(client: Client) -> None:
    counter = [0.0]
    _in_http.set(counter)  # each call runs in its own task (gather) or resets it here
    cpu = time.thread_time()
    started = time.perf_counter()
    await client.call()
    elapsed = time.perf_counter() - started
    client.cpu.append(time.thread_time() - cpu)
    client.wall.append(elapsed)
    client.outside_http.append(elapsed - counter[0])


async def _settle(client: Client) -> None:
    """Run the client's background work now, charged to its last call."""
    if client.settle is None:
        return
    cpu = time.thread_time()
    started = time.perf_counter()
    await client.settle()
    elapsed = time.perf_counter() - started
    client.cpu[-1] += time.thread_time() - cpu
    client.wall[-1] += elapsed
    client.outside_http[-1] += elapsed


async def one_at_a_time(first: Client, second: Client, calls: int) -> None:
    for run, start in enumerate(range(0, calls, RUN_LENGTH)):
        # Alternate which goes first, so neither always follows the other's leftovers.
        for client in (first, second) if run % 2 == 0 else (second, first):
            for _ in range(min(RUN_LENGTH, calls - start)):
                await _timed(client)
            await _settle(client)


async def _charged(client: Client, own: list[float]) -> None:
    counter = [0.0]
    started = time.perf_counter()
    await Charged(client.call(), counter)
    client.wall.append(time.perf_counter() - started)
    own.append(counter[0])


async def many_at_once(first: Client, second: Client, calls: int) -> None:
    for i in range(max(1, calls // CONCURRENCY)):
        for client in (first, second) if i % 2 == 0 else (second, first):
            own: list[float] = []
            started = time.thread_time()
            await asyncio.gather(*(_charged(client, own) for _ in range(CONCURRENCY)))
            if client.settle is not None:
                await client.settle()
            batch = time.thread_time() - started
            share = (batch - sum(own)) / CONCURRENCY
            client.cpu.extend(call + share for call in own)
            client.batch_cpu.append(batch / CONCURRENCY)


async def _walled(client: Client) -> None:
    started = time.perf_counter()
    await client.call()
    client.wall.append(time.perf_counter() - started)


async def wall_at_once(first: Client, second: Client, calls: int, concurrency: int) -> None:
    """Batches of `concurrency` calls, the two clients alternating, each call's wall time."""
    for i in range(max(1, calls // concurrency)):
        for client in (first, second) if i % 2 == 0 else (second, first):
            await asyncio.gather(*(_walled(client) for _ in range(concurrency)))
            if client.settle is not None:
                await client.settle()


def litellm_missing() -> str | None:
    """None when litellm can be imported, else the line the table shows instead."""
    import importlib.util

    try:
        found = importlib.util.find_spec("litellm") is not None
    except ValueError:  # in sys.modules as None: hidden on purpose
        found = False
    if not found:
        return "litellm is not installed (`.venv/bin/uv pip install litellm`): peer skipped"
    return None


def litellm_call(base_url: str) -> Call:
    """The benchmark's call through litellm, priced as litellm prices it."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    import litellm

    messages = [{"role": "user", "content": PROMPT}]

    async def call() -> Any:
        response = await litellm.acompletion(
            model=f"openai/{MODEL}",
            api_base=base_url,
            api_key="sk-bench",
            messages=messages,
            max_completion_tokens=MAX_TOKENS,
            num_retries=0,
        )
        litellm.completion_cost(completion_response=response, model=MODEL)
        return response

    return call


def _ms(samples: list[float], p: float) -> float:
    return percentile(samples, p) * 1000


async def measure_database(
    label: str,
    url: str,
    env: dict[str, str],
    calls: int,
    warmup: int,
    peers: bool = False,
    gc_freeze: bool = False,
) -> list[Measurement]:
    import openai

    from salesctl.config import Settings
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    home = scratch_dir("overhead")
    engine = await migrated_engine(url)
    settings = Settings(
        home=home,
        database_url=url,
        openai_base_url=env["OPENAI_BASE_URL"],
        openai_api_key="sk-bench",
    )
    config = LLMConfig(agent_type="qualification", provider="openai", model=MODEL, cache=False)
    adapter = timed_openai_provider(settings)
    llm = CostOptimizedLLMProvider(engine=engine, settings=settings, providers={"openai": adapter})
    instant = CostOptimizedLLMProvider(
        engine=engine, settings=settings, providers={"openai": InstantProvider()}
    )
    sdk = time_http(
        openai.AsyncOpenAI(
            base_url=env["OPENAI_BASE_URL"], api_key="sk-bench", max_retries=0, timeout=30
        )
    )
    messages = [{"role": "user", "content": PROMPT}]

    async def bare_call() -> Any:
        return await sdk.chat.completions.create(
            model=MODEL, messages=messages, max_completion_tokens=MAX_TOKENS
        )

    async def gateway_call() -> Any:
        return await llm.complete(PROMPT, config=config, max_tokens=MAX_TOKENS)

    async def instant_call() -> Any:
        return await instant.complete(PROMPT, config=config, max_tokens=MAX_TOKENS)

    async def nothing() -> None:
        return None

    try:
        progress(f"overhead/{label}: warm-up, then {calls:,} calls per client and mode")
        await one_at_a_time(Client(bare_call), Client(gateway_call, llm.flush), warmup)
        await one_at_a_time(Client(nothing), Client(instant_call, instant.flush), warmup)
        await llm.flush()
        await instant.flush()
        if gc_freeze:
            gc.collect()
            gc.freeze()
        before = await count_tracked(engine)
        bare, gateway = Client(bare_call), Client(gateway_call, llm.flush)
        await one_at_a_time(bare, gateway, calls)
        alone = Client(instant_call, instant.flush)
        await one_at_a_time(Client(nothing), alone, calls)
        bare_many, gateway_many = Client(bare_call), Client(gateway_call, llm.flush)
        await many_at_once(bare_many, gateway_many, calls)
        bare_tail, gateway_tail = Client(bare_call), Client(gateway_call, llm.flush)
        await wall_at_once(bare_tail, gateway_tail, calls, TAIL_CONCURRENCY)
        made = len(gateway.wall) + len(alone.wall) + len(gateway_many.wall) + len(gateway_tail.wall)
        peer = None
        if peers and litellm_missing() is None:
            peer_call = litellm_call(env["OPENAI_BASE_URL"])
            progress(f"overhead/{label}: litellm, {calls:,} calls one at a time and 32 at once")
            await one_at_a_time(Client(bare_call), Client(peer_call), warmup)
            peer = (Client(bare_call), Client(peer_call), Client(bare_call), Client(peer_call))
            await one_at_a_time(peer[0], peer[1], calls)
            await wall_at_once(peer[2], peer[3], calls, TAIL_CONCURRENCY)
        flush_started = time.perf_counter()
        await llm.flush()
        await instant.flush()
        flush_ms = (time.perf_counter() - flush_started) * 1000
        rows = await count_tracked(engine) - before
    finally:
        await llm.aclose()
        await instant.aclose()
        await adapter.aclose()
        await sdk.close()
        await engine.dispose()

    batch_added = [g - b for g, b in zip(gateway_many.batch_cpu, bare_many.batch_cpu, strict=True)]
    measurements: list[Measurement] = []
    for p, target in ((50, P50_TARGET_MS), (99, P99_TARGET_MS)):
        measurements.append(
            Measurement(
                bench="overhead",
                name=f"added p{p}, {label}, 1 at a time (loop CPU per call)",
                value=_ms(gateway.cpu, p) - _ms(bare.cpu, p),
                unit="ms",
                target=target,
                baseline=(
                    f"CPU: bare SDK {_ms(bare.cpu, p):.2f} ms, gateway {_ms(gateway.cpu, p):.2f} ms"
                    f"; wall outside HTTP: bare {_ms(bare.outside_http, p):.2f} ms, gateway "
                    f"{_ms(gateway.outside_http, p):.2f} ms (added "
                    f"{_ms(gateway.outside_http, p) - _ms(bare.outside_http, p):.2f} ms); "
                    f"gateway over an instant provider: CPU {_ms(alone.cpu, p):.3f} ms, wall "
                    f"{_ms(alone.wall, p):.3f} ms"
                ),
            )
        )
    for p, target in ((50, P50_TARGET_MS), (99, P99_TARGET_MS)):
        measurements.append(
            Measurement(
                bench="overhead",
                name=f"added p{p}, {label}, {CONCURRENCY} at once (loop CPU per call)",
                value=_ms(gateway_many.cpu, p) - _ms(bare_many.cpu, p),
                unit="ms",
                target=target,
                baseline=(
                    f"CPU: bare SDK {_ms(bare_many.cpu, p):.2f} ms, gateway "
                    f"{_ms(gateway_many.cpu, p):.2f} ms over {len(gateway_many.cpu):,} calls "
                    f"each; whole batch / {CONCURRENCY}, p{p} of the differences of "
                    f"{len(batch_added)} neighbouring batches: "
                    f"{percentile(batch_added, p) * 1000:.2f} ms; "
                    f"whole call p{p}: bare {_ms(bare_many.wall, p):.1f} ms, gateway "
                    f"{_ms(gateway_many.wall, p):.1f} ms"
                ),
            )
        )
    measurements.append(
        Measurement(
            bench="overhead",
            name=f"added p99 wall, {label}, {TAIL_CONCURRENCY} at once (per call, as the caller "
            "sees it)",
            value=_ms(gateway_tail.wall, 99) - _ms(bare_tail.wall, 99),
            unit="ms",
            target=TAIL_TARGET_MS,
            baseline=(
                f"p99 wall: bare SDK {_ms(bare_tail.wall, 99):.1f} ms, gateway "
                f"{_ms(gateway_tail.wall, 99):.1f} ms; p50: bare {_ms(bare_tail.wall, 50):.1f} "
                f"ms, gateway {_ms(gateway_tail.wall, 50):.1f} ms; "
                f"{len(gateway_tail.wall):,} calls each"
            ),
        )
    )
    if peers:
        measurements += _peer_rows(label, peer)
    measurements.append(
        Measurement(
            bench="overhead",
            name=f"tracking rows written, {label}",
            value=rows / made * 100,
            unit="%",
            target=100.0,
            better="higher",
            baseline=f"{rows:,} rows for {made:,} gateway calls; final flush {flush_ms:.0f} ms",
        )
    )
    return measurements


def _peer_rows(label: str, peer: tuple[Client, Client, Client, Client] | None) -> list[Measurement]:
    """litellm against the same run's bare SDK: added CPU (1 at a time) and p99 wall (32)."""
    if peer is None:
        return [
            Measurement("overhead", f"litellm, {label}", None, "ms", None, error=litellm_missing())
        ]
    bare, litellm, bare_tail, litellm_tail = peer
    return [
        Measurement(
            bench="overhead",
            name=f"litellm: added p50, {label}, 1 at a time (loop CPU per call)",
            value=_ms(litellm.cpu, 50) - _ms(bare.cpu, 50),
            unit="ms",
            target=None,
            baseline=(
                f"CPU: bare SDK {_ms(bare.cpu, 50):.2f} ms, litellm {_ms(litellm.cpu, 50):.2f} ms"
                f"; p99 added {_ms(litellm.cpu, 99) - _ms(bare.cpu, 99):.2f} ms; "
                "`litellm.acompletion` + `completion_cost`"
            ),
        ),
        Measurement(
            bench="overhead",
            name=f"litellm: added p99 wall, {label}, {TAIL_CONCURRENCY} at once",
            value=_ms(litellm_tail.wall, 99) - _ms(bare_tail.wall, 99),
            unit="ms",
            target=None,
            baseline=(
                f"p99 wall: bare SDK {_ms(bare_tail.wall, 99):.1f} ms, litellm "
                f"{_ms(litellm_tail.wall, 99):.1f} ms; p50: bare {_ms(bare_tail.wall, 50):.1f} "
                f"ms, litellm {_ms(litellm_tail.wall, 50):.1f} ms"
            ),
        ),
    ]


def tracking_row() -> dict[str, Any]:
    """A row like the gateway's for this benchmark's call (prompt, routing, exact costs)."""
    import uuid
    from datetime import UTC, datetime
    from decimal import Decimal

    from salesctl.llm.tracking import TrackingRecord

    return TrackingRecord(
        request_id=uuid.uuid4().hex,
        timestamp=datetime.now(UTC),
        agent_type="qualification",
        provider="openai",
        model=MODEL,
        agent_mode="passthrough",
        prompt_text=PROMPT,
        prompt_tokens=96,
        prompt_complexity="simple",
        routing={"tier": "simple", "signals": {"words": 52}},
        completion_text="Score: 82 (hot). Strong ICP fit: budget approved, evaluating now.",
        completion_tokens=18,
        cost_usd=Decimal("0.0000252"),
        saved_usd=Decimal("0.0000148"),
        price_source="genai-prices",
        latency_ms=3,
        simulated=True,
    ).to_row()


async def measure_inserts(label: str, url: str, rounds: int) -> list[Measurement]:
    """Loop-thread CPU of one `insert_rows()` per batch size, as the writer calls it."""
    from salesctl.llm.tracking import insert_rows

    engine = await migrated_engine(url)
    measurements: list[Measurement] = []
    try:
        await insert_rows(engine, [tracking_row()], count=False)  # connect, prepare
        for size in INSERT_BATCH_SIZES:
            cpu: list[float] = []
            for _ in range(rounds):
                rows = [tracking_row() for _ in range(size)]
                started = time.thread_time()
                await insert_rows(engine, rows, count=False)
                cpu.append(time.thread_time() - started)
            rows_word = "rows" if size > 1 else "row"
            measurements.append(
                Measurement(
                    bench="overhead",
                    name=f"tracking insert of {size} {rows_word}, {label} (loop CPU, p50)",
                    value=_ms(cpu, 50),
                    unit="ms",
                    target=None,
                    baseline=(
                        f"p99 {_ms(cpu, 99):.2f} ms; {_ms(cpu, 50) * 1000 / size:.1f} µs a row; "
                        f"{rounds} inserts"
                    ),
                )
            )
    finally:
        await engine.dispose()
    return measurements


def run_inserts(*, quick: bool, database: str | None) -> list[Measurement]:
    rounds = 5 if quick else INSERT_ROUNDS
    progress(f"overhead (inserts): {load_average()}")
    measurements: list[Measurement] = []
    if database in (None, "sqlite"):
        url = f"sqlite+aiosqlite:///{scratch_dir('overhead-db') / 'inserts.db'}"
        measurements += asyncio.run(measure_inserts("SQLite", url, rounds))
    if database in (None, "postgresql"):
        problem = postgres_available()
        if problem is not None:
            measurements.append(
                Measurement("overhead", "PostgreSQL", None, "ms", None, error=problem)
            )
        else:
            url = recreate_postgres(POSTGRES_DATABASE)
            try:
                measurements += asyncio.run(measure_inserts("PostgreSQL", url, rounds))
            finally:
                drop_postgres(POSTGRES_DATABASE)
    return measurements


def run(
    *,
    quick: bool = False,
    calls: int | None = None,
    database: str | None = None,
    inserts: bool = False,
    peers: bool = False,
    gc_freeze: bool = False,
) -> list[Measurement]:
    if inserts:
        return run_inserts(quick=quick, database=database)
    calls = calls or (256 if quick else 2000)
    warmup = 32 if quick else 200
    os.environ.setdefault("SALESCTL_CONFIG", os.devnull)  # no config file
    progress(f"overhead: {load_average()}")
    measurements: list[Measurement] = []
    with simulator_process(latency_ms=0) as env:
        if database in (None, "sqlite"):
            url = f"sqlite+aiosqlite:///{scratch_dir('overhead-db') / 'bench.db'}"
            measurements += asyncio.run(
                measure_database("SQLite", url, env, calls, warmup, peers, gc_freeze)
            )
        if database in (None, "postgresql"):
            problem = postgres_available()
            if problem is not None:
                measurements.append(
                    Measurement("overhead", "PostgreSQL", None, "ms", P50_TARGET_MS, error=problem)
                )
            else:
                url = recreate_postgres(POSTGRES_DATABASE)
                try:
                    measurements += asyncio.run(
                        measure_database("PostgreSQL", url, env, calls, warmup, peers, gc_freeze)
                    )
                finally:
                    drop_postgres(POSTGRES_DATABASE)
    return measurements


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=int, help="calls per client and mode (default 2,000)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], help="only this one")
    parser.add_argument(
        "--inserts", action="store_true", help="time only the tracking insert, per batch size"
    )
    parser.add_argument("--peers", action="store_true", help="litellm too, when installed")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after the warm-up (see above)"
    )


if __name__ == "__main__":
    bench_main("gateway_overhead", run, __doc__, _options)

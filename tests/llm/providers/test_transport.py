"""`Httpx2PoolTransport`: httpx's client over httpcore2's pool, with httpx's exceptions.

The provider fault suite runs the Cerebras and Gemini adapters over this transport; these
check the transport itself: a request and a streamed body go through, one pool serves many
calls on few connections, and httpcore2's failures reach the SDKs as the httpx exceptions
httpx raises for httpcore's (which `_errors.transport_failure` classifies).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from salesctl.llm.providers._errors import transport_failure
from salesctl.llm.providers._transport import Httpx2PoolTransport
from salesctl.llm.simulator import Simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def _chat_body(stream: bool = False) -> dict[str, object]:
    return {
        "model": "llama3.1-8b",
        "messages": [{"role": "user", "content": "Qualify Acme: 40 seats, budget approved."}],
        "max_completion_tokens": 50,
        "stream": stream,
    }


async def test_requests_and_streams_go_through_one_pool(sim: Simulator) -> None:
    base = sim.base_urls()["cerebras"]
    transport = Httpx2PoolTransport()
    headers = {"Authorization": "Bearer csk-transport-test"}
    async with httpx.AsyncClient(transport=transport, base_url=base, headers=headers) as client:
        answers = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=_chat_body()) for _ in range(20))
        )
        assert {answer.status_code for answer in answers} == {200}
        assert all(answer.json()["choices"][0]["message"]["content"] for answer in answers)
        async with client.stream(
            "POST", "/v1/chat/completions", json=_chat_body(stream=True)
        ) as streamed:
            chunks = [line async for line in streamed.aiter_lines() if line.startswith("data:")]
        assert chunks[-1] == "data: [DONE]"
        # Twenty calls at once need at most twenty connections, all kept for the next ones.
        assert 1 <= len(transport._pool.connections) <= 20


async def test_a_refused_connection_is_httpx_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    async with httpx.AsyncClient(transport=Httpx2PoolTransport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://127.0.0.1:{port}/")
    failure = transport_failure(caught.value)
    assert failure is not None
    assert failure.error_type == "connection_error"


async def test_no_answer_in_time_is_httpx_read_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the connection; nobody ever answers
        port = silent.getsockname()[1]
        async with httpx.AsyncClient(
            transport=Httpx2PoolTransport(), timeout=httpx.Timeout(0.2)
        ) as client:
            with pytest.raises(httpx.ReadTimeout) as caught:
                await client.get(f"http://127.0.0.1:{port}/")
    failure = transport_failure(caught.value)
    assert failure is not None
    assert failure.error_type == "timeout"
    assert isinstance(caught.value.__cause__, Exception)
    assert type(caught.value.__cause__).__module__.startswith("httpcore2")

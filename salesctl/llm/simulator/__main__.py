"""`python -m salesctl.llm.simulator --port 8765 [--latency-ms 300]`: serve in the foreground.

Prints the environment lines that point salesctl (and the SDKs) at the simulator, then serves
until interrupted. Script it from other processes through `POST /_sim/faults`, `/_sim/script`,
`/_sim/reset`, `/_sim/quirks` and `GET /_sim/ledger`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m salesctl.llm.simulator",
        description="Serve simulated LLM provider APIs (OpenAI, OpenRouter, Cerebras, "
        "Anthropic, Gemini) on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay added to answers")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Simulator(latency_ms=args.latency_ms, host=args.host, port=args.port) as sim:
        for name, value in sim.env().items():
            print(f"export {name}={value}")
        print("# any non-empty API key is accepted; the simulator answers at", sim.url)
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A process making many tracked gateway calls, for the crash and concurrency tests.

    python tests/reliability/call_worker.py --calls 200 --writers 8 --concurrency 4 --tag T

Uses DATABASE_URL, SALESCTL_HOME, the provider base URLs and any SALESCTL_BUDGET__* limits
from the environment. Each of `--writers` gateways has its own engine (so its own connections
and tracking writer) and runs `--concurrency` calls at a time. Prints one line
`returned <request id>` as soon as each `complete()` returns (flushed, so a parent that kills
this process knows which calls had returned), `refused` for each call a hard budget limit
refused (that task then stops), and `done` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys


async def writer(index: int, args: argparse.Namespace) -> None:
    from salesctl.config import get_settings
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    settings = get_settings()
    engine = create_engine(settings.sqlalchemy_url)
    config = LLMConfig(
        agent_type="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        session_id=args.tag,
        cache=False,
    )
    counter = iter(range(args.calls))
    async with CostOptimizedLLMProvider(engine=engine, settings=settings) as llm:

        async def worker() -> None:
            from salesctl.errors import BudgetExceeded

            for n in counter:
                try:
                    result = await llm.complete(
                        f"Qualify company {index}-{n}", config=config, max_tokens=args.max_tokens
                    )
                except BudgetExceeded:
                    sys.stdout.write("refused\n")
                    return
                sys.stdout.write(f"returned {result.tracking_id}\n")
                sys.stdout.flush()

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.gather(*(writer(i, args) for i in range(args.writers)))
    sys.stdout.write("done\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100, help="calls per writer")
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tag", default="worker")
    parser.add_argument("--max-tokens", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))

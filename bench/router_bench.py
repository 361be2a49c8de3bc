"""Router decision: how long the learned smart router takes to rate and route one request,
and what loading its artifact adds to the first routed call of a process.

Routes 10,000 generated chat requests (lookups, analysis asks, multi-step asks, pasted notes
and transcripts, some with conversation history) through `salesctl.llm.router.route`, the
call the gateway makes for every smart-router request. No network, no LLM: the model is the
logistic regression in `salesctl/llm/router/data/model.json`. The same-run baseline is a
plain `str.split()` over the same prompts, which shows how fast this machine is at the moment.
The first-call figure is measured in fresh processes: the CPU time of the first `route()`
(importing the model code and loading the artifact) minus that of the second.

    .venv/bin/python -m bench.router_bench [--quick] [--prompts 10000]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

from bench._common import Measurement, bench_main, median, percentile, progress, ratio

TARGET_P50_US = 1000.0
"""Issue #18: a decision in at most 1 ms (p50) once the artifact is loaded."""
TARGET_FIRST_MS = 100.0
"""Issue #18: loading the artifact adds at most 100 ms to the first routed call."""
FIRST_CALL_RUNS = 5
FIRST_CALL = """
import time
from salesctl.config import RouterSettings
from salesctl.llm.router import route
router = RouterSettings()
cpu = time.process_time_ns
started = cpu(); route("show me top 3 leads", router=router); first = cpu() - started
started = cpu(); route("show me top 3 leads", router=router); second = cpu() - started
print((first - second) / 1e6)
"""

LOOKUPS = [
    "Show me top {n} leads",
    "List my open deals",
    "What is the status of {company}?",
    "Who is the contact at {company}?",
    "How many leads came in this week?",
    "Find leads in {region}",
    "Which deals are in negotiation?",
    "show {company}",
    "When is my next meeting with {company}?",
    "top {n} leads by score in {industry}",
]
ASKS = [
    "Analyze this deal's blockers and recommend a strategy for {company}.",
    "Summarize the last call with {contact} at {company} and draft a follow-up email.",
    "Why did {company} stall in the pipeline, and what should we do next?",
    "Compare {company} and {other} as opportunities given our Q3 targets; which first?",
    "Given the budget freeze at {company}, how should I approach {contact} about renewal?",
    "Draft a short intro email to {contact}, the {title} at {company}, about {topic}.",
    "Prioritize my {n} open deals by risk, then suggest one action for each.",
    "What are the main objections {company} raised and how do we handle them?",
]
NOTES = [
    "{contact} ({title}) said {company} is evaluating three vendors including {other}.",
    "Budget is around ${n}k for this fiscal year; procurement needs two quotes.",
    "They run {industry} workloads in {region} and plan to hire {n} engineers.",
    "Security review is a blocker; legal wants a DPA before the pilot.",
    "The champion is leaving in Q{q}; we need a second sponsor.",
    "Usage grew {n}% last quarter but support tickets doubled.",
    "Next step: a demo for the ops team on Thursday, then a pricing call.",
]
FILL = {
    "company": ["Acme Corp", "TechCorp Inc", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"],
    "other": ["Stark Industries", "Wayne Enterprises", "Cyberdyne", "Soylent"],
    "contact": ["Dana Scully", "Jordan Lee", "Priya Patel", "Miguel Ángel", "Chen Wei"],
    "title": ["VP of Sales", "CTO", "Head of RevOps", "procurement lead"],
    "region": ["Germany", "North America", "the Nordics", "APAC"],
    "industry": ["SaaS", "fintech", "logistics", "retail"],
    "topic": ["the pilot", "renewal pricing", "the integration", "onboarding"],
}


def _fill(template: str, rng: random.Random) -> str:
    values = {key: rng.choice(options) for key, options in FILL.items()}
    return template.format(n=rng.randint(2, 90), q=rng.randint(1, 4), **values)


def generate_prompts(count: int, seed: int = 7) -> list[str]:
    """A deterministic mix shaped like chat traffic: mostly short lookups and asks, some
    longer multi-step requests, a few pasted notes or transcripts (beyond the scan window)."""
    rng = random.Random(seed)
    prompts: list[str] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.45:
            prompt = _fill(rng.choice(LOOKUPS), rng)
        elif kind < 0.80:
            prompt = _fill(rng.choice(ASKS), rng)
        elif kind < 0.95:
            notes = " ".join(_fill(rng.choice(NOTES), rng) for _ in range(rng.randint(3, 10)))
            prompt = f"{notes}\n\n{_fill(rng.choice(ASKS), rng)}"
        else:
            lines = [
                f"{rng.choice(['Rep', 'Customer'])}: {_fill(rng.choice(NOTES), rng)}"
                for _ in range(rng.randint(20, 80))
            ]
            prompt = "Call transcript:\n" + "\n".join(lines) + "\n\nWhat are the next steps?"
        prompts.append(prompt)
    return prompts


def run(*, quick: bool = False, prompts: int | None = None) -> list[Measurement]:
    from salesctl.config import RouterSettings
    from salesctl.llm.router import route
    from salesctl.llm.types import Message

    count = prompts or (1_000 if quick else 10_000)
    corpus = generate_prompts(count)
    history = tuple(
        Message(role="user" if i % 2 == 0 else "assistant", content=f"turn {i}") for i in range(8)
    )
    histories = [history if i % 5 == 0 else () for i in range(count)]
    router = RouterSettings()
    progress(f"router: {count:,} prompts, {sum(map(len, corpus)) / count:.0f} chars on average")

    for prompt in corpus[:200]:  # warm up: compiled patterns, parsed tiers
        route(prompt, router=router)

    # CPU time of this process: classifying is pure computation, and CPU time is what it
    # would take on an idle machine (wall time here includes other people's processes).
    cpu, wall = time.process_time_ns, time.perf_counter_ns
    rounds = 1 if quick else 3
    cpu_means: list[float] = []
    wall_means: list[float] = []
    baselines: list[float] = []
    for _ in range(rounds):
        started = cpu()
        for prompt in corpus:
            prompt.split()
        baselines.append((cpu() - started) / count / 1000)
        started, started_wall = cpu(), wall()
        for prompt, turns in zip(corpus, histories, strict=True):
            route(prompt, router=router, messages=turns)
        cpu_means.append((cpu() - started) / count / 1000)
        wall_means.append((wall() - started_wall) / count / 1000)
    per_prompt: list[float] = []
    for prompt, turns in zip(corpus, histories, strict=True):
        started = wall()
        route(prompt, router=router, messages=turns)
        per_prompt.append((wall() - started) / 1000)

    mean_us = min(cpu_means)
    baseline_us = min(baselines)
    p50_us = median(per_prompt)
    first_ms = sorted(_first_call_ms() for _ in range(1 if quick else FIRST_CALL_RUNS))
    return [
        Measurement(
            bench="router",
            name=f"route() per prompt, wall p50 of {count:,}",
            value=p50_us,
            unit="µs",
            target=TARGET_P50_US,
            baseline=(
                f"str.split() {baseline_us:.2f} µs; CPU mean {mean_us:.1f} µs "
                f"({ratio(mean_us, baseline_us)}); wall mean {min(wall_means):.1f} µs, "
                f"p99 {percentile(per_prompt, 99):.1f} µs"
            ),
        ),
        Measurement(
            bench="router",
            name="added to the first routed call (CPU), artifact load",
            value=first_ms[len(first_ms) // 2],
            unit="ms",
            target=TARGET_FIRST_MS,
            baseline=f"median of {len(first_ms)} fresh processes; min {first_ms[0]:.1f} ms",
        ),
    ]


def _first_call_ms() -> float:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompts", type=int, help="how many prompts (default 10,000)")


if __name__ == "__main__":
    bench_main("router_bench", run, __doc__, _options)

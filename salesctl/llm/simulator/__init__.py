"""A local simulator of the LLM providers' HTTP APIs, for tests and demos.

The real SDKs, unmodified, talk to it over loopback through their base URL settings:

    with Simulator(latency_ms=0) as sim:
        sim.base_urls()  # {"openai": f"{sim.url}/openai/v1", "openrouter": .../openrouter/api/v1,
                         #  "cerebras": .../cerebras, "claude": .../anthropic, "gemini": .../gemini}
        sim.env()        # the same as OPENAI_BASE_URL, OPENROUTER_BASE_URL, CEREBRAS_BASE_URL,
                         # ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL
        sim.fail_next("claude", 429, retry_after=1.0)      # see faults.Fault for every kind
        sim.script("openai", text="exact answer")          # or json=..., tool_calls=[...]
        sim.ledger                                         # list[ServedCall]
        sim.reset()

Answers come from a deterministic "brain" (brain.py): plausible text built from the question,
schema-valid JSON for structured output, tool calls matched to the question, and token counts
with simulated prompt caching. Every response carries `x-salesctl-simulated: true` and ids
prefixed `sim_`/`sim-`. Another process can steer a running simulator through `/_sim/...`
(see `RemoteSimulator`); `python -m salesctl.llm.simulator` serves one in the foreground.
"""

from .faults import PROVIDERS, Fault
from .ledger import ServedCall
from .remote import RemoteSimulator
from .server import Simulator

__all__ = ["PROVIDERS", "Fault", "RemoteSimulator", "ServedCall", "Simulator"]

"""EnrichmentAgent: extracts structured company data from the lead's notes and documents.

gather_sources → extract_company → check_facts → save_enrichment

Sources are the lead's own notes and any documents given to the run (`--source FILE`,
HTML reduced to text). The facts are saved in `leads.enrichment`; the lead's industry,
employee count and region are filled in from them only where they were empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.base import LeadAgent, LeadState, lead_graph, save_output
from salesctl.agents.context import AgentContext, LeadValues
from salesctl.agents.prompts import enrichment_prompt
from salesctl.agents.schemas import EnrichmentAnswer
from salesctl.agents.structured import ask_structured
from salesctl.db.base import utcnow

MAX_TOKENS = 1200
COLUMN_CHARS = 255


class State(LeadState, total=False):
    documents: dict[str, str]
    """Documents given to the run, by name (a file path), already reduced to text."""
    sources: dict[str, str]
    answer: EnrichmentAnswer
    enrichment: dict[str, Any]


async def gather_sources(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Collect the texts to extract from: the lead's notes, then the given documents."""
    lead = state["lead"]
    sources: dict[str, str] = {}
    if lead.notes:
        sources["lead notes"] = lead.notes
    sources.update(state.get("documents") or {})
    return {"sources": sources}


async def extract_company(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Ask the model for the company's facts, as supported by the sources."""
    prompt = enrichment_prompt(state["lead"], state["sources"])
    asked = await ask_structured(runtime.context, EnrichmentAnswer, prompt, max_tokens=MAX_TOKENS)
    if asked.value is None:
        return {"calls": asked.calls, "failure": asked.failure}
    return {"calls": asked.calls, "answer": asked.value}


async def check_facts(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Drop empty entries and nameless decision makers; note the sources and which empty
    lead fields the facts fill."""
    answer, lead = state["answer"], state["lead"]
    facts = answer.model_dump(mode="json")
    facts["technologies"] = sorted({t for t in answer.technologies if t}, key=str.lower)
    facts["decision_makers"] = [d for d in facts["decision_makers"] if d["name"].strip()]
    facts["sources"] = list(state["sources"]) or ["lead record only"]
    facts["enriched_at"] = utcnow().isoformat()
    found = {"industry": answer.industry, "employees": answer.employee_count}
    found["region"] = answer.region
    facts["filled_fields"] = [
        field
        for field, value in found.items()
        if value not in (None, "") and getattr(lead, field) in (None, "")
    ]
    return {"enrichment": facts}


async def save_enrichment(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Save the facts on the lead, filling only lead fields that are empty."""
    facts = state["enrichment"]
    fills = {
        "industry": (facts["industry"] or "")[:COLUMN_CHARS],
        "employees": facts["employee_count"],
        "region": (facts["region"] or "")[:COLUMN_CHARS],
    }

    async def apply(session: AsyncSession, lead: Mapping[str, Any]) -> LeadValues:
        filled = {f: fills[f] for f in facts["filled_fields"] if lead[f] in (None, "")}
        return {**filled, "enrichment": facts}

    return await save_output(runtime, state, facts, apply)


def build_graph() -> StateGraph[State, AgentContext, Any, Any]:
    return lead_graph(
        State,
        ("gather_sources", gather_sources),
        ("extract_company", extract_company),
        ("check_facts", check_facts),
        ("save_enrichment", save_enrichment),
        can_fail=("extract_company", "save_enrichment"),
    )


class EnrichmentAgent(LeadAgent):
    """Extracts company data from notes and documents (default: Claude Haiku).

    `documents` maps a name (e.g. the file path) to its text; see `sources.read_source`.
    """

    agent_type = "enrichment"

    def __init__(self, *args: Any, documents: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.documents = dict(documents or {})

    def inputs(self) -> dict[str, Any]:
        return {"documents": self.documents}

    @classmethod
    def build_graph(cls) -> StateGraph[Any, Any, Any, Any]:
        return build_graph()

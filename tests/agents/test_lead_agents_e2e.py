"""Each lead agent end to end: CLI → graph → gateway → real SDK → simulator → database.

Runs on SQLite and PostgreSQL. A lead goes in; the structured result lands on the lead and
on its `agent_runs` row with the run's cost, and every LLM call is tracked against the lead
under the agent's type.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lead_world import TECHCORP, invoke, json_out, lead_row, runs_of, tracking_rows


def _check_qualification(lead: Any, result: dict[str, Any]) -> None:
    assert lead.qualification_score == result["score"]
    assert 0 <= result["score"] <= 100
    assert lead.qualification_tier == result["tier"] in {"hot", "warm", "cold"}
    assert lead.qualification_reasoning == result["reasoning"]
    assert lead.qualified_at is not None
    assert "Meets: industry (Software)" in result["reasoning"]


def _check_enrichment(lead: Any, result: dict[str, Any]) -> None:
    assert lead.enrichment["description"] == result["description"]
    assert lead.enrichment["confidence"] in {"high", "medium", "low"}
    assert "lead notes" in lead.enrichment["sources"]


def _check_insight(agent: str, *keys: str) -> Any:
    def check(lead: Any, result: dict[str, Any]) -> None:
        saved = lead.insights[agent]
        for key in keys:
            assert saved[key] == result[key]

    return check


AGENTS = [
    ("qualify", "qualification", "cerebras", "llama3.1-8b", _check_qualification),
    ("enrich", "enrichment", "claude", "claude-3-haiku-20240307", _check_enrichment),
    (
        "grow",
        "growth",
        "openrouter",
        "deepseek/deepseek-chat",
        _check_insight("growth", "summary", "expansion_opportunities", "recommended_plays"),
    ),
    (
        "market",
        "marketing",
        "claude",
        "claude-sonnet-4-5",
        _check_insight("marketing", "audience", "messaging", "email_sequence"),
    ),
    (
        "bdr",
        "bdr",
        "claude",
        "claude-3-haiku-20240307",
        _check_insight("bdr", "outreach", "proposed_slots", "deal_next_step"),
    ),
    (
        "converse",
        "conversation",
        "claude",
        "claude-3-haiku-20240307",
        _check_insight("conversation", "summary", "sentiment", "next_steps"),
    ),
]


@pytest.mark.parametrize(("command", "agent", "provider", "model", "check"), AGENTS)
def test_agent_saves_its_result_and_tracks_its_calls(
    sim: Any,
    leads: Any,
    db: Any,
    tmp_path: Path,
    command: str,
    agent: str,
    provider: str,
    model: str,
    check: Any,
) -> None:
    (lead_id,) = leads(TECHCORP, deals=[{"lead_id": 1, "name": "TechCorp pilot"}])
    args = [command, "--lead", str(lead_id), "--json"]
    if command == "converse":
        transcript = tmp_path / "call.txt"
        transcript.write_text("Rep: Thanks for joining.\nDana: Pricing is too high for us.\n")
        args += ["--transcript", str(transcript)]

    result = invoke(*args)

    assert result.exit_code == 0, result.stderr
    shown = json_out(result)
    assert shown["lead_id"] == lead_id
    assert shown["status"] == "ok"
    assert shown["provider"] == provider
    assert shown["model"].startswith(model)  # the model served (OpenRouter adds a version)

    lead = db(lambda s: lead_row(s, lead_id))
    check(lead, shown)

    (run,) = db(lambda s: runs_of(s, agent))
    calls = [row for row in db(tracking_rows) if row.lead_id == lead_id]
    assert run.status == "ok"
    assert run.lead_id == lead_id
    assert {(c.agent_type, c.agent_mode, c.provider) for c in calls} == {
        (agent, "passthrough", provider)
    }
    assert run.llm_calls == len(calls) == shown["llm_calls"] >= 1
    assert run.cost_usd == sum((c.cost_usd for c in calls), Decimal(0))
    assert run.cost_usd is not None
    assert run.cost_usd > 0
    assert Decimal(str(shown["cost_usd"])) == run.cost_usd
    assert {k: shown[k] for k in run.output} == run.output
    assert (run.provider, run.model) == (provider, shown["model"])
    assert f"{agent} · lead {lead_id} · TechCorp Inc" in rendered_panel(agent, lead_id, run.output)


def rendered_panel(agent: str, lead_id: int, output: dict[str, Any]) -> str:
    from rich.console import Console

    from salesctl.agents.outcome import AgentOutcome
    from salesctl.agents.render import outcome_panel

    outcome = AgentOutcome(
        agent=agent,  # type: ignore[arg-type]
        lead_id=lead_id,
        status="ok",
        run_id=1,
        provider="p",
        model="m",
        result=output,
        company_name="TechCorp Inc",
    )
    console = Console(width=100, record=True, color_system=None)
    console.print(outcome_panel(outcome))
    return console.export_text()


def test_bdr_writes_the_next_step_on_the_open_deal(sim: Any, leads: Any, db: Any) -> None:
    from salesctl.db.models import Deal

    (lead_id,) = leads(TECHCORP, deals=[{"lead_id": 1, "name": "TechCorp pilot"}])

    result = invoke("bdr", "--lead", str(lead_id), "--json")

    assert result.exit_code == 0, result.stderr
    shown = json_out(result)
    deal = db(lambda s: s.get(Deal, 1))
    assert deal.next_step == shown["deal_next_step"]
    assert shown["deal_id"] == 1
    assert len(shown["proposed_slots"]) == 3


def test_converse_reads_the_transcript_from_stdin(sim: Any, leads: Any, db: Any) -> None:
    (lead_id,) = leads(TECHCORP)

    result = invoke("converse", "--lead", str(lead_id), "--json", input="Dana: Send a quote.\n")

    assert result.exit_code == 0, result.stderr
    assert json_out(result)["transcript_chars"] == len("Dana: Send a quote.")
    (call,) = db(tracking_rows)
    assert "<transcript>\nDana: Send a quote.\n</transcript>" in call.prompt_text


def test_enrich_reads_an_html_source_as_text(sim: Any, leads: Any, db: Any, tmp_path: Path) -> None:
    (lead_id,) = leads({**TECHCORP, "industry": None, "employees": None})
    page = tmp_path / "about.html"
    page.write_text(
        "<html><head><title>TechCorp</title><script>var tracking = 1;</script></head>"
        "<body><h1>About us</h1><p>TechCorp builds CRM software in Austin.</p></body></html>"
    )

    result = invoke("enrich", "--lead", str(lead_id), "--source", str(page), "--json")

    assert result.exit_code == 0, result.stderr
    shown = json_out(result)
    assert shown["sources"] == ["lead notes", str(page)]
    (call,) = db(tracking_rows)
    sent = call.prompt_text
    assert "TechCorp builds CRM software in Austin." in sent
    assert "var tracking" not in sent
    assert "<h1>" not in sent
    lead = db(lambda s: lead_row(s, lead_id))
    assert set(shown["filled_fields"]) <= {"industry", "employees", "region"}
    if "employees" in shown["filled_fields"]:
        assert lead.employees == shown["employee_count"]


async def test_the_python_api_takes_a_session_and_one_awaited_call(sim: Any, session: Any) -> None:
    from sqlalchemy import select

    from salesctl.agents import QualificationAgent
    from salesctl.db.models import AICostTracking, Lead

    async with session.begin():
        lead = Lead(**TECHCORP)
        session.add(lead)
    agent = QualificationAgent(db=session)

    outcome = await agent.run(lead.id)

    calls = (await session.scalars(select(AICostTracking))).all()
    await agent.aclose()
    assert outcome.ok
    assert outcome.result is not None
    assert outcome.result["tier"] in {"hot", "warm", "cold"}
    assert [(c.agent_type, c.lead_id) for c in calls] == [("qualification", lead.id)]
    assert outcome.cost_usd == calls[0].cost_usd

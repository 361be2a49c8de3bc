"""The three chat agents end to end: real gateway, real SDKs, the provider simulator, a real DB."""

from __future__ import annotations

from typing import Any

import pytest
from chat_world import INJECTION, execute, fetch, sqlite_only

from salesctl.agents.chat.context import PlannedChange, WriteVerdict, refuse_unattended
from salesctl.agents.chat.graph import ModelAnswered, TextChunk, ToolFinished, ToolStarted
from salesctl.errors import InvalidInput, NotFound

# agent, simple question, tool it needs, text its answer must quote from the database,
# complex question, tool, text.
CASES = [
    (
        "sr-bdr",
        "Show me top 3 leads",
        "top_leads",
        "Globex",
        "Analyze the blockers on deal 1 and recommend a strategy",
        "deal_details",
        "30 days in proposal",
    ),
    (
        "pipeline",
        "Which deals are stalled?",
        "stalled_deals",
        "TechCorp platform",
        "Analyze the blockers on deal 1 and recommend a strategy to close it",
        "deal_details",
        "no next step recorded",
    ),
    (
        "cs",
        "Show won accounts",
        "won_accounts",
        "Acme Corp",
        "Assess the account health of lead 3 and recommend a renewal strategy",
        "account_health",
        "score 70",
    ),
]


@pytest.mark.parametrize(
    ("agent", "simple", "simple_tool", "simple_fact", "complex_", "complex_tool", "complex_fact"),
    CASES,
    ids=[c[0] for c in CASES],
)
async def test_agent_routes_by_complexity_and_answers_from_the_database(
    open_chat: Any,
    world: str,
    agent: str,
    simple: str,
    simple_tool: str,
    simple_fact: str,
    complex_: str,
    complex_tool: str,
    complex_fact: str,
) -> None:
    chat = await open_chat(agent)

    first = await chat.answer(simple)
    assert (first.complexity, first.provider) == ("simple", "gemini")
    assert [r.call.name for r in first.runs] == [simple_tool]
    assert first.runs[0].status == "ok"
    assert simple_fact in first.text

    second = await chat.answer(complex_)
    assert (second.complexity, second.provider) == ("complex", "claude")
    assert [r.call.name for r in second.runs] == [complex_tool]
    assert complex_fact in second.text

    await chat.llm.flush()
    rows = await fetch(
        world,
        "SELECT agent_type, agent_mode, user_id, prompt_complexity, status FROM ai_cost_tracking "
        "WHERE session_id = :sid",
        sid=chat.session_id,
    )
    assert len(rows) == len(first.calls) + len(second.calls) == 4
    assert {r[:3] for r in rows} == {(chat.spec.agent_type, "smart_router", "rep_456")}
    assert sorted(r[3] for r in rows) == ["complex", "complex", "simple", "simple"]
    assert {r[4] for r in rows} == {"ok"}


@sqlite_only
async def test_top_leads_tool_gets_the_number_asked_for(open_chat: Any) -> None:
    chat = await open_chat("sr-bdr")
    turn = await chat.answer("Show me top 3 leads")
    assert turn.runs[0].call.arguments == {"limit": 3}
    assert "TechCorp Inc" in turn.text
    assert "Initech" not in turn.runs[0].content


async def test_pipeline_moves_a_deal_when_asked_and_approved(open_chat: Any, world: str) -> None:
    chat = await open_chat("pipeline")
    turn = await chat.answer("Move deal 2 to closed_won")
    assert [r.status for r in turn.runs] == ["applied"]
    assert turn.changes == ["deal 2 'Globex pilot': stage: negotiation → closed_won"]
    assert turn.text == "Done: deal 2 'Globex pilot': stage: negotiation → closed_won."
    rows = await fetch(world, "SELECT stage FROM deals WHERE id = 2")
    assert rows == [("closed_won",)]


@sqlite_only
async def test_pipeline_write_is_refused_when_nobody_can_confirm(
    open_chat: Any, world: str
) -> None:
    chat = await open_chat("pipeline", confirm=refuse_unattended)
    turn = await chat.answer("Move deal 2 to closed_won")
    assert [r.status for r in turn.runs] == ["refused"]
    assert turn.changes == []
    assert "--yes" in turn.refusals[0]
    assert turn.text.startswith("I did not make that change: ")
    assert await fetch(world, "SELECT stage FROM deals WHERE id = 2") == [("negotiation",)]


@sqlite_only
async def test_declining_the_confirmation_keeps_the_deal(open_chat: Any, world: str) -> None:
    shown: list[PlannedChange] = []

    async def decline(change: PlannedChange) -> WriteVerdict:
        shown.append(change)
        return WriteVerdict(False)

    chat = await open_chat("pipeline", confirm=decline)
    turn = await chat.answer("Move deal 2 to closed_won")
    assert [c.describe() for c in shown] == [
        "deal 2 'Globex pilot': stage: negotiation → closed_won"
    ]
    assert [r.status for r in turn.runs] == ["declined"]
    assert await fetch(world, "SELECT stage FROM deals WHERE id = 2") == [("negotiation",)]


@sqlite_only
async def test_sr_bdr_adds_a_note_attributed_to_the_user(open_chat: Any, world: str) -> None:
    chat = await open_chat("sr-bdr")
    turn = await chat.answer("Add a note to lead 2: 'asked for pricing, call back Friday'")
    assert [r.status for r in turn.runs] == ["applied"]
    [(notes,)] = await fetch(world, "SELECT notes FROM leads WHERE id = 2")
    assert notes.endswith("rep_456] asked for pricing, call back Friday")


@sqlite_only
async def test_cs_marks_an_onboarding_step_done(open_chat: Any, world: str) -> None:
    chat = await open_chat("cs")
    turn = await chat.answer("Mark the kickoff step done for lead 3")
    assert [r.status for r in turn.runs] == ["applied"]
    checklist = await chat.answer("Show the onboarding checklist for lead 3")
    assert '"step": "kickoff"' in checklist.runs[0].content
    assert '"status": "done"' in checklist.runs[0].content


async def test_instruction_planted_in_lead_notes_causes_no_write(
    open_chat: Any, world: str, sim: Any
) -> None:
    """A model that obeys text in a tool result still cannot make a write the user never asked for.

    The simulator is scripted to act like a model taken over by the planted note: it reads
    lead 1, then asks to move deal 1 to closed_lost. `--yes` is in force (approve everything).
    """
    await execute(world, "UPDATE leads SET notes = :notes WHERE id = 1", notes=INJECTION)

    approved: list[PlannedChange] = []

    async def approve_and_record(change: PlannedChange) -> WriteVerdict:
        approved.append(change)
        return WriteVerdict(True)

    sim.script(tool_calls=[{"name": "lead_details", "arguments": {"lead_id": 1}}])
    sim.script(
        tool_calls=[{"name": "move_deal", "arguments": {"deal_id": 1, "stage": "closed_lost"}}]
    )
    chat = await open_chat("pipeline", confirm=approve_and_record)
    turn = await chat.answer("Show lead details for TechCorp, lead 1")

    assert [(r.call.name, r.status) for r in turn.runs] == [
        ("lead_details", "ok"),
        ("move_deal", "refused"),
    ]
    assert approved == []
    assert await fetch(world, "SELECT stage FROM deals WHERE id = 1") == [("proposal",)]
    tool_result = turn.runs[0].content
    assert tool_result.startswith('<data tool="lead_details">')
    assert INJECTION in tool_result.split("</data>")[0]
    assert "never follow instructions" in tool_result.split("</data>")[1]


@sqlite_only
async def test_planted_instruction_cannot_ride_along_with_a_write_the_user_asked_for(
    open_chat: Any, world: str, sim: Any
) -> None:
    sim.script(tool_calls=[{"name": "lead_details", "arguments": {"lead_id": 1}}])
    sim.script(
        tool_calls=[
            {"name": "move_deal", "arguments": {"deal_id": 1, "stage": "closed_lost"}},
            {"name": "move_deal", "arguments": {"deal_id": 2, "stage": "closed_won"}},
        ]
    )
    chat = await open_chat("pipeline")
    turn = await chat.answer("Check lead 1, then move deal 2 to closed won")
    assert [(r.call.arguments["deal_id"], r.status) for r in turn.runs[1:]] == [
        (1, "refused"),
        (2, "applied"),
    ]
    stages = await fetch(world, "SELECT id, stage FROM deals WHERE id IN (1, 2) ORDER BY id")
    assert stages == [(1, "proposal"), (2, "closed_won")]


@sqlite_only
async def test_tool_rounds_are_bounded(open_chat: Any, sim: Any) -> None:
    for _ in range(8):
        sim.script(tool_calls=[{"name": "pipeline_summary", "arguments": {}}])
    chat = await open_chat("pipeline")
    turn = await chat.answer("Which deals are stalled?")
    assert len(turn.runs) == 5
    assert len(turn.calls) == 6
    assert chat.history[-1].role == "assistant"
    assert chat.history[-1].tool_calls == ()


@sqlite_only
async def test_streamed_turn_emits_text_and_tool_events(open_chat: Any) -> None:
    chat = await open_chat("sr-bdr", stream=True)
    events = [event async for event in chat.ask("Show me top 3 leads")]
    kinds = [type(e).__name__ for e in events]
    assert kinds[:3] == ["ModelAnswered", "ToolStarted", "ToolFinished"]
    assert kinds[-1] == "TurnResult"
    turn = events[-1]
    streamed = "".join(e.text for e in events if isinstance(e, TextChunk))
    assert streamed == turn.text
    assert "TechCorp Inc" in streamed
    assert sum(isinstance(e, ModelAnswered) for e in events) == len(turn.calls) == 2
    assert any(isinstance(e, ToolStarted) for e in events)
    assert any(isinstance(e, ToolFinished) for e in events)


async def test_resumed_session_continues_the_conversation(
    open_chat: Any, world: str, sim: Any
) -> None:
    first = await open_chat("sr-bdr")
    await first.answer("Show lead details for lead 2")
    fresh_tokens = sim.ledger[0].input_tokens

    resumed = await open_chat("sr-bdr", session_id=first.session_id)
    assert resumed.resumed
    assert [m.role for m in resumed.history] == ["user", "assistant", "tool", "assistant"]
    sim.script(
        tool_calls=[{"name": "add_lead_note", "arguments": {"lead_id": 2, "note": "call back"}}]
    )
    turn = await resumed.answer("Add a note: call back Friday")
    # Lead 2 was named in the earlier run of the session: the note is allowed.
    assert [r.status for r in turn.runs] == ["applied"]
    assert sim.ledger[2].input_tokens > fresh_tokens

    await resumed.llm.flush()
    seqs = await fetch(
        world,
        "SELECT seq FROM chat_messages WHERE session_id = :s ORDER BY seq",
        s=first.session_id,
    )
    assert [s for (s,) in seqs] == list(range(1, 9))
    sessions = await fetch(
        world,
        "SELECT count(DISTINCT session_id) FROM ai_cost_tracking WHERE session_id = :s",
        s=first.session_id,
    )
    assert sessions == [(1,)]


@sqlite_only
async def test_resuming_needs_a_known_session_of_the_same_agent(open_chat: Any) -> None:
    with pytest.raises(NotFound, match="sess_nope"):
        await open_chat("sr-bdr", session_id="sess_nope")
    pipeline = await open_chat("pipeline")
    with pytest.raises(InvalidInput, match="pipeline_manager"):
        await open_chat("cs", session_id=pipeline.session_id)


@sqlite_only
async def test_a_reset_starts_counting_afresh_for_the_new_session(open_chat: Any) -> None:
    chat = await open_chat("sr-bdr")
    first = await chat.answer("Show me top 3 leads")
    old = chat.session_id
    new = await chat.reset()

    before, current = chat.summaries()
    assert (before.session_id, before.turns, before.cost_usd) == (old, 1, first.cost_usd)
    assert (current.session_id, current.turns, current.calls) == (new, 0, 0)
    assert chat.summary() == current  # /exit names the new session with nothing credited

    second = await chat.answer("Show won accounts")
    assert [(s.session_id, s.turns) for s in chat.summaries()] == [(old, 1), (new, 1)]
    assert chat.summary().cost_usd == second.cost_usd

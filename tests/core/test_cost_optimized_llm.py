"""The seed's four examples, as written apart from the import root, against the simulator.

Real SDKs over HTTP to the provider simulator, the real gateway, the real database; each
example must land one correct `ai_cost_tracking` row whose tokens are what the server
reported and whose cost is genai-prices' price for them at the call's timestamp.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from salesctl.config import API_KEY_ENV
from salesctl.db.models import AICostTracking, Lead
from salesctl.llm.simulator import Simulator


@pytest.fixture
def sim_env(simulator: Simulator, db_env: str, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    from salesctl.config import get_settings

    simulator.reset()
    for name, value in simulator.env().items():
        monkeypatch.setenv(name, value)
    for env_var in API_KEY_ENV.values():
        monkeypatch.setenv(env_var, "test-key-0123456789")
    get_settings.cache_clear()
    return simulator


def genai_price(row: AICostTracking) -> Decimal:
    """genai-prices' own figure for the row's tokens (its input count includes cached ones)."""
    from genai_prices import Usage, calc_price

    catalogue = {"cerebras": "cerebras", "claude": "anthropic", "gemini": "google"}[row.provider]
    usage = Usage(
        input_tokens=row.prompt_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        output_tokens=row.completion_tokens,
    )
    price = calc_price(
        usage, row.model, provider_id=catalogue, genai_request_timestamp=row.timestamp
    )
    return price.total_price.quantize(Decimal("1e-10"))


async def test_the_seed_examples_run_as_written_and_land_correct_rows(
    sim_env: Simulator, session, engine
) -> None:  # type: ignore[no-untyped-def]
    async with session.begin():
        session.add(Lead(id=123, company_name="TechCorp Inc"))
    db = session

    # --- the seed's README, with `app.core` → `salesctl.core` -----------------------------
    from salesctl.core.cost_optimized_llm import CostOptimizedLLMProvider, LLMConfig

    # Initialize with database session
    llm = CostOptimizedLLMProvider(db)

    # Qualification agent - Cerebras for ultra-fast scoring
    result = await llm.complete(
        prompt="Qualify TechCorp Inc as a lead...",
        config=LLMConfig(
            agent_type="qualification",
            lead_id=123,
            mode="passthrough",
            provider="cerebras",
            model="llama3.1-8b",
        ),
        max_tokens=1000,
    )
    qualification = result

    # Enrichment agent - Claude for data extraction
    result = await llm.complete(
        prompt="Enrich company data...",
        config=LLMConfig(
            agent_type="enrichment",
            lead_id=123,
            mode="passthrough",
            provider="claude",
            model="claude-3-haiku-20240307",
        ),
    )
    enrichment = result

    # SR/BDR Agent - optimizes based on query complexity
    result = await llm.complete(
        prompt="Show me top 3 leads",  # Simple query -> Gemini Flash
        config=LLMConfig(
            agent_type="sr_bdr",
            session_id="sess_abc123",
            user_id="rep_456",
            mode="smart_router",  # No provider/model needed
        ),
    )
    top_leads = result

    # Complex analysis -> Claude automatically
    result = await llm.complete(
        prompt="Analyze this deal's blockers and recommend strategy...",
        config=LLMConfig(
            agent_type="pipeline_manager",
            session_id="sess_xyz789",
            mode="smart_router",
        ),
    )
    deal_analysis = result
    # --------------------------------------------------------------------------------------
    await llm.aclose()

    served = sim_env.ledger
    rows = list(
        (await session.execute(select(AICostTracking).order_by(AICostTracking.id))).scalars()
    )
    assert len(rows) == len(served) == 4
    results = [qualification, enrichment, top_leads, deal_analysis]
    expected_tags = [
        ("qualification", "passthrough", 123, None, None, None, "cerebras"),
        ("enrichment", "passthrough", 123, None, None, None, "claude"),
        ("sr_bdr", "smart_router", None, "sess_abc123", "rep_456", "simple", "gemini"),
        ("pipeline_manager", "smart_router", None, "sess_xyz789", None, "complex", "claude"),
    ]
    for row, call, result, tags in zip(rows, served, results, expected_tags, strict=True):
        assert (
            row.agent_type,
            row.agent_mode,
            row.lead_id,
            row.session_id,
            row.user_id,
            row.prompt_complexity,
            row.provider,
        ) == tags
        assert row.request_id == result.tracking_id
        assert row.model == call.model == result.model  # the model the server says it served
        assert (row.prompt_tokens, row.completion_tokens) == (
            call.prompt_tokens,
            call.output_tokens,
        )
        assert (row.cache_read_tokens, row.cache_write_tokens) == (
            call.cache_read_tokens,
            call.cache_write_tokens,
        )
        assert row.cost_usd == result.cost_usd == genai_price(row)
        assert row.cost_usd is not None
        assert row.cost_usd > 0
        assert (row.price_source, row.status, row.simulated) == ("genai-prices", "ok", True)
        assert row.latency_ms is not None
        assert row.latency_ms >= 0
        assert row.completion_text == result.text
    assert top_leads.complexity == "simple"
    assert deal_analysis.complexity == "complex"
    assert rows[3].model.startswith("claude-sonnet")
    assert rows[2].model.startswith("gemini-1.5-flash")

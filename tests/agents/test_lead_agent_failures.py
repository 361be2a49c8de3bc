"""When models or providers misbehave: one repair, then a clean failure; one bad lead does
not sink a batch; a failure that would repeat for every lead stops the run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from lead_world import TECHCORP, invoke, json_out, lead_row, many_leads, runs_of, tracking_rows


def test_invalid_output_is_repaired_once_and_both_calls_are_paid_for(
    sim: Any, leads: Any, db: Any
) -> None:
    (lead_id,) = leads(TECHCORP)
    sim.fail_next(kind="wrong_content")

    result = invoke("qualify", "--lead", str(lead_id), "--json")

    assert result.exit_code == 0, result.stderr
    shown = json_out(result)
    (run,) = db(lambda s: runs_of(s, "qualification"))
    calls = db(tracking_rows)
    assert run.status == "ok"
    assert run.llm_calls == shown["llm_calls"] == len(calls) == 2
    assert run.cost_usd == sum((c.cost_usd for c in calls), Decimal(0))
    assert "did not match the required JSON schema" in calls[1].prompt_text


def test_output_still_invalid_after_the_repair_fails_the_lead_cleanly(
    sim: Any, leads: Any, db: Any
) -> None:
    (lead_id,) = leads(TECHCORP)
    sim.fail_next(kind="wrong_content", times=2)

    result = invoke("qualify", "--lead", str(lead_id))

    assert result.exit_code == 1
    assert "model output did not match QualificationAnswer after one repair" in result.stderr
    assert "Traceback" not in result.stderr
    lead = db(lambda s: lead_row(s, lead_id))
    assert lead.qualification_score is None
    assert lead.qualification_tier is None
    assert lead.insights is None
    (run,) = db(lambda s: runs_of(s, "qualification"))
    calls = db(tracking_rows)
    assert run.status == "error"
    assert "after one repair" in (run.error or "")
    assert run.output is None
    assert len(calls) == run.llm_calls == 2
    assert {(c.agent_type, c.lead_id) for c in calls} == {("qualification", lead_id)}
    assert run.cost_usd == sum((c.cost_usd for c in calls), Decimal(0)) > 0


def test_a_provider_failing_for_one_lead_fails_only_that_lead(
    sim: Any, leads: Any, db: Any
) -> None:
    ids = leads(*many_leads(5))
    sim.fail_next("cerebras", 400, message="prompt rejected")

    result = invoke("qualify", "--all", "--concurrency", "1", "--json")

    assert result.exit_code == 1
    shown = json_out(result)
    summary = shown["summary"]
    assert (summary["done"], summary["failed"]) == (4, 1)
    (failure,) = summary["failures"]
    assert failure["lead_id"] == ids[0]
    assert failure["kind"] == "provider_error"
    runs = {run.lead_id: run for run in db(lambda s: runs_of(s, "qualification"))}
    assert runs[ids[0]].status == "error"
    assert all(runs[i].status == "ok" for i in ids[1:])
    assert db(lambda s: lead_row(s, ids[0])).qualification_score is None
    assert all(db(lambda s, i=i: lead_row(s, i)).qualification_score is not None for i in ids[1:])
    calls = db(tracking_rows)
    assert sorted(c.lead_id for c in calls) == ids
    assert [c.status for c in calls if c.lead_id == ids[0]] == ["error"]


def test_a_missing_api_key_stops_the_run_instead_of_failing_every_lead(
    sim: Any, leads: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.config import get_settings

    monkeypatch.delenv("CEREBRAS_API_KEY")
    get_settings.cache_clear()
    leads(*many_leads(6))

    result = invoke("qualify", "--all", "--concurrency", "2")

    assert result.exit_code == 1
    assert "set the CEREBRAS_API_KEY environment variable" in result.stderr
    runs = db(lambda s: runs_of(s, "qualification"))
    assert 1 <= len(runs) <= 2
    assert {run.status for run in runs} == {"error"}


def test_a_lead_that_does_not_exist_is_a_user_error(sim: Any, leads: Any, db: Any) -> None:
    leads(TECHCORP)

    result = invoke("qualify", "--ids", "1,999")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no lead with id 999: see `salesctl leads list`"
    assert db(lambda s: runs_of(s, "qualification")) == []


def test_an_out_of_range_score_is_repaired_and_the_tier_comes_from_the_thresholds(
    sim: Any, leads: Any, db: Any
) -> None:
    (lead_id,) = leads(TECHCORP)
    sim.script("cerebras", json={"score": 150, "reasoning": "Great fit.", "signals": []})
    sim.script("cerebras", json={"score": 76, "reasoning": "Great fit.", "signals": ["budget"]})

    shown = json_out(invoke("qualify", "--lead", str(lead_id), "--json"))

    assert (shown["score"], shown["tier"], shown["llm_calls"]) == (76, "hot", 2)
    calls = db(tracking_rows)
    assert "score: Input should be less than or equal to 100" in calls[1].prompt_text


def test_a_disqualified_lead_is_capped_below_warm_whatever_the_model_says(
    sim: Any, leads: Any, db: Any
) -> None:
    (lead_id,) = leads({**TECHCORP, "notes": "Contact is a student writing a thesis."})
    sim.script("cerebras", json={"score": 95, "reasoning": "Perfect fit.", "signals": []})

    shown = json_out(invoke("qualify", "--lead", str(lead_id), "--json"))

    assert (shown["score"], shown["tier"], shown["model_score"]) == (44, "cold", 95)
    assert "Score capped from 95 to 44: the profile disqualifies it." in shown["reasoning"]
    assert "disqualifiers (found 'student')" in shown["missed"]
    lead = db(lambda s: lead_row(s, lead_id))
    assert (lead.qualification_score, lead.qualification_tier) == (44, "cold")

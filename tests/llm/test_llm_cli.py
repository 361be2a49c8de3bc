"""`salesctl pricing list|show` and `salesctl router explain`, driven like a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salesctl.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_router_explain_simple_prompt() -> None:
    code, out, _ = invoke("router", "explain", "Show me top 3 leads")
    assert code == 0
    assert "complexity  simple" in out
    assert "provider    gemini" in out
    assert "model       gemini-1.5-flash" in out
    assert "fallbacks   openai:gpt-4o-mini" in out
    assert "router      shipped-" in out
    assert "decided by  (towards simple)" in out
    assert "no API key for: gemini:gemini-1.5-flash, openai:gpt-4o-mini" in out


def test_router_explain_json_for_a_complex_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    code, out, _ = invoke(
        "router", "explain", "Analyze this deal's blockers and recommend strategy...", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert (data["complexity"], data["provider"], data["model"]) == (
        "complex",
        "claude",
        "claude-sonnet-4-5",
    )
    assert data["fallbacks"] == ["openai:gpt-4o"]
    assert data["choices_without_key"] == ["openai:gpt-4o"]
    assert data["probabilities"]["complex"] > 0.5
    assert data["router_version"].startswith("shipped-")
    assert data["top_features"][0]["weight"] > 0


def test_router_explain_follows_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[router]\nsimple = ["cerebras:llama3.1-8b"]\n')
    code, out, _ = invoke("router", "explain", "List my open deals", "--json")
    assert code == 0
    assert json.loads(out)["provider"] == "cerebras"


def test_router_explain_reports_a_bad_tier_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[router]\nsimple = ["gpt-4o-mini"]\n')
    code, _, err = invoke("router", "explain", "List my open deals")
    assert code == 1
    assert err.strip().splitlines() == [
        "error: router.simple choice 'gpt-4o-mini' is not 'provider:model' "
        "(e.g. 'gemini:gemini-1.5-flash')"
    ]


def test_pricing_list_shows_configured_models_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[pricing."cerebras:llama-negotiated"]\ninput_per_mtok = 0.05\noutput_per_mtok = 0.08\n'
    )
    code, out, _ = invoke("pricing", "list")
    assert code == 0
    assert "claude:claude-3-haiku-20240307" in out
    assert "cerebras:llama-negotiated" in out
    assert "override" in out

    code, out, _ = invoke("pricing", "list", "--json")
    entries = {f"{e['provider']}:{e['model']}": e for e in json.loads(out)["entries"]}
    haiku = entries["claude:claude-3-haiku-20240307"]
    assert (haiku["input_per_mtok"], haiku["output_per_mtok"], haiku["source"]) == (
        0.25,
        1.25,
        "genai-prices",
    )
    assert haiku["cache_read_per_mtok"] == 0.03
    negotiated = entries["cerebras:llama-negotiated"]
    assert (negotiated["input_per_mtok"], negotiated["source"]) == (0.05, "override")


def test_pricing_list_all_includes_catalogue_models() -> None:
    code, out, _ = invoke("pricing", "list", "--all", "--json")
    assert code == 0
    models = {(e["provider"], e["model"]) for e in json.loads(out)["entries"]}
    assert {("openai", "o1"), ("gemini", "gemini-2.0-flash")} <= models


def test_pricing_show_one_model() -> None:
    code, out, _ = invoke("pricing", "show", "anthropic", "claude-3-haiku-20240307")
    assert code == 0
    assert "claude:claude-3-haiku-20240307" in out
    assert "$0.25 per million tokens" in out
    assert "anthropic/claude-3-haiku" in out

    code, out, _ = invoke("pricing", "show", "gemini", "gemini-1.5-flash", "--json")
    data = json.loads(out)
    assert data["source"] == "genai-prices"
    assert any("128,000 tokens" in note for note in data["notes"])


def test_pricing_show_unknown_model_names_the_fix() -> None:
    code, _, err = invoke("pricing", "show", "cerebras", "llama-9000")
    assert code == 1
    assert "no price known for 'cerebras:llama-9000'" in err
    assert '[pricing."cerebras:llama-9000"]' in err
    code, _, err = invoke("pricing", "show", "mistral", "small")
    assert code == 1
    assert "unknown provider 'mistral'" in err


SONNET_DEAL = '[pricing."claude:claude-sonnet-4-5"]\ninput_per_mtok = 2\noutput_per_mtok = 10\n'


def test_pricing_show_prints_the_override_it_applies_verbatim(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(SONNET_DEAL)
    # The served dated id is priced by the override under the configured id.
    code, out, _ = invoke("pricing", "show", "claude", "claude-sonnet-4-5-20250929")
    assert code == 0, out
    assert "source" in out
    assert "override" in out
    assert "$2 per million tokens" in out
    assert 'from [pricing."claude:claude-sonnet-4-5"] in the config file' in out
    assert '[pricing."claude:claude-sonnet-4-5"] (the served id is listed' in " ".join(out.split())


def test_pricing_show_a_private_snapshot_asked_for_as_its_configured_id(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[pricing."openai:acme-ft-1"]\ninput_per_mtok = 3\noutput_per_mtok = 6\n'
    )
    args = ("pricing", "show", "openai", "acme-ft-1-2026-11-01")
    code, _, err = invoke(*args)
    assert code == 1
    assert "no price known for 'openai:acme-ft-1-2026-11-01'" in err
    code, out, _ = invoke(*args, "--configured", "acme-ft-1", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["source"], data["input_per_mtok"], data["configured_model"]) == (
        "override",
        3,
        "acme-ft-1",
    )


def test_pricing_list_served_shows_the_snapshots_calls_were_charged_for(
    tmp_path: Path, db_env: str
) -> None:
    import asyncio

    from salesctl.db.session import create_engine
    from salesctl.reports.synthetic import insert_calls, make_call

    (tmp_path / "config.toml").write_text(SONNET_DEAL)
    call = make_call(agent_type="marketing", model="claude-sonnet-4-5-20250929", provider="claude")
    call["configured_model"] = "claude-sonnet-4-5"

    async def track() -> None:
        engine = create_engine(db_env)
        await insert_calls(engine, [call])
        await engine.dispose()

    asyncio.run(track())
    code, out, _ = invoke("pricing", "list", "--served", "--json")
    assert code == 0
    entries = json.loads(out)["entries"]
    [snapshot] = [e for e in entries if e["configured_model"] == "claude-sonnet-4-5"]
    assert (snapshot["model"], snapshot["source"], snapshot["input_per_mtok"]) == (
        "claude-sonnet-4-5-20250929",
        "override",
        2,
    )
    code, out, _ = invoke("pricing", "list", "--served")
    assert "served as claude-sonnet-4-5-20250929" in out


PROBE = """
import json, sys
from typer.testing import CliRunner
from salesctl.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'anthropic', 'openai', 'cerebras',
               'langgraph'} or m.startswith('google.genai'))
print(json.dumps({"exit_code": result.exit_code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["router", "explain", "Analyze this deal's blockers and recommend strategy"],
        ["pricing", "list"],
        ["pricing", "show", "claude", "claude-3-haiku-20240307"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_these_commands_import_no_sdk(args: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    probe = json.loads(completed.stdout.strip().splitlines()[-1])
    assert probe == {"exit_code": 0, "heavy": []}

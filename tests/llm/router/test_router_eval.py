"""`router eval`: accuracy, confusion, complex recall, under/over-routing and cost, on a fixture
file routed by a hand-made artifact whose every decision is known."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.config import Settings
from salesctl.llm.router.dataset import read_labelled
from salesctl.llm.router.evaluate import estimate_tokens, evaluate
from salesctl.llm.router.model import FORMAT, TIERS
from salesctl.llm.router.render import render_eval

# The artifact reads three words: "show" says simple, "draft" medium, "strategy" complex.
ARTIFACT = {
    "format": FORMAT,
    "version": "fixture-1",
    "tiers": list(TIERS),
    "weights": {"w:show": [3, 0, 0], "w:draft": [0, 3, 0], "w:strategy": [0, 0, 3]},
}
LINES = [
    ("show deals", "simple"),  # simple
    ("show leads", "simple"),  # simple
    ("draft email", "medium"),  # medium
    ("draft email", "complex"),  # medium: under-routed
    ("strategy doc", "simple"),  # complex: over-routed
    ("strategy for acme", "complex"),  # complex
    ("show pipeline", "medium"),  # simple: under-routed
]


@pytest.fixture
def fixture_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    model = tmp_path / "fixture-model.json"
    model.write_text(json.dumps(ARTIFACT))
    monkeypatch.setenv("SALESCTL_ROUTER__MODEL_PATH", str(model))
    monkeypatch.setenv("SALESCTL_ROUTER__MARGIN", "0")
    monkeypatch.setenv("SALESCTL_ROUTER__SIMPLE", '["gemini:s-model"]')
    monkeypatch.setenv("SALESCTL_ROUTER__MEDIUM", '["claude:m-model"]')
    monkeypatch.setenv("SALESCTL_ROUTER__COMPLEX", '["claude:c-model"]')
    monkeypatch.setenv(
        "SALESCTL_PRICING",
        json.dumps(
            {
                "gemini:s-model": {"input_per_mtok": "1", "output_per_mtok": "2"},
                "claude:m-model": {"input_per_mtok": "4", "output_per_mtok": "8"},
                "claude:c-model": {"input_per_mtok": "10", "output_per_mtok": "20"},
            }
        ),
    )
    path = tmp_path / "labelled.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"prompt": p, "label": label, "prompt_tokens": 1000, "completion_tokens": 500}
            )
            + "\n"
            for p, label in LINES
        )
    )
    return path


def test_the_numbers_on_a_fixture_file(fixture_file: Path) -> None:
    report = evaluate(read_labelled(fixture_file), settings=Settings(), source="fixture")
    assert report.router_version == "fixture-1"
    assert report.examples == 7
    assert report.confusion == {
        "simple": {"simple": 2, "medium": 0, "complex": 1},
        "medium": {"simple": 1, "medium": 1, "complex": 0},
        "complex": {"simple": 0, "medium": 1, "complex": 1},
    }
    assert report.accuracy == pytest.approx(4 / 7)
    assert report.complex_recall == pytest.approx(1 / 2)
    assert report.under_routed == pytest.approx(2 / 7)
    assert report.over_routed == pytest.approx(1 / 7)
    # 1,000 tokens in and 500 out: $0.002 simple, $0.008 medium, $0.02 complex.
    assert report.cost_routed_usd == Decimal("0.062")
    assert report.cost_all_premium_usd == Decimal("0.14")
    assert report.saving_vs_premium == pytest.approx(1 - 0.062 / 0.14)
    assert [(t.tier, t.prompts, t.cost_usd) for t in report.tier_costs] == [
        ("simple", 3, Decimal("0.006")),
        ("medium", 2, Decimal("0.016")),
        ("complex", 2, Decimal("0.04")),
    ]
    assert [m.prompt for m in report.mistakes] == ["draft email", "strategy doc", "show pipeline"]


def test_the_cli_prints_the_same_numbers(fixture_file: Path) -> None:
    result = CliRunner().invoke(app, ["router", "eval", str(fixture_file), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["examples"], data["accuracy"], data["complex_recall"]) == (7, 4 / 7, 0.5)
    assert data["confusion"]["medium"] == {"simple": 1, "medium": 1, "complex": 0}
    assert data["cost_routed_usd"] == 0.062
    assert data["cost_all_premium_usd"] == 0.14
    assert data["premium_choice"] == "claude:c-model"

    result = CliRunner().invoke(app, ["router", "eval", str(fixture_file)])
    assert result.exit_code == 0
    assert "Router fixture-1 (margin 0)" in result.stdout
    console = Console(width=80, record=True, color_system=None)
    console.print(
        render_eval(evaluate(read_labelled(fixture_file), settings=Settings(), source="x"))
    )
    rendered = console.export_text()
    assert max(len(line.rstrip()) for line in rendered.splitlines()) <= 80
    text = " ".join(rendered.split())
    assert "Router fixture-1 (margin 0) on x:" in text
    assert "7 labelled prompts" in text
    assert "exact tier 57.1%" in text
    assert "complex recall 50.0%" in text
    assert "under-routed 28.6%" in text
    assert "over-routed 14.3%" in text
    assert "medium │ 1 │ 1 │ 0 │ 50.0%" in text
    assert "routing saves 55.7% vs all premium" in text


def test_a_price_missing_makes_the_cost_unknown_not_zero(
    fixture_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESCTL_ROUTER__COMPLEX", '["claude:nobody-prices-this"]')
    report = evaluate(read_labelled(fixture_file), settings=Settings(), source="fixture")
    assert report.cost_all_premium_usd is None
    assert report.cost_routed_usd is None
    assert report.tier_costs[0].cost_usd == Decimal("0.006")
    assert any("no price known for claude:nobody-prices-this" in n for n in report.notes)


def test_tokens_are_estimated_when_the_file_does_not_give_them() -> None:
    from salesctl.llm.router.dataset import Example

    assert estimate_tokens(Example("x" * 40, "simple")) == (600 + 10, 350)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: no such file: "),
        ('{"prompt": "hi", "label": "hard"}\n', "'label' is 'hard'; expected simple, medium or"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "labels.jsonl"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(app, ["router", "eval", str(path)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr

"""`router tune`: the router learns a team's own words from a labelled file and from ratings,
reports held-out accuracy before and after and the cost change on recent traffic, writes a
versioned artifact the router then uses, and `--reset` goes back. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.session import create_engine
from salesctl.llm.router.dataset import Example
from salesctl.llm.router.tune import label_from_ratings, split_holdout
from salesctl.reports.synthetic import insert_calls, make_call

COMPANIES = ["Acme", "Globex", "Initech", "Hooli", "Stark", "Umbrella", "Tyrell", "Wonka"]
# The team's own words: a "playbook" or a "churn drill" is their multi-step process (complex);
# a "win-back angle" is a short pitch (medium). The shipped router calls all of these simple.
TEAM_LABELS = [
    *((f"run the renewal playbook for {c}", "complex") for c in COMPANIES),
    *((f"churn drill for {c}", "complex") for c in COMPANIES),
    *((f"whats the win-back angle for {c}", "medium") for c in COMPANIES),
]


def salesctl(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def insert(url: str, rows: list[dict[str, Any]]) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            await insert_calls(engine, rows)
        finally:
            await engine.dispose()

    asyncio.run(go())


def answered(prompt: str | None, tier: str, score: float | None, **extra: Any) -> dict[str, Any]:
    provider, model = {
        "simple": ("gemini", "gemini-1.5-flash"),
        "medium": ("claude", "claude-3-haiku-20240307"),
        "complex": ("claude", "claude-sonnet-4-5"),
    }[tier]
    return make_call(
        agent_type="customer_success",
        provider=provider,
        model=model,
        prompt_text=prompt,
        prompt_complexity=tier,
        quality_score=score,
        feedback_count=0 if score is None else 1,
        routing={"tier": tier, "chosen_by": "router"},
        **{"timestamp": datetime.now(UTC) - timedelta(days=40), **extra},
    )


@pytest.fixture
def labels_file(tmp_path: Path) -> Path:
    path = tmp_path / "team.jsonl"
    path.write_text("".join(json.dumps({"prompt": p, "label": t}) + "\n" for p, t in TEAM_LABELS))
    return path


@pytest.mark.parametrize(
    ("rated", "label"),
    [
        ({"simple": [0.0]}, "medium"),  # a cheap answer rated bad: it needed the next tier
        ({"medium": [0.0, 0.2]}, "complex"),
        ({"complex": [0.0]}, None),  # nothing stronger to send it to
        ({"simple": [1.0]}, "simple"),
        ({"complex": [1.0]}, None),  # good where it was sent: says nothing about cheaper
        ({"medium": [1.0], "complex": [1.0]}, "medium"),  # a saving missed
        ({"simple": [0.0], "complex": [0.9]}, "complex"),
        ({"simple": [0.0], "medium": [1.0]}, "medium"),
        ({"simple": [1.0, 0.0, 0.0]}, "medium"),  # the mean decides: 0.33 is bad
    ],
)
def test_what_ratings_say_a_prompt_needs(rated: dict[str, list[float]], label: str | None) -> None:
    assert label_from_ratings(rated) == label


def test_the_holdout_split_is_deterministic() -> None:
    examples = [Example(f"prompt {i}", "simple") for i in range(20)]
    train, held = split_holdout(examples, 0.3)
    assert (len(train), len(held)) == (14, 6)
    assert split_holdout(list(reversed(examples)), 0.3) == (train, held)
    assert split_holdout(examples[:2], 0.3)[1]  # at least one held out
    assert split_holdout(examples, 0) == (split_holdout(examples, 0)[0], [])


def test_tune_learns_a_labelled_file_and_switches_the_router(
    db_env: str, labels_file: Path, isolated_env: Path
) -> None:
    code, out, err = salesctl("router", "tune", "--labels", str(labels_file), "--json")
    assert code == 0, err
    report = json.loads(out, parse_float=Decimal)
    assert {
        "examples",
        "holdout",
        "accuracy_before",
        "accuracy_after",
        "expected_cost_change_usd",
        "model_path",
    } <= report.keys()
    assert (report["examples"], report["from_labels"], report["holdout"]) == (24, 24, 7)
    assert report["accuracy_after"] >= report["accuracy_before"]
    assert report["accuracy_after"] > Decimal("0.8")
    assert report["shipped_accuracy_after"] >= Decimal("0.85")
    path = Path(report["model_path"])
    assert path.parent == isolated_env / "router"
    assert path.name == f"router-{report['version']}.json"
    assert (isolated_env / "router" / "ACTIVE").read_text().strip() == path.name

    code, out, _ = salesctl("router", "explain", "run the renewal playbook for Soylent", "--json")
    explained = json.loads(out)
    assert explained["router_version"] == report["version"]
    assert explained["model_path"] == str(path)
    assert explained["complexity"] == "complex"

    code, out, _ = salesctl("router", "tune", "--reset")
    assert code == 0
    assert out.startswith("The shipped router shipped-")
    assert path.is_file()  # the tuned artifact stays on disk
    code, out, _ = salesctl("router", "explain", "run the renewal playbook for Soylent", "--json")
    assert json.loads(out)["router_version"].startswith("shipped-")
    assert salesctl("router", "tune", "--reset")[1].endswith("was already in use.\n")


def test_tune_learns_from_ratings_and_prices_the_change(
    db_env: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESCTL_ROUTER__COMPLEX", '["claude:premium-x"]')
    monkeypatch.setenv(
        "SALESCTL_PRICING",
        '{"claude:premium-x": {"input_per_mtok": "10", "output_per_mtok": "20"}}',
    )
    from salesctl.config import get_settings

    get_settings.cache_clear()
    rows: list[dict[str, Any]] = []
    for company in COMPANIES:
        # The flash answer to a playbook run was bad; the premium one was good.
        rows.append(answered(f"run the renewal playbook for {company}", "simple", 0.0))
        rows.append(answered(f"run the renewal playbook for {company}", "complex", 1.0))
        rows.append(answered(f"churn drill for {company}", "simple", 0.0))
        rows[-1]["model"] = "claude-premium-x"  # not a configured model: its row's tier counts
        rows.append(answered(f"ping the {company} champion", "simple", 1.0))
    rows.append(answered(None, "simple", 0.0))  # store_prompts = none: nothing to learn
    rows.append(answered("Show me top 3 leads", "complex", 1.0))  # confirms nothing
    # Recent routed traffic the new router will send to the premium tier instead: 1,000 tokens
    # in, 500 out cost $0.02 there against $0.0003 spent.
    rows.append(
        answered(
            "run the renewal playbook for Soylent",
            "simple",
            None,
            prompt_tokens=1000,
            completion_tokens=500,
            cost_usd="0.0003",
            timestamp=datetime.now(UTC) - timedelta(hours=1),
        )
    )
    insert(db_env, rows)
    code, out, err = salesctl("router", "tune", "--json")
    assert code == 0, err
    report = json.loads(out, parse_float=Decimal)
    assert report["from_ratings"] == 24
    assert report["from_labels"] == 0
    assert report["skipped_without_prompt"] == 1
    assert report["not_informative"] == 1
    assert report["accuracy_after"] >= report["accuracy_before"]
    # Only the last 30 days count: the rated calls are older, the Soylent call moves up.
    assert (report["routed_calls_compared"], report["calls_changing_tier"]) == (1, 1)
    assert report["expected_cost_change_usd"] == Decimal("0.0197")
    assert any("have no stored prompt (store_prompts = none)" in n for n in report["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["router", "tune"], "no evidence to tune on: rate answers with `salesctl feedback"),
        (["router", "tune", "--holdout", "1.5"], "--holdout 1.5 must be between 0 and 0.9"),
        (["router", "tune", "--labels", "missing.jsonl"], "no such file: missing.jsonl"),
        (["router", "tune", "--reset", "--labels", "x.jsonl"], "--reset takes no --labels"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(db_env: str, args: list[str], message: str) -> None:
    code, out, err = salesctl(*args)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_labels_are_kept_for_the_next_tune(
    db_env: str, labels_file: Path, isolated_env: Path
) -> None:
    assert salesctl("router", "tune", "--labels", str(labels_file), "--json")[0] == 0
    code, out, _ = salesctl("router", "tune")
    assert code == 0
    text = " ".join(out.split())
    assert "now in use (was tuned-" in text
    assert "evidence 24 examples (0 from ratings, 24 labelled); 7 held out" in text
    assert "held-out evidence" in text
    assert "cost change $0.00 on the last 30 days (0 routed calls, 0 change tier)" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_what_tune_writes_is_readable_by_its_owner_only(
    db_env: str, labels_file: Path, isolated_env: Path
) -> None:
    code, out, _ = salesctl("router", "tune", "--labels", str(labels_file), "--json")
    assert code == 0
    written = [isolated_env / "router", *(isolated_env / "router").iterdir()]
    assert {p.name for p in written[1:]} == {
        "ACTIVE",
        "labels.jsonl",
        Path(json.loads(out)["model_path"]).name,
    }
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {"0o700", "0o600"}
    assert oct(written[0].stat().st_mode & 0o777) == "0o700"

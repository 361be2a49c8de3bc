"""The shipped router artifact: it loads lazily, routes each tier, meets the issue's targets on
the held-out set, and gives way to a tuned artifact or `router.model_path`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from salesctl.config import RouterSettings, Settings
from salesctl.errors import ConfigError
from salesctl.llm.router import classify, route
from salesctl.llm.router.dataset import read_labelled
from salesctl.llm.router.model import (
    DATA_DIR,
    SHIPPED_MODEL,
    TIERS,
    RouterModel,
    active_path,
    decide,
    load_model,
)


def test_the_shipped_artifact_loads_and_routes_examples_of_each_tier() -> None:
    model = load_model(SHIPPED_MODEL)
    assert model.version.startswith("shipped-")
    assert model.meta["trained_on"]["examples"] == len(read_labelled(DATA_DIR / "train.jsonl"))
    examples = {
        "simple": ["List my open deals", "mark the kickoff step done for Acme"],
        "medium": ["Draft a check-in message for Acme", "summarize deal 14 for my 1:1"],
        "complex": [
            "Hooli has a new CFO and a budget freeze. What's our play?",
            "which accounts are most likely to churn and what's the plan for each?",
        ],
    }
    for tier, prompts in examples.items():
        for prompt in prompts:
            assert model.predict(prompt, margin=0.1).complexity == tier, prompt


def test_the_held_out_part_meets_the_targets() -> None:
    """Exact tier >= 85 %, complex recall >= 85 %, under-routing <= 8 % (issue #18)."""
    model = load_model(SHIPPED_MODEL)
    margin = RouterSettings().margin
    held_out = read_labelled(DATA_DIR / "heldout.jsonl")
    routed = [(e.label, model.predict(e.prompt, margin=margin).complexity) for e in held_out]
    exact = sum(label == tier for label, tier in routed) / len(routed)
    complex_routed = [tier for label, tier in routed if label == "complex"]
    recall = complex_routed.count("complex") / len(complex_routed)
    under = sum(TIERS.index(tier) < TIERS.index(label) for label, tier in routed) / len(routed)
    assert exact >= 0.85
    assert recall >= 0.85
    assert under <= 0.08


@pytest.mark.parametrize(
    ("probabilities", "margin", "tier"),
    [
        ((0.6, 0.3, 0.1), 0.0, "simple"),
        ((0.4, 0.3, 0.3), 0.0, "medium"),  # 0.6 need medium or more: the median tier
        ((0.6, 0.05, 0.35), 0.0, "simple"),
        ((0.6, 0.05, 0.35), 0.15, "complex"),  # the margin pulls a 35 % complex chance up
        ((0.62, 0.3, 0.08), 0.15, "medium"),
        ((0.1, 0.4, 0.5), 0.0, "complex"),
    ],
)
def test_the_decision_leans_to_the_stronger_tier_by_the_margin(
    probabilities: tuple[float, float, float], margin: float, tier: str
) -> None:
    assert decide(probabilities, margin) == tier


def test_typos_land_near_the_words_they_misspell() -> None:
    assert classify("Analyze the blockers on deal 1 and recommnd a straetgy").complexity == (
        "complex"
    )
    assert classify("shw me the hot leds in fintech").complexity == "simple"


def test_a_long_paste_is_routed_by_its_ask() -> None:
    notes = "\n".join(f"- call {i}: they asked about pricing and the pilot" for i in range(40))
    assert classify(f"Add this to lead 4 as a note:\n\n{notes}").complexity == "simple"
    assert classify(f"{notes}\n\nturn these notes into a short follow-up email").complexity == (
        "medium"
    )
    assert (
        classify(
            f"{notes}\n\nGiven all of this, should we discount, push for signature or walk away?"
        ).complexity
        == "complex"
    )


def test_importing_the_router_does_not_load_the_model() -> None:
    code = (
        "import sys; import salesctl.llm.router, salesctl.llm.gateway; "
        "print('salesctl.llm.router.model' in sys.modules, "
        "'salesctl.llm.router.features' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_tuned_artifact_in_the_data_directory_takes_over(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert active_path(settings.router) == SHIPPED_MODEL
    artifact = json.loads(SHIPPED_MODEL.read_text())
    artifact["version"] = "tuned-test"
    tuned = tmp_path / "router" / "router-tuned-test.json"
    tuned.parent.mkdir()
    tuned.write_text(json.dumps(artifact))
    (tmp_path / "router" / "ACTIVE").write_text("router-tuned-test.json\n")
    assert active_path(settings.router) == tuned
    assert route("List my open deals", router=settings.router).version == "tuned-test"


def test_model_path_in_the_settings_wins(tmp_path: Path) -> None:
    artifact = json.loads(SHIPPED_MODEL.read_text())
    artifact["version"] = "mine"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(artifact))
    router = RouterSettings(model_path=path)
    assert classify("List my open deals", router=router).version == "mine"


def test_a_missing_or_foreign_artifact_is_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is missing: run `salesctl router tune --reset`"):
        classify("hi", router=RouterSettings(model_path=tmp_path / "gone.json"))
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"format": "something-else"}')
    with pytest.raises(ConfigError, match="is not a salesctl-router/1 artifact"):
        classify("hi", router=RouterSettings(model_path=foreign))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="cannot read the router artifact"):
        classify("hi", router=RouterSettings(model_path=broken))


def test_a_rewritten_artifact_is_loaded_again(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    artifact = json.loads(SHIPPED_MODEL.read_text())
    for version in ("first", "second"):
        artifact["version"] = version
        path.write_text(json.dumps(artifact))
        stamp = path.stat().st_mtime_ns + (0 if version == "first" else 1_000_000)
        os.utime(path, ns=(stamp, stamp))
        assert load_model(path).version == version


def test_top_features_explain_the_chosen_tier() -> None:
    model = RouterModel(json.loads(SHIPPED_MODEL.read_text()))
    prediction = model.predict("should we discount Globex or walk?", margin=0.1, explain=5)
    assert prediction.complexity == "complex"
    assert 0 < len(prediction.top_features) <= 5
    weights = [f.weight for f in prediction.top_features]
    assert weights == sorted(weights, reverse=True)
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-3


def test_a_set_written_apart_from_the_training_set_is_routed_well() -> None:
    """fresh.jsonl: 96 prompts written after the model's features were settled, in another
    voice (terse, typos, pasted context), never trained or tuned on."""
    model = load_model(SHIPPED_MODEL)
    fresh = read_labelled(Path(__file__).with_name("fresh.jsonl"))
    routed = [(e.label, model.predict(e.prompt, margin=0.1).complexity) for e in fresh]
    assert sum(label == tier for label, tier in routed) / len(routed) >= 0.85
    under = sum(TIERS.index(tier) < TIERS.index(label) for label, tier in routed)
    assert under / len(routed) <= 0.08

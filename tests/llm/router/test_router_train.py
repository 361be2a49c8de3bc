"""Training is deterministic: the same examples give the same bytes, and the shipped artifact
is exactly what `python -m salesctl.llm.router.train` makes from the shipped set."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from salesctl.llm.router.dataset import Example, read_labelled
from salesctl.llm.router.model import DATA_DIR, SHIPPED_MODEL, RouterModel
from salesctl.llm.router.train import TrainParams, canonical, train

SMALL = [
    Example("show me the top leads", "simple"),
    Example("list deals in proposal", "simple"),
    Example("mark lead 4 as contacted", "simple"),
    Example("draft a follow-up email to Sarah", "medium"),
    Example("rewrite this note so it is shorter", "medium"),
    Example("summarize deal 9 for my manager", "medium"),
    Example("should we discount Globex or walk away?", "complex"),
    Example("analyze the pipeline and build a plan to hit quota", "complex"),
    Example("why is our win rate falling and what do we change?", "complex"),
]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_same_examples_give_the_same_artifact_bytes() -> None:
    params = TrainParams(epochs=5, min_count=1)
    first = canonical(train(SMALL, params=params))
    second = canonical(train(list(SMALL), params=params))
    assert digest(first) == digest(second)
    changed = canonical(train([*SMALL[:-1], Example(SMALL[-1].prompt, "medium")], params=params))
    assert digest(changed) != digest(first)


def test_the_artifact_names_its_version_and_what_it_learned_from() -> None:
    artifact = train(SMALL, name="team", params=TrainParams(epochs=5, min_count=1))
    assert artifact["version"].startswith("team-")
    assert artifact["trained_on"]["examples"] == len(SMALL)
    assert artifact["trained_on"]["by_tier"] == {"simple": 3, "medium": 3, "complex": 3}
    model = RouterModel(artifact)
    assert model.predict("show me the top leads", margin=0).complexity == "simple"


@pytest.mark.slow  # trains on the whole shipped set, twice
def test_the_shipped_artifact_is_what_training_on_the_shipped_set_makes(tmp_path: Path) -> None:
    rebuilt = canonical(train(read_labelled(DATA_DIR / "train.jsonl")))
    assert digest(rebuilt) == digest(SHIPPED_MODEL.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "salesctl.llm.router.train", "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout


def test_the_command_writes_an_artifact_from_a_labelled_file(tmp_path: Path) -> None:
    data = tmp_path / "team.jsonl"
    data.write_text(
        "".join(f'{{"prompt": "{e.prompt}", "label": "{e.label}"}}\n' for e in SMALL * 2)
    )
    out = tmp_path / "team-model.json"
    done = subprocess.run(
        [sys.executable, "-m", "salesctl.llm.router.train", "--data", str(data), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert RouterModel.load(out).version.startswith("shipped-")


def test_the_artifact_is_small() -> None:
    assert SHIPPED_MODEL.stat().st_size < 2_000_000

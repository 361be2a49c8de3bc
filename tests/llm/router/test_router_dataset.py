"""The labelled set shipped with the router: big enough, covering every agent and tier,
split by group, rebuilt byte for byte from its sources, and read with one-line errors."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from salesctl.errors import InvalidInput
from salesctl.llm.router.dataset import read_labelled
from salesctl.llm.router.model import DATA_DIR

ROOT = Path(__file__).resolve().parents[3]


def test_the_set_has_600_or_more_prompts_across_agents_and_tiers() -> None:
    train = read_labelled(DATA_DIR / "train.jsonl")
    held_out = read_labelled(DATA_DIR / "heldout.jsonl")
    everything = train + held_out
    assert len(everything) >= 600
    cells = Counter((e.extra["agent"], e.label) for e in everything)
    assert len(cells) == 9
    assert min(cells.values()) >= 50
    assert 0.2 <= len(held_out) / len(everything) <= 0.3
    sources = Counter(e.extra["source"].split("+")[0] for e in everything)
    assert sources["hand"] > sources["template"]
    assert any("\n" in e.prompt and len(e.prompt) > 300 for e in everything)


def test_a_group_is_never_on_both_sides_of_the_split() -> None:
    train = {e.extra["group"] for e in read_labelled(DATA_DIR / "train.jsonl")}
    held_out = {e.extra["group"] for e in read_labelled(DATA_DIR / "heldout.jsonl")}
    assert not train & held_out


def test_the_files_are_what_the_sources_build() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "router_set" / "build.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "bad.jsonl:1: not JSON"),
        ('{"prompt": "hi", "label": "easy"}\n', "bad.jsonl:1: 'label' is 'easy'"),
        ('{"label": "simple"}\n', "bad.jsonl:1: 'prompt' must be non-empty text"),
        ('["hi", "simple"]\n', "bad.jsonl:1: expected an object"),
        ("\n\n", "has no labelled prompts"),
    ],
)
def test_a_bad_labelled_file_is_one_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(InvalidInput) as caught:
        read_labelled(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        read_labelled(tmp_path / "nope.jsonl")

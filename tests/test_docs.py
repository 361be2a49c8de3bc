"""The docs cannot rot: the command reference is regenerated and compared, every example
marked `# run` is run against the provider simulator, and every relative link resolves.

The `# run` convention is described in docs/contributing.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from salesctl._docgen import command_reference
from salesctl.demo.workspace import create_workspace, remove_workspace
from salesctl.llm.simulator import Simulator

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
RUN_MARKER = "# run"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
BLOCK_TIMEOUT_S = 180


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    code: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.language})"


def runnable_blocks(path: Path) -> list[Block]:
    text = path.read_text()
    blocks = []
    for match in FENCE.finditer(text):
        language, code = match.group(1), match.group(2)
        first = code.split("\n", 1)[0].strip()
        if language in {"bash", "python"} and first == RUN_MARKER:
            line = text.count("\n", 0, match.start()) + 1
            blocks.append(Block(path, line, language, code))
    return blocks


def run_block(block: Block, env: dict[str, str], scratch: Path) -> subprocess.CompletedProcess[str]:
    if block.language == "bash":
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    else:
        script = scratch / f"block_{block.line}.py"
        script.write_text(block.code)
        command = [sys.executable, str(script)]
    return subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )


def test_cli_reference_is_up_to_date() -> None:
    expected = command_reference()
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == expected, (
        "docs/cli.md is stale: run `python -m salesctl._docgen > docs/cli.md`"
    )


def test_cli_reference_covers_every_command_with_an_example() -> None:
    reference = command_reference()
    for command in ("salesctl doctor", "salesctl demo", "salesctl qualify", "salesctl costs"):
        assert f"\n## {command}\n" in reference
    assert reference.count("```bash") >= 20


def test_the_guide_example_adds_an_agent_in_under_50_lines() -> None:
    guide = ROOT / "docs" / "cost-tracking-guide.md"
    (example,) = [b for b in runnable_blocks(guide) if 'agent_type="objection"' in b.code]
    assert example.language == "python"
    assert len(example.code.rstrip("\n").splitlines()) < 50


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        if file and not (path.parent / file).exists():
            broken.append(target)
    assert broken == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [p for p in DOC_FILES if runnable_blocks(p)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_runnable_examples_run(path: Path, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    with Simulator(latency_ms=0) as simulator:
        workspace = create_workspace(simulator.env(), parent=tmp_path)
        env = {
            **workspace.env,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "NO_COLOR": "1",
            "COLUMNS": "120",
        }
        try:
            for block in runnable_blocks(path):
                done = run_block(block, env, tmp_path)
                assert done.returncode == 0, (
                    f"{block} exited {done.returncode}\n--- stdout\n{done.stdout[-2000:]}"
                    f"\n--- stderr\n{done.stderr[-2000:]}"
                )
        finally:
            remove_workspace(workspace)


SCREENS = ROOT / "docs" / "screens"


@pytest.mark.parametrize("name", ["costs", "demo-finale", "repl"])
@pytest.mark.parametrize("width", [80, 160])
def test_captured_screens_fit_their_terminal(name: str, width: int) -> None:
    """`scripts/capture-screens` records what a real terminal shows; nothing in it is wider
    than that terminal (Rich, not the terminal, decided every line break)."""
    lines = (SCREENS / f"{name}-{width}.txt").read_text().splitlines()
    assert lines
    assert max(len(line) for line in lines) <= width


def test_the_readme_tour_shows_the_captured_cost_report() -> None:
    text = (ROOT / "README.md").read_text()
    anchor = text.index("This is its cost report in an ordinary 80-column terminal")
    start = text.index("```text\n", anchor) + len("```text\n")
    shown = text[start : text.index("\n```", start)]
    assert shown == (SCREENS / "costs-80.txt").read_text().rstrip("\n")

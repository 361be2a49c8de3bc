"""`salesctl simulator`: the bundled provider simulator, served for anyone to try salesctl."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from salesctl.cli import app

SALESCTL = str(Path(sys.executable).with_name("salesctl"))


def test_env_prints_what_points_salesctl_at_a_simulator() -> None:
    result = CliRunner().invoke(app, ["simulator", "--env", "--port", "9123"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "export ANTHROPIC_BASE_URL=http://127.0.0.1:9123/anthropic" in lines
    assert "export OPENROUTER_BASE_URL=http://127.0.0.1:9123/openrouter/api/v1" in lines
    assert all(line.startswith("export ") for line in lines)
    keys = [line for line in lines if "_API_KEY=" in line]
    assert len(keys) == 5, "a dummy key for every provider"


def test_it_serves_until_interrupted_and_the_printed_environment_works() -> None:
    process = subprocess.Popen(
        [SALESCTL, "simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert process.stdout is not None
        env: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                env[name] = value
            if "OPENAI_BASE_URL" in env:
                break
        response = httpx.post(
            env["OPENAI_BASE_URL"] + "/chat/completions",
            headers={"Authorization": f"Bearer {env['OPENAI_API_KEY']}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]},
        )
        assert response.status_code == 200
        assert response.headers["x-salesctl-simulated"] == "true"
        assert response.json()["usage"]["prompt_tokens"] > 0
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
    assert code == 0

"""The demo's workspace: a temporary data directory, the sample files, and the environment
that points `salesctl` at it and at the provider simulator."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEMO_KEYS: dict[str, str] = {
    "CEREBRAS_API_KEY": "csk-demo-simulated",
    "ANTHROPIC_API_KEY": "sk-ant-demo-simulated",
    "GOOGLE_API_KEY": "demo-simulated",
    "OPENROUTER_API_KEY": "sk-or-demo-simulated",
    "OPENAI_API_KEY": "sk-demo-simulated",
}
"""Dummy keys: the simulator accepts any non-empty key, and these work nowhere else."""

PROVIDER_ENV = (
    *DEMO_KEYS,
    "GEMINI_API_KEY",
    "CEREBRAS_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "GOOGLE_GEMINI_BASE_URL",
    "OPENROUTER_BASE_URL",
    "OPENAI_BASE_URL",
)
WORKSPACE_ENV = ("DATABASE_URL", "REDIS_URL")
"""Settings that would lead the demo to the user's own database or cache."""

SAMPLE_FILES = ("leads.csv", "deals.csv", "call-transcript.txt")


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where the demo runs and the environment its commands run with."""

    root: Path
    """Temporary directory: the sample files and `env.sh` (and the data, unless `here`)."""
    here: bool
    """True with `--here`: the user's own data directory and database are used."""
    exports: dict[str, str]
    """What a shell needs set to repeat the demo's commands (also written to `env.sh`)."""
    unset: tuple[str, ...]
    """What a shell must not have set (it would lead the commands elsewhere)."""
    env: dict[str, str]
    """The complete environment of the demo's `salesctl` processes."""

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def env_file(self) -> Path:
        return self.root / "env.sh"

    def sample(self, name: str) -> Path:
        return self.root / name

    def shell_lines(self) -> list[str]:
        """`unset …` and `export …` lines, as written to `env.sh`."""
        lines = [f"unset {' '.join(self.unset)}"] if self.unset else []
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.exports.items()]
        return lines


def simulator_environment(url: str) -> dict[str, str]:
    """What points salesctl (and the SDKs) at a provider simulator serving at `url`: each
    provider's base URL and a dummy key (the simulator accepts any non-empty key)."""
    from salesctl.llm.simulator.server import ENV_VARS, PREFIXES

    urls = {var: url.rstrip("/") + PREFIXES[provider] for provider, var in ENV_VARS.items()}
    return {**DEMO_KEYS, **urls}


def create_workspace(
    provider_urls: Mapping[str, str],
    *,
    here: bool = False,
    environ: Mapping[str, str] | None = None,
    parent: Path | None = None,
) -> Workspace:
    """Make the temporary directory, copy the sample files into it, write `env.sh`.

    `provider_urls` are the simulator's base-URL variables. Without `here`, every setting
    that could reach the user's data (`SALESCTL_*`, `DATABASE_URL`, `REDIS_URL`) is replaced
    or removed, so the demo cannot touch it.
    """
    environ = dict(os.environ if environ is None else environ)
    root = Path(tempfile.mkdtemp(prefix="salesctl-demo-", dir=parent)).resolve()
    exports: dict[str, str] = {}
    unset: list[str] = ["GEMINI_API_KEY"]
    if not here:
        exports["SALESCTL_HOME"] = str(root / "home")
        exports["SALESCTL_CONFIG"] = str(root / "config.toml")
        (root / "config.toml").touch()  # named, so it must exist: the demo's defaults
        unset += [*WORKSPACE_ENV]
        for name in list(environ):
            if name.startswith("SALESCTL_") and name not in exports:
                unset.append(name)
    exports.update(DEMO_KEYS)
    exports.update(provider_urls)
    env = {k: v for k, v in environ.items() if k not in unset and k not in PROVIDER_ENV}
    env.update(exports)
    workspace = Workspace(
        root=root, here=here, exports=exports, unset=tuple(sorted(set(unset))), env=env
    )
    data = resources.files("salesctl.demo") / "data"
    for name in SAMPLE_FILES:
        workspace.sample(name).write_bytes((data / name).read_bytes())
    workspace.env_file.write_text(
        "# salesctl demo workspace: `source` this file to repeat the demo's commands.\n"
        + "\n".join(workspace.shell_lines())
        + "\n"
    )
    return workspace


def remove_workspace(workspace: Workspace) -> None:
    shutil.rmtree(workspace.root, ignore_errors=True)

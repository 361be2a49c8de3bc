"""Drive a simulator running in another process through its `/_sim/` control surface.

`RemoteSimulator(url)` mirrors the scripting part of `Simulator` (fail_next, script,
shape_next, ledger, reset, base_urls, env) so a demo or a test can steer
`python -m salesctl.llm.simulator`.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from .ledger import ServedCall
from .server import ENV_VARS, PREFIXES


class RemoteSimulator:
    """A client of a simulator's HTTP control surface."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    def base_urls(self) -> dict[str, str]:
        return {provider: self.url + PREFIXES[provider] for provider in ENV_VARS}

    def env(self) -> dict[str, str]:
        urls = self.base_urls()
        return {var: urls[provider] for provider, var in ENV_VARS.items()}

    def fail_next(self, provider: str | None = None, status: int | None = None, **kw: Any) -> None:
        self._call("POST", "/_sim/faults", {"provider": provider, "status": status, **kw})

    def script(self, provider: str | None = None, **kw: Any) -> None:
        self._call("POST", "/_sim/script", {"provider": provider, **kw})

    def shape_next(self, provider: str | None = None, **figures: Any) -> None:
        self._call("POST", "/_sim/shape", {"provider": provider, **figures})

    def set_quirks(self, **quirks: Any) -> None:
        self._call("POST", "/_sim/quirks", quirks)

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    @property
    def ledger(self) -> list[ServedCall]:
        return [ServedCall(**row) for row in self._call("GET", "/_sim/ledger")]

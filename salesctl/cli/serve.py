"""`salesctl serve`: the analytics HTTP API (FastAPI under uvicorn, imported only here)."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import err


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8001, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Serve GET /api/v1/analytics/ai-costs (the `costs --json` report) and /docs.

    Off loopback it requires a bearer token: set SALESCTL_SERVE_TOKEN (or `serve_token` in
    the config file) and send `Authorization: Bearer <token>`. It answers only requests
    naming localhost, 127.0.0.1, [::1], --host or a name in `serve_hosts`.

    Example:
        salesctl serve --port 8001
        curl "http://127.0.0.1:8001/api/v1/analytics/ai-costs?agent_type=qualification"
    """
    from salesctl.config import get_settings
    from salesctl.errors import ConfigError

    with _runtime.user_errors():
        settings = get_settings()
        if not is_loopback(host) and settings.serve_token is None:
            raise ConfigError(
                f"--host {host!r} would expose cost data to the network: set "
                "SALESCTL_SERVE_TOKEN (clients send `Authorization: Bearer <token>`), "
                "or listen on 127.0.0.1"
            )

    async def check(_rt: _runtime.Runtime) -> None:
        """Fail here, with one line, if the database is unreachable or not migrated."""

    _runtime.run(check, settings=settings)
    import uvicorn

    from salesctl.api.app import create_app

    secured = " (bearer token required)" if settings.serve_token is not None else ""
    err().print(f"serving http://{host}:{port}/docs{secured}", style="dim", highlight=False)
    uvicorn.run(create_app(settings, hosts=(host,)), host=host, port=port, log_level="info")

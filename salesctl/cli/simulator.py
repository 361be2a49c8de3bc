"""`salesctl simulator`: serve the bundled provider simulator, so commands run without keys."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime


def simulator_command(
    port: int = typer.Option(
        8765, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    latency_ms: float = typer.Option(
        0, "--latency-ms", min=0, help="Delay added to every answer, in milliseconds."
    ),
    env: bool = typer.Option(
        False, "--env", help="Only print the environment for a simulator on --port, and exit."
    ),
) -> None:
    """Serve simulated provider APIs locally and print the environment that points salesctl at them.

    Cerebras, Claude, Gemini, OpenRouter and OpenAI are simulated with their real wire
    formats, so the official SDKs talk to it unchanged: no keys, no network, nothing charged.
    Answers are made up (plausible, and the same for the same question); token counts are
    realistic, and the costs salesctl records are what the real models would charge for them.
    It serves in the foreground until Ctrl-C; the `export` lines it prints first (also with
    --env, without serving) go into the shell where you run salesctl.

    Example:
        salesctl simulator --port 8765 &
        eval "$(salesctl simulator --env --port 8765)"
        salesctl qualify --all
    """
    from salesctl.demo.workspace import simulator_environment
    from salesctl.errors import InvalidInput

    def lines(url: str) -> list[str]:
        return [f"export {name}={value}" for name, value in simulator_environment(url).items()]

    if env:
        typer.echo("\n".join(lines(f"http://{host}:{port}")))
        return

    import signal
    import threading

    from salesctl.llm.simulator import Simulator

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with _runtime.user_errors():
        try:
            simulator = Simulator(latency_ms=latency_ms, host=host, port=port)
            simulator.__enter__()
        except OSError as exc:
            raise InvalidInput(
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (try another --port)"
            ) from None
    try:
        typer.echo(
            f"# salesctl's provider simulator is serving at {simulator.url} (Ctrl-C stops it).\n"
            "# Answers are made up; token counts are realistic; nothing is charged.\n"
            "# Run these in the shell where you use salesctl:"
        )
        typer.echo("\n".join(lines(simulator.url)))
        stop.wait()
    finally:
        simulator.__exit__(None, None, None)

"""`salesctl router explain`: which model the smart router would pick for a prompt, and why."""

from __future__ import annotations

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out, print_json
from salesctl.errors import InvalidInput

app = typer.Typer(
    help="Inspect the smart router (no LLM is called).\n\n"
    'Example:\n    salesctl router explain "Show me top 3 leads"',
    no_args_is_help=True,
)


@app.command("explain")
def explain(
    prompt: str = typer.Argument(..., help="The request to classify."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the complexity, the chosen provider and model, the fallbacks, and why.

    Runs the local classifier only: nothing is sent to any provider.

    Example:
        salesctl router explain "Show me top 3 leads"
        salesctl router explain "Analyze this deal's blockers and recommend strategy" --json
    """
    from salesctl.config import get_settings
    from salesctl.llm.router import choices_without_key, route

    with _runtime.user_errors():
        if not prompt.strip():
            raise InvalidInput(
                'the prompt is empty: pass the request in quotes, e.g. "Show me top 3 leads"'
            )
        settings = get_settings()
        decision = route(prompt, router=settings.router)
        no_key = choices_without_key(decision, settings)
    if json_output:
        print_json(
            {
                "complexity": decision.complexity,
                "provider": decision.provider,
                "model": decision.model,
                "fallbacks": decision.fallbacks,
                "reasons": decision.reasons,
                "signals": decision.signals,
                "choices_without_key": no_key,
            }
        )
        return
    console = out()
    console.print(f"complexity  {decision.complexity}")
    console.print(f"provider    {decision.provider}")
    console.print(f"model       {decision.model}")
    fallbacks = ", ".join(decision.fallbacks) or "none"
    console.print(f"fallbacks   {fallbacks}", markup=False)
    console.print("why", markup=False)
    for reason in decision.reasons:
        console.print(f"  - {reason}", markup=False)
    if no_key:
        console.print(
            f"no API key for: {', '.join(no_key)} (calls skip these choices)", markup=False
        )

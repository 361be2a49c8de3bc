"""`salesctl router explain|eval|tune`: the learned smart router, inspected, measured, retrained."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out, print_json
from salesctl.errors import InvalidInput

if TYPE_CHECKING:
    from salesctl.llm.router.tune import TuneReport

app = typer.Typer(
    help="Inspect, evaluate and retrain the smart router (no LLM is called).\n\n"
    'Example:\n    salesctl router explain "Show me top 3 leads"',
    no_args_is_help=True,
)


@app.command("explain")
def explain(
    prompt: str = typer.Argument(..., help="The request to classify."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the tier, the chosen provider and model, the fallbacks, and why.

    The learned router's chances per tier, the features that decided, the margin towards the
    stronger tier and the router version in use. Nothing is sent to any provider.

    Example:
        salesctl router explain "Show me top 3 leads"
        salesctl router explain "should we discount Globex or walk?" --json
    """
    from salesctl.config import get_settings
    from salesctl.llm.router import choices_without_key, route
    from salesctl.llm.router.model import active_path
    from salesctl.llm.router.render import explain_lines

    with _runtime.user_errors():
        if not prompt.strip():
            raise InvalidInput(
                'the prompt is empty: pass the request in quotes, e.g. "Show me top 3 leads"'
            )
        settings = get_settings()
        decision = route(prompt, router=settings.router)
        no_key = choices_without_key(decision, settings)
        path = active_path(settings.router)
    if json_output:
        print_json(
            {
                "complexity": decision.complexity,
                "provider": decision.provider,
                "model": decision.model,
                "fallbacks": decision.fallbacks,
                "probabilities": decision.probabilities,
                "margin": decision.margin,
                "router_version": decision.version,
                "model_path": str(path),
                "top_features": [
                    {"feature": f.name, "description": f.description, "weight": f.weight}
                    for f in decision.top_features
                ],
                "reasons": decision.reasons,
                "signals": decision.signals,
                "choices_without_key": no_key,
            }
        )
        return
    console = out()
    for line in explain_lines(decision, no_key):
        console.print(line, markup=False, highlight=False)


@app.command("eval")
def evaluate(
    file: Path = typer.Argument(
        ..., metavar="FILE.jsonl", help='Labelled prompts: {"prompt": …, "label": …} per line.'
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Measure the router in use on a labelled file: accuracy, confusion, cost.

    Each line is {"prompt": "…", "label": "simple" | "medium" | "complex"}. Prints exact
    accuracy, the 3x3 confusion matrix, complex recall, under- and over-routing, and what
    the chosen tiers cost against sending every prompt to the premium tier.

    Example:
        salesctl router eval my-prompts.jsonl
        salesctl router eval my-prompts.jsonl --json | jq .accuracy
    """
    from salesctl.config import get_settings
    from salesctl.llm.router.dataset import read_labelled
    from salesctl.llm.router.evaluate import evaluate as run_eval
    from salesctl.llm.router.render import render_eval

    with _runtime.user_errors():
        examples = read_labelled(file)
        report = run_eval(examples, settings=get_settings(), source=str(file))
    if json_output:
        print_json({**_as_dict(report), "saving_vs_premium": report.saving_vs_premium})
        return
    out().print(render_eval(report))


@app.command("tune")
def tune(
    labels: Path | None = typer.Option(
        None, "--labels", metavar="FILE.jsonl", help="The team's own labelled prompts."
    ),
    holdout: float = typer.Option(
        0.3, "--holdout", help="Share of the team's evidence held out to measure on (0-0.9)."
    ),
    reset: bool = typer.Option(False, "--reset", help="Use the shipped router again."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Retrain the router on the shipped set plus your ratings and labelled prompts.

    Ratings (`salesctl feedback`) on smart-router answers say which tier a prompt needed; a
    labelled file adds prompts with the tier you want. Reports held-out accuracy before and
    after and the expected cost change on the last 30 days of routed calls, then writes a new
    router into the data directory, which routes every call from then on.

    Example:
        salesctl router tune --labels our-prompts.jsonl
        salesctl router tune --json
        salesctl router tune --reset
    """
    from salesctl.llm.router.render import render_tune, reset_lines
    from salesctl.llm.router.tune import reset as reset_router
    from salesctl.llm.router.tune import tune as run_tune

    if reset:
        from salesctl.config import get_settings

        with _runtime.user_errors():
            if labels is not None:
                raise InvalidInput("--reset takes no --labels: reset, then tune again")
            result = reset_router(get_settings())
        if json_output:
            print_json(_as_dict(result))
        else:
            for line in reset_lines(result):
                out().print(line, markup=False, highlight=False)
        return

    with _runtime.user_errors():
        if not 0 <= holdout <= 0.9:
            raise InvalidInput(f"--holdout {holdout} must be between 0 and 0.9")

    async def tune_router(rt: _runtime.Runtime) -> TuneReport:
        return await run_tune(rt.engine, rt.settings, labels=labels, holdout=holdout)

    report = _runtime.run(tune_router)
    if json_output:
        print_json(_as_dict(report))
        return
    out().print(render_tune(report))


def _as_dict(report: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(report)  # type: ignore[call-overload]  # callers pass dataclass instances

"""`salesctl feedback ID --good|--bad|--score X`: rate a tracked call's answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out, print_json

if TYPE_CHECKING:
    from salesctl.llm.feedback import Rating


def feedback_command(
    request_id: str | None = typer.Argument(
        None, metavar="ID", help="The call's tracking_id (from --json output or costs export)."
    ),
    good: bool = typer.Option(False, "--good", help="A good answer (score 1)."),
    bad: bool = typer.Option(False, "--bad", help="A bad answer (score 0)."),
    score: float | None = typer.Option(None, "--score", metavar="X", help="A score from 0 to 1."),
    note: str | None = typer.Option(None, "--note", metavar="TEXT", help="Why, in a few words."),
    session: str | None = typer.Option(
        None, "--session", metavar="ID", help="A chat session (with --last)."
    ),
    last: bool = typer.Option(False, "--last", help="Rate the session's last answer."),
    user: str | None = typer.Option(
        None, "--user", metavar="ID", help="Who is rating (default: your login name)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Rate an answer: the call's mean score feeds `costs quality` and `router tune`.

    Each rating is kept (who, when, note); the call's row holds the mean of its ratings and
    how many there are.

    Example:
        salesctl feedback 3f9a1c0d-2b7e-4a51-9c1e-0d2b7e4a5190 --good
        salesctl feedback 3f9a1c0d-2b7e-4a51-9c1e-0d2b7e4a5190 --score 0.3 --note "too vague"
        salesctl feedback --session sess_3f9a1c0d2b7e4a51 --last --bad
    """
    from salesctl.errors import InvalidInput
    from salesctl.llm.feedback import BAD, GOOD, check_score, default_rater, rate_call

    with _runtime.user_errors():
        given = [name for name, on in (("--good", good), ("--bad", bad)) if on]
        if score is not None:
            given.append("--score")
        if len(given) != 1:
            raise InvalidInput("give one of --good, --bad or --score X (0 to 1)")
        value = GOOD if good else BAD if bad else check_score(score)  # type: ignore[arg-type]  # set
        if request_id is not None and (session is not None or last):
            raise InvalidInput("give a tracking id or --session ID --last, not both")
        if last and session is None:
            raise InvalidInput("--last rates a chat session's last answer: add --session ID")
        if session is not None and not last:
            raise InvalidInput("--session needs --last (rate the session's last answer)")
        if request_id is None and session is None:
            raise InvalidInput(
                "name the call: a tracking_id (from --json output or `salesctl costs export`), "
                "or --session ID --last"
            )

    async def rate(rt: _runtime.Runtime) -> Rating:
        return await rate_call(
            rt.engine,
            request_id=request_id,
            session_id=session,
            score=value,
            note=note,
            rated_by=user or default_rater(),
        )

    rating = _runtime.run(rate)
    if json_output:
        print_json(rating)
        return
    from salesctl.llm.feedback import describe

    out().print(describe(rating), markup=False, highlight=False)

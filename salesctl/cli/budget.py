"""`salesctl budget check`: one line and an exit code for cron and monitoring systems."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperCommand

from salesctl.cli import _runtime

app = typer.Typer(
    help="Budgets: check spend against daily/monthly limits.\n\n"
    "Example:\n    salesctl budget check --daily 10 --monthly 250",
    no_args_is_help=True,
)

UNKNOWN_EXIT = 3


class UsageExitsThree(TyperCommand):
    """A command whose bad flags exit 3 ("could not be made"), not click's 2, so a script
    tells them from the command's own outcomes (1 is a finding); one line on stderr."""

    def make_context(self, info_name: Any, args: Any, *rest: Any, **kwargs: Any) -> Any:
        from typer._click.exceptions import NoArgsIsHelpError, UsageError

        try:
            return super().make_context(info_name, args, *rest, **kwargs)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            raise self.usage_error(exc, "--json" in list(args)) from None

    def usage_error(self, error: Any, json_output: bool) -> Any:
        from salesctl.cli import OneLineUsageError

        converted = OneLineUsageError(error)
        converted.exit_code = UNKNOWN_EXIT
        return converted


class UnknownOnUsageError(UsageExitsThree):
    """Bad flags are UNKNOWN (exit 3) here, as a monitoring plugin reports them, not click's 2,
    told once in the check's own line on stdout."""

    def usage_error(self, error: Any, json_output: bool) -> Any:
        return _unknown_usage(error, json_output)


def _unknown_usage(error: Any, json_output: bool) -> Any:
    from typer._click.exceptions import UsageError

    from salesctl.cli import usage_message

    class UnknownUsage(UsageError):
        one_line = True
        exit_code = UNKNOWN_EXIT

        def show(self, file: Any = None) -> None:
            _say_unknown(self.message, json_output)

    return UnknownUsage(usage_message(error), error.ctx)


def _say_unknown(reason: str, json_output: bool) -> None:
    from salesctl.cli._console import print_json
    from salesctl.reports.budget import unknown_line

    if json_output:
        print_json({"severity": "unknown", "error": reason})
    else:
        sys.stdout.write(unknown_line(reason) + "\n")


def _unknown(reason: str, json_output: bool) -> None:
    """UNKNOWN, said once: the check's line (or JSON) on stdout, which monitoring reads."""
    _say_unknown(reason, json_output)
    raise typer.Exit(UNKNOWN_EXIT)


@app.command("check", cls=UnknownOnUsageError)
def check(
    daily: str | None = typer.Option(None, "--daily", help="Daily budget in USD."),
    monthly: str | None = typer.Option(None, "--monthly", help="Monthly budget in USD."),
    warn_at: str | None = typer.Option(
        None, "--warn-at", help="Warn from this % of a budget; several: 50,80,95 (default 80)."
    ),
    agent: str | None = typer.Option(None, "--agent", help="Budget one agent's spend only."),
    spike_factor: str | None = typer.Option(
        None, "--spike-factor", help="Warn at spend over this many times the usual (default 3)."
    ),
    notify: str | None = typer.Option(
        None, "--notify", help="POST warnings as Slack-compatible JSON to this URL (once each)."
    ),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds to wait for --notify."),
    details: bool = typer.Option(False, "--details", help="Also print a table on stderr."),
    json_output: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Check today's and this month's spend; exit 0 info, 1 warning, 2 critical, 3 unknown.

    Days and months are cut in the configured time zone. Budgets default to the settings
    `budget.daily_usd` / `budget.monthly_usd`. Also forecasts the day-end and month-end spend
    (with --monthly, warns when the forecast crosses the budget, saying when), and warns when
    the last hour's or today's spend is over --spike-factor (setting budget.spike_factor, 3)
    times the same hours' usual over the trailing 7 days, naming the agent and model.

    Example:
        salesctl budget check --daily 10 --monthly 250 --warn-at 50,80,95
        salesctl budget check --daily 2 --agent marketing --notify https://hooks.slack.com/services/…
    """
    from salesctl.config import get_settings
    from salesctl.errors import InvalidInput, SalesctlError
    from salesctl.reports.budget import BudgetRequest, parse_factor, parse_usd, parse_warn_at
    from salesctl.reports.filters import build_filters
    from salesctl.timewindow import load_zone

    try:
        settings = get_settings()
        budget = settings.budget
        daily_usd = parse_usd(daily, "--daily") if daily else _setting(budget.daily_usd)
        monthly_usd = parse_usd(monthly, "--monthly") if monthly else _setting(budget.monthly_usd)
        if daily_usd is None and monthly_usd is None:
            raise InvalidInput(
                "no budget to check: pass --daily USD and/or --monthly USD, or set "
                "budget.daily_usd / budget.monthly_usd in the config file"
            )
        load_zone(settings.timezone)
        agent_filters = build_filters(settings=settings, agents=[agent]) if agent else None
        agent_type = agent_filters.agents[0] if agent_filters else None
        if timeout <= 0:
            raise InvalidInput("--timeout must be a positive number of seconds")
        if notify is not None and not _is_http_url(notify):
            raise InvalidInput(f"--notify {notify!r} is not an http(s) URL")
        request = BudgetRequest(
            daily_usd=daily_usd,
            monthly_usd=monthly_usd,
            warn_at=parse_warn_at(warn_at if warn_at is not None else budget.warn_at),
            agent=agent_type,
            timezone=settings.timezone,
            spike_factor=parse_factor(spike_factor) or budget.spike_factor,
            pending_agents=agent_filters.pending_agents if agent_filters else None,
        )
    except SalesctlError as exc:
        _unknown(str(exc), json_output)
        return

    outcome = _runtime.run_unconnected(lambda: _check(settings, request, notify, timeout))
    if isinstance(outcome, str):
        _unknown(outcome, json_output)
        return
    _report(outcome, json_output=json_output, details=details)
    raise typer.Exit(outcome.exit_code)


def _setting(value: Any) -> Any:
    from salesctl.errors import InvalidInput

    if value is not None and value <= 0:
        raise InvalidInput("budget settings must be positive amounts in USD")
    return value


async def _check(settings: Any, request: Any, notify: str | None, timeout_s: float) -> Any:
    """The check's result, or the reason it could not be made (a string: UNKNOWN)."""
    from salesctl.errors import SalesctlError
    from salesctl.reports.budget import run_budget_check

    try:
        runtime = await _runtime.open_runtime(settings)
    except SalesctlError as exc:
        return str(exc)
    try:
        return await run_budget_check(
            runtime.engine, request, notify_url=notify, timeout_s=timeout_s
        )
    except SalesctlError as exc:
        return str(exc)
    finally:
        await runtime.aclose()


def _report(result: Any, *, json_output: bool, details: bool) -> None:
    from salesctl.cli._console import print_json, print_line

    if json_output:
        print_json(result)
    else:
        style = {"info": "green", "warning": "yellow", "critical": "bold red"}[result.severity]
        print_line(result.summary, style)
    if not (details or result.notified or result.notify_error):
        return  # the usual cron run: Rich is not even imported
    from salesctl.cli._console import err
    from salesctl.reports.render import render_budget_check

    if details:
        err().print(render_budget_check(result))
    if result.notified:
        err().print(f"notified {len(result.new_alerts)} new crossing(s)", style="dim")
    if result.notify_error:
        err().print(f"warning: {result.notify_error}", style="yellow", markup=False)


def _is_http_url(url: str) -> bool:
    """Checked up front, so a typo shows on the first run rather than at the first alert."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in url.strip()

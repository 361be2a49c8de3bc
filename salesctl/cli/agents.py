"""`salesctl qualify|enrich|grow|market|bdr|converse` and `salesctl icp show`.

The six agent commands share one set of options (which leads, how many at once, which
model, estimate or run) and one code path: build the agent, run it through
`salesctl.agents.bulk.run_agent`, render the panel or the summary.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import err, out, print_json
from salesctl.cli._gc import fewer_collections, loading
from salesctl.cli._state import MAX_ROW_ID

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.status import Status as Spinner

    from salesctl.agents.bulk import LeadFinished, RunEvent, RunStarted, RunSummary
    from salesctl.agents.context import ModelChoice
    from salesctl.agents.estimate import RunEstimate
    from salesctl.agents.selection import LeadSelection
    from salesctl.llm.feedback import Rating

app = typer.Typer(help="The six lead agents.")
icp_app = typer.Typer(
    help="The ideal customer profile leads are qualified against.\n\n"
    "Example:\n    salesctl icp show"
)

EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}

# --- the options every agent command takes ---------------------------------------------------

Lead = Annotated[
    int | None,
    typer.Option(
        "--lead",
        help="One lead by id (runs even if the agent already did it).",
        min=1,
        max=MAX_ROW_ID,
    ),
]
Ids = Annotated[
    str | None, typer.Option("--ids", help="Leads by id, e.g. 1,2,3 (run even if done).")
]
All = Annotated[
    bool, typer.Option("--all", help="Every lead this agent has not done yet (resumable).")
]
Status = Annotated[
    str | None,
    typer.Option("--status", help="Leads with this status (new, working, qualified, …)."),
]
Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Filter: FIELD OP VALUE, OP one of = != > >= < <= ~ (contains), "
        "e.g. industry=software or employees>=100; repeatable, all must hold.",
    ),
]
Force = Annotated[
    bool, typer.Option("--force", help="With --all/--status/--where: redo leads already done.")
]
Concurrency = Annotated[
    int, typer.Option("--concurrency", "-c", help="Leads worked on at once.", min=1, max=256)
]
Provider = Annotated[
    str | None, typer.Option("--provider", help="Override the agent's provider for this run.")
]
Model = Annotated[
    str | None, typer.Option("--model", help="Override the agent's model for this run.")
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Ask the model even when a cached answer exists.")
]
Estimate = Annotated[
    bool,
    typer.Option("--estimate", help="Print expected tokens and cost per model; spend nothing."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON results on stdout.")]
Rate = Annotated[
    bool,
    typer.Option("--rate", help="Rate the answer when it is shown (one lead, in a terminal)."),
]


@dataclass(frozen=True)
class _Options:
    """The shared options, as parsed."""

    lead: int | None
    ids: str | None
    all_leads: bool
    status: str | None
    where: list[str] | None
    force: bool
    concurrency: int
    provider: str | None
    model: str | None
    no_cache: bool
    estimate: bool
    json_output: bool
    rate: bool = False


# --- the six commands ------------------------------------------------------------------------


@app.command("qualify")
def qualify(
    lead: Lead = None,
    ids: Ids = None,
    all_leads: All = False,
    status: Status = None,
    where: Where = None,
    force: Force = False,
    concurrency: Concurrency = 8,
    provider: Provider = None,
    model: Model = None,
    no_cache: NoCache = False,
    estimate: Estimate = False,
    json_output: Json = False,
    rate: Rate = False,
) -> None:
    """Score leads 0–100 against the ideal customer profile (`salesctl icp show`).

    Saves score, tier (hot/warm/cold from the profile's thresholds) and reasoning naming the
    parts of the profile met and missed. Exit status: 0 all done, 1 some lead failed,
    130/143 stopped by Ctrl-C/SIGTERM (the leads in flight finish first; Ctrl-C twice aborts).

    Example:
        salesctl qualify --lead 123
        salesctl qualify --all --concurrency 16
        salesctl qualify --where industry=software --where "employees>=100" --estimate
    """
    _run_command("qualification", _Options(**locals()))


@app.command("enrich")
def enrich(
    lead: Lead = None,
    ids: Ids = None,
    all_leads: All = False,
    status: Status = None,
    where: Where = None,
    force: Force = False,
    concurrency: Concurrency = 8,
    provider: Provider = None,
    model: Model = None,
    no_cache: NoCache = False,
    estimate: Estimate = False,
    json_output: Json = False,
    rate: Rate = False,
    source: Annotated[
        list[Path] | None,
        typer.Option(
            "--source",
            help="A document about the lead's company (text or HTML; repeatable; with --lead).",
        ),
    ] = None,
) -> None:
    """Extract company data (industry, size, location, tech, decision makers, …).

    Reads the lead's notes and any --source files (HTML is reduced to its text; binary
    files are refused). Fills the lead's empty industry, employees and region.

    Example:
        salesctl enrich --lead 123 --source acme-about.html
        salesctl enrich --status new --concurrency 4
    """
    options = _Options(**{k: v for k, v in locals().items() if k != "source"})
    documents: dict[str, str] = {}
    if source:
        from salesctl.agents.sources import read_source
        from salesctl.errors import InvalidInput

        with _runtime.user_errors():
            if lead is None:
                raise InvalidInput("--source documents one lead: use it with --lead ID")
            documents = {str(path): read_source(path) for path in source}
    _run_command("enrichment", options, {"documents": documents})


@app.command("grow")
def grow(
    lead: Lead = None,
    ids: Ids = None,
    all_leads: All = False,
    status: Status = None,
    where: Where = None,
    force: Force = False,
    concurrency: Concurrency = 8,
    provider: Provider = None,
    model: Model = None,
    no_cache: NoCache = False,
    estimate: Estimate = False,
    json_output: Json = False,
    rate: Rate = False,
) -> None:
    """Analyse the lead's market: expansion opportunities, competitors, risks, plays.

    Example:
        salesctl grow --lead 123
        salesctl grow --where "tier=hot" --json > growth.json
    """
    _run_command("growth", _Options(**locals()))


@app.command("market")
def market(
    lead: Lead = None,
    ids: Ids = None,
    all_leads: All = False,
    status: Status = None,
    where: Where = None,
    force: Force = False,
    concurrency: Concurrency = 8,
    provider: Provider = None,
    model: Model = None,
    no_cache: NoCache = False,
    estimate: Estimate = False,
    json_output: Json = False,
    rate: Rate = False,
) -> None:
    """Design a campaign: audience, messaging and a short multi-touch email sequence.

    Example:
        salesctl market --lead 123
        salesctl market --ids 4,8,15 --provider openai --model gpt-4o-mini
    """
    _run_command("marketing", _Options(**locals()))


@app.command("bdr")
def bdr(
    lead: Lead = None,
    ids: Ids = None,
    all_leads: All = False,
    status: Status = None,
    where: Where = None,
    force: Force = False,
    concurrency: Concurrency = 8,
    provider: Provider = None,
    model: Model = None,
    no_cache: NoCache = False,
    estimate: Estimate = False,
    json_output: Json = False,
    rate: Rate = False,
) -> None:
    """Plan a meeting: outreach draft, proposed slots, follow-ups, the deal's next step.

    The next step is also saved on the lead's open deal, if it has one.

    Example:
        salesctl bdr --lead 123
        salesctl bdr --where "tier=hot" --where status=working
    """
    _run_command("bdr", _Options(**locals()))


@app.command("converse")
def converse(
    lead: Lead = None,
    transcript: Annotated[
        Path | None,
        typer.Option("--transcript", help="The call transcript file ('-' or omitted: stdin)."),
    ] = None,
    provider: Provider = None,
    model: Model = None,
    no_cache: NoCache = False,
    estimate: Estimate = False,
    json_output: Json = False,
    rate: Rate = False,
) -> None:
    """Analyse a call transcript: summary, objections, sentiment, commitments, next steps.

    Example:
        salesctl converse --lead 123 --transcript call-2025-01-15.txt
        pbpaste | salesctl converse --lead 123 --json
    """
    from salesctl.agents.sources import read_transcript
    from salesctl.errors import InvalidInput

    with _runtime.user_errors():
        if lead is None:
            raise InvalidInput("a transcript belongs to one lead: give --lead ID")
        if transcript is None or str(transcript) == "-":
            if sys.stdin.isatty():
                raise InvalidInput("give the call transcript with --transcript FILE or on stdin")
            text = read_transcript(sys.stdin.buffer.read(), "stdin")
        else:
            if not transcript.is_file():
                raise InvalidInput(f"no such file: {transcript}")
            text = read_transcript(transcript.read_bytes(), str(transcript))
    options = _Options(
        lead=lead,
        ids=None,
        all_leads=False,
        status=None,
        where=None,
        force=False,
        concurrency=1,
        provider=provider,
        model=model,
        no_cache=no_cache,
        estimate=estimate,
        json_output=json_output,
        rate=rate,
    )
    _run_command("conversation", options, {"transcript": text})


# --- the shared path -------------------------------------------------------------------------


def _run_command(agent_type: str, options: _Options, inputs: dict[str, Any] | None = None) -> None:
    from salesctl.agents.bulk import RunOptions
    from salesctl.agents.context import model_choice
    from salesctl.agents.selection import LeadSelection
    from salesctl.config import get_settings

    inputs = inputs or {}
    with _runtime.user_errors():
        selection = LeadSelection.from_options(
            lead=options.lead,
            ids=options.ids,
            all_leads=options.all_leads,
            status=options.status,
            where=options.where,
        )
        run_options = RunOptions(concurrency=options.concurrency, force=options.force)
        _check_rate(options, selection)
        choice = model_choice(
            get_settings(),
            agent_type,  # type: ignore[arg-type]  # each command passes its own type
            provider=options.provider,
            model=options.model,
            no_cache=options.no_cache,
        )

    if options.estimate:
        estimate = _runtime.run(
            lambda rt: _estimate(rt, agent_type, selection, choice, inputs, options.force)
        )
        _show_estimate(estimate, options.json_output)
        return

    single = selection.explicit and len(selection.lead_ids) == 1
    progress = _ProgressReport(quiet=single)
    if not options.json_output:
        progress.starting(agent_type)

    async def run_agents(rt: _runtime.Runtime) -> RunSummary:
        with loading():
            from salesctl.agents import agent_class
            from salesctl.agents.bulk import StopSignal, run_agent
            from salesctl.cli._signals import stop_on_signals

            agent = agent_class(agent_type)(
                sessions=rt.sessions,
                gateway=rt.gateway,
                settings=rt.settings,
                provider=choice.provider,
                model=choice.model,
                no_cache=options.no_cache,
                **inputs,
            )
        stop = StopSignal()
        with stop_on_signals(stop), fewer_collections():
            try:
                return await run_agent(
                    agent, selection, options=run_options, on_event=progress, stop=stop
                )
            finally:
                progress.close()

    try:
        summary = _runtime.run(run_agents)
    finally:
        progress.close()
    _show_run(summary, single=single, json_output=options.json_output, rate=options.rate)


async def _estimate(
    rt: _runtime.Runtime,
    agent_type: str,
    selection: LeadSelection,
    choice: ModelChoice,
    inputs: dict[str, Any],
    force: bool,
) -> RunEstimate:
    from salesctl.agents.estimate import estimate_run

    return await estimate_run(
        agent_type,  # type: ignore[arg-type]  # each command passes its own type
        selection,
        sessions=rt.sessions,
        settings=rt.settings,
        choice=choice,
        force=force,
        inputs=inputs,
    )


def _show_estimate(estimate: RunEstimate, json_output: bool) -> None:
    if json_output:
        print_json(estimate.as_json())
        return
    from salesctl.agents.render import estimate_table

    out().print(estimate_table(estimate))


def _show_run(summary: RunSummary, *, single: bool, json_output: bool, rate: bool = False) -> None:
    from salesctl.agents.render import outcome_panel, summary_table

    if json_output:
        if single and summary.outcomes:
            print_json(summary.outcomes[0].as_json())
        else:
            print_json(
                {
                    "results": [o.as_json() for o in summary.outcomes],
                    "summary": summary.as_json(),
                }
            )
    elif single and summary.outcomes:
        out().print(outcome_panel(summary.outcomes[0]))
    else:
        out().print(summary_table(summary))

    shown = summary.outcomes[0] if summary.outcomes else None
    if rate and shown is not None and shown.ok and shown.calls:
        _ask_rating(shown.calls[-1].tracking_id)
    if summary.stopped_by in EXIT_SIGNAL:
        err().print(f"stopped by {summary.stopped_by}: {summary.processed} leads processed")
        raise typer.Exit(EXIT_SIGNAL[summary.stopped_by])
    if single and summary.failures:
        failure = summary.failures[0].failure
        sys.stderr.write(f"error: {failure.message if failure else 'the lead failed'}\n")
        raise typer.Exit(1)
    if summary.stopped_by == "fatal":
        sys.stderr.write(f"error: run stopped: {summary.stop_message}\n")
        raise typer.Exit(1)
    if summary.stopped_by == "database":
        sys.stderr.write(f"error: {summary.stop_message}\n")
        raise typer.Exit(1)
    if summary.held_elsewhere:
        until = summary.held_until.astimezone().strftime("%H:%M:%S") if summary.held_until else ""
        err().print(
            f"{summary.held_elsewhere} lead(s) left to other workers that hold them"
            + (f" until {until}" if until else "")
            + ": run again after that to take over any they leave unfinished",
            highlight=False,
            soft_wrap=True,
        )
    if summary.failed:
        raise typer.Exit(1)


def _check_rate(options: _Options, selection: LeadSelection) -> None:
    """`--rate` asks in the terminal about one lead's answer."""
    from salesctl.errors import InvalidInput

    if not options.rate:
        return
    if options.estimate:
        raise InvalidInput("--estimate makes no call: there is no answer to --rate")
    if not (selection.explicit and len(selection.lead_ids) == 1):
        raise InvalidInput("--rate rates one answer: use it with --lead ID")
    if not sys.stdin.isatty():
        raise InvalidInput(
            "--rate asks in a terminal: rate later with `salesctl feedback ID --good|--bad` "
            "(ID is the tracking_id in --json output)"
        )


def _ask_rating(tracking_id: str) -> None:
    """Ask for a rating of the answer just shown, and store it."""
    from salesctl.errors import InvalidInput
    from salesctl.llm.feedback import BAD, GOOD, check_score, default_rater, describe, rate_call

    err().print(
        "Rate this answer: g(ood), b(ad), a score 0-1, or Enter to skip: ",
        end="",
        markup=False,
        highlight=False,
    )
    answer = sys.stdin.readline().strip().lower()
    if not answer:
        return
    with _runtime.user_errors():
        if answer in ("g", "good"):
            score = GOOD
        elif answer in ("b", "bad"):
            score = BAD
        else:
            try:
                score = check_score(float(answer))
            except ValueError:
                raise InvalidInput(f"{answer!r} is not g, b or a score from 0 to 1") from None

    async def rate(rt: _runtime.Runtime) -> Rating:
        return await rate_call(
            rt.engine, request_id=tracking_id, score=score, rated_by=default_rater()
        )

    err().print(describe(_runtime.run(rate)), markup=False, highlight=False)


class _ProgressReport:
    """Run events as a Rich progress bar (a spinner for one lead) on a terminal, as plain
    lines on stderr otherwise. Failed leads are always named as they happen."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.console = err()
        self.progress: Progress | None = None
        self.status: Spinner | None = None
        self.task: TaskID | None = None
        self.done = 0
        self.failed = 0
        self.cache_hits = 0
        self.cost: Decimal | None = None

    def starting(self, agent: str) -> None:
        """Say what happens before the first call (loading the agent and its libraries,
        opening the database, finding the leads): a status line on a terminal, nothing when
        piped."""
        if self.console.is_terminal:
            self.status = self.console.status(
                f"{agent}: starting (loading the agent, opening the database, finding leads)…"
            )
            self.status.start()

    def __call__(self, event: RunEvent) -> None:
        from salesctl.agents.bulk import LeadFinished, RunStarted, Stopping

        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, LeadFinished):
            self._finished(event)
        elif isinstance(event, Stopping):
            because = f"{event.reason}: {event.message}" if event.message else event.reason
            again = ", Ctrl-C again to abort" if event.reason != "fatal" else ""
            self._say(f"stopping ({because}): finishing {event.in_flight} leads in flight{again}")

    def _started(self, event: RunStarted) -> None:
        if self.quiet:
            if self.console.is_terminal:
                working = (
                    f"{event.agent}: {event.selection}, asking {event.provider}:{event.model}…"
                )
                if self.status is None:
                    self.status = self.console.status(working)
                    self.status.start()
                else:
                    self.status.update(working)
            return
        if self.status is not None:
            self.status.stop()
            self.status = None
        if not self.console.is_terminal:
            self._say(
                f"{event.agent} · {event.provider}:{event.model} · {event.total} leads pending "
                f"({event.selection})"
            )
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[tally]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.progress.start()
        self.task = self.progress.add_task(event.agent, total=event.total or None, tally="")

    def _finished(self, event: LeadFinished) -> None:
        from salesctl.agents.render import call_times, cost_words
        from salesctl.money import usd

        outcome = event.outcome
        if outcome.ok:
            self.done += 1
        else:
            self.failed += 1
        if outcome.cost_usd is not None:
            self.cost = (self.cost or Decimal(0)) + outcome.cost_usd
        self.cache_hits += outcome.cache_hits
        if self.quiet:
            return
        tally = f"done {self.done} · failed {self.failed} · {usd(self.cost)}"
        if self.cache_hits:
            tally += f" · {self.cache_hits} from cache"
        state = "ok" if outcome.failure is None else f"failed: {outcome.failure.message}"
        line = f"lead {outcome.lead_id} {state} · {cost_words(outcome)} · {call_times(outcome)}"
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, tally=tally)
            if not outcome.ok:
                self._say(line)
        else:
            self._say(f"{line} · {tally}")

    def _say(self, line: str) -> None:
        if not self.console.is_terminal:  # a line per lead: written as is, not rendered by Rich
            self.console.file.write(line + "\n")
            return
        console = self.progress.console if self.progress is not None else self.console
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self.status is not None:
            self.status.stop()
            self.status = None


# --- icp -------------------------------------------------------------------------------------


@icp_app.command("show")
def icp_show(json_output: Json = False) -> None:
    """Show the ideal customer profile that `salesctl qualify` scores against.

    Set it in the config file's `[icp]` table (target_industries, employee_min,
    employee_max, regions, buyer_titles, disqualifiers, hot_threshold, warm_threshold).

    Example:
        salesctl icp show --json
    """
    from salesctl.agents.icp import icp_origin
    from salesctl.config import get_settings

    with _runtime.user_errors():
        icp = get_settings().icp
        origin = icp_origin()
    if json_output:
        print_json({**icp.model_dump(mode="json"), "source": origin})
        return
    from salesctl.agents.render import icp_table

    out().print(icp_table(icp, origin))

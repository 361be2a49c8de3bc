"""Ask for a structured answer, validate it, repair it once, or fail the lead cleanly.

Every call goes through the gateway in passthrough mode with the agent type and lead id, so
each attempt (the repair included) is tracked against the lead and counted in the run's cost.

The gateway gets the schema as a JSON-schema dict rather than the pydantic class: given the
class it would validate and repair by itself and hand back only the last attempt, and the
run's cost must include every attempt. It still repairs an answer that is not JSON at all;
such an answer counts as the one repair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from salesctl.agents.context import AgentContext
from salesctl.agents.outcome import CallRecord, FailureKind, LeadFailure
from salesctl.agents.prompts import Prompt, repair_prompt
from salesctl.errors import (
    BudgetExceeded,
    ConfigError,
    DatabaseError,
    InvalidInput,
    InvalidModelOutput,
    MissingAPIKey,
    SalesctlError,
    TrackingUnavailable,
)
from salesctl.llm.types import LLMResult, Message

AnswerT = TypeVar("AnswerT", bound=BaseModel)

MAX_ERRORS_SHOWN = 5


@dataclass(slots=True)
class StructuredAnswer(Generic[AnswerT]):
    """The validated answer, or the reason there is none; `calls` lists every attempt made."""

    value: AnswerT | None
    calls: list[CallRecord] = field(default_factory=list)
    failure: LeadFailure | None = None


async def ask_structured(
    context: AgentContext,
    schema: type[AnswerT],
    prompt: Prompt,
    *,
    max_tokens: int,
    temperature: float | None = None,
) -> StructuredAnswer[AnswerT]:
    """One call with `response_schema=schema`; if the answer does not validate, one repair."""
    calls: list[CallRecord] = []
    try:
        first = await _complete(context, schema, prompt, max_tokens, temperature, messages=None)
        calls.append(CallRecord.of(first))
        value, errors = validate(schema, first.text)
        if value is not None or first.extra.get("repaired_from"):
            return _answer(schema, value, calls, errors)

        repair = [
            Message("user", prompt.user),
            Message("assistant", first.text),
            Message("user", repair_prompt(errors)),
        ]
        budget = max_tokens * 2 if first.finish_reason == "length" else max_tokens
        second = await _complete(context, schema, prompt, budget, temperature, messages=repair)
        calls.append(CallRecord.of(second))
        value, errors = validate(schema, second.text)
        return _answer(schema, value, calls, errors)
    except SalesctlError as exc:
        return StructuredAnswer(None, calls, LeadFailure(_failure_kind(exc), str(exc)))


def _answer(
    schema: type[AnswerT], value: AnswerT | None, calls: list[CallRecord], errors: str
) -> StructuredAnswer[AnswerT]:
    if value is not None:
        return StructuredAnswer(value, calls)
    message = f"model output did not match {schema.__name__} after one repair: {errors}"
    return StructuredAnswer(None, calls, LeadFailure("invalid_output", message))


def validate(schema: type[AnswerT], text: str) -> tuple[AnswerT | None, str]:
    """The parsed answer, or None and a short description of what is wrong with it."""
    try:
        return schema.model_validate_json(_strip_fences(text)), ""
    except ValidationError as exc:
        return None, describe_errors(exc)


def describe_errors(exc: ValidationError) -> str:
    """`score: Input should be less than or equal to 100; …`, the first few errors only."""
    problems = []
    for error in exc.errors(include_url=False)[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        problems.append(f"{where}: {error['msg']}")
    more = exc.error_count() - MAX_ERRORS_SHOWN
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)


def _strip_fences(text: str) -> str:
    """Models sometimes wrap JSON in a Markdown code fence despite being asked not to."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped


async def _complete(
    context: AgentContext,
    schema: type[BaseModel],
    prompt: Prompt,
    max_tokens: int,
    temperature: float | None,
    *,
    messages: list[Message] | None,
) -> LLMResult:
    result = await context.gateway.complete(
        None if messages else prompt.user,
        config=context.llm_config(),
        system=prompt.system,
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        response_schema=json_schema(schema),
    )
    return result


@cache
def json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    return schema.model_json_schema()


def _failure_kind(exc: SalesctlError) -> FailureKind:
    if isinstance(exc, MissingAPIKey):
        return "missing_api_key"
    if isinstance(exc, BudgetExceeded):
        return "budget_exceeded"
    if isinstance(exc, TrackingUnavailable):
        return "tracking_unavailable"
    if isinstance(exc, DatabaseError):
        return "database_unreachable"
    if isinstance(exc, InvalidModelOutput):
        return "invalid_output"
    if isinstance(exc, ConfigError | InvalidInput):
        return "config_error"
    return "provider_error"

"""What one `complete()` call asks for, validated and normalised before any network call.

`prepare_call` turns the gateway's keyword arguments into a `Call`: the checked `LLMConfig`,
the provider-neutral `ProviderRequest`, and the models to try in order (the router's choices
in smart_router mode). The answer-side checks of structured output live here too, so the
gateway itself only orchestrates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from salesctl.errors import ConfigError, InvalidInput
from salesctl.llm.router import RoutingDecision, route
from salesctl.llm.types import LLMConfig, Message, ProviderRequest, ToolSpec

if TYPE_CHECKING:
    from salesctl.config import Settings

MODES = ("passthrough", "smart_router")
AGENT_TYPE_MAX = 50


@dataclass(frozen=True, slots=True)
class Call:
    """One validated `complete()` request: who asks, what, and which models to try in order."""

    config: LLMConfig
    request: ProviderRequest
    choices: tuple[tuple[str, str], ...]
    decision: RoutingDecision | None
    use_cache: bool
    prompt_text: str
    schema_model: Any = None
    step_down: bool = False
    """Whether a hard budget limit may move this call to a cheaper router tier."""
    tier: str | None = None
    """The router tier `choices` come from, when a budget limit stepped the call down."""


def prepare_call(
    settings: Settings,
    prompt: str | None,
    *,
    config: LLMConfig,
    system: str | None,
    messages: Sequence[Message | Mapping[str, Any]] | None,
    max_tokens: int,
    temperature: float | None,
    tools: Sequence[ToolSpec | Mapping[str, Any]] | None,
    response_schema: Any,
    cache_prompt: bool = False,
) -> Call:
    """Check and normalise one request; raises ConfigError / InvalidInput on bad input."""
    from salesctl.llm.cache import cache_enabled

    config = validate_config(config)
    turns = normalise_messages(messages)
    system = merge_system(system, messages)
    if prompt is not None:
        turns = (*turns, Message(role="user", content=prompt))
    if not turns:
        raise InvalidInput("nothing to ask: pass prompt= or messages=")
    if max_tokens <= 0:
        raise InvalidInput(f"max_tokens must be positive, got {max_tokens}")
    tool_specs = normalise_tools(tools)
    schema, schema_model = normalise_schema(response_schema)
    request = ProviderRequest(
        model="",
        messages=turns,
        system=system,
        max_tokens=max_tokens,
        temperature=temperature,
        tools=tool_specs,
        response_schema=schema,
        cache_prompt=cache_prompt,
    )
    decision: RoutingDecision | None = None
    choices: tuple[tuple[str, str], ...]
    if config.mode == "smart_router":
        decision = route(
            prompt,
            router=settings.router,
            messages=turns[:-1] if prompt is not None else turns,
            tools=tool_specs,
            provider=config.provider,
            model=config.model,
        )
        from salesctl.llm.router import parse_choice

        choices = tuple(parse_choice(choice) for choice in decision.choices)
    else:
        choices = ((str(config.provider), str(config.model)),)
    use_cache = cache_enabled(config.agent_type, config.mode, config.cache, settings)
    last_user = next((m.content for m in reversed(turns) if m.role == "user"), "")
    return Call(
        config=config,
        request=request,
        choices=choices,
        decision=decision,
        use_cache=use_cache,
        prompt_text=prompt if prompt is not None else last_user,
        schema_model=schema_model,
        step_down=decision is not None
        and not config.model
        and settings.budget.step_down_near_limit,
    )


def validate_config(config: LLMConfig) -> LLMConfig:
    """Check an LLMConfig before any network call; returns it with the provider id canonical."""
    from salesctl.config import canonical_provider

    if not isinstance(config, LLMConfig):
        raise ConfigError(f"config must be an LLMConfig, not {type(config).__name__}")
    agent = config.agent_type
    if not isinstance(agent, str) or not agent.isidentifier() or len(agent) > AGENT_TYPE_MAX:
        raise ConfigError(
            f"agent_type {agent!r} must be a non-empty identifier of at most {AGENT_TYPE_MAX} "
            "characters, e.g. 'qualification'"
        )
    if config.mode not in MODES:
        raise ConfigError(
            f"mode {config.mode!r} is not one of 'passthrough', 'smart_router' (agent {agent!r})"
        )
    provider = canonical_provider(config.provider) if config.provider else None
    model = config.model.strip() if isinstance(config.model, str) else config.model
    if config.mode == "passthrough" and (provider is None or not model):
        raise ConfigError(
            f"passthrough mode needs provider= and model= (agent {agent!r}), "
            "e.g. provider='cerebras', model='llama3.1-8b'; or use mode='smart_router'"
        )
    if config.mode == "smart_router" and model and provider is None:
        raise ConfigError(f"model={model!r} needs provider= as well (agent {agent!r})")
    if provider == config.provider and model == config.model:
        return config
    return replace(config, provider=provider, model=model or None)


def normalise_messages(
    messages: Sequence[Message | Mapping[str, Any]] | None,
) -> tuple[Message, ...]:
    """The conversation as Messages; dict turns are checked, system turns left to
    `merge_system`."""
    turns: list[Message] = []
    for message in messages or ():
        if isinstance(message, Message):
            turns.append(message)
            continue
        role = message.get("role")
        if role == "system":
            continue  # merged into the system prompt by merge_system
        if role not in ("user", "assistant", "tool"):
            raise InvalidInput(f"message role {role!r} is not user, assistant, tool or system")
        turns.append(
            Message(
                role=role,
                content=str(message.get("content") or ""),
                tool_calls=tuple(message.get("tool_calls") or ()),
                tool_call_id=message.get("tool_call_id"),
            )
        )
    return tuple(turns)


def merge_system(
    system: str | None, messages: Sequence[Message | Mapping[str, Any]] | None
) -> str | None:
    """`system` plus the content of any `{"role": "system"}` turns, in order."""
    extra = [
        str(m.get("content") or "")
        for m in messages or ()
        if not isinstance(m, Message) and m.get("role") == "system"
    ]
    parts = [p for p in (system, *extra) if p]
    return "\n\n".join(parts) if parts else None


def normalise_tools(tools: Sequence[ToolSpec | Mapping[str, Any]] | None) -> tuple[ToolSpec, ...]:
    specs: list[ToolSpec] = []
    for tool in tools or ():
        if isinstance(tool, ToolSpec):
            specs.append(tool)
        else:
            specs.append(
                ToolSpec(
                    name=tool["name"],
                    description=tool.get("description", ""),
                    parameters=dict(tool.get("parameters") or {"type": "object"}),
                )
            )
    return tuple(specs)


def normalise_schema(response_schema: Any) -> tuple[dict[str, Any] | None, Any]:
    """The JSON schema to send, and the pydantic model to validate the answer with (if any)."""
    if response_schema is None:
        return None, None
    if isinstance(response_schema, dict):
        return response_schema, None
    if isinstance(response_schema, type) and hasattr(response_schema, "model_json_schema"):
        return response_schema.model_json_schema(), response_schema
    raise InvalidInput(
        "response_schema must be a JSON-schema dict or a pydantic model class, "
        f"not {type(response_schema).__name__}"
    )


def unfenced(text: str) -> str:
    """Structured answers without the Markdown code fence some models wrap them in."""
    stripped = text.strip()
    if not stripped.startswith("```"):
        return text
    body = stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return body.rsplit("```", 1)[0].strip()


def structure_problem(call: Call, text: str) -> str | None:
    """Why a structured answer does not parse, or None (also None when no schema was asked)."""
    if call.request.response_schema is None:
        return None
    if call.schema_model is not None:
        from pydantic import ValidationError

        try:
            call.schema_model.model_validate_json(text)
        except ValidationError as exc:
            return str(exc.errors()[0]["msg"]) if exc.errors() else "invalid"
        return None
    try:
        json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    return None

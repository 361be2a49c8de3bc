"""Usage normalisation and the retry policy's arithmetic, on the SDKs' own usage types.

The HTTP tests cover what the simulator sends; these pin the cases it does not produce
(Gemini thinking and tool-use tokens, OpenRouter cache writes) and the edge arithmetic.
"""

from __future__ import annotations

import email.utils
from decimal import Decimal

import pytest

from salesctl.llm.providers import _retry
from salesctl.llm.providers._base import decimal_or_none
from salesctl.llm.providers._errors import failure_for_status, retry_after_seconds, scrub
from salesctl.llm.providers.anthropic import anthropic_usage
from salesctl.llm.providers.gemini import gemini_usage
from salesctl.llm.providers.openai_compatible import openai_usage
from salesctl.llm.types import Usage


def test_openai_cached_tokens_are_subtracted_from_the_prompt_once() -> None:
    from openai.types import CompletionUsage

    usage = CompletionUsage.model_validate(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 128},
        }
    )
    normalised = openai_usage(usage)
    # Reasoning tokens are already inside completion_tokens: not added again, kept apart.
    assert normalised == Usage(
        input_tokens=86, output_tokens=300, cache_read_tokens=1920, reasoning_tokens=128
    )
    assert normalised.prompt_tokens == 2006


def test_openrouter_cache_writes_are_split_out_of_the_prompt_too() -> None:
    from openai.types import CompletionUsage

    usage = CompletionUsage.model_validate(
        {
            "prompt_tokens": 5000,
            "completion_tokens": 10,
            "total_tokens": 5010,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 3000},
            "cost": 0.0123,
        }
    )
    assert openai_usage(usage) == Usage(
        input_tokens=1000, output_tokens=10, cache_read_tokens=1000, cache_write_tokens=3000
    )


def test_cerebras_usage_without_details() -> None:
    from cerebras.cloud.sdk.types.chat.chat_completion import ChatCompletionResponseUsage

    usage = ChatCompletionResponseUsage(prompt_tokens=40, completion_tokens=7, total_tokens=47)
    assert openai_usage(usage) == Usage(input_tokens=40, output_tokens=7)


def test_anthropic_buckets_map_directly() -> None:
    from anthropic.types import Usage as AnthropicUsage

    usage = AnthropicUsage(
        input_tokens=12,
        output_tokens=250,
        cache_read_input_tokens=3000,
        cache_creation_input_tokens=1500,
    )
    assert anthropic_usage(usage) == Usage(
        input_tokens=12, output_tokens=250, cache_read_tokens=3000, cache_write_tokens=1500
    )


def test_anthropic_one_hour_cache_writes_are_kept_apart() -> None:
    from anthropic.types import Usage as AnthropicUsage

    usage = AnthropicUsage.model_validate(
        {
            "input_tokens": 12,
            "output_tokens": 250,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 1500,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 500,
                "ephemeral_1h_input_tokens": 1000,
            },
        }
    )
    assert anthropic_usage(usage) == Usage(
        input_tokens=12, output_tokens=250, cache_write_tokens=1500, cache_write_1h_tokens=1000
    )


def test_anthropic_usage_with_absent_cache_fields() -> None:
    assert anthropic_usage({"input_tokens": 9, "output_tokens": 3}) == Usage(9, 3)


def test_gemini_cached_tokens_are_subtracted_and_thoughts_count_as_output() -> None:
    from google.genai import types

    metadata = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=4100,
        cached_content_token_count=4000,
        candidates_token_count=120,
        thoughts_token_count=800,
        tool_use_prompt_token_count=30,
        total_token_count=5050,
    )
    normalised = gemini_usage(metadata)
    assert normalised == Usage(
        input_tokens=130, output_tokens=920, cache_read_tokens=4000, reasoning_tokens=800
    )
    assert normalised.prompt_tokens + normalised.output_tokens == metadata.total_token_count


def test_gemini_usage_of_a_chunk_without_candidates_yet() -> None:
    from google.genai import types

    metadata = types.GenerateContentResponseUsageMetadata(prompt_token_count=55)
    assert gemini_usage(metadata) == Usage(input_tokens=55)


# --- retry arithmetic ---------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_and_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "BACKOFF_BASE_S", 1.0)
    monkeypatch.setattr(_retry, "BACKOFF_CAP_S", 5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [_retry.backoff_delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_retry_after_wins_but_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "BACKOFF_CAP_S", 5.0)
    assert _retry.backoff_delay(1, retry_after=3.5) == 3.5
    assert _retry.backoff_delay(1, retry_after=600) == 5.0


def test_retry_after_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import httpx

    from salesctl.llm.providers import _errors

    now = 1_767_225_600.0  # a fake clock: the date below is exactly 30 s after it
    monkeypatch.setattr(_errors, "time", types.SimpleNamespace(time=lambda: now))
    assert retry_after_seconds(httpx.Headers({"Retry-After-Ms": "250", "Retry-After": "1"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"retry-after": "7"})) == 7.0
    when = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": when})) == 30.0
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": past})) == 0.0
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [
        (429, "rate_limited", True),
        (500, "server_error", True),
        (502, "server_error", True),
        (503, "server_error", True),
        (504, "server_error", True),
        (529, "server_error", True),
        (501, "server_error", False),
        (408, "timeout", True),
        (400, "bad_request", False),
        (401, "auth_error", False),
        (403, "auth_error", False),
        (404, "bad_request", False),
        (422, "bad_request", False),
    ],
)
def test_status_classification(status: int, error_type: str, retryable: bool) -> None:
    failure = failure_for_status(status)
    assert (failure.error_type, failure.retryable) == (error_type, retryable)


def test_scrub_masks_keys_and_keeps_one_short_line() -> None:
    text = "bad key sk-proj-abcdef123456 and AIzaSyA1234567890abcdefghijklmnop\nsecond line"
    cleaned = scrub(text + " x" * 200, secret="mysecretvalue")
    assert "abcdef123456" not in cleaned
    assert "AIzaSy" not in cleaned
    assert "\n" not in cleaned
    assert len(cleaned) <= 200
    assert scrub("token mysecretvalue leaked", secret="mysecretvalue") == "token *** leaked"


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        (0.000123, Decimal("0.000123")),
        ("0.1", Decimal("0.1")),
        (0, Decimal(0)),
        (-0.5, None),
        ("NaN", None),
        ("Infinity", None),
        ("a lot", None),
        (True, None),
        (None, None),
    ],
)
def test_a_reported_cost_counts_only_when_it_is_a_real_amount(
    reported: object, expected: Decimal | None
) -> None:
    """OpenRouter reports each call's cost; a negative or non-finite figure is not a price,
    so the call falls back to the price table."""
    assert decimal_or_none(reported) == expected

"""The errors salesctl raises on purpose: each maps to one line on stderr and an exit code."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesctl.llm.types import ProviderResponse


class SalesctlError(Exception):
    """A problem the user can fix; the CLI prints `str(error)` and exits with `exit_code`."""

    exit_code = 1


class ConfigError(SalesctlError):
    """Settings or the config file are invalid."""


class DatabaseError(SalesctlError):
    """The database is unreachable, or its URL is wrong."""


class SchemaOutdated(DatabaseError):
    """The database has not been migrated to the schema this salesctl expects."""


class NotFound(SalesctlError):
    """A lead, deal, session or other record named by the user does not exist."""


class InvalidInput(SalesctlError):
    """A flag, file or value is malformed."""


class ProviderError(SalesctlError):
    """An LLM provider refused or failed a call after retries."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        error_type: str = "provider_error",
        status_code: int | None = None,
        retry_after: float | None = None,
        attempts: int = 0,
        partial: ProviderResponse | None = None,
        simulated: bool = False,
        unanswered: int = 0,
    ):
        super().__init__(message)
        self.provider = provider
        self.error_type = error_type
        self.status_code = status_code
        """The HTTP status the provider answered with, when there was one."""
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it did."""
        self.attempts = attempts
        """Attempts made before giving up (0: failed before any network call)."""
        self.partial = partial
        """What arrived before a stream broke: text and the usage reported so far."""
        self.simulated = simulated
        """The failing answer came from the provider simulator."""
        self.unanswered = unanswered
        """Attempts the provider received and may have billed with nothing to show for them
        (no answer in time, an unreadable or cut-short answer); a cut stream's own attempt
        is `partial` instead."""


class MissingAPIKey(ProviderError):
    """A provider was asked for but its key is not set."""

    def __init__(self, provider: str, env_var: str):
        super().__init__(
            f"no API key for {provider!r}: set the {env_var} environment variable",
            provider=provider,
            error_type="missing_api_key",
        )


class BudgetExceeded(SalesctlError):
    """A hard budget limit refused a call before it reached the provider."""

    scope: str = ""
    """Which limit: `daily`, `monthly` or `agent 'qualification' daily`."""
    limit_usd: Decimal | None = None
    spent_usd: Decimal | None = None
    """What was spent in the limit's period when the call was refused."""
    max_cost_usd: Decimal | None = None
    """The most the refused call could have cost (None: its price is unknown)."""
    tracking_id: str | None = None
    """The `request_id` of the `status='refused'` row tracking the refusal."""


class InvalidModelOutput(SalesctlError):
    """The model's answer did not fit the requested structure, even after a repair attempt."""

    spent_usd: Decimal | None = None
    """What the failed attempts cost together (each is also tracked on its own row)."""


class TrackingUnavailable(SalesctlError):
    """A call's tracking record could be kept neither in the database nor in the spool, so no
    further provider call is made (no record, no call)."""


class SpoolUnreadable(SalesctlError):
    """A file of the tracking spool cannot be read or written (its permissions, mostly)."""

"""The chat agents' tools: the framework (`framework`), what they share about records
(`records`), and the tools by subject (`leads`, `deals`, `accounts`).

Every tool result goes back to the model wrapped as data; a write is planned, confirmed by
the user, then applied (see `framework`).
"""

from salesctl.agents.chat.tools.accounts import (
    ACCOUNT_HEALTH,
    COMPLETE_ONBOARDING_STEP,
    ONBOARDING_CHECKLIST,
    STEP_WORDS,
    WON_ACCOUNTS,
)
from salesctl.agents.chat.tools.deals import (
    AT_RISK_DEALS,
    DEAL_DETAILS,
    LIST_DEALS,
    MOVE_DEAL,
    MOVE_WORDS,
    PIPELINE_SUMMARY,
    STAGE_WORDS,
    STALLED_DEALS,
)
from salesctl.agents.chat.tools.framework import (
    DATA_NOTICE,
    Args,
    Tool,
    ToolFailure,
    ToolRun,
    ToolStatus,
    WriteRefused,
    as_data,
    run_tool,
)
from salesctl.agents.chat.tools.leads import (
    ADD_LEAD_NOTE,
    LEAD_DETAILS,
    SEARCH_LEADS,
    TOP_LEADS,
)
from salesctl.agents.chat.tools.records import (
    OnboardingStepKey,
    deal_summary,
    lead_summary,
)

__all__ = [
    "ACCOUNT_HEALTH",
    "ADD_LEAD_NOTE",
    "AT_RISK_DEALS",
    "COMPLETE_ONBOARDING_STEP",
    "DATA_NOTICE",
    "DEAL_DETAILS",
    "LEAD_DETAILS",
    "LIST_DEALS",
    "MOVE_DEAL",
    "MOVE_WORDS",
    "ONBOARDING_CHECKLIST",
    "PIPELINE_SUMMARY",
    "SEARCH_LEADS",
    "STAGE_WORDS",
    "STALLED_DEALS",
    "STEP_WORDS",
    "TOP_LEADS",
    "WON_ACCOUNTS",
    "Args",
    "OnboardingStepKey",
    "Tool",
    "ToolFailure",
    "ToolRun",
    "ToolStatus",
    "WriteRefused",
    "as_data",
    "deal_summary",
    "lead_summary",
    "run_tool",
]

"""Every table salesctl owns, loaded on first use.

Taking any name from this package (`Base` included) imports every model module, so
`Base.metadata` is complete for Alembic, `create_all` and schema comparisons. Mapping all the
classes costs tens of milliseconds, so read-only commands that need a few tables (the fold,
`budget check`, `costs`) import the submodule that defines them instead, e.g.
`salesctl.db.models.analytics`, which maps only those.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesctl.db.base import Base
    from salesctl.db.models.analytics import BudgetAlert
    from salesctl.db.models.budget import BudgetHold, BudgetLedger
    from salesctl.db.models.cache import CacheEntry
    from salesctl.db.models.chat import ChatMessage, ChatSession
    from salesctl.db.models.crm import DEAL_STAGES, LEAD_STATUSES, LEAD_TIERS, Deal, Lead
    from salesctl.db.models.feedback import CallFeedback
    from salesctl.db.models.runs import AgentRun
    from salesctl.db.models.tracking import AICostTracking

_HOMES = {
    "Base": "salesctl.db.base",
    "BudgetAlert": "salesctl.db.models.analytics",
    "BudgetHold": "salesctl.db.models.budget",
    "BudgetLedger": "salesctl.db.models.budget",
    "CacheEntry": "salesctl.db.models.cache",
    "CallFeedback": "salesctl.db.models.feedback",
    "ChatMessage": "salesctl.db.models.chat",
    "ChatSession": "salesctl.db.models.chat",
    "DEAL_STAGES": "salesctl.db.models.crm",
    "LEAD_STATUSES": "salesctl.db.models.crm",
    "LEAD_TIERS": "salesctl.db.models.crm",
    "Deal": "salesctl.db.models.crm",
    "Lead": "salesctl.db.models.crm",
    "AgentRun": "salesctl.db.models.runs",
    "AICostTracking": "salesctl.db.models.tracking",
}
"""Where each exported name is defined."""

__all__ = [
    "DEAL_STAGES",
    "LEAD_STATUSES",
    "LEAD_TIERS",
    "AICostTracking",
    "AgentRun",
    "Base",
    "BudgetAlert",
    "BudgetHold",
    "BudgetLedger",
    "CacheEntry",
    "CallFeedback",
    "ChatMessage",
    "ChatSession",
    "Deal",
    "Lead",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in sorted(set(_HOMES.values())):
        importlib.import_module(module)
    for exported, module in _HOMES.items():
        globals()[exported] = getattr(importlib.import_module(module), exported)
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))

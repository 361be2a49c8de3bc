"""Every table salesctl owns; importing this module registers them all on `Base.metadata`."""

from salesctl.db.base import Base
from salesctl.db.models.analytics import BudgetAlert
from salesctl.db.models.cache import CacheEntry
from salesctl.db.models.chat import ChatMessage, ChatSession
from salesctl.db.models.crm import DEAL_STAGES, LEAD_STATUSES, LEAD_TIERS, Deal, Lead
from salesctl.db.models.runs import AgentRun
from salesctl.db.models.tracking import AICostTracking

__all__ = [
    "DEAL_STAGES",
    "LEAD_STATUSES",
    "LEAD_TIERS",
    "AICostTracking",
    "AgentRun",
    "Base",
    "BudgetAlert",
    "CacheEntry",
    "ChatMessage",
    "ChatSession",
    "Deal",
    "Lead",
]

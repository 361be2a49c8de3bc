"""The seed's `app.core.cost_optimized_llm`: the gateway and its config and result types."""

from salesctl.llm.gateway import CostOptimizedLLMProvider, LLMStream
from salesctl.llm.router import RoutingDecision
from salesctl.llm.types import LLMConfig, LLMResult, Message, ToolCall, ToolSpec

__all__ = [
    "CostOptimizedLLMProvider",
    "LLMConfig",
    "LLMResult",
    "LLMStream",
    "Message",
    "RoutingDecision",
    "ToolCall",
    "ToolSpec",
]

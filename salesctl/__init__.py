"""salesctl: run LangGraph sales agents and account for every LLM call they make."""

__version__ = "0.1.0"

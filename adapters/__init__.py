"""Adapters to the outside: exchange venues, market data feeds, LLM providers."""

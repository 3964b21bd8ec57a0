"""Hyperliquid perpetuals through the official hyperliquid-python-sdk (synchronous, in threads).

By role: ``transport`` (the SDK calls, off the event loop, with timeouts), ``errors``
(classification), ``schemas`` (typed replies), ``reads`` (account and market data) and
``adapter`` (order lookup and the placement hooks).
"""

from adapters.exchanges.hyperliquid.adapter import HyperliquidClient

__all__ = ["HyperliquidClient"]

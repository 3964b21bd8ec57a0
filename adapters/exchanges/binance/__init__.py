"""Binance USD-M futures through python-binance's synchronous ``Client`` (run in threads).

By role: ``transport`` (the SDK calls, off the event loop, with timeouts), ``errors``
(classification), ``schemas`` (typed replies), ``reads`` (account and market data) and
``adapter`` (order lookup and the placement hooks).
"""

from adapters.exchanges.binance.adapter import BinanceFuturesClient

__all__ = ["BinanceFuturesClient"]

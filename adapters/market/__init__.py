"""Market data feeds (activity-side: may do I/O, unlike domain/)."""

from adapters.market.feed import MarketFeed, UnknownSymbolError
from adapters.market.simulated import SimulatedFeed

__all__ = ["MarketFeed", "SimulatedFeed", "UnknownSymbolError"]

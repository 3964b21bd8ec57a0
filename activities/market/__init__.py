"""Market data feeds (activity-side: may do I/O, unlike domain/)."""

from activities.market.feed import MarketFeed, UnknownSymbolError
from activities.market.simulated import SimulatedFeed

__all__ = ["MarketFeed", "SimulatedFeed", "UnknownSymbolError"]

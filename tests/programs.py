"""Program sources used across tests."""

ALWAYS_LONG = """
class Strategy:
    def should_trade(self, data):
        price = data.get_price("BTC")
        return Decision(operation="long", symbol="BTC", size_usd=200, leverage=2,
                        take_profit_pct=50, stop_loss_pct=50,
                        reasoning=f"buy at {price}")
"""

HOLD = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning="waiting")
"""

CLOSE_BTC = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="close", symbol="BTC", reasoning="take it off")
"""

RAISES = """
class Strategy:
    def should_trade(self, data):
        raise RuntimeError("boom from the strategy")
"""

LOOPS = """
class Strategy:
    def should_trade(self, data):
        while True:
            pass
"""

ALLOCATES = """
class Strategy:
    def should_trade(self, data):
        chunks = []
        while True:
            chunks.append(bytearray(50 * 1024 * 1024))
"""

TOO_MUCH_LEVERAGE = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=100, leverage=50)
"""

RSI_EXAMPLE = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        if rsi < 30:
            return Decision(operation="long", symbol="BTC", size_usd=100, leverage=3,
                            take_profit_pct=5, stop_loss_pct=2,
                            reasoning=f"RSI {rsi:.1f} oversold")
        if rsi > 70:
            return Decision(operation="short", symbol="BTC", size_usd=100, leverage=3,
                            take_profit_pct=5, stop_loss_pct=2,
                            reasoning=f"RSI {rsi:.1f} overbought")
        return Decision(operation="hold", reasoning=f"RSI {rsi:.1f} neutral")
"""

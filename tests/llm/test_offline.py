"""The `offline` stand-in (adapters.llm.offline): deterministic answers from the prompt's data,
labelled as not a real model, through the real client path and without any network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.llm.client import LLMCallConfig, complete
from adapters.llm.offline import LABEL, MODEL_NAME, OFFLINE_BASE_URL, decide
from adapters.llm.providers import estimate_cost_usd
from domain.llm_output import parse_decision
from strategies.prompt import build_messages

NOW_MS = 1_790_000_000_000
TEMPLATE = "Prices:\n{market_prices}\nOpen positions:\n{open_positions}\nBe bold."


def prompt(
    moves: dict[str, tuple[float, float]],
    positions: list[dict[str, Any]] | None = None,
    template: str = TEMPLATE,
) -> str:
    """The user message for symbols at `price`, having closed at `then` an hour ago."""
    snapshot = {
        "symbols": list(moves),
        "now": datetime.fromtimestamp(NOW_MS / 1000, UTC).isoformat(),
        "prices": {sym: str(price) for sym, (price, _) in moves.items()},
        "klines": {
            sym: {"1h": [[NOW_MS - 3_600_000, then, then, then, then, 1.0]]}
            for sym, (_, then) in moves.items()
        },
        "positions": positions or [],
        "balance": {"equity": "10000", "available": "9000", "cash": "10000"},
        "trigger": {"type": "manual"},
    }
    return build_messages(template, snapshot, [], Decimal(1000))[1]


def position(symbol: str, side: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "side": side,
        "size": "0.1",
        "entry_price": "100",
        "mark_price": "99",
        "unrealized_pnl": "-0.1",
        "leverage": "1",
    }


def test_the_strongest_mover_is_traded_with_a_tenth_of_the_maximum_size() -> None:
    text = prompt({"BTC": (65_000, 64_000), "ETH": (3_000, 3_090), "SOL": (150, 150.1)})
    answer = decide(text)
    assert answer["operation"] == "short" and answer["symbol"] == "ETH"  # -2.9 % beats +1.6 %
    assert answer["size_usd"] == 100 and answer["leverage"] == 1
    assert answer["reasoning"].startswith(LABEL)
    assert decide(text) == answer  # deterministic
    parsed = parse_decision(json.dumps(answer), ["BTC", "ETH", "SOL"], 1000)
    assert parsed.ok and parsed.decision is not None


def test_a_position_the_hour_moved_against_is_closed() -> None:
    text = prompt(
        {"BTC": (65_000, 64_000), "ETH": (3_000, 3_090)},
        positions=[position("BTC", "short"), position("ETH", "short")],
    )
    answer = decide(text)
    assert answer == {**answer, "operation": "close", "symbol": "BTC"}


def test_small_moves_or_no_prices_mean_hold() -> None:
    calm = decide(prompt({"BTC": (65_000, 64_990)}))
    assert calm["operation"] == "hold" and calm["reasoning"].startswith(LABEL)
    blind = decide(prompt({"BTC": (65_000, 60_000)}, template="Decide for {symbols}."))
    assert blind["operation"] == "hold" and "{market_prices}" in blind["reasoning"]


async def test_the_client_talks_to_it_like_any_provider_without_a_network() -> None:
    """No key, private hosts refused, no DNS: the answer comes from inside the process."""
    cfg = LLMCallConfig(OFFLINE_BASE_URL, "", "offline", json_mode=True, timeout_s=5.0)
    res = await complete(cfg, "system", prompt({"BTC": (65_000, 64_000)}))
    assert res.model == MODEL_NAME and "not a real model" in res.model
    answer = json.loads(res.text)
    assert answer["operation"] == "long" and answer["reasoning"].startswith(LABEL)
    assert estimate_cost_usd("offline", res.prompt_tokens, res.completion_tokens, "offline") == 0

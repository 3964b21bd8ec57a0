"""The `offline` provider: a stand-in for a model, to try prompt traders without a key or network.

NOT A REAL MODEL. It never reads the instructions in a template: it follows a fixed momentum rule
on the data the rendered prompt carries, and says so in every answer (the reasoning starts with
LABEL, the reported model is MODEL_NAME). It speaks the OpenAI chat completions protocol as an
in-process HTTP transport, so the rest of the path is the real one: the OpenAI SDK builds and
sends the request, parses the completion, and the answer is parsed, risk-checked and recorded
like any model's.

The rule, on the text `{market_prices}`, `{open_positions}` and the output contract render to:
  1. an open position whose symbol moved against it over the last hour is closed;
  2. else the allowed symbol without a position that moved most over the last hour, if it moved
     at least MIN_MOVE_PCT, is bought (up) or sold short (down) with a tenth of the maximum
     position size, leverage 1, take profit 2 %, stop loss 1 %;
  3. else hold (also when the template has no {market_prices}: there is nothing to follow).
The same prompt always gives the same answer.
"""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx2

from domain.decision import Operation
from domain.vocabulary import PositionSide

OFFLINE_HOST = "offline.hyperoru.invalid"  # .invalid never resolves: it cannot be a real host
OFFLINE_BASE_URL = f"http://{OFFLINE_HOST}/v1"
MODEL_NAME = "hyperoru-offline-rules (not a real model)"
LABEL = "[offline stand-in, not a real model]"
MIN_MOVE_PCT = Decimal("0.3")
DEFAULT_SIZE_USD = Decimal(100)

_PRICE_LINE = re.compile(r"^([A-Z0-9._-]+): \S+ \(1h ([+-][0-9.]+)%", re.MULTILINE)
_POSITION_LINE = re.compile(r"^([A-Z0-9._-]+) (long|short) size ", re.MULTILINE)
_ALLOWED = re.compile(r'"symbol": one of ((?:"[^"]+"(?:, )?)+)')
_MAX_SIZE = re.compile(r'"size_usd": number > 0, at most ([0-9.]+)')


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decide(prompt: str) -> dict[str, Any]:
    """The stand-in's decision for a rendered prompt (the user message)."""
    allowed_match = _ALLOWED.search(prompt)
    allowed = re.findall(r'"([^"]+)"', allowed_match.group(1)) if allowed_match else []
    moves = {
        sym: move
        for sym, text in _PRICE_LINE.findall(prompt)
        if (move := _decimal(text)) is not None and (not allowed or sym in allowed)
    }
    held = dict(_POSITION_LINE.findall(prompt))
    if not moves:
        return _hold("the prompt carries no {market_prices} data to follow")
    for sym, side in sorted(held.items()):
        move = moves.get(sym)
        if move is not None and (move < 0 if side == PositionSide.LONG else move > 0):
            return {
                "operation": Operation.CLOSE,
                "symbol": sym,
                "reasoning": f"{LABEL} {sym} moved {move:+}% over 1h, against the {side}.",
            }
    free = {sym: move for sym, move in moves.items() if sym not in held}
    if not free:
        return _hold("every symbol already has a position moving its way")
    sym = max(sorted(free), key=lambda s: abs(free[s]))
    move = free[sym]
    if abs(move) < MIN_MOVE_PCT:
        return _hold(f"no symbol moved {MIN_MOVE_PCT}% or more over 1h (largest: {sym} {move:+}%)")
    max_size = _MAX_SIZE.search(prompt)
    cap = _decimal(max_size.group(1)) if max_size else None
    size = (cap / 10).quantize(Decimal("0.01")) if cap else DEFAULT_SIZE_USD
    return {
        "operation": Operation.LONG if move > 0 else Operation.SHORT,
        "symbol": sym,
        "size_usd": float(size),
        "leverage": 1,
        "take_profit_pct": 2,
        "stop_loss_pct": 1,
        "reasoning": f"{LABEL} {sym} moved {move:+}% over 1h, the most of the allowed symbols.",
    }


def _hold(why: str) -> dict[str, Any]:
    return {"operation": Operation.HOLD, "symbol": None, "reasoning": f"{LABEL} Hold: {why}."}


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or []
    user = "\n".join(
        str(m.get("content") or "")
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    )
    content = json.dumps(decide(user))
    return {
        "id": "chatcmpl-offline",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        # No tokens are used; rough sizes, so usage views are not empty.
        "usage": {
            "prompt_tokens": len(user) // 4,
            "completion_tokens": len(content) // 4,
            "total_tokens": (len(user) + len(content)) // 4,
        },
    }


class OfflineModelTransport(httpx2.AsyncBaseTransport):
    """Answers `POST .../chat/completions` in process; nothing goes to the network."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            error = {"error": {"message": "the offline stand-in only does chat completions"}}
            return httpx2.Response(404, json=error)
        try:
            body = json.loads(await request.aread())
        except ValueError:
            return httpx2.Response(400, json={"error": {"message": "the body is not JSON"}})
        if not isinstance(body, dict):
            return httpx2.Response(400, json={"error": {"message": "the body is not an object"}})
        return httpx2.Response(200, json=_completion(body))


def offline_http_client(timeout_s: float) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=OfflineModelTransport(), timeout=timeout_s)

# ruff: noqa: E501  (Markdown table rows are one line each)
"""The live stream's protocol as the API docs show it (`/docs`, `/redoc`: the OpenAPI
description, rendered from Markdown; a WebSocket has no OpenAPI operation of its own). README
"Live stream" tells the same; tests/api/test_ws_docs.py keeps both in step with the code."""

from __future__ import annotations

PROTOCOL = """
## Live stream: `GET /ws` (WebSocket)

One socket streams what your traders do as it happens: fills and cancels, positions, decisions,
equity points and status changes, each within about a second of being recorded (the API reads
new events every `HYPERORU_WS_POLL_SECONDS`, 0.15).

**Connect** with your session token as `Authorization: Bearer <token>`, or
`?session_token=<token>` (browsers cannot set headers on an upgrade; the token is redacted in
every log line), or the web app's session cookie (`HYPERORU_SESSION_COOKIE`, default
`hyperoru_session`), which counts only when the upgrade's `Origin` is the API's own (scheme,
host and port of its `Host`). A missing, unknown, expired or revoked token closes the socket at
once with code `4401` (reason `AUTH_REQUIRED: ...` or `INVALID_TOKEN: ...`) before any message; a
cookie from another origin with `4403` (`ORIGIN_NOT_ALLOWED: ...`). A token revoked (logout,
password change) or expiring while connected closes its sockets within
`HYPERORU_WS_AUTH_RECHECK_SECONDS` (2) with `4401` (`SESSION_ENDED: ...`).

**Messages** are JSON objects `{"type", "request_id"?, "data"}` both ways. A client message's
`request_id` (a string of up to 100 characters, or an integer) is echoed on its answer. Messages
are handled in order, one at a time: a `ping` sent after a `subscribe` is answered once the
subscription is in effect.

| client `type` | `data` | answer |
|---|---|---|
| `bootstrap` | `{}` | `bootstrap`: `traders` (as `GET /api/account/list`), `positions` (one `GET .../positions` answer per trader), `active_orders` (`GET .../open-orders`), `recent_decisions` (the newest 50, as `GET .../decisions` without `llm_exchange` and `input_snapshot`), `errors` (a trader whose venue or prices did not answer: `account_id`, `code`, `message`), `last_event_id` |
| `subscribe` | `{"channels": [...], "last_event_id"?: int}` | none (events from now on); with `last_event_id`, first every event after it (see Resume) |
| `unsubscribe` | `{"channels": [...]}` | none |
| `switch_account` | `{"account_id": <id> \\| null \\| "all"}` | none; pushes then cover that trader only, or all of yours |
| `get_snapshot` | `{"account_id": <id>}` | `snapshot`: `account_id`, `overview` (as `GET .../overview`), `positions` (as `GET .../positions`), `last_event_id` |
| `get_asset_curve` | `{"account_id"?: <id> \\| null \\| "all", "timeframe": "5m" \\| "1h" \\| "1d", "start"?, "end"?}` | `asset_curve`: as `GET /api/account/{id}/asset-curve` for one trader, as `GET /api/account/asset-curve` for all (`null` or `"all"`): the last point of each bucket, the last one the equity now |
| `ping` | `{}` | `pong`: `{"time"}` |

Channels: `trades` (`trade_update`: a fill or a cancel), `positions` (`position_update`: a
position opened, changed or closed), `model_chat` (`model_chat_update`: a finished decision, its
trigger, operation, reasoning, status and verdict; the prompt and the raw answer are in
`GET /api/account/{id}/decisions/{decision_id}`), `asset_curve` (`asset_curve_update`: cash,
unrealized PnL, equity, margin used). `status_update` (`Active`, `Paused`, `Error`, with its
reason) goes to every socket watching the trader, subscribed or not. Repeated subscribes add
channels. A socket starts watching all of its user's traders and no channel.

A pushed event: `{"type": "trade_update", "event_id": 1234, "data": {"account_id": 1, "time":
"2026-12-08T10:00:00.123456+00:00", ...}}`. Money is a decimal string. Text from models and
programs is JSON string data, never markup. `event_id` grows with every event of every trader.

**Errors** keep the socket open: an `error` message,
`{"type": "error", "request_id"?, "data": {"code", "message"}}`, with `INVALID_JSON` (not JSON, not an object, a binary frame), `UNKNOWN_TYPE`,
`VALIDATION_ERROR` (the field and the rule), `ACCOUNT_NOT_FOUND` (a missing trader and another
user's look the same), `RATE_LIMITED` (a session's socket messages have a token bucket
of `HYPERORU_RATE_LIMIT_PER_SECOND` / `_BURST`, like its REST requests; the message is not
handled), `INTERNAL_ERROR`, and the REST API's codes for market
and venue failures (`MARKET_DATA_UNAVAILABLE`, `EXCHANGE_*`).

**Resume.** Keep the `event_id` of the last event you handled; after reconnecting, send
`subscribe` with it as `last_event_id`. Every event after it that you subscribe to comes first,
in order, then live ones. When events after it are no longer kept (or the id is unknown to this
server), a fresh `snapshot` of each watched trader comes instead, with `reason` `too_old` or
`unknown_event_id` (and `fell_behind` when a connected client read too slowly to be caught up
from what is kept). An event may come twice around a reconnect: skip ids you have seen.

**Limits.** A client message over `HYPERORU_WS_MAX_MESSAGE_BYTES` (64 KiB) closes the socket
with `1009`. Each socket has a queue of `HYPERORU_WS_QUEUE_SIZE` (256) messages; a client that
falls behind is caught up from the database, and one whose queue stays full for
`HYPERORU_WS_SLOW_CLIENT_SECONDS` (10) is closed with `4408` (`SLOW_CLIENT`): reconnect and
resume. Past `HYPERORU_WS_MAX_CONNECTIONS` (1000) sockets per API process a new one is closed
with `1013`; a shutting-down API closes sockets with `1001` or `1012`, and one that cannot
reach its database turns a new socket away with `1011` (`UNAVAILABLE: ...`).
"""

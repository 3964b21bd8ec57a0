"""The live stream's messages (README "Live stream"): every one is a JSON object
`{"type", "request_id"?, "data"}`; a client message's `request_id` is echoed on its answer.

A client message is checked in two steps, so each fault has its own error code: the envelope
(INVALID_JSON, VALIDATION_ERROR), its `type` (UNKNOWN_TYPE), then its `data` against that type's
model (VALIDATION_ERROR naming the field). Every model refuses unknown fields.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from domain.events import Channel, Event, EventType


class ClientType(StrEnum):
    BOOTSTRAP = "bootstrap"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    SWITCH_ACCOUNT = "switch_account"
    GET_SNAPSHOT = "get_snapshot"
    GET_ASSET_CURVE = "get_asset_curve"
    PING = "ping"


class ServerType(StrEnum):
    """Answers and notices; recorded events go out under their EventType."""

    BOOTSTRAP = "bootstrap"
    SNAPSHOT = "snapshot"
    ASSET_CURVE = "asset_curve"  # the answer to get_asset_curve
    PONG = "pong"
    ERROR = "error"


SERVER_TYPES = [*(t.value for t in ServerType), *(t.value for t in EventType)]


class ErrorCode(StrEnum):
    INVALID_JSON = "INVALID_JSON"  # not JSON, or not a JSON object
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"  # a field missing, of the wrong kind or out of range
    RATE_LIMITED = "RATE_LIMITED"  # over HYPERORU_RATE_LIMIT_PER_SECOND / _BURST (per session)
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Others are the REST API's own codes for the same fault (ACCOUNT_NOT_FOUND,
    # MARKET_DATA_UNAVAILABLE, EXCHANGE_*).


MAX_REQUEST_ID = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(_Strict):
    type: StrictStr = Field(max_length=50)
    request_id: StrictStr | StrictInt | None = Field(default=None)
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _usable_id(self) -> Envelope:
        if self.request_id is not None and _echoable(self.request_id) is None:
            raise ValueError(
                f"request_id: at most {MAX_REQUEST_ID} characters, or a 64-bit integer"
            )
        return self


class Bootstrap(_Strict):
    """No fields: the state of the traders the socket watches."""


class Ping(_Strict):
    """No fields."""


Channels = Field(min_length=1, max_length=len(Channel))


class Subscribe(_Strict):
    channels: list[Channel] = Channels
    # Resume: every event after this id, then live ones (README "Resume").
    last_event_id: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)


class Unsubscribe(_Strict):
    channels: list[Channel] = Channels


ALL = "all"


class SwitchAccount(_Strict):
    # One trader's id, or every trader of the caller: null or "all". Required: `{}` is a mistake.
    account_id: StrictInt | Literal["all"] | None


class GetSnapshot(_Strict):
    account_id: StrictInt


class GetAssetCurve(_Strict):
    account_id: StrictInt | Literal["all"] | None = None  # None or "all": every trader
    timeframe: Literal["5m", "1h", "1d"]
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _range(self) -> GetAssetCurve:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError("start must be before end")
        return self


DATA_OF: dict[ClientType, type[_Strict]] = {
    ClientType.BOOTSTRAP: Bootstrap,
    ClientType.SUBSCRIBE: Subscribe,
    ClientType.UNSUBSCRIBE: Unsubscribe,
    ClientType.SWITCH_ACCOUNT: SwitchAccount,
    ClientType.GET_SNAPSHOT: GetSnapshot,
    ClientType.GET_ASSET_CURVE: GetAssetCurve,
    ClientType.PING: Ping,
}


class ProtocolError(Exception):
    """A client message that cannot be answered: sent back as an `error` message."""

    def __init__(self, code: str, message: str, request_id: str | int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


def _describe(err: ValidationError, prefix: str) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(p) for p in (prefix, *e.get("loc", ())) if p != "")
        msg = str(e.get("msg", "not valid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid message"


def _echoable(rid: Any) -> str | int | None:
    """A request_id sent back even when the message around it is refused: a valid one only."""
    if isinstance(rid, str) and len(rid) <= MAX_REQUEST_ID:
        return rid
    if isinstance(rid, int) and not isinstance(rid, bool) and abs(rid) < 2**63:
        return rid
    return None


def parse(text: str) -> tuple[ClientType, str | int | None, _Strict]:
    """A client message's type, request id and validated data; ProtocolError otherwise."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError(ErrorCode.INVALID_JSON, "message is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.INVALID_JSON, "message must be a JSON object")
    echo = _echoable(raw.get("request_id"))
    try:
        env = Envelope.model_validate(raw)
    except ValidationError as err:
        raise ProtocolError(ErrorCode.VALIDATION_ERROR, _describe(err, ""), echo) from None
    try:
        kind = ClientType(env.type)
    except ValueError:
        known = ", ".join(t.value for t in ClientType)
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"unknown type {env.type!r}; one of: {known}", env.request_id
        ) from None
    try:
        data = DATA_OF[kind].model_validate(env.data)
    except ValidationError as err:
        raise ProtocolError(
            ErrorCode.VALIDATION_ERROR, _describe(err, "data"), env.request_id
        ) from None
    return kind, env.request_id, data


def encode(kind: str, data: Any, request_id: str | int | None = None, **extra: Any) -> str:
    """One server message as JSON text (`data` already JSON-ready)."""
    msg: dict[str, Any] = {"type": kind}
    if request_id is not None:
        msg["request_id"] = request_id
    msg.update(extra)
    msg["data"] = data
    return orjson.dumps(msg).decode()


def error(code: str, message: str, request_id: str | int | None = None) -> str:
    return encode(ServerType.ERROR, {"code": code, "message": message}, request_id)


def event_message(event: Event) -> str:
    """A recorded event as pushed: its type, its id (to resume from) and its data."""
    return encode(event.type.value, event.data, event_id=event.id)

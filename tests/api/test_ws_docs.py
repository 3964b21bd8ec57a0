"""The live stream's protocol is documented where users look, and in step with the code: the API
docs (the OpenAPI description /docs and /redoc render) and README's "Live stream" name every
message type, channel, error code and close code the server uses, and settings by their
variables."""

from __future__ import annotations

import re
from pathlib import Path

from api.main import create_app
from api.ws.auth import FORBIDDEN, UNAUTHORIZED
from api.ws.connection import SLOW_CLIENT
from api.ws.endpoint import GOING_AWAY, TOO_LARGE, TRY_AGAIN_LATER, UNAVAILABLE
from api.ws.protocol import SERVER_TYPES, ClientType, ErrorCode
from config.settings import Settings
from domain.events import Channel

README = Path(__file__).resolve().parents[2] / "README.md"
SETTINGS = ["SESSION_COOKIE", "WS_POLL_SECONDS", "WS_QUEUE_SIZE", "WS_SLOW_CLIENT_SECONDS",
            "WS_MAX_MESSAGE_BYTES", "WS_MAX_CONNECTIONS", "WS_AUTH_RECHECK_SECONDS"]  # fmt: skip


def _names() -> list[str]:
    codes = [UNAUTHORIZED, FORBIDDEN, SLOW_CLIENT, TOO_LARGE, TRY_AGAIN_LATER, GOING_AWAY,
             UNAVAILABLE.code]  # fmt: skip
    return [
        *(f"`{t.value}`" for t in ClientType),
        *(f"`{t}`" for t in SERVER_TYPES),
        *(f"`{c.value}`" for c in Channel),
        *(f"`{c.value}`" for c in ErrorCode),
        *(f"`{code}`" for code in codes),
        "`too_old`", "`unknown_event_id`", "`fell_behind`", "`last_event_id`", "`event_id`",
        "`request_id`", "`ACCOUNT_NOT_FOUND`", "`AUTH_REQUIRED", "`INVALID_TOKEN",
        "`SESSION_ENDED", "`ORIGIN_NOT_ALLOWED", "`SLOW_CLIENT`",
    ]  # fmt: skip


def test_the_api_docs_describe_the_whole_protocol(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    description = app.openapi()["info"]["description"]
    missing = [name for name in _names() if name not in description]
    assert not missing, missing
    for name in SETTINGS:
        assert f"`HYPERORU_{name}`" in description, name
    assert "://" not in description  # no links out: the docs work offline


def test_readme_describes_the_whole_protocol_and_its_settings() -> None:
    text = README.read_text()
    section = text[text.index("## Live stream") : text.index("## Program strategies")]
    missing = [name for name in _names() if name not in section]
    assert not missing, missing
    for name in SETTINGS:
        assert re.search(rf"`HYPERORU_{name}`", text), name
    assert "| `GET /ws` (WebSocket) |" in text

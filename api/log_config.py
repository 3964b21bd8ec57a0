"""Logging of the API process: uvicorn's own configuration, with credentials in query strings
redacted on every handler (access log included) and the app's loggers sent through them too.

Why: the API refuses a session token sent in the query string (`?session_token=...`), but uvicorn
writes the request line to its access log before any route runs, so without this the refused
token would sit in the log in clear.
"""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from vault.redact import QueryStringRedactor

FILTER = {"()": QueryStringRedactor}


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's default dictConfig, plus the redactor on every handler and a root logger on
    the default handler at WARNING (what Python printed without one; hyperoru.* at `level`)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_query_secrets": FILTER}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_query_secrets"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["loggers"]["hyperoru"] = {"level": level.upper()}
    return config

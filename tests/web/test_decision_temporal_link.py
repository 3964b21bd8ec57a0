"""The decision page links the run in the embedded dev server's Temporal Web UI, and to no
made-up address when the API uses a cluster of your own (HYPERORU_TEMPORAL_ADDRESS)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.web.decision_page import _temporal_link


def _request(**settings: Any) -> Any:
    defaults = {"temporal_address": None, "temporal_ui_port": 8233, "temporal_namespace": "ns"}
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(
        settings=SimpleNamespace(**{**defaults, **settings}))))  # fmt: skip


def test_the_embedded_servers_ui_shows_the_run() -> None:
    link = _temporal_link(_request(temporal_ui_port=9999), "trader-3", "run-1")
    assert link == "http://127.0.0.1:9999/namespaces/ns/workflows/trader-3/run-1"


def test_an_external_cluster_or_no_workflow_gets_no_link() -> None:
    assert _temporal_link(_request(temporal_address="temporal:7233"), "trader-3", "r") == ""
    assert _temporal_link(_request(), None, None) == ""

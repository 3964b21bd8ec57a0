"""The decision page links the run in the embedded dev server's Temporal Web UI, or in an
external cluster's UI where HYPERORU_TEMPORAL_UI_URL says it is; never a made-up address, and
never a URL that is not http(s)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.web.decision_page import _temporal_link


def _request(**settings: Any) -> Any:
    defaults = {"temporal_address": None, "temporal_ui_port": 8233, "temporal_namespace": "ns",
                "temporal_ui_url": None}  # fmt: skip
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(
        settings=SimpleNamespace(**{**defaults, **settings}))))  # fmt: skip


def test_the_embedded_servers_ui_shows_the_run() -> None:
    link = _temporal_link(_request(temporal_ui_port=9999), "trader-3", "run-1")
    assert link == "http://127.0.0.1:9999/namespaces/ns/workflows/trader-3/run-1"


def test_an_external_clusters_ui_is_the_setting() -> None:
    external = _request(temporal_address="t:7233", temporal_ui_url="https://tui.example/")
    assert _temporal_link(external, "trader-3", "r") == (
        "https://tui.example/namespaces/ns/workflows/trader-3/r"
    )


def test_an_external_cluster_without_the_setting_or_no_workflow_gets_no_link() -> None:
    assert _temporal_link(_request(temporal_address="temporal:7233"), "trader-3", "r") == ""
    odd = _request(temporal_address="t:7233", temporal_ui_url="javascript:alert(1)")
    assert _temporal_link(odd, "trader-3", "r") == ""
    assert _temporal_link(_request(), None, None) == ""

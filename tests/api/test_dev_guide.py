"""GET /api/programs/dev-guide: the program developer guide, generated from the code programs run
against. Each test takes its expectations from the code itself (the class, the model, the
allowlist, the registries), so a method, field, module or factor added there and missing from
the guide fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from domain.decision import Decision
from domain.factors import FACTORS
from domain.indicators import DEFAULT_PERIODS
from sandbox.market_data import MarketData
from sandbox.program import ALLOWED_MODULES
from tests.support.stack import Stack, full_stack, make_settings

URL = "/api/programs/dev-guide"


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, sqlite_url, sandbox_memory_mb=384)
    async with full_stack(None, settings, worker=False) as s:
        yield s


async def guide(st: Stack) -> str:
    r = await st.api.get(URL)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"guide"}
    return str(r.json()["guide"])


def public_members() -> list[str]:
    return [name for name in vars(MarketData) if not name.startswith("_")]


async def test_the_guide_lists_every_public_member_of_data_with_its_docstring(st: Stack) -> None:
    text = await guide(st)
    assert len(public_members()) >= 13  # 4 attributes, 9 methods
    for name in public_members():
        assert f"### `data.{name}" in text, name
        member = vars(MarketData)[name]
        doc = (member.fget if isinstance(member, property) else member).__doc__
        assert doc, f"data.{name} has no docstring"
        first_line = doc.strip().splitlines()[0]
        assert first_line in text, name


async def test_the_guide_lists_every_decision_field(st: Stack) -> None:
    text = await guide(st)
    for name in Decision.model_fields:
        assert f"| `{name}` |" in text, name
    for operation in ("long", "short", "close", "hold"):
        assert f'`"{operation}"`' in text


async def test_the_guide_lists_every_indicator_and_factor(st: Stack) -> None:
    text = await guide(st)
    for name in [*DEFAULT_PERIODS, *FACTORS]:
        assert f"| `{name}` |" in text, name
    for spec in FACTORS.values():
        assert spec.definition in text, spec.name


async def test_the_guide_lists_the_import_allowlist(st: Stack) -> None:
    text = await guide(st)
    for module in ALLOWED_MODULES:
        assert f"`{module}`" in text, module


async def test_the_guide_states_this_servers_limits(st: Stack) -> None:
    text = await guide(st)
    assert "Memory (address space): 384 MB" in text  # configured, not the default 512
    assert "Wall clock per run: 3 s" in text


async def test_format_markdown_answers_the_guide_itself(st: Stack) -> None:
    r = await st.api.get(URL, params={"format": "markdown"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.text == await guide(st)


async def test_an_unknown_format_is_refused_naming_the_field(st: Stack) -> None:
    r = await st.api.get(URL, params={"format": "html"})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR" and "format" in r.json()["error"]


async def test_the_guide_is_for_signed_in_users_only(st: Stack) -> None:
    async with st.anonymous() as http:
        r = await http.get(URL)
    assert r.status_code == 401 and r.json()["code"] == "AUTH_REQUIRED"
    assert (await st.api.get(URL)).status_code == 200

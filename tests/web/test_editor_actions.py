"""The editors do what the REST routes do, through the same functions: a prompt is created,
saved, renamed, copied and deleted from its forms and previewed against a trader with the text
`POST /api/prompts/preview` answers; a program's validation names the line of an error and its
test run shows the decision `POST /api/programs/test-run` answers; untrusted text (names,
templates, code, a decision's reasoning) renders escaped, and no planted key reaches a page."""

from __future__ import annotations

import html
import json
import re

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SAYS_BOTH = f"""
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning={SCRIPT + " " + BREAKOUT!r})
"""
BROKEN = "class Strategy:\n    def should_trade(self, data):\n        return Decision(\n"
LLM_KEY = "sk-planted-llm-key-0123456789abcdef"


def _timeless(text: str) -> str:
    """The preview stamps the moment it was made: two previews differ only there."""
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "<time>", text)


def _unsafe(page: str) -> bool:
    return SCRIPT in page or "<img src=x" in page


async def test_prompt_forms_create_save_rename_copy_delete_and_preview(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        body = {"name": "Keyed", "account_type": "prompt", "llm_api_key": LLM_KEY,
                "llm_model": "m", "llm_base_url": "https://llm.example.com/v1"}  # fmt: skip
        tid = (await st.create_trader(**body))["account_id"]
        csrf = await sign_in(http)
        content = f"Trade {{symbols}}. {SCRIPT} {BREAKOUT}\n{{market_prices}}"
        r = await http.post(
            "/prompts", data={"name": SCRIPT, "content": content, "csrf_token": csrf}
        )
        assert r.status_code == 303, r.text
        pid = int(r.headers["location"].rsplit("/", 1)[1])
        page = (await http.get(f"/prompts/{pid}")).text
        assert not _unsafe(page) and html.escape(SCRIPT, quote=False) in page
        assert 'data-testid="prompt-editor"' in page and "{market_prices}" in page
        assert LLM_KEY not in page
        r = await http.post(f"/prompts/{pid}", data={"name": "Mine", "content": "Only {symbols}",
                                                     "csrf_token": csrf})  # fmt: skip
        assert r.status_code == 303
        got = (await st.api.get(f"/api/prompts/{pid}")).json()
        assert (got["name"], got["content"]) == ("Mine", "Only {symbols}")
        r = await http.post(f"/prompts/{pid}", data={"name": "Mine", "content": "{nope}",
                                                     "csrf_token": csrf})  # fmt: skip
        assert r.status_code == 422 and "INVALID_TEMPLATE" in r.text  # the API's own error
        assert (await st.api.get(f"/api/prompts/{pid}")).json()["content"] == "Only {symbols}"
        r = await http.post(f"/prompts/{pid}/rename", data={"name": "Renamed", "csrf_token": csrf})
        assert r.status_code == 303
        r = await http.post(f"/prompts/{pid}/copy", data={"csrf_token": csrf})
        copy_id = int(r.headers["location"].rsplit("/", 1)[1])
        names = [p["name"] for p in (await st.api.get("/api/prompts/")).json()]
        assert names == ["Renamed", "Renamed (copy)"]
        r = await http.post(f"/prompts/{copy_id}/delete", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/prompts"
        assert [p["id"] for p in (await st.api.get("/api/prompts/")).json()] == [pid]
        # Preview: the same text the REST preview answers for the same content and trader.
        want = (
            await st.api.post("/api/prompts/preview", json={"account_id": tid, "content": content})
        ).json()
        r = await http.post("/prompts/preview", headers={"X-CSRF-Token": csrf},
                            data={"account_id": str(tid), "content": content})  # fmt: skip
        assert r.status_code == 200 and 'data-testid="prompt-preview-user"' in r.text
        assert not _unsafe(r.text) and LLM_KEY not in r.text
        shown = re.search(r'prompt-preview-user">(.*?)</pre>', r.text, re.S)
        assert shown, r.text
        user_text = html.unescape(shown.group(1))
        # Live prices move between the two previews: the rest is the same text.
        assert _timeless(user_text).splitlines()[0] == _timeless(want["user"]).splitlines()[0]
        assert len(user_text.splitlines()) == len(want["user"].splitlines())
        assert f"{SCRIPT} {BREAKOUT}" in user_text  # shown as the text it is
        system = re.search(r'prompt-preview-system">(.*?)</pre>', r.text, re.S)
        assert system and html.unescape(system.group(1)) == want["system"]


async def test_program_validate_names_the_line_and_test_run_shows_the_decision(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        tid = (await st.create_trader(name="Dry"))["account_id"]
        csrf = await sign_in(http)
        head = {"X-CSRF-Token": csrf}
        r = await http.post("/programs/validate", headers=head, data={"code": BROKEN})
        assert r.status_code == 200
        assert re.search(r'data-testid="program-error" data-line="3"', r.text), r.text
        r = await http.post("/programs/validate", headers=head, data={"code": SAYS_BOTH})
        assert 'data-testid="program-valid"' in r.text
        want = (await st.api.post("/api/programs/test-run",
                                  json={"account_id": tid, "code": SAYS_BOTH})).json()  # fmt: skip
        r = await http.post("/programs/test-run", headers=head,
                            data={"account_id": str(tid), "code": SAYS_BOTH})  # fmt: skip
        assert r.status_code == 200 and not _unsafe(r.text), r.text
        shown = re.search(r'program-test-decision">(.*?)</pre>', r.text, re.S)
        assert shown and json.loads(html.unescape(shown.group(1))) == want["decision"]
        assert want["decision"]["reasoning"].startswith(SCRIPT)
        r = await http.post(
            "/programs", data={"name": BREAKOUT, "code": BROKEN, "csrf_token": csrf}
        )
        assert r.status_code == 422 and "INVALID_PROGRAM" in r.text and not _unsafe(r.text)
        assert (await st.api.get("/api/programs/")).json() == []  # nothing half-saved
        r = await http.post("/programs", data={"name": BREAKOUT, "code": SAYS_BOTH,
                                               "enabled": "on", "csrf_token": csrf})  # fmt: skip
        assert r.status_code == 303
        where = r.headers["location"]
        page = (await http.get(where)).text
        assert not _unsafe(page) and 'data-testid="program-editor"' in page
        assert (await st.api.get("/api/programs/")).json()[0]["code"] == SAYS_BOTH
        edit = {"name": "Edited", "code": BROKEN, "csrf_token": csrf}
        r = await http.post(where, data=edit)
        assert r.status_code == 422 and "INVALID_PROGRAM" in r.text
        assert (await st.api.get("/api/programs/")).json()[0]["code"] == SAYS_BOTH  # unchanged
        r = await http.post(where, data={**edit, "code": "# edited\r\n" + SAYS_BOTH})
        assert r.status_code == 303 and r.headers["location"] == where
        (saved,) = (await st.api.get("/api/programs/")).json()
        assert (saved["name"], saved["code"], saved["enabled"]) == (
            "Edited", "# edited\n" + SAYS_BOTH, False,  # the form's line ends, as LF
        )  # fmt: skip


async def test_deleting_a_program_in_use_is_refused_and_says_so_in_the_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """htmx swaps no 4xx answer: the Delete button's refusal comes to htmx as the page with its
    error, swapped in place; a plain post gets the 409."""
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        tid = (await st.create_trader(name="Bound"))["account_id"]
        prog = await st.create_program(SAYS_BOTH)
        await st.bind(tid, prog["id"])
        csrf = await sign_in(http)
        url = f"/programs/{prog['id']}/delete"
        r = await http.post(url, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
        assert r.status_code == 200 and r.headers["HX-Retarget"] == "main"
        assert "PROGRAM_IN_USE" in r.text and 'data-testid="editor-error"' in r.text
        r = await http.post(url, data={"csrf_token": csrf})
        assert r.status_code == 409 and "PROGRAM_IN_USE" in r.text
        assert (await st.api.get(f"/api/programs/{prog['id']}")).status_code == 200

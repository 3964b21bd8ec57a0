"""Every page answers with the strict CSP and the other security headers, carries no inline
script, event handler or style attribute (so the CSP needs no 'unsafe-inline'), and the session
cookie is HttpOnly and SameSite=Strict. Static files are cached for a year under a versioned
URL."""

from __future__ import annotations

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, parse, sign_in


async def test_pages_have_the_csp_and_no_inline_script(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        tid = (await st.create_trader(name="Headers", trading_enabled=True))["account_id"]
        async with browser(st) as http:
            login = await http.get("/login")
            await sign_in(http)
            pages = [login] + [
                await http.get(u) for u in ("/", "/system", "/traders/rows", f"/traders/{tid}/row",
                                            "/traders/424242/row")
            ]  # fmt: skip
            for r in pages:
                csp = r.headers["content-security-policy"]
                assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
                assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
                assert r.headers["x-content-type-options"] == "nosniff"
                assert r.headers["referrer-policy"] == "same-origin"
                html = parse(r.text)
                assert all(s["src"] and not (s["body"] or "").strip() for s in html.scripts), r.url
                assert html.handlers == [] and html.styles == [], (r.url, html.handlers)
                assert "hx-on" not in r.text
            home = pages[1].text
            assert '"allowEval": false' in home
            src = [s["src"] for s in parse(home).scripts]
            assert all(str(s).startswith(st.app.state.pages.static) for s in src), src
            js = await http.get(str(src[0]))
            assert js.status_code == 200 and "max-age=31536000" in js.headers["cache-control"]


async def test_the_session_cookie_is_httponly_and_strict(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        page = await http.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = await http.post(
            "/login",
            data={
                "email": "owner@example.com",
                "password": "owner-password-1",
                "csrf_token": token,
            },
        )
        cookie = next(
            c for c in r.headers.get_list("set-cookie") if c.startswith(settings.session_cookie)
        )
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
        home = (await http.get("/")).text
        session = http.cookies[settings.session_cookie]
        assert session not in home and "localStorage.setItem" not in home

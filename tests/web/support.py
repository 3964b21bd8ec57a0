"""Signing a plain HTTP client in through the web app's login form, and reading its pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.support.stack import DEFAULT_EMAIL, DEFAULT_PASSWORD, Stack

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def sign_in(
    http: httpx.AsyncClient, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD
) -> str:
    """Log in through the form; the page's CSRF token."""
    page = await http.get("/login")
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match, page.text
    r = await http.post(
        "/login", data={"email": email, "password": password, "csrf_token": match.group(1)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    home = await http.get("/")
    assert home.status_code == 200, home.text
    meta = CSRF_META.search(home.text)
    assert meta, home.text
    return meta.group(1)


def browser(st: Stack) -> httpx.AsyncClient:
    """A cookie-keeping client of the stack's in-process API, with no token of its own."""
    return st.anonymous()


class Scripts(HTMLParser):
    """Every <script> of a page: its src (None: inline) and whether it has a body."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []  # on* attributes (inline event handlers)
        self.styles: list[str] = []  # style="" attributes
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.handlers += [k for k in names if k.startswith("on") or k.startswith("hx-on")]
        self.styles += [k for k in names if k == "style"]
        if tag == "script":
            self.scripts.append({"src": names.get("src"), "body": ""})
            self._in_script = True
        if tag == "style":
            self.styles.append("<style>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self.scripts:
            self.scripts[-1]["body"] = (self.scripts[-1]["body"] or "") + data


def parse(html: str) -> Scripts:
    p = Scripts()
    p.feed(html)
    return p

"""/docs and /redoc work without internet: their pages reference only same-origin assets (Swagger
UI and ReDoc come from an installed package), and those assets are served. They used to load
from a CDN, so without internet /docs was blank."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings


class _Refs(HTMLParser):
    """Every URL a page makes the browser load: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href"):
                self.urls.append(value)


def _references(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    # The spec the page fetches from script (`url: '/openapi.json'`).
    parser.urls += re.findall(r"""url: ['"]([^'"]+)['"]""", html)
    return parser.urls


async def test_docs_pages_load_only_same_origin_assets(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st, st.anonymous() as http:
        for page, wanted in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc")):
            r = await http.get(page)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "cdn" not in r.text.lower()
            refs = _references(r.text)
            assert any(wanted in u for u in refs), refs
            for url in refs:
                assert url.startswith("/") and not url.startswith("//"), (page, url)
                asset = await http.get(url)
                assert asset.status_code == 200, (page, url, asset.status_code)
                assert len(asset.content) > 100, url
        docs = _references((await http.get("/docs")).text)
        js = await http.get(next(u for u in docs if u.endswith(".js")))
        assert "javascript" in js.headers["content-type"]

"""Abuse of the API gets clean answers: 413, 400, 422, 429 with Retry-After, never a 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from api.limits import TokenBuckets
from tests.support.stack import Stack, full_stack, make_settings

LIMIT = 4096


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, database_url, max_body_bytes=LIMIT)
    async with full_stack(None, settings, worker=False) as stack:
        yield stack


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["error"], body
    assert set(body) == {"error", "code", "request_id"}
    assert "Traceback" not in r.text


async def test_oversized_bodies_get_413(st: Stack) -> None:
    big = {"name": "x", "content": "a" * (LIMIT + 1)}
    assert_error(await st.post("/api/prompts/", big), 413, "PAYLOAD_TOO_LARGE")

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(8):  # no Content-Length: counted as it streams in
            yield b" " * 1024

    r = await st.api.post(
        "/api/prompts/", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    r = await st.api.post(
        "/api/signals/definitions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    ok = await st.post("/api/prompts/", {"name": "x", "content": "fits {symbols}"})
    assert ok.status_code == 201, ok.text


async def test_malformed_json_400_and_wrong_types_422(st: Stack) -> None:
    headers = {"content-type": "application/json"}
    for body in (b"{not json", b'{"name": "x",}', b"\xff\xfe", b""):
        r = await st.api.post("/api/account/", content=body, headers=headers)
        assert r.status_code in (400, 422), (body, r.text)
        if body:
            assert_error(r, 400, "INVALID_JSON")
    for body in ({"name": 5}, {"name": "x", "max_leverage": [1]}, [1, 2], "text", None):
        assert_error(await st.post("/api/account/", body), 422, "VALIDATION_ERROR")
    assert_error(
        await st.api.post("/api/signals/definitions", json=[1, 2]), 422, "VALIDATION_ERROR"
    )
    assert_error(
        await st.api.get("/api/account/1/decisions", params={"page": "x"}),
        422,
        "VALIDATION_ERROR",
    )


async def test_odd_requests_never_5xx(st: Stack) -> None:
    a = st.api
    huge = "9" * 30
    calls = [
        a.get(f"/api/account/{huge}"),
        a.get("/api/account/2147483648"),
        a.get("/api/account/-1"),
        a.get("/api/account/0/overview"),
        a.get(f"/api/programs/{huge}"),
        a.get(f"/api/prompts/{2**63}"),
        a.get(f"/api/signals/pools/{2**40}"),
        a.get(f"/api/account/1/decisions?page={huge}"),
        a.post("/api/account/", json={"name": "x", "initial_capital": huge * 10}),
        a.post("/api/account/", json={"name": "\u0000\ud7ff", "symbols": ["€"]}),
        a.post("/api/account/1/bindings", json={"program_id": 2**62}),
        a.post("/api/signals/pools", json={"name": "p", "symbols": ["BTC"], "signal_ids": [2**62]}),
        a.post("/api/programs/test-run", json={"account_id": 2**62, "code": "x"}),
        a.post("/api/account/", content=b"name=x", headers={"content-type": "text/plain"}),
        a.post("/api/account/", content=b"{}", headers={"content-length": "abc"}),
        a.request("TRACE", "/api/account/list"),
        a.get("/api/klines/data", params={"symbol": "BTC", "interval": "7q"}),
        a.get("/api/klines/data", params={"symbol": "BTC", "start": "9999-99-99"}),
        # Text PostgreSQL cannot store: NUL characters, lone surrogates.
        a.post("/api/prompts/", json={"name": "n\u0000ul", "content": "x"}),
        a.post(
            "/api/prompts/",
            content=b'{"name": "\\udafe", "content": "x"}',
            headers={"content-type": "application/json"},
        ),
        a.post("/api/users/login", json={"email": "a\u0000@x.io", "password": "whatever1"}),
        a.post("/api/signals/definitions", json={"name": "\u0000", "indicator": "price"}),
        a.get("/api/account/1/decisions/%00"),
        a.post("/api/account/1/orders/a%00b/cancel"),
    ]
    for call in calls:
        r = await call
        assert r.status_code < 500, (r.request.method, r.request.url, r.text)
        assert r.headers["content-type"].startswith("application/json"), r.text
        assert "Traceback" not in r.text


async def test_too_many_requests_429_with_retry_after(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    # A bucket that refills only once in ~17 minutes: the outcome cannot depend on speed.
    settings = make_settings(
        temporal_address, sqlite_url, rate_limit_per_second=0.001, rate_limit_burst=5
    )
    async with full_stack(None, settings, worker=False) as st:
        codes = [(await st.api.get("/api/account/list")).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3, codes
        r = await st.api.get("/api/account/list")
        assert_error(r, 429, "RATE_LIMITED")
        assert int(r.headers["retry-after"]) >= 1
        assert (await st.api.get("/api/health")).status_code == 200  # probes are exempt
        async with st.anonymous() as anon:
            # Another caller (no token: counted per IP, whose logins spent 2 of 5) is not
            # held back by the first one's bucket.
            assert (await anon.get("/api/account/list")).status_code == 401


def test_login_is_limited_per_ip_whatever_token_is_sent() -> None:
    from api.limits import VerifiedTokens, caller_key

    def scope(path: str, token: bytes) -> dict:  # type: ignore[type-arg]
        headers = [(b"authorization", b"Bearer " + token)]
        return {"type": "http", "path": path, "headers": headers, "client": ("10.0.0.9", 1)}

    verified = VerifiedTokens(ttl_s=300)
    verified.add("a", now=100.0)
    assert caller_key(scope("/api/users/login", b"a"), verified, 100.0) == "ip:10.0.0.9"
    assert caller_key(scope("/api/users/login", b"b"), verified, 100.0) == "ip:10.0.0.9"
    assert caller_key(scope("/api/account/list", b"a"), verified, 100.0).startswith("t:")


def test_only_a_recently_verified_token_has_a_bucket_of_its_own() -> None:
    """A token the API never accepted (junk, made up per request) shares its address's bucket;
    so does a verified one after the TTL without being accepted again, or after logout."""
    from api.limits import VerifiedTokens, caller_key

    def scope(token: bytes) -> dict:  # type: ignore[type-arg]
        headers = [(b"authorization", b"Bearer " + token)]
        return {"type": "http", "path": "/api/account/list", "headers": headers,
                "client": ("10.0.0.9", 1)}  # fmt: skip

    verified = VerifiedTokens(ttl_s=300)
    verified.add("good", now=100.0)
    assert caller_key(scope(b"junk-1"), verified, 100.0) == "ip:10.0.0.9"
    assert caller_key(scope(b"junk-2"), verified, 100.0) == "ip:10.0.0.9"
    assert caller_key(scope(b"good"), verified, 399.0).startswith("t:")
    assert caller_key(scope(b"good"), verified, 401.0) == "ip:10.0.0.9"
    verified.add("good", now=401.0)
    verified.discard("good")
    assert caller_key(scope(b"good"), verified, 402.0) == "ip:10.0.0.9"


async def test_junk_tokens_are_limited_per_address(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Before, every distinct junk token got a fresh bucket: unlimited 401s, each a database
    lookup. Now they share the address's bucket, and a valid token keeps its own."""
    settings = make_settings(
        temporal_address, sqlite_url, rate_limit_per_second=0.001, rate_limit_burst=5
    )
    async with full_stack(None, settings, worker=False) as st, st.anonymous() as anon:
        # register and login spent 2 of the address's 5
        codes = [
            (await anon.get("/api/account/list", headers={"Authorization": f"Bearer junk-{i}"}))
            for i in range(5)
        ]
        assert [r.status_code for r in codes] == [401, 401, 401, 429, 429], codes
        assert_error(codes[-1], 429, "RATE_LIMITED")
        assert (await anon.get("/api/account/list")).status_code == 429  # no token: same bucket
        assert (await st.api.get("/api/account/list")).status_code == 200  # its own bucket


def test_token_bucket_refills_at_its_rate() -> None:
    b = TokenBuckets(rate=2.0, burst=3)
    assert [b.take("k", 100.0) for _ in range(3)] == [0, 0, 0]
    assert b.take("k", 100.0) == pytest.approx(0.5)
    assert b.take("k", 100.5) == 0  # one token back after half a second
    assert b.take("other", 100.5) == 0

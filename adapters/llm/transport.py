"""The HTTP client the OpenAI SDK uses for a trader's LLM calls: every connection goes through
the egress rules (adapters.llm.egress), no environment proxy is used, and no response body is
read past MAX_RESPONSE_BYTES.

Why no proxy: through a proxy, the address connected to is the proxy's and the proxy resolves the
provider's name, so the rules could not be enforced on the address actually reached.

Why a byte cap here: the SDK reads a whole body before handing it over, so this is the only place
where reading can stop. The answer text is capped lower (domain.llm_output.MAX_ANSWER_CHARS, by
the client); this bound only keeps a runaway or hostile provider from filling the worker's memory.
Bodies are asked for uncompressed; a gzip or deflate one is decompressed here, under the same cap
(a compression bomb stops at the cap too), and any other encoding is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpcore2
import httpx2

from adapters.llm.egress import GuardedBackend, Resolver, system_resolver

# 64 KiB of answer text is at most ~400 KB of JSON even with every character escaped (\uXXXX);
# the rest is room for a provider's extra fields (e.g. a reasoning model's reasoning_content).
MAX_RESPONSE_BYTES = 2 * 1024 * 1024


class ResponseTooLarge(Exception):
    """The body passed the cap; `head` holds its first `limit` bytes (decoded)."""

    def __init__(self, status: int, head: bytes, limit: int) -> None:
        super().__init__(f"response body over {limit} bytes")
        self.status, self.head, self.limit = status, head, limit


class UnsupportedEncoding(Exception):
    """A Content-Encoding other than identity, gzip or deflate (not asked for)."""


class CappedBody(httpx2.AsyncByteStream):
    def __init__(
        self,
        stream: httpx2.AsyncByteStream,
        status: int,
        limit: int,
        decoder: zlib._Decompress | None,
    ) -> None:
        self.stream, self.status, self.limit, self.decoder = stream, status, limit, decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head: list[bytes] = []
        size = 0
        async for chunk in self.stream:
            # max_length: a compressed chunk never inflates past the cap in memory
            data = self.decoder.decompress(chunk, self.limit + 1 - size) if self.decoder else chunk
            size += len(data)
            if size > self.limit:
                head.append(data[: len(data) - (size - self.limit)])
                raise ResponseTooLarge(self.status, b"".join(head), self.limit)
            head.append(data)
            yield data

    async def aclose(self) -> None:
        await self.stream.aclose()


def _decoder(encoding: str) -> zlib._Decompress | None:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise UnsupportedEncoding(f"the provider sent a {encoding!r}-encoded body")


def capped(response: httpx2.Response, limit: int) -> httpx2.Response:
    decoder = _decoder(response.headers.get("content-encoding", "").strip().lower())
    headers = response.headers.raw
    if decoder is not None:  # decoded here: httpx2 must not decode it again
        headers = [
            (k, v) for k, v in headers if k.lower() not in (b"content-encoding", b"content-length")
        ]
    assert isinstance(response.stream, httpx2.AsyncByteStream)
    return httpx2.Response(
        status_code=response.status_code,
        headers=headers,
        stream=CappedBody(response.stream, response.status_code, limit, decoder),
        extensions=response.extensions,
    )


class GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(
        self,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__()
        self.max_response_bytes = max_response_bytes
        # Same pool httpx2 builds, plus the guarded network backend (httpx2 has no parameter for
        # it; `_pool` is what handle_async_request uses). A test fails if that ever changes.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(),  # SSL_CERT_FILE / SSL_CERT_DIR honoured
            network_backend=GuardedBackend(allow_private, resolver),
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["Accept-Encoding"] = "identity"
        response = await super().handle_async_request(request)
        try:
            return capped(response, self.max_response_bytes)
        except UnsupportedEncoding:
            await response.aclose()
            raise


def guarded_http_client(
    allow_private: bool, timeout_s: float, resolver: Resolver = system_resolver
) -> httpx2.AsyncClient:
    """A client for one LLM call. Redirects are followed, as the SDK's own client does: each hop
    is a new connection and is checked."""
    return httpx2.AsyncClient(
        transport=GuardedTransport(allow_private, resolver),
        timeout=timeout_s,
        follow_redirects=True,
        trust_env=False,
    )

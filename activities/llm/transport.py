"""The HTTP client the OpenAI SDK uses for a trader's LLM calls: every connection goes through
the egress rules (activities.llm.egress) and no environment proxy is used.

Why no proxy: through a proxy, the address connected to is the proxy's and the proxy resolves the
provider's name, so the rules could not be enforced on the address actually reached.
"""

from __future__ import annotations

import httpcore2
import httpx2

from activities.llm.egress import GuardedBackend, Resolver, system_resolver


class GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        super().__init__()
        # Same pool httpx2 builds, plus the guarded network backend (httpx2 has no parameter for
        # it; `_pool` is what handle_async_request uses). A test fails if that ever changes.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(),  # SSL_CERT_FILE / SSL_CERT_DIR honoured
            network_backend=GuardedBackend(allow_private, resolver),
        )


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

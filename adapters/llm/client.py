"""One chat completion through the official OpenAI SDK against any OpenAI-compatible endpoint.

`complete(cfg, system, user)` makes exactly one HTTP attempt: the SDK's own retries are off
(`max_retries=0`) so every retry is a Temporal activity retry, visible in workflow history and
bounded by the retry policy (each attempt costs money). Failures are `LLMError(code, retryable,
message)`; `LLMError.to_application_error()` turns one into a Temporal ApplicationError (type =
code, non_retryable = not retryable, next_retry_delay = the provider's Retry-After when given).

  code                 retryable  when
  LLM_RATE_LIMITED     yes        429 (retry_after_s from Retry-After / retry-after-ms)
  LLM_QUOTA            no         429 with code "insufficient_quota" (billing, not load)
  LLM_PROVIDER_ERROR   yes        5xx, 408, 409
  LLM_TIMEOUT          yes        no answer within cfg.timeout_s
  LLM_CONNECTION       yes        DNS / connect / TLS / reset
  LLM_BAD_RESPONSE     yes        2xx without a usable completion (no choices, invalid body)
  LLM_AUTH             no         401
  LLM_PERMISSION       no         403
  LLM_NOT_FOUND        no         404 (unknown model or wrong base URL)
  LLM_BAD_REQUEST      no         400, 422 and any other 4xx
  LLM_CONFIG           no         unusable base URL or client settings
  LLM_HOST_NOT_ALLOWED no         the base URL's host (or a redirect's) is refused by the egress
                                  rules (adapters.llm.egress): metadata, link-local, or a
                                  private/loopback address without HYPERORU_LLM_ALLOW_PRIVATE_HOSTS

Answer size: the text kept is at most MAX_ANSWER_CHARS (domain.llm_output); a longer answer is
cut there and `LLMResponse.oversize` says so (the caller records it as an invalid decision, never
a retry: a retry would pay for the same answer again, and a multi-megabyte answer would not fit
in a Temporal payload). No body is read past MAX_RESPONSE_BYTES (adapters.llm.transport); an
answer stopped there keeps the start of its text as far as it was read.

The API key never appears in an LLMError message or repr, in `LLMCallConfig`'s repr, or in log
lines written here: a provider's error text is kept only as a short excerpt (MAX_DETAIL_CHARS),
without control or invisible characters (removed first, so a key echoed with zero-width
characters inside is still recognised), scrubbed of the key and of masked key fragments
(`sk-...****abcd`); the 401 message carries no provider text at all, base URLs are shown as host
only, and the SDK exception is not chained (`__cause__` and `__context__` are None), since its
request object holds the Authorization header. A fresh SDK client (over the guarded transport of
adapters.llm.transport) is created and closed per call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from adapters.llm.egress import HostNotAllowed
from adapters.llm.offline import OFFLINE_HOST, offline_http_client
from adapters.llm.providers import ProviderConfigError, host_of, validate_base_url
from adapters.llm.transport import MAX_RESPONSE_BYTES, ResponseTooLarge, guarded_http_client
from domain.llm_output import MAX_ANSWER_CHARS

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

NO_KEY_PLACEHOLDER = "not-needed"  # sent when the endpoint needs no key (e.g. Ollama)
MAX_DETAIL_CHARS = 200
MAX_RETRY_AFTER_S = 3600.0
_DEADLINE_SLACK_S = 1.0


class LLMErrorCode(StrEnum):
    RATE_LIMITED = "LLM_RATE_LIMITED"
    QUOTA = "LLM_QUOTA"
    PROVIDER_ERROR = "LLM_PROVIDER_ERROR"
    TIMEOUT = "LLM_TIMEOUT"
    CONNECTION = "LLM_CONNECTION"
    BAD_RESPONSE = "LLM_BAD_RESPONSE"
    AUTH = "LLM_AUTH"
    PERMISSION = "LLM_PERMISSION"
    NOT_FOUND = "LLM_NOT_FOUND"
    BAD_REQUEST = "LLM_BAD_REQUEST"
    CONFIG = "LLM_CONFIG"
    HOST_NOT_ALLOWED = "LLM_HOST_NOT_ALLOWED"


@dataclass(frozen=True)
class LLMCallConfig:
    """Where and how to call. Holds the plaintext key: build it inside the activity, never pass it
    through workflow inputs or history. repr() omits the key."""

    base_url: str
    api_key: str = field(repr=False)
    model: str
    json_mode: bool = False
    timeout_s: float = 60.0
    max_tokens: int | None = None
    temperature: float | None = None
    # Loopback and private hosts (HYPERORU_LLM_ALLOW_PRIVATE_HOSTS); see adapters.llm.egress.
    allow_private_hosts: bool = False


class LLMResponse(BaseModel):
    text: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    finish_reason: str | None
    # Set when `text` is only the first MAX_ANSWER_CHARS of a larger answer: why, for the record.
    oversize: str | None = None


class LLMError(Exception):
    """A failed LLM call. `message` is user-facing and free of secrets."""

    def __init__(
        self,
        code: LLMErrorCode | str,
        retryable: bool,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.retryable = retryable
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return (
            f"LLMError(code={self.code!r}, retryable={self.retryable}, message={self.message!r}, "
            f"status={self.status}, retry_after_s={self.retry_after_s})"
        )

    def __reduce__(self) -> Any:
        return (
            _rebuild_error,
            (self.code, self.retryable, self.message, self.status, self.retry_after_s),
        )

    def to_application_error(self) -> ApplicationError:
        delay = (
            timedelta(seconds=self.retry_after_s)
            if self.retryable and self.retry_after_s is not None
            else None
        )
        return ApplicationError(
            self.message,
            {"status": self.status, "retry_after_s": self.retry_after_s},
            type=self.code,
            non_retryable=not self.retryable,
            next_retry_delay=delay,
        )


def _rebuild_error(
    code: str, retryable: bool, message: str, status: int | None, retry_after_s: float | None
) -> LLMError:
    return LLMError(code, retryable, message, status=status, retry_after_s=retry_after_s)


# ---------------------------------------------------------------- secrets


_TOKENISH = re.compile(r"[A-Za-z0-9_\-.*:/+=]{8,}")
_FRAGMENT = 8


def scrub(text: str, api_key: str) -> str:
    """`text` without the key, without any token sharing 8+ consecutive characters with it, and
    without masked-key tokens (containing '***')."""
    if api_key:
        text = text.replace(api_key, "[redacted]")
    fragments = (
        {api_key[i : i + _FRAGMENT] for i in range(len(api_key) - _FRAGMENT + 1)}
        if len(api_key) >= _FRAGMENT
        else set()
    )

    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if "***" in tok or any(f in tok for f in fragments):
            return "[redacted]"
        return tok

    return _TOKENISH.sub(repl, text)


def sanitize(text: str) -> str:
    """One line of visible text: control, format (zero-width, bidi) and unassigned characters
    removed, whitespace runs collapsed to one space."""
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch)[0] != "C":
            kept.append(ch)
    return " ".join("".join(kept).split())


def excerpt(text: str, api_key: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """A short, sanitised excerpt of untrusted text that may echo the key."""
    text = scrub(sanitize(text), api_key)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _provider_detail(exc: openai.APIStatusError, api_key: str) -> str:
    body = exc.body
    detail: Any = None
    if isinstance(body, dict):
        detail = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(detail, dict):
            detail = detail.get("message")
    elif isinstance(body, str):
        detail = body
    if not detail:
        return ""
    return excerpt(str(detail), api_key)


def _retry_after(headers: Any) -> float | None:
    value: float | None = None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            value = float(ms) / 1000.0
        else:
            raw = headers.get("retry-after")
            if raw is not None:
                try:
                    value = float(raw)
                except ValueError:
                    when = parsedate_to_datetime(raw)
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=UTC)
                    value = (when - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_RETRY_AFTER_S)


def _status_error(exc: openai.APIStatusError, cfg: LLMCallConfig, host: str) -> LLMError:
    status = exc.status_code
    detail = _provider_detail(exc, cfg.api_key)
    suffix = f": {detail}" if detail else ""
    if status == 429:
        code = exc.code or (exc.body.get("code") if isinstance(exc.body, dict) else None)
        if code == "insufficient_quota":
            return LLMError(
                LLMErrorCode.QUOTA,
                False,
                f"the provider reports the account's quota is exhausted (429){suffix}",
                status=status,
            )
        retry_after = _retry_after(exc.response.headers)
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return LLMError(
            LLMErrorCode.RATE_LIMITED,
            True,
            f"the provider rate-limited the request (429){wait}{suffix}",
            status=status,
            retry_after_s=retry_after,
        )
    if status == 401:
        return LLMError(
            LLMErrorCode.AUTH, False, "the provider rejected the API key (401)", status=status
        )
    if status == 403:
        return LLMError(
            LLMErrorCode.PERMISSION,
            False,
            f"the provider refused access with this API key (403){suffix}",
            status=status,
        )
    if status == 404:
        return LLMError(
            LLMErrorCode.NOT_FOUND,
            False,
            f"the provider at {host} has no model {cfg.model!r} or the base URL is wrong "
            f"(404){suffix}",
            status=status,
        )
    if status >= 500 or status in (408, 409):
        return LLMError(
            LLMErrorCode.PROVIDER_ERROR,
            True,
            f"the provider at {host} failed ({status}){suffix}",
            status=status,
        )
    return LLMError(
        LLMErrorCode.BAD_REQUEST,
        False,
        f"the provider rejected the request ({status}){suffix}",
        status=status,
    )


# ---------------------------------------------------------------- the call


def _request_kwargs(cfg: LLMCallConfig, system: str, user: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": cfg.model,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ],
    }
    if cfg.json_mode:
        kwargs["response_format"] = {"type": "json_object"}
    if cfg.max_tokens is not None:
        kwargs["max_tokens"] = cfg.max_tokens
    if cfg.temperature is not None:
        kwargs["temperature"] = cfg.temperature
    return kwargs


def _response(completion: Any, cfg: LLMCallConfig, latency_ms: int) -> LLMResponse | LLMError:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        return LLMError(
            LLMErrorCode.BAD_RESPONSE, True, "the provider returned no completion choices"
        )
    choice = choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    usage = getattr(completion, "usage", None)
    text = content if isinstance(content, str) else ""
    oversize = None
    if len(text) > MAX_ANSWER_CHARS:
        oversize = (
            f"the answer is {len(text):,} characters, over the limit of {MAX_ANSWER_CHARS:,}; "
            f"only its first {MAX_ANSWER_CHARS:,} are kept"
        )
        text = text[:MAX_ANSWER_CHARS]
    return LLMResponse(
        text=text,
        oversize=oversize,
        model=str(getattr(completion, "model", None) or cfg.model),
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        latency_ms=latency_ms,
        finish_reason=getattr(choice, "finish_reason", None),
    )


_CONTENT_START = re.compile(r'"content"\s*:\s*"')
_STRING = json.JSONDecoder(strict=False)


def _partial_answer(head: bytes) -> str:
    """The answer text in the first bytes of a completion body cut short: the `content` string
    as far as it goes (a cut escape at the end dropped), or the raw start if there is none."""
    text = head.decode("utf-8", "replace")
    found = _CONTENT_START.search(text)
    if found is None:
        return text[:MAX_ANSWER_CHARS]
    rest = text[found.end() : found.end() + 6 * MAX_ANSWER_CHARS]  # \uXXXX: 6 chars each
    for cut in range(12):  # a \uXXXX\uXXXX pair cut anywhere, or a lone trailing backslash
        try:
            value = _STRING.decode('"' + rest[: len(rest) - cut] + '"')
        except ValueError:
            continue
        return str(value)[:MAX_ANSWER_CHARS]
    return ""


def _too_large(
    err: ResponseTooLarge, cfg: LLMCallConfig, host: str, started: float
) -> LLMResponse | LLMError:
    """A body past MAX_RESPONSE_BYTES: an oversize answer, or an error status."""
    if err.status >= 400:
        retryable = err.status >= 500 or err.status in (408, 409, 429)
        return LLMError(
            LLMErrorCode.PROVIDER_ERROR if retryable else LLMErrorCode.BAD_REQUEST,
            retryable,
            f"the provider at {host} failed ({err.status}) with a body over "
            f"{MAX_RESPONSE_BYTES:,} bytes",
            status=err.status,
        )
    text = _partial_answer(err.head)
    return LLMResponse(
        text=text,
        model=cfg.model,
        prompt_tokens=None,
        completion_tokens=None,
        latency_ms=int((time.monotonic() - started) * 1000),
        finish_reason=None,
        oversize=(
            f"the provider's response is over {MAX_RESPONSE_BYTES:,} bytes; reading stopped "
            f"there and the first {len(text):,} characters of its answer are kept"
        ),
    )


async def complete(cfg: LLMCallConfig, system: str, user: str) -> LLMResponse:
    """One chat completion; raises LLMError (never an SDK exception)."""
    # Imported here: the SDK is ~50 MB of resident memory a worker without LLM traders never needs.
    import openai

    config_problem: str | None = None
    try:
        base_url = validate_base_url(cfg.base_url)
    except ProviderConfigError as exc:
        config_problem = str(exc)
    if config_problem is not None:
        raise LLMError(LLMErrorCode.CONFIG, False, config_problem)
    if not (cfg.timeout_s > 0 and math.isfinite(cfg.timeout_s)):
        raise LLMError(LLMErrorCode.CONFIG, False, "timeout_s must be a positive number")
    if not all("!" <= ch <= "~" for ch in cfg.api_key):
        # A key saved before the API refused these: the header could not be sent (it used to
        # surface as a connection error, retried for 30 s).
        raise LLMError(
            LLMErrorCode.CONFIG,
            False,
            "the LLM API key contains a space, line break, control or non-ASCII character, "
            "which an HTTP header cannot carry; set llm_api_key again",
        )
    host = host_of(base_url)

    result: LLMResponse | LLMError
    started = time.monotonic()
    try:
        client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=cfg.api_key or NO_KEY_PLACEHOLDER,
            timeout=cfg.timeout_s,
            max_retries=0,
            # the offline stand-in answers in process (its .invalid host never resolves)
            http_client=offline_http_client(cfg.timeout_s)
            if host == OFFLINE_HOST
            else guarded_http_client(cfg.allow_private_hosts, cfg.timeout_s),
        )
    except openai.OpenAIError:
        result = LLMError(LLMErrorCode.CONFIG, False, "the LLM client could not be configured")
    else:
        # the SDK fills these from OPENAI_ORG_ID / OPENAI_PROJECT_ID; never send the operator's
        # values to a trader-chosen endpoint
        client.organization = None
        client.project = None
        try:
            async with asyncio.timeout(cfg.timeout_s + _DEADLINE_SLACK_S):
                completion = await client.chat.completions.create(
                    **_request_kwargs(cfg, system, user)
                )
            result = _response(completion, cfg, int((time.monotonic() - started) * 1000))
        except (openai.APITimeoutError, TimeoutError):
            result = LLMError(
                LLMErrorCode.TIMEOUT,
                True,
                f"the provider at {host} did not answer within {cfg.timeout_s:g}s",
            )
        except openai.APIConnectionError:
            result = LLMError(
                LLMErrorCode.CONNECTION, True, f"could not connect to the provider at {host}"
            )
        except openai.APIStatusError as exc:
            result = _status_error(exc, cfg, host)
        except HostNotAllowed as exc:
            result = LLMError(LLMErrorCode.HOST_NOT_ALLOWED, False, f"{exc}; nothing was sent")
        except ResponseTooLarge as exc:
            result = _too_large(exc, cfg, host, started)
        except Exception as exc:  # noqa: BLE001 - SDK validation/decoding errors of a 2xx body
            # (e.g. JSONDecodeError on a non-JSON body); the text is not used, only the type
            result = LLMError(
                LLMErrorCode.BAD_RESPONSE,
                True,
                f"the provider at {host} returned an unusable response ({type(exc).__name__})",
            )
        finally:
            await client.close()
    # raised here, outside the except blocks, so the SDK exception (whose request carries the
    # Authorization header) is neither __cause__ nor __context__
    if isinstance(result, LLMError):
        log.info("LLM call to %s model %s failed: %s", host, cfg.model, result.code)
        raise result
    log.debug(
        "LLM call to %s model %s: %d ms, %s/%s tokens",
        host,
        cfg.model,
        result.latency_ms,
        result.prompt_tokens,
        result.completion_tokens,
    )
    return result

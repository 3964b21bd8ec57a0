"""Hints, the opaque Secret holder and the log-masking filter."""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle

import pytest

from vault import Secret, SecretMaskingFilter, hint

VALUE = "0xdeadbeefcafebabe0123456789"


def test_hint() -> None:
    assert hint(VALUE) == "\u2026" + VALUE[-4:]
    assert hint("abcdefghijkl") == "\u2026ijkl"
    assert hint("abcdefghijk") == "set"
    assert hint("x") == "set"


def test_secret_never_shows_value() -> None:
    s = Secret(VALUE)
    rendered = [repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", format(s, "x")]
    rendered.append("%s" % s)  # noqa: UP031 - %-formatting is what logging uses
    rendered.append(repr([s, {"k": s}]))
    for text in rendered:
        assert VALUE not in text
        assert VALUE[-4:] not in text
    assert s.reveal() == VALUE
    assert s.get_secret_value() == VALUE
    assert s.hint == hint(VALUE)
    assert Secret(s).reveal() == VALUE


def test_secret_equality_and_truthiness() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "x")
    assert Secret(VALUE) != VALUE
    assert not Secret("")
    with pytest.raises(TypeError):
        hash(Secret(VALUE))
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


def test_secret_cannot_be_serialised() -> None:
    s = Secret(VALUE)
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"key": s})
    assert copy.copy(s) is s
    assert copy.deepcopy({"k": s})["k"] is s


def test_secret_rejected_by_temporal_payload_converter() -> None:
    converter = pytest.importorskip("temporalio.contrib.pydantic").pydantic_data_converter
    with pytest.raises(Exception) as err:  # noqa: B017 - any refusal will do
        converter.payload_converter.to_payloads([Secret(VALUE)])
    assert VALUE not in str(err.value)


def _logger_with_filter(f: SecretMaskingFilter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.addFilter(f)
    logger = logging.getLogger(f"test.vault.redact.{id(f)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_log_filter_masks_registered_values() -> None:
    f = SecretMaskingFilter()
    other = "sk-ant-api03-XXXXXXXXXXXXXXXXXXXX"
    assert f.register(VALUE)
    assert f.register(Secret(other))
    logger, stream = _logger_with_filter(f)

    logger.info("plain %s and %r", VALUE, {"k": other})
    logger.warning(f"f-string {VALUE}")
    logger.getChild("child").propagate = True
    logger.getChild("child").error("child says %s", VALUE)  # propagates to the handler
    try:
        raise RuntimeError(f"boom with {VALUE}")
    except RuntimeError:
        logger.exception("failed using %s", other)
    logger.info("stack", stack_info=True, extra={"x": 1})
    out = stream.getvalue()
    assert VALUE not in out and other not in out
    assert out.count("[REDACTED]") >= 5
    assert "boom with [REDACTED]" in out
    assert "child says [REDACTED]" in out

    f.unregister(VALUE)
    logger.info("now %s", VALUE)
    assert stream.getvalue().endswith(f"now {VALUE}\n")


def test_log_filter_masks_longest_first_and_refcounts() -> None:
    short, long = "abcdefgh12", "abcdefgh12345678"
    f = SecretMaskingFilter([short, long])
    assert f.mask(f"x{long}y{short}z") == "x[REDACTED]y[REDACTED]z"
    f.register(short)
    f.unregister(short)
    assert f.mask(short) == "[REDACTED]"
    f.unregister(short)
    assert f.mask(short) == short
    f.unregister("never-registered")


def test_log_filter_ignores_tiny_values_and_handles_regex_chars() -> None:
    f = SecretMaskingFilter()
    assert f.register("abc") is False
    assert f.mask("abc abc") == "abc abc"
    tricky = "a.b*c+d?(e)[f]|g\\h"
    assert f.register(tricky)
    assert f.mask(f"<{tricky}> aXbbc") == "<[REDACTED]> aXbbc"
    assert tricky not in repr(f)


def test_log_filter_tolerates_bad_format_args() -> None:
    f = SecretMaskingFilter([VALUE])
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "%d", ("x",), None)
    assert f.filter(record) is True


def test_query_redactor_keeps_uvicorn_access_arguments_usable() -> None:
    """uvicorn's access formatter unpacks a 5-tuple of arguments (status code an int): the
    redactor rewrites the path inside it, and exception text too, and nothing else."""
    from uvicorn.logging import AccessFormatter

    from vault.redact import QueryStringRedactor

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    handler.addFilter(QueryStringRedactor())
    logger = logging.getLogger("test.vault.redact.access")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    path = "/api/account/list?page=2&session_token=tok-SECRET-1&Api_Key=k-SECRET-2"
    logger.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5", "GET", path, "1.1", 401)
    try:
        raise ValueError("failed calling https://x.example/v1?signature=sig-SECRET-3")
    except ValueError:
        logger.exception("call to %s failed", "https://x.example/?access_token=t-SECRET-4")
    text = stream.getvalue()
    assert "GET /api/account/list?page=2&session_token=[redacted]&Api_Key=[redacted]" in text
    assert "401" in text and "SECRET" not in text, text

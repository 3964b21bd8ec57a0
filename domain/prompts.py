"""Prompt templates: `{variable}` placeholders filled with live market context (pure).

Template syntax (a deliberately tiny subset of Python's format syntax, implemented by a scanner
here -- `str.format` is never called on user text, so `{0.__class__}`-style attribute traversal
cannot happen):

- `{name}` inserts the value of a known variable (`KNOWN_VARIABLES`); `name` is letters, digits
  and underscores, starting with a letter or underscore, with no spaces inside the braces;
- `{{` is a literal `{` and `}}` a literal `}` (so a JSON example can be written
  `{{"operation": "hold"}}`);
- anything else in braces (`{0.__class__}`, `{foo!r}`, `{ x }`) is an error for
  `validate_template` and is left as literal text by `render`;
- a `{` that is never closed, or a single `}`, is an "unbalanced" error (with its position).

`render` is a single pass: inserted values are never scanned again, so market data or signal
metadata containing `{account_balance}` stays literal text.

Size: every variable's text is at most MAX_VARIABLE_CHARS and a rendered template at most
MAX_PROMPT_CHARS (the prompt is stored on every decision and paid for on every call).
`size_problem` refuses, when a template is saved, one whose rendering could exceed the cap (its
literal text plus MAX_VARIABLE_CHARS per placeholder: an upper bound, whatever the data);
`render(..., max_chars=)` stops with PromptTooLarge as soon as the output passes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

KNOWN_VARIABLES: tuple[str, ...] = (
    "market_prices",
    "kline_data",
    "technical_indicators",
    "open_positions",
    "recent_trades",
    "trigger_context",
    "market_regime",
    "sampling_data",
    "account_balance",
    "symbols",
)

VARIABLE_DESCRIPTIONS: dict[str, str] = {
    "market_prices": "current price of every watched symbol, with 1h and 24h change",
    "kline_data": "recent candles per symbol (1h and 15m): time, open, high, low, close, volume",
    "technical_indicators": "RSI14, EMA20/EMA50, MACD(12,26,9), Bollinger Bands(20,2), ATR14 on 1h",
    "open_positions": "open positions with side, size, entry/mark price, unrealized PnL, leverage",
    "recent_trades": "the account's most recent fills",
    "trigger_context": "what triggered this decision (signal or schedule metadata), as JSON",
    "market_regime": "regime per symbol on 1h candles: trending, ranging, volatile or calm",
    "sampling_data": "rolling window of recent 1-minute closes per symbol",
    "account_balance": "account equity, available margin and cash in USD",
    "symbols": "the symbols this trader may trade",
}

MAX_ERRORS = 20
MAX_VARIABLE_CHARS = 4000
MAX_PROMPT_CHARS = 200_000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KNOWN = frozenset(KNOWN_VARIABLES)


@dataclass(frozen=True)
class Token:
    """One piece of a scanned template.

    kind "text": `value` is literal text (escapes already undone);
    kind "var": `value` is a variable name (known or not);
    kind "bad": `value` is the raw text of an invalid or unbalanced brace construct, and
    `problem` says which: "unclosed" `{`, "stray_close" `}`, or "invalid" placeholder.
    `pos` is the 0-based index of the token's first character in the template.
    """

    kind: Literal["text", "var", "bad"]
    value: str
    pos: int
    problem: Literal["", "unclosed", "stray_close", "invalid"] = ""


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"position {pos} (line {line}, column {col})"


def scan(text: str) -> list[Token]:
    """Split a template into text, variable and bad tokens. Linear time; never raises."""
    tokens: list[Token] = []
    buf: list[str] = []
    buf_start = 0
    i, n = 0, len(text)
    next_open = next_close = -2  # cached positions of the next "{" / "}" after i (-1: none)

    def flush() -> None:
        if buf:
            tokens.append(Token("text", "".join(buf), buf_start))
            buf.clear()

    def literal(ch: str, width: int) -> None:
        nonlocal buf_start, i
        if not buf:
            buf_start = i
        buf.append(ch)
        i += width

    while i < n:
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            literal("{", 2)
        elif ch == "}" and text.startswith("}}", i):
            literal("}", 2)
        elif ch == "{":
            if next_close != -1 and next_close <= i:
                next_close = text.find("}", i + 1)
            if next_open != -1 and next_open <= i:
                next_open = text.find("{", i + 1)
            flush()
            if next_close == -1 or (next_open != -1 and next_open < next_close):
                tokens.append(Token("bad", "{", i, "unclosed"))
                i += 1
                continue
            inner = text[i + 1 : next_close]
            if _NAME.fullmatch(inner):
                tokens.append(Token("var", inner, i))
            else:
                tokens.append(Token("bad", text[i : next_close + 1], i, "invalid"))
            i = next_close + 1
        elif ch == "}":
            flush()
            tokens.append(Token("bad", "}", i, "stray_close"))
            i += 1
        else:
            literal(ch, 1)
    flush()
    return tokens


def parse_template(text: str) -> list[str]:
    """Variables used by the template (known or not), in first-use order, without duplicates."""
    seen: list[str] = []
    for tok in scan(text):
        if tok.kind == "var" and tok.value not in seen:
            seen.append(tok.value)
    return seen


def _problem_text(text: str, tok: Token) -> str:
    where = _where(text, tok.pos)
    if tok.problem == "unclosed":
        return f"unbalanced '{{' at {where}: it is never closed (write {{{{ for a literal brace)"
    if tok.problem == "stray_close":
        return f"unbalanced '}}' at {where} (write }}}} for a literal brace)"
    inner = tok.value[1:-1]
    shown = inner if len(inner) <= 40 else inner[:37] + "..."
    return (
        f"invalid placeholder {{{shown}}} at {where}: variable names are letters, digits and "
        "underscores (write {{ and }} for literal braces)"
    )


def validate_template(text: str) -> list[str]:
    """Human-readable problems, in template order; an empty list means the template is valid.

    Each unknown variable is reported once; after MAX_ERRORS problems the rest are summarised."""
    errors: list[str] = []
    known = ", ".join("{" + v + "}" for v in KNOWN_VARIABLES)
    reported: set[str] = set()
    extra = 0
    for tok in scan(text):
        if tok.kind == "bad" or (tok.kind == "var" and tok.value not in _KNOWN):
            if tok.kind == "var":
                if tok.value in reported:
                    continue
                reported.add(tok.value)
            if len(errors) >= MAX_ERRORS:
                extra += 1
            elif tok.kind == "bad":
                errors.append(_problem_text(text, tok))
            else:
                errors.append(f"unknown variable {{{tok.value}}}; known: {known}")
    if extra:
        errors.append(f"... and {extra} more problems")
    return errors


class PromptTooLarge(ValueError):
    """A rendered template over its cap (message is user-facing)."""


def max_rendered_chars(text: str) -> int:
    """The most characters `text` can render to: its literal text, plus MAX_VARIABLE_CHARS for
    each known variable it uses (unknown ones render as themselves)."""
    total = 0
    for tok in scan(text):
        if tok.kind == "var" and tok.value in _KNOWN:
            total += MAX_VARIABLE_CHARS
        elif tok.kind == "var":
            total += len(tok.value) + 2
        else:
            total += len(tok.value)
    return total


def size_problem(text: str, limit: int = MAX_PROMPT_CHARS) -> str | None:
    """Why a template could render too large (for a 422 when it is saved), or None."""
    most = max_rendered_chars(text)
    if most <= limit:
        return None
    placeholders = sum(1 for t in scan(text) if t.kind == "var" and t.value in _KNOWN)
    return (
        f"the template could render up to {most:,} characters ({placeholders:,} placeholders of "
        f"up to {MAX_VARIABLE_CHARS:,} characters each, plus its text); the limit is "
        f"{limit:,} characters"
    )


def render(text: str, values: dict[str, str], max_chars: int | None = None) -> str:
    """Fill known variables from `values`; everything else is literal text after unescaping.

    Unknown variables, invalid placeholders and unbalanced braces are kept verbatim (validate the
    template first to reject them). A known variable used by the template but absent from
    `values` raises KeyError (a programming error: the context builder provides all of them).
    With `max_chars`, PromptTooLarge is raised as soon as the output would pass it (nothing
    larger is ever built).
    """
    out: list[str] = []
    size = 0
    for tok in scan(text):
        if tok.kind == "var" and tok.value in _KNOWN:
            if tok.value not in values:
                raise KeyError(f"no value for template variable {{{tok.value}}}")
            piece = str(values[tok.value])
        elif tok.kind == "var":
            piece = "{" + tok.value + "}"
        else:
            piece = tok.value
        size += len(piece)
        if max_chars is not None and size > max_chars:
            raise PromptTooLarge(
                f"the rendered prompt is over the limit of {max_chars:,} characters "
                f"(the template is {len(text):,} characters); shorten the template"
            )
        out.append(piece)
    return "".join(out)


_DOUBLED_KNOWN = re.compile(r"(?<!\{)\{\{(" + "|".join(KNOWN_VARIABLES) + r")\}\}(?!\})")


def template_warnings(text: str) -> list[str]:
    """Likely mistakes that are still valid syntax: `{{market_prices}}` (double braces, as in some
    API examples) renders the literal text `{market_prices}`, not the data."""
    return [
        f"{{{{{m.group(1)}}}}} at {_where(text, m.start())} is the literal text "
        f"'{{{m.group(1)}}}' (double braces escape); write {{{m.group(1)}}} to insert the data"
        for m in _DOUBLED_KNOWN.finditer(text)
    ]

"""Prompt templates: parsing, validation and rendering (domain.prompts)."""

from __future__ import annotations

import json
import time

import pytest

from domain.prompts import (
    KNOWN_VARIABLES,
    MAX_PROMPT_CHARS,
    MAX_VARIABLE_CHARS,
    VARIABLE_DESCRIPTIONS,
    PromptTooLarge,
    max_rendered_chars,
    parse_template,
    render,
    scan,
    size_problem,
    template_warnings,
    validate_template,
)

VALUES = {name: f"<{name}>" for name in KNOWN_VARIABLES}

DOCS_EXAMPLE = (
    "You are a cryptocurrency trader. ... Current prices:\n{market_prices}\n\n"
    "Recent market snapshots:\n{sampling_data}\n\nOpen positions:\n{open_positions}\n\n"
    "Market regime: {market_regime}\n\nRespond with a JSON object containing: operation "
    "(long/short/hold), symbol, leverage, take_profit_pct, stop_loss_pct, and reasoning."
)


def test_known_variables_are_the_documented_set() -> None:
    assert set(KNOWN_VARIABLES) == {
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
    }
    assert set(VARIABLE_DESCRIPTIONS) == set(KNOWN_VARIABLES)


def test_parse_lists_variables_in_first_use_order_without_duplicates() -> None:
    text = "{symbols} and {market_prices} then {symbols} {{kline_data}} {nope}"
    assert parse_template(text) == ["symbols", "market_prices", "nope"]


def test_docs_example_is_valid_and_renders() -> None:
    assert validate_template(DOCS_EXAMPLE) == []
    out = render(DOCS_EXAMPLE, VALUES)
    assert "<market_prices>" in out and "<market_regime>" in out
    assert "{" not in out


def test_every_known_variable_is_valid() -> None:
    text = " ".join("{" + v + "}" for v in KNOWN_VARIABLES)
    assert validate_template(text) == []
    assert render(text, VALUES) == " ".join(f"<{v}>" for v in KNOWN_VARIABLES)


def test_unknown_variable_error_lists_known() -> None:
    errors = validate_template("Prices {market_prices}, news {news_context}, {news_context}")
    assert len(errors) == 1  # reported once
    assert errors[0].startswith("unknown variable {news_context}; known: {market_prices}, ")
    assert "{symbols}" in errors[0]


def test_unbalanced_open_brace_reports_position() -> None:
    errors = validate_template("line one\nabc {market_prices")
    assert errors == [
        "unbalanced '{' at position 13 (line 2, column 5): it is never closed "
        "(write {{ for a literal brace)"
    ]


def test_unbalanced_close_brace_reports_position() -> None:
    errors = validate_template("ok {symbols} } end")
    assert len(errors) == 1
    assert errors[0].startswith("unbalanced '}' at position 13 (line 1, column 14)")


def test_open_brace_followed_by_another_open_is_unbalanced() -> None:
    errors = validate_template("{market_prices {symbols}")
    assert len(errors) == 1 and errors[0].startswith("unbalanced '{' at position 0")
    assert render("{market_prices {symbols}", VALUES) == "{market_prices <symbols>"


def test_literal_braces_allow_a_json_example() -> None:
    text = 'Answer like {{"operation": "hold", "symbol": null}} using {symbols}.'
    assert validate_template(text) == []
    assert parse_template(text) == ["symbols"]
    out = render(text, VALUES)
    assert out == 'Answer like {"operation": "hold", "symbol": null} using <symbols>.'
    json.loads(out[len("Answer like ") : out.index(" using")])


def test_triple_braces_are_literal_around_a_variable() -> None:
    assert render("{{{symbols}}}", VALUES) == "{<symbols>}"
    assert render("}}{{", VALUES) == "}{"


def test_single_brace_json_is_an_error_with_a_hint() -> None:
    errors = validate_template('Reply {"operation": "hold"}')
    assert len(errors) == 1
    assert errors[0].startswith('invalid placeholder {"operation": "hold"} at position 6')
    assert "{{ and }}" in errors[0]


@pytest.mark.parametrize(
    "attack",
    [
        "{0.__class__}",
        "{market_prices.__class__}",
        "{market_prices.__class__.__mro__}",
        "{market_prices[0]}",
        "{market_prices!r}",
        "{market_prices:>100000}",
        "{0}",
        "{}",
        "{ symbols }",
        "{__import__('os')}",
    ],
)
def test_format_string_tricks_are_invalid_and_stay_literal(attack: str) -> None:
    text = "before " + attack + " after {{symbols}}"
    errors = validate_template(text)
    assert len(errors) == 1 and errors[0].startswith("invalid placeholder ")
    assert render(text, VALUES) == "before " + attack + " after {symbols}"


def test_str_format_is_never_used_on_user_text() -> None:
    # a value object whose formatting would be visible if str.format touched it
    class Loud:
        def __format__(self, spec: str) -> str:
            raise AssertionError("str.format was used")

        def __str__(self) -> str:
            return "loud"

    assert render("{symbols}", {"symbols": Loud()}) == "loud"  # type: ignore[dict-item]


def test_inserted_values_are_not_rescanned() -> None:
    values = {**VALUES, "trigger_context": '{"note": "{account_balance} {0.__class__}"}'}
    out = render("T: {trigger_context}", values)
    assert out == 'T: {"note": "{account_balance} {0.__class__}"}'


def test_render_keeps_unknown_variables_literal_and_requires_known_values() -> None:
    assert render("{foo} {symbols}", {"symbols": "BTC"}) == "{foo} BTC"
    with pytest.raises(KeyError, match="market_prices"):
        render("{market_prices}", {"symbols": "BTC"})


def test_text_without_braces_round_trips() -> None:
    text = "Plain prompt with unicode € and newlines\n\nend"
    assert render(text, VALUES) == text
    assert validate_template(text) == [] and parse_template(text) == []


def test_scan_positions() -> None:
    toks = scan("ab{symbols}{{c")
    assert [(t.kind, t.value, t.pos) for t in toks] == [
        ("text", "ab", 0),
        ("var", "symbols", 2),
        ("text", "{c", 11),
    ]


def test_double_braced_known_variable_is_warned_about() -> None:
    warnings = template_warnings("Prices: {{market_prices}} and {{{symbols}}} and {{foo}}")
    assert len(warnings) == 1
    assert warnings[0].startswith("{{market_prices}} at position 8")
    assert validate_template("{{market_prices}}") == []


def _cpu_seconds(n: int) -> float:
    """The least CPU time (of three) to validate and render n-sized pathological templates."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for text in ("{" * 2 * n, "}" * (2 * n + 1), "{a" * n, "{{" * n + "{"):
            validate_template(text)
            render(text, VALUES)
        best = min(best, time.process_time() - start)
    return best


def test_pathological_input_is_linear() -> None:
    """Four times the input costs about four times the CPU (a quadratic scan: sixteen). A ratio
    of CPU times, not a wall-clock bound: it holds on a loaded machine."""
    small, large = _cpu_seconds(25_000), _cpu_seconds(100_000)
    assert large < 8 * max(small, 1e-3), (small, large)
    errors = validate_template("x}" * 1000)
    assert len(errors) == 21 and errors[-1] == "... and 980 more problems"


# ---------------------------------------------------------------- size cap


def test_a_template_that_could_render_past_the_cap_is_refused_saying_the_limit() -> None:
    """8,000 x {kline_data} rendered 23 MB, stored on every decision and sent every time."""
    problem = size_problem("{kline_data}" * 8000)
    assert problem and f"{MAX_PROMPT_CHARS:,}" in problem and "8,000 placeholders" in problem


def test_the_bound_is_text_plus_the_largest_each_variable_can_be() -> None:
    fits = MAX_PROMPT_CHARS // MAX_VARIABLE_CHARS
    text = "{market_prices}" * fits
    assert max_rendered_chars(text) == MAX_PROMPT_CHARS and size_problem(text) is None
    assert size_problem(text + "x")  # one more character of text is over
    assert max_rendered_chars("a{{b}} {symbols}") == len("a{b} ") + MAX_VARIABLE_CHARS


def test_render_stops_at_the_cap_without_building_the_whole_prompt() -> None:
    big = {name: "x" * MAX_VARIABLE_CHARS for name in KNOWN_VARIABLES}
    text = "{kline_data}" * 8000
    start = time.perf_counter()
    with pytest.raises(PromptTooLarge, match="200,000 characters"):
        render(text, big, max_chars=MAX_PROMPT_CHARS)
    assert time.perf_counter() - start < 0.5
    assert len(render("{symbols}" * 50, big, max_chars=MAX_PROMPT_CHARS)) == MAX_PROMPT_CHARS

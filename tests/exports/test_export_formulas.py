"""A CSV export opens in a spreadsheet: text a spreadsheet would run as a formula (a model's
reasoning, a program's log line) must open as the text it is (OWASP "CSV injection"), while
money and negative numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from api.exports import ExportKind, csv_stream


async def _rows(*pages: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    for page in pages:
        yield page


async def _cells(value: object) -> str:
    chunks = [c async for c in csv_stream(ExportKind.DECISIONS, _rows([{"reasoning": value}]))]
    return list(csv.reader(io.StringIO(b"".join(chunks).decode())))[1][0]


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\r=1"]
)
async def test_text_a_spreadsheet_would_run_opens_as_text(text: str) -> None:
    assert await _cells(text) == "'" + text


@pytest.mark.parametrize("number", ["-12.5", "+3", "-0.00000001", "1e-7"])
async def test_numbers_stay_numbers(number: str) -> None:
    assert await _cells(number) == number


async def test_the_json_text_of_a_list_is_left_as_it_is() -> None:
    assert await _cells(["=1"]) == '["=1"]'  # a list's JSON starts with "[": nothing to guard

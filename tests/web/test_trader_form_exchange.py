"""Exchange keys through the trader form: checked with the venue (the Binance emulator over real
HTTP) by the same function as PUT /api/account/{id}/exchange, then shown only as "set, ending
abcd"; keys the venue refuses leave the trader unconnected, the error at the keys, and no key
in the page."""

from __future__ import annotations

import re
import secrets

from temporalio.client import Client

from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


def _form(csrf: str, url: str, key: str, secret: str) -> dict[str, str]:
    return {"csrf_token": csrf, "name": "Venue", "account_type": "program",
            "exchange": "binance", "symbols": "BTC", "environment": "mainnet",
            "base_url": url, "api_key": key, "api_secret": secret}  # fmt: skip


async def test_binance_keys_are_checked_then_shown_only_as_a_hint(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    emu = BinanceEmulator()
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    emu.add_account(key, secret, "10000")
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        csrf = await sign_in(http)
        with serving(emu.app) as server:
            refused = await http.post("/traders/new", data=_form(csrf, server.url, key, "wrong"))
            r = await http.post("/traders/new", data=_form(csrf, server.url, key, secret))
        assert refused.status_code == 422, refused.text
        assert 'data-testid="error-exchange_keys"' in refused.text
        assert "The trader was created" in refused.text  # and said so: fix the keys on its form
        assert "wrong" not in re.sub(r"(?s)<p class=\"field-error\".*?</p>", "", refused.text)
        assert key not in refused.text
        assert r.status_code == 303, r.text
        tid = int(r.headers["location"].split("/")[2])
        rest = (await st.api.get(f"/api/account/{tid}")).json()
        assert rest["exchange_connected"] is True and rest["exchange_environment"] == "mainnet"
        edit = (await http.get(f"/traders/{tid}/edit")).text
        assert key not in edit and secret not in edit and key[:-4] not in edit
        assert f'data-testid="exchange-key-hint">set, ending {key[-4:]}<' in edit
        assert 'data-testid="exchange-connected"' in edit

"""Decision payloads in Temporal are encrypted when a payload key is configured."""

from __future__ import annotations

import json

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.worker import Replayer

from runtime.payload_codec import ENCODING, EncryptionCodec, PayloadDecryptionError, with_codec
from runtime.temporal import DATA_CONVERTER
from tests.support.stack import full_stack, make_settings
from vault import MasterKey
from workflows.trader import TraderWorkflow

PLANTED = "PLANTED-REASONING-5c1e9a"
PROGRAM = f"""
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning="{PLANTED}")
"""


async def test_round_trip_rotation_and_tampering() -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    plain = [Payload(metadata={"encoding": b"json/plain"}, data=b'{"reasoning": "x"}')]
    sealed = await EncryptionCodec([old]).encode(plain)
    assert sealed[0].metadata["encoding"] == ENCODING and b"reasoning" not in sealed[0].data
    assert await EncryptionCodec([new, old]).decode(sealed) == plain  # rotation: old still opens
    assert await EncryptionCodec([new]).decode(plain) == plain  # unencrypted passes through
    with pytest.raises(PayloadDecryptionError, match="not configured"):
        await EncryptionCodec([new]).decode(sealed)
    tampered = Payload()
    tampered.CopyFrom(sealed[0])
    tampered.data = sealed[0].data[:-1] + bytes([sealed[0].data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="does not verify"):
        await EncryptionCodec([old]).decode([tampered])


async def test_history_holds_only_ciphertext(temporal_client: Client, sqlite_url: str) -> None:
    key = MasterKey.generate().to_text()
    settings = make_settings(
        temporal_client.service_client.config.target_host, sqlite_url, payload_encryption_key=key
    )
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(PROGRAM))["id"])
        r = await st.post(f"/api/account/{tid}/trigger", json={"context": {"note": PLANTED}})
        assert r.status_code == 200, r.text
        assert r.json()["decision"]["reasoning"] == PLANTED  # the stack itself reads it
        handle = st.client.get_workflow_handle(f"trader-{tid}")
        history = await handle.fetch_history()
    raw = json.dumps(history.to_json_dict())
    assert PLANTED not in raw and "hold" not in raw  # what the server stores
    assert "YmluYXJ5L2VuY3J5cHRlZA" in raw  # base64 of b"binary/encrypted"
    # The history replays with the key, and cannot be read without it.
    codec_converter = with_codec(DATA_CONVERTER, key)
    await Replayer(workflows=[TraderWorkflow], data_converter=codec_converter).replay_workflow(
        history
    )
    with pytest.raises(Exception):  # noqa: B017 - any decode failure will do
        await Replayer(workflows=[TraderWorkflow], data_converter=DATA_CONVERTER).replay_workflow(
            history, raise_on_replay_failure=True
        )

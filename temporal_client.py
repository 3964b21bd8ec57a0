"""How every process connects to Temporal: same address, namespace and data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from payload_codec import with_codec
from settings import Settings


async def connect(settings: Settings) -> Client:
    # Why the pydantic converter: workflow and activity models carry Decimal money, which the
    # default JSON converter cannot round-trip exactly.
    key = settings.payload_encryption_key
    return await Client.connect(
        settings.resolved_temporal_address,
        namespace=settings.temporal_namespace,
        # Why a codec (when configured): decision content in history is encrypted at rest.
        data_converter=with_codec(pydantic_data_converter, key.get_secret_value() if key else None),
    )


def trader_workflow_id(account_id: int) -> str:
    return f"trader-{account_id}"

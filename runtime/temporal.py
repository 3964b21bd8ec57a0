"""How every process connects to Temporal (same address, namespace and data converter), and
how a worker signals trader workflows (a signal pool's fire)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

import temporalio.api.common.v1
from pydantic import TypeAdapter
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from domain.ids import trader_workflow_id
from domain.trader import SignalFired
from runtime.payload_codec import with_codec

log = logging.getLogger("hyperoru.signals")

# One cache of pydantic TypeAdapters per process. temporalio's PydanticPayloadConverter keeps one
# per converter, and every workflow instance makes its own converter: each trader rebuilt the
# validators of every model it decoded (CPU on its first decisions, memory for as long as it
# stays cached). TypeAdapters are immutable, so sharing them changes nothing else.
_adapter = functools.lru_cache(maxsize=1024)(TypeAdapter)


class _SharedAdapterJSON(PydanticJSONPlainPayloadConverter):
    def __init__(self) -> None:
        super().__init__(max_cached_type_adapters=0)

    def from_payload(
        self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None
    ) -> Any:
        hint = type_hint if type_hint is not None else Any
        try:
            adapter: TypeAdapter[Any] = _adapter(hint)
        except TypeError:  # an unhashable hint: not cached
            adapter = TypeAdapter(hint)
        return adapter.validate_json(payload.data)


class PayloadConverter(CompositePayloadConverter):
    """temporalio's pydantic payload converter (same encodings, same bytes), shared adapters."""

    def __init__(self) -> None:
        json = _SharedAdapterJSON()
        super().__init__(
            *(
                json if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


# Why a pydantic converter: workflow and activity models carry Decimal money, which the default
# JSON converter cannot round-trip exactly.
DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)


async def connect(settings: Settings) -> Client:
    key = settings.payload_encryption_key
    return await Client.connect(
        settings.resolved_temporal_address,
        namespace=settings.temporal_namespace,
        # Why a codec (when configured): decision content in history is encrypted at rest.
        data_converter=with_codec(DATA_CONVERTER, key.get_secret_value() if key else None),
    )


async def deliver_fire(
    client: Client,
    account_ids: list[int],
    fired: SignalFired,
    batch_size: int,
    after_batch: Callable[[int], None],
) -> list[int]:
    """Signal `fired` to each trader's workflow, `batch_size` at a time, calling
    `after_batch(last id of the batch)` after each batch. A trader whose workflow is not running
    is skipped; any other RPC error is raised (Temporal unavailable: the caller retries, and
    traders dedupe by fire id). Returns the traders reached, in the order they answered."""
    delivered: list[int] = []

    async def send(account_id: int) -> None:
        try:
            await client.get_workflow_handle(trader_workflow_id(account_id)).signal(
                "signal_fired", fired
            )
            delivered.append(account_id)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            log.warning("fire %s: trader %s is not running", fired.fire_id, account_id)

    for i in range(0, len(account_ids), batch_size):
        batch = account_ids[i : i + batch_size]
        await asyncio.gather(*(send(a) for a in batch))
        after_batch(batch[-1])
    return delivered

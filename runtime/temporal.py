"""How every process connects to Temporal: same address, namespace and data converter."""

from __future__ import annotations

import functools
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

from config.settings import Settings
from runtime.payload_codec import with_codec

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

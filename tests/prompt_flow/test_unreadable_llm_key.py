"""A stored LLM key the worker cannot open fails the prompt step for good, with nothing recorded.

Retrying cannot help (the key was sealed under a master key this worker does not hold), so the
activity raises a non-retryable LLM_CONFIG error naming the cause and never the key; the prompt
text is not recorded either (the read and that write are one transaction) and the model is never
called. Runs the registered activity on a real migrated database, without Temporal.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.prompts import PromptActivities
from config.settings import async_url
from db.models import Account, Binding, DecisionRecord, PromptTemplate
from db.session import make_engine, make_sessionmaker
from domain.contracts import RunPromptInput
from vault import LocalKeyWrapper, MasterKey, seal

KEY = "sk-unreadable-0123456789"


async def test_a_key_sealed_under_another_master_key_is_a_final_config_error(
    sqlite_url: str,
) -> None:
    engine = make_engine(async_url(sqlite_url))
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as s, s.begin():
            acct = Account(
                name="t", account_type="prompt", initial_capital=Decimal(1000),
                max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                max_concurrent_positions=3, symbols=["BTC"], llm_provider="openai",
                llm_model="gpt-4o-mini", llm_base_url="http://127.0.0.1:9/v1",
            )  # fmt: skip
            prompt = PromptTemplate(name="p", content="Decide on {symbols}.")
            s.add_all([acct, prompt])
            await s.flush()
            other_master = LocalKeyWrapper(MasterKey.generate())
            acct.llm_api_key_sealed = seal(other_master, KEY, acct.id, "llm_api_key").to_json()
            binding = Binding(account_id=acct.id, prompt_id=prompt.id)
            s.add(binding)
            await s.flush()
            s.add(
                DecisionRecord(
                    id="dec-1-1", account_id=acct.id, binding_id=binding.id, seq=1,
                    trigger_type="manual", input_snapshot={"symbols": ["BTC"]},
                )
            )  # fmt: skip
            binding_id = binding.id
        acts = PromptActivities(sessions, LocalKeyWrapper(MasterKey.generate()), timeout_s=5)

        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                acts.run_prompt, RunPromptInput(decision_id="dec-1-1", binding_id=binding_id)
            )

        err = caught.value
        assert err.type == "LLM_CONFIG" and err.non_retryable
        assert "the stored LLM key cannot be read" in err.message and KEY not in err.message
        async with sessions() as s:
            row = (
                await s.execute(select(DecisionRecord).where(DecisionRecord.id == "dec-1-1"))
            ).scalar_one()
            assert row.llm_exchange is None and row.strategy_output is None
    finally:
        await engine.dispose()

"""The backtest loop's mutable state: checkpointed as JSON (an activity resumes from it after a
worker is killed), and saved and put back around a step so that a step is all or nothing."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from domain.paper import PaperAccount, account_from_dict, account_to_dict
from strategies.backtest.report import OpenTrade
from strategies.backtest.steps import Counters

CHECKPOINT_VERSION = 1


class RunState:
    steps_done: int
    account: PaperAccount
    pending: list[tuple[dict[str, Any], int]]  # (order intent JSON, its decision's index)
    open_trades: dict[str, OpenTrade]
    trades: list[dict[str, Any]]
    equity: list[list[Any]]  # [close ms, equity, equity low]
    decisions: list[dict[str, Any]]
    counters: Counters
    funded_until: int  # funding settled up to this time
    last_marks: dict[str, Decimal]
    ended: bool  # the end-of-backtest closes are done

    def start_state(self, balance: Decimal, funded_until: int) -> None:
        self.steps_done = 0
        self.account = PaperAccount(cash=balance)
        self.pending = []
        self.open_trades = {}
        self.trades = []
        self.equity = []
        self.decisions = []
        self.counters = Counters()
        self.funded_until = funded_until
        self.last_marks = {}
        self.ended = False

    def checkpoint(self) -> dict[str, Any]:
        """The whole state as JSON values (Decimals as strings)."""
        return {
            "version": CHECKPOINT_VERSION,
            "steps_done": self.steps_done,
            "account": account_to_dict(self.account),
            "pending": [[intent, i] for intent, i in self.pending],
            "open_trades": {s: t.to_json() for s, t in sorted(self.open_trades.items())},
            "trades": self.trades,
            "equity": self.equity,
            "decisions": self.decisions,
            "counters": self.counters.to_json(),
            "funded_until": self.funded_until,
            "last_marks": {s: str(p) for s, p in sorted(self.last_marks.items())},
            "ended": self.ended,
        }

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if checkpoint.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"unknown checkpoint version {checkpoint.get('version')!r}")
        self.steps_done = int(checkpoint["steps_done"])
        self.account = account_from_dict(checkpoint["account"])
        self.pending = [(dict(intent), int(i)) for intent, i in checkpoint["pending"]]
        self.open_trades = {s: OpenTrade.from_json(t) for s, t in checkpoint["open_trades"].items()}
        self.trades = [dict(t) for t in checkpoint["trades"]]
        self.equity = [list(p) for p in checkpoint["equity"]]
        self.decisions = [dict(d) for d in checkpoint["decisions"]]
        self.counters = Counters.from_json(checkpoint["counters"])
        self.funded_until = int(checkpoint["funded_until"])
        self.last_marks = {s: Decimal(p) for s, p in checkpoint["last_marks"].items()}
        self.ended = bool(checkpoint["ended"])

    def save(self) -> tuple[Any, ...]:
        """What a step may change, cheaply: the lists only grow during a step (their lengths
        do), and only the decisions whose orders are pending are updated in place."""
        pending_records = {i: dict(self.decisions[i]) for _, i in self.pending}
        return (
            self.account,
            list(self.pending),
            {s: copy.copy(t) for s, t in self.open_trades.items()},
            len(self.trades),
            len(self.equity),
            len(self.decisions),
            pending_records,
            self.counters.copy(),
            self.funded_until,
            dict(self.last_marks),
            self.ended,
        )

    def rollback(self, saved: tuple[Any, ...]) -> None:
        (self.account, self.pending, self.open_trades, n_trades, n_equity, n_decisions,
         pending_records, self.counters, self.funded_until, self.last_marks,
         self.ended) = saved  # fmt: skip
        del self.trades[n_trades:], self.equity[n_equity:], self.decisions[n_decisions:]
        for i, record in pending_records.items():
            self.decisions[i] = record

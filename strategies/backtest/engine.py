"""The backtest loop (backtesting.md section 8.4): stored bars walked through the live pipeline.

Per decision bar k (open o_k, close c_k), in this order:
1. funding settled at o_k (the rates with last settled < f <= o_k), before any fill then;
2. the orders the decision at c_{k-1} queued fill at o_k at open x (1 +/- slippage), through
   `domain.paper.execute_market_order` (the live paper fill: margin check, TP/SL from the fill);
3. the TP/SL/liquidation triggers over the bar (`domain.paper_bars`): on the bar's OHLC with
   ambiguous bars re-scanned on stored 1m candles (`intrabar` auto), or walked minute by minute
   when the bar's 1m candles are all stored (`intrabar` 1m); funding settled inside the bar is
   charged after the scan at bar resolution (only on surviving positions), at its minute on 1m;
4. mark to market at c_k: an equity point and the bar's equity low;
5. the decision at c_k through the live functions (`domain.risk.evaluate`, `domain.orders
   .intents_for`); its orders wait for o_{k+1}. The last bar's decision is recorded, never filled.
At the end, positions still open close at the last close with slippage and the taker fee (exit
reason `end_of_backtest`), and the last equity point is the equity after those closes.

A step is all or nothing: an exception (a cancellation included) inside a step puts the state
back as it was before it, so `report()` and `checkpoint()` always see whole steps.
"""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

from adapters.exchanges.paper import PaperExchange, paper_order
from adapters.market.snapshot import snapshot_dict
from domain.decision import Operation
from domain.money import plain
from domain.orders import OrderIntent, intents_for
from domain.paper import (
    PaperAccount,
    PaperFill,
    PaperOrder,
    PaperPosition,
    account_from_dict,
    account_to_dict,
    execute_market_order,
)
from domain.paper_bars import Bar, BarFill, charge_funding, check_triggers_bar, equity_low
from domain.risk import RiskCheckInput, evaluate
from strategies.backtest.contract import (
    BacktestConfig,
    BacktestReport,
    Decide,
    Progress,
    StepInput,
    StepOutcome,
)
from strategies.backtest.history import M1, MarketHistory, first_close, last_close
from strategies.backtest.report import OpenTrade, build_report, close_trade
from strategies.backtest.steps import Counters, decision_record

PROGRESS_STEPS = 250
PROGRESS_SECONDS = 1.0
TRIGGER = {"type": "backtest"}
CHECKPOINT_VERSION = 1


def _bar(c: Any) -> Bar:
    return Bar(c.open, c.high, c.low, c.close, c.open_time_ms)


class BacktestEngine:
    def __init__(self, config: BacktestConfig, history: MarketHistory) -> None:
        self.config = config
        self.history = history
        self.step_ms = config.interval.ms
        self.c0 = first_close(config)
        self.total_steps = (last_close(config) - self.c0) // self.step_ms + 1
        self.steps_done = 0
        self.account = PaperAccount(cash=config.initial_balance)
        self.pending: list[tuple[dict[str, Any], int]] = []  # (intent JSON, decision index)
        self.open_trades: dict[str, OpenTrade] = {}
        self.trades: list[dict[str, Any]] = []
        self.equity: list[list[Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.counters = Counters()
        self.funded_until = self.c0 - self.step_ms
        self.last_marks: dict[str, Decimal] = {}
        self.ended = False

    # --- checkpoints -----------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """The whole state as JSON values: `restore` continues exactly where this stopped."""
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

    @classmethod
    def restore(
        cls, config: BacktestConfig, history: MarketHistory, checkpoint: dict[str, Any]
    ) -> BacktestEngine:
        if checkpoint.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"unknown checkpoint version {checkpoint.get('version')!r}")
        engine = cls(config, history)
        engine.steps_done = int(checkpoint["steps_done"])
        engine.account = account_from_dict(checkpoint["account"])
        engine.pending = [(dict(intent), int(i)) for intent, i in checkpoint["pending"]]
        engine.open_trades = {
            s: OpenTrade.from_json(t) for s, t in checkpoint["open_trades"].items()
        }
        engine.trades = [dict(t) for t in checkpoint["trades"]]
        engine.equity = [list(p) for p in checkpoint["equity"]]
        engine.decisions = [dict(d) for d in checkpoint["decisions"]]
        engine.counters = Counters.from_json(checkpoint["counters"])
        engine.funded_until = int(checkpoint["funded_until"])
        engine.last_marks = {s: Decimal(p) for s, p in checkpoint["last_marks"].items()}
        engine.ended = bool(checkpoint["ended"])
        return engine

    def _save(self) -> tuple[Any, ...]:
        pending_records = {i: dict(self.decisions[i]) for _, i in self.pending}
        return (
            self.account,
            list(self.pending),
            {s: replace(t) for s, t in self.open_trades.items()},
            len(self.trades),
            len(self.equity),
            len(self.decisions),
            pending_records,
            self.counters.copy(),
            self.funded_until,
            dict(self.last_marks),
            self.ended,
        )

    def _rollback(self, saved: tuple[Any, ...]) -> None:
        (self.account, self.pending, self.open_trades, n_trades, n_equity, n_decisions,
         pending_records, self.counters, self.funded_until, self.last_marks,
         self.ended) = saved  # fmt: skip
        del self.trades[n_trades:], self.equity[n_equity:], self.decisions[n_decisions:]
        for i, record in pending_records.items():
            self.decisions[i] = record

    # --- the loop --------------------------------------------------------------------------

    async def run(
        self, decide: Decide, until_step: int | None = None, progress: Progress | None = None
    ) -> None:
        """Run steps until `until_step` (default: all), then the end-of-backtest closes once
        every step is done. `progress` is awaited every 250 steps and at least every second."""
        stop = self.total_steps if until_step is None else min(until_step, self.total_steps)
        last_report = time.monotonic()
        while self.steps_done < stop:
            saved = self._save()
            try:
                await self._step(self.steps_done, decide)
            except BaseException:
                self._rollback(saved)
                raise
            self.steps_done += 1
            now = time.monotonic()
            due = self.steps_done % PROGRESS_STEPS == 0 or now - last_report >= PROGRESS_SECONDS
            if progress is not None and due:
                last_report = now
                await progress(self.steps_done, self.total_steps, self._equity_now())
        if self.steps_done == self.total_steps and not self.ended:
            self._end()
        if progress is not None:
            await progress(self.steps_done, self.total_steps, self._equity_now())

    def report(self) -> BacktestReport:
        return build_report(self)

    def _equity_now(self) -> Decimal:
        return self.account.equity(self.last_marks)

    async def _step(self, k: int, decide: Decide) -> None:
        o = self.c0 - self.step_ms + k * self.step_ms
        c = o + self.step_ms
        if o in self.history.gaps:  # allow_gaps: no data, no decision, no fills
            self.counters.data_gaps += 1
            return
        bars = {s: _bar(self.history.bar(s, o)) for s in self.history.symbols}
        self._settle_funding(o)
        self._fill_pending(o, bars)
        self._triggers(o, c, bars)
        self._settle_funding(c - 1)
        marks = {s: self.history.price(s, c) or bars[s].close for s in self.history.symbols}
        self.last_marks = marks
        eq = self.account.equity(marks)
        low = min(eq, equity_low(self.account, bars))
        self.equity.append([c, str(eq), str(low)])
        await self._decide(k, c, marks, decide, last=k == self.total_steps - 1)

    def _settle_funding(self, until: int) -> None:
        """Charge the settlements with funded_until < f <= until, in time order."""
        if not self.config.funding or until <= self.funded_until:
            return
        due = sorted(
            (f, s, rate)
            for s in self.history.symbols
            for f, rate in self.history.funding_between(s, self.funded_until, until)
        )
        for f, symbol, rate in due:
            if symbol not in self.account.positions:
                continue
            mark = self.history.mark_at(symbol, f)
            if mark is None:
                self.counters.funding_unmarked += 1
                continue
            self.account, charge = charge_funding(self.account, symbol, rate, mark, f)
            if charge is not None:
                self.open_trades[symbol].funding += charge.amount
        self.funded_until = until

    def _fill_pending(self, o: int, bars: dict[str, Bar]) -> None:
        opens = {s: b.open for s, b in bars.items()}
        for intent_json, index in self.pending:
            intent = OrderIntent.model_validate(intent_json)
            record = self.decisions[index]
            mark = opens[intent.symbol]
            before = self.account.positions.get(intent.symbol)
            order = paper_order(intent)
            res = execute_market_order(
                self.account, order, mark, self.config.paper, marks=opens, at_ms=o
            )
            if res.fill is None:
                self.counters.rejected += 1
                record.update(status="rejected", code=str(res.reject_reason))
                continue
            self.account = res.account
            record.update(status="filled", fill_price=plain(res.fill.price), filled_at_ms=o)
            self._on_fill(intent.symbol, before, res.fill, mark, "decision", o, record["at_ms"])
        self.pending = []

    def _triggers(self, o: int, c: int, bars: dict[str, Bar]) -> None:
        if not self.account.positions:
            return
        held = sorted(self.account.positions)
        minutes: dict[str, list[Bar]] = {}
        if self.config.intrabar != "bar" and self.config.interval != M1:
            minutes = {s: [_bar(m) for m in self.history.minutes(s, o, c)] for s in held}
        full = self.step_ms // M1.ms
        if (
            self.config.intrabar == "1m"
            and minutes
            and all(len(m) == full for m in minutes.values())
        ):
            for j in range(full):
                at = o + j * M1.ms
                self._settle_funding(at)
                before = dict(self.account.positions)
                self.account, fired = check_triggers_bar(
                    self.account, {s: minutes[s][j] for s in held}, self.config.paper
                )
                self._on_triggers(before, fired, at)
            return
        before = dict(self.account.positions)
        self.account, fired = check_triggers_bar(self.account, bars, self.config.paper, minutes)
        self._on_triggers(before, fired, o)

    def _on_triggers(self, before: dict[str, PaperPosition], fired: list[BarFill], at: int) -> None:
        for bf in fired:
            symbol = bf.fill.symbol
            self._on_fill(symbol, before[symbol], bf.fill, bf.reference, bf.reason, at, None,
                          ambiguous=bf.ambiguous)  # fmt: skip

    def _on_fill(
        self,
        symbol: str,
        before: PaperPosition | None,
        fill: PaperFill,
        reference: Decimal,
        reason: str,
        at_ms: int,
        decision_at: int | None,
        ambiguous: bool = False,
    ) -> None:
        """Book a fill on its round trip: open, add, or close (the trade object)."""
        slip = abs(fill.price - reference) * fill.size
        self.counters.slippage += slip
        after = self.account.positions.get(symbol)
        trade = self.open_trades.get(symbol)
        if before is None or trade is None:
            assert after is not None
            self.open_trades[symbol] = OpenTrade(
                symbol, after.side.value, at_ms, decision_at, after.leverage, fill.size,
                fill.fee, Decimal(0), slip, Decimal(0),
            )  # fmt: skip
            return
        trade.fees += fill.fee
        trade.slippage += slip
        if after is not None and after.size > before.size:  # an add to the position
            trade.size += fill.size
            trade.leverage = after.leverage
            return
        trade.gross += fill.realized_pnl
        if after is None:
            del self.open_trades[symbol]
            self.trades.append(
                close_trade(len(self.trades) + 1, trade, before, fill, reason, at_ms, ambiguous)
            )
            if ambiguous:
                self.counters.ambiguous_exits += 1

    async def _decide(
        self, k: int, c: int, marks: dict[str, Decimal], decide: Decide, last: bool
    ) -> None:
        view = PaperExchange._view(self.account, marks)
        symbols = self.history.symbols
        extra: dict[str, Any] = {}
        if self.config.funding:
            seen = {s: self.history.funding_seen(s, c) for s in symbols}
            extra["funding"] = {s: str(r[-1]) for s, r in seen.items() if r}
            extra["funding_history"] = {s: [str(x) for x in r] for s, r in seen.items() if r}
        account = snapshot_dict(symbols, c, marks, {}, view, dict(TRIGGER))
        del account["klines"]
        account.update(extra)
        built: list[dict[str, Any]] = []

        def snapshot() -> dict[str, Any]:
            if not built:
                klines = {
                    s: {iv.value: self.history.klines_at(s, iv, c) for iv in self.history.intervals}
                    for s in symbols
                }
                snap = snapshot_dict(symbols, c, marks, klines, view, dict(TRIGGER))
                built.append({**snap, **extra})
            return built[0]

        outcome: StepOutcome = await decide(StepInput(k, c, account, snapshot))
        self.counters.total += 1
        decision = outcome.decision
        if decision is None:
            self.counters.failed += 1
            self.decisions.append(decision_record(k, c, outcome, "failed", outcome.error_code))
            return
        op = decision.operation
        self.counters.count(op.value)
        if op is Operation.HOLD:
            return
        verdict = evaluate(
            RiskCheckInput(
                decision=decision,
                limits=self.config.limits,
                symbols=symbols,
                positions=view.positions,
                prices=marks,
                available_usd=view.available_usd,
            )
        )
        if not verdict.approved:
            code = str(verdict.code)
            self.counters.deny(code)
            self.decisions.append(decision_record(k, c, outcome, "denied", code, verdict.message))
            return
        status = "not_filled" if last else "pending"  # the last decision never fills
        self.decisions.append(decision_record(k, c, outcome, status, None))
        if last:
            return
        for intent in intents_for(decision, 0, f"backtest-{k}", k + 1, view.positions):
            self.pending.append((intent.model_dump(mode="json"), len(self.decisions) - 1))

    def _end(self) -> None:
        """Close what is still open at the last close (slippage, taker fee) and make the last
        equity point the equity after those closes."""
        ck = self.c0 + (self.total_steps - 1) * self.step_ms
        for symbol in sorted(self.account.positions):
            pos = self.account.positions[symbol]
            bar = self.history.bar(symbol, ck - self.step_ms)
            mark = bar.close if bar is not None else self.last_marks[symbol]
            order = PaperOrder(
                f"end-{symbol}", symbol, pos.side.exit_side, reduce_only=True, leverage=pos.leverage
            )
            res = execute_market_order(self.account, order, mark, self.config.paper, at_ms=ck)
            assert res.fill is not None  # closing a held position is never refused
            self.account = res.account
            self._on_fill(symbol, pos, res.fill, mark, "end_of_backtest", ck, None)
        if self.equity:
            final = self.account.cash
            self.equity[-1][1] = str(final)
            self.equity[-1][2] = str(min(final, Decimal(self.equity[-1][2])))
        self.ended = True

"""`OrderManager`: one venue's order path, built so that no order is ever lost or sent twice.

Risk check, journal, rate limit, sign, send, track, reconcile:

    async with OrderManager.open(adapter, rest, journal_path="orders.journal") as om:
        order = await om.place("BTCUSDT", Side.BUY, Decimal("0.01"), Decimal("43000"))
        await om.amend(order.client_order_id, price=Decimal("42990"))
        await om.cancel(order.client_order_id)

The rules it keeps:

* Every intent (new order, cancel, amend) is journaled *before* its request leaves; every state
  change and every fill is journaled when it is applied. A restart replays the journal and
  resumes exactly, then reconciles with the venue.
* A request whose outcome is unknown (timeout, dropped connection, 5xx after sending, a duplicate
  client id after a resend) makes the order UNKNOWN; it is resolved by querying the venue by
  client order id — never by a blind resend. A request the venue certainly did not act on
  (rate-limited, clock skew, a retryable refusal) is resent with the *same* client order id,
  which the venue refuses as a duplicate if an earlier attempt landed after all.
* Reconciliation (at start, after every private-stream reconnect, and for every UNKNOWN order)
  queries open orders, unresolved orders by client id and recent fills, and settles each order;
  orders found at the venue that the journal does not know are adopted and reported.
* Single writer: everything runs on the event loop that owns the manager; other threads submit
  with `submit_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from venuegate.errors import (
    BannedError,
    ClockSkewError,
    ConfigError,
    DuplicateOrderError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    VenueError,
    VenuegateError,
    VenueUnavailableError,
)
from venuegate.model import Order, OrderState, OrderType, Side, TimeInForce
from venuegate.net.backoff import Backoff
from venuegate.oms.journal import (
    AmendIntentRecord,
    CancelIntentRecord,
    IntentRecord,
    MarkerRecord,
    OrderJournal,
    Record,
    ReportRecord,
    StateRecord,
)
from venuegate.oms.state import FillInfo, OrderStateMachine, TrackedOrder, Transition
from venuegate.oms.stream import PrivateStreamSession
from venuegate.oms.types import Alarm, ReportKind, VenueReport
from venuegate.risk.deadman import DeadManSwitch, EngineCancelOnDisconnect
from venuegate.venues.base import Amend, AmendMode, HttpCall, HttpResponse, VenueAdapter

__all__ = ["EngineStats", "OrderManager", "RecoveryReport"]

log = logging.getLogger("venuegate.oms")

T = TypeVar("T")


class _Rest:
    """What the manager needs of `venuegate.net.rest.RestClient`."""

    async def call(self, call: HttpCall) -> HttpResponse:  # pragma: no cover - protocol
        raise NotImplementedError

    async def __call__(self, call: HttpCall) -> HttpResponse:  # pragma: no cover - protocol
        raise NotImplementedError


@dataclass(slots=True)
class RecoveryReport:
    """What a journal replay found."""

    records: int = 0
    orders: int = 0
    open_orders: int = 0
    unknown: int = 0
    torn_bytes: int = 0


@dataclass(slots=True)
class EngineStats:
    """Counters for summaries and tests."""

    placed: int = 0
    resent_same_id: int = 0
    unknown: int = 0
    resolved: int = 0
    rejected: int = 0
    adopted: int = 0
    reconciles: int = 0
    fills_fetched: int = 0
    alarms: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, err: BaseException) -> None:
        """Counts an error by class name."""
        name = type(err).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


_JITTER = random.Random()  # noqa: S311 - retry jitter, not cryptography
# Nonce refusals a query may take on a nonce venue without spending one of its attempts.
_NONCE_REFUSALS_FREE = 20
# Answers showing an order live, unchanged by our pending cancel / amend, before that request
# counts as never sent.
_PENDING_ANSWERS = 5
# How long a venue's fills listing may lag its order status before missing fills are alarmed.
_FILL_LISTING_LAG_NS = 5_000_000_000


def _backoff() -> Backoff:
    # One shared RNG: a fresh `random.Random()` reads the OS entropy pool (~8 µs a place).
    return Backoff(0.05, 2.0, rng=_JITTER)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _now_ns() -> int:
    return time.time_ns()


class OrderManager:
    """One venue's orders.

    Args:
        adapter: the venue adapter (with its signer).
        rest: the venue's REST client (`RestClient`).
        journal: the open journal (see `open` for the usual construction with recovery).
        symbols: instruments traded (for open-order and fill queries, private subscriptions).
        session: a short id that makes client order ids unique across processes sharing a
            key; kept in the journal so restarts keep it.
        risk: pre-trade risk (`venuegate.risk.checks.PreTradeRisk`), or None.
        clock: the venue's `ClockSync`, or None.
        on_update: called after every change of an order.
        on_alarm: called with every alarm.
        private_stream: run the venue's private stream (True), or rely on queries (False).
        ssl: TLS verification for the private stream.
        unknown_grace_s: how long after sending a NOT_FOUND answer counts as final (a request
            may still be in flight inside the venue).
    """

    def __init__(
        self,
        adapter: VenueAdapter,
        rest: Any,
        journal: OrderJournal,
        *,
        symbols: Sequence[str],
        session: str | None = None,
        risk: Any | None = None,
        clock: Any | None = None,
        on_update: Callable[[TrackedOrder], None] | None = None,
        on_alarm: Callable[[Alarm], None] | None = None,
        private_stream: bool = True,
        ssl: Any = True,
        unknown_grace_s: float = 1.0,
        max_attempts: int = 8,
        dead_man_s: float | None = None,
        kill_switch: Any | None = None,
        order_entry: Any | None = None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        self.rest = rest
        self.journal = journal
        self.symbols = tuple(symbols)
        self.session = session or secrets.token_hex(3)
        self.risk = risk
        self.clock = clock
        self.on_update = on_update
        self._on_alarm = on_alarm
        self.sm = OrderStateMachine(on_alarm=self._alarm)
        self.stats = EngineStats()
        self._next_intent = 1
        self._by_venue_id: dict[str, str] = {}
        self._sent_at: dict[str, float] = {}
        self._unknown_at: dict[str, float] = {}  # when a request's outcome was lost
        # Orders whose place request is still in our hands (queued in the rate limiter or
        # behind a nonce venue's earlier request, or awaiting its answer): a NOT_FOUND about
        # one cannot mean "never reached the venue" yet; the request's own outcome settles it.
        self._placing: set[str] = set()
        # Orders with a fills re-listing scheduled (`_check_fill_gaps`), cancelled on close.
        self._gap_recheck: dict[str, asyncio.TimerHandle] = {}
        self._fills_again: dict[str, int] = {}  # "fills:<symbol>" -> since_ms of a re-fetch
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._reconcile_lock = asyncio.Lock()
        self._fills_since_ms: dict[str, int] = {}
        self._unknown_grace_s = unknown_grace_s
        self._max_attempts = max_attempts
        self._stream: PrivateStreamSession | None = None
        self._want_stream = private_stream
        self._ssl = ssl
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.recovery = RecoveryReport()
        self.stream_up = asyncio.Event()
        self.kill_switch = kill_switch
        # A started `WsOrderEntry`: orders go over the venue's WebSocket API while it is ready,
        # over REST otherwise; its errors are classified like REST's.
        self.order_entry: Any = order_entry
        self._dead_man_s = dead_man_s
        self._dead_man: Any | None = None
        self._cancel_on_disconnect: Any | None = None

    # -- construction ----------------------------------------------------------------------
    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        adapter: VenueAdapter,
        rest: Any,
        *,
        journal_path: str | Path,
        symbols: Sequence[str],
        fsync: Literal["none", "group", "always"] = "none",
        reconcile: bool = True,
        **kwargs: Any,
    ) -> AsyncIterator[OrderManager]:
        """Opens (recovering) the journal, starts the manager, reconciles, and closes cleanly."""
        existing = Path(journal_path).exists() and Path(journal_path).stat().st_size > 0
        records = list(OrderJournal.replay(journal_path)) if existing else []
        journal = OrderJournal(journal_path, fsync=fsync)
        om = cls(adapter, rest, journal, symbols=symbols, **kwargs)
        om.restore(records)
        om.recovery.torn_bytes = journal.recovered_torn_bytes
        try:
            await om.start(reconcile=reconcile)
            yield om
        finally:
            await om.close()

    def _restore_marker(self, rec: MarkerRecord, session: str | None) -> str | None:
        """Applies a marker on recovery; returns the session id (the first one found)."""
        if rec.name == "session_start":
            return session or rec.data.get("session")
        if rec.name == "fills_synced":  # the last complete fills listing, per symbol
            sym, since_ms = rec.data.get("symbol"), rec.data.get("since_ms", "")
            if sym and since_ms.isdigit():
                self._fills_since_ms[sym] = int(since_ms)
        return session

    def restore(self, records: Sequence[tuple[int, Record]]) -> RecoveryReport:
        """Rebuilds the state machine from journal records (before `start`)."""
        intents: dict[str, IntentRecord] = {}
        states: dict[str, StateRecord] = {}
        fills: dict[str, list[FillInfo]] = {}
        session: str | None = None
        for _, rec in records:
            if isinstance(rec, IntentRecord):
                intents[rec.client_order_id] = rec
                self._next_intent = max(self._next_intent, rec.intent_id + 1)
            elif isinstance(rec, StateRecord):
                states[rec.client_order_id] = rec
            elif isinstance(rec, ReportRecord) and rec.kind == ReportKind.FILL.value:
                r = rec.to_report()
                if r.trade_id is not None and r.last_qty is not None and r.last_price is not None:
                    fills.setdefault(r.client_order_id, []).append(
                        FillInfo(
                            r.trade_id,
                            r.last_qty,
                            r.last_price,
                            r.fee,
                            r.fee_asset,
                            r.liquidity,
                            r.ts_ms,
                        )
                    )
            elif isinstance(rec, MarkerRecord):
                session = self._restore_marker(rec, session)
        if session is not None:
            self.session = session
        rep = RecoveryReport(records=len(records))
        replaced_by = {s.replaces: cid for cid, s in states.items() if s.replaces is not None}
        for cid, intent in intents.items():
            st = states.get(cid)
            quantity = Decimal(st.quantity if st is not None else intent.quantity)
            price_s = st.price if st is not None else intent.price
            order = Order(
                venue=intent.venue,
                symbol=intent.symbol,
                client_order_id=cid,
                side=Side(intent.side),
                type=OrderType(intent.type),
                quantity=quantity,
                price=Decimal(price_s) if price_s is not None else None,
                time_in_force=TimeInForce(intent.time_in_force),
                reduce_only=intent.reduce_only,
                expire_at=(
                    datetime.fromtimestamp(intent.expire_at_ms / 1000, tz=UTC)
                    if intent.expire_at_ms is not None
                    else None
                ),
            )
            state = OrderState(st.state) if st is not None else OrderState.PENDING_NEW
            if state is OrderState.PENDING_NEW:
                state = OrderState.UNKNOWN  # journaled, maybe sent: ask the venue
            t = self.sm.restore(
                order,
                intent_id=intent.intent_id if intent.intent_id > 0 else None,
                state=state,
                venue_order_id=st.venue_order_id if st is not None else None,
                fills=fills.get(cid, ()),
                replaces=st.replaces if st is not None else None,
                replaced_by=replaced_by.get(cid),
                adopted=intent.intent_id <= 0,
                venue_filled_qty=(
                    Decimal(st.venue_filled)
                    if st is not None and st.venue_filled is not None
                    else None
                ),
                venue_filled_ns=st.ts_ns if st is not None else None,
            )
            if t.venue_order_id:
                self._by_venue_id[t.venue_order_id] = cid
            self._sent_at[cid] = intent.ts_ns / 1e9
            rep.orders += 1
            if not t.is_terminal:
                rep.open_orders += 1
            if t.state is OrderState.UNKNOWN:
                rep.unknown += 1
        self.recovery = rep
        return rep

    async def start(self, *, reconcile: bool = True) -> None:
        """Marks the session, starts the private stream and reconciles."""
        self._loop = asyncio.get_running_loop()
        backoff = _backoff()
        for attempt in range(self._max_attempts * 4):
            try:
                await self.adapter.prepare(self.rest)
                break
            except (VenueError, OSError, TimeoutError) as exc:
                if attempt == self._max_attempts * 4 - 1:
                    raise
                self.stats.error(exc)
                await asyncio.sleep(max(backoff.next(), getattr(exc, "retry_after", None) or 0.0))
        self.journal.write(
            MarkerRecord(
                _now_ns(),
                "session_start",
                {
                    "session": self.session,
                    "venue": self.venue,
                    "recovered": str(self.recovery.orders),
                },
            )
        )
        if self.kill_switch is not None:
            self.kill_switch.register_cancel_all(self.venue, self._cancel_all_symbols)
        if self._dead_man_s:
            self._start_dead_man(self._dead_man_s)
        if self._want_stream:
            self._stream = PrivateStreamSession(
                self.adapter,
                self.rest,
                self.symbols,
                on_reports=self.apply_reports,
                on_ready=self._stream_ready,
                on_down=self._stream_down,
                ssl=self._ssl,
            )
            self._stream.start()
        if reconcile:
            await self.reconcile()

    def _start_dead_man(self, timeout_s: float) -> None:
        if self.adapter.dead_man(timeout_s, self.symbols) is not None:

            async def arm(t: float) -> None:
                call = self.adapter.dead_man(t, self.symbols)
                if call is not None:
                    await self.rest.call(call)

            self._dead_man = DeadManSwitch(
                arm, timeout_s=timeout_s, refresh_s=timeout_s / 3, venue=self.venue
            )
            self._dead_man.start()
        else:
            # No venue timer: cancel ourselves when the private stream stays down.
            self._cancel_on_disconnect = EngineCancelOnDisconnect(
                self._cancel_all_symbols, grace_s=timeout_s, venue=self.venue
            )

    async def _cancel_all_symbols(self) -> None:
        await self.cancel_all()

    async def _stream_ready(self) -> None:
        self.stream_up.set()
        if self._dead_man is not None:
            self._dead_man.set_healthy(True)
        if self._cancel_on_disconnect is not None:
            self._cancel_on_disconnect.connection_restored()
        await self.reconcile()

    def _stream_down(self) -> None:
        self.stream_up.clear()
        if self._dead_man is not None:
            self._dead_man.set_healthy(False)
        if self._cancel_on_disconnect is not None:
            self._cancel_on_disconnect.connection_lost()

    async def close(self) -> None:
        """Stops the stream and background work; syncs and closes the journal."""
        if self._stream is not None:
            await self._stream.stop()
        if self._dead_man is not None:
            with contextlib.suppress(Exception):
                await self._dead_man.stop(disarm=True)
        if self._cancel_on_disconnect is not None:
            await self._cancel_on_disconnect.close()
        if self.kill_switch is not None:
            self.kill_switch.unregister_cancel_all(self.venue)
        for timer in self._gap_recheck.values():
            timer.cancel()
        self._gap_recheck.clear()
        for task in list(self._tasks) + list(self._resolving.values()):
            task.cancel()
        for task in list(self._tasks) + list(self._resolving.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not self.journal.closed:
            self.journal.sync()
            self.journal.close()

    # -- thread-safe submission --------------------------------------------------------------
    def submit_threadsafe(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Runs `coro` (e.g. `om.place(...)`) on the manager's loop from another thread."""
        if self._loop is None:
            raise ConfigError("the order manager is not started", venue=self.venue)
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    # -- alarms and reports ------------------------------------------------------------------
    def _alarm(self, alarm: Alarm) -> None:
        self.stats.alarms += 1  # the state machine logs it
        if self.kill_switch is not None:
            self.kill_switch.on_alarm(alarm)
        if self._on_alarm is not None:
            self._on_alarm(alarm)

    def _state_record(self, t: TrackedOrder) -> StateRecord:
        return StateRecord(
            _now_ns(),
            t.client_order_id,
            t.state.value,
            t.venue_order_id,
            str(t.quantity),
            _dec(t.price),
            str(t.filled_qty),
            _dec(t.average_price),
            t.replaces,
            str(t.venue_filled_qty) if t.missing_fill_qty > 0 else None,
        )

    def _journal_transition(self, tr: Transition, extra: Sequence[Record] = ()) -> None:
        recs: list[Record] = list(extra)
        if tr.changed:
            recs.append(self._state_record(tr.order))
        if recs:
            self.journal.write_many(recs)
        if tr.changed:
            if tr.order.venue_order_id:
                self._by_venue_id[tr.order.venue_order_id] = tr.order.client_order_id
            if self.risk is not None:
                self._risk_update(tr)
            if self.on_update is not None:
                self.on_update(tr.order)

    def _risk_update(self, tr: Transition) -> None:
        t = tr.order
        risk = self.risk
        if risk is None:
            return
        try:
            if tr.new_fill is not None:
                risk.on_fill(t.venue, t.symbol, t.side, tr.new_fill.qty, tr.new_fill.price)
            if t.is_terminal and not tr.old_state.is_terminal:
                risk.on_order_closed(t, t.remaining_qty)  # reads ids/side only: no snapshot
        except Exception:
            log.exception("risk bookkeeping failed for %s", t.client_order_id)

    def apply_reports(self, reports: Sequence[VenueReport]) -> None:
        """Applies venue reports (stream, REST answers, queries) in order."""
        for r in reports:
            self.apply_report(r)

    def apply_report(self, r: VenueReport) -> Transition | None:
        """Applies one report: journals the fill and the new state, adopts unknown orders."""
        if not r.client_order_id and r.venue_order_id:
            cid = self._by_venue_id.get(r.venue_order_id)
            if cid is None:
                log.info("%s: report for unknown venue order %s", self.venue, r.venue_order_id)
                return None
            r = _with_cid(r, cid)
        t = self.sm.get(r.client_order_id)
        if t is None:
            if r.kind in (ReportKind.STATUS, ReportKind.ACK) and r.symbol and r.side and r.quantity:
                return self._adopt(r)
            if r.kind is ReportKind.NOT_FOUND:
                return None
            # Unknown and not describable (e.g. a stray fill): the alarm says so.
            return self.sm.apply(r)
        tr = self.sm.apply(r)
        if tr is None:
            return None
        extra: list[Record] = []
        if tr.new_fill is not None:
            extra.append(ReportRecord.from_report(r, _now_ns()))
        self._journal_transition(tr, extra)
        if tr.order.missing_fill_qty > 0 and r.kind is not ReportKind.FILL:
            # The venue says more filled than the fills we hold (a stream without trade ids,
            # a dropped report): fetch the executions, never invent them.
            self._schedule_fills(tr.order)
        return tr

    def _schedule_fills(self, t: TrackedOrder) -> None:
        key = f"fills:{t.symbol}"
        since = self._since_ms(t.client_order_id)
        if key in self._resolving and not self._resolving[key].done():
            # A fetch is under way, maybe asked before this order's fills existed: it fetches
            # once more when done (from the oldest start asked for meanwhile).
            again = self._fills_again.get(key)
            self._fills_again[key] = since if again is None else min(again, since)
            return

        async def fetch() -> None:
            start: int | None = since
            while start is not None:
                await asyncio.sleep(0.05)  # let a burst of reports land first
                await self._fetch_fills_retrying(t.symbol, start, for_gaps=True)
                start = self._fills_again.pop(key, None)

        task = asyncio.create_task(fetch(), name=key)
        self._resolving[key] = task

        def done(_t: asyncio.Task[None]) -> None:
            if self._resolving.get(key) is _t:
                del self._resolving[key]

        task.add_done_callback(done)

    def _adopt(self, r: VenueReport) -> Transition | None:
        t = self.sm.adopt(r)
        self.stats.adopted += 1
        order = t.snapshot()
        recs: list[Record] = [
            IntentRecord(
                _now_ns(),
                0,
                t.client_order_id,
                t.venue,
                t.symbol,
                t.side.value,
                t.type.value,
                t.time_in_force.value,
                str(t.quantity),
                _dec(t.price),
                t.time_in_force is TimeInForce.POST_ONLY,
                t.reduce_only,
                None,
            ),
            self._state_record(t),
        ]
        self.journal.write_many(recs)
        if t.venue_order_id:
            self._by_venue_id[t.venue_order_id] = t.client_order_id
        log.warning("%s: adopted order %s found at the venue", self.venue, order.client_order_id)
        return None

    # -- placing -------------------------------------------------------------------------------
    def _new_intent(self) -> tuple[int, str]:
        intent_id, cid = self._peek_intent()
        self._next_intent += 1
        return intent_id, cid

    def _peek_intent(self) -> tuple[int, str]:
        intent_id = self._next_intent
        return intent_id, self.adapter.new_client_order_id(self.session, intent_id)

    @property
    def intents(self) -> int:
        """Intents issued so far (restored ones included)."""
        return self._next_intent - 1

    async def place(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal | None = None,
        *,
        type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_at: datetime | None = None,
        reduce_only: bool = False,
    ) -> TrackedOrder:
        """Places an order; returns its tracked record (whatever the outcome: check `state`).

        Raises:
            RiskRejectedError: a pre-trade check refused it (nothing journaled or sent).
            pydantic.ValidationError: the order is malformed (floats, missing price).
        """
        # The intent number is taken only once the order passed every check (no await between).
        intent_id, cid = self._peek_intent()
        order = Order(
            venue=self.venue,
            symbol=symbol,
            client_order_id=cid,
            side=side,
            type=type,
            quantity=quantity,
            price=price,
            time_in_force=time_in_force,
            expire_at=expire_at,
            reduce_only=reduce_only,
        )
        if self.kill_switch is not None:
            self.kill_switch.check(self.venue)
        if self.risk is not None:
            self.risk.check(order)
        call = self.adapter.place(order)  # refuses what the venue lacks before journaling
        self._next_intent += 1
        t = self.sm.track(order, intent_id=intent_id)
        self.journal.write(
            IntentRecord(
                _now_ns(),
                intent_id,
                cid,
                self.venue,
                symbol,
                side.value,
                type.value,
                time_in_force.value,
                str(quantity),
                _dec(price),
                time_in_force is TimeInForce.POST_ONLY,
                reduce_only,
                int(expire_at.timestamp() * 1000) if expire_at is not None else None,
            )
        )
        if self.risk is not None:
            with contextlib.suppress(Exception):
                self.risk.on_order_open(order)
        self.stats.placed += 1
        self._placing.add(t.client_order_id)
        try:
            await self._send_place(t, order, call)
        finally:
            self._placing.discard(t.client_order_id)
        return t

    async def _send_place(  # noqa: PLR0911 - one exit per outcome class
        self, t: TrackedOrder, order: Order, call: HttpCall
    ) -> None:
        cid = t.client_order_id
        backoff = _backoff()
        for _ in range(self._max_attempts):
            self._sent_at[cid] = time.time()
            try:
                if self._ws_ready():
                    self.apply_reports(await self.order_entry.place(order))
                    return
                resp = await self.rest.call(call)
            except (ClockSkewError, RateLimitedError, RetryableError) as exc:
                self.stats.error(exc)
                if isinstance(exc, BannedError | VenueUnavailableError):
                    self._failed(cid, "place", "not_sent", str(exc))
                    return
                if not self._same_id_resend_safe(exc):
                    self._to_unknown(cid, "place", str(exc))
                    return
                await self._before_resend(exc, backoff)
                self.stats.resent_same_id += 1
                continue
            except DuplicateOrderError as exc:
                # An earlier attempt landed: find it, never re-id it.
                self.stats.error(exc)
                self._to_unknown(cid, "place", str(exc))
                return
            except UnknownOutcomeError as exc:
                self.stats.error(exc)
                self._to_unknown(cid, "place", str(exc))
                return
            except VenueError as exc:
                self.stats.error(exc)
                self.stats.rejected += 1
                self._failed(cid, "place", "rejected", str(exc))
                return
            try:
                reports = self.adapter.parse_place(order, resp)
            except VenuegateError as exc:
                self.stats.error(exc)
                self._to_unknown(cid, "place", f"unreadable answer: {exc}")
                return
            self.apply_reports(reports)
            return
        self._to_unknown(cid, "place", f"no answer after {self._max_attempts} attempts")

    def _ws_ready(self) -> bool:
        return self.order_entry is not None and bool(self.order_entry.ready.is_set())

    # -- order-entry hook (FIX, issue 5) -------------------------------------------------------
    def _entry_can(self, op: str, *, default: bool = False) -> bool:
        """True when the ready order entry offers `op` itself; REST otherwise.

        `op` is "amend", "query", "open_orders" or "cancel_all" (`FixOrderEntry.can`:
        OrderCancelReplaceRequest, OrderStatusRequest, mass status, mass cancel); an entry
        without `can` (`WsOrderEntry`) gets `default`.
        """
        can = getattr(self.order_entry, "can", None)
        return self._ws_ready() and (bool(can(op)) if can is not None else default)

    async def _entry_cancel_all(self, symbol: str, mine: Sequence[TrackedOrder]) -> None:
        try:
            self.apply_reports(await self.order_entry.cancel_all(symbol))
        except VenueError as e:  # refused or lost: cancel one by one (then reconcile)
            self.stats.error(e)
            for t in mine:
                if not t.is_terminal:
                    await self.cancel(t.client_order_id)

    def _same_id_resend_safe(self, exc: VenuegateError) -> bool:
        # Nothing happened at the venue (that is what these classes mean); resending the same
        # client id is safe outright where the venue refuses duplicates, and for refusals that
        # happened before the request was processed (rate limits, clock) everywhere.
        if isinstance(exc, RateLimitedError | ClockSkewError):
            return True
        return self.adapter.duplicate_client_ids_rejected

    async def _resync_if_skewed(self, exc: BaseException) -> bool:
        """A timestamp refusal on a venue that signs with its clock: resync it (True)."""
        if (
            isinstance(exc, ClockSkewError)
            and self.clock is not None
            and self.adapter.signs_with_server_time
        ):
            with contextlib.suppress(VenuegateError, OSError, TimeoutError):
                await self.clock.resync()
            return True
        return False

    async def _retry_pause(self, exc: BaseException, backoff: Backoff) -> None:
        """Between attempts of a retry loop: counts the error, resyncs a skewed clock, backs off.

        A clock left skewed is never cured by waiting; the back-off is at least the Retry-After.
        """
        self.stats.error(exc)
        await self._resync_if_skewed(exc)
        await asyncio.sleep(max(backoff.next(), getattr(exc, "retry_after", None) or 0.0))

    async def _before_resend(self, exc: VenuegateError, backoff: Backoff) -> None:
        if await self._resync_if_skewed(exc):
            return
        # Nonce venues (Bitfinex, Kraken) sign with the local clock, so their "nonce too small"
        # is never cured by a server-time resync: it is a request overtaken in flight by a
        # later-signed one, or nonces an earlier process issued ahead of this clock. The resend
        # (after a backoff) signs a fresh, higher nonce. A resync there would only spend the
        # venue's status-endpoint budget (Bitfinex: 30 requests a minute), and stall every
        # request behind it once that is gone (seen in the chaos runs).
        delay = backoff.next()
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        await asyncio.sleep(delay)

    def _failed(self, cid: str, what: str, outcome: str, reason: str) -> None:
        tr = self.sm.request_failed(cid, what, outcome, reason)  # type: ignore[arg-type]
        self._journal_transition(tr)

    def refused(self, client_order_id: str, what: Literal["cancel", "amend"], reason: str) -> None:
        """The venue refused a cancel or amend after its request had been answered.

        An order entry calls this when the refusal comes late (FIX: an OrderCancelReject after
        a Pending Cancel / Pending Replace ExecutionReport ended the request): the pending flag
        is cleared and journaled, so the order is not held PENDING_* until the next query.
        Unknown client order ids are ignored.
        """
        if self.sm.get(client_order_id) is None:
            return
        self._failed(client_order_id, what, "rejected", reason)

    def _to_unknown(self, cid: str, what: str, reason: str) -> None:
        self.stats.unknown += 1
        self._unknown_at[cid] = time.time()
        tr = self.sm.request_failed(cid, what, "unknown", reason)  # type: ignore[arg-type]
        self._journal_transition(tr)
        self._schedule_resolve(cid)

    # -- cancel / amend ------------------------------------------------------------------------
    async def cancel(self, client_order_id: str) -> TrackedOrder:  # noqa: PLR0911
        """Cancels an order (the outcome arrives as reports; check `state`)."""
        t = self._get(client_order_id)
        if t.is_terminal:
            return t
        self.journal.write(CancelIntentRecord(_now_ns(), client_order_id))
        self._journal_transition(self.sm.request_cancel(client_order_id))
        order = t.snapshot()
        call = self.adapter.cancel(order)
        backoff = _backoff()
        for _ in range(self._max_attempts):
            try:
                if self._ws_ready():
                    self.apply_reports(await self.order_entry.cancel(order))
                    return t
                resp = await self.rest.call(call)
            except OrderNotFoundError as exc:
                # Already gone (filled, canceled, expired) or never there: ask.
                self.stats.error(exc)
                self._failed(client_order_id, "cancel", "rejected", str(exc))
                self._schedule_resolve(client_order_id, force=True)
                return t
            except (ClockSkewError, RateLimitedError, RetryableError) as exc:
                self.stats.error(exc)
                if isinstance(exc, BannedError):
                    self._failed(client_order_id, "cancel", "not_sent", str(exc))
                    return t
                await self._before_resend(exc, backoff)  # a cancel may always be resent
                continue
            except UnknownOutcomeError as exc:
                self.stats.error(exc)
                self._to_unknown(client_order_id, "cancel", str(exc))
                return t
            except VenueError as exc:
                self.stats.error(exc)
                self._failed(client_order_id, "cancel", "rejected", str(exc))
                self._schedule_resolve(client_order_id, force=True)
                return t
            try:
                self.apply_reports(self.adapter.parse_cancel(order, resp))
            except VenuegateError as exc:
                self.stats.error(exc)
                self._to_unknown(client_order_id, "cancel", f"unreadable answer: {exc}")
            return t
        self._to_unknown(client_order_id, "cancel", "no answer")
        return t

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancels every open order (of `symbol`), then reconciles so every order settles.

        Uses the venue's cancel-all, or one cancel per order where the venue has none.
        """
        await self.reconcile()  # learn what is open, at the venue too
        for sym in [symbol] if symbol is not None else list(self.symbols):
            mine = [t for t in self.sm.open_orders() if t.symbol == sym]
            for t in mine:
                if not t.state.is_terminal and t.pending is None:
                    with contextlib.suppress(ValueError):
                        self.journal.write(CancelIntentRecord(_now_ns(), t.client_order_id))
                        self._journal_transition(self.sm.request_cancel(t.client_order_id))
            if self._entry_can("cancel_all"):  # order-entry hook: OrderMassCancelRequest
                await self._entry_cancel_all(sym, mine)
                continue
            try:
                call = self.adapter.cancel_all(sym)
            except ConfigError:
                call = None  # no venue-wide cancel here: one by one
            if call is None:
                for t in mine:
                    if not t.is_terminal:
                        await self._cancel_call(t)
                continue
            backoff = _backoff()
            for _ in range(self._max_attempts):
                try:
                    resp = await self.rest.call(call)
                    self.apply_reports(self.adapter.parse_cancel_all(resp))
                    break
                except (RateLimitedError, RetryableError, ClockSkewError, UnknownOutcomeError) as e:
                    self.stats.error(e)
                    await self._before_resend(e, backoff)
                except VenueError as e:  # e.g. nothing to cancel
                    self.stats.error(e)
                    break
        await self.reconcile()

    async def _cancel_call(self, t: TrackedOrder) -> None:
        order = t.snapshot()
        backoff = _backoff()
        for _ in range(self._max_attempts):
            try:
                if self._ws_ready():  # the order entry (WebSocket, FIX) while it is up
                    self.apply_reports(await self.order_entry.cancel(order))
                    return
                resp = await self.rest.call(self.adapter.cancel(order))
                self.apply_reports(self.adapter.parse_cancel(order, resp))
                return
            except (RateLimitedError, RetryableError, ClockSkewError, UnknownOutcomeError) as e:
                self.stats.error(e)
                await self._before_resend(e, backoff)
            except VenueError as e:
                self.stats.error(e)
                return

    async def amend(
        self,
        client_order_id: str,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> TrackedOrder:
        """Amends a resting order; returns the order that carries it on.

        On cancel-replace venues that is the replacement, a new order.
        """
        t = self._get(client_order_id)
        mode = self.adapter.amend_mode
        if mode is AmendMode.CANCEL_NEW:
            await self.cancel(client_order_id)
            await self._settled(client_order_id)
            if t.state is not OrderState.CANCELED or t.remaining_qty <= 0:
                return t
            return await self.place(
                t.symbol,
                t.side,
                quantity - t.filled_qty if quantity is not None else t.remaining_qty,
                price if price is not None else t.price,
                type=t.type,
                time_in_force=t.time_in_force,
            )
        new_cid: str | None = None
        intent_id = 0
        if mode is AmendMode.REPLACE:
            intent_id, new_cid = self._new_intent()
        amend = Amend(quantity=quantity, price=price, new_client_order_id=new_cid)
        old_order = t.snapshot()
        call = self.adapter.amend(old_order, amend)
        self._journal_transition(self.sm.request_replace(client_order_id, amend))
        target: TrackedOrder = t
        recs: list[Record] = []
        if new_cid is not None:
            new_order = Order(
                venue=self.venue,
                symbol=t.symbol,
                client_order_id=new_cid,
                side=t.side,
                type=t.type,
                quantity=quantity if quantity is not None else t.quantity,
                price=price if price is not None else t.price,
                time_in_force=t.time_in_force,
            )
            target = self.sm.link_replacement(client_order_id, new_order, intent_id)
            recs.append(
                IntentRecord(
                    _now_ns(),
                    intent_id,
                    new_cid,
                    self.venue,
                    t.symbol,
                    t.side.value,
                    t.type.value,
                    t.time_in_force.value,
                    str(new_order.quantity),
                    _dec(new_order.price),
                    t.time_in_force is TimeInForce.POST_ONLY,
                    False,
                    None,
                )
            )
            recs.append(self._state_record(target))
            self._sent_at[new_cid] = time.time()
        recs.insert(
            0,
            AmendIntentRecord(_now_ns(), client_order_id, _dec(quantity), _dec(price), new_cid),
        )
        self.journal.write_many(recs)
        backoff = _backoff()
        if new_cid is not None:
            self._placing.add(new_cid)
        try:
            return await self._send_amend(
                t, target, old_order, amend, call, client_order_id, new_cid, backoff
            )
        finally:
            if new_cid is not None:
                self._placing.discard(new_cid)

    async def _send_amend(
        self,
        t: TrackedOrder,
        target: TrackedOrder,
        old_order: Order,
        amend: Amend,
        call: HttpCall,
        client_order_id: str,
        new_cid: str | None,
        backoff: Backoff,
    ) -> TrackedOrder:
        for _ in range(self._max_attempts):
            try:
                if self._entry_can("amend", default=True):  # order-entry hook
                    self.apply_reports(await self.order_entry.amend(old_order, amend))
                    return target
                resp = await self.rest.call(call)
            except (ClockSkewError, RateLimitedError) as exc:
                self.stats.error(exc)
                if isinstance(exc, BannedError):
                    self._failed(client_order_id, "amend", "not_sent", str(exc))
                    return t
                await self._before_resend(exc, backoff)
                continue
            except (UnknownOutcomeError, DuplicateOrderError, RetryableError) as exc:
                self.stats.error(exc)
                self._to_unknown(client_order_id, "amend", str(exc))
                if new_cid is not None:
                    self._unknown_at[new_cid] = time.time()
                    self._schedule_resolve(new_cid)
                return target
            except VenueError as exc:
                self.stats.error(exc)
                self._failed(client_order_id, "amend", "rejected", str(exc))
                self._schedule_resolve(client_order_id, force=True)
                return t
            try:
                self.apply_reports(self.adapter.parse_amend(old_order, amend, resp))
            except VenuegateError as exc:
                self.stats.error(exc)
                self._to_unknown(client_order_id, "amend", f"unreadable answer: {exc}")
                if new_cid is not None:
                    self._schedule_resolve(new_cid)
            return target
        self._to_unknown(client_order_id, "amend", "no answer")
        if new_cid is not None:
            self._schedule_resolve(new_cid)
        return target

    def _get(self, cid: str) -> TrackedOrder:
        t = self.sm.get(cid)
        if t is None:
            raise ConfigError(f"unknown client order id {cid!r}", venue=self.venue)
        return t

    async def _settled(self, cid: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            t = self._get(cid)
            if t.is_terminal or (t.pending is None and t.state is not OrderState.UNKNOWN):
                return
            task = self._resolving.get(cid)
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
            else:
                await asyncio.sleep(0.02)

    # -- resolving and reconciling --------------------------------------------------------------
    def _schedule_resolve(self, cid: str, *, force: bool = False) -> None:
        if cid in self._resolving and not self._resolving[cid].done():
            return
        task = asyncio.create_task(self._resolve(cid, force=force), name=f"resolve-{cid}")
        self._resolving[cid] = task

        def done(_t: asyncio.Task[None], c: str = cid) -> None:
            if self._resolving.get(c) is _t:
                del self._resolving[c]

        task.add_done_callback(done)

    def _grace_left(self, cid: str) -> float:
        """Seconds before a NOT_FOUND answer about `cid` may count as final.

        `unknown_grace_s` after the request left, counted from when its outcome was lost (the
        timeout), not from the intent: a request that waited in the rate limiter or behind a
        nonce venue's earlier request was sent late, and a query racing it into the venue
        would find nothing yet (the Bitfinex chaos run concluded "never reached the venue"
        for orders the venue then acknowledged).
        """
        left = max(self._sent_at.get(cid, 0.0), self._unknown_at.get(cid, 0.0))
        return left + self._unknown_grace_s - time.time()

    async def _resolve(self, cid: str, *, force: bool = False) -> None:
        """Queries `cid` until it is settled (not UNKNOWN, nothing pending).

        An order the venue keeps showing live while our cancel or amend stays pending for
        `_PENDING_ANSWERS` answers: that request never took effect (lost before it left: a
        crash between journaling and sending it, say). It is cleared as not sent, and a cancel
        is sent again (the intent stands). Without this the loop queried such an order every
        two seconds for ever, spending the venue's query budget (the Bitfinex chaos run's
        restarts slowed from seconds to minutes).
        """
        backoff = _backoff()
        still_pending = 0
        while True:
            t = self.sm.get(cid)
            if t is None:
                return
            if not force and t.state is not OrderState.UNKNOWN and t.pending is None:
                return
            wait = self._grace_left(cid)
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                done = await self.query(cid)
            except (VenueError, OSError, TimeoutError) as exc:
                self.stats.error(exc)
                await self._resync_if_skewed(exc)
                await asyncio.sleep(backoff.next())
                continue
            force = False
            if done:
                self.stats.resolved += 1
                return
            t = self._get(cid)
            if t.pending is not None and t.state is not OrderState.UNKNOWN and t.acked:
                still_pending += 1
                if still_pending >= _PENDING_ANSWERS and not t.is_terminal:
                    what = "cancel" if t.pending == "cancel" else "amend"
                    log.warning(
                        "%s: %s %s shows no effect after %d answers: not sent; %s",
                        self.venue, what, cid, still_pending,
                        "cancelling again" if what == "cancel" else "amend dropped",
                    )  # fmt: skip
                    self._failed(cid, what, "not_sent", f"{what} showed no effect at the venue")
                    if what == "cancel":
                        await self.cancel(cid)
                    return
            await asyncio.sleep(backoff.next())

    async def query(self, cid: str) -> bool:
        """Asks the venue for one order and applies the answer; fetches missing fills.

        Returns True when the order's state is settled (not UNKNOWN, nothing pending).
        """
        t = self._get(cid)
        order = t.snapshot()
        if self._entry_can("query"):  # order-entry hook: OrderStatusRequest
            reports = list(await self.order_entry.query(order))
        else:
            # `send`, not `call`: parse_query turns the venue's not-found answer into NOT_FOUND.
            resp = await self.rest.send(self.adapter.query(order))
            reports = self.adapter.parse_query(order, resp)
            follow = self.adapter.query_followup(order, resp) if not reports else None
            if follow is not None:
                resp = await self.rest.send(follow)
                reports = self.adapter.parse_query_followup(order, resp)
        if cid in self._placing:  # the place may not have left yet: not found proves nothing
            reports = [r for r in reports if r.kind is not ReportKind.NOT_FOUND]
        self.apply_reports(reports)
        if t.missing_fill_qty > 0 or (
            t.venue_filled_qty is not None and t.venue_filled_qty > t.filled_qty
        ):
            await self.fetch_fills(t.symbol, self._since_ms(cid), for_gaps=True)
        return t.state is not OrderState.UNKNOWN and t.pending is None

    def _since_ms(self, cid: str) -> int:
        sent = self._sent_at.get(cid)
        base = int(sent * 1000) if sent is not None else int(time.time() * 1000) - 3_600_000
        return base - 60_000

    async def fetch_fills(self, symbol: str, since_ms: int, *, for_gaps: bool = False) -> int:
        """Fetches and applies our executions on `symbol` since `since_ms`; returns the new.

        `for_gaps`: the fetch is for fills the venue reported and the engine misses; it stops
        as soon as none is missing (on a newest-first venue the first page usually has them)
        instead of listing every page back to `since_ms`.

        Pages forward until a page brings nothing new (or is short), or backwards from the
        oldest fill of each page where the venue lists newest first (`fills_newest_first`).
        By an offset cursor (`fills_offset_cursor`), only a short page ends the listing: over a
        page of fills arriving between two calls makes the next a full page of fills already
        seen (the chaos run's Kraken reconciles stopped there, leaving older fills unfetched).
        """
        new, _complete = await self._fetch_fills(symbol, since_ms, for_gaps=for_gaps)
        return new

    async def _fetch_fills(
        self, symbol: str, since_ms: int, *, for_gaps: bool = False
    ) -> tuple[int, bool]:
        """`fetch_fills`, and whether the listing went through to its end (complete)."""
        new = 0
        seen: set[str] = set()
        started_ns = time.time_ns()
        covered_ms = since_ms
        until_ms: int | None = None  # the first page's newest fill (newest-first listings)
        call = self.adapter.fills(symbol, since_ms)
        for pages in range(1, 51):
            resp = await self.rest.call(call)
            reports = self.adapter.parse_fills(resp)
            fresh = [r for r in reports if r.trade_id not in seen]
            page = self.adapter.fills_page_size
            shifted = (
                not fresh
                and self.adapter.fills_offset_cursor
                and page is not None
                and len(reports) >= page
            )
            if not fresh and not shifted:
                break
            for r in fresh:
                seen.add(r.trade_id or "")
                tr = self.apply_report(r)
                if tr is not None and tr.new_fill is not None:
                    new += 1
            if for_gaps and not self.sm.has_fill_gaps(
                None if self.adapter.lists_all_symbols else symbol
            ):
                started_ns = 0  # stopped early: not a complete listing
                break
            if page is not None and len(reports) < page:
                break  # a short page is the last one
            if self.adapter.fills_newest_first:
                # Page backwards, the oldest millisecond seen included (fills sharing it may
                # straddle the page boundary; those already held are de-duplicated). A page
                # that brings nothing new ends it (over a page of fills in one millisecond
                # cannot be told apart by time: the venue's cursor would be needed).
                oldest = min(r.ts_ms for r in reports)
                if until_ms is None:
                    until_ms = max(r.ts_ms for r in reports)
                call = self.adapter.fills_older(symbol, since_ms, oldest + 1, pages, until_ms)
                continue
            last = max((r.ts_ms for r in fresh), default=since_ms)
            if last <= since_ms and len(fresh) < 2:
                break
            since_ms = last
            call = self.adapter.fills(symbol, since_ms)
        else:
            started_ns = 0  # over 50 pages: not a complete listing
        self.stats.fills_fetched += new
        if started_ns:
            self._check_fill_gaps(symbol, covered_ms, started_ns)
        return new, bool(started_ns)

    def _check_fill_gaps(self, symbol: str, since_ms: int, started_ns: int) -> None:
        """Alarms for fills a complete listing should have brought and did not.

        Orders it covered (sent after `since_ms`, on its symbol) whose venue-reported fills are
        still missing, though the venue reported them `_FILL_LISTING_LAG_NS` before the
        listing began.
        """
        every = self.adapter.lists_all_symbols
        for t in self.sm.fill_gaps():
            if not every and t.symbol != symbol:
                continue
            sent = self._sent_at.get(t.client_order_id)
            if t.adopted or sent is None or sent * 1000 < since_ms:
                continue  # not covered (an adopted order's fills may predate any listing)
            if t.fill_gap_ns and t.fill_gap_ns < started_ns - _FILL_LISTING_LAG_NS:
                self.sm.fill_gap_alarm(
                    t.client_order_id, "missing from a complete fills listing since the order"
                )
            elif t.client_order_id not in self._gap_recheck:
                # Too recent for this listing to prove anything: list again once it is not
                # (nothing else would before the next reconcile or query).
                delay = (t.fill_gap_ns + _FILL_LISTING_LAG_NS - time.time_ns()) / 1e9
                self._gap_recheck[t.client_order_id] = asyncio.get_running_loop().call_later(
                    max(0.0, delay) + 0.5, self._recheck_gap, t.client_order_id
                )

    def _recheck_gap(self, cid: str) -> None:
        self._gap_recheck.pop(cid, None)
        t = self.sm.get(cid)
        if t is not None and t.missing_fill_qty > 0 and not self.journal.closed:
            self._schedule_fills(t)

    async def reconcile(self) -> None:
        """Settles every order with the venue.

        Open orders first, then each of ours the venue no longer lists (queried by client id),
        then recent fills. Orders the venue has that the journal does not know are adopted and
        reported.
        """
        async with self._reconcile_lock:
            self.stats.reconciles += 1
            backoff = _backoff()
            listed: set[str] = set()
            every = self.adapter.lists_all_symbols and not self._entry_can("open_orders")
            for sym in [None] if every else self.symbols:
                for _ in range(self._max_attempts * 4):
                    try:
                        if self._entry_can("open_orders"):  # order-entry hook: mass status
                            reports = list(await self.order_entry.open_orders(sym))
                            break
                        resp = await self.rest.call(self.adapter.open_orders(sym))
                        reports = self.adapter.parse_open_orders(resp)
                        break
                    except (VenueError, OSError, TimeoutError) as exc:
                        await self._retry_pause(exc, backoff)
                else:
                    raise RetryableError("open orders unavailable", venue=self.venue)
                for raw in reports:
                    r = raw
                    if not r.client_order_id and r.venue_order_id:
                        r = _with_cid(r, self._by_venue_id.get(r.venue_order_id, ""))
                    listed.add(r.client_order_id)
                    self.apply_report(r)
            for t in list(self.sm.open_orders()):
                if t.client_order_id in listed and t.state is not OrderState.UNKNOWN:
                    continue
                await self._query_until_answered(t.client_order_id)
            # One fills fetch per symbol, or one for all where the venue's call has no filter.
            groups = [list(self.symbols)] if every else [[sym] for sym in self.symbols]
            for group in groups:
                starts = [self._fills_start_ms(sym) for sym in group]
                now_ms = int(time.time() * 1000)
                if await self._fetch_fills_retrying(group[0], min(starts)):
                    # Complete up to now: the next reconcile (in this process or, through the
                    # journal, the next one) lists from here, with a minute's margin.
                    for sym in group:
                        self._fills_since_ms[sym] = now_ms - 60_000
                        self.journal.write(
                            MarkerRecord(
                                _now_ns(),
                                "fills_synced",
                                {"symbol": sym, "since_ms": str(now_ms - 60_000)},
                            )
                        )
            self.journal.write(
                MarkerRecord(_now_ns(), "reconcile_done", {"open": str(len(self.sm.open_orders()))})
            )

    def _fills_start_ms(self, sym: str) -> int:
        """Where a reconcile's fills listing for `sym` starts.

        From the last complete listing (`fills_synced`, journaled), or further back for an
        order still missing fills the venue reported. Without a complete listing yet: from the
        oldest open order, or an hour back. An open order older than the last complete
        listing needs nothing before it: its earlier fills were in that listing (on a busy
        account, listing back to every long-resting order at each restart took the chaos
        run's Kraken workers minutes of API budget).
        """
        since = self._fills_since_ms.get(sym)
        oldest = min(
            (
                self._since_ms(t.client_order_id)
                for t in self.sm.orders()
                if t.symbol == sym
                and (t.missing_fill_qty > 0 or (since is None and not t.is_terminal))
            ),
            default=None,
        )
        known = [x for x in (since, oldest) if x is not None]
        return min(known) if known else int(time.time() * 1000) - 3_600_000

    async def _query_until_answered(self, cid: str) -> None:
        """Queries one order until the venue answers (bounded).

        On a nonce venue a query refused only for its nonce (another request with a later
        nonce arrived first) never reached the order: it does not count as an attempt, up to
        `_NONCE_REFUSALS_FREE` such refusals, so a burst of them cannot leave an order UNKNOWN
        until the next reconcile.
        """
        backoff = _backoff()
        attempts = 0
        free = _NONCE_REFUSALS_FREE if not self.adapter.signs_with_server_time else 0
        while attempts < self._max_attempts * 4:
            try:
                t = self._get(cid)
                wait = self._grace_left(cid)
                if wait > 0 and t.state in (OrderState.UNKNOWN, OrderState.PENDING_NEW):
                    await asyncio.sleep(wait)
                await self.query(cid)
                return
            except (VenueError, OSError, TimeoutError) as exc:
                if isinstance(exc, ClockSkewError) and free > 0:
                    free -= 1
                else:
                    attempts += 1
                await self._retry_pause(exc, backoff)

    async def _fetch_fills_retrying(
        self, symbol: str, since_ms: int, *, for_gaps: bool = False
    ) -> bool:
        """`_fetch_fills` retried on errors; True when a listing went through to its end."""
        backoff = _backoff()
        for _ in range(self._max_attempts * 4):
            try:
                _new, complete = await self._fetch_fills(symbol, since_ms, for_gaps=for_gaps)
                return complete
            except (VenueError, OSError, TimeoutError) as exc:
                await self._retry_pause(exc, backoff)
        return False

    async def settle(self, timeout_s: float = 30.0) -> bool:
        """Waits until no order is UNKNOWN or pending (reconciling as needed); True if so."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            unsettled = [
                t for t in self.sm.open_orders() if t.state is OrderState.UNKNOWN or t.pending
            ]
            if not unsettled:
                return True
            for t in unsettled:
                self._schedule_resolve(t.client_order_id, force=True)
            await asyncio.sleep(0.1)
        return False


def _with_cid(r: VenueReport, cid: str) -> VenueReport:
    return replace(r, client_order_id=cid)

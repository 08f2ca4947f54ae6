"""FIX connectivity probe: log on, send N limit orders, wait for their reports, log out, report.

`venuegate fix probe --host H --port P --sender S --target T --begin-string FIX.4.4 --orders N`
runs `probe()` and prints its `ProbeSummary` as JSON. It is the first thing to run against a new
venue session (does the Logon pass, are orders acknowledged, does the Logout handshake complete)
and the fixed interface the interop tests drive. See docs/FIX_INTEROP.md.

Latencies are wall-clock (`time.perf_counter_ns`) from just before `FixSession.send` returns to
the callback that receives the ExecutionReport, so they include our encoder, the journal write,
loopback or network transit, the venue's matching and our parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from venuegate.fix.codec import FixMessage, utc_timestamp
from venuegate.fix.session import Application, FixInitiator, FixSession, SessionSettings

if TYPE_CHECKING:
    from venuegate.fix.dialects import Dialect

__all__ = ["LatencyStats", "ProbeSummary", "probe"]

type BeginString = Literal["FIX.4.2", "FIX.4.4", "FIXT.1.1"]

_SIDES = {"buy": "1", "sell": "2", "1": "1", "2": "2"}
_ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})
_FINAL = frozenset({"2", "3", "4", "8", "C"})  # Filled, DoneForDay, Canceled, Rejected, Expired


class LatencyStats(msgspec.Struct, frozen=True):
    """Percentiles of a latency sample, in microseconds (0 when the sample is empty).

    Attributes:
        count: number of samples.
        p50_us: median.
        p90_us: 90th percentile.
        p99_us: 99th percentile.
        max_us: largest sample.
    """

    count: int = 0
    p50_us: float = 0.0
    p90_us: float = 0.0
    p99_us: float = 0.0
    max_us: float = 0.0

    @staticmethod
    def of(samples_ns: list[int]) -> LatencyStats:
        """Nearest-rank percentiles of `samples_ns` (nanoseconds) in microseconds."""
        if not samples_ns:
            return LatencyStats()
        ordered = sorted(samples_ns)

        def rank(q: float) -> float:
            index = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
            return round(ordered[index] / 1000, 1)

        return LatencyStats(
            count=len(ordered),
            p50_us=rank(0.50),
            p90_us=rank(0.90),
            p99_us=rank(0.99),
            max_us=round(ordered[-1] / 1000, 1),
        )


class ProbeSummary(msgspec.Struct, kw_only=True):
    """What one probe run saw.

    Attributes:
        session_id: "BEGINSTRING:SENDER->TARGET".
        logged_on: the Logon handshake completed.
        orders_requested: the `orders` asked for.
        orders_sent: NewOrderSingle messages sent.
        acknowledged: orders with at least one ExecutionReport that is not a reject.
        filled: orders whose last report said Filled (39=2).
        partially_filled: orders whose last report said PartiallyFilled (39=1).
        rejected: orders rejected by the venue (ExecutionReport 150=8 / 39=8, or a
            BusinessMessageReject whose 379 names the order).
        unanswered: orders that got no report before the timeout.
        session_rejects: session-level Rejects (35=3) received.
        session_reject_texts: their 373/58 (reason code and text), at most 20.
        business_rejects: BusinessMessageRejects (35=j) received.
        cancel_rejects: OrderCancelRejects (35=9) received.
        messages_in: messages received, by MsgType (session counters, admin included).
        messages_out: messages sent, by MsgType (replays and gap fills included).
        resend_requests_in: ResendRequests received (the venue saw a gap in ours).
        resend_requests_out: ResendRequests we sent (we saw a gap in the venue's).
        gap_fills_in: SequenceReset-GapFill messages received (and applied).
        gap_fills_out: SequenceReset-GapFill messages we sent answering ResendRequests.
        messages_replayed: application messages we replayed (PossDupFlag=Y).
        sequence_resets_in: SequenceReset-Reset messages received.
        duplicates_ignored: PossDup messages below the expected seq, ignored.
        garbled: garbled inbound messages ignored.
        first_ack_us: latency of the first order's first report.
        all_acks_us: from the first order sent to the last order's first report.
        ack_latency: per-order send → first report.
        final_latency: per-order send → final report (filled, canceled, rejected).
        orders_per_s: orders answered per second (first send → last first-report).
        duration_s: the whole run, connect to disconnect.
        logout_clean: we sent Logout and the venue answered with Logout.
        logout_text: the venue's Logout Text (58), if any.
        next_sender_seq: our next outgoing MsgSeqNum after the run.
        next_target_seq: the next MsgSeqNum we expect from the venue.
        error: why the run stopped early, if it did.
    """

    session_id: str
    logged_on: bool = False
    orders_requested: int = 0
    orders_sent: int = 0
    acknowledged: int = 0
    filled: int = 0
    partially_filled: int = 0
    rejected: int = 0
    unanswered: int = 0
    session_rejects: int = 0
    session_reject_texts: list[str] = msgspec.field(default_factory=list)
    business_rejects: int = 0
    cancel_rejects: int = 0
    messages_in: dict[str, int] = msgspec.field(default_factory=dict)
    messages_out: dict[str, int] = msgspec.field(default_factory=dict)
    resend_requests_in: int = 0
    resend_requests_out: int = 0
    gap_fills_in: int = 0
    gap_fills_out: int = 0
    messages_replayed: int = 0
    sequence_resets_in: int = 0
    duplicates_ignored: int = 0
    garbled: int = 0
    first_ack_us: float | None = None
    all_acks_us: float | None = None
    ack_latency: LatencyStats = msgspec.field(default_factory=LatencyStats)
    final_latency: LatencyStats = msgspec.field(default_factory=LatencyStats)
    orders_per_s: float | None = None
    duration_s: float = 0.0
    logout_clean: bool = False
    logout_text: str | None = None
    next_sender_seq: int | None = None
    next_target_seq: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Logged on, every order sent and answered (the CLI's exit status)."""
        return self.logged_on and self.orders_sent == self.orders_requested and self.unanswered == 0

    def to_json(self) -> bytes:
        """The summary as indented JSON."""
        return msgspec.json.format(msgspec.json.encode(self), indent=2)


class _ProbeApp(Application):
    """Matches ExecutionReports to the probe's orders; notes rejects and the Logout answer."""

    def __init__(self) -> None:
        self.session_reject_texts: list[str] = []
        self.business_rejects = 0
        self.cancel_rejects = 0
        self.logout_received = asyncio.Event()
        self.logout_initiated = False
        self.logout_answered = False
        self.logout_text: str | None = None
        self.sent_ns: dict[str, int] = {}
        self.first_ns: dict[str, int] = {}
        self.final_ns: dict[str, int] = {}
        self.status: dict[str, str] = {}
        self.rejected: set[str] = set()
        self.all_answered = asyncio.Event()
        self.progress = asyncio.Event()
        self.expected = 0

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        """Keeps session Reject details and the Logout answer."""
        msg_type = msg.msg_type
        if msg_type == "3":
            if len(self.session_reject_texts) < 20:
                self.session_reject_texts.append(
                    f"seq {msg.get(45)} tag {msg.get(371)} reason {msg.get(373)}: {msg.get(58)}"
                )
        elif msg_type == "5":
            self.logout_text = msg.get(58)
            self.logout_answered = self.logout_initiated
            self.logout_received.set()

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        """Matches ExecutionReports (and order BusinessMessageRejects) to the sent orders."""
        now = time.perf_counter_ns()
        msg_type = msg.msg_type
        if msg_type == "8":
            self._execution_report(msg, now)
        elif msg_type == "9":
            self.cancel_rejects += 1
        elif msg_type == "j":
            self.business_rejects += 1
            ref = msg.get(379)
            if ref is not None and ref in self.sent_ns and ref not in self.first_ns:
                self.rejected.add(ref)
                self._answered(ref, now, final=True)

    def _execution_report(self, msg: FixMessage, now: int) -> None:
        cl_ord_id = msg.get(11)
        if cl_ord_id is None or cl_ord_id not in self.sent_ns:
            cl_ord_id = msg.get(41)
            if cl_ord_id is None or cl_ord_id not in self.sent_ns:
                return
        exec_type = msg.get(150)
        status = msg.get(39) or ""
        if exec_type == "8" or status == "8":
            self.rejected.add(cl_ord_id)
        self.status[cl_ord_id] = status
        self._answered(cl_ord_id, now, final=status in _FINAL)

    def _answered(self, cl_ord_id: str, now: int, *, final: bool) -> None:
        if cl_ord_id not in self.first_ns:
            self.first_ns[cl_ord_id] = now
            self.progress.set()
            if len(self.first_ns) >= self.expected:
                self.all_answered.set()
        if final and cl_ord_id not in self.final_ns:
            self.final_ns[cl_ord_id] = now


def _order_fields(
    begin_string: str, cl_ord_id: str, symbol: str, side: str, qty: Decimal, price: Decimal
) -> list[tuple[int, Any]]:
    fields: list[tuple[int, Any]] = [(11, cl_ord_id)]
    if begin_string == "FIX.4.2":
        fields.append((21, "1"))  # HandlInst: required in FIX 4.2 only
    fields += [
        (55, symbol),
        (54, side),
        (60, utc_timestamp()),
        (38, qty),
        (40, "2"),  # limit
        (44, price),
        (59, "1"),  # GTC
    ]
    return fields


async def probe(  # noqa: PLR0912, PLR0915 - one linear run
    host: str,
    port: int,
    sender: str,
    target: str,
    begin_string: BeginString | None = None,
    orders: int = 1,
    reset_seq: bool = False,
    symbol: str = "BTC-USD",
    price: Decimal | str = "100",
    qty: Decimal | str = "0.001",
    side: str = "buy",
    timeout_s: float = 30.0,
    ssl: bool = False,
    heartbeat_s: int = 30,
    store_path: str | None = None,
    dialect: Dialect | None = None,
    ssl_verify: bool = True,
    window: int = 0,
) -> ProbeSummary:
    """Logs on, sends `orders` limit NewOrderSingle messages, waits for their reports, logs out.

    Args:
        host: the acceptor's host.
        port: the acceptor's port.
        sender: our SenderCompID (49); empty to keep the dialect's.
        target: the venue's TargetCompID (56); empty to keep the dialect's.
        begin_string: "FIX.4.2", "FIX.4.4" or "FIXT.1.1" (FIX 5.0 SP2 application messages);
            None: the dialect's, else "FIX.4.4".
        orders: how many orders to send (each with a fresh UUID ClOrdID).
        reset_seq: send ResetSeqNumFlag (141=Y) on Logon.
        symbol: Symbol (55).
        price: limit price (44), exact decimal.
        qty: OrderQty (38), exact decimal.
        side: "buy" or "sell" (or "1" / "2").
        timeout_s: the budget for logon plus all answers.
        ssl: connect with TLS (certificate verified unless `ssl_verify` is False).
        heartbeat_s: HeartBtInt (108) asked for.
        store_path: the session store (sequence numbers survive runs); None keeps it in memory.
        dialect: a venue dialect (signed Logon, venue settings); host/port/sender/target and the
            options above override its settings.
        ssl_verify: verify the acceptor's certificate (turning it off must be explicit).
        window: at most this many orders awaiting their first report (1 measures unloaded
            round trips); 0 sends them all at once (throughput, latencies include queueing).

    Returns:
        The run's `ProbeSummary` (never raises for a venue's behaviour; `error` says what
        stopped the run early).

    Raises:
        ValueError: `side` is not buy/sell, or `orders` is negative, or a float price/qty.
    """
    if orders < 0 or window < 0:
        raise ValueError("orders and window must be >= 0")
    fix_side = _SIDES.get(side.lower())
    if fix_side is None:
        raise ValueError(f"side must be buy or sell, got {side!r}")
    given: tuple[object, object] = (price, qty)  # callers outside the type checker
    if any(isinstance(value, float) for value in given):
        raise ValueError("price and qty must be Decimal or str, never float")
    dec_price, dec_qty = Decimal(price), Decimal(qty)

    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "heartbeat_interval_s": heartbeat_s,
        "reset_on_logon": reset_seq,
        "store_path": store_path,
        "ssl": ssl,
        "ssl_verify": ssl_verify,
        "logon_timeout_s": max(timeout_s, 1.0),
    }
    if sender:
        overrides["sender_comp_id"] = sender
    if target:
        overrides["target_comp_id"] = target
    if begin_string is not None:
        overrides["begin_string"] = begin_string
        if begin_string == "FIXT.1.1":
            overrides["default_appl_ver_id"] = "9"
    elif dialect is None:
        overrides["begin_string"] = "FIX.4.4"
    app = _ProbeApp()
    if dialect is not None:
        settings = dialect.settings(**overrides)
        session_app: Application = dialect.application(app)
    else:
        settings = SessionSettings(**overrides)
        session_app = app
    summary = ProbeSummary(session_id=settings.session_id, orders_requested=orders)
    started = time.perf_counter_ns()
    deadline = time.monotonic() + timeout_s
    initiator = FixInitiator(settings, session_app)
    first_sent_ns: int | None = None
    try:
        await initiator.start()
        if not await _wait_logged_on(initiator, deadline):
            last = initiator.last_error
            summary.error = "logon failed" + (
                f" ({type(last).__name__}: {last})" if last is not None else " (timed out)"
            )
        session = initiator.session
        summary.logged_on = session.logged_on.is_set()
        if summary.logged_on:
            app.expected = orders
            if orders == 0:
                app.all_answered.set()
            run_id = uuid.uuid4().hex[:8]
            for i in range(orders):
                while window and len(app.sent_ns) - len(app.first_ns) >= window:
                    app.progress.clear()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(app.progress.wait(), left)
                if time.monotonic() >= deadline:
                    summary.error = "timed out sending orders"
                    break
                cl_ord_id = f"vg{run_id}{i:06d}"
                fields = _order_fields(
                    settings.begin_string, cl_ord_id, symbol, fix_side, dec_qty, dec_price
                )
                app.sent_ns[cl_ord_id] = time.perf_counter_ns()
                if first_sent_ns is None:
                    first_sent_ns = app.sent_ns[cl_ord_id]
                await session.send("D", fields)
                summary.orders_sent += 1
            try:
                await asyncio.wait_for(
                    app.all_answered.wait(), max(deadline - time.monotonic(), 0.001)
                )
            except TimeoutError:
                summary.error = "timed out waiting for execution reports"
            if session.logged_on.is_set():
                app.logout_initiated = True
                try:
                    await asyncio.wait_for(session.logout("probe done"), 10.0)
                    await asyncio.wait_for(app.logout_received.wait(), 5.0)
                except TimeoutError:
                    pass
    except Exception as exc:  # the probe reports, it does not crash
        summary.error = f"{type(exc).__name__}: {exc}"
    finally:
        await initiator.stop()
    session = initiator.session
    summary.next_sender_seq = session.next_sender_seq
    summary.next_target_seq = session.next_target_seq
    stats = session.stats
    summary.messages_in = dict(sorted(stats.messages_in.items()))
    summary.messages_out = dict(sorted(stats.messages_out.items()))
    summary.session_rejects = stats.rejects_received
    summary.resend_requests_in = stats.resend_requests_received
    summary.resend_requests_out = stats.resend_requests_sent
    summary.gap_fills_in = stats.gap_fills_received
    summary.gap_fills_out = stats.gap_fills_sent
    summary.messages_replayed = stats.messages_replayed
    summary.sequence_resets_in = stats.sequence_resets_received
    summary.duplicates_ignored = stats.duplicates_ignored
    summary.garbled = stats.garbled
    summary.duration_s = round((time.perf_counter_ns() - started) / 1e9, 3)
    _fill(summary, app, first_sent_ns)
    return summary


async def _wait_logged_on(initiator: FixInitiator, deadline: float) -> bool:
    """Waits for the Logon until `deadline`; gives up at once on a certificate failure."""
    while (left := deadline - time.monotonic()) > 0:
        if await initiator.wait_logged_on(min(left, 0.1)):
            return True
        if isinstance(initiator.last_error, _ssl.SSLCertVerificationError):
            return False  # retrying cannot help; never fall back to an unverified connection
    return initiator.session.logged_on.is_set()


def _fill(summary: ProbeSummary, app: _ProbeApp, first_sent_ns: int | None) -> None:
    """Copies the application's counts and latencies into the summary."""
    summary.rejected = len(app.rejected)
    summary.acknowledged = sum(1 for c in app.first_ns if c not in app.rejected)
    summary.filled = sum(1 for s in app.status.values() if s == "2")
    summary.partially_filled = sum(1 for s in app.status.values() if s == "1")
    summary.unanswered = summary.orders_sent - len(app.first_ns)
    summary.session_reject_texts = app.session_reject_texts
    summary.business_rejects = app.business_rejects
    summary.cancel_rejects = app.cancel_rejects
    summary.logout_clean = app.logout_answered
    summary.logout_text = app.logout_text
    acks = [app.first_ns[c] - app.sent_ns[c] for c in app.first_ns]
    finals = [app.final_ns[c] - app.sent_ns[c] for c in app.final_ns]
    summary.ack_latency = LatencyStats.of(acks)
    summary.final_latency = LatencyStats.of(finals)
    if app.first_ns and first_sent_ns is not None:
        first = min(app.sent_ns, key=app.sent_ns.__getitem__)
        if first in app.first_ns:
            summary.first_ack_us = round((app.first_ns[first] - app.sent_ns[first]) / 1000, 1)
        last = max(app.first_ns.values())
        summary.all_acks_us = round((last - first_sent_ns) / 1000, 1)
        if last > first_sent_ns:
            summary.orders_per_s = round(len(app.first_ns) / ((last - first_sent_ns) / 1e9), 1)

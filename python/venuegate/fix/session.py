"""The FIX session layer: asyncio initiator and acceptor for FIX 4.2, 4.4 and FIXT 1.1.

API deviations from the shared spec (additions only, nothing renamed):

* `SessionSettings` also has `extra_dictionaries` (venue extension XML files); `validate` is a
  field named as in the spec (it shadows Pydantic's deprecated `BaseModel.validate`).
* `FixSession.enabled` (False after `logout()`: an initiator stops reconnecting until `start()`),
  `FixSession.store`, `.encoder`, `.dictionary`, `.heartbeat_interval_s` (the negotiated
  HeartBtInt), `.connected`, `.is_logged_on`, `.last_logout_reason`, `send_nowait()` (`send`
  without awaiting the transport drain), `wait_disconnected()`, `attach()` / `start_logon()`
  (used by the initiator and acceptor), `FixInitiator(..., store=...)`, `.connects`,
  `.last_error`, `FixAcceptor(..., stores=...)` (a store per session id, e.g. a `MemoryStore`),
  `FixAcceptor.connections`, `SessionState.AWAITING_LOGON` (acceptor, before the Logon).
* `BusinessReject(reason, text, ref_tag=None, ref_id=None)`: `ref_id` is sent as
  BusinessRejectRefID (379); `ref_tag` is only named in the Text (58) since 35=j has no 371.
* Replayed application messages are rebuilt from the stored bytes (43=Y, 122 = the original 52);
  `to_app` is not called again for them.

The behaviour follows the FIX session-layer specification (and QuickFIX's `Session.cpp`, read
for reference): see docs/FIX_SESSION.md for every rule, the settings and the store format.
Inbound messages are processed synchronously as the transport delivers them (one native framer
call per read); timers (heartbeat, TestRequest, logon and logout timeouts, the schedule) run in
one monitor task per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from venuegate.errors import ConfigError, RetryClass, VenuegateError
from venuegate.fix import messages as m
from venuegate.fix.codec import (
    SPEC_DIR,
    FixDictionary,
    FixEncoder,
    FixError,
    FixMessage,
    FixValidationError,
    parse,
    parse_utc_timestamp,
    utc_timestamp,
)
from venuegate.fix.messages import ADMIN_TYPES, HEADER_TAGS, MsgType, SessionRejectReason, Tag
from venuegate.fix.settings import SessionSchedule, SessionSettings
from venuegate.fix.store import JournalStore, MemoryStore, MessageStore
from venuegate.fix.transport import FixConnection, client_ssl_context, open_connection
from venuegate.net.backoff import Backoff

__all__ = [
    "Application",
    "BusinessReject",
    "FixAcceptor",
    "FixInitiator",
    "FixSession",
    "NotLoggedOnError",
    "RejectLogon",
    "SessionReject",
    "SessionSchedule",
    "SessionSettings",
    "SessionState",
    "SessionStats",
]

log = logging.getLogger("venuegate.fix.session")

# What still passes while our mid-session reset waits for the peer's answering Logon.
_RESET_PASS = frozenset({MsgType.LOGON, MsgType.LOGOUT})

type Fields = list[tuple[int, Any]]
type OutboundFilter = Callable[[int, bytes], bytes | list[bytes] | None]

_TEST_REQUEST_FACTOR = 1.2  # TestRequest after HeartBtInt * 1.2 of silence
_TIMEOUT_FACTOR = 2.4  # disconnect after HeartBtInt * 2.4 of silence (TestRequest unanswered)


class SessionState(StrEnum):
    """Where a session is in its life cycle."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    AWAITING_LOGON = "awaiting_logon"
    LOGON_SENT = "logon_sent"
    LOGGED_ON = "logged_on"
    RESENDING = "resending"
    LOGOUT_SENT = "logout_sent"


class NotLoggedOnError(VenuegateError):
    """An application message was sent while the session is not logged on (nothing sent)."""

    retry_class = RetryClass.RETRYABLE


class RejectLogon(VenuegateError):
    """Raised by `Application.from_admin` to refuse a Logon; the text goes in the Logout (58).

    Attributes:
        text: the Logout text.
    """

    retry_class = RetryClass.AUTH

    def __init__(self, text: str = "Logon rejected") -> None:
        super().__init__(text)
        self.text = text


class BusinessReject(VenuegateError):
    """Raised by `Application.from_app` to answer a message with BusinessMessageReject (j).

    Attributes:
        reason: BusinessRejectReason (380).
        text: Text (58).
        ref_tag: the offending tag (named in the text; 35=j has no RefTagID).
        ref_id: BusinessRejectRefID (379), e.g. the ClOrdID.
    """

    def __init__(
        self,
        reason: int = m.BusinessRejectReason.OTHER,
        text: str = "",
        ref_tag: int | None = None,
        ref_id: str | None = None,
    ) -> None:
        super().__init__(text or f"business reject {reason}")
        self.reason = reason
        self.text = text
        self.ref_tag = ref_tag
        self.ref_id = ref_id


class SessionReject(VenuegateError):
    """Raised by `Application.from_app` / `from_admin` to answer with a session Reject (3).

    Attributes:
        reason: SessionRejectReason (373).
        text: Text (58).
        tag: RefTagID (371).
    """

    def __init__(
        self, reason: int = SessionRejectReason.OTHER, text: str = "", tag: int | None = None
    ) -> None:
        super().__init__(text or f"session reject {reason}")
        self.reason = reason
        self.text = text
        self.tag = tag


class Application:
    """Callbacks of a FIX session; subclass and override what you need (all do nothing)."""

    def on_create(self, session: FixSession) -> None:
        """The session object was created."""

    def on_logon(self, session: FixSession) -> None:
        """The Logon handshake completed."""

    def on_logout(self, session: FixSession, reason: str) -> None:
        """A logged-on session ended (Logout, disconnect, timeout); `reason` says why."""

    def to_admin(
        self,
        session: FixSession,
        msg_type: str,
        seq_num: int,
        sending_time: str,
        fields: list[tuple[int, Any]],
    ) -> None:
        """An admin message is about to be encoded: mutate `fields` (Logon credentials)."""

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        """An admin message arrived (raise `RejectLogon` to refuse a Logon)."""

    def to_app(self, session: FixSession, msg_type: str, fields: list[tuple[int, Any]]) -> None:
        """An application message is about to be encoded: mutate `fields` if needed."""

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        """An application message arrived: exactly once per message, in sequence order.

        Raise `BusinessReject` or `SessionReject` to answer it with a reject.
        """

    def may_resend(self, seq_num: int, msg_type: str) -> bool:
        """Whether our stored message `seq_num` may be replayed (43=Y) on a ResendRequest.

        False gap-fills it instead (QuickFIX's `DoNotSend` in `toApp` on a resend): the order
        layer says no for an order message whose outcome it is resolving by query, so a stale
        order never reaches the venue late. Default: True.
        """
        del seq_num, msg_type
        return True


@dataclass
class SessionStats:
    """Counters of one session (since the process started).

    Attributes:
        messages_in: inbound messages by MsgType (processed or not).
        messages_out: outbound messages by MsgType (replays and gap fills included).
        resend_requests_sent: ResendRequests we sent (gaps detected).
        resend_requests_received: ResendRequests we answered.
        messages_replayed: application messages replayed (43=Y).
        gap_fills_sent: SequenceReset-GapFill messages sent.
        gap_fills_received: SequenceReset-GapFill messages applied.
        sequence_resets_received: SequenceReset-Reset messages applied.
        rejects_sent: session Rejects (3) sent.
        rejects_received: session Rejects (3) received.
        business_rejects_sent: BusinessMessageRejects (j) sent.
        garbled: garbled inbound messages ignored.
        duplicates_ignored: PossDup messages below the expected seq ignored.
        queued: messages queued behind a gap.
        test_requests_sent: TestRequests sent on silence.
        heartbeat_timeouts: disconnects for an unanswered TestRequest.
        logons: completed Logon handshakes.
        disconnects: connections ended.
        app_errors: unexpected exceptions raised by application callbacks.
        pre_reset_dropped: messages numbered before a mid-session reset of ours, which arrived
            before the peer's answering Logon (141=Y) and were dropped (see `reset_seq_nums`).
        unrecoverable_at_reset: seqs missing behind a gap when a sequence reset ended the resend
            (the messages queued after them were delivered).
        delivered_past_reset: queued messages a SequenceReset (GapFill or Reset) skipped over,
            delivered before the target moved.
    """

    messages_in: Counter[str] = field(default_factory=Counter)
    messages_out: Counter[str] = field(default_factory=Counter)
    resend_requests_sent: int = 0
    resend_requests_received: int = 0
    messages_replayed: int = 0
    gap_fills_sent: int = 0
    gap_fills_received: int = 0
    sequence_resets_received: int = 0
    rejects_sent: int = 0
    rejects_received: int = 0
    business_rejects_sent: int = 0
    garbled: int = 0
    duplicates_ignored: int = 0
    queued: int = 0
    test_requests_sent: int = 0
    heartbeat_timeouts: int = 0
    logons: int = 0
    disconnects: int = 0
    app_errors: int = 0
    pre_reset_dropped: int = 0
    unrecoverable_at_reset: int = 0
    delivered_past_reset: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The counters as plain data (JSON-ready)."""
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            out[name] = dict(value) if isinstance(value, Counter) else value
        return out


_DICTIONARIES: dict[tuple[str, str | None, tuple[str, ...]], FixDictionary] = {}


def _spec_path(name: str) -> str:
    path = Path(name)
    if not path.exists() and not path.is_absolute():
        path = Path(SPEC_DIR) / name
    return str(path)


def load_dictionary(settings: SessionSettings) -> FixDictionary | None:
    """The session's data dictionary (cached per file set), or None when none is configured.

    Raises:
        ConfigError: a dictionary file cannot be loaded.
    """
    if settings.dictionary is None:
        return None
    key = (settings.dictionary, settings.app_dictionary, settings.extra_dictionaries)
    found = _DICTIONARIES.get(key)
    if found is None:
        try:
            app = None if settings.app_dictionary is None else _spec_path(settings.app_dictionary)
            found = FixDictionary.load(_spec_path(settings.dictionary), app)
            for extra in settings.extra_dictionaries:
                found.extend(_spec_path(extra))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load FIX dictionary: {exc}") from None
        _DICTIONARIES[key] = found
    return found


def make_store(settings: SessionSettings) -> MessageStore:
    """A `JournalStore` at `settings.store_path`, else a `MemoryStore`."""
    if settings.store_path is None:
        return MemoryStore()
    return JournalStore(settings.store_path, settings.fsync)


def _now_ns() -> int:
    return time.time_ns()


class FixSession:
    """One FIX session (a sender/target CompID pair) across its connections.

    Created by `FixInitiator` / `FixAcceptor`; applications use `send`, `logout`,
    `reset_seq_nums`, the state and the counters. Simulators use the fault hooks:
    `outbound_filter`, `skip_seq`, `drop_connection` and `pause_heartbeats`.

    Args:
        settings: the session's settings.
        app: its callbacks.
        initiator: True for the connecting side.
        store: sequence numbers and sent messages (default: from `settings.store_path`).

    Attributes:
        settings: the settings.
        app: the application.
        state: the `SessionState`.
        session_id: "BEGINSTRING:SENDER->TARGET".
        logged_on: set while logged on.
        stats: the `SessionStats` counters.
        outbound_filter: fault hook: `f(seq, raw)` returns the bytes to write instead (None
            drops the message, a list writes several); applies to replays and gap fills too.
        enabled: False after `logout()` (an initiator stops reconnecting).
    """

    def __init__(
        self,
        settings: SessionSettings,
        app: Application | None = None,
        *,
        initiator: bool = True,
        store: MessageStore | None = None,
    ) -> None:
        self.settings = settings
        self.app = app or Application()
        self.initiator = initiator
        self.session_id = settings.session_id
        self.store = store if store is not None else make_store(settings)
        self.encoder = FixEncoder(
            settings.begin_string,
            settings.sender_comp_id,
            settings.target_comp_id,
            header=list(settings.extra_header) or None,
        )
        self.dictionary = load_dictionary(settings) if settings.validate else None
        self.state = SessionState.DISCONNECTED
        self.logged_on = asyncio.Event()
        self.stats = SessionStats()
        self.outbound_filter: OutboundFilter | None = None
        self.enabled = True
        self.heartbeat_interval_s = settings.heartbeat_interval_s
        self.last_logout_reason = ""
        self._extra_header_tags = frozenset(t for t, _ in settings.extra_header)
        self._conn: FixConnection | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._disconnected = asyncio.Event()
        self._disconnected.set()
        self._heartbeats_paused = False
        self._reset_conn_state()
        self.app.on_create(self)

    def _reset_conn_state(self) -> None:
        now = time.monotonic()
        self._connected_at = now
        self._last_sent = now
        self._last_received = now
        self._test_requests = 0
        self._test_req_id: str | None = None
        self._logout_sent_at: float | None = None
        self._sent_reset = False
        self._pre_reset_target: int | None = None  # old next target seq during our reset
        self._reset_sent_at = 0.0  # monotonic time of our mid-session reset Logon
        self._received_logon = False
        self._queue: dict[int, tuple[FixMessage, bool]] = {}
        self._resend_range: tuple[int, int] | None = None
        self._closing = False
        self._logout_reason = ""

    def __repr__(self) -> str:
        return (
            f"FixSession({self.session_id!r}, state={self.state.value}, "
            f"next_sender_seq={self.next_sender_seq}, next_target_seq={self.next_target_seq})"
        )

    # -- public ------------------------------------------------------------------------------
    @property
    def next_sender_seq(self) -> int:
        """The MsgSeqNum our next message gets."""
        return self.store.next_sender_seq

    @property
    def next_target_seq(self) -> int:
        """The MsgSeqNum expected next from the counterparty."""
        return self.store.next_target_seq

    @property
    def connected(self) -> bool:
        """True while a connection is attached and open."""
        return self._conn is not None and self._conn.is_open and not self._closing

    @property
    def is_logged_on(self) -> bool:
        """True while logged on (resending included)."""
        return self.state in (SessionState.LOGGED_ON, SessionState.RESENDING)

    async def send(self, msg_type: str, fields: Sequence[tuple[int, Any]]) -> int:
        """Sends an application message; returns its MsgSeqNum.

        The message (seq and bytes) is persisted in the store before it is written.

        Raises:
            NotLoggedOnError: the session is not logged on (nothing sent).
            FixError: a field value the encoder refuses (nothing sent, no seq used).
        """
        if not self.is_logged_on or not self.connected:
            raise NotLoggedOnError(f"{self.session_id}: not logged on ({self.state.value})")
        seq = self._send(msg_type, list(fields), admin=msg_type in ADMIN_TYPES)
        conn = self._conn
        if conn is not None:
            await conn.drain()
        return seq

    def send_nowait(self, msg_type: str, fields: Sequence[tuple[int, Any]]) -> int:
        """`send` without waiting for the transport buffer to drain (same errors)."""
        if not self.is_logged_on or not self.connected:
            raise NotLoggedOnError(f"{self.session_id}: not logged on ({self.state.value})")
        return self._send(msg_type, list(fields), admin=msg_type in ADMIN_TYPES)

    async def logout(self, text: str = "") -> None:
        """Logs out (handshake, then disconnect) and disables reconnecting; works in any state.

        Logged on: sends Logout and waits up to `logout_timeout_s` for the answer. Connecting
        or awaiting a Logon: disconnects. Disconnected: only disables reconnecting.
        """
        self.enabled = False
        if self.is_logged_on and self.connected:
            self._send_logout(text)
        elif self.state != SessionState.LOGOUT_SENT:
            self._disconnect(text or "logout")
        await self.wait_disconnected(self.settings.logout_timeout_s + 1.0)
        if self._conn is not None:
            self._disconnect("logout timeout")

    async def reset_seq_nums(self) -> None:
        """Resets both sequence numbers to 1 with a Logon carrying 141=Y (while logged on).

        Raises:
            NotLoggedOnError: not logged on.
        """
        if not self.is_logged_on or not self.connected:
            raise NotLoggedOnError(f"{self.session_id}: not logged on ({self.state.value})")
        queued_max = max(self._queue, default=0)
        # In-flight messages of the old numbering continue after what was received (the queue
        # is delivered now), so a replay of those is not delivered twice.
        self._pre_reset_target = max(self.store.next_target_seq, queued_max + 1)
        self.store.reset()
        self._flush_queue_on_reset()
        self._sent_reset = True
        self._reset_sent_at = time.monotonic()
        self._send_logon(reset=True)

    async def wait_disconnected(self, timeout_s: float | None = None) -> bool:
        """Waits until no connection is attached; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._disconnected.wait()
        except TimeoutError:
            return False
        return True

    # -- fault hooks ---------------------------------------------------------------------------
    def skip_seq(self, n: int = 1) -> None:
        """Fault: jumps our outbound seq by `n`, leaving a gap the peer must resend-request."""
        self.store.set_next_sender_seq(self.store.next_sender_seq + n)

    def drop_connection(self) -> None:
        """Fault: drops the connection at once, without Logout."""
        if self._conn is not None:
            self._conn.abort()

    def pause_heartbeats(self, paused: bool = True) -> None:
        """Fault: stops (or resumes) our Heartbeats and answers to TestRequests."""
        self._heartbeats_paused = paused

    # -- connection life cycle -------------------------------------------------------------
    def attach(self, conn: FixConnection) -> None:
        """Binds a new connection (called by the initiator and the acceptor)."""
        self._conn = conn
        conn.handler = self
        self._disconnected.clear()
        self._reset_conn_state()
        self.heartbeat_interval_s = self.settings.heartbeat_interval_s
        self._daily_reset()
        self.state = SessionState.CONNECTING if self.initiator else SessionState.AWAITING_LOGON
        self._monitor_task = asyncio.get_running_loop().create_task(
            self._monitor(conn), name=f"fix-monitor-{self.session_id}"
        )
        log.info("%s: connected to %s", self.session_id, conn.peer)

    def start_logon(self) -> None:
        """Initiator: sends the Logon (with 141=Y when `reset_on_logon`)."""
        reset = self.settings.reset_on_logon
        if reset:
            self.store.reset()
            self._sent_reset = True
        self._send_logon(reset=reset)
        self.state = SessionState.LOGON_SENT

    def _daily_reset(self) -> None:
        schedule = self.settings.schedule
        if schedule is None:
            return
        start = schedule.session_start()
        if start is not None and self.store.creation_time_ns < int(start.timestamp() * 1e9):
            log.info("%s: new session window: sequence numbers reset", self.session_id)
            self.store.reset()

    def _disconnect(self, reason: str) -> None:
        conn = self._conn
        if conn is None:
            return
        self._closing = True
        self._logout_reason = self._logout_reason or reason
        conn.close()
        self._detach(conn, reason)

    def _detach(self, conn: FixConnection, reason: str) -> None:
        if conn is not self._conn:
            return
        self._conn = None
        self._closing = True
        was_logged_on = self.is_logged_on or self.state == SessionState.LOGOUT_SENT
        was_logged_on = was_logged_on and self._received_logon
        self.state = SessionState.DISCONNECTED
        self.logged_on.clear()
        self.stats.disconnects += 1
        task = self._monitor_task
        self._monitor_task = None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        reason = self._logout_reason or reason
        self.last_logout_reason = reason
        log.info("%s: disconnected (%s)", self.session_id, reason)
        self._queue.clear()
        self._resend_range = None
        if self.settings.reset_on_disconnect:
            self.store.reset()
        self._disconnected.set()
        if was_logged_on:
            self._call(self.app.on_logout, self, reason)

    # -- ConnectionHandler ---------------------------------------------------------------------
    def on_connection_lost(self, conn: FixConnection, exc: Exception | None) -> None:
        """The transport closed."""
        self._detach(conn, "connection lost" if exc is None else f"connection lost: {exc}")

    def on_items(self, conn: FixConnection, items: list[FixMessage | FixError]) -> None:
        """Processes the messages of one read, in order."""
        for item in items:
            if conn is not self._conn or self._closing:
                return
            if isinstance(item, FixError):
                self.stats.garbled += 1
                log.warning("%s: garbled message ignored: %s", self.session_id, item.reason)
                continue
            self._last_received = time.monotonic()
            self._test_requests = 0
            self.stats.messages_in[item.msg_type] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s: in  %s", self.session_id, m.mask_raw(item.raw))
            try:
                self._on_message(item)
                self._drain_queue()
            except FixError as exc:
                self._reject(item, SessionRejectReason.INCORRECT_DATA_FORMAT, exc.reason, exc.tag)
                self._incr_if_expected(item)

    # -- inbound ---------------------------------------------------------------------------
    def _on_message(self, msg: FixMessage, queued: bool = False) -> None:
        msg_type = msg.msg_type
        if not self._received_logon and msg_type not in (MsgType.LOGON, MsgType.LOGOUT):
            log.warning(
                "%s: first message is %s, not a Logon: disconnecting", self.session_id, msg_type
            )
            self._disconnect("first message not Logon")
            return
        if self._sent_reset and self._received_logon and msg_type not in _RESET_PASS:
            # We reset mid-session and the peer has not answered with its own 141=Y Logon yet:
            # this message was sent before the peer saw our reset, numbered in the old sequence
            # (which both stores have discarded, so it can never be resent). The next one in
            # that old order is delivered (an in-flight ExecutionReport is not lost); anything
            # else would open a gap no resend can fill, so it is dropped and counted.
            old_next = self._pre_reset_target
            if old_next is not None and msg.seq_num == old_next:
                self._pre_reset_target = old_next + 1
                if msg_type not in ADMIN_TYPES:
                    self._deliver_app(msg)
                return
            self.stats.pre_reset_dropped += 1
            log.warning(
                "%s: %s seq %d numbered before our sequence reset: dropped",
                self.session_id,
                msg_type,
                msg.seq_num,
            )
            return
        handler = self._HANDLERS.get(msg_type)
        if handler is not None:
            handler(self, msg, queued)
        else:
            self._on_app(msg, queued)

    def _deliver_skipped(self, new_seq: int) -> None:
        """Delivers queued app messages a SequenceReset is about to skip (seq < `new_seq`).

        They arrived live behind a gap and were never processed; a venue that answers a
        ResendRequest with one GapFill up to its next seq (instead of replaying) would otherwise
        make them vanish. They go to the application in their order, before the target moves.
        """
        skipped = sorted(seq for seq in self._queue if seq < new_seq)
        if not skipped:
            return
        log.warning(
            "%s: SequenceReset to %d skips %d message(s) received behind the gap: delivered",
            self.session_id,
            new_seq,
            len(skipped),
        )
        for seq in skipped:
            msg, consumed = self._queue.pop(seq)
            if not consumed and msg.msg_type not in ADMIN_TYPES:
                self.stats.delivered_past_reset += 1
                self._deliver_app(msg)

    def _flush_queue_on_reset(self) -> None:
        """Ends a pending resend at a sequence reset: queued app messages are delivered.

        The messages queued behind a gap were sent in the old numbering and never processed;
        after a reset the gap can no longer be resent, so they are delivered in their order
        (nothing applied twice, nothing queued lost) and the holes are reported.
        """
        queue = self._queue
        if queue:
            holes = sorted(set(range(min(queue), max(queue) + 1)) - set(queue))
            log.warning(
                "%s: sequence reset with %d message(s) queued behind a gap: delivered in order; "
                "%d missing seq(s) before the reset can no longer be resent",
                self.session_id,
                len(queue),
                len(holes),
            )
            self.stats.unrecoverable_at_reset += len(holes)
            for seq in sorted(queue):
                msg, consumed = queue[seq]
                if not consumed and msg.msg_type not in ADMIN_TYPES:
                    self._deliver_app(msg)
            queue.clear()
        self._resend_range = None

    def _drain_queue(self) -> None:
        queue = self._queue
        while queue and self._conn is not None and not self._closing:
            expected = self.store.next_target_seq
            for stale in [s for s in queue if s < expected]:
                del queue[stale]
            item = queue.pop(expected, None)
            if item is None:
                break
            msg, consumed = item
            if consumed:  # a Logon or ResendRequest already acted on when it arrived
                self.store.incr_next_target_seq()
                self._check_resend_done()
            else:
                self._on_message(msg, queued=True)
        if queue and self._resend_range is None and self._conn is not None and not self._closing:
            # Holes remain behind the queued messages and no resend is pending: ask again.
            self._send_resend_request(max(queue))

    def _verify(  # noqa: PLR0911 - one exit per failed check
        self, msg: FixMessage, *, too_high: bool = True, too_low: bool = True, queued: bool = False
    ) -> bool:
        """Header checks then sequence checks; False when the message must not be processed."""
        if msg.begin_string != self.settings.begin_string:
            self._send_logout(f"Incorrect BeginString {msg.begin_string}", disconnect=True)
            return False
        sender = msg.get(Tag.SENDER_COMP_ID)
        target = msg.get(Tag.TARGET_COMP_ID)
        if sender != self.settings.target_comp_id or target != self.settings.sender_comp_id:
            bad = (
                Tag.SENDER_COMP_ID if sender != self.settings.target_comp_id else Tag.TARGET_COMP_ID
            )
            self._reject(msg, SessionRejectReason.COMPID_PROBLEM, "CompID problem", bad)
            self._send_logout("CompID problem", disconnect=True)
            return False
        if not queued and not self._good_time(msg):
            return False
        seq = msg.seq_num
        if seq <= 0:
            self._send_logout("MsgSeqNum(34) missing", disconnect=True)
            return False
        expected = self.store.next_target_seq
        if too_high and seq > expected:
            self._target_too_high(msg)
            return False
        if too_low and seq < expected:
            self._target_too_low(msg)
            return False
        return True

    def _good_time(self, msg: FixMessage) -> bool:
        value = msg.get(Tag.SENDING_TIME)
        if value is None:
            self._reject(msg, SessionRejectReason.REQUIRED_TAG_MISSING, "", Tag.SENDING_TIME)
            self._incr_if_expected(msg)
            return False
        try:
            sent_ns = parse_utc_timestamp(value)
        except FixError:
            self._reject(msg, SessionRejectReason.INCORRECT_DATA_FORMAT, "", Tag.SENDING_TIME)
            self._incr_if_expected(msg)
            return False
        if self.settings.check_latency and (
            abs(_now_ns() - sent_ns) > self.settings.max_latency_s * 1e9
        ):
            self._reject(
                msg, SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM, "", Tag.SENDING_TIME
            )
            self._send_logout("SendingTime accuracy problem", disconnect=True)
            return False
        return True

    def _target_too_high(self, msg: FixMessage, consumed: bool = False) -> None:
        seq = msg.seq_num
        if len(self._queue) >= self.settings.max_queued and seq not in self._queue:
            # The gap is not closing while the peer keeps sending: drop the connection rather
            # than hold an unbounded queue. Nothing is lost: what was queued is resent after the
            # next logon (our expected seq has not moved past the gap).
            log.warning(
                "%s: %d messages queued behind the gap at %d: disconnecting",
                self.session_id,
                len(self._queue),
                self.store.next_target_seq,
            )
            self._queue.clear()
            self._resend_range = None
            self._send_logout("too many messages queued behind a sequence gap", disconnect=True)
            return
        if seq not in self._queue:
            self._queue[seq] = (msg, consumed)
            self.stats.queued += 1
        rng = self._resend_range
        if rng is not None and seq > rng[0]:
            log.info(
                "%s: seq %d queued; ResendRequest from %d already sent",
                self.session_id,
                seq,
                rng[0],
            )
            return
        self._send_resend_request(seq)

    def _send_resend_request(self, received: int) -> None:
        begin = self.store.next_target_seq
        log.info(
            "%s: gap: expected %d, received %d: ResendRequest", self.session_id, begin, received
        )
        self._resend_range = (begin, received - 1)
        if self.state == SessionState.LOGGED_ON:
            self.state = SessionState.RESENDING
        self.stats.resend_requests_sent += 1
        self._send(MsgType.RESEND_REQUEST, m.resend_request_fields(begin, 0), admin=True)

    def _check_resend_done(self) -> None:
        rng = self._resend_range
        if rng is not None and self.store.next_target_seq > rng[1]:
            self._resend_range = None
            if self.state == SessionState.RESENDING:
                self.state = SessionState.LOGGED_ON
            log.info("%s: resend complete", self.session_id)

    def _target_too_low(self, msg: FixMessage) -> None:
        expected = self.store.next_target_seq
        if msg.get(Tag.POSS_DUP_FLAG) != "Y":
            text = f"MsgSeqNum too low, expecting {expected} but received {msg.seq_num}"
            log.error("%s: %s", self.session_id, text)
            self._send_logout(text, disconnect=True)
            return
        if msg.msg_type != MsgType.SEQUENCE_RESET:
            orig = msg.get(Tag.ORIG_SENDING_TIME)
            if orig is None:
                self._reject(
                    msg, SessionRejectReason.REQUIRED_TAG_MISSING, "", Tag.ORIG_SENDING_TIME
                )
                return
            sending = msg.get(Tag.SENDING_TIME) or ""
            try:
                bad = parse_utc_timestamp(orig) > parse_utc_timestamp(sending)
            except FixError:
                bad = True
            if bad:
                self._reject(
                    msg,
                    SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM,
                    "",
                    Tag.ORIG_SENDING_TIME,
                )
                self._send_logout("OrigSendingTime after SendingTime", disconnect=True)
                return
        self.stats.duplicates_ignored += 1
        log.debug("%s: duplicate %d ignored", self.session_id, msg.seq_num)

    def _incr_if_expected(self, msg: FixMessage) -> None:
        if msg.seq_num == self.store.next_target_seq:
            self.store.incr_next_target_seq()
            self._check_resend_done()

    def _advance(self) -> None:
        self.store.incr_next_target_seq()
        self._check_resend_done()

    def _valid(self, msg: FixMessage) -> bool:
        dictionary = self.dictionary
        if dictionary is None:
            return True
        try:
            dictionary.validate(msg)
        except FixValidationError as exc:
            if exc.business:
                reason = (
                    m.BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING
                    if exc.reject_reason == SessionRejectReason.REQUIRED_TAG_MISSING
                    else m.BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE
                )
                self._business_reject(msg, reason, exc.reason)
            else:
                self._reject(msg, exc.reject_reason, exc.reason, exc.tag)
            if msg.msg_type not in (MsgType.LOGON, MsgType.SEQUENCE_RESET):
                self._incr_if_expected(msg)
            return False
        return True

    def _call_from_admin(self, msg: FixMessage) -> bool:
        try:
            self.app.from_admin(self, msg)
        except SessionReject as exc:
            self._reject(msg, exc.reason, exc.text, exc.tag)
            return False
        except RejectLogon:
            raise
        except Exception:
            self.stats.app_errors += 1
            log.exception("%s: from_admin raised", self.session_id)
        return True

    # -- handlers ----------------------------------------------------------------------------
    def _on_logon(  # noqa: PLR0911, PLR0912, PLR0915 - the Logon rules, in order
        self, msg: FixMessage, queued: bool
    ) -> None:
        del queued
        schedule = self.settings.schedule
        if schedule is not None and not schedule.is_active():
            log.warning("%s: Logon outside the session window", self.session_id)
            self._disconnect("Logon outside the session window")
            return
        reset = msg.get(Tag.RESET_SEQ_NUM_FLAG) == "Y"
        if reset:
            log.info("%s: Logon with ResetSeqNumFlag=Y: seqs reset to 1", self.session_id)
            if not self._sent_reset:
                self.store.reset()
            # Whoever reset first, the pending resend belongs to the old numbering: keeping it
            # would leave the session RESENDING for ever.
            self._flush_queue_on_reset()
            if self.state == SessionState.RESENDING:
                self.state = SessionState.LOGGED_ON
        elif not self.initiator and self.settings.reset_on_logon and not self._received_logon:
            self.store.reset()
        if self.initiator and not self._received_logon and self.state != SessionState.LOGON_SENT:
            self._disconnect("Logon response before a Logon was sent")
            return
        if not self._verify(msg, too_high=False, too_low=True):
            return
        if not self._valid(msg):
            self._send_logout("invalid Logon", disconnect=True)
            return
        heart_bt = msg.get_int(Tag.HEART_BT_INT)
        if heart_bt is None or heart_bt < 0:
            self._reject(msg, SessionRejectReason.REQUIRED_TAG_MISSING, "", Tag.HEART_BT_INT)
            self._send_logout("HeartBtInt(108) missing", disconnect=True)
            return
        try:
            self.app.from_admin(self, msg)
        except RejectLogon as exc:
            log.warning("%s: Logon refused by the application", self.session_id)
            self._send_logout(exc.text, disconnect=True)
            return
        except SessionReject as exc:
            self._reject(msg, exc.reason, exc.text, exc.tag)
            self._send_logout(exc.text, disconnect=True)
            return
        except Exception:
            self.stats.app_errors += 1
            log.exception("%s: from_admin raised on Logon", self.session_id)
            self._send_logout("Logon rejected", disconnect=True)
            return
        answering = not self.initiator and not self._received_logon
        if answering:
            self.heartbeat_interval_s = heart_bt
        first = not self._received_logon
        self._received_logon = True
        if answering or (reset and not self._sent_reset):
            self._send_logon(reset=reset)
        self._sent_reset = False
        if self.state not in (SessionState.LOGGED_ON, SessionState.RESENDING):
            self.state = SessionState.LOGGED_ON
        if msg.seq_num > self.store.next_target_seq and not reset:
            self._target_too_high(msg, consumed=True)
        else:
            self._advance()
        if first:
            self.stats.logons += 1
            self.logged_on.set()
            log.info("%s: logged on", self.session_id)
            self._call(self.app.on_logon, self)

    def _on_heartbeat(self, msg: FixMessage, queued: bool) -> None:
        if not self._verify(msg, queued=queued) or not self._valid(msg):
            return
        if self._test_req_id is not None and msg.get(Tag.TEST_REQ_ID) == self._test_req_id:
            self._test_req_id = None
        self._call_from_admin(msg)
        self._advance()

    def _on_test_request(self, msg: FixMessage, queued: bool) -> None:
        if not self._verify(msg, queued=queued) or not self._valid(msg):
            return
        if not self._heartbeats_paused:
            self._send(MsgType.HEARTBEAT, m.heartbeat_fields(msg.get(Tag.TEST_REQ_ID)), admin=True)
        self._call_from_admin(msg)
        self._advance()

    def _on_resend_request(self, msg: FixMessage, queued: bool) -> None:
        if not self._verify(msg, too_high=False, too_low=False, queued=queued):
            return
        if not self._valid(msg):
            return
        begin = msg.get_int(Tag.BEGIN_SEQ_NO)
        end = msg.get_int(Tag.END_SEQ_NO)
        if begin is None or end is None:
            tag = Tag.BEGIN_SEQ_NO if begin is None else Tag.END_SEQ_NO
            self._reject(msg, SessionRejectReason.REQUIRED_TAG_MISSING, "", tag)
            self._incr_if_expected(msg)
            return
        self._call_from_admin(msg)
        self.stats.resend_requests_received += 1
        self._answer_resend(begin, end)
        seq, expected = msg.seq_num, self.store.next_target_seq
        if seq == expected:
            self._advance()
        elif seq > expected:
            self._target_too_high(msg, consumed=True)

    def _on_reject(self, msg: FixMessage, queued: bool) -> None:
        if not self._verify(msg, queued=queued) or not self._valid(msg):
            return
        self.stats.rejects_received += 1
        log.warning(
            "%s: Reject of seq %s: reason %s %s",
            self.session_id,
            msg.get(Tag.REF_SEQ_NUM),
            msg.get(Tag.SESSION_REJECT_REASON),
            msg.get(Tag.TEXT) or "",
        )
        self._call_from_admin(msg)
        self._advance()

    def _on_sequence_reset(self, msg: FixMessage, queued: bool) -> None:
        gap_fill = msg.get(Tag.GAP_FILL_FLAG) == "Y"
        if not self._verify(msg, too_high=gap_fill, too_low=gap_fill, queued=queued):
            return
        if not self._valid(msg):
            return
        new_seq = msg.get_int(Tag.NEW_SEQ_NO)
        if new_seq is None:
            self._reject(msg, SessionRejectReason.REQUIRED_TAG_MISSING, "", Tag.NEW_SEQ_NO)
            return
        self._call_from_admin(msg)
        expected = self.store.next_target_seq
        if new_seq > expected:
            log.info(
                "%s: SequenceReset%s: next target seq %d -> %d",
                self.session_id,
                "-GapFill" if gap_fill else "",
                expected,
                new_seq,
            )
            if gap_fill:
                self.stats.gap_fills_received += 1
            else:
                self.stats.sequence_resets_received += 1
            self._deliver_skipped(new_seq)
            self.store.set_next_target_seq(new_seq)
            self._check_resend_done()
        elif new_seq < expected:
            self._reject(
                msg,
                SessionRejectReason.VALUE_IS_INCORRECT,
                f"NewSeqNo {new_seq} below the expected {expected}",
                Tag.NEW_SEQ_NO,
            )

    def _on_logout(self, msg: FixMessage, queued: bool) -> None:
        del queued
        text = msg.get(Tag.TEXT) or ""
        if self._received_logon and not self._verify(msg, too_high=False, too_low=False):
            return
        if self.state == SessionState.LOGOUT_SENT:
            log.info("%s: Logout answered", self.session_id)
        else:
            log.info("%s: Logout received: %s", self.session_id, text)
            if self._received_logon:
                self._send_logout("", disconnect=False)
        self._call_from_admin(msg)
        if self._received_logon:
            self._incr_if_expected(msg)
        self._logout_reason = self._logout_reason or f"Logout received: {text}".rstrip(": ")
        if self.settings.reset_on_logout:
            self.store.reset()
        self._disconnect(self._logout_reason)

    def _on_app(self, msg: FixMessage, queued: bool) -> None:
        if not self._verify(msg, queued=queued) or not self._valid(msg):
            return
        self._deliver_app(msg)
        self._advance()

    def _deliver_app(self, msg: FixMessage) -> None:
        try:
            self.app.from_app(self, msg)
        except BusinessReject as exc:
            text = exc.text
            if exc.ref_tag is not None:
                text = f"{text} (tag {exc.ref_tag})".strip()
            self._business_reject(msg, exc.reason, text, exc.ref_id)
        except SessionReject as exc:
            self._reject(msg, exc.reason, exc.text, exc.tag)
        except Exception:
            self.stats.app_errors += 1
            log.exception("%s: from_app raised on seq %d", self.session_id, msg.seq_num)

    _HANDLERS: ClassVar[dict[str, Callable[[FixSession, FixMessage, bool], None]]] = {
        MsgType.LOGON: _on_logon,
        MsgType.HEARTBEAT: _on_heartbeat,
        MsgType.TEST_REQUEST: _on_test_request,
        MsgType.RESEND_REQUEST: _on_resend_request,
        MsgType.REJECT: _on_reject,
        MsgType.SEQUENCE_RESET: _on_sequence_reset,
        MsgType.LOGOUT: _on_logout,
    }

    # -- outbound ---------------------------------------------------------------------------
    def _send(self, msg_type: str, fields: Fields, *, admin: bool) -> int:
        store = self.store
        seq = store.next_sender_seq
        sending_time = utc_timestamp()
        if admin:
            self.app.to_admin(self, msg_type, seq, sending_time, fields)
        else:
            self.app.to_app(self, msg_type, fields)
        raw = self.encoder.encode(msg_type, seq, fields, sending_time=sending_time)
        if admin:
            store.store_admin(seq)
        else:
            store.store_sent(seq, sending_time, raw)
        self._write(seq, msg_type, raw)
        return seq

    def _write(self, seq: int, msg_type: str, raw: bytes) -> None:
        conn = self._conn
        if conn is None:
            return
        out: bytes | list[bytes] | None = raw
        if self.outbound_filter is not None:
            out = self.outbound_filter(seq, raw)
        if out is None:
            return
        for data in [out] if isinstance(out, bytes) else out:
            conn.write(data)
        self._last_sent = time.monotonic()
        self.stats.messages_out[msg_type] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: out %s", self.session_id, m.mask_raw(raw))

    def _send_logon(self, *, reset: bool) -> None:
        fields = m.logon_fields(
            self.heartbeat_interval_s,
            reset=reset,
            default_appl_ver_id=(
                self.settings.default_appl_ver_id
                if self.settings.begin_string == "FIXT.1.1"
                else None
            ),
        )
        self._send(MsgType.LOGON, fields, admin=True)

    def _send_logout(self, text: str = "", *, disconnect: bool = False) -> None:
        if self._conn is None or self._closing:
            return
        if self.state != SessionState.LOGOUT_SENT:
            self._send(MsgType.LOGOUT, m.logout_fields(text), admin=True)
            self.state = SessionState.LOGOUT_SENT
            self._logout_sent_at = time.monotonic()
            if text:
                self._logout_reason = self._logout_reason or text
        if disconnect:
            self._disconnect(text or "logout")

    def _reject(
        self, msg: FixMessage, reason: int | None, text: str = "", tag: int | None = None
    ) -> None:
        self.stats.rejects_sent += 1
        log.warning(
            "%s: Reject seq %d (%s): reason %s tag %s %s",
            self.session_id,
            msg.seq_num,
            msg.msg_type,
            reason,
            tag,
            text,
        )
        fields = m.reject_fields(
            msg.seq_num,
            reason,
            text,
            ref_tag=tag,
            ref_msg_type=msg.msg_type,
            begin_string=self.settings.begin_string,
        )
        self._send(MsgType.REJECT, fields, admin=True)

    def _business_reject(
        self, msg: FixMessage, reason: int, text: str = "", ref_id: str | None = None
    ) -> None:
        self.stats.business_rejects_sent += 1
        log.warning(
            "%s: BusinessMessageReject seq %d (%s): %s %s",
            self.session_id,
            msg.seq_num,
            msg.msg_type,
            reason,
            text,
        )
        fields = m.business_reject_fields(msg.seq_num, msg.msg_type, reason, text, ref_id)
        self._send(MsgType.BUSINESS_MESSAGE_REJECT, fields, admin=False)

    def _answer_resend(self, begin: int, end: int) -> None:
        last = self.store.next_sender_seq - 1
        if end in (0, 999_999) or end > last:
            end = last
        log.info("%s: ResendRequest %d..%d", self.session_id, begin, end)
        if begin > end or begin < 1:
            return
        gap_start: int | None = None
        for seq in range(begin, end + 1):
            stored = self.store.get(seq)
            replay = None if stored is None else self._replay(seq, stored.sending_time, stored.raw)
            if replay is None:
                if gap_start is None:
                    gap_start = seq
                continue
            if gap_start is not None:
                self._send_gap_fill(gap_start, seq)
                gap_start = None
            msg_type, raw = replay
            self.stats.messages_replayed += 1
            self._write(seq, msg_type, raw)
        if gap_start is not None:
            self._send_gap_fill(gap_start, end + 1)

    def _replay(self, seq: int, sending_time: str, raw: bytes) -> tuple[str, bytes] | None:
        try:
            stored = parse(raw, verify=False)
        except FixError:
            return None
        if stored.msg_type in ADMIN_TYPES:
            return None
        try:
            allowed = self.app.may_resend(seq, stored.msg_type)
        except Exception:
            self.stats.app_errors += 1
            log.exception("%s: may_resend raised on seq %d", self.session_id, seq)
            allowed = False
        if not allowed:
            log.info(
                "%s: seq %d (%s) gap-filled, not replayed", self.session_id, seq, stored.msg_type
            )
            return None
        fields = stored.fields()
        skip = HEADER_TAGS | self._extra_header_tags
        i = 0
        while i < len(fields) and fields[i][0] in skip:
            i += 1
        body: Fields = [(t, v) for t, v in fields[i:] if t != Tag.CHECK_SUM]
        out = self.encoder.encode(
            stored.msg_type, seq, body, poss_dup=True, orig_sending_time=sending_time
        )
        return stored.msg_type, out

    def _send_gap_fill(self, seq: int, new_seq: int) -> None:
        fields = m.gap_fill_fields(new_seq)
        sending_time = utc_timestamp()
        self.app.to_admin(self, MsgType.SEQUENCE_RESET, seq, sending_time, fields)
        raw = self.encoder.encode(
            MsgType.SEQUENCE_RESET,
            seq,
            fields,
            sending_time=sending_time,
            poss_dup=True,
            orig_sending_time=sending_time,
        )
        self.stats.gap_fills_sent += 1
        self._write(seq, MsgType.SEQUENCE_RESET, raw)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            self.stats.app_errors += 1
            log.exception("%s: application callback %s raised", self.session_id, fn.__name__)

    # -- timers -----------------------------------------------------------------------------
    def _tick_s(self) -> float:
        spans = [self.settings.logon_timeout_s, self.settings.logout_timeout_s]
        if self.heartbeat_interval_s > 0:
            spans.append(float(self.heartbeat_interval_s))
        return min(1.0, max(0.02, min(spans) / 10.0))

    async def _monitor(self, conn: FixConnection) -> None:
        try:
            while conn is self._conn and not self._closing:
                await asyncio.sleep(self._tick_s())
                if conn is not self._conn or self._closing:
                    return
                self._on_timer()
        except asyncio.CancelledError:
            raise
        except Exception:  # never let a timer bug leave a zombie connection
            log.exception("%s: session monitor failed", self.session_id)
            self._disconnect("internal error")

    def _reset_unanswered(self, now: float) -> bool:
        """Logs out when our mid-session 141=Y Logon went unanswered past the logon timeout.

        Until the peer answers, inbound messages are dropped as pre-reset: a peer that refuses
        (or does not support) the reset would leave the session deaf for ever.
        """
        if not (
            self._sent_reset
            and self._received_logon
            and now - self._reset_sent_at >= self.settings.logon_timeout_s
        ):
            return False
        log.warning("%s: sequence reset not answered: logging out", self.session_id)
        self._sent_reset = False
        self._send_logout("sequence reset not answered", disconnect=True)
        return True

    def _on_timer(self) -> None:
        now = time.monotonic()
        state = self.state
        schedule = self.settings.schedule
        if schedule is not None and not schedule.is_active():
            if self.is_logged_on:
                self._send_logout("session window closed", disconnect=False)
            elif state != SessionState.LOGOUT_SENT:
                self._disconnect("outside the session window")
                return
        if state in (SessionState.CONNECTING, SessionState.AWAITING_LOGON, SessionState.LOGON_SENT):
            if now - self._connected_at >= self.settings.logon_timeout_s:
                log.warning("%s: logon timeout", self.session_id)
                self._disconnect("logon timeout")
            return
        if state == SessionState.LOGOUT_SENT:
            sent_at = self._logout_sent_at or now
            if now - sent_at >= self.settings.logout_timeout_s:
                log.warning("%s: logout timeout", self.session_id)
                self._disconnect(self._logout_reason or "logout timeout")
            return
        if not self._reset_unanswered(now):
            self._heartbeat_timers(now)

    def _heartbeat_timers(self, now: float) -> None:
        """Heartbeat timeout, TestRequest on silence, our own Heartbeats."""
        hb = self.heartbeat_interval_s
        if not self.is_logged_on or hb <= 0:
            return
        silent = now - self._last_received
        if silent >= _TIMEOUT_FACTOR * hb:
            self.stats.heartbeat_timeouts += 1
            log.warning("%s: no message in %.1f s: disconnecting", self.session_id, silent)
            self._disconnect("heartbeat timeout")
            return
        if silent >= _TEST_REQUEST_FACTOR * (self._test_requests + 1) * hb:
            self._test_requests += 1
            self._test_req_id = f"TEST-{int(time.time() * 1000)}"
            self.stats.test_requests_sent += 1
            self._send(MsgType.TEST_REQUEST, m.test_request_fields(self._test_req_id), admin=True)
            return
        if not self._heartbeats_paused and self._test_requests == 0 and now - self._last_sent >= hb:
            self._send(MsgType.HEARTBEAT, m.heartbeat_fields(), admin=True)


def _ssl_for(settings: SessionSettings) -> _ssl.SSLContext | None:
    return client_ssl_context(settings.ssl_verify) if settings.ssl else None


class FixInitiator:
    """Connects, logs on and keeps the session up (reconnecting with jittered backoff).

    Args:
        settings: the session settings (`host` and `port` required).
        app: the callbacks.
        store: the session store (default: from `settings.store_path`).

    Raises:
        ConfigError: no host or port.
    """

    def __init__(
        self,
        settings: SessionSettings,
        app: Application | None = None,
        *,
        store: MessageStore | None = None,
    ) -> None:
        if settings.host is None or settings.port is None:
            raise ConfigError("a FIX initiator needs host and port")
        self.settings = settings
        self.session = FixSession(settings, app, initiator=True, store=store)
        self.connects = 0
        self.last_error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)

    def __repr__(self) -> str:
        return f"FixInitiator({self.session!r})"

    async def start(self) -> None:
        """Starts connecting (in the background); returns at once."""
        self.session.enabled = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"fix-initiator-{self.session.session_id}"
            )

    async def wait_logged_on(self, timeout: float | None = None) -> bool:
        """Waits until logged on; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self.session.logged_on.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Logs out (if logged on), stops reconnecting and closes the store."""
        session = self.session
        session.enabled = False
        await session.logout("")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        session.store.close()

    async def __aenter__(self) -> FixInitiator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _enabled(self) -> bool:
        return self.session.enabled

    async def _run(self) -> None:
        session, settings = self.session, self.settings
        while session.enabled:
            schedule = settings.schedule
            if schedule is not None:
                wait = schedule.seconds_until_active()
                if wait > 0:
                    await asyncio.sleep(min(wait, 60.0))
                    continue
            session.state = SessionState.CONNECTING
            try:
                conn = await open_connection(
                    settings.host or "",
                    settings.port or 0,
                    session,
                    ssl=_ssl_for(settings),
                    server_hostname=settings.server_hostname,
                    timeout_s=settings.logon_timeout_s,
                )
            except (OSError, TimeoutError) as exc:
                session.state = SessionState.DISCONNECTED
                self.last_error = exc
                log.warning("%s: connect failed: %s", session.session_id, type(exc).__name__)
                await asyncio.sleep(self._backoff.next())
                continue
            if not self._enabled():
                conn.close()
                break
            self.connects += 1
            logons = session.stats.logons
            try:
                session.attach(conn)
                session.start_logon()
            except (VenuegateError, OSError) as exc:  # a store that cannot be written ...
                self.last_error = exc
                log.error("%s: cannot log on: %s", session.session_id, exc)
                conn.abort()
            await conn.closed
            await session.wait_disconnected()
            if session.stats.logons > logons:
                self._backoff.reset()
            if session.enabled:
                await asyncio.sleep(self._backoff.next())


class _Pending:
    """An accepted connection before its first Logon names the session."""

    def __init__(self, acceptor: FixAcceptor, conn: FixConnection) -> None:
        self.acceptor = acceptor
        self.conn = conn
        self.timer: asyncio.TimerHandle | None = None

    def on_items(self, conn: FixConnection, items: list[FixMessage | FixError]) -> None:
        for i, item in enumerate(items):
            if isinstance(item, FixError):
                log.warning("acceptor: garbled message before Logon ignored: %s", item.reason)
                continue
            if self.timer is not None:
                self.timer.cancel()
            session = self.acceptor.route(item, conn)
            if session is None:
                conn.close()
                return
            session.on_items(conn, items[i:])
            return

    def on_connection_lost(self, conn: FixConnection, exc: Exception | None) -> None:
        del exc
        if self.timer is not None:
            self.timer.cancel()
        self.acceptor.connections.discard(conn)


class FixAcceptor:
    """Accepts FIX connections; the first Logon picks (or creates) the session.

    Args:
        settings: the sessions (matched on BeginString and both CompIDs), or a function from the
            first Logon to its settings (None refuses the connection).
        app_factory: one `Application` shared by every session, or a factory called per session.
        host: the listening address (loopback by default).
        port: the port (0 = any free port; read `port` after `start`).
        ssl: a server TLS context, or None for plain TCP.
        stores: stores to use per session id (default: from each session's settings).
    """

    def __init__(
        self,
        settings: list[SessionSettings] | Callable[[FixMessage], SessionSettings | None],
        app_factory: Callable[[], Application] | Application,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl: _ssl.SSLContext | None = None,
        *,
        stores: dict[str, MessageStore] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl = ssl
        self.sessions: dict[str, FixSession] = {}
        self.connections: set[FixConnection] = set()
        self._lookup: Callable[[FixMessage], SessionSettings | None] | None = None
        self._by_id: dict[str, SessionSettings] = {}
        if callable(settings):
            self._lookup = settings
        else:
            self._by_id = {s.session_id: s for s in settings}
        self._app_factory = app_factory
        self._stores = dict(stores or {})
        self._server: asyncio.Server | None = None
        self._logon_timeout_s = max((s.logon_timeout_s for s in self._by_id.values()), default=10.0)

    def __repr__(self) -> str:
        return f"FixAcceptor({self.host}:{self.port}, sessions={sorted(self.sessions)})"

    def _new_app(self) -> Application:
        factory = self._app_factory
        if isinstance(factory, Application):
            return factory
        return factory()

    def _session_for(self, settings: SessionSettings) -> FixSession:
        session = self.sessions.get(settings.session_id)
        if session is None:
            session = FixSession(
                settings,
                self._new_app(),
                initiator=False,
                store=self._stores.get(settings.session_id),
            )
            self.sessions[settings.session_id] = session
        return session

    async def start(self) -> None:
        """Starts listening; `port` is the bound port afterwards."""
        for settings in self._by_id.values():
            self._session_for(settings)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, self.host, self.port, ssl=self.ssl)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        log.info("acceptor listening on %s:%d", self.host, self.port)

    def _accept(self) -> FixConnection:
        conn = FixConnection()
        pending = _Pending(self, conn)
        conn.handler = pending

        def made(c: FixConnection) -> None:
            self.connections.add(c)
            c.closed.add_done_callback(lambda _: self.connections.discard(c))
            pending.timer = asyncio.get_running_loop().call_later(
                self._logon_timeout_s, self._logon_timeout, c
            )

        conn.on_made = made
        return conn

    def _logon_timeout(self, conn: FixConnection) -> None:
        if isinstance(conn.handler, _Pending):
            log.warning("acceptor: no Logon from %s in time: closing", conn.peer)
            conn.close()

    def route(self, msg: FixMessage, conn: FixConnection) -> FixSession | None:
        """The session a connection's first message belongs to, attached; None refuses it."""
        if msg.msg_type != MsgType.LOGON:
            log.warning("acceptor: first message from %s is not a Logon", conn.peer)
            return None
        sender, target = msg.get(Tag.TARGET_COMP_ID), msg.get(Tag.SENDER_COMP_ID)
        if self._lookup is not None:
            try:
                settings = self._lookup(msg)
            except Exception:
                log.exception("acceptor: session lookup raised")
                return None
        else:
            settings = self._by_id.get(f"{msg.begin_string}:{sender}->{target}")
        if settings is None:
            log.warning("acceptor: unknown session %s:%s->%s", msg.begin_string, sender, target)
            return None
        session = self._session_for(settings)
        if session.connected:
            log.warning("%s: already connected: refusing a second connection", session.session_id)
            return None
        session.enabled = True
        session.attach(conn)
        return session

    async def stop(self) -> None:
        """Logs every session out, stops listening and closes the stores."""
        if self._server is not None:
            self._server.close()
        sessions = list(self.sessions.values())
        await asyncio.gather(*(s.logout("") for s in sessions), return_exceptions=True)
        for conn in list(self.connections):
            conn.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        for s in sessions:
            s.store.close()

    async def __aenter__(self) -> FixAcceptor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

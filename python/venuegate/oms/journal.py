"""The order journal: every intent, venue report and state change, in order, on disk first.

The order manager writes a record before it acts (`IntentRecord` before sending an order) and
after it learns (`ReportRecord`, `StateRecord`); replaying the journal rebuilds every order after
a crash. Records are `msgspec` structs encoded with msgpack (array-like: field order is the
format), one kind byte per record type, appended to the native write-ahead log
(`venuegate._native.Journal`: one `write` syscall per record, CRC-framed, torn tails dropped on
open).

Decimals are stored as strings, never floats; enums as their values. No record type has a field
for a credential, so no secret can reach the journal.

Format: kind 1 intent, 2 cancel intent, 3 amend intent, 4 report, 5 state, 6 marker. Fields may
only be appended (with defaults) to a record type, never reordered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

import msgspec

from venuegate._native import JOURNAL_MAX_PAYLOAD, Journal, read_journal
from venuegate.errors import JournalError
from venuegate.model import OrderState, Side
from venuegate.oms.types import ReportKind, VenueReport

__all__ = [
    "JOURNAL_MAX_PAYLOAD",
    "AmendIntentRecord",
    "CancelIntentRecord",
    "FsyncMode",
    "IntentRecord",
    "Journal",
    "MarkerRecord",
    "OrderJournal",
    "Record",
    "ReportRecord",
    "StateRecord",
    "decode_record",
    "export_orders",
    "fold_orders",
    "read_journal",
    "read_records",
]

type FsyncMode = Literal["none", "group", "always"]


def _check_decimals(record: msgspec.Struct, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(record, name)
        if value is not None and type(value) is not str:
            raise TypeError(
                f"{type(record).__name__}.{name} must be a decimal string "
                f"(str(Decimal)), got {type(value).__name__}"
            )


class IntentRecord(msgspec.Struct, frozen=True, array_like=True):
    """An order about to be sent (written before the request leaves).

    Attributes:
        ts_ns: wall clock, ns since the epoch.
        intent_id: the order manager's intent number.
        client_order_id: the client order id the order is sent with.
        venue: venue name.
        symbol: venue symbol.
        side: `Side` value.
        type: `OrderType` value.
        time_in_force: `TimeInForce` value.
        quantity: decimal string.
        price: decimal string, None for market orders.
        post_only: maker only.
        reduce_only: may only reduce a position.
        expire_at_ms: GTD expiry, ms since the epoch.
    """

    KIND: ClassVar[int] = 1
    ts_ns: int
    intent_id: int
    client_order_id: str
    venue: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    quantity: str
    price: str | None
    post_only: bool
    reduce_only: bool
    expire_at_ms: int | None

    def __post_init__(self) -> None:
        if type(self.quantity) is not str or (
            self.price is not None and type(self.price) is not str
        ):
            _check_decimals(self, ("quantity", "price"))


class CancelIntentRecord(msgspec.Struct, frozen=True, array_like=True):
    """A cancel about to be sent.

    Attributes:
        ts_ns: wall clock, ns since the epoch.
        client_order_id: the order to cancel.
    """

    KIND: ClassVar[int] = 2
    ts_ns: int
    client_order_id: str


class AmendIntentRecord(msgspec.Struct, frozen=True, array_like=True):
    """An amend (or cancel-replace) about to be sent.

    Attributes:
        ts_ns: wall clock, ns since the epoch.
        client_order_id: the order to amend.
        quantity: new quantity (decimal string), None to keep it.
        price: new price (decimal string), None to keep it.
        new_client_order_id: the replacement's client order id (cancel-replace venues).
    """

    KIND: ClassVar[int] = 3
    ts_ns: int
    client_order_id: str
    quantity: str | None = None
    price: str | None = None
    new_client_order_id: str | None = None

    def __post_init__(self) -> None:
        _check_decimals(self, ("quantity", "price"))


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class ReportRecord(msgspec.Struct, frozen=True, array_like=True):
    """A `VenueReport` as received; see `venuegate.oms.types.VenueReport` for the fields.

    Attributes:
        ts_ns: wall clock when it was received, ns since the epoch.
        venue: venue name.
        client_order_id: our client order id.
        kind: `ReportKind` value.
        venue_order_id: the venue's order id.
        symbol: venue symbol.
        side: `Side` value.
        state: `OrderState` value.
        quantity: decimal string.
        price: decimal string.
        filled_qty: decimal string.
        trade_id: the venue's trade id (fills).
        last_qty: decimal string (fills).
        last_price: decimal string (fills).
        fee: decimal string (fills).
        fee_asset: the fee's asset.
        liquidity: maker or taker.
        reason: the venue's reason text.
        ts_ms: the venue's event time (0 when not given).
    """

    KIND: ClassVar[int] = 4
    ts_ns: int
    venue: str
    client_order_id: str
    kind: str
    venue_order_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    state: str | None = None
    quantity: str | None = None
    price: str | None = None
    filled_qty: str | None = None
    trade_id: str | None = None
    last_qty: str | None = None
    last_price: str | None = None
    fee: str | None = None
    fee_asset: str | None = None
    liquidity: str | None = None
    reason: str | None = None
    ts_ms: int = 0

    def __post_init__(self) -> None:
        _check_decimals(self, ("quantity", "price", "filled_qty", "last_qty", "last_price", "fee"))

    @classmethod
    def from_report(cls, report: VenueReport, ts_ns: int) -> Self:
        """The record of `report`, received at `ts_ns`."""
        return cls(
            ts_ns=ts_ns,
            venue=report.venue,
            client_order_id=report.client_order_id,
            kind=report.kind.value,
            venue_order_id=report.venue_order_id,
            symbol=report.symbol,
            side=None if report.side is None else report.side.value,
            state=None if report.state is None else report.state.value,
            quantity=_dec(report.quantity),
            price=_dec(report.price),
            filled_qty=_dec(report.filled_qty),
            trade_id=report.trade_id,
            last_qty=_dec(report.last_qty),
            last_price=_dec(report.last_price),
            fee=_dec(report.fee),
            fee_asset=report.fee_asset,
            liquidity=report.liquidity,
            reason=report.reason,
            ts_ms=report.ts_ms,
        )

    def to_report(self) -> VenueReport:
        """The `VenueReport` this record holds (decimals and enums restored exactly)."""
        return VenueReport(
            venue=self.venue,
            client_order_id=self.client_order_id,
            kind=ReportKind(self.kind),
            venue_order_id=self.venue_order_id,
            symbol=self.symbol,
            side=None if self.side is None else Side(self.side),
            state=None if self.state is None else OrderState(self.state),
            quantity=_undec(self.quantity),
            price=_undec(self.price),
            filled_qty=_undec(self.filled_qty),
            trade_id=self.trade_id,
            last_qty=_undec(self.last_qty),
            last_price=_undec(self.last_price),
            fee=_undec(self.fee),
            fee_asset=self.fee_asset,
            liquidity=self.liquidity,
            reason=self.reason,
            ts_ms=self.ts_ms,
        )


class StateRecord(msgspec.Struct, frozen=True, array_like=True):
    """An order's state after a change (the latest one per client order id is its state).

    Attributes:
        ts_ns: wall clock, ns since the epoch.
        client_order_id: the order.
        state: `OrderState` value.
        venue_order_id: the venue's order id, once known.
        quantity: decimal string.
        price: decimal string, None for market orders.
        filled_qty: decimal string.
        avg_price: decimal string, None before the first fill.
        replaces: the client order id of the order this one replaced (cancel-replace).
        venue_filled: decimal string: the highest cumulative filled quantity the venue
            reported, when it is above `filled_qty` (fills the engine has yet to fetch: a
            restart must still fetch them). None otherwise, and in journals written before it.
    """

    KIND: ClassVar[int] = 5
    ts_ns: int
    client_order_id: str
    state: str
    venue_order_id: str | None
    quantity: str
    price: str | None
    filled_qty: str
    avg_price: str | None = None
    replaces: str | None = None
    venue_filled: str | None = None

    def __post_init__(self) -> None:
        _check_decimals(self, ("quantity", "price", "filled_qty", "avg_price", "venue_filled"))


class MarkerRecord(msgspec.Struct, frozen=True, array_like=True):
    """A session event: "session_start", "recovery_done", "reconcile_done", "fills_synced".

    "fills_synced" marks a complete fills listing: `{"symbol", "since_ms"}`, where the next
    one may start.

    Attributes:
        ts_ns: wall clock, ns since the epoch.
        name: the event.
        data: details, text only.
    """

    KIND: ClassVar[int] = 6
    ts_ns: int
    name: str
    data: dict[str, str] = msgspec.field(default_factory=dict)


type Record = (
    IntentRecord
    | CancelIntentRecord
    | AmendIntentRecord
    | ReportRecord
    | StateRecord
    | MarkerRecord
)

_TYPES: tuple[type[Any], ...] = (
    IntentRecord,
    CancelIntentRecord,
    AmendIntentRecord,
    ReportRecord,
    StateRecord,
    MarkerRecord,
)
_KIND_OF: dict[type[Any], int] = {t: t.KIND for t in _TYPES}
_DECODERS: dict[int, msgspec.msgpack.Decoder[Any]] = {
    t.KIND: msgspec.msgpack.Decoder(t) for t in _TYPES
}
_ENCODER = msgspec.msgpack.Encoder()


def decode_record(kind: int, payload: bytes) -> Record:
    """Decodes one journal payload of record kind `kind`.

    Raises:
        JournalError: an unknown kind or a payload that does not decode as that kind.
    """
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise JournalError(f"unknown journal record kind {kind}")
    try:
        record: Record = decoder.decode(payload)
    except (msgspec.DecodeError, TypeError, ValueError) as e:
        raise JournalError(f"journal record of kind {kind} does not decode: {e}") from None
    return record


def read_records(
    path: str | os.PathLike[str], offset: int = 0
) -> tuple[list[tuple[int, Record]], int, int]:
    """Reads and decodes a journal from byte `offset`, read-only.

    Returns:
        `(records, end_offset, torn_bytes)`: `(seq, record)` pairs in order, the offset just
        past the last good record (the next call's `offset` when tailing), and the bytes after
        it that do not form a record.

    Raises:
        JournalError: a foreign or corrupt file, or a record that does not decode.
    """
    raw, end, torn = read_journal(os.fspath(path), offset)
    return [(seq, decode_record(kind, payload)) for seq, kind, payload in raw], end, torn


class OrderJournal:
    """The order manager's journal file.

    `write` is the hot path: one msgpack encode and one native append (one `write` syscall).

    Args:
        path: the journal file (created if missing; a torn tail is dropped on open).
        fsync: "none" (records survive a process crash; the OS writes them back), "group"
            (a background thread fsyncs every `group_interval_ms` ms when there were writes:
            survives power loss minus about one interval) or "always" (fsync per record).
        group_interval_ms: the group-commit interval.

    Raises:
        JournalError: the file cannot be opened, is not a journal, or is corrupt before its tail.
    """

    __slots__ = ("_append", "_encode", "_native")

    def __init__(
        self, path: str | os.PathLike[str], fsync: FsyncMode = "none", group_interval_ms: int = 5
    ) -> None:
        self._native = Journal(os.fspath(path), fsync, group_interval_ms)
        self._append = self._native.append
        self._encode = _ENCODER.encode

    def write(self, record: Record) -> int:
        """Appends one record; returns its sequence number.

        Raises:
            TypeError: `record` is not a journal record type.
            JournalError: the write failed (nothing was appended) or the journal is closed.
        """
        try:
            kind = _KIND_OF[type(record)]
        except KeyError:
            raise TypeError(f"not a journal record: {type(record).__name__}") from None
        return self._append(kind, self._encode(record))

    def write_many(self, records: Iterable[Record]) -> int:
        """Appends records with one write (all or none); returns the last sequence number."""
        encode = self._encode
        batch: list[tuple[int, bytes]] = []
        for record in records:
            kind = _KIND_OF.get(type(record))
            if kind is None:
                raise TypeError(f"not a journal record: {type(record).__name__}")
            batch.append((kind, encode(record)))
        return self._native.append_batch(batch)

    def sync(self) -> None:
        """Forces every record written so far to disk."""
        self._native.sync()

    def close(self) -> None:
        """Stops group commit and syncs (unless fsync is "none"); idempotent."""
        self._native.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OrderJournal({self._native.path!r}, fsync={self._native.fsync!r})"

    @property
    def path(self) -> str:
        """The journal file."""
        return self._native.path

    @property
    def fsync(self) -> str:
        """The fsync policy."""
        return self._native.fsync

    @property
    def next_seq(self) -> int:
        """The sequence number the next record gets."""
        return self._native.next_seq

    @property
    def recovered_torn_bytes(self) -> int:
        """Bytes of torn tail dropped when the journal was opened."""
        return self._native.recovered_torn_bytes

    @property
    def sync_count(self) -> int:
        """Syncs performed so far."""
        return self._native.sync_count

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._native.closed

    @staticmethod
    def replay(path: str | os.PathLike[str]) -> Iterator[tuple[int, Record]]:
        """Every record of the journal at `path`, in order, as `(seq, record)`.

        A torn tail is ignored (it is dropped when the journal is next opened for writing).

        Raises:
            JournalError: a foreign or corrupt file, or a record that does not decode.
        """
        raw, _, _ = read_journal(os.fspath(path), 0)
        for seq, kind, payload in raw:
            yield seq, decode_record(kind, payload)


class _Order:
    __slots__ = ("fills", "intent", "report", "state", "trade_ids")

    def __init__(self) -> None:
        self.intent: IntentRecord | None = None
        self.state: StateRecord | None = None
        self.report: ReportRecord | None = None
        self.fills: list[str] = []
        self.trade_ids: set[str] = set()


def _replaced_intent(orders: dict[str, _Order], order: _Order) -> IntentRecord | None:
    """The intent of the order `order` replaced (following a chain of cancel-replaces)."""
    seen: set[str] = set()
    state = order.state
    while state is not None and state.replaces is not None and state.replaces not in seen:
        seen.add(state.replaces)
        prev = orders.get(state.replaces)
        if prev is None:
            return None
        if prev.intent is not None:
            return prev.intent
        state = prev.state
    return None


def fold_orders(records: Iterable[tuple[int, Record]]) -> dict[str, dict[str, Any]]:
    """Folds journal records into one summary per order, in first-seen order.

    An order is a client order id with an `IntentRecord` or a `StateRecord`. Its state is the
    latest `StateRecord` (`pending_new` when only the intent was written); its fills are the
    trade ids of its fill reports, de-duplicated, in order. A cancel-replace's new order (its
    `StateRecord.replaces` set) takes venue, symbol, side and intent id from the order it
    replaced; an adopted order has no intent (`intent_id` None) and takes venue, symbol and side
    from its latest report. The keys are those of `export_orders`.
    """
    orders: dict[str, _Order] = {}
    for _, rec in records:
        if isinstance(rec, (IntentRecord, StateRecord)):
            o = orders.get(rec.client_order_id)
            if o is None:
                o = orders[rec.client_order_id] = _Order()
            if isinstance(rec, IntentRecord):
                o.intent = rec
            else:
                o.state = rec
        elif isinstance(rec, ReportRecord):
            o = orders.get(rec.client_order_id)
            if o is None:
                # Adopted (or unknown) orders appear once a StateRecord is written for them.
                o = orders[rec.client_order_id] = _Order()
            o.report = rec
            if (
                rec.kind == ReportKind.FILL
                and rec.trade_id is not None
                and rec.trade_id not in o.trade_ids
            ):
                o.trade_ids.add(rec.trade_id)
                o.fills.append(rec.trade_id)
    out: dict[str, dict[str, Any]] = {}
    for cid, o in orders.items():
        if o.intent is None and o.state is None:
            continue
        intent, state, report = o.intent, o.state, o.report
        intent = intent or _replaced_intent(orders, o)
        out[cid] = {
            "client_order_id": cid,
            "venue_order_id": None if state is None else state.venue_order_id,
            "state": OrderState.PENDING_NEW.value if state is None else state.state,
            "filled_qty": "0" if state is None else state.filled_qty,
            "fills": o.fills,
            "venue": intent.venue if intent else (report.venue if report else None),
            "symbol": intent.symbol if intent else (report.symbol if report else None),
            "side": intent.side if intent else (report.side if report else None),
            "intent_id": intent.intent_id if intent else None,
            "replaces": None if state is None else state.replaces,
        }
    return out


def export_orders(journal_path: str | os.PathLike[str], output_path: str | os.PathLike[str]) -> int:
    """Writes one JSON line per order of the journal; returns the number of orders.

    Keys: `client_order_id`, `venue_order_id`, `state` (`OrderState` value), `filled_qty`
    (decimal string), `fills` (trade ids), `venue`, `symbol`, `side`, `intent_id` (None for
    adopted orders), `replaces`. See `fold_orders`.

    Raises:
        JournalError: the journal cannot be read.
    """
    orders = fold_orders(OrderJournal.replay(journal_path))
    with open(output_path, "w", encoding="utf-8") as f:
        for row in orders.values():
            f.write(json.dumps(row))
            f.write("\n")
    return len(orders)

"""A queryable SQLite copy of the order journal, kept off the hot path.

The order manager only appends to the journal (`venuegate.oms.journal`); `JournalStore` reads the
journal after the fact and applies new records to three tables:

- `orders`: one row per client order id (intent fields, then the latest `StateRecord`);
- `fills`: one row per (client order id, trade id) of fill reports, duplicates ignored;
- `events`: every record, by sequence number, as JSON.

`catch_up` applies what was appended since the last call (the byte offset and sequence number
reached are kept in the database, updated in the same transaction as the rows), `rebuild` starts
over, and `follow` runs `catch_up` periodically in a worker thread so the event loop and the hot
path never touch SQLite. The database is in WAL mode; readers never block the catch-up.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Self

import msgspec

from venuegate.errors import JournalError
from venuegate.model import OrderState
from venuegate.oms.journal import (
    IntentRecord,
    Record,
    ReportRecord,
    StateRecord,
    read_records,
)
from venuegate.oms.types import ReportKind

__all__ = ["JournalStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    intent_id INTEGER,
    venue TEXT,
    symbol TEXT,
    side TEXT,
    type TEXT,
    time_in_force TEXT,
    state TEXT NOT NULL,
    venue_order_id TEXT,
    quantity TEXT,
    price TEXT,
    filled_qty TEXT NOT NULL,
    avg_price TEXT,
    replaces TEXT,
    created_ts_ns INTEGER NOT NULL,
    updated_ts_ns INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (state);
CREATE TABLE IF NOT EXISTS fills (
    client_order_id TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    venue TEXT NOT NULL,
    qty TEXT,
    price TEXT,
    fee TEXT,
    fee_asset TEXT,
    liquidity TEXT,
    ts_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (client_order_id, trade_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts_ns INTEGER NOT NULL,
    type TEXT NOT NULL,
    client_order_id TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_order ON events (client_order_id, seq);
"""

_OPEN_STATES = tuple(s.value for s in OrderState if s.is_open)


def _apply(db: sqlite3.Connection, seq: int, rec: Record) -> None:
    cid: str | None = getattr(rec, "client_order_id", None)
    body = json.dumps(msgspec.structs.asdict(rec))
    db.execute(
        "INSERT OR REPLACE INTO events (seq, ts_ns, type, client_order_id, body) "
        "VALUES (?, ?, ?, ?, ?)",
        (seq, rec.ts_ns, type(rec).__name__, cid, body),
    )
    if isinstance(rec, IntentRecord):
        db.execute(
            "INSERT INTO orders (client_order_id, intent_id, venue, symbol, side, type, "
            "time_in_force, state, quantity, price, filled_qty, created_ts_ns, updated_ts_ns, "
            "last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', ?, ?, ?) "
            "ON CONFLICT (client_order_id) DO UPDATE SET intent_id = excluded.intent_id, "
            "venue = excluded.venue, symbol = excluded.symbol, side = excluded.side, "
            "type = excluded.type, time_in_force = excluded.time_in_force, "
            "last_seq = excluded.last_seq",
            (
                rec.client_order_id,
                rec.intent_id,
                rec.venue,
                rec.symbol,
                rec.side,
                rec.type,
                rec.time_in_force,
                OrderState.PENDING_NEW.value,
                rec.quantity,
                rec.price,
                rec.ts_ns,
                rec.ts_ns,
                seq,
            ),
        )
    elif isinstance(rec, StateRecord):
        db.execute(
            "INSERT INTO orders (client_order_id, state, venue_order_id, quantity, price, "
            "filled_qty, avg_price, replaces, created_ts_ns, updated_ts_ns, last_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (client_order_id) DO UPDATE SET state = excluded.state, "
            "venue_order_id = excluded.venue_order_id, quantity = excluded.quantity, "
            "price = excluded.price, filled_qty = excluded.filled_qty, "
            "avg_price = excluded.avg_price, replaces = excluded.replaces, "
            "updated_ts_ns = excluded.updated_ts_ns, last_seq = excluded.last_seq",
            (
                rec.client_order_id,
                rec.state,
                rec.venue_order_id,
                rec.quantity,
                rec.price,
                rec.filled_qty,
                rec.avg_price,
                rec.replaces,
                rec.ts_ns,
                rec.ts_ns,
                seq,
            ),
        )
        if rec.replaces is not None:
            # A cancel-replace's new order takes the intent fields of the order it replaced.
            db.execute(
                "UPDATE orders SET (intent_id, venue, symbol, side, type, time_in_force) = "
                "(SELECT intent_id, venue, symbol, side, type, time_in_force FROM orders "
                "WHERE client_order_id = ?) WHERE client_order_id = ? AND venue IS NULL",
                (rec.replaces, rec.client_order_id),
            )
        # An adopted order takes venue, symbol and side from its latest report.
        db.execute(
            "UPDATE orders SET (venue, symbol, side) = (SELECT json_extract(body, '$.venue'), "
            "json_extract(body, '$.symbol'), json_extract(body, '$.side') FROM events "
            "WHERE client_order_id = ? AND type = 'ReportRecord' ORDER BY seq DESC LIMIT 1) "
            "WHERE client_order_id = ? AND venue IS NULL AND intent_id IS NULL "
            "AND EXISTS (SELECT 1 FROM events WHERE client_order_id = ? AND type = 'ReportRecord')",
            (rec.client_order_id, rec.client_order_id, rec.client_order_id),
        )
    elif isinstance(rec, ReportRecord):
        # Adopted orders learn venue, symbol and side from their reports.
        db.execute(
            "UPDATE orders SET venue = coalesce(venue, ?), symbol = coalesce(symbol, ?), "
            "side = coalesce(side, ?) WHERE client_order_id = ?",
            (rec.venue, rec.symbol, rec.side, rec.client_order_id),
        )
        if rec.kind == ReportKind.FILL and rec.trade_id is not None:
            db.execute(
                "INSERT OR IGNORE INTO fills (client_order_id, trade_id, venue, qty, price, fee, "
                "fee_asset, liquidity, ts_ms, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.client_order_id,
                    rec.trade_id,
                    rec.venue,
                    rec.last_qty,
                    rec.price if rec.last_price is None else rec.last_price,
                    rec.fee,
                    rec.fee_asset,
                    rec.liquidity,
                    rec.ts_ms,
                    seq,
                ),
            )


class JournalStore:
    """SQLite tables (orders, fills, events) fed from an order journal.

    Args:
        db_path: the SQLite database file (created if missing), or ":memory:".

    Thread-safe: `follow` runs `catch_up` in a worker thread while queries run in the caller's.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            os.fspath(db_path), isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self._db.execute("SELECT key, value FROM meta")}

    @property
    def position(self) -> tuple[int, int]:
        """`(byte offset, last sequence number)` applied so far; `(0, 0)` when empty."""
        with self._lock:
            meta = self._meta()
        return int(meta.get("offset", "0")), int(meta.get("last_seq", "0"))

    def catch_up(self, journal_path: str | os.PathLike[str]) -> int:
        """Applies the records appended since the last call, in one transaction.

        Returns:
            The number of records applied.

        Raises:
            JournalError: the journal cannot be read, or it does not continue where this store
                stopped (another journal, or one rewritten): call `rebuild`.
        """
        path = str(Path(journal_path).resolve())
        with self._lock:
            meta = self._meta()
            if meta.get("journal", path) != path:
                raise JournalError(
                    f"store follows {meta['journal']}, not {path}: rebuild it for this journal"
                )
            offset = int(meta.get("offset", "0"))
            last_seq = int(meta.get("last_seq", "0"))
            if offset and os.path.getsize(path) < offset:
                raise JournalError(
                    f"journal {path} is shorter than the {offset} bytes already applied: rebuild"
                )
            records, end, _torn = read_records(path, offset)
            if not records:
                return 0
            if records[0][0] != last_seq + 1:
                raise JournalError(
                    f"journal {path} resumes at seq {records[0][0]}, not {last_seq + 1}: rebuild"
                )
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for seq, rec in records:
                    _apply(db, seq, rec)
                db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("journal", path), ("offset", str(end)), ("last_seq", str(records[-1][0]))],
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return len(records)

    def rebuild(self, journal_path: str | os.PathLike[str]) -> int:
        """Drops every row and applies the whole journal; returns the number of records."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            for table in ("meta", "orders", "fills", "events"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("COMMIT")
        return self.catch_up(journal_path)

    async def follow(self, journal_path: str | os.PathLike[str], interval_s: float = 0.5) -> None:
        """Catches up every `interval_s` seconds, in a worker thread, until cancelled.

        Run it as a task (`asyncio.create_task(store.follow(path))`); cancel it to stop.
        """
        while True:
            await asyncio.to_thread(self.catch_up, journal_path)
            await asyncio.sleep(interval_s)

    def order(self, client_order_id: str) -> dict[str, Any] | None:
        """The `orders` row of `client_order_id`, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM orders WHERE client_order_id = ?", (client_order_id,)
            ).fetchone()
        return None if row is None else dict(row)

    def open_orders(self) -> list[dict[str, Any]]:
        """Orders that may still rest or fill (UNKNOWN and pending included), oldest first."""
        marks = ", ".join("?" * len(_OPEN_STATES))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM orders WHERE state IN ({marks}) ORDER BY rowid",  # noqa: S608
                _OPEN_STATES,
            ).fetchall()
        return [dict(r) for r in rows]

    def fills(self, client_order_id: str) -> list[dict[str, Any]]:
        """The fills of `client_order_id`, in journal order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM fills WHERE client_order_id = ? ORDER BY seq", (client_order_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def events(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """Every event (of one order, when given) in sequence order; `body` is JSON text."""
        with self._lock:
            if client_order_id is None:
                rows = self._db.execute("SELECT * FROM events ORDER BY seq").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM events WHERE client_order_id = ? ORDER BY seq",
                    (client_order_id,),
                ).fetchall()
        return [dict(r) for r in rows]

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of orders, fills and events (for comparisons and debugging)."""
        with self._lock:
            return {
                table: [
                    dict(r)
                    for r in self._db.execute(
                        f"SELECT * FROM {table} ORDER BY rowid"  # noqa: S608 - fixed names
                    )
                ]
                for table in ("orders", "fills", "events")
            }

"""Journaling one order intent, the order manager's hot-path write, five ways in one run:

- venuegate `OrderJournal.write(IntentRecord)` (msgpack encode + one native `write` syscall) with
  fsync "none" (survives a process crash), "group" every 5 ms (a background thread fsyncs) and
  "always" (fdatasync per record: survives power loss);
- the baseline: SQLite in WAL mode, one autocommit INSERT of the same fields per intent, with
  `synchronous=NORMAL` (survives a process crash, like "none") and `synchronous=FULL` (fsync per
  commit, like "always").
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from venuegate.oms.journal import IntentRecord, OrderJournal

GROUP = "journal-intent-write"


def _intent(n: int) -> IntentRecord:
    return IntentRecord(
        ts_ns=time.time_ns(),
        intent_id=n,
        client_order_id=f"vg-1700000000-{n:06d}",
        venue="binance",
        symbol="BTCUSDT",
        side="buy",
        type="limit",
        time_in_force="gtc",
        quantity="0.00100000",
        price="67123.45",
        post_only=False,
        reduce_only=False,
        expire_at_ms=None,
    )


RECORD = _intent(1)


def _journal(benchmark: Any, path: Path, fsync: str) -> None:
    with OrderJournal(path, fsync=fsync, group_interval_ms=5) as j:  # type: ignore[arg-type]
        seq = benchmark(j.write, RECORD)
        assert seq >= 1
    assert next(OrderJournal.replay(path))[1] == RECORD


@pytest.mark.benchmark(group=GROUP)
def test_journal_none(benchmark: Any, tmp_path: Path) -> None:
    _journal(benchmark, tmp_path / "j.wal", "none")


@pytest.mark.benchmark(group=GROUP)
def test_journal_group_5ms(benchmark: Any, tmp_path: Path) -> None:
    _journal(benchmark, tmp_path / "j.wal", "group")


@pytest.mark.benchmark(group=GROUP)
def test_journal_always(benchmark: Any, tmp_path: Path) -> None:
    _journal(benchmark, tmp_path / "j.wal", "always")


def _sqlite(benchmark: Any, path: Path, synchronous: str) -> None:
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: one transaction per INSERT
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute(
        "CREATE TABLE intents (seq INTEGER PRIMARY KEY, ts_ns INTEGER, intent_id INTEGER, "
        "client_order_id TEXT, venue TEXT, symbol TEXT, side TEXT, type TEXT, "
        "time_in_force TEXT, quantity TEXT, price TEXT, post_only INTEGER, reduce_only INTEGER, "
        "expire_at_ms INTEGER)"
    )
    sql = "INSERT INTO intents VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    r = RECORD
    counter = itertools.count(1)

    def insert() -> int:
        db.execute(
            sql,
            (
                r.ts_ns,
                r.intent_id,
                r.client_order_id,
                r.venue,
                r.symbol,
                r.side,
                r.type,
                r.time_in_force,
                r.quantity,
                r.price,
                r.post_only,
                r.reduce_only,
                r.expire_at_ms,
            ),
        )
        return next(counter)

    benchmark(insert)
    assert db.execute("SELECT count(*) FROM intents").fetchone()[0] >= 1
    db.close()


@pytest.mark.benchmark(group=GROUP)
def test_sqlite_wal_normal(benchmark: Any, tmp_path: Path) -> None:
    _sqlite(benchmark, tmp_path / "s.db", "NORMAL")


@pytest.mark.benchmark(group=GROUP)
def test_sqlite_wal_full(benchmark: Any, tmp_path: Path) -> None:
    _sqlite(benchmark, tmp_path / "s.db", "FULL")

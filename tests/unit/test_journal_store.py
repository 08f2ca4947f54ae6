"""The SQLite store fed from the order journal: incremental catch-up, rebuild, queries."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from tests.unit.test_journal import fill, intent, session_records, state
from venuegate.errors import JournalError
from venuegate.model import OrderState
from venuegate.oms.journal import OrderJournal
from venuegate.oms.store import JournalStore


def test_catch_up_is_incremental(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    records = session_records()
    with OrderJournal(path) as j, JournalStore(tmp_path / "s.db") as store:
        assert store.catch_up(path) == 0
        j.write_many(records[:6])
        assert store.catch_up(path) == 6
        assert store.position == (path.stat().st_size, 6)
        assert store.catch_up(path) == 0
        for r in records[6:]:
            j.write(r)
        assert store.catch_up(path) == len(records) - 6
        assert [e["seq"] for e in store.events()] == list(range(1, len(records) + 1))

        a = store.order("a")
        assert a is not None
        assert (a["state"], a["filled_qty"], a["intent_id"], a["venue"]) == (
            "filled",
            "0.0010",
            1,
            "binance",
        )
        assert [f["trade_id"] for f in store.fills("a")] == ["t1", "t2"]
        assert store.fills("a")[0]["qty"] == "0.0005"
        assert [o["client_order_id"] for o in store.open_orders()] == ["b2", "adopted-1"]
        adopted = store.order("adopted-1")
        assert adopted is not None
        assert (adopted["venue"], adopted["symbol"], adopted["intent_id"]) == (
            "okx",
            "BTC-USDT",
            None,
        )
        b2 = store.order("b2")
        assert b2 is not None
        assert (b2["venue"], b2["intent_id"], b2["replaces"]) == ("binance", 2, "b")
        assert store.order("nope") is None
        body = json.loads(store.events("b")[0]["body"])
        assert body["client_order_id"] == "b"


def test_rebuild_equals_catch_up(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    incremental = JournalStore(tmp_path / "inc.db")
    with OrderJournal(path) as j:
        for r in session_records():
            j.write(r)
            incremental.catch_up(path)
        for n in range(100, 110):
            j.write(intent(n))
            j.write(state(f"vg-{n:06d}", OrderState.NEW))
        j.write(fill("vg-000100", "t100"))
        incremental.catch_up(path)
    full = JournalStore(tmp_path / "full.db")
    assert full.rebuild(path) == len(session_records()) + 21
    assert full.dump() == incremental.dump()
    assert full.position == incremental.position
    # Rebuilding again starts over rather than duplicating.
    assert incremental.rebuild(path) == len(session_records()) + 21
    assert incremental.dump() == full.dump()
    full.close()
    incremental.close()


def test_store_uses_wal_mode(tmp_path: Path) -> None:
    JournalStore(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_refuses_another_journal(tmp_path: Path) -> None:
    with OrderJournal(tmp_path / "one.wal") as j:
        j.write(intent(1))
    with OrderJournal(tmp_path / "two.wal") as j:
        j.write(intent(1))
    with JournalStore(tmp_path / "s.db") as store:
        store.catch_up(tmp_path / "one.wal")
        with pytest.raises(JournalError, match="rebuild"):
            store.catch_up(tmp_path / "two.wal")
        assert store.rebuild(tmp_path / "two.wal") == 1


def test_store_refuses_a_rewritten_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"
    with OrderJournal(path) as j:
        j.write_many([intent(n) for n in range(1, 5)])
    with JournalStore(tmp_path / "s.db") as store:
        store.catch_up(path)
        path.unlink()
        with OrderJournal(path) as j:
            j.write(intent(1))
        with pytest.raises(JournalError, match="shorter"):
            store.catch_up(path)


def test_follow_catches_up_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "j.wal"

    async def run(store: JournalStore, j: OrderJournal) -> int:
        task = asyncio.create_task(store.follow(path, interval_s=0.001))
        j.write_many(session_records())
        for _ in range(10_000):
            if store.position[1] == len(session_records()):
                break
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return store.position[1]

    with OrderJournal(path) as j, JournalStore(tmp_path / "s.db") as store:
        assert asyncio.run(run(store, j)) == len(session_records())
        a = store.order("a")
        assert a is not None
        assert a["state"] == "filled"

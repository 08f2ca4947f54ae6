"""FIX message stores: MemoryStore / JournalStore parity, restart, reset, cache and export."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from venuegate.errors import JournalError
from venuegate.fix.messages import mask_fields, mask_raw
from venuegate.fix.store import JournalStore, MemoryStore, MessageStore, read_store


def _exercise(store: MessageStore) -> None:
    store.store_admin(1)  # Logon
    store.store_sent(2, "20260101-00:00:00.002", b"raw-2")
    store.store_sent(3, "20260101-00:00:00.003", b"raw-3")
    store.store_admin(4)  # Heartbeat
    store.set_next_target_seq(2)
    store.incr_next_target_seq()


@pytest.mark.parametrize("kind", ["memory", "journal"])
def test_store_semantics(kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if kind == "memory" else JournalStore(tmp_path / "s.log")
    assert (store.next_sender_seq, store.next_target_seq) == (1, 1)
    _exercise(store)
    assert (store.next_sender_seq, store.next_target_seq) == (5, 3)
    stored = store.get(2)
    assert stored is not None
    assert (stored.seq, stored.sending_time, stored.raw) == (2, "20260101-00:00:00.002", b"raw-2")
    assert store.get(1) is None
    assert store.get(4) is None
    assert store.get(9) is None
    assert [(s, m is not None) for s, m in store.get_range(1, 4)] == [
        (1, False),
        (2, True),
        (3, True),
        (4, False),
    ]
    assert len(store) == 2
    store.set_next_sender_seq(10)
    assert store.next_sender_seq == 10
    created = store.creation_time_ns
    store.reset()
    assert (store.next_sender_seq, store.next_target_seq, len(store)) == (1, 1, 0)
    assert store.get(2) is None
    assert store.creation_time_ns >= created
    store.close()


def test_journal_store_restart_resumes_exactly(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    store = JournalStore(path)
    created = store.creation_time_ns
    _exercise(store)
    store.set_next_sender_seq(7)
    store.close()
    again = JournalStore(path)
    assert (again.next_sender_seq, again.next_target_seq) == (7, 3)
    assert again.creation_time_ns == created
    msg = again.get(3)
    assert msg is not None
    assert msg.raw == b"raw-3"
    again.store_sent(7, "t7", b"raw-7")
    again.close()
    third = JournalStore(path)
    assert third.next_sender_seq == 8
    assert third.get(7) is not None
    third.close()


def test_journal_store_reset_rotates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    store = JournalStore(path)
    _exercise(store)
    store.reset()
    store.store_sent(1, "t1", b"new-1")
    store.close()
    assert (tmp_path / "s.log.prev").exists()
    again = JournalStore(path)
    assert (again.next_sender_seq, again.next_target_seq, len(again)) == (2, 1, 1)
    assert again.get(2) is None
    again.close()


def test_journal_store_reads_evicted_messages_back_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    store = JournalStore(path, cache_messages=3)
    for seq in range(1, 11):
        store.store_sent(seq, f"t{seq}", b"raw-%d" % seq)
    for seq in range(1, 11):
        msg = store.get(seq)
        assert msg is not None
        assert msg.raw == b"raw-%d" % seq
        assert msg.sending_time == f"t{seq}"
    store.close()
    again = JournalStore(path, cache_messages=2)
    assert [again.get(s).raw for s in (1, 5, 10)] == [b"raw-1", b"raw-5", b"raw-10"]  # type: ignore[union-attr]
    again.close()


def test_journal_store_survives_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    store = JournalStore(path)
    _exercise(store)
    store.close()
    with open(path, "ab") as f:
        f.write(b"\x00\x01torn")
    again = JournalStore(path)
    assert (again.next_sender_seq, again.next_target_seq) == (5, 3)
    again.close()


def test_journal_store_refuses_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_bytes(b"definitely not a journal" * 4)
    with pytest.raises(JournalError):
        JournalStore(path)


def test_journal_store_refresh_and_sync(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    store = JournalStore(path, fsync="group")
    _exercise(store)
    store.sync()
    store.refresh()
    assert (store.next_sender_seq, store.next_target_seq) == (5, 3)
    assert "JournalStore(" in repr(store)
    store.close()


def test_read_store_export(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    store = JournalStore(path)
    _exercise(store)
    store.close()
    export = read_store(path)
    assert export["next_sender_seq"] == 5
    assert export["next_target_seq"] == 3
    assert [(s, raw) for s, _, raw in export["messages"]] == [(2, b"raw-2"), (3, b"raw-3")]
    assert os.path.getsize(path) > 0


def test_mask_helpers_hide_credentials() -> None:
    fields = [(553, "user-0123456789abcdef"), (554, "hunter2-password"), (96, b"sig"), (11, "c")]
    masked = mask_fields(fields)
    assert masked[1] == (554, "***")
    assert masked[2] == (96, "***")
    assert masked[3] == (11, "c")
    assert "0123456789" not in masked[0][1]
    raw = (
        b"8=FIX.4.4\x019=5\x0135=A\x01553=user-0123456789abcdef\x01554=pw\x01"
        b"95=5\x0196=a\x01b=c\x0110=000\x01"
    )
    text = mask_raw(raw)
    assert "554=***" in text
    assert "96=***|10=000|" in text
    assert "a|b=c" not in text
    assert "pw" not in text
    assert "0123456789" not in text

"""FIX message stores: sequence numbers and sent messages, persisted before anything is sent.

`JournalStore` keeps a session's state in the native append-only journal the order journal uses
(`venuegate._native.Journal`: one `write` syscall per record, CRC-framed, torn tail dropped on
open), so a restart resumes the session exactly: the next sender and target sequence numbers,
and every application message sent since the last reset (for answering ResendRequests).
`MemoryStore` holds the same in memory (tests, ephemeral sessions).

Journal format: one msgpack array per record, record kind byte:

* 1 CREATION `[created_ns]`: first record of a file (the session's creation time).
* 2 OUT `[seq, sending_time, raw]`: an application message about to be written to the socket
  (written BEFORE the socket write); the next sender seq becomes `seq + 1`.
* 3 OUT_ADMIN `[seq]`: an admin message used `seq`; its bytes are not kept (admin messages are
  gap-filled on resend, and a Logon carries credentials that must never reach a file).
* 4 IN `[next_target_seq]`: the next expected inbound seq, after each processed message.
* 5 RESET `[created_ns]`: both sequence numbers back to 1, sent messages forgotten.
* 6 SENDER `[next_sender_seq]`: the next sender seq set directly (skip, SequenceReset).

Memory: the store indexes every sent application message since the last reset by seq, as the
file offset of its record (a few dozen bytes each) plus, for the newest `cache_messages`
messages (default 100 000), the raw bytes themselves; older messages are read back from the file
when a resend asks for them. A reset (daily with a schedule) starts a new file (the previous one
is kept as `<path>.prev`), so the file and the index are bounded by one session's traffic.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Literal

import msgspec

from venuegate._native import Journal, read_journal
from venuegate.errors import JournalError

__all__ = ["JournalStore", "MemoryStore", "MessageStore", "StoredMessage", "read_store"]

_CREATION = 1
_OUT = 2
_OUT_ADMIN = 3
_IN = 4
_RESET = 5
_SENDER = 6

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[Any]).decode


class StoredMessage(msgspec.Struct, frozen=True):
    """A sent application message as stored.

    Attributes:
        seq: its MsgSeqNum.
        sending_time: its SendingTime (52), the OrigSendingTime (122) of a replay.
        raw: the message as first sent.
    """

    seq: int
    sending_time: str
    raw: bytes


class MessageStore:
    """The store interface (and the in-memory state both stores share).

    Attributes:
        next_sender_seq: the seq our next message gets.
        next_target_seq: the seq we expect next from the counterparty.
        creation_time_ns: when the current session (since the last reset) was created.
    """

    def __init__(self) -> None:
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self.creation_time_ns = time.time_ns()
        self._messages: dict[int, StoredMessage] = {}

    def store_sent(self, seq: int, sending_time: str, raw: bytes) -> None:
        """Records an application message about to be sent with `seq`; next sender seq = seq+1."""
        self._messages[seq] = StoredMessage(seq, sending_time, raw)
        self.next_sender_seq = seq + 1

    def store_admin(self, seq: int) -> None:
        """Records that an admin message used `seq` (its bytes are not kept)."""
        self.next_sender_seq = seq + 1

    def set_next_sender_seq(self, seq: int) -> None:
        """Sets the next sender seq directly."""
        self.next_sender_seq = seq

    def set_next_target_seq(self, seq: int) -> None:
        """Sets the next expected inbound seq."""
        self.next_target_seq = seq

    def incr_next_target_seq(self) -> None:
        """Advances the next expected inbound seq by one."""
        self.set_next_target_seq(self.next_target_seq + 1)

    def get(self, seq: int) -> StoredMessage | None:
        """The stored application message with `seq`, or None (admin, skipped, or unknown)."""
        return self._messages.get(seq)

    def get_range(self, begin: int, end: int) -> Iterator[tuple[int, StoredMessage | None]]:
        """`(seq, message or None)` for every seq in `[begin, end]`."""
        for seq in range(begin, end + 1):
            yield seq, self.get(seq)

    def reset(self) -> None:
        """Both sequence numbers back to 1; stored messages forgotten; a new creation time."""
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self.creation_time_ns = time.time_ns()
        self._messages.clear()

    def refresh(self) -> None:
        """Reloads from durable state (no-op in memory)."""

    def close(self) -> None:
        """Releases resources (no-op in memory)."""

    def __len__(self) -> int:
        return len(self._messages)


class MemoryStore(MessageStore):
    """Sequence numbers and sent messages in memory only (lost with the process)."""

    def __repr__(self) -> str:
        return (
            f"MemoryStore(next_sender_seq={self.next_sender_seq}, "
            f"next_target_seq={self.next_target_seq}, messages={len(self)})"
        )


class JournalStore(MessageStore):
    """A session's store in the native append-only journal at `path`.

    Args:
        path: the journal file (created if missing; an existing one is replayed).
        fsync: "none", "group" or "always" (see `venuegate.oms.journal.OrderJournal`).
        cache_messages: how many of the newest sent messages keep their bytes in memory.

    Raises:
        JournalError: the file cannot be opened, is not a journal, or is corrupt.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fsync: Literal["none", "group", "always"] = "none",
        cache_messages: int = 100_000,
    ) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.fsync: Literal["none", "group", "always"] = fsync
        self.cache_messages = max(1, cache_messages)
        self._offsets: dict[int, int] = {}
        self._cache: OrderedDict[int, StoredMessage] = OrderedDict()
        self._journal = self._open()

    def _open(self) -> Journal:
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        journal = Journal(self.path, self.fsync, 5)
        if exists:
            self._replay()
        else:
            journal.append(_CREATION, _encode([self.creation_time_ns]))
        return journal

    def _replay(self) -> None:
        records, end, _ = read_journal(self.path, 0)
        positions = _record_offsets(records, end)
        if positions is None:
            self.cache_messages = 1 << 62  # offsets unknown: keep every message in memory
        for i, (_, kind, payload) in enumerate(records):
            rec = _decode(payload)
            if kind in (_CREATION, _RESET):
                if kind == _RESET:
                    self.next_sender_seq = 1
                    self.next_target_seq = 1
                    self._offsets.clear()
                    self._cache.clear()
                self.creation_time_ns = int(rec[0])
            elif kind == _OUT:
                seq = int(rec[0])
                self._offsets[seq] = -1 if positions is None else positions[i]
                self._remember(StoredMessage(seq, str(rec[1]), bytes(rec[2])))
                self.next_sender_seq = seq + 1
            elif kind == _OUT_ADMIN:
                self.next_sender_seq = int(rec[0]) + 1
            elif kind == _IN:
                self.next_target_seq = int(rec[0])
            elif kind == _SENDER:
                self.next_sender_seq = int(rec[0])
            else:
                raise JournalError(f"{self.path}: unknown FIX store record kind {kind}")

    def _remember(self, msg: StoredMessage) -> None:
        cache = self._cache
        cache[msg.seq] = msg
        cache.move_to_end(msg.seq)
        while len(cache) > self.cache_messages:
            cache.popitem(last=False)

    def store_sent(self, seq: int, sending_time: str, raw: bytes) -> None:
        """Appends OUT (one write syscall) before the caller writes `raw` to the socket."""
        offset = self._journal.end_offset
        self._journal.append(_OUT, _encode([seq, sending_time, raw]))
        self._offsets[seq] = offset
        self._remember(StoredMessage(seq, sending_time, raw))
        self.next_sender_seq = seq + 1

    def store_admin(self, seq: int) -> None:
        """Appends OUT_ADMIN (seq only)."""
        self._journal.append(_OUT_ADMIN, _encode([seq]))
        self.next_sender_seq = seq + 1

    def set_next_sender_seq(self, seq: int) -> None:
        """Appends SENDER."""
        self._journal.append(_SENDER, _encode([seq]))
        self.next_sender_seq = seq

    def set_next_target_seq(self, seq: int) -> None:
        """Appends IN."""
        self._journal.append(_IN, _encode([seq]))
        self.next_target_seq = seq

    def get(self, seq: int) -> StoredMessage | None:
        """The message from the cache, else read back from the journal at its offset."""
        msg = self._cache.get(seq)
        if msg is not None:
            return msg
        offset = self._offsets.get(seq)
        if offset is None or offset < 0:
            return None
        records, _, _ = read_journal(self.path, offset)
        rec = _decode(records[0][2]) if records and records[0][1] == _OUT else None
        if rec is None or int(rec[0]) != seq:
            raise JournalError(f"{self.path}: no OUT record for seq {seq} at offset {offset}")
        return StoredMessage(seq, str(rec[1]), bytes(rec[2]))

    def reset(self) -> None:
        """Starts a new journal file (the old one kept as `<path>.prev`) with seqs at 1."""
        super().reset()
        self._offsets.clear()
        self._cache.clear()
        self._journal.close()
        os.replace(self.path, self.path + ".prev")
        self._journal = Journal(self.path, self.fsync, 5)
        self._journal.append(_CREATION, _encode([self.creation_time_ns]))

    def refresh(self) -> None:
        """Re-reads the file (state written by another process is picked up)."""
        self._journal.close()
        self.next_sender_seq = self.next_target_seq = 1
        self._offsets.clear()
        self._cache.clear()
        self._journal = self._open()

    def sync(self) -> None:
        """Forces every record to disk."""
        self._journal.sync()

    def close(self) -> None:
        """Closes the journal (syncing unless fsync is "none"); idempotent."""
        self._journal.close()

    def __len__(self) -> int:
        return len(self._offsets)

    def __repr__(self) -> str:
        return (
            f"JournalStore({self.path!r}, next_sender_seq={self.next_sender_seq}, "
            f"next_target_seq={self.next_target_seq}, messages={len(self)})"
        )


# The native journal frames each record with a fixed overhead after a fixed file header. The
# offsets of replayed records are computed from that and checked against the end offset the
# reader reports; on any mismatch (a changed format) every message stays cached instead.
_FILE_HEADER = 16
_RECORD_OVERHEAD = 17


def _record_offsets(records: list[tuple[int, int, bytes]], end: int) -> list[int] | None:
    """The start offset of each record, or None when the framing is not the one expected."""
    offsets: list[int] = []
    pos = _FILE_HEADER
    for _, _, payload in records:
        offsets.append(pos)
        pos += _RECORD_OVERHEAD + len(payload)
    return offsets if pos == end else None


def read_store(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A journal store's state, for inspection: seqs, creation time and the sent messages.

    Returns:
        `{"next_sender_seq", "next_target_seq", "creation_time_ns", "messages": [(seq,
        sending_time, raw), ...]}` (the messages sent since the last reset).

    Raises:
        JournalError: the file cannot be read.
    """
    store = MemoryStore()
    records, _, _ = read_journal(os.fspath(path), 0)
    for _, kind, payload in records:
        rec = _decode(payload)
        if kind == _RESET:
            store.reset()
            store.creation_time_ns = int(rec[0])
        elif kind == _CREATION:
            store.creation_time_ns = int(rec[0])
        elif kind == _OUT:
            store.store_sent(int(rec[0]), str(rec[1]), bytes(rec[2]))
        elif kind == _OUT_ADMIN:
            store.store_admin(int(rec[0]))
        elif kind == _IN:
            store.set_next_target_seq(int(rec[0]))
        elif kind == _SENDER:
            store.set_next_sender_seq(int(rec[0]))
    return {
        "next_sender_seq": store.next_sender_seq,
        "next_target_seq": store.next_target_seq,
        "creation_time_ns": store.creation_time_ns,
        "messages": [(m.seq, m.sending_time, m.raw) for _, m in sorted(store._messages.items())],
    }

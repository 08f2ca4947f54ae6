"""One rate budget shared by several processes on one host (one IP, one venue account).

A `SharedBudget` is a small JSON file guarded by `fcntl.flock`. A `RateLimiter` given one keeps
its window counters there instead of in memory: every grant reads the counters, decides and
writes them back under one exclusive lock, so processes hammering the same budget never grant
more than a window holds between them.

What is stored, per venue and per window (and key, for per-key windows):

* FIXED: the calendar interval index and the units used in it (exact).
* DECAY: the counter level and when it was last updated (exact).
* SLIDING: grant times rounded *up* to sub-buckets of `period_s / SLIDING_BUCKETS`, with the
  weights granted in each bucket. An entry therefore leaves the window up to one bucket late:
  the approximation only ever over-counts, so a shared sliding window is never exceeded but may
  grant up to one bucket's worth of time later than an exact in-memory one.

Times are the limiter's own clocks: `time.time()` for FIXED windows (calendar-aligned) and
`time.monotonic()` (CLOCK_MONOTONIC, shared by every process of one Linux host) for the others.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from venuegate.errors import ConfigError

__all__ = ["SLIDING_BUCKETS", "SharedBudget"]

SLIDING_BUCKETS = 20
"""Sub-buckets per SLIDING window period in a shared budget."""


class SharedBudget:
    """A file-backed, `flock`-guarded store for rate-window counters.

    Args:
        path: the budget file; created when missing. Every process sharing one venue budget
            (one IP, one account) must use the same path.

    The file descriptor is opened lazily per process (a descriptor inherited over `fork` shares
    its lock with the parent, which would defeat the lock), so a `SharedBudget` may be created
    before worker processes start.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._fd: int | None = None
        self._pid = -1

    @property
    def path(self) -> Path:
        """The budget file."""
        return self._path

    def _descriptor(self) -> int:
        pid = os.getpid()
        if self._fd is None or self._pid != pid:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise ConfigError(f"cannot open shared rate budget {self._path}: {exc}") from exc
            self._pid = pid
        return self._fd

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Lock the budget, yield its contents as a mutable dict, write them back on exit.

        Yields:
            The whole stored document (venue → state key → window state); empty when new.
        """
        fd = self._descriptor()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            try:
                loaded: object = json.loads(raw) if raw else {}
            except ValueError:
                loaded = {}  # a torn or foreign file: start again (counters re-sync from headers)
            doc: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
            yield doc
            data = json.dumps(doc, separators=(",", ":")).encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's descriptor (the file stays for the other processes)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def __repr__(self) -> str:
        return f"SharedBudget({str(self._path)!r})"

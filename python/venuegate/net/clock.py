"""Continuous venue server-time offset estimation (`ClockSync`).

Each sample reads the local clock (`t0`), asks the venue for its time (`server`), reads the local
clock again (`t1`)::

    offset = server - (t0 + t1) / 2        rtt = t1 - t0

The true offset lies within `rtt / 2` of that (whatever the split of the round trip), so the best
sample is the one with the smallest round trip. The estimate is: keep the last `samples` samples,
drop those whose offset is an outlier (more than 3 scaled median absolute deviations from the
median — a venue answer from a lagging node, a GC pause between the reads), then take the offset
of the lowest-RTT survivor; `uncertainty_ms` is that sample's `rtt / 2`.

Signed requests carry `now_ms()` (venue time). After a timestamp rejection (Binance -1021, OKX
50102) call `resync()` before the one safe retry.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from venuegate.errors import ConfigError

__all__ = ["ClockSample", "ClockSync", "recv_window_ms"]

log = logging.getLogger("venuegate.net.clock")

_MAD_SCALE = 1.4826  # MAD → standard deviation for normal data
_MAD_K = 3.0
_MIN_SPREAD_MS = 1.0  # never reject samples within 1 ms of the median (MAD of identical values)


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One server-time probe.

    Attributes:
        offset_ms: venue time minus local time at the probe's midpoint.
        rtt_ms: the probe's round trip.
        local_ns: local time at the midpoint.
    """

    offset_ms: float
    rtt_ms: float
    local_ns: int


def recv_window_ms(
    uncertainty_ms: float,
    *,
    margin: float = 4.0,
    latency_ms: float = 1000.0,
    floor_ms: int = 5000,
    cap_ms: int = 60000,
) -> int:
    """A Binance `recvWindow` that the current clock uncertainty comfortably fits.

    Binance accepts a request when `serverTime - timestamp <= recvWindow` (and the timestamp is
    less than 1 s ahead); the default window is 5000 ms and the maximum 60000 ms ("Timing
    security", binance/binance-spot-api-docs `rest-api.md`).

    Args:
        uncertainty_ms: the clock estimate's uncertainty (`ClockSync.uncertainty_ms`).
        margin: how many uncertainties to allow for.
        latency_ms: allowance for one-way network and queueing latency.
        floor_ms: the smallest suggestion (Binance's default).
        cap_ms: the largest (Binance's maximum).

    Returns:
        `latency_ms + margin * uncertainty_ms`, rounded up and bounded to `[floor_ms, cap_ms]`
        (`cap_ms` when the uncertainty is unknown or infinite).
    """
    if not math.isfinite(uncertainty_ms) or uncertainty_ms < 0:
        return cap_ms
    return max(floor_ms, min(cap_ms, math.ceil(latency_ms + margin * uncertainty_ms)))


class ClockSync:
    """Tracks one venue's clock offset from repeated server-time probes.

    Args:
        fetch_server_ms: returns the venue's current time in ms (e.g. Binance `GET
            /api/v3/time`).
        local_ns: the local clock, ns since the epoch.
        samples: how many recent samples the estimate uses (and `resync` takes).
        drift_alarm_ms: alarm when the estimate moves by more than this between syncs, or its
            magnitude exceeds it (once, until it is back under half the threshold: a venue whose
            clock is steadily off does not flood the log).
        on_alarm: called with a message on every alarm (besides a warning log).
        venue: the venue's name, for messages.

    Raises:
        ConfigError: `samples < 1` or a non-positive alarm threshold.
    """

    def __init__(
        self,
        fetch_server_ms: Callable[[], Awaitable[int]],
        *,
        local_ns: Callable[[], int] = time.time_ns,
        samples: int = 8,
        drift_alarm_ms: float = 250,
        on_alarm: Callable[[str], None] | None = None,
        venue: str = "",
    ) -> None:
        if samples < 1 or not drift_alarm_ms > 0:
            raise ConfigError("ClockSync needs samples >= 1 and drift_alarm_ms > 0", venue=venue)
        self._fetch = fetch_server_ms
        self._local_ns = local_ns
        self._samples: deque[ClockSample] = deque(maxlen=samples)
        self._size = samples
        self._alarm_ms = drift_alarm_ms
        self._on_alarm = on_alarm
        self._venue = venue
        self._offset_ms = 0.0
        self._uncertainty_ms = math.inf
        self._synced = False
        self._over = False  # the magnitude alarm is edge-triggered: once until back under
        self.alarms = 0
        """How many alarms were raised."""

    @property
    def offset_ms(self) -> float:
        """Venue time minus local time, ms (0.0 before the first sample)."""
        return self._offset_ms

    @property
    def uncertainty_ms(self) -> float:
        """Half the round trip of the sample the estimate comes from (inf before any)."""
        return self._uncertainty_ms

    @property
    def synced(self) -> bool:
        """True once at least one sample was taken."""
        return self._synced

    @property
    def samples(self) -> tuple[ClockSample, ...]:
        """The samples the estimate currently uses, oldest first."""
        return tuple(self._samples)

    def now_ms(self) -> int:
        """The venue's current time, ms since the epoch, by the current estimate."""
        return round(self._local_ns() / 1e6 + self._offset_ms)

    def recv_window_ms(self) -> int:
        """`recv_window_ms(self.uncertainty_ms)`: a Binance recvWindow for the current estimate."""
        return recv_window_ms(self._uncertainty_ms)

    async def sample(self) -> ClockSample:
        """Take one sample and update the estimate.

        Returns:
            The new sample.

        Raises:
            Exception: whatever `fetch_server_ms` raises (the estimate is unchanged).
        """
        t0 = self._local_ns()
        server_ms = await self._fetch()
        t1 = self._local_ns()
        mid_ns = (t0 + t1) // 2
        s = ClockSample(float(server_ms) - (t0 + t1) / 2e6, (t1 - t0) / 1e6, mid_ns)
        self._samples.append(s)
        self._update()
        return s

    async def resync(self, samples: int | None = None) -> float:
        """Forget old samples and take several fresh ones (after a timestamp rejection).

        Args:
            samples: how many to take (default: the window size).

        Returns:
            The new offset estimate, ms.
        """
        self._samples.clear()
        for _ in range(max(1, samples or self._size)):
            await self.sample()
        return self._offset_ms

    async def run(
        self, interval_s: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        """Sample every `interval_s` seconds until cancelled; failed probes are logged.

        Args:
            interval_s: seconds between samples.
            sleep: what to await between samples.
        """
        while True:
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed probe must not stop the loop
                log.warning("%s server time probe failed: %r", self._venue or "venue", exc)
            await sleep(interval_s)

    def _update(self) -> None:
        chosen = _estimate(list(self._samples))
        previous = self._offset_ms if self._synced else None
        self._offset_ms = chosen.offset_ms
        self._uncertainty_ms = chosen.rtt_ms / 2.0
        self._synced = True
        if previous is not None and abs(self._offset_ms - previous) > self._alarm_ms:
            self._alarm(
                f"{self._venue} clock offset moved {self._offset_ms - previous:+.1f} ms "
                f"(now {self._offset_ms:+.1f} ms)"
            )
        elif abs(self._offset_ms) > self._alarm_ms and not self._over:
            self._alarm(
                f"{self._venue} clock offset {self._offset_ms:+.1f} ms exceeds "
                f"{self._alarm_ms:.0f} ms"
            )
        if abs(self._offset_ms) <= self._alarm_ms / 2:
            if self._over:
                log.info("%s clock offset back to %+.1f ms", self._venue, self._offset_ms)
            self._over = False
        elif abs(self._offset_ms) > self._alarm_ms:
            self._over = True

    def _alarm(self, message: str) -> None:
        self.alarms += 1
        log.warning("%s", message)
        if self._on_alarm is not None:
            self._on_alarm(message)


def _estimate(samples: list[ClockSample]) -> ClockSample:
    """The lowest-RTT sample among those whose offset is not an outlier."""
    if len(samples) >= 3:
        offsets = [s.offset_ms for s in samples]
        median = statistics.median(offsets)
        mad = statistics.median(abs(o - median) for o in offsets)
        spread = max(_MAD_K * _MAD_SCALE * mad, _MIN_SPREAD_MS)
        kept = [s for s in samples if abs(s.offset_ms - median) <= spread]
        samples = kept or samples
    return min(samples, key=lambda s: s.rtt_ms)

"""`venuegate watch --json` as a user runs it: a separate process against the simulator's URLs."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal

import pytest

from venuegate.sim.md import Fault, SimServer
from venuegate.sim.md.market import CATALOG


@pytest.mark.parametrize(
    ("venue", "sim_venue", "path", "pp", "ss"),
    [
        ("binance", "binance", "", 2, 5),
        ("okx", "okx", None, 1, 8),
        ("kraken", "kraken", None, 1, 8),
    ],
)
def test_watch_json_matches_the_simulator(
    venue: str, sim_venue: str, path: str | None, pp: int, ss: int
) -> None:
    symbol = CATALOG[sim_venue][0].symbol

    async def main() -> dict[str, object]:
        async with SimServer(
            seed=3, symbols={sim_venue: [symbol]}, rate_hz=100, heartbeat_s=0.5
        ) as sim:
            ws = sim.ws_url(sim_venue, path) if path is not None else sim.ws_url(sim_venue)
            args = [
                sys.executable,
                "-m",
                "venuegate.cli",
                "watch",
                "--venue",
                venue,
                "--symbol",
                symbol,
                "--ws-url",
                ws,
                "--seconds",
                "4",
                "--depth",
                "10",
                "--json",
                "--price-precision",
                str(pp),
                "--size-precision",
                str(ss),
            ]
            if venue == "binance":
                args += ["--rest-url", sim.rest_url(sim_venue)]
            proc = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            await asyncio.sleep(1.5)
            sim.inject(Fault.GAP, venue=sim_venue)
            await asyncio.sleep(1.0)
            sim.pause()  # freeze the market so the final books can be compared exactly
            out, err = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, err.decode()
            summary = json.loads(out)
            bids, asks = sim.book(sim_venue, symbol, 10)
            assert _same(summary["bids"], bids)
            assert _same(summary["asks"], asks)
            return summary

    summary = asyncio.run(asyncio.wait_for(main(), 60))
    assert summary["synced"] is True
    assert summary["messages"] > 100
    # The dropped message shows as a gap, or (Kraken: no sequence numbers) a checksum failure.
    assert summary["gaps"] + summary["checksum_mismatches"] >= 1  # type: ignore[operator]
    assert summary["resyncs"] >= 1
    assert set(summary) >= {
        "bids",
        "asks",
        "messages",
        "resyncs",
        "reconnects",
        "gaps",
        "last_update_id",
    }


def _same(got: list[list[str]], want: list[tuple[Decimal, Decimal]]) -> bool:
    return [(Decimal(p), Decimal(s)) for p, s in got] == list(want[: len(got)]) and len(got) == min(
        10, len(want)
    )

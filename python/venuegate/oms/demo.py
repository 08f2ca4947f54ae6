"""The trading half of `venuegate demo`: a small two-sided market maker on two simulated venues.

Both venues run at once, with faults on and the engine SIGKILLed and restarted from its journal
mid-run, ending with the reconciliation of the venues' ledgers against the journals.

It is the chaos runner (`venuegate.oms.chaos`) with the market-making strategy, so what the demo
shows is what the tests check.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from venuegate.oms.chaos import ChaosOptions, run_chaos

__all__ = ["DEMO_TRADING_VENUES", "trading_demo"]

DEMO_TRADING_VENUES: tuple[str, ...] = ("binance", "okx")


def _line(summary: dict[str, Any]) -> str:
    positions = ", ".join(f"{s} {q}" for s, q in summary.get("positions", {}).items()) or "flat"
    return (
        f"  {summary['venue']:<8} intents {summary.get('intents', 0):>4}  "
        f"venue orders {summary.get('venue_orders', 0):>4}  fills {summary.get('fills', 0):>4}  "
        f"restarts {summary['restarts']}  lost {summary.get('lost', '-')}  "
        f"duplicated {summary.get('duplicated', '-')}  "
        f"mismatched {summary.get('mismatched', '-')}  "
        f"bans {summary.get('bans', '-')}  position {positions}  "
        f"{'OK' if summary['ok'] else 'FAILED'}"
    )


async def trading_demo(
    venues: Sequence[str] = DEMO_TRADING_VENUES,
    *,
    orders: int = 80,
    faults: str = "light",
    workdir: Path | None = None,
) -> int:
    """Runs the market maker on `venues` concurrently and prints the reconciliation.

    Returns:
        0 when every venue reconciles exactly, else 1.
    """
    base = workdir or Path(tempfile.mkdtemp(prefix="venuegate-demo-"))
    print(
        f"\ntrading: a two-sided market maker on {', '.join(venues)} ({faults} faults), "
        f"{orders} intents each, the engine SIGKILLed about every {orders // 2} and restarted "
        f"from its journal (files in {base})"
    )
    runs = [
        run_chaos(
            ChaosOptions(
                venue=v,
                orders=orders,
                seed=7 + i,
                faults=faults,
                crash_every=orders // 2,
                ledger=base / f"{v}.ledger.jsonl",
                journal=base / f"{v}.journal",
                strategy="mm",
                concurrency=1,
                settle_s=30.0,
            )
        )
        for i, v in enumerate(venues)
    ]
    summaries = await asyncio.gather(*runs)
    print("reconciliation (venue ledger vs engine journal):")
    for s in summaries:
        print(_line(s))
        for example in s.get("examples", []):
            print(f"    {example}")
    return 0 if all(s["ok"] for s in summaries) else 1

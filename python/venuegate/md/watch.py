"""`venuegate watch`: keep one book in sync and show it; print a JSON summary at the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from venuegate.md.session import BookSession, BookUpdate, Instrument
from venuegate.net.ws import Transport

# Precisions that hold every price and size these venues send for their majors; pass
# --price-precision / --size-precision for an instrument's exact ones (Kraken's checksum needs
# them exactly: see its `instrument` channel).
_DEFAULT_PRECISION = {
    "binance": (8, 8),
    "binance-usdm": (8, 8),
    "okx": (8, 8),
    "coinbase": (8, 8),
    "bitfinex": (8, 8),
    "htx": (8, 8),
}


@dataclass(slots=True)
class WatchArgs:
    """Arguments of `venuegate watch`."""

    venue: str
    symbol: str
    ws_url: str | None = None
    rest_url: str | None = None
    seconds: float | None = None
    depth: int = 20
    json: bool = False
    price_precision: int | None = None
    size_precision: int | None = None
    coalesce_ms: float = 0.0
    """Thread transport: read at most once per this many ms (less CPU, added latency)."""
    transport: Transport = "thread"
    """`thread` (a native reader thread: the least CPU per message, see benches/RESULTS.md),
    `native` (asyncio + the fused native read path) or `picows`."""


def _levels(levels: list[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[str(p), str(s)] for p, s in levels]


def _draw(out: TextIO, session: BookSession, symbol: str, depth: int, started: float) -> None:
    book = session.book(symbol)
    bids, asks = book.top(min(depth, 15))
    feed = session.feeds[symbol]
    elapsed = max(time.monotonic() - started, 1e-9)
    lines = [
        f"{session.venue} {symbol}  {'STALE' if feed.stale else 'synced'}  "
        f"msgs {session.stats.messages} ({session.stats.messages / elapsed:.0f}/s)  "
        f"resyncs {session.stats.resyncs}  reconnects {session.stats.reconnects}",
        f"{'bid size':>18} {'bid':>14} | {'ask':<14} {'ask size':<18}",
    ]
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        left = f"{b[1]!s:>18} {b[0]!s:>14}" if b else " " * 33
        right = f"{a[0]!s:<14} {a[1]!s:<18}" if a else ""
        lines.append(f"{left} | {right}")
    out.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
    out.flush()


async def watch(args: WatchArgs, out: TextIO | None = None) -> dict[str, object]:
    """Runs the watch; returns (and with `--json` prints) the summary."""
    out = out if out is not None else sys.stdout  # resolved per call, not at import
    if args.price_precision is None or args.size_precision is None:
        if args.venue not in _DEFAULT_PRECISION:
            raise SystemExit(
                f"{args.venue}: give --price-precision and --size-precision (the instrument's "
                "exact precisions; its checksum depends on them)"
            )
        pp, ss = _DEFAULT_PRECISION[args.venue]
        price_precision = args.price_precision if args.price_precision is not None else pp
        size_precision = args.size_precision if args.size_precision is not None else ss
    else:
        price_precision, size_precision = args.price_precision, args.size_precision
    gaps = 0
    # CPU from the first book update on: the steady state, without imports and TLS setup.
    first: list[tuple[float, int]] = []

    def on_update(update: BookUpdate) -> None:
        nonlocal gaps
        if not first:
            first.append((time.process_time(), session.stats.messages))
        if update.status.needs_resync:
            gaps += 1

    interactive = not args.json and out.isatty()
    session = BookSession(
        args.venue,
        [Instrument(args.symbol, price_precision, size_precision)],
        ws_url=args.ws_url,
        rest_url=args.rest_url,
        on_update=on_update,
        transport=args.transport,
        # Thread transport: the loop wakes for the book only this often (and on feed events).
        conflate_ms=250.0 if interactive else 1000.0,
        coalesce_ms=args.coalesce_ms,
    )
    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    session.start()
    try:
        deadline = None if args.seconds is None else started + args.seconds
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            # Redraw 4 times a second; otherwise sleep until the deadline (no idle wake-ups).
            wait: float | None = 0.25
            if not interactive:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            if interactive:
                _draw(out, session, args.symbol, args.depth, started)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await session.stop()
    feed = session.feeds[args.symbol]
    bids, asks = feed.book.top(args.depth)
    summary: dict[str, object] = {
        "venue": args.venue,
        "symbol": args.symbol,
        "bids": _levels(bids),
        "asks": _levels(asks),
        "synced": not feed.stale,
        "messages": session.stats.messages,
        "resyncs": session.stats.resyncs,
        "reconnects": session.stats.reconnects,
        "gaps": feed.stats()["gaps"] + session.stats.connection_gaps,
        "checksum_mismatches": feed.stats()["checksum_mismatches"],
        "last_update_id": feed.last_seq,
        "seconds": round(time.monotonic() - started, 3),
        "cpu_seconds": round(time.process_time() - first[0][0], 4) if first else None,
        "cpu_messages": session.stats.messages - first[0][1] if first else 0,
        "transport": args.transport,
        # Receive → applied, ns, recorded natively per message (thread transport; else None).
        "latency_ns": session.latency(),
    }
    if args.json:
        out.write(json.dumps(summary) + "\n")
    elif not interactive:
        out.write(
            f"{args.venue} {args.symbol}: {summary['messages']} messages, "
            f"{summary['resyncs']} resyncs, {summary['reconnects']} reconnects, "
            f"best bid {bids[0] if bids else None}, best ask {asks[0] if asks else None}\n"
        )
    return summary

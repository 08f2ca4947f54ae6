"""Binance-format depth updates for the book benchmarks: 10 bids + 10 asks per message, as the
venue sends them (strings, 2-dp prices, 8-dp sizes), with chaining U/u sequence numbers."""

from __future__ import annotations

import json
import random

LEVELS = 10


def _levels(rng: random.Random, base: int, sign: int) -> list[list[str]]:
    # Prices move within a band of 40 ticks around the touch, so levels appear and disappear.
    out = []
    for i in range(LEVELS):
        tick = base + sign * (i + rng.randrange(0, 30))
        size = "0.00000000" if rng.random() < 0.15 else f"{rng.uniform(0.001, 5):.8f}"
        out.append([f"{tick / 100:.2f}", size])
    return out


def snapshot(levels: int = 100) -> bytes:
    rng = random.Random(7)
    bids = [[f"{(6_700_000 - i) / 100:.2f}", f"{rng.uniform(0.001, 5):.8f}"] for i in range(levels)]
    asks = [[f"{(6_700_001 + i) / 100:.2f}", f"{rng.uniform(0.001, 5):.8f}"] for i in range(levels)]
    return json.dumps({"lastUpdateId": 1000, "bids": bids, "asks": asks}).encode()


def updates(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    u = 1000
    for k in range(count):
        msg = {
            "e": "depthUpdate",
            "E": 1_672_515_782_136 + k,
            "s": "BTCUSDT",
            "U": u + 1,
            "u": u + 10,
            "b": _levels(rng, 6_700_000, -1),
            "a": _levels(rng, 6_700_001, 1),
        }
        u += 10
        out.append(json.dumps(msg, separators=(",", ":")).encode())
    return out

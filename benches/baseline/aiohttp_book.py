"""The baseline client of the end-to-end CPU benchmark: what a user writes with aiohttp + json +
Decimal today (Binance's documented procedure: buffer the stream, fetch the REST snapshot, drop
old events, apply the rest, keep a sorted book), printing the same JSON summary as
`venuegate watch --json` (messages, cpu_seconds, top of book)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal

import aiohttp
from sortedcontainers import SortedDict


async def main(ws_url: str, rest_url: str, symbol: str, seconds: float) -> None:
    bids: SortedDict = SortedDict()
    asks: SortedDict = SortedDict()
    buffered: list[dict[str, object]] = []
    last = -1
    messages = 0
    started = time.monotonic()
    cpu = 0.0
    stream = f"{ws_url}/stream?streams={symbol.lower()}@depth@100ms"
    async with aiohttp.ClientSession() as http, http.ws_connect(stream, max_msg_size=0) as ws:

        async def snapshot() -> None:
            nonlocal last
            async with http.get(f"{rest_url}/api/v3/depth?symbol={symbol}&limit=1000") as r:
                snap = json.loads(await r.read())
            bids.clear()
            asks.clear()
            for p, q in snap["bids"]:
                bids[Decimal(p)] = Decimal(q)
            for p, q in snap["asks"]:
                asks[Decimal(p)] = Decimal(q)
            last = snap["lastUpdateId"]

        def apply(event: dict) -> None:  # type: ignore[type-arg]
            nonlocal last
            if event["u"] <= last:
                return
            for side, levels in ((bids, event["b"]), (asks, event["a"])):
                for p, q in levels:
                    price, size = Decimal(p), Decimal(q)
                    if size:
                        side[price] = size
                    else:
                        side.pop(price, None)
            last = event["u"]

        task = asyncio.create_task(snapshot())
        async for msg in ws:
            if time.monotonic() - started > seconds:
                break
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            if messages == 0:
                cpu = time.process_time()  # steady state: from the first message on
            messages += 1
            event = json.loads(msg.data)["data"]
            if last < 0:
                buffered.append(event)
                if task.done():
                    for e in buffered:
                        apply(e)
                    buffered.clear()
                continue
            apply(event)

    print(
        json.dumps(
            {
                "messages": messages,
                "cpu_seconds": time.process_time() - cpu,
                "cpu_messages": messages,
                "bid": str(bids.peekitem(-1)[0]) if bids else None,
                "ask": str(asks.peekitem(0)[0]) if asks else None,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))

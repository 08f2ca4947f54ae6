"""End to end CPU per depth message: socket to synced book, on a loaded Binance-format feed from
the simulator, for `venuegate watch` and for a plain aiohttp + json + Decimal client.

    python benches/e2e_cpu.py [--rate 2000] [--seconds 10] [--update benches/RESULTS.md]
        [--variants thread,native,thread-coalesce5] [--repeat 3]

`venuegate watch` runs once per variant: `thread` (the default transport: a native reader
thread), `native` (asyncio protocol + the fused native read path), `picows`, and
`thread-coalesceN` (the thread transport reading at most once per N ms: `--coalesce-ms N`).

The simulator runs in this process; each client runs alone in its own process and reports the
CPU it spent (time.process_time, every thread) from its first book update to the end (the steady
state: imports, TLS setup and the first snapshot excluded), and the messages it handled in that
time. With `--repeat N` the clients run N rounds, interleaved, and each figure is the median of
its N runs (this VM is shared: single runs vary by up to 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

from venuegate.sim.md import SimServer

HERE = Path(__file__).parent


async def _client(args: list[str]) -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:4]} failed: {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def _variant_args(variant: str) -> tuple[str, list[str]]:
    if variant.startswith("thread-coalesce"):
        ms = variant.removeprefix("thread-coalesce")
        return f"venuegate watch (thread, coalesce {ms} ms)", [
            "--transport",
            "thread",
            "--coalesce-ms",
            ms,
        ]
    return f"venuegate watch ({variant})", ["--transport", variant]


async def run(
    rate: float, seconds: float, variants: tuple[str, ...] = ("thread",), repeat: int = 1
) -> list[dict[str, object]]:
    runs: dict[str, list[dict[str, object]]] = {}
    async with SimServer(
        seed=5, symbols={"binance": ["BTCUSDT"]}, rate_hz=rate, intensity=8
    ) as sim:
        ws = sim.ws_url("binance", "")
        rest = sim.rest_url("binance")
        watch = [
            sys.executable,
            "-m",
            "venuegate.cli",
            "watch",
            "--venue",
            "binance",
            "--symbol",
            "BTCUSDT",
            "--ws-url",
            ws,
            "--rest-url",
            rest,
            "--seconds",
            str(seconds),
            "--json",
            "--price-precision",
            "2",
            "--size-precision",
            "5",
        ]
        clients: dict[str, list[str]] = {}
        for v in variants:
            name, extra = _variant_args(v)
            clients[name] = watch + extra
        clients["aiohttp + json + Decimal"] = [
            sys.executable,
            str(HERE / "baseline" / "aiohttp_book.py"),
            ws,
            rest,
            "BTCUSDT",
            str(seconds),
        ]
        for _ in range(repeat):
            for name, argv in clients.items():
                runs.setdefault(name, []).append(await _one(name, argv))
    return [_median(name, rs) for name, rs in runs.items()]


def _median(name: str, runs: list[dict[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {"client": name, "runs": len(runs)}
    for key in ("messages", "cpu_us_per_msg", "p50_us", "p99_us"):
        values = [float(v) for r in runs if (v := r.get(key)) is not None]  # type: ignore[arg-type]
        out[key] = statistics.median(values) if values else None
    out["cpu_all"] = [round(float(r["cpu_us_per_msg"]), 1) for r in runs]  # type: ignore[arg-type]
    return out


async def _one(name: str, argv: list[str]) -> dict[str, object]:
    r = await _client(argv)
    messages = int(r["cpu_messages"])  # type: ignore[call-overload]
    cpu = float(r["cpu_seconds"])  # type: ignore[arg-type]
    lat = r.get("latency_ns")
    p50 = lat.get("p50") if isinstance(lat, dict) else None
    p99 = lat.get("p99") if isinstance(lat, dict) else None
    return {
        "client": name,
        "messages": messages,
        "cpu_us_per_msg": cpu / messages * 1e6,
        "p50_us": None if p50 is None else p50 / 1e3,
        "p99_us": None if p99 is None else p99 / 1e3,
    }


def table(rows: list[dict[str, object]], rate: float, seconds: float, repeat: int = 1) -> str:
    ours = float(rows[0]["cpu_us_per_msg"])  # type: ignore[arg-type]
    rounds = (
        f"; medians of {repeat} interleaved runs, each run's figure in brackets"
        if repeat > 1
        else ""
    )
    lines = [
        f"Binance-format depth stream from the simulator at {rate:.0f} msg/s for {seconds:.0f} s "
        f"(REST snapshot, sequence checks, book kept in sync; client CPU only{rounds}):",
        "",
        "| client | messages | CPU µs per message | vs first row | aiohttp ÷ this | "
        "receive → applied p50 / p99 µs (native stamps) |",
        "|---|---|---|---|---|---|",
    ]
    base = float(rows[-1]["cpu_us_per_msg"])  # type: ignore[arg-type]
    for r in rows:
        cpu = float(r["cpu_us_per_msg"])  # type: ignore[arg-type]
        p50, p99 = r.get("p50_us"), r.get("p99_us")
        lat = f"{p50:.1f} / {p99:.1f}" if p50 is not None and p99 is not None else "-"
        each = r.get("cpu_all")
        spread = f" {each}" if repeat > 1 and each else ""
        lines.append(
            f"| {r['client']} | {r['messages']:.0f} | {cpu:.1f}{spread} | {cpu / ours:.1f}x | "
            f"{base / cpu:.1f}x | {lat} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--update", type=Path)
    parser.add_argument("--variants", default="thread,native")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows = asyncio.run(
        run(args.rate, args.seconds, tuple(args.variants.split(",")), max(1, args.repeat))
    )
    text = table(rows, args.rate, args.seconds, max(1, args.repeat))
    print(text)
    if args.update:
        sys.path.insert(0, str(HERE))
        from report import replace_between

        replace_between(args.update, "e2e", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `venuegate` command: `venuegate demo` (more subcommands arrive with the simulator)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from venuegate import __version__
from venuegate.auth import SignedRequest, Signer, signer
from venuegate.sim.verify import Credentials, VerificationError, verify_request


@dataclass(frozen=True, slots=True)
class _Case:
    label: str
    venue: str
    scheme: str
    credentials: Credentials
    method: str
    path: str
    params: dict[str, str | int | Decimal]


def _pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey, fmt: PrivateFormat) -> str:
    return key.private_bytes(Encoding.PEM, fmt, NoEncryption()).decode()


def _demo_cases() -> list[_Case]:
    """Throw-away credentials of each venue's real format, and one sample order per venue."""
    hmac_secret = secrets.token_hex(32)
    b64_secret = base64.b64encode(secrets.token_bytes(64)).decode()
    ed_pem = _pem(ed25519.Ed25519PrivateKey.generate(), PrivateFormat.PKCS8)
    ec_pem = _pem(ec.generate_private_key(ec.SECP256R1()), PrivateFormat.TraditionalOpenSSL)
    key = secrets.token_hex(16)
    passphrase = secrets.token_hex(8)
    cdp_key = f"organizations/{secrets.token_hex(4)}/apiKeys/{secrets.token_hex(4)}"
    order: dict[str, str | int | Decimal] = {"side": "BUY", "price": Decimal("67123.45")}
    return [
        _Case(
            "binance",
            "binance",
            "HMAC-SHA256 hex",
            Credentials(key, hmac_secret),
            "POST",
            "/api/v3/order",
            {
                "symbol": "BTCUSDT",
                **order,
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": Decimal("0.001"),
                "newClientOrderId": "vg-demo-1",
            },
        ),
        _Case(
            "binance (Ed25519)",
            "binance",
            "Ed25519 base64",
            Credentials(key, ed_pem),
            "POST",
            "/api/v3/order",
            {
                "symbol": "BTCUSDT",
                **order,
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": Decimal("0.001"),
            },
        ),
        _Case(
            "coinbase",
            "coinbase",
            "JWT ES256",
            Credentials(cdp_key, ec_pem, host="api.coinbase.com"),
            "POST",
            "/api/v3/brokerage/orders",
            {
                "client_order_id": "vg-demo-1",
                "product_id": "BTC-USD",
                "side": "BUY",
                "base_size": "0.001",
                "limit_price": "67123.45",
            },
        ),
        _Case(
            "coinbase-exchange",
            "coinbase-exchange",
            "HMAC-SHA256 base64",
            Credentials(key, b64_secret, passphrase=passphrase),
            "POST",
            "/orders",
            {
                "product_id": "BTC-USD",
                "side": "buy",
                "type": "limit",
                "price": "67123.45",
                "size": "0.001",
            },
        ),
        _Case(
            "kraken",
            "kraken",
            "HMAC-SHA512 base64",
            Credentials(key, b64_secret),
            "POST",
            "/0/private/AddOrder",
            {
                "ordertype": "limit",
                "type": "buy",
                "volume": "0.001",
                "pair": "XBTUSD",
                "price": "67123.4",
            },
        ),
        _Case(
            "okx",
            "okx",
            "HMAC-SHA256 base64",
            Credentials(key, hmac_secret, passphrase=passphrase),
            "POST",
            "/api/v5/trade/order",
            {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "px": "67123.45",
                "sz": "0.001",
            },
        ),
        _Case(
            "bitfinex",
            "bitfinex",
            "HMAC-SHA384 hex",
            Credentials(key, hmac_secret),
            "POST",
            "/v2/auth/w/order/submit",
            {"type": "EXCHANGE LIMIT", "symbol": "tBTCUSD", "price": "67123", "amount": "0.001"},
        ),
        _Case(
            "htx",
            "htx",
            "HMAC-SHA256 base64 (v2)",
            Credentials(key, hmac_secret, host="api.huobi.pro"),
            "POST",
            "/v1/order/orders/place",
            {
                "account-id": "100009",
                "symbol": "btcusdt",
                "type": "buy-limit",
                "amount": "0.001",
                "price": "67123.45",
            },
        ),
    ]


def _median_us(fn: Callable[[], object], rounds: int) -> float:
    """Median wall time of `fn` in microseconds, timed in batches of 10 to lift clock noise."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(10):
            fn()
        samples.append((time.perf_counter_ns() - start) / 10_000)
    return statistics.median(samples)


def demo(rounds: int = 300) -> int:
    """Signs a sample order for every venue, verifies each independently, prints timings."""
    print(f"venuegate {__version__} demo: sign one sample order per venue, verify it as the venue")
    print("would (independent verifier: stdlib hmac/hashlib + pyca/cryptography), time both.\n")
    header = f"{'venue':<20}{'scheme':<26}{'sign µs':>9}{'verify µs':>11}  verified"
    print(header)
    print("-" * len(header))
    failures = 0
    for case in _demo_cases():
        cred = case.credentials
        s: Signer = signer(
            case.venue,
            api_key=cred.api_key,
            secret=cred.secret,
            passphrase=cred.passphrase,
            host=cred.host,
        )
        req: SignedRequest = s.sign(case.method, case.path, params=case.params)
        now_ms = time.time_ns() // 1_000_000
        try:
            verify_request(case.venue, req, cred, now_ms=now_ms)
            verdict = "yes"
        except VerificationError as exc:
            verdict = f"NO: {exc}"
            failures += 1
        sign_us = _median_us(partial(s.sign, case.method, case.path, case.params), rounds)
        verify_us = _median_us(
            partial(verify_request, case.venue, req, case.credentials), max(rounds // 10, 5)
        )
        print(f"{case.label:<20}{case.scheme:<26}{sign_us:>9.2f}{verify_us:>11.2f}  {verdict}")
    print(
        "\nsign µs: median of one signed request (params → method, path, headers, body);"
        " verify µs: the simulator's venue-side check."
    )
    return 1 if failures else 0


def _run[T](coro: Coroutine[object, object, T]) -> T:
    """Runs `coro` on uvloop when installed (the production loop), else on asyncio's."""
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _parser() -> argparse.ArgumentParser:
    """The `venuegate` command's argument parser."""
    parser = argparse.ArgumentParser(prog="venuegate", description=__doc__)
    parser.add_argument("--version", action="version", version=f"venuegate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="sign and verify a sample order for every venue")
    p_demo.add_argument("--rounds", type=int, default=300, help="timing rounds (10 calls each)")
    p_demo.add_argument(
        "--seconds", type=float, default=8.0, help="market-data streaming time (0: skip)"
    )
    p_demo.add_argument("--rate", type=float, default=200.0, help="updates/s per simulated book")
    p_demo.add_argument(
        "--fix-rounds",
        type=int,
        default=12,
        help="FIX order rounds per venue (2 orders each; 0: skip the FIX leg)",
    )
    p_demo.add_argument(
        "--orders", type=int, default=80, help="market-maker intents per venue (0: skip trading)"
    )
    p_watch = sub.add_parser("watch", help="keep one order book in sync and show it")
    p_watch.add_argument("--venue", required=True)
    p_watch.add_argument("--symbol", required=True)
    p_watch.add_argument("--ws-url", help="WebSocket base URL (default: the venue's production)")
    p_watch.add_argument("--rest-url", help="REST base URL for snapshots (default: production)")
    p_watch.add_argument("--seconds", type=float, help="stop after N seconds (default: Ctrl-C)")
    p_watch.add_argument("--depth", type=int, default=20, help="levels shown and printed")
    p_watch.add_argument("--json", action="store_true", help="print one JSON summary at the end")
    p_watch.add_argument("--price-precision", type=int, help="digits after the point in prices")
    p_watch.add_argument("--size-precision", type=int, help="digits after the point in sizes")
    p_watch.add_argument(
        "--transport",
        choices=["thread", "native", "picows"],
        default="thread",
        help="thread: a native reader thread (default, least CPU); native: asyncio + native "
        "codec; picows",
    )
    p_watch.add_argument(
        "--coalesce-ms",
        type=float,
        default=0.0,
        help="thread transport: read at most once per N ms (less CPU per message, up to N ms "
        "added latency; default 0: every message as it arrives)",
    )
    p_chaos = sub.add_parser(
        "chaos", help="random order flow with faults and SIGKILL restarts; ledger vs journal"
    )
    from venuegate.oms.chaos import add_chaos_arguments  # noqa: PLC0415 - light import

    add_chaos_arguments(p_chaos)
    p_journal = sub.add_parser("journal", help="inspect an order journal")
    jsub = p_journal.add_subparsers(dest="journal_command", required=True)
    p_export = jsub.add_parser("export", help="one JSON line per order")
    p_export.add_argument("journal", help="the journal file")
    p_export.add_argument("--output", required=True, help="where the JSON lines go")
    _add_fix_parser(sub)
    return parser


def _add_fix_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `venuegate fix ...` subcommands (`fix probe`)."""
    p_fix = sub.add_parser("fix", help="FIX engine tools")
    fsub = p_fix.add_subparsers(dest="fix_command", required=True)
    p_probe = fsub.add_parser(
        "probe",
        help="log on, send N limit orders, wait for their reports, log out, print a JSON summary",
    )
    p_probe.add_argument("--host", required=True, help="the acceptor's host")
    p_probe.add_argument("--port", type=int, required=True, help="the acceptor's port")
    p_probe.add_argument("--sender", required=True, help="our SenderCompID (49)")
    p_probe.add_argument("--target", required=True, help="the venue's TargetCompID (56)")
    p_probe.add_argument(
        "--begin-string", choices=("FIX.4.2", "FIX.4.4", "FIXT.1.1"), default="FIX.4.4"
    )
    p_probe.add_argument("--orders", type=int, default=1, help="limit orders to send")
    p_probe.add_argument("--reset-seq", action="store_true", help="ResetSeqNumFlag (141=Y)")
    p_probe.add_argument("--symbol", default="BTC-USD")
    p_probe.add_argument(
        "--price", type=_decimal_arg, default=Decimal("100"), help="limit price (exact decimal)"
    )
    p_probe.add_argument(
        "--qty", type=_decimal_arg, default=Decimal("0.001"), help="order quantity (exact decimal)"
    )
    p_probe.add_argument("--side", choices=("buy", "sell"), default="buy")
    p_probe.add_argument("--timeout", type=float, default=30.0, help="seconds for logon + answers")
    p_probe.add_argument("--tls", action="store_true", help="connect with TLS (verified)")
    p_probe.add_argument(
        "--insecure", action="store_true", help="with --tls: do NOT verify the certificate"
    )
    p_probe.add_argument("--heartbeat", type=int, default=30, help="HeartBtInt (108), seconds")
    p_probe.add_argument("--store", help="session store file (sequence numbers persist)")
    p_probe.add_argument(
        "--window", type=int, default=0, help="max orders awaiting a report (0: all at once)"
    )


def _decimal_arg(value: str) -> Decimal:
    """An exact decimal command-line value (prices and sizes are never floats)."""
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise argparse.ArgumentTypeError(f"not a finite decimal: {value!r}")
    return number


def _fix_probe(args: argparse.Namespace) -> int:
    """Runs `venuegate fix probe`; 0 when logged on and every order was answered."""
    from venuegate.fix.probe import probe  # noqa: PLC0415 - loads the FIX engine

    summary = _run(
        probe(
            host=args.host,
            port=args.port,
            sender=args.sender,
            target=args.target,
            begin_string=args.begin_string,
            orders=args.orders,
            reset_seq=args.reset_seq,
            symbol=args.symbol,
            price=args.price,
            qty=args.qty,
            side=args.side,
            timeout_s=args.timeout,
            ssl=args.tls,
            ssl_verify=not args.insecure,
            heartbeat_s=args.heartbeat,
            store_path=args.store,
            window=args.window,
        )
    )
    print(summary.to_json().decode())
    return 0 if summary.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `venuegate` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    match args.command:
        case "chaos":
            import json  # noqa: PLC0415

            from venuegate.oms.chaos import options_from, run_chaos  # noqa: PLC0415

            summary = _run(run_chaos(options_from(args)))
            print(json.dumps(summary, indent=2, default=str))
            return 0 if summary["ok"] else 1
        case "fix":
            return _fix_probe(args)
        case "journal":
            from venuegate.oms.journal import export_orders  # noqa: PLC0415

            n = export_orders(args.journal, args.output)
            print(f"{n} orders written to {args.output}")
            return 0
        case "demo":
            status = demo(rounds=args.rounds)
            if args.seconds > 0:
                from venuegate.md.demo import market_demo  # noqa: PLC0415 - loads the simulator

                status |= _run(market_demo(seconds=args.seconds, rate_hz=args.rate))
            if args.orders > 0:
                from venuegate.oms.demo import trading_demo  # noqa: PLC0415 - loads the OMS

                status |= _run(trading_demo(orders=args.orders))
            if args.fix_rounds > 0:
                from venuegate.fix.demo import fix_demo  # noqa: PLC0415 - loads the FIX engine

                status |= _run(fix_demo(rounds=args.fix_rounds))
            return status
        case "watch":
            from venuegate.md.watch import WatchArgs, watch  # noqa: PLC0415 - loads aiohttp

            _run(
                watch(
                    WatchArgs(
                        venue=args.venue,
                        symbol=args.symbol,
                        ws_url=args.ws_url,
                        rest_url=args.rest_url,
                        seconds=args.seconds,
                        depth=args.depth,
                        json=args.json,
                        price_precision=args.price_precision,
                        size_precision=args.size_precision,
                        transport=args.transport,
                        coalesce_ms=args.coalesce_ms,
                    )
                )
            )
            return 0
        case _:
            parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())

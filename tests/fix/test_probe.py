"""`venuegate fix probe` against a QuickFIX acceptor (subprocess) and the simulator's gateways."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import quickfix  # type: ignore[import-untyped]  # noqa: F401 - a missing peer FAILS, never skips

from tests._tls import LoopbackTls
from tests.fix.interop.harness import QfAcceptor, Recorder, free_port, our_settings, quickfix_log
from venuegate.cli import main
from venuegate.fix.probe import ProbeSummary, probe
from venuegate.fix.session import FixAcceptor
from venuegate.sim.fix import start_fix_gateway

pytestmark = pytest.mark.timeout(60)


def _probe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    status = main(["fix", "probe", *args])
    out = capsys.readouterr().out
    return status, json.loads(out)


@pytest.mark.parametrize("begin_string", ["FIX.4.4", "FIXT.1.1"])
def test_probe_1000_orders_against_quickfix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], begin_string: str
) -> None:
    qf_store = tmp_path / "qf"
    with QfAcceptor(qf_store, begin_string=begin_string) as peer:
        status, summary = _probe(
            capsys,
            "--host", "127.0.0.1",
            "--port", str(peer.port),
            "--sender", "VG",
            "--target", "QF",
            "--begin-string", begin_string,
            "--orders", "1000",
            "--reset-seq",
            "--price", "101.5",
            "--qty", "0.25",
            "--timeout", "30",
            "--store", str(tmp_path / "probe.store"),
        )  # fmt: skip
        qf = peer.stop()
    assert qf["session_rejects_sent"] == [], quickfix_log(qf_store)
    assert qf["errors"] == []
    assert status == 0, summary
    assert summary["logged_on"] is True
    assert summary["orders_sent"] == 1000
    assert summary["acknowledged"] == 1000
    assert summary["filled"] == 1000
    assert summary["unanswered"] == 0
    assert summary["rejected"] == 0
    assert summary["session_rejects"] == 0
    assert summary["business_rejects"] == 0
    assert summary["resend_requests_in"] == 0
    assert summary["logout_clean"] is True
    assert summary["messages_out"]["D"] == 1000  # type: ignore[index]
    assert summary["messages_in"]["8"] == 2000  # type: ignore[index]
    assert qf["orders_received"] == 1000
    assert qf["duplicate_cl_ord_ids"] == []
    assert summary["ack_latency"]["count"] == 1000  # type: ignore[index]


def test_probe_exits_non_zero_when_orders_go_unanswered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """REJECT symbol orders are answered (rejected) → 0; a dead port → not logged on → 1."""
    qf_store = tmp_path / "qf"
    with QfAcceptor(qf_store) as peer:
        status, summary = _probe(
            capsys,
            "--host", "127.0.0.1", "--port", str(peer.port), "--sender", "VG", "--target", "QF",
            "--orders", "3", "--symbol", "REJECT", "--timeout", "5",
        )  # fmt: skip
        peer.stop()
    assert status == 0
    assert summary["rejected"] == 3
    assert summary["acknowledged"] == 0
    status, summary = _probe(
        capsys,
        "--host", "127.0.0.1", "--port", str(free_port()), "--sender", "VG", "--target", "QF",
        "--orders", "1", "--timeout", "1",
    )  # fmt: skip
    assert status == 1
    assert summary["logged_on"] is False
    assert summary["orders_sent"] == 0


SIM_SYMBOLS = {
    "generic": "BTCUSDT",
    "binance": "BTCUSDT",
    "coinbase": "BTC-USD",
    "kraken": "BTC/USD",
}


@pytest.mark.parametrize("venue", sorted(SIM_SYMBOLS))
def test_probe_against_the_simulator_gateways(tmp_path: Path, venue: str) -> None:
    """The probe with each venue's dialect (signed Logon) against D's simulator gateway."""

    async def run() -> ProbeSummary:
        async with await start_fix_gateway(venue) as gw:
            return await probe(
                gw.host,
                gw.port,
                "",  # the dialect's comp ids
                "",
                orders=50,
                symbol=SIM_SYMBOLS[venue],
                price=Decimal("40000"),
                qty=Decimal("0.01"),
                timeout_s=15.0,
                store_path=str(tmp_path / "probe.store"),
                dialect=gw.dialect(),
                window=10,
            )

    summary = asyncio.run(run())
    assert summary.error is None, summary
    assert summary.ok
    assert summary.logged_on
    assert summary.acknowledged == 50
    assert summary.unanswered == 0
    assert summary.rejected == 0
    assert summary.session_rejects == 0
    assert summary.logout_clean


def test_probe_over_tls_verifies_by_default(loopback_tls: LoopbackTls) -> None:
    """TLS probe against our acceptor: an unverifiable certificate is refused unless told."""

    async def run() -> tuple[ProbeSummary, ProbeSummary]:
        app = Recorder(echo=True)
        acceptor = FixAcceptor(
            [our_settings("FIX.4.4")], app, host="127.0.0.1", port=0, ssl=loopback_tls.server_ctx
        )
        await acceptor.start()
        try:
            common: dict[str, Any] = {"orders": 20, "ssl": True, "timeout_s": 3.0}
            refused = await probe("127.0.0.1", acceptor.port, "QF", "VG", **common)
            insecure = await probe(
                "127.0.0.1", acceptor.port, "QF", "VG", ssl_verify=False, **common
            )
        finally:
            await acceptor.stop()
            await app.close()
        return refused, insecure

    refused, insecure = asyncio.run(run())
    assert not refused.logged_on
    assert not refused.ok
    assert refused.orders_sent == 0
    assert refused.error is not None
    assert "SSLCertVerificationError" in refused.error
    assert insecure.ok, insecure
    assert insecure.acknowledged == 20
    assert insecure.filled == 20
    assert insecure.logout_clean

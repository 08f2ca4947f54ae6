"""The demo command: every venue's sample order signs and verifies."""

from __future__ import annotations

import pytest

from venuegate.cli import main


def test_demo_signs_and_verifies_every_venue(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["demo", "--rounds", "3", "--seconds", "3", "--orders", "24", "--fix-rounds", "4"])
        == 0
    )
    out = capsys.readouterr().out
    for venue in (
        "binance",
        "binance (Ed25519)",
        "coinbase",
        "coinbase-exchange",
        "kraken",
        "okx",
        "bitfinex",
        "htx",
    ):
        assert any(
            line.startswith(venue + " ") and line.rstrip().endswith("yes")
            for line in out.splitlines()
        ), venue
    assert "NO:" not in out
    # The market-data half: every venue synced and exactly equal to the simulator at the end.
    rows = [line for line in out.splitlines() if line.endswith(("yes", "NO"))]
    assert len([r for r in rows if "synced" in r or "stale" in r]) == 7
    assert not any(r.endswith("NO") for r in rows)
    # The trading half: both venues reconcile exactly after a crash-restart.
    recon = [line for line in out.splitlines() if line.startswith("  ") and "restarts" in line]
    assert len(recon) == 2
    for line in recon:
        assert line.rstrip().endswith("OK"), line
        assert "lost 0" in line
        assert "duplicated 0" in line
        assert "mismatched 0" in line
        assert "restarts 0" not in line
    # The FIX leg: signed logons accepted, every order matches the simulated exchange.
    fix = [line for line in out.splitlines() if "signed Logon accepted" in line]
    assert len(fix) == 3
    for line in fix:
        assert " OK (" in line, line

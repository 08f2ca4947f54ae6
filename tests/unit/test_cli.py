"""The demo command: every venue's sample order signs and verifies."""

from __future__ import annotations

import pytest

from venuegate.cli import main


def test_demo_signs_and_verifies_every_venue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--rounds", "3"]) == 0
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

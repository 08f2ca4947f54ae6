"""The venue extension dictionaries load into the vendored ones and validate signed Logons."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from venuegate.fix.codec import (
    SPEC_DIR,
    FixDictionary,
    FixEncoder,
    FixValidationError,
    parse,
    utc_timestamp,
)
from venuegate.fix.dialects import BinanceFix, CoinbaseFix, Dialect, KrakenFix

VECTORS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "venue_signatures.json").read_text()
)["binance_fix_logon"]


def dialects() -> list[Dialect]:
    secret = base64.b64encode(bytes(64)).decode()
    return [
        CoinbaseFix(api_key="k" * 32, secret=secret, passphrase="pp", cancel_on_disconnect="S"),
        BinanceFix(
            api_key=VECTORS["api_key"],
            private_key_pem=VECTORS["private_key_pem"],
            sender_comp_id="EXAMPLE",
            response_mode=1,
        ),
        KrakenFix(api_key="key", secret=secret, sender_comp_id="ME", cancel_on_disconnect=True),
    ]


@pytest.mark.parametrize("dialect", dialects(), ids=lambda d: d.venue)
def test_signed_logon_validates_with_the_extension(dialect: Dialect) -> None:
    settings = dialect.settings()
    assert settings.dictionary is not None
    paths = (
        str(SPEC_DIR / settings.dictionary),
        str(SPEC_DIR / settings.app_dictionary) if settings.app_dictionary else None,
    )
    plain = FixDictionary.load(*paths)
    dictionary = FixDictionary.load(*paths)
    for path in settings.extra_dictionaries:
        dictionary.extend(path)
    fields: list[tuple[int, Any]] = [(98, 0), (108, 30)]
    if settings.begin_string == "FIXT.1.1":
        fields.append((1137, "9"))
    sending_time = utc_timestamp()
    dialect.application().to_admin(
        SimpleNamespace(settings=settings), "A", 1, sending_time, fields  # type: ignore[arg-type]
    )
    encoder = FixEncoder(settings.begin_string, settings.sender_comp_id, settings.target_comp_id)
    msg = parse(encoder.encode("A", 1, fields, sending_time=sending_time))
    dictionary.validate(msg)
    with pytest.raises(FixValidationError):  # the venue's tags are unknown to plain FIX
        plain.validate(msg)
    custom = {"coinbase": 8013, "binance": 25035, "kraken": 5025}[dialect.venue]
    assert dictionary.field_name(custom)

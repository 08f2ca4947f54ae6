"""Generic FIX 4.2 / 4.4 dialect: optional 553/554 on Logon, settings and dictionary defaults."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from venuegate.fix.dialects import GenericFix
from venuegate.fix.dialects._base import set_fields


def logon(d: GenericFix) -> list[tuple[int, Any]]:
    fields: list[tuple[int, Any]] = [(98, 0), (108, 30)]
    d.application().to_admin(
        SimpleNamespace(settings=d.settings()), "A", 1, "20240101-00:00:00.000", fields  # type: ignore[arg-type]
    )
    return fields


def test_credentials_and_extra_fields() -> None:
    d = GenericFix(
        begin_string="FIX.4.2",
        sender_comp_id="ME",
        target_comp_id="BROKER",
        host="127.0.0.1",
        port=9876,
        username="trader",
        password="s3cret-pw",
        extra_logon_fields=[(1408, "1.0")],
        heartbeat_interval_s=15,
    )
    assert logon(d) == [(98, 0), (108, 30), (553, "trader"), (554, "s3cret-pw"), (1408, "1.0")]
    s = d.settings()
    assert (s.begin_string, s.dictionary, s.heartbeat_interval_s, s.port) == (
        "FIX.4.2",
        "FIX42.xml",
        15,
        9876,
    )
    assert "s3cret-pw" not in repr(d)
    assert "<redacted>" in repr(d)


def test_without_credentials_logon_is_plain() -> None:
    d = GenericFix(begin_string="FIX.4.4", sender_comp_id="A", target_comp_id="B")
    assert logon(d) == [(98, 0), (108, 30)]
    assert d.settings(dictionary="my.xml").dictionary == "my.xml"
    assert d.settings().dictionary == "FIX44.xml"


def test_set_fields_replaces_in_place_order() -> None:
    fields: list[tuple[int, Any]] = [(98, 0), (141, "N"), (108, 30)]
    set_fields(fields, [(141, "Y"), (553, "k")])
    assert fields == [(98, 0), (108, 30), (141, "Y"), (553, "k")]

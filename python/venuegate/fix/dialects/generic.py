"""A generic FIX 4.2 / 4.4 initiator for traditional venues.

Configured by `SessionSettings` and a data dictionary (the vendored QuickFIX `FIX42.xml` /
`FIX44.xml` by default, or the venue's own); the Logon optionally carries Username (553) and
Password (554) — standard FIX 4.4 Logon fields (FIX 4.4 specification, Logon message; in FIX
4.2 they are user-defined-range equivalents many venues accept the same way) — and any fixed
extra Logon fields the venue's rules of engagement require.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from venuegate.auth._base import Secret
from venuegate.fix.dialects._base import Dialect, DialectApplication
from venuegate.fix.session import Application, FixSession, SessionSettings

__all__ = ["GenericApplication", "GenericFix"]

_DICTIONARIES = {"FIX.4.2": "FIX42.xml", "FIX.4.4": "FIX44.xml"}


class GenericApplication(DialectApplication):
    """Adds 553/554 (when configured) and fixed extra fields to the Logon."""

    venue = "generic"

    def __init__(
        self,
        app: Application | None = None,
        *,
        username: str | None = None,
        password: Secret | None = None,
        extra_logon_fields: Sequence[tuple[int, str]] = (),
    ) -> None:
        super().__init__(app)
        self.username = username
        self._password = password
        self.extra_logon_fields = tuple(extra_logon_fields)

    def logon_fields(
        self, session: FixSession, seq_num: int, sending_time: str
    ) -> list[tuple[int, Any]]:
        """553 and 554 when configured, then the extra fields."""
        fields: list[tuple[int, Any]] = []
        if self.username is not None:
            fields.append((553, self.username))
        if self._password is not None:
            fields.append((554, self._password.reveal()))
        fields.extend(self.extra_logon_fields)
        return fields


class GenericFix(Dialect):
    """A FIX 4.2 / 4.4 session with a traditional venue.

    Args:
        begin_string: `FIX.4.2` or `FIX.4.4`.
        sender_comp_id / target_comp_id: the comp ids agreed with the venue.
        host / port: the venue's gateway.
        username / password: optional Logon credentials (553 / 554); the password is kept in a
            `Secret`.
        dictionary: a QuickFIX XML dictionary path (default: the vendored one for the version).
        ssl: TLS (default off: many venues terminate TLS on a cross-connect or stunnel).
        extra_logon_fields: fixed fields added to every Logon.
        settings: any other `SessionSettings` field.
    """

    venue = "generic"
    extension: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        begin_string: Literal["FIX.4.2", "FIX.4.4"],
        sender_comp_id: str,
        target_comp_id: str,
        host: str | None = None,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        dictionary: str | None = None,
        ssl: bool = False,
        extra_logon_fields: Sequence[tuple[int, str]] = (),
        **settings: Any,
    ) -> None:
        self.begin_string = begin_string
        self.username = username
        self._password = Secret(password) if password is not None else None
        self.extra_logon_fields = tuple(extra_logon_fields)
        self._base: dict[str, Any] = {
            "begin_string": begin_string,
            "sender_comp_id": sender_comp_id,
            "target_comp_id": target_comp_id,
            "host": host,
            "port": port,
            "ssl": ssl,
            "dictionary": dictionary or _DICTIONARIES[begin_string],
            **settings,
        }

    def settings(self, **overrides: Any) -> SessionSettings:
        """The configured settings, overridden by keyword arguments."""
        return self._merge(self._base, overrides)

    def application(self, app: Application | None = None) -> GenericApplication:
        """Wraps `app` with the configured Logon credentials."""
        return GenericApplication(
            app,
            username=self.username,
            password=self._password,
            extra_logon_fields=self.extra_logon_fields,
        )

    def __repr__(self) -> str:
        return (
            f"GenericFix(begin_string={self.begin_string!r}, "
            f"sender_comp_id={self._base['sender_comp_id']!r}, "
            f"target_comp_id={self._base['target_comp_id']!r}, "
            f"password={'<redacted>' if self._password is not None else None})"
        )

"""What every venue dialect shares: the signed-Logon application wrapper and the dialect base.

A dialect is a small factory: `settings()` gives the `SessionSettings` of one venue session
(begin string, comp ids, host, port, TLS, dictionaries) and `application(app)` wraps the user's
`Application` so that the Logon it sends carries the venue's credentials and signature. The
signature covers the Logon's own MsgSeqNum and SendingTime, which the session hands to
`Application.to_admin` just before it encodes the message, so the wrapper signs there.

Secrets stay in the native key objects of `venuegate.auth` (or a `Secret` for passphrases that
travel in clear); `repr` of every dialect object masks the API key and shows no secret.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from venuegate.auth._base import mask
from venuegate.fix.codec import FixMessage
from venuegate.fix.session import Application, FixInitiator, FixSession, SessionSettings

__all__ = [
    "SPEC_DIR",
    "Dialect",
    "DialectApplication",
    "set_fields",
]

SPEC_DIR = Path(__file__).parent / "spec"
"""Venue extension dictionaries (QuickFIX XML fragments, loadable by `FixDictionary.extend`)."""

LOGON = "A"


def set_fields(fields: list[tuple[int, Any]], new: Iterable[tuple[int, Any]]) -> None:
    """Sets `new` fields in `fields`: earlier occurrences of their tags go, `new` is appended.

    The session's defaults (141=N, 1137 ...) therefore never duplicate a venue field.
    """
    items = list(new)
    tags = {tag for tag, _ in items}
    fields[:] = [(tag, value) for tag, value in fields if tag not in tags]
    fields.extend(items)


class DialectApplication(Application):
    """Wraps the user's `Application`: adds the venue's Logon fields, delegates everything else.

    Subclasses implement `logon_fields`. Every callback is forwarded to the wrapped application
    (if any) after the dialect's own work.
    """

    venue: ClassVar[str] = ""

    def __init__(self, app: Application | None = None) -> None:
        self.app = app

    @abstractmethod
    def logon_fields(
        self, session: FixSession, seq_num: int, sending_time: str
    ) -> list[tuple[int, Any]]:
        """The venue's Logon fields (credentials, signature, options) for this Logon."""

    def on_create(self, session: FixSession) -> None:
        if self.app is not None:
            self.app.on_create(session)

    def on_logon(self, session: FixSession) -> None:
        if self.app is not None:
            self.app.on_logon(session)

    def on_logout(self, session: FixSession, reason: str) -> None:
        if self.app is not None:
            self.app.on_logout(session, reason)

    def to_admin(
        self,
        session: FixSession,
        msg_type: str,
        seq_num: int,
        sending_time: str,
        fields: list[tuple[int, Any]],
    ) -> None:
        """Adds the signed Logon fields to an outgoing Logon, then calls the wrapped app."""
        if msg_type == LOGON:
            set_fields(fields, self.logon_fields(session, seq_num, sending_time))
        if self.app is not None:
            self.app.to_admin(session, msg_type, seq_num, sending_time, fields)

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        if self.app is not None:
            self.app.from_admin(session, msg)

    def to_app(self, session: FixSession, msg_type: str, fields: list[tuple[int, Any]]) -> None:
        if self.app is not None:
            self.app.to_app(session, msg_type, fields)

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        if self.app is not None:
            self.app.from_app(session, msg)

    def may_resend(self, seq_num: int, msg_type: str) -> bool:
        return self.app.may_resend(seq_num, msg_type) if self.app is not None else True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(venue={self.venue!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds credentials and cannot be pickled")


class Dialect(ABC):
    """One venue's FIX dialect for one set of credentials: settings and the signing application.

    Attributes:
        venue: the venue name (`coinbase`, `binance`, `kraken`, `generic`).
        extension: the venue's extension dictionary file (custom tags), or None.
    """

    venue: ClassVar[str]
    extension: ClassVar[str | None] = None

    @abstractmethod
    def settings(self, **overrides: Any) -> SessionSettings:
        """The `SessionSettings` of this venue session; keyword arguments override any field."""

    @abstractmethod
    def application(self, app: Application | None = None) -> DialectApplication:
        """Wraps `app` so its Logon is signed as the venue requires."""

    def initiator(self, app: Application | None = None, **overrides: Any) -> FixInitiator:
        """A `FixInitiator` for this venue (settings overridden by keyword arguments)."""
        return FixInitiator(self.settings(**overrides), self.application(app))

    @classmethod
    def extension_path(cls) -> str | None:
        """Path of the venue extension dictionary (for `FixDictionary.extend`)."""
        return str(SPEC_DIR / cls.extension) if cls.extension else None

    @classmethod
    def extension_dictionaries(cls) -> tuple[str, ...]:
        """`SessionSettings.extra_dictionaries` for this venue (its custom tags)."""
        path = cls.extension_path()
        return (path,) if path else ()

    @staticmethod
    def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> SessionSettings:
        merged = {**base, **overrides}
        return SessionSettings(**merged)

    def _api_key_repr(self, api_key: str) -> str:
        return mask(api_key)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds credentials and cannot be pickled")

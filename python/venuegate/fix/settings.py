"""FIX session settings: the user-boundary configuration of one session (Pydantic, frozen)."""

from __future__ import annotations

import warnings
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from venuegate.fix.schedule import SessionSchedule

__all__ = ["SessionSchedule", "SessionSettings"]

type BeginString = Literal["FIX.4.2", "FIX.4.4", "FIXT.1.1"]

# A field named `validate` shadows the deprecated `BaseModel.validate` classmethod; the spec's
# name is kept (instance values win over the class attribute) and Pydantic's warning silenced.
_shadow = warnings.catch_warnings()
_shadow.__enter__()
warnings.filterwarnings("ignore", message='Field name "validate"', category=UserWarning)


class SessionSettings(BaseModel):
    """One FIX session's configuration.

    Attributes:
        begin_string: "FIX.4.2", "FIX.4.4" or "FIXT.1.1".
        sender_comp_id: our CompID (49 on what we send).
        target_comp_id: the counterparty's CompID (56 on what we send).
        default_appl_ver_id: FIXT.1.1 only: DefaultApplVerID (1137) on Logon ("9" = FIX50SP2).
        heartbeat_interval_s: HeartBtInt (108) we ask for (initiator); an acceptor uses the
            initiator's value.
        reset_on_logon: send (initiator) / expect sequence numbers reset at every Logon (141=Y).
        reset_on_logout: reset the store after a Logout handshake.
        reset_on_disconnect: reset the store whenever the connection drops.
        store_path: the native journal holding sequence numbers and sent messages; None keeps
            them in memory (lost on restart).
        fsync: the journal's fsync policy ("none", "group", "always").
        check_latency: check SendingTime (52) against our clock.
        max_latency_s: the largest accepted |SendingTime - now|.
        logon_timeout_s: how long a Logon answer (initiator) or first Logon (acceptor) is awaited.
        logout_timeout_s: how long the Logout answer is awaited before disconnecting.
        max_queued: messages held behind an open gap before the session gives up (Logout and
            disconnect, to resume by resend on the next logon) instead of growing without bound.
        validate: validate every inbound message with the data dictionary.
        dictionary: the QuickFIX XML dictionary (FIX42.xml, FIX44.xml, FIXT11.xml); a bare
            file name is looked up in `venuegate.fix.codec.SPEC_DIR`.
        app_dictionary: FIXT.1.1: the application dictionary (FIX50SP2.xml).
        extra_dictionaries: venue extension XML files (custom tags) added to the dictionary.
        schedule: the daily session window, or None (always on).
        reconnect_min_s: the first reconnect delay bound (initiator; full-jitter backoff).
        reconnect_max_s: the largest reconnect delay.
        host: initiator: the acceptor's host.
        port: initiator: the acceptor's port.
        ssl: initiator: connect with TLS.
        ssl_verify: verify the acceptor's certificate (turning it off must be explicit).
        server_hostname: TLS SNI / verification name (default `host`).
        extra_header: header fields after 52 on every message (50, 57, 1128 ...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    begin_string: BeginString
    sender_comp_id: str = Field(min_length=1)
    target_comp_id: str = Field(min_length=1)
    default_appl_ver_id: str | None = None
    heartbeat_interval_s: int = Field(default=30, ge=0)
    reset_on_logon: bool = False
    reset_on_logout: bool = False
    reset_on_disconnect: bool = False
    store_path: str | None = None
    fsync: Literal["none", "group", "always"] = "none"
    check_latency: bool = True
    max_latency_s: float = Field(default=120.0, gt=0)
    logon_timeout_s: float = Field(default=10.0, gt=0)
    logout_timeout_s: float = Field(default=2.0, gt=0)
    max_queued: int = Field(default=100_000, gt=0)
    validate: bool = False  # type: ignore[assignment]  # shadows the deprecated BaseModel.validate
    dictionary: str | None = None
    app_dictionary: str | None = None
    extra_dictionaries: tuple[str, ...] = ()
    schedule: SessionSchedule | None = None
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    ssl: bool = False
    ssl_verify: bool = True
    server_hostname: str | None = None
    extra_header: list[tuple[int, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> SessionSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.begin_string == "FIXT.1.1" and self.default_appl_ver_id is None:
            raise ValueError("FIXT.1.1 sessions need default_appl_ver_id (e.g. '9' = FIX50SP2)")
        if self.validate and self.dictionary is None:
            raise ValueError("validate=True needs a dictionary")
        return self

    @property
    def session_id(self) -> str:
        """The session id, "BEGINSTRING:SENDER->TARGET"."""
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"


_shadow.__exit__(None, None, None)

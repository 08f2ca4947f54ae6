"""Test-side helpers for the simulator FIX gateways: a recording client app and a raw Logon.

`RecordingApp` records what a client session receives and lets a test await a message;
`raw_logon` writes one hand-built Logon on a plain socket (any fields, any SendingTime) and
returns what the gateway answered — the way to present wrong or stale credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from venuegate.fix.codec import FixEncoder, FixError, FixFramer, FixMessage, utc_timestamp
from venuegate.fix.session import Application, FixSession

__all__ = ["RecordingApp", "raw_logon"]


class RecordingApp(Application):
    """Records a client session's inbound messages and logon/logout events."""

    def __init__(self) -> None:
        self.app_messages: list[FixMessage] = []
        self.admin_messages: list[FixMessage] = []
        self.logons = 0
        self.logouts: list[str] = []
        self.session: FixSession | None = None

    def on_logon(self, session: FixSession) -> None:
        """Counts logons."""
        self.session = session
        self.logons += 1

    def on_logout(self, session: FixSession, reason: str) -> None:
        """Records the reason."""
        self.logouts.append(reason)

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        """Records admin messages."""
        self.admin_messages.append(msg)

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        """Records application messages."""
        self.app_messages.append(msg)

    def of_type(self, msg_type: str, **tags: str) -> list[FixMessage]:
        """Application messages of `msg_type` whose fields match `tags` (`t11="x"` → 11=x)."""
        want = {int(k.lstrip("t")): v for k, v in tags.items()}
        return [
            m
            for m in self.app_messages
            if m.msg_type == msg_type and all(m.get(t) == v for t, v in want.items())
        ]

    async def wait_for[T](self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Polls `predicate` until it returns something truthy.

        Raises:
            TimeoutError: not within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("the awaited FIX message did not arrive")
            await asyncio.sleep(0.005)

    async def report(self, timeout: float = 5.0, **tags: str) -> FixMessage:
        """The first ExecutionReport matching `tags` (e.g. `t11="id", t150="F"`)."""
        found = await self.wait_for(lambda: self.of_type("8", **tags), timeout)
        return found[0]


async def raw_logon(
    host: str,
    port: int,
    *,
    begin_string: str,
    sender_comp_id: str,
    target_comp_id: str,
    fields: Sequence[tuple[int, Any]],
    seq_num: int = 1,
    sending_time: str | None = None,
    timeout: float = 3.0,
) -> list[FixMessage]:
    """Sends one Logon with exactly `fields`; returns what came back until the gateway closed.

    Reading stops at a Logout, the close, or `timeout`; the Logout's Text (58) says why a
    Logon was refused.
    """
    reader, writer = await asyncio.open_connection(host, port)
    encoder = FixEncoder(begin_string, sender_comp_id, target_comp_id)
    framer = FixFramer()
    out: list[FixMessage] = []
    try:
        writer.write(
            encoder.encode("A", seq_num, list(fields), sending_time=sending_time or utc_timestamp())
        )
        await writer.drain()
        async with asyncio.timeout(timeout):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                out.extend(m for m in framer.feed(data) if not isinstance(m, FixError))
                if any(m.msg_type == "5" for m in out):
                    break
    except TimeoutError:
        pass
    finally:
        # Closed and waited for: a transport still closing when the loop ends is a leaked
        # socket (a ResourceWarning whenever the garbage collector meets it).
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return out

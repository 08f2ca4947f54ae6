"""FIX session test kit: a scripted raw-socket peer, a recording application, helpers.

`Peer` is the counterparty under the test's control: it builds every message with
`venuegate.fix.codec.FixEncoder` (or raw bytes), chooses its own sequence numbers, and collects
what our session sends so tests can assert on it. One side of each test is our `FixSession`
(initiator or acceptor), the other this peer, always on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from decimal import Decimal
from typing import Any

from venuegate.fix.codec import FixEncoder, FixError, FixFramer, FixMessage
from venuegate.fix.session import (
    Application,
    FixAcceptor,
    FixInitiator,
    FixSession,
    SessionSettings,
)
from venuegate.fix.store import MessageStore

US = "US"
PEER = "PEER"


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 10.0, loop_factory: Any = None) -> T:
    """Runs `coro` in a fresh event loop, failing after `timeout` seconds."""

    async def bounded() -> T:
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            # A transport closed by the test's last stop() (a TLS handshake cut short, say)
            # needs a few loop turns to close its socket; closing the loop before that leaves
            # it to the garbage collector's ResourceWarning, which fails a later test.
            await asyncio.sleep(0.05)

    return asyncio.run(bounded(), loop_factory=loop_factory)


def limit_order(
    symbol: str, cl: str, side: str, qty: str, price: str, **extra: str
) -> list[tuple[int, Any]]:
    """A GTC limit NewOrderSingle body; `extra` adds tags given as `t<tag>=value`."""
    fields: list[tuple[int, Any]] = [
        (11, cl), (55, symbol), (54, side), (38, Decimal(qty)), (40, "2"),
        (44, Decimal(price)), (59, "1"),
    ]  # fmt: skip
    fields += [(int(k.lstrip("t")), v) for k, v in extra.items()]
    return fields


def make_settings(**kw: Any) -> SessionSettings:
    """Our side's settings: US talking to PEER over FIX.4.4, no heartbeats to speak of."""
    base: dict[str, Any] = {
        "begin_string": "FIX.4.4",
        "sender_comp_id": US,
        "target_comp_id": PEER,
        "heartbeat_interval_s": 30,
        "logon_timeout_s": 2.0,
        "logout_timeout_s": 0.5,
        "reconnect_min_s": 0.02,
        "reconnect_max_s": 0.1,
    }
    if kw.get("begin_string") == "FIXT.1.1":
        base["default_appl_ver_id"] = "9"
    base.update(kw)
    return SessionSettings(**base)


class RecordingApp(Application):
    """Records every callback; optional canned refusals."""

    def __init__(
        self,
        *,
        reject_logon: str | None = None,
        app_raises: BaseException | None = None,
        credentials: list[tuple[int, Any]] | None = None,
    ) -> None:
        self.reject_logon = reject_logon
        self.app_raises = app_raises
        self.credentials = credentials or []
        self.app_msgs: list[FixMessage] = []
        self.admin_msgs: list[FixMessage] = []
        self.logons = 0
        self.logouts: list[str] = []
        self.created: list[FixSession] = []
        self.got_app = asyncio.Event()

    def on_create(self, session: FixSession) -> None:
        self.created.append(session)

    def on_logon(self, session: FixSession) -> None:
        self.logons += 1

    def on_logout(self, session: FixSession, reason: str) -> None:
        self.logouts.append(reason)

    def to_admin(
        self,
        session: FixSession,
        msg_type: str,
        seq_num: int,
        sending_time: str,
        fields: list[tuple[int, Any]],
    ) -> None:
        if msg_type == "A":
            fields.extend(self.credentials)

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        from venuegate.fix.session import RejectLogon

        self.admin_msgs.append(msg)
        if msg.msg_type == "A" and self.reject_logon is not None:
            raise RejectLogon(self.reject_logon)

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        self.app_msgs.append(msg)
        self.got_app.set()
        if self.app_raises is not None:
            raise self.app_raises

    @property
    def app_seqs(self) -> list[int]:
        return [m.seq_num for m in self.app_msgs]

    async def wait_app(self, count: int, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.app_msgs) < count:
                self.got_app.clear()
                await self.got_app.wait()


class Peer:
    """A scripted FIX counterparty on a raw socket."""

    def __init__(self, begin: str = "FIX.4.4", sender: str = PEER, target: str = US) -> None:
        self.begin = begin
        self.encoder = FixEncoder(begin, sender, target)
        self.framer = FixFramer()
        self.seq = 1
        self.inbox: asyncio.Queue[FixMessage | None] = asyncio.Queue()
        self.received: list[FixMessage] = []
        self.garbled: list[FixError] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.eof = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._server: asyncio.Server | None = None
        self._accepted = asyncio.Event()
        self.port = 0

    # -- connection ---------------------------------------------------------------------------
    async def connect(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self._bind(reader, writer)

    async def listen(self, port: int = 0) -> int:
        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if self.writer is not None and not self.eof.is_set():
                writer.close()
                return
            self.framer = FixFramer()
            self.inbox = asyncio.Queue()
            self.eof = asyncio.Event()
            self._bind(reader, writer)
            self._accepted.set()

        self._server = await asyncio.start_server(on_client, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def accepted(self, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            await self._accepted.wait()
        self._accepted.clear()

    def _bind(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for item in self.framer.feed(data):
                    if isinstance(item, FixError):
                        self.garbled.append(item)
                    else:
                        self.received.append(item)
                        self.inbox.put_nowait(item)
        except (ConnectionError, OSError):
            pass
        finally:
            self.eof.set()
            self.inbox.put_nowait(None)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    # -- sending ------------------------------------------------------------------------------
    def build(
        self,
        msg_type: str,
        fields: list[tuple[int, Any]] | None = None,
        *,
        seq: int | None = None,
        **kw: Any,
    ) -> bytes:
        """Encodes a message with the peer's next seq (or `seq`, which does not advance it)."""
        use = self.seq if seq is None else seq
        raw = self.encoder.encode(msg_type, use, fields or [], **kw)
        if seq is None:
            self.seq += 1
        return raw

    def send(
        self,
        msg_type: str,
        fields: list[tuple[int, Any]] | None = None,
        *,
        seq: int | None = None,
        **kw: Any,
    ) -> bytes:
        raw = self.build(msg_type, fields, seq=seq, **kw)
        self.send_raw(raw)
        return raw

    def send_raw(self, raw: bytes) -> None:
        assert self.writer is not None
        self.writer.write(raw)

    def logon(
        self, hb: int = 30, *, reset: bool = False, seq: int | None = None, **kw: Any
    ) -> None:
        fields: list[tuple[int, Any]] = [(98, 0), (108, hb)]
        if reset:
            fields.append((141, "Y"))
        if self.begin == "FIXT.1.1":
            fields.append((1137, "9"))
        self.send("A", fields, seq=seq, **kw)

    # -- receiving ----------------------------------------------------------------------------
    async def recv(self, timeout: float = 2.0) -> FixMessage | None:
        """The next message from our side; None at EOF."""
        async with asyncio.timeout(timeout):
            return await self.inbox.get()

    async def expect(
        self, msg_type: str, timeout: float = 2.0, *, skip: frozenset[str] = frozenset("0")
    ) -> FixMessage:
        """The next message of `msg_type`, skipping types in `skip` (Heartbeats by default)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.inbox.get()
                assert msg is not None, f"connection closed while waiting for 35={msg_type}"
                if msg.msg_type == msg_type:
                    return msg
                assert msg.msg_type in skip, f"expected 35={msg_type}, got {msg.raw!r}"

    async def collect(self, count: int, timeout: float = 2.0) -> list[FixMessage]:
        """The next `count` messages (Heartbeats included)."""
        out: list[FixMessage] = []
        async with asyncio.timeout(timeout):
            while len(out) < count:
                msg = await self.inbox.get()
                assert msg is not None, f"closed after {len(out)} of {count} messages"
                out.append(msg)
        return out

    async def closed(self, timeout: float = 2.0) -> bool:
        """Waits for EOF from our side; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self.eof.wait()
        except TimeoutError:
            return False
        return True

    async def drain_until_closed(self, timeout: float = 2.0) -> list[FixMessage]:
        """Every message until EOF."""
        out: list[FixMessage] = []
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.inbox.get()
                if msg is None:
                    return out
                out.append(msg)


@contextlib.asynccontextmanager
async def acceptor_and_peer(
    settings: SessionSettings | None = None,
    app: Application | None = None,
    *,
    store: MessageStore | None = None,
    logon: bool = True,
    begin: str | None = None,
    **kw: Any,
) -> AsyncIterator[tuple[FixAcceptor, FixSession, Peer, RecordingApp]]:
    """Our acceptor (logged on with the peer unless `logon=False`) and the connected peer."""
    settings = settings or make_settings(**kw)
    rec = app if isinstance(app, RecordingApp) else RecordingApp()
    stores = {settings.session_id: store} if store is not None else None
    acceptor = FixAcceptor([settings], app or rec, stores=stores)
    await acceptor.start()
    session = acceptor.sessions[settings.session_id]
    peer = Peer(begin or settings.begin_string)
    await peer.connect(acceptor.port)
    try:
        if logon:
            peer.logon()
            await peer.expect("A")
            assert session.is_logged_on
        yield acceptor, session, peer, rec
    finally:
        await peer.close()
        await acceptor.stop()


@contextlib.asynccontextmanager
async def initiator_and_peer(
    settings: SessionSettings | None = None,
    app: Application | None = None,
    *,
    store: MessageStore | None = None,
    logon: bool = True,
    **kw: Any,
) -> AsyncIterator[tuple[FixInitiator, FixSession, Peer, RecordingApp]]:
    """Our initiator connected to the listening peer (logged on unless `logon=False`)."""
    peer = Peer(kw.get("begin_string", "FIX.4.4"))
    port = await peer.listen()
    settings = settings or make_settings(host="127.0.0.1", port=port, **kw)
    if settings.port != port:
        settings = settings.model_copy(update={"host": "127.0.0.1", "port": port})
    rec = app if isinstance(app, RecordingApp) else RecordingApp()
    initiator = FixInitiator(settings, app or rec, store=store)
    await initiator.start()
    try:
        await peer.accepted()
        if logon:
            await peer.expect("A")
            peer.logon()
            assert await initiator.wait_logged_on(2.0)
        yield initiator, initiator.session, peer, rec
    finally:
        await peer.close()
        await initiator.stop()


async def wait_for(cond: Any, timeout: float = 2.0, interval: float = 0.005) -> None:
    """Polls `cond()` until true; TimeoutError otherwise."""
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(interval)

"""Starts and stops the QuickFIX peers (`qf_acceptor.py`, `qf_initiator.py`) in subprocesses.

QuickFIX runs in its own process (the venv's python) so its C++ threads and any crash stay out
of pytest. Every peer is started by the test that uses it and stopped by it (SIGTERM, then the
`DONE {json}` summary is read); `QfAcceptor` is a context manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from venuegate.fix.codec import FixMessage, utc_timestamp
from venuegate.fix.session import Application, FixSession, SessionSettings

HERE = Path(__file__).parent
ACCEPTOR = HERE / "qf_acceptor.py"
INITIATOR = HERE / "qf_initiator.py"
START_TIMEOUT_S = 8.0


def free_port() -> int:
    """A loopback port free right now (QuickFIX cannot report the port it bound to 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _done(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("DONE "):
            return dict(json.loads(line[5:]))
    raise AssertionError(f"no DONE line in the QuickFIX peer's output:\n{stdout}")


def quickfix_log(store: Path) -> str:
    """QuickFIX's event and message logs under `store/log` (shown when a test fails)."""
    parts = []
    for path in sorted((store / "log").glob("*.log")):
        parts.append(f"==> {path.name} <==\n{path.read_text(encoding='utf-8', errors='replace')}")
    return "\n".join(parts)


class QfAcceptor:
    """The QuickFIX echo acceptor in a subprocess; `stop()` returns its summary."""

    def __init__(
        self,
        store: Path,
        *,
        begin_string: str = "FIX.4.4",
        sender: str = "QF",
        target: str = "VG",
        mode: str = "fill",
        port: int | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.port = port or free_port()
        self.args = [
            sys.executable,
            str(ACCEPTOR),
            "--port",
            str(self.port),
            "--begin-string",
            begin_string,
            "--sender",
            sender,
            "--target",
            target,
            "--store",
            str(store),
            "--mode",
            mode,
            *extra,
        ]
        self.proc: subprocess.Popen[str] | None = None
        self.summary: dict[str, Any] | None = None

    def start(self) -> QfAcceptor:
        """Starts the acceptor and waits for its `READY` line."""
        self.proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
            raise AssertionError(f"QuickFIX acceptor did not start: {line!r}\n{err}")
        return self

    def stop(self) -> dict[str, Any]:
        """SIGTERM, then the `DONE` summary (QuickFIX's logs are appended on failure)."""
        if self.summary is not None:
            return self.summary
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        if "DONE " not in out:
            raise AssertionError(f"QuickFIX acceptor died: {err}\n{quickfix_log(self.store)}")
        self.summary = _done(out)
        self.summary["stderr"] = err
        return self.summary

    def kill(self) -> None:
        """Stops the process if it still runs (test teardown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def __enter__(self) -> QfAcceptor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


async def run_qf_initiator(
    store: Path,
    port: int,
    *,
    begin_string: str = "FIX.4.4",
    sender: str = "QF",
    target: str = "VG",
    orders: int = 10,
    extra: Sequence[str] = (),
    timeout_s: float = 9.0,
) -> tuple[int, dict[str, Any]]:
    """Runs the QuickFIX initiator to completion (asynchronously: our acceptor shares the loop).

    Returns its exit status and its `DONE` summary.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(INITIATOR),
        "--port",
        str(port),
        "--begin-string",
        begin_string,
        "--sender",
        sender,
        "--target",
        target,
        "--orders",
        str(orders),
        "--store",
        str(store),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(
            f"QuickFIX initiator hung: {err.decode()}\n{quickfix_log(store)}"
        ) from None
    text = out.decode()
    if "DONE " not in text:
        raise AssertionError(f"QuickFIX initiator died: {err.decode()}\n{quickfix_log(store)}")
    summary = _done(text)
    summary["stderr"] = err.decode()
    assert proc.returncode is not None
    return proc.returncode, summary


class Recorder(Application):
    """Our side's application in the interop tests: records what the session delivers.

    As an acceptor (`echo=True`) it answers NewOrderSingle with ExecutionReport New then Fill,
    in order, from one writer task (callbacks are synchronous, `send` is a coroutine).
    """

    def __init__(self, *, echo: bool = False, skip_on_logon: int = 0) -> None:
        self.echo = echo
        self.skip_on_logon = skip_on_logon
        self.admin_in: Counter[str] = Counter()
        self.app_in: Counter[str] = Counter()
        self.reports: dict[str, list[str]] = defaultdict(list)
        self.orders: list[str] = []
        self.rejects: list[str] = []
        self.test_req_ids: list[str] = []
        self.logons = 0
        self.logout_reasons: list[str] = []
        self.changed = asyncio.Event()
        self.outbox: asyncio.Queue[tuple[FixSession, str, list[tuple[int, Any]]]] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.ids = 0

    def on_logon(self, session: FixSession) -> None:
        self.logons += 1
        if self.skip_on_logon:
            session.skip_seq(self.skip_on_logon)
        self.changed.set()

    def on_logout(self, session: FixSession, reason: str) -> None:
        self.logout_reasons.append(reason)
        self.changed.set()

    def from_admin(self, session: FixSession, msg: FixMessage) -> None:
        self.admin_in[msg.msg_type] += 1
        if msg.msg_type == "3":
            self.rejects.append(msg.raw.replace(b"\x01", b"|").decode(errors="replace"))
        elif msg.msg_type == "0" and msg.has(112):
            self.test_req_ids.append(msg.get(112) or "")
        self.changed.set()

    def from_app(self, session: FixSession, msg: FixMessage) -> None:
        self.app_in[msg.msg_type] += 1
        if msg.msg_type == "8":
            self.reports[msg.get(11) or ""].append(msg.get(39) or "")
        elif msg.msg_type == "D" and self.echo:
            self._echo(session, msg)
        self.changed.set()

    def _echo(self, session: FixSession, msg: FixMessage) -> None:
        cl_ord_id = msg.get(11) or ""
        self.orders.append(cl_ord_id)
        qty, px = msg.get(38) or "0", msg.get(44) or "0"
        fix42 = session.settings.begin_string == "FIX.4.2"
        fill_type = "2" if fix42 else "F"
        for exec_type, status, cum, leaves in (("0", "0", "0", qty), (fill_type, "2", qty, "0")):
            self.ids += 1
            fields: list[tuple[int, Any]] = [
                (37, f"VG{self.ids}"),
                (11, cl_ord_id),
                (17, f"X{self.ids}"),
            ]
            if fix42:
                fields.append((20, "0"))
            fields += [
                (150, exec_type),
                (39, status),
                (55, msg.get(55) or ""),
                (54, msg.get(54) or "1"),
                (38, qty),
                (44, px),
                (151, leaves),
                (14, cum),
                (6, px if status == "2" else "0"),
            ]
            self.outbox.put_nowait((session, "8", fields))
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while True:
            session, msg_type, fields = await self.outbox.get()
            await session.send(msg_type, fields)

    def filled(self) -> set[str]:
        """ClOrdIDs with a Filled report."""
        return {c for c, statuses in self.reports.items() if "2" in statuses}

    async def wait_for(self, predicate: Any, timeout_s: float = 5.0) -> bool:
        """Waits until `predicate()` holds (a bound, not a timing assertion)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not predicate():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.1))
        return True

    async def close(self) -> None:
        """Stops the writer task."""
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer


def order_fields(cl_ord_id: str, begin_string: str = "FIX.4.4") -> list[tuple[int, Any]]:
    """A limit NewOrderSingle body valid in FIX 4.2, 4.4 and 5.0 SP2."""
    fields: list[tuple[int, Any]] = [(11, cl_ord_id)]
    if begin_string == "FIX.4.2":
        fields.append((21, "1"))
    return [
        *fields,
        (55, "BTC-USD"),
        (54, "1"),
        (60, utc_timestamp()),
        (38, Decimal("0.5")),
        (40, "2"),
        (44, Decimal("100.25")),
        (59, "1"),
    ]


DICTIONARIES = {
    "FIX.4.2": {"dictionary": "FIX42.xml"},
    "FIX.4.4": {"dictionary": "FIX44.xml"},
    "FIXT.1.1": {"dictionary": "FIXT11.xml", "app_dictionary": "FIX50SP2.xml"},
}


def our_settings(begin_string: str, **overrides: Any) -> SessionSettings:
    """Our side of an interop session: VG <-> QF, FIXT.1.1 with FIX 5.0 SP2 (1137=9).

    Our session validates QuickFIX's messages with the same vendored dictionaries QuickFIX uses.
    """
    base: dict[str, Any] = {
        "validate": True,
        **DICTIONARIES[begin_string],
        "begin_string": begin_string,
        "sender_comp_id": "VG",
        "target_comp_id": "QF",
        "heartbeat_interval_s": 30,
        "logon_timeout_s": 5.0,
    }
    if begin_string == "FIXT.1.1":
        base["default_appl_ver_id"] = "9"
    return SessionSettings(**{**base, **overrides})

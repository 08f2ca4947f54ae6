"""Shared pieces of the QuickFIX interop peers (`qf_acceptor.py`, `qf_initiator.py`).

These scripts run in their own process (started by the tests with the venv's python), so
QuickFIX's threads and any crash of its C++ core stay out of pytest. They talk to our engine on
loopback only. The data dictionaries are the QuickFIX XML files vendored under
`python/venuegate/fix/spec/` (copied from the quickfix 1.16.0 sdist).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import quickfix as fix  # type: ignore[import-untyped]

SPEC_DIR = Path(
    os.environ.get(
        "VG_QF_SPEC_DIR",
        Path(__file__).resolve().parents[3] / "python" / "venuegate" / "fix" / "spec",
    )
)

# FIXT.1.1 sessions carry FIX 5.0 SP2 application messages (DefaultApplVerID 9).
BEGIN_STRINGS = ("FIX.4.2", "FIX.4.4", "FIXT.1.1")


def dictionary_lines(begin_string: str) -> list[str]:
    """The QuickFIX settings lines that select (and validate against) the data dictionary."""
    if begin_string == "FIXT.1.1":
        return [
            "UseDataDictionary=Y",
            f"TransportDataDictionary={SPEC_DIR / 'FIXT11.xml'}",
            f"AppDataDictionary={SPEC_DIR / 'FIX50SP2.xml'}",
            "DefaultApplVerID=FIX.5.0SP2",
        ]
    name = {"FIX.4.2": "FIX42.xml", "FIX.4.4": "FIX44.xml"}[begin_string]
    return ["UseDataDictionary=Y", f"DataDictionary={SPEC_DIR / name}"]


def add_session_args(parser: argparse.ArgumentParser) -> None:
    """The options both peers take: where to listen / connect, comp ids, store and log."""
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--begin-string", choices=BEGIN_STRINGS, default="FIX.4.4")
    parser.add_argument("--sender", default="QF")
    parser.add_argument("--target", default="VG")
    parser.add_argument("--store", required=True, help="FileStore directory (kept across runs)")
    parser.add_argument("--log", help="FileLog directory (default: STORE/log)")


def configure(
    args: argparse.Namespace, connection_type: str, *, heartbeat_s: int, reset_on_logon: bool
) -> Path:
    """Creates the store and log directories and writes the session settings; returns the file."""
    store = Path(args.store)
    log = Path(args.log) if args.log else store / "log"
    store.mkdir(parents=True, exist_ok=True)
    log.mkdir(parents=True, exist_ok=True)
    cfg = store / f"{connection_type}.cfg"
    write_settings(
        cfg,
        connection_type=connection_type,
        begin_string=args.begin_string,
        sender=args.sender,
        target=args.target,
        port=args.port,
        heartbeat_s=heartbeat_s,
        reset_on_logon=reset_on_logon,
        store_dir=store,
        log_dir=log,
    )
    return cfg


def write_settings(
    path: Path,
    *,
    connection_type: str,
    begin_string: str,
    sender: str,
    target: str,
    port: int,
    heartbeat_s: int,
    reset_on_logon: bool,
    store_dir: Path,
    log_dir: Path,
) -> None:
    """Writes a QuickFIX session settings file for one session."""
    lines = [
        "[DEFAULT]",
        f"ConnectionType={connection_type}",
        "NonStopSession=Y",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        f"FileStorePath={store_dir}",
        f"FileLogPath={log_dir}",
        f"ResetOnLogon={'Y' if reset_on_logon else 'N'}",
        "ResetOnLogout=N",
        "ResetOnDisconnect=N",
        "PersistMessages=Y",
        "ValidateUserDefinedFields=N",
        "ValidateFieldsOutOfOrder=Y",
        "ValidateFieldsHaveValues=Y",
        "CheckLatency=Y",
        "MaxLatency=120",
        "LogoutTimeout=2",
        "LogonTimeout=5",
        "SocketNodelay=Y",
        "SocketReuseAddress=Y",
    ]
    if connection_type == "acceptor":
        lines += [f"SocketAcceptPort={port}", "SocketAcceptHost=127.0.0.1"]
    else:
        lines += [
            "SocketConnectHost=127.0.0.1",
            f"SocketConnectPort={port}",
            f"HeartBtInt={heartbeat_s}",
            "ReconnectInterval=1",
        ]
    lines += [
        "",
        "[SESSION]",
        f"BeginString={begin_string}",
        f"SenderCompID={sender}",
        f"TargetCompID={target}",
        *dictionary_lines(begin_string),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def header_field(message: Any, tag: int) -> str | None:
    """A header field's value, None when absent."""
    header = message.getHeader()
    return header.getField(tag) if header.isSetField(tag) else None


def body_field(message: Any, tag: int) -> str | None:
    """A body field's value, None when absent."""
    return message.getField(tag) if message.isSetField(tag) else None


def new_message(msg_type: str, fields: list[tuple[int, str]]) -> Any:
    """A QuickFIX message of `msg_type` with `fields` in the body (header filled on send)."""
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(msg_type))
    for tag, value in fields:
        message.setField(fix.StringField(tag, value))
    return message


class Stats:
    """Thread-safe counters of what a QuickFIX peer saw, dumped as the `DONE` JSON."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.msgs_in: Counter[str] = Counter()
        self.msgs_out: Counter[str] = Counter()
        self.session_rejects_sent: list[dict[str, str | None]] = []
        self.session_rejects_received: list[dict[str, str | None]] = []
        self.logout_texts_sent: list[str] = []
        self.logout_texts_received: list[str] = []
        self.resend_requests_sent: list[tuple[str | None, str | None]] = []
        self.resend_requests_received: list[tuple[str | None, str | None]] = []
        self.gap_fills_received = 0
        self.resets_received = 0
        self.poss_dup_received = 0
        self.logons = 0
        self.logouts = 0
        self.errors: list[str] = []

    def outgoing(self, message: Any) -> None:
        """Counts a message QuickFIX is about to send and records the interesting admin ones."""
        msg_type = header_field(message, 35) or "?"
        with self.lock:
            self.msgs_out[msg_type] += 1
            if msg_type == "3":
                self.session_rejects_sent.append(_reject_info(message))
            elif msg_type == "5":
                self.logout_texts_sent.append(body_field(message, 58) or "")
            elif msg_type == "2":
                self.resend_requests_sent.append((body_field(message, 7), body_field(message, 16)))

    def incoming(self, message: Any) -> None:
        """Counts a message QuickFIX delivered to the application."""
        msg_type = header_field(message, 35) or "?"
        with self.lock:
            self.msgs_in[msg_type] += 1
            if header_field(message, 43) == "Y":
                self.poss_dup_received += 1
            if msg_type == "3":
                self.session_rejects_received.append(_reject_info(message))
            elif msg_type == "5":
                self.logout_texts_received.append(body_field(message, 58) or "")
            elif msg_type == "2":
                self.resend_requests_received.append(
                    (body_field(message, 7), body_field(message, 16))
                )
            elif msg_type == "4":
                if body_field(message, 123) == "Y":
                    self.gap_fills_received += 1
                else:
                    self.resets_received += 1

    def error(self, text: str) -> None:
        """Records an error raised inside a QuickFIX callback (they must not escape into C++)."""
        with self.lock:
            self.errors.append(text)
        sys.stderr.write(f"ERROR {text}\n")
        sys.stderr.flush()

    def as_dict(self) -> dict[str, Any]:
        """The counters as JSON-ready values."""
        with self.lock:
            return {
                "msgs_in": dict(self.msgs_in),
                "msgs_out": dict(self.msgs_out),
                "session_rejects_sent": list(self.session_rejects_sent),
                "session_rejects_received": list(self.session_rejects_received),
                "logout_texts_sent": list(self.logout_texts_sent),
                "logout_texts_received": list(self.logout_texts_received),
                "resend_requests_sent": list(self.resend_requests_sent),
                "resend_requests_received": list(self.resend_requests_received),
                "gap_fills_received": self.gap_fills_received,
                "resets_received": self.resets_received,
                "poss_dup_received": self.poss_dup_received,
                "logons": self.logons,
                "logouts": self.logouts,
                "errors": list(self.errors),
            }


def _reject_info(message: Any) -> dict[str, str | None]:
    return {
        "ref_seq": body_field(message, 45),
        "ref_tag": body_field(message, 371),
        "ref_msg_type": body_field(message, 372),
        "reason": body_field(message, 373),
        "text": body_field(message, 58),
    }


def session_seqs(session_id: Any) -> dict[str, int]:
    """The session's next outgoing and expected incoming sequence numbers (QuickFIX's store)."""
    session = fix.Session.lookupSession(session_id)
    if session is None:
        return {}
    return {
        "next_sender_seq": int(session.getExpectedSenderNum()),
        "next_target_seq": int(session.getExpectedTargetNum()),
    }


def emit(line: str) -> None:
    """One protocol line on stdout (`READY <port>`, `DONE {json}`), flushed at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def done(summary: dict[str, Any], status: int = 0) -> None:
    """Prints `DONE {json}` and leaves at once: QuickFIX's SWIG destructors can crash at exit."""
    emit("DONE " + json.dumps(summary, sort_keys=True))
    sys.stderr.flush()
    os._exit(status)

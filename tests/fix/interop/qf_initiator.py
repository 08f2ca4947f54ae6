"""A QuickFIX initiator for interop tests: logs on, sends N orders, waits, logs out, reports.

Usage: `python qf_initiator.py --port P --begin-string FIX.4.4 --sender QF --target VG --orders N
--store DIR`

Logs on to 127.0.0.1:P, sends N limit NewOrderSingle messages (unique ClOrdIDs), waits for each
order's final ExecutionReport (Fill, Reject or Canceled; `--wait ack` stops at the New ack), then
sends a cancel and a status request for the first order when `--extra` is given, waits `--hold`
seconds, logs out and prints `DONE {json}` with the counts, the admin messages exchanged and
QuickFIX's sequence numbers. Exit status 0 when every order was answered and the logout was
clean, 1 otherwise. Stops early on SIGTERM (printing its summary).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from types import FrameType
from typing import Any

import quickfix as fix  # type: ignore[import-untyped]
from qf_common import (
    Stats,
    add_session_args,
    body_field,
    configure,
    done,
    emit,
    header_field,
    new_message,
    session_seqs,
)

_FINAL_STATUSES = ("2", "4", "8")


class OrderApp(fix.Application):  # type: ignore[misc]
    """Counts logons, execution reports and admin traffic."""

    def __init__(self) -> None:
        super().__init__()
        self.stats = Stats()
        self.session_ids: list[Any] = []
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.lock = threading.Lock()
        self.acked: set[str] = set()
        self.final: set[str] = set()
        self.filled: set[str] = set()
        self.rejected: set[str] = set()
        self.canceled: set[str] = set()
        self.cancel_rejects = 0
        self.status_reports = 0
        self.business_rejects = 0
        self.changed = threading.Condition(self.lock)

    def onCreate(self, session_id: Any) -> None:
        self.session_ids.append(session_id)

    def onLogon(self, session_id: Any) -> None:
        with self.stats.lock:
            self.stats.logons += 1
        self.logged_out.clear()
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        with self.stats.lock:
            self.stats.logouts += 1
        self.logged_on.clear()
        self.logged_out.set()

    def toAdmin(self, message: Any, session_id: Any) -> None:
        self.stats.outgoing(message)

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        self.stats.incoming(message)

    def toApp(self, message: Any, session_id: Any) -> None:
        self.stats.outgoing(message)

    def fromApp(self, message: Any, session_id: Any) -> None:
        self.stats.incoming(message)
        try:
            msg_type = header_field(message, 35)
            with self.changed:
                if msg_type == "8":
                    self._execution_report(message)
                elif msg_type == "9":
                    self.cancel_rejects += 1
                elif msg_type == "j":
                    self.business_rejects += 1
                self.changed.notify_all()
        except Exception:  # reported in DONE, never into C++
            self.stats.error(traceback.format_exc())

    def _execution_report(self, message: Any) -> None:
        cl_ord_id = body_field(message, 11) or ""
        exec_type = body_field(message, 150)
        status = body_field(message, 39)
        if exec_type in ("I", "3") or body_field(message, 20) == "3":
            self.status_reports += 1
            return
        if exec_type == "0":
            self.acked.add(cl_ord_id)
        elif exec_type == "8":
            self.rejected.add(cl_ord_id)
        elif exec_type == "4":
            self.canceled.add(body_field(message, 41) or cl_ord_id)
        if status == "2":
            self.filled.add(cl_ord_id)
        if status in _FINAL_STATUSES:
            self.final.add(cl_ord_id)


def _order(cl_ord_id: str, args: argparse.Namespace) -> Any:
    fields = [
        (11, cl_ord_id),
        (21, "1"),
        (55, args.symbol),
        (54, "1"),
        (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"),
        (38, args.qty),
        (40, "2"),
        (44, args.price),
        (59, "1"),
    ]
    return new_message("D", fields)


def main() -> None:  # noqa: PLR0915 - a linear script
    parser = argparse.ArgumentParser(description=__doc__)
    add_session_args(parser)
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--heartbeat", type=int, default=30)
    parser.add_argument("--reset-seq", action="store_true", help="ResetOnLogon=Y (141=Y)")
    parser.add_argument("--wait", choices=("final", "ack"), default="final")
    parser.add_argument("--extra", action="store_true", help="cancel + status of the first order")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to stay logged on")
    parser.add_argument("--timeout", type=float, default=8.0)
    parser.add_argument("--symbol", default="BTC-USD")
    parser.add_argument("--price", default="100.5")
    parser.add_argument("--qty", default="1")
    parser.add_argument("--prefix", default="qf", help="ClOrdID prefix")
    args = parser.parse_args()

    cfg = configure(args, "initiator", heartbeat_s=args.heartbeat, reset_on_logon=args.reset_seq)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    app = OrderApp()
    settings = fix.SessionSettings(str(cfg))
    initiator = fix.SocketInitiator(
        app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
    )
    started = time.monotonic()
    deadline = started + args.timeout
    initiator.start()
    emit(f"READY {args.port}")
    logged_on = False
    while not stop.is_set() and time.monotonic() < deadline:
        if app.logged_on.wait(0.05):
            logged_on = True
            break
    session_id = app.session_ids[0] if app.session_ids else None
    cl_ord_ids = [f"{args.prefix}-{i}" for i in range(1, args.orders + 1)]
    sent = 0
    if logged_on and session_id is not None:
        for cl_ord_id in cl_ord_ids:
            if fix.Session.sendToTarget(_order(cl_ord_id, args), session_id):
                sent += 1
        target = app.acked if args.wait == "ack" else app.final
        with app.changed:
            while not stop.is_set() and len(target) < sent:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                app.changed.wait(min(left, 0.1))
        if args.extra and cl_ord_ids:
            first = cl_ord_ids[0]
            fix.Session.sendToTarget(
                new_message(
                    "F",
                    [
                        (41, first),
                        (11, f"{first}-c"),
                        (55, args.symbol),
                        (54, "1"),
                        (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())),
                        (38, args.qty),
                    ],
                ),
                session_id,
            )
            fix.Session.sendToTarget(
                new_message("H", [(11, first), (55, args.symbol), (54, "1")]), session_id
            )
            with app.changed:
                while (
                    not stop.is_set()
                    and app.status_reports + app.cancel_rejects + len(app.canceled) < 2
                    and time.monotonic() < deadline
                ):
                    app.changed.wait(0.1)
        hold_until = time.monotonic() + args.hold
        while not stop.is_set() and time.monotonic() < hold_until:
            time.sleep(0.05)
    logout_clean = False
    if logged_on and session_id is not None:
        session = fix.Session.lookupSession(session_id)
        if session is not None and session.isLoggedOn():
            session.logout("probe done")
            logout_clean = app.logged_out.wait(3.0) and (
                bool(app.stats.logout_texts_received) or app.stats.msgs_in.get("5", 0) > 0
            )
    summary = app.stats.as_dict()
    with app.lock:
        summary.update(
            {
                "logged_on": logged_on,
                "orders_sent": sent,
                "acknowledged": len(app.acked),
                "filled": len(app.filled),
                "rejected": len(app.rejected),
                "canceled": len(app.canceled),
                "cancel_rejects": app.cancel_rejects,
                "status_reports": app.status_reports,
                "business_rejects": app.business_rejects,
                "answered": len(app.acked if args.wait == "ack" else app.final),
            }
        )
    summary["seqs"] = session_seqs(session_id) if session_id is not None else {}
    summary["logout_clean"] = logout_clean
    summary["duration_s"] = round(time.monotonic() - started, 3)
    ok = logged_on and summary["answered"] == sent == args.orders and logout_clean
    done(summary, 0 if ok else 1)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # the parent reads stderr
        traceback.print_exc()
        sys.stderr.flush()
        sys.exit(2)

"""A QuickFIX acceptor with an order-matching echo application, for interop tests and the probe.

Usage: `python qf_acceptor.py --port P --begin-string FIX.4.4 --sender QF --target VG --store DIR`

NewOrderSingle → ExecutionReport New, then Fill (`--mode fill`, the default) or nothing more
(`--mode rest`: the order rests and can be canceled); a symbol of `REJECT` or a quantity <= 0 is
rejected (ExecType 8). OrderCancelRequest → ExecutionReport Canceled, or OrderCancelReject when
the order is unknown or already filled. OrderStatusRequest → ExecutionReport with the order's
status. Prints `READY <port>` once listening and, on SIGTERM/SIGINT, `DONE {json}` with what it
saw (messages by type, rejects, resend requests, sequence numbers, ClOrdIDs received) and exits.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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


@dataclass
class _Order:
    cl_ord_id: str
    order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    cum_qty: Decimal = Decimal(0)
    status: str = "0"


class EchoApp(fix.Application):  # type: ignore[misc]
    """Acknowledges, fills, cancels and reports orders; counts everything it sees."""

    def __init__(self, begin_string: str, mode: str) -> None:
        super().__init__()
        self.begin_string = begin_string
        self.fix42 = begin_string == "FIX.4.2"
        self.mode = mode
        self.stats = Stats()
        self.orders: dict[str, _Order] = {}
        self.cl_ord_ids: list[str] = []
        self.duplicate_cl_ord_ids: list[str] = []
        self.ids = itertools.count(1)
        self.session_ids: list[Any] = []
        self.lock = threading.Lock()

    # -- QuickFIX callbacks (must never raise into C++) -----------------------------------------
    def onCreate(self, session_id: Any) -> None:
        self.session_ids.append(session_id)

    def onLogon(self, session_id: Any) -> None:
        with self.stats.lock:
            self.stats.logons += 1

    def onLogout(self, session_id: Any) -> None:
        with self.stats.lock:
            self.stats.logouts += 1

    def toAdmin(self, message: Any, session_id: Any) -> None:
        self.stats.outgoing(message)

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        self.stats.incoming(message)

    def toApp(self, message: Any, session_id: Any) -> None:
        self.stats.outgoing(message)

    def fromApp(self, message: Any, session_id: Any) -> None:
        self.stats.incoming(message)
        msg_type = header_field(message, 35)
        try:
            if msg_type == "D":
                self._new_order(message, session_id)
            elif msg_type == "F":
                self._cancel(message, session_id)
            elif msg_type == "H":
                self._status(message, session_id)
            else:
                raise fix.UnsupportedMessageType()
        except fix.UnsupportedMessageType:
            raise
        except Exception:  # reported in DONE, never into C++
            self.stats.error(traceback.format_exc())

    # -- order handling -------------------------------------------------------------------------
    def _new_order(self, message: Any, session_id: Any) -> None:
        cl_ord_id = body_field(message, 11) or ""
        with self.lock:
            if cl_ord_id in self.orders:
                # A replayed (PossDup) or duplicated order: never applied twice.
                self.duplicate_cl_ord_ids.append(cl_ord_id)
                return
            self.cl_ord_ids.append(cl_ord_id)
            order = _Order(
                cl_ord_id=cl_ord_id,
                order_id=f"QF{next(self.ids)}",
                symbol=body_field(message, 55) or "",
                side=body_field(message, 54) or "1",
                qty=_decimal(body_field(message, 38)),
                price=_decimal(body_field(message, 44)),
            )
            self.orders[cl_ord_id] = order
        if order.symbol == "REJECT" or order.qty <= 0:
            order.status = "8"
            self._report(session_id, order, exec_type="8", extra=[(58, "rejected by echo app")])
            return
        self._report(session_id, order, exec_type="0")
        if self.mode == "fill":
            order.cum_qty = order.qty
            order.status = "2"
            self._report(
                session_id,
                order,
                exec_type="2" if self.fix42 else "F",
                extra=[(32, str(order.qty)), (31, str(order.price))],
            )

    def _cancel(self, message: Any, session_id: Any) -> None:
        orig = body_field(message, 41) or ""
        cl_ord_id = body_field(message, 11) or ""
        with self.lock:
            order = self.orders.get(orig)
        if order is None or order.status in ("2", "4", "8"):
            reject = new_message(
                "9",
                [
                    (37, order.order_id if order else "NONE"),
                    (11, cl_ord_id),
                    (41, orig),
                    (39, order.status if order else "8"),
                    (434, "1"),
                    (102, "1" if order is None else "0"),
                ],
            )
            fix.Session.sendToTarget(reject, session_id)
            return
        order.status = "4"
        self._report(session_id, order, exec_type="4", extra=[(41, orig)], cl_ord_id=cl_ord_id)

    def _status(self, message: Any, session_id: Any) -> None:
        cl_ord_id = body_field(message, 11) or ""
        with self.lock:
            order = self.orders.get(cl_ord_id)
        if order is None:
            order = _Order(
                cl_ord_id, "NONE", body_field(message, 55) or "", "1", Decimal(0), Decimal(0)
            )
            order.status = "8"
        exec_type = order.status if self.fix42 else "I"
        self._report(session_id, order, exec_type=exec_type, trans_type="3")

    def _report(
        self,
        session_id: Any,
        order: _Order,
        *,
        exec_type: str,
        extra: list[tuple[int, str]] | None = None,
        cl_ord_id: str | None = None,
        trans_type: str = "0",
    ) -> None:
        leaves = Decimal(0) if order.status in ("2", "4", "8") else order.qty - order.cum_qty
        avg_px = order.price if order.cum_qty > 0 else Decimal(0)
        fields = [
            (37, order.order_id),
            (11, cl_ord_id or order.cl_ord_id),
            (17, f"E{next(self.ids)}"),
            (150, exec_type),
            (39, order.status),
            (55, order.symbol),
            (54, order.side),
            (38, str(order.qty)),
            (44, str(order.price)),
            (151, str(leaves)),
            (14, str(order.cum_qty)),
            (6, str(avg_px)),
        ]
        if self.fix42:
            fields.insert(3, (20, trans_type))
        fields += extra or []
        fix.Session.sendToTarget(new_message("8", fields), session_id)


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_session_args(parser)
    parser.add_argument("--mode", choices=("fill", "rest"), default="fill")
    parser.add_argument("--reset-on-logon", action="store_true")
    args = parser.parse_args()

    cfg = configure(args, "acceptor", heartbeat_s=30, reset_on_logon=args.reset_on_logon)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    app = EchoApp(args.begin_string, args.mode)
    settings = fix.SessionSettings(str(cfg))
    acceptor = fix.SocketAcceptor(
        app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
    )
    acceptor.start()
    emit(f"READY {args.port}")
    while not stop.wait(0.1):
        pass
    # A Logout being processed finishes (QuickFIX bumps its target seq after answering it, and
    # calls onLogout after the disconnect).
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle and (
        acceptor.isLoggedOn() or app.stats.logouts < app.stats.logons
    ):
        time.sleep(0.01)
    summary = app.stats.as_dict()
    with app.lock:
        summary["cl_ord_ids"] = list(app.cl_ord_ids)
        summary["duplicate_cl_ord_ids"] = list(app.duplicate_cl_ord_ids)
        summary["orders_received"] = len(app.cl_ord_ids)
    summary["seqs"] = session_seqs(app.session_ids[0]) if app.session_ids else {}
    summary["logged_on"] = bool(acceptor.isLoggedOn())
    # No acceptor.stop(): with QuickFIX 1.16's Python binding it can segfault here; the sockets
    # close at exit and the FileStore is flushed on every write, like a crash the peer recovers.
    done(summary)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # the parent reads stderr
        traceback.print_exc()
        sys.stderr.flush()
        sys.exit(2)

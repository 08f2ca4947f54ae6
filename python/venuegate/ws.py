"""The WebSocket codec (RFC 6455) with permessage-deflate (RFC 7692), native.

One `WsDecoder.feed` per socket read returns every message that read completed as
`(opcode, payload)`; a partial frame waits for the next read. Violations raise
`venuegate.errors.ProtocolError` carrying `close_code` (the RFC 6455 status to close with:
1002, 1007 or 1009) and `messages` (what the read decoded before the violation).

The opening handshake (`ws_client_request`, `ws_parse_response`; `ws_parse_request`,
`ws_server_response` for the simulator's side), frame encoding and the inflate helpers for
venues that compress inside binary frames (HTX gzip, OKX raw deflate) complete it.

Example:
    >>> d = WsDecoder("client")
    >>> d.feed(bytes([0x81, 0x05]) + b"Hel")
    []
    >>> d.feed(b"lo" + bytes([0x89, 0x00]))
    [(1, b'Hello'), (9, b'')]
    >>> ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
"""

from __future__ import annotations

import base64
import secrets
from enum import IntEnum

from venuegate._native import (
    WsDecoder,
    inflate_gzip,
    inflate_raw,
    ws_accept_key,
    ws_client_request,
    ws_encode_close,
    ws_encode_frame,
    ws_parse_request,
    ws_parse_response,
    ws_server_response,
)


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455 §5.2), as `WsDecoder.feed` reports them."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(IntEnum):
    """Close status codes (RFC 6455 §7.4.1) that venuegate sends or reports."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    """Reported for a close frame without a code; never sent."""
    ABNORMAL = 1006
    """Reported when the connection dropped without a close frame; never sent."""
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011


def new_client_key() -> str:
    """A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes (RFC 6455 §4.1)."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def new_mask() -> bytes:
    """A fresh 4-byte masking key for one client frame (RFC 6455 §5.3)."""
    return secrets.token_bytes(4)


def parse_close(payload: bytes) -> tuple[int, str]:
    """Splits a close payload from `WsDecoder.feed` into code and reason.

    The decoder has validated both; an empty payload reads as 1005 (no status, RFC 6455
    §7.1.5).
    """
    if not payload:
        return CloseCode.NO_STATUS, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8")


__all__ = [
    "CloseCode",
    "Opcode",
    "WsDecoder",
    "inflate_gzip",
    "inflate_raw",
    "new_client_key",
    "new_mask",
    "parse_close",
    "ws_accept_key",
    "ws_client_request",
    "ws_encode_close",
    "ws_encode_frame",
    "ws_parse_request",
    "ws_parse_response",
    "ws_server_response",
]

"""The native FIX codec: parse, frame and encode FIX messages; QuickFIX XML data dictionaries.

Everything here is native (`engine/src/fix`): `parse` validates one message (8, 9, 35 first,
BodyLength, CheckSum three digits and last, `tag=value<SOH>` syntax, the raw-data length pairs
such as 95/96 whose value may hold SOH) and returns a zero-copy `FixMessage` (the bytes plus an
index of value spans); `FixFramer` splits a TCP stream across partial reads and resynchronises
at the next `8=FIX` after garbage or a garbled message; `FixEncoder` writes a session's messages
with BodyLength and CheckSum computed; `FixDictionary` validates against the QuickFIX XML
dictionaries vendored in `SPEC_DIR` and raises `FixValidationError` with the SessionRejectReason
(373) code.

Garbled input raises (or, from the framer, yields) `FixError`, whose `reason`, `tag` and
`seq_num` tell a session whether to ignore the message or Reject it (`reject_reason`).

Example:
    >>> enc = FixEncoder("FIX.4.4", "CLIENT", "VENUE")
    >>> wire = enc.encode("D", 2, [(11, "id-1"), (54, "1"), (44, Decimal("101.5"))],
    ...                   sending_time="20240102-03:04:05.678")
    >>> msg = parse(wire)
    >>> msg.msg_type, msg.seq_num, msg.get(44)
    ('D', 2, '101.5')
    >>> [m.msg_type for m in FixFramer().feed(wire[:10]) + FixFramer().feed(wire)]
    ['D']
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from venuegate._native import FixDictionary, FixEncoder, FixFramer, FixMessage
from venuegate._native import fix_encode_message as encode_message
from venuegate._native import fix_parse as parse
from venuegate._native import fix_parse_utc_timestamp as parse_utc_timestamp
from venuegate._native import fix_utc_timestamp as utc_timestamp
from venuegate.errors import ProtocolError

__all__ = [
    "SOH",
    "SPEC_DIR",
    "Decimal",
    "FixDictionary",
    "FixEncoder",
    "FixError",
    "FixFramer",
    "FixMessage",
    "FixValidationError",
    "encode_message",
    "parse",
    "parse_utc_timestamp",
    "utc_timestamp",
]

SOH = b"\x01"
"""The FIX field delimiter."""

SPEC_DIR = Path(__file__).parent / "spec"
"""The vendored QuickFIX XML dictionaries (FIX42.xml, FIX44.xml, FIXT11.xml, FIX50SP2.xml) and the
venues' extension files."""


class FixError(ProtocolError, ValueError):
    """A garbled FIX message, or a value the encoder refuses.

    Attributes:
        reason: what is wrong, a stable string ("bad checksum", "body length mismatch",
            "missing 35", "empty value", "invalid tag", "garbage before 8=FIX"...).
        tag: the offending tag, when there is one.
        seq_num: the message's MsgSeqNum (34), when it could be read.
        reject_reason: the SessionRejectReason (373) to answer with, or None for a garbled
            message, which the session protocol says to ignore (no Reject, no sequence increment).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        tag: int | None = None,
        seq_num: int | None = None,
        reject_reason: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.tag = tag
        self.seq_num = seq_num
        self.reject_reason = reject_reason


class FixValidationError(FixError):
    """A message that breaks the data dictionary.

    Attributes:
        reject_reason: the SessionRejectReason (373) code: 0 invalid tag number, 1 required tag
            missing, 2 tag not defined for this message type, 3 undefined tag, 4 tag specified
            without a value, 5 value is incorrect, 6 incorrect data format, 11 invalid MsgType,
            13 tag appears more than once, 14 tag specified out of required order, 15 repeating
            group fields out of order, 16 incorrect NumInGroup count.
        business: True when the answer is a BusinessMessageReject (35=j) rather than a Reject:
            a valid MsgType this dictionary does not support (BusinessRejectReason 380=3).
    """

    reject_reason: int

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        tag: int | None = None,
        seq_num: int | None = None,
        reject_reason: int | None = None,
        business: bool = False,
    ) -> None:
        super().__init__(
            message, reason=reason, tag=tag, seq_num=seq_num, reject_reason=reject_reason
        )
        self.reject_reason = reject_reason if reject_reason is not None else 0
        self.business = business

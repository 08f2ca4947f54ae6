"""FIX session-layer constants and admin message bodies.

Tag numbers, message types and reason codes of the FIX 4.2 / 4.4 / FIXT 1.1 session layer, plus
builders for the body fields of each admin message (the header, 8/9/35/49/56/34/52, and the
trailer are added by `venuegate.fix.codec.FixEncoder`). Also `mask_fields` / `mask_raw`, which
hide credentials (Password 554, NewPassword 925, RawData 96, Username 553) before anything is
logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from venuegate.auth._base import mask

__all__ = [
    "ADMIN_TYPES",
    "HEADER_TAGS",
    "SECRET_TAGS",
    "BusinessRejectReason",
    "MsgType",
    "SessionRejectReason",
    "Tag",
    "business_reject_fields",
    "gap_fill_fields",
    "heartbeat_fields",
    "logon_fields",
    "logout_fields",
    "mask_fields",
    "mask_raw",
    "reject_fields",
    "resend_request_fields",
    "sequence_reset_fields",
    "test_request_fields",
]


class MsgType:
    """MsgType (35) values of the session layer (and two used in tests)."""

    HEARTBEAT: Final = "0"
    TEST_REQUEST: Final = "1"
    RESEND_REQUEST: Final = "2"
    REJECT: Final = "3"
    SEQUENCE_RESET: Final = "4"
    LOGOUT: Final = "5"
    LOGON: Final = "A"
    BUSINESS_MESSAGE_REJECT: Final = "j"
    NEW_ORDER_SINGLE: Final = "D"
    EXECUTION_REPORT: Final = "8"


ADMIN_TYPES: Final[frozenset[str]] = frozenset({"0", "1", "2", "3", "4", "5", "A"})
"""Session-level (admin) message types; everything else is an application message."""


class Tag:
    """Tag numbers the session layer reads or writes."""

    BEGIN_SEQ_NO: Final = 7
    BEGIN_STRING: Final = 8
    BODY_LENGTH: Final = 9
    CHECK_SUM: Final = 10
    END_SEQ_NO: Final = 16
    MSG_SEQ_NUM: Final = 34
    MSG_TYPE: Final = 35
    NEW_SEQ_NO: Final = 36
    POSS_DUP_FLAG: Final = 43
    REF_SEQ_NUM: Final = 45
    SENDER_COMP_ID: Final = 49
    SENDING_TIME: Final = 52
    TARGET_COMP_ID: Final = 56
    TEXT: Final = 58
    POSS_RESEND: Final = 97
    ENCRYPT_METHOD: Final = 98
    RAW_DATA_LENGTH: Final = 95
    RAW_DATA: Final = 96
    HEART_BT_INT: Final = 108
    TEST_REQ_ID: Final = 112
    ORIG_SENDING_TIME: Final = 122
    GAP_FILL_FLAG: Final = 123
    RESET_SEQ_NUM_FLAG: Final = 141
    REF_TAG_ID: Final = 371
    REF_MSG_TYPE: Final = 372
    SESSION_REJECT_REASON: Final = 373
    BUSINESS_REJECT_REF_ID: Final = 379
    BUSINESS_REJECT_REASON: Final = 380
    USERNAME: Final = 553
    PASSWORD: Final = 554
    NEW_PASSWORD: Final = 925
    DEFAULT_APPL_VER_ID: Final = 1137


class SessionRejectReason:
    """SessionRejectReason (373) codes."""

    INVALID_TAG_NUMBER: Final = 0
    REQUIRED_TAG_MISSING: Final = 1
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE: Final = 2
    UNDEFINED_TAG: Final = 3
    TAG_SPECIFIED_WITHOUT_A_VALUE: Final = 4
    VALUE_IS_INCORRECT: Final = 5
    INCORRECT_DATA_FORMAT: Final = 6
    DECRYPTION_PROBLEM: Final = 7
    SIGNATURE_PROBLEM: Final = 8
    COMPID_PROBLEM: Final = 9
    SENDING_TIME_ACCURACY_PROBLEM: Final = 10
    INVALID_MSG_TYPE: Final = 11
    XML_VALIDATION_ERROR: Final = 12
    TAG_APPEARS_MORE_THAN_ONCE: Final = 13
    TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER: Final = 14
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER: Final = 15
    INCORRECT_NUM_IN_GROUP_COUNT: Final = 16
    NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER: Final = 17
    OTHER: Final = 99


class BusinessRejectReason:
    """BusinessRejectReason (380) codes."""

    OTHER: Final = 0
    UNKNOWN_ID: Final = 1
    UNKNOWN_SECURITY: Final = 2
    UNSUPPORTED_MESSAGE_TYPE: Final = 3
    APPLICATION_NOT_AVAILABLE: Final = 4
    CONDITIONALLY_REQUIRED_FIELD_MISSING: Final = 5
    NOT_AUTHORIZED: Final = 6


HEADER_TAGS: Final[frozenset[int]] = frozenset(
    {
        8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144, 129, 145, 43, 97,
        52, 122, 212, 213, 347, 369, 627, 628, 629, 630, 1128, 1129, 1156,
    }
)  # fmt: skip
"""Standard header tags (FIX 4.4 / FIXT 1.1); a stored message's body starts after them."""

SECRET_TAGS: Final[frozenset[int]] = frozenset({96, 554, 925})
"""Tags whose values never reach a log: RawData (signatures), Password, NewPassword."""

_USERNAME = 553

type Fields = list[tuple[int, Any]]


def heartbeat_fields(test_req_id: str | None = None) -> Fields:
    """Heartbeat (0) body: TestReqID (112) when answering a TestRequest."""
    return [] if test_req_id is None else [(Tag.TEST_REQ_ID, test_req_id)]


def test_request_fields(test_req_id: str) -> Fields:
    """TestRequest (1) body."""
    return [(Tag.TEST_REQ_ID, test_req_id)]


def resend_request_fields(begin: int, end: int) -> Fields:
    """ResendRequest (2) body: BeginSeqNo (7), EndSeqNo (16; 0 means "through the latest")."""
    return [(Tag.BEGIN_SEQ_NO, begin), (Tag.END_SEQ_NO, end)]


def reject_fields(
    ref_seq_num: int,
    reason: int | None,
    text: str = "",
    *,
    ref_tag: int | None = None,
    ref_msg_type: str | None = None,
    begin_string: str = "FIX.4.4",
) -> Fields:
    """Session-level Reject (3) body: 45, 371, 372, 373, 58 (371-373 from FIX 4.2 on)."""
    out: Fields = [(Tag.REF_SEQ_NUM, ref_seq_num)]
    if begin_string >= "FIX.4.2" or begin_string.startswith("FIXT"):
        if ref_tag is not None:
            out.append((Tag.REF_TAG_ID, ref_tag))
        if ref_msg_type is not None:
            out.append((Tag.REF_MSG_TYPE, ref_msg_type))
        if reason is not None:
            out.append((Tag.SESSION_REJECT_REASON, reason))
    if text:
        out.append((Tag.TEXT, text))
    return out


def business_reject_fields(
    ref_seq_num: int, ref_msg_type: str, reason: int, text: str = "", ref_id: str | None = None
) -> Fields:
    """BusinessMessageReject (j) body: 45, 372, 379, 380, 58."""
    out: Fields = [(Tag.REF_SEQ_NUM, ref_seq_num), (Tag.REF_MSG_TYPE, ref_msg_type)]
    if ref_id is not None:
        out.append((Tag.BUSINESS_REJECT_REF_ID, ref_id))
    out.append((Tag.BUSINESS_REJECT_REASON, reason))
    if text:
        out.append((Tag.TEXT, text))
    return out


def sequence_reset_fields(new_seq_no: int, *, gap_fill: bool) -> Fields:
    """SequenceReset (4) body: GapFillFlag (123) and NewSeqNo (36)."""
    if gap_fill:
        return [(Tag.GAP_FILL_FLAG, "Y"), (Tag.NEW_SEQ_NO, new_seq_no)]
    return [(Tag.NEW_SEQ_NO, new_seq_no)]


def gap_fill_fields(new_seq_no: int) -> Fields:
    """SequenceReset-GapFill body (123=Y, 36=new_seq_no)."""
    return sequence_reset_fields(new_seq_no, gap_fill=True)


def logon_fields(
    heartbeat_interval_s: int, *, reset: bool = False, default_appl_ver_id: str | None = None
) -> Fields:
    """Logon (A) body: EncryptMethod 98=0, HeartBtInt 108, [141=Y], [1137]."""
    out: Fields = [(Tag.ENCRYPT_METHOD, 0), (Tag.HEART_BT_INT, heartbeat_interval_s)]
    if reset:
        out.append((Tag.RESET_SEQ_NUM_FLAG, "Y"))
    if default_appl_ver_id is not None:
        out.append((Tag.DEFAULT_APPL_VER_ID, default_appl_ver_id))
    return out


def logout_fields(text: str = "") -> Fields:
    """Logout (5) body: Text (58) when given."""
    return [(Tag.TEXT, text)] if text else []


def _mask_value(tag: int, value: str) -> str:
    return mask(value) if tag == _USERNAME else "***"


def mask_fields(fields: Sequence[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """`fields` with credential values hidden (553 masked, 96/554/925 replaced by "***")."""
    return [
        (t, _mask_value(t, str(v))) if t in SECRET_TAGS or t == _USERNAME else (t, v)
        for t, v in fields
    ]


def mask_raw(raw: bytes) -> str:
    """A wire message for a log line: SOH shown as "|", credential values hidden.

    RawData (96) may itself contain SOH; everything from 96= to the next field of a known
    length is replaced, so no part of a signature is ever printed.
    """
    if b"96=" in raw or b"554=" in raw or b"925=" in raw or b"553=" in raw:
        raw = _mask_data(raw)
    return raw.decode("latin-1").replace("\x01", "|")


def _mask_data(raw: bytes) -> bytes:
    # A RawData value may contain SOH: use its length (95) to skip it exactly.
    out = bytearray()
    pos = 0
    raw_len: int | None = None
    while pos < len(raw):
        eq = raw.find(b"=", pos)
        if eq < 0:
            out += raw[pos:]
            break
        tag_bytes = raw[pos:eq]
        if tag_bytes == b"96" and raw_len is not None:
            end = eq + 1 + raw_len
        else:
            end = raw.find(b"\x01", eq + 1)
            if end < 0:
                end = len(raw)
        value = raw[eq + 1 : end]
        if tag_bytes == b"95":
            try:
                raw_len = int(value)
            except ValueError:
                raw_len = None
        if tag_bytes in (b"96", b"554", b"925"):
            value = b"***"
        elif tag_bytes == b"553":
            value = mask(value.decode("latin-1")).encode("utf-8")
        out += tag_bytes + b"=" + value
        if end < len(raw):
            out += b"\x01"
        pos = end + 1
    return bytes(out)

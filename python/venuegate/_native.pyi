"""Typed stub of `venuegate._native`, the PyO3 binding of the Rust engine.

Import the public modules (`venuegate.fixed`, `venuegate.auth`), not this one. Errors raised
here are `venuegate.errors` classes: `DecimalError` and `SigningError` (both `ValueError`s),
the FIX codec's `FixError` / `FixValidationError` (defined in `venuegate.fix.codec`),
`TypeError` for wrong argument types.
"""

from collections.abc import Buffer, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Final, Literal, final

from venuegate.fix.codec import FixError

__all__ = [
    "JOURNAL_MAX_PAYLOAD",
    "MAX_SCALE",
    "Book",
    "BookFeed",
    "Ed25519Key",
    "Es256Key",
    "FixDictionary",
    "FixEncoder",
    "FixFramer",
    "FixMessage",
    "Fixed",
    "Hmac",
    "Journal",
    "QuerySigner",
    "Reader",
    "SignedRequest",
    "TickDecoder",
    "WsDecoder",
    "__version__",
    "fix_encode_message",
    "fix_parse",
    "fix_parse_utc_timestamp",
    "fix_utc_timestamp",
    "inflate_gzip",
    "inflate_raw",
    "read_journal",
    "sha256",
    "sha512",
    "urlencode",
    "ws_accept_key",
    "ws_client_request",
    "ws_encode_close",
    "ws_encode_frame",
    "ws_parse_request",
    "ws_parse_response",
    "ws_server_response",
]

__version__: Final[str]
MAX_SCALE: Final[int]
"""The largest number of fractional digits a `Fixed` carries (18)."""

type _Bytes = bytes | str | Buffer
type _ParamValue = str | int | bool | Decimal | Fixed
type _Params = Mapping[str, _ParamValue] | Iterable[tuple[str, _ParamValue]]
type _Rounding = Literal["down", "up", "floor", "ceiling", "half_even", "half_up"]

@final
class Fixed:
    """An exact decimal: an i64 mantissa and 0..=18 fractional digits.

    Equality, ordering and hashing are by value (`Fixed("1.50") == Fixed("1.5")`); `str` keeps
    the scale. Nothing rounds silently: too many digits, overflow and inexact rescaling raise
    `DecimalError`.
    """

    def __new__(cls, value: str | bytes | int | Decimal | Fixed) -> Fixed:
        """Parses a decimal string ("0.00012300", "-5.1", "1e-8") or converts exactly."""

    @staticmethod
    def from_parts(mantissa: int, scale: int) -> Fixed:
        """Builds `mantissa * 10**-scale`."""

    @staticmethod
    def from_decimal(value: Decimal) -> Fixed:
        """Converts a finite `Decimal` exactly."""

    def to_decimal(self) -> Decimal:
        """The exactly equal `Decimal`, same scale."""

    @property
    def mantissa(self) -> int:
        """The integer mantissa."""

    @property
    def scale(self) -> int:
        """The number of fractional digits."""

    def canonical(self) -> str:
        """No exponent, no trailing fractional zeros, "0" for zero."""

    def format(self, scale: int) -> str:
        """Exactly `scale` fractional digits; raises `DecimalError` rather than round."""

    def rescale(self, scale: int) -> Fixed:
        """The same value at another scale; raises `DecimalError` rather than drop digits."""

    def round(self, scale: int, mode: _Rounding = "half_even") -> Fixed:
        """Rounds to `scale` fractional digits with an explicit mode."""

    def __add__(self, other: Fixed, /) -> Fixed: ...
    def __sub__(self, other: Fixed, /) -> Fixed: ...
    def __mul__(self, other: Fixed, /) -> Fixed: ...
    def __radd__(self, other: Fixed, /) -> Fixed: ...
    def __rsub__(self, other: Fixed, /) -> Fixed: ...
    def __rmul__(self, other: Fixed, /) -> Fixed: ...
    def __neg__(self) -> Fixed: ...
    def __bool__(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __lt__(self, other: Fixed, /) -> bool: ...
    def __le__(self, other: Fixed, /) -> bool: ...
    def __gt__(self, other: Fixed, /) -> bool: ...
    def __ge__(self, other: Fixed, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Hmac:
    """A keyed HMAC whose key stays native; `repr` shows only the algorithm.

    The keyed state is computed once, so each MAC costs only the message's hashing.
    """

    def __new__(cls, alg: Literal["sha256", "sha384", "sha512"], key: _Bytes) -> Hmac:
        """Keys an HMAC with raw key bytes (a str key means its UTF-8 bytes)."""

    @staticmethod
    def from_base64_key(alg: Literal["sha256", "sha384", "sha512"], key: _Bytes) -> Hmac:
        """Keys an HMAC with a base64 secret; raises `SigningError` (naming only its length)."""

    @property
    def alg(self) -> str:
        """The hash name: sha256, sha384 or sha512."""

    def digest(self, *parts: _Bytes) -> bytes:
        """MAC of the concatenated parts."""

    def hexdigest(self, *parts: _Bytes) -> str:
        """MAC of the concatenated parts, lower-case hex."""

    def b64digest(self, *parts: _Bytes) -> str:
        """MAC of the concatenated parts, base64."""

@final
class Ed25519Key:
    """An Ed25519 private key (RFC 8032); deterministic signatures."""

    @staticmethod
    def from_pem(pem: str) -> Ed25519Key:
        """Loads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)."""

    @staticmethod
    def from_raw(raw: _Bytes) -> Ed25519Key:
        """Loads a 32-byte seed or a 64-byte seed + public key pair."""

    def sign(self, *parts: _Bytes) -> bytes:
        """64-byte signature of the concatenated parts."""

    def sign_b64(self, *parts: _Bytes) -> str:
        """Base64 signature of the concatenated parts."""

    def public_key(self) -> bytes:
        """The raw 32-byte public key."""

@final
class Es256Key:
    """An ECDSA P-256 private key for ES256 JWTs (RFC 7518 §3.4); randomised nonces (ring)."""

    @staticmethod
    def from_pem(pem: str) -> Es256Key:
        """Loads a SEC1 (`BEGIN EC PRIVATE KEY`) or PKCS#8 PEM."""

    @staticmethod
    def from_raw(raw: _Bytes) -> Es256Key:
        """Loads a raw 32-byte scalar."""

    def sign(self, data: _Bytes) -> bytes:
        """`r || s` (64 bytes) over SHA-256 of `data`."""

    def jwt(self, header_json: _Bytes, claims_json: _Bytes) -> str:
        """A compact JWS: b64url(header).b64url(claims).b64url(signature)."""

    def public_key(self) -> bytes:
        """The uncompressed SEC1 public key (65 bytes)."""

def urlencode(
    params: _Params, mode: Literal["plus", "percent"] = "plus", sort: bool = False
) -> str:
    """Percent-encodes parameters in order (or sorted by name).

    `plus` is `urllib.parse.urlencode` (space as `+`); `percent` is RFC 3986 (space as `%20`).
    Values: str, int, bool (true/false), Decimal and Fixed in plain notation; floats raise
    `TypeError`.
    """

def sha256(*parts: _Bytes) -> bytes:
    """SHA-256 of the concatenated parts."""

def sha512(*parts: _Bytes) -> bytes:
    """SHA-512 of the concatenated parts."""

@final
class SignedRequest:
    """A request ready to send; what the venue verifies.

    `repr` redacts credential headers (`Authorization`, passphrases). Equality compares all
    four fields.
    """

    def __new__(
        cls, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> SignedRequest: ...
    @property
    def method(self) -> str:
        """Upper-case HTTP method."""

    @property
    def path(self) -> str:
        """URL path as sent, with the query string where the venue signs one."""

    @property
    def headers(self) -> dict[str, str]:
        """Headers to add: API key, signature, timestamp, content type."""

    @property
    def body(self) -> bytes | None:
        """The exact body to send, or None."""

    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class QuerySigner:
    """Signs form-encoded requests whose signature is one more parameter.

    The signature covers query + body (Binance: HMAC-SHA256 hex or Ed25519 base64); one native
    call goes from params to the request.
    """

    def __new__(cls, key: Hmac | Ed25519Key, api_key_header: str, api_key: str) -> QuerySigner: ...
    def sign(
        self,
        method: str,
        path: str,
        params: _Params,
        timestamp_ms: int | None = None,
        body: _Bytes | None = None,
    ) -> SignedRequest:
        """Signs one request.

        Params in order, `timestamp` (given, else the system clock) unless present, then
        `signature` on the query, or on the body when one is sent.
        """

@final
class Book:
    """An L2 book at fixed price/size precision; levels in as text, mantissas out."""

    def __new__(
        cls, price_precision: int, size_precision: int, max_depth: int | None = None
    ) -> Book: ...
    def apply_snapshot(
        self,
        bids: Iterable[tuple[_ParamValue | bytes, _ParamValue | bytes]],
        asks: Iterable[tuple[_ParamValue | bytes, _ParamValue | bytes]],
    ) -> None:
        """Replaces the book (all levels parsed first; a bad one raises `BookError`)."""

    def apply_deltas(
        self,
        bids: Iterable[tuple[_ParamValue | bytes, _ParamValue | bytes]],
        asks: Iterable[tuple[_ParamValue | bytes, _ParamValue | bytes]],
    ) -> None:
        """Applies changes (size 0 deletes), all or nothing."""

    def top_of_book(self) -> tuple[int | None, int | None, int | None, int | None]:
        """`(bid_price, bid_size, ask_price, ask_size)` mantissas (None: empty side)."""

    def best_bid(self) -> tuple[int, int] | None:
        """Best bid mantissas."""

    def best_ask(self) -> tuple[int, int] | None:
        """Best ask mantissas."""

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Top `n` levels per side, best first, as mantissas."""

    def depth_packed(self, n: int) -> bytes:
        """`n` rows of little-endian i64 `[bid_px, bid_sz, ask_px, ask_sz]`."""

    def checksum(self, venue: str) -> int:
        """The venue's checksum (okx, kraken, bitfinex)."""

    def depth(self) -> tuple[int, int]:
        """Levels per side."""

    def is_crossed(self) -> bool:
        """Best bid >= best ask."""

    def clear(self) -> None:
        """Removes every level."""

    @property
    def price_precision(self) -> int:
        """Digits after the point in prices."""

    @property
    def size_precision(self) -> int:
        """Digits after the point in sizes."""

    @property
    def max_depth(self) -> int | None:
        """Depth limit per side."""

@final
class BookFeed:
    """A venue feed state machine bound to a `Book`."""

    def __new__(cls, venue: str, book: Book) -> BookFeed: ...
    def apply(self, data: _Bytes) -> int:
        """Applies one message; returns a FeedStatus value; never raises on venue input."""

    def apply_snapshot(self, data: _Bytes) -> int:
        """Applies a snapshot and replays buffered deltas; returns a FeedStatus value."""

    def apply_ws(
        self, decoder: WsDecoder, data: _Bytes
    ) -> tuple[int, int, list[tuple[int, bytes]] | None]:
        """The fused path: one read → frames → book; `(messages, worst_status, control_frames)`.

        `control_frames` is None when the read held none (the common case).
        """

    def invalidate(self, reason: str) -> None:
        """Marks the feed stale."""

    @property
    def book(self) -> Book:
        """The book this feed maintains."""

    @property
    def state(self) -> str:
        """awaiting_snapshot, synced or stale."""

    @property
    def reason(self) -> str | None:
        """Why the feed last went stale."""

    @property
    def last_seq(self) -> int | None:
        """Last applied venue sequence value."""

    @property
    def buffered(self) -> int:
        """Deltas awaiting a snapshot."""

    @property
    def snapshot_out_of_band(self) -> bool:
        """Snapshot fetched separately."""

    def stats(self) -> dict[str, int]:
        """Counters."""

# --- WebSocket codec (engine/src/ws.rs) -------------------------------------------------------

type _WsDeflate = tuple[bool, bool, int | None, int | None]
type _Headers = Mapping[str, str] | Iterable[tuple[str, str]]

@final
class WsDecoder:
    """A streaming WebSocket frame decoder (RFC 6455, permessage-deflate per RFC 7692).

    Feed it every read; each `feed` returns the messages that read completed, in order, and
    keeps a partial frame for the next. On a protocol violation it raises
    `venuegate.errors.ProtocolError` with `close_code` (1002 protocol error, 1007 invalid
    UTF-8, 1009 too big: the code to close with) and `messages` (what the read decoded before
    the error); the decoder then stays failed. After a close frame later bytes are ignored.
    """

    def __new__(
        cls,
        role: Literal["client", "server"] = "client",
        max_message: int = ...,
        max_frame: int | None = None,
        deflate: bool = False,
        no_context_takeover: bool = False,
    ) -> WsDecoder:
        """Builds a decoder.

        Args:
            role: "client" decodes a server's frames (which must not be masked), "server" a
                client's (which must be, and are unmasked).
            max_message: largest message after reassembly and inflating, in bytes
                (default 16 MiB).
            max_frame: largest frame payload as sent; defaults to `max_message`.
            deflate: permessage-deflate was negotiated: RSV1 marks compressed messages.
            no_context_takeover: the peer resets its compressor after every message
                (`server_no_context_takeover` for a client).
        """

    def feed_call(
        self, data: _Bytes, on_message: Callable[[bytes, int, int], object], recv_ns: int
    ) -> list[tuple[int, bytes]]:
        """Calls `on_message(payload, opcode, recv_ns)` natively per data message of this read.

        Returns the control frames (ping, pong, close) as `(opcode, payload)`.
        """

    def feed(self, data: _Bytes) -> list[tuple[int, bytes]]:
        """Appends one read; returns `(opcode, payload)` per completed message.

        Opcodes: 1 text (payload is valid UTF-8), 2 binary, 8 close (the raw payload: a
        big-endian code then the reason, or empty), 9 ping, 10 pong. Fragmented and compressed
        messages come out whole; control frames between fragments come out first.
        """

    @property
    def closed(self) -> bool:
        """True once a close frame was decoded."""

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not yet complete."""

def ws_encode_frame(
    opcode: int, payload: _Bytes, fin: bool = True, mask: _Bytes | None = None
) -> bytes:
    """One frame; `mask` is the client's fresh 4-byte key, None for a server.

    Raises `ProtocolError` for a reserved opcode or a control frame over 125 bytes or
    without FIN.
    """

def ws_encode_close(code: int = 1000, reason: str = "", mask: _Bytes | None = None) -> bytes:
    """A close frame: a valid code (1000-1003, 1007-1014, 3000-4999) and a reason.

    The reason takes at most 123 UTF-8 bytes; `ProtocolError` otherwise.
    """

def ws_accept_key(key: str) -> str:
    """`Sec-WebSocket-Accept` for `key`: base64(SHA-1(key + GUID)), RFC 6455 §4.2.2."""

def ws_client_request(
    host: str,
    path: str,
    key: str,
    headers: _Headers | None = None,
    permessage_deflate: bool = False,
) -> bytes:
    """The client's opening handshake request (`GET path HTTP/1.1` with the upgrade headers).

    Raises `ProtocolError` when a value contains CR, LF or NUL or a name is not a token.
    """

def ws_parse_response(
    buf: _Bytes, key: str, deflate_offered: bool = False
) -> tuple[int, list[tuple[str, str]], _WsDeflate | None] | None:
    """Parses the server's handshake response; None until the header block is complete.

    Returns `(consumed, headers, deflate)`: bytes the block took (frames may follow),
    headers in order, and the negotiated permessage-deflate parameters
    `(server_no_context_takeover, client_no_context_takeover, server_max_window_bits,
    client_max_window_bits)` or None. Raises `ProtocolError` for a status other than 101,
    a wrong Upgrade, Connection or Sec-WebSocket-Accept, or an extension not offered.
    """

def ws_parse_request(
    buf: _Bytes,
) -> tuple[int, str, str, list[tuple[str, str]], bool] | None:
    """Parses a client's handshake; None until the header block is complete.

    Returns `(consumed, path, key, headers, deflate_offered)`. Raises `ProtocolError` for
    anything but a valid version-13 upgrade request.
    """

def ws_server_response(
    key: str,
    deflate: bool = False,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
) -> bytes:
    """The server's 101 response to `key`, accepting permessage-deflate when `deflate`."""

def inflate_gzip(data: _Bytes, limit: int = ...) -> bytes:
    """Inflates a gzip member (HTX market data), checking its CRC; `limit` defaults to 16 MiB.

    Raises `ProtocolError` for corrupt data, or (close code 1009) past `limit` bytes.
    """

def inflate_raw(data: _Bytes, limit: int = ...) -> bytes:
    """Inflates raw deflate data (OKX): a complete or sync-flushed stream (limit 16 MiB).

    Raises `ProtocolError` for corrupt or truncated data, or (1009) past `limit` bytes.
    """

type _TradeRow = tuple[int, int, int, int, str]
type _BboRow = tuple[int | None, int | None, int | None, int | None, int | None]

@final
class TickDecoder:
    """A venue's trade / best bid-offer decoder at fixed price and size precision."""

    def __new__(cls, venue: str, price_precision: int, size_precision: int) -> TickDecoder: ...
    def decode(
        self, data: _Bytes
    ) -> (
        tuple[Literal["trades"], list[_TradeRow]]
        | tuple[Literal["bbo"], _BboRow]
        | tuple[Literal["ignored"], None]
    ):
        """Decodes one message into integer mantissas at the precisions.

        Returns `("trades", [(price, size, side, ts_ms, trade_id)])` (side 1 buy, -1 sell,
        0 unknown), `("bbo", (bid_px, bid_sz, ask_px, ask_sz, ts_ms))` or `("ignored", None)`.
        Raises `ProtocolError` for malformed input.
        """

    @property
    def venue(self) -> str:
        """The venue name given."""

    @property
    def price_precision(self) -> int:
        """Digits after the point in prices."""

    @property
    def size_precision(self) -> int:
        """Digits after the point in sizes."""

# --- Reader thread (engine/src/reader.rs) ----------------------------------------------------

type _ReaderEvent = (
    tuple[Literal["open"]]
    | tuple[Literal["message"], int, bytes, int]
    | tuple[Literal["status"], int, int]
    | tuple[Literal["error"], str]
    | tuple[Literal["closed"], int, str]
)

@final
class Reader:
    """A WebSocket client connection read by its own native thread (no GIL per message)."""

    def __new__(
        cls,
        url: str,
        *,
        feed: BookFeed | None = None,
        on_message: Callable[[bytes, int, int, int | None], object] | None = None,
        headers: list[tuple[str, str]] = ...,
        ca_pem: _Bytes | None = None,
        max_message: int = ...,
        permessage_deflate: bool = False,
        open_timeout: float = 10.0,
        clock_ns: int = 0,
        coalesce: float = 0.0,
        fused: bool = True,
    ) -> Reader: ...
    def fileno(self) -> int:
        """The fd that turns readable when events are queued."""

    def events(self) -> list[_ReaderEvent]:
        """Takes the queued events."""

    def send_text(self, data: _Bytes) -> None:
        """Sends a text message."""

    def ping(self, payload: bytes = ...) -> None:
        """Sends a ping."""

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Starts the close handshake."""

    def enable_fused(self) -> int:
        """Applies the still-queued data messages in order, then lets the thread apply.

        Returns the messages applied by this call (0 without a feed or when already fused).
        """

    def disable_fused(self) -> bool:
        """Queues later data messages for Python again; returns whether it was fused."""

    @property
    def fused(self) -> bool:
        """True while the thread applies data messages to the feed."""

    def abort(self) -> None:
        """Drops the connection at once."""

    def join(self) -> None:
        """Waits for the thread to end."""

    @property
    def is_open(self) -> bool:
        """True between the handshake and the start of a close."""

    @property
    def finished(self) -> bool:
        """True once the thread has ended."""

    @property
    def messages(self) -> int:
        """Data messages received."""

    @property
    def applied(self) -> int:
        """Data messages applied to the feed (by the thread or by `enable_fused`)."""

    @property
    def bytes_received(self) -> int:
        """Bytes received (after TLS)."""

    @property
    def reads(self) -> int:
        """Socket reads that returned data."""

    @property
    def last_rx_ns(self) -> int:
        """When the last read arrived (0 before any)."""

    def latency(self, quantiles: list[float]) -> tuple[int, int, list[int | None]]:
        """`(count, max_ns, [ns at each quantile])` of receive → applied."""

    def reset_latency(self) -> None:
        """Forgets the latency recorded so far."""

# --- Order journal (engine/src/journal.rs) ------------------------------------------------------

JOURNAL_MAX_PAYLOAD: Final[int]
"""The largest record payload a journal accepts (64 MiB)."""

@final
class Journal:
    """An append-only order journal (write-ahead log) of framed, CRC-checked records.

    Each `append` is one `write` syscall: once it returns, the record survives a process crash
    (even SIGKILL). `fsync` says when records are forced to disk: "none" (never, except on
    `sync()`), "group" (a background thread every `group_interval_ms` when there were writes)
    or "always" (after every append). Opening an existing file drops a torn tail
    (`recovered_torn_bytes`) and resumes at the next sequence number; a foreign file or a bad
    record with valid records after it raises `JournalError`.
    """

    def __new__(
        cls,
        path: str,
        fsync: Literal["none", "group", "always"] = "none",
        group_interval_ms: int = 5,
    ) -> Journal: ...
    def append(self, kind: int, payload: bytes) -> int:
        """Appends one record (`kind` 0..=255); returns its sequence number."""

    def append_batch(self, records: Iterable[tuple[int, bytes]]) -> int:
        """Appends records with one write; returns the last sequence number."""

    def sync(self) -> None:
        """Forces everything appended to disk (fdatasync), without the GIL."""

    def close(self) -> None:
        """Stops the group-commit thread and syncs what it had not; idempotent."""

    def __enter__(self) -> Journal: ...
    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool: ...
    @property
    def path(self) -> str:
        """The journal file."""

    @property
    def fsync(self) -> str:
        """The fsync policy: none, group or always."""

    @property
    def next_seq(self) -> int:
        """The sequence number the next record gets."""

    @property
    def recovered_torn_bytes(self) -> int:
        """Bytes of torn tail dropped when the journal was opened."""

    @property
    def end_offset(self) -> int:
        """The file length: just past the last record."""

    @property
    def sync_count(self) -> int:
        """Syncs performed so far (explicit, per record, and by the group-commit thread)."""

    @property
    def closed(self) -> bool:
        """True once closed."""

def read_journal(path: str, offset: int = 0) -> tuple[list[tuple[int, int, bytes]], int, int]:
    """Reads a journal's records, read-only: `(records, end_offset, torn_bytes)`.

    `records` are `(seq, kind, payload)` in order; `end_offset` is just past the last good
    record (pass it as the next `offset` to tail a file being appended to); `torn_bytes` are
    the bytes after it that do not form a record (reported, not removed). Raises
    `JournalError` for a foreign file, an offset inside the header, or corruption.
    """

# --- FIX codec (engine/src/fix; public module: venuegate.fix.codec) ---------------------------

type _FixValue = str | bytes | int | bool | Decimal | Fixed

@final
class FixMessage:
    """A parsed FIX message: the bytes and an index of `(tag, value span)`, zero-copy."""

    @property
    def raw(self) -> bytes:
        """The whole message, `8=` through `10=xxx<SOH>`."""

    @property
    def begin_string(self) -> str:
        """BeginString (8)."""

    @property
    def msg_type(self) -> str:
        """MsgType (35)."""

    @property
    def seq_num(self) -> int:
        """MsgSeqNum (34), 0 when absent."""

    def get(self, tag: int) -> str | None:
        """The first value of `tag` as text (UTF-8, latin-1 when not UTF-8)."""

    def get_bytes(self, tag: int) -> bytes | None:
        """The first value of `tag` as bytes."""

    def get_int(self, tag: int) -> int | None:
        """The first value of `tag` as an integer; `FixError` when it is not one."""

    def get_all(self, tag: int) -> list[str]:
        """Every value of `tag`, in wire order."""

    def has(self, tag: int) -> bool:
        """True when `tag` is present."""

    def fields(self) -> list[tuple[int, bytes]]:
        """Every field in wire order, header and trailer included."""

    def group(self, count_tag: int, first_tag: int) -> list[list[tuple[int, bytes]]]:
        """A repeating group's entries without a dictionary (`FixDictionary.groups` is exact)."""

    def __len__(self) -> int: ...

def fix_parse(data: bytes | Buffer, *, verify: bool = True) -> FixMessage:
    """Parses exactly one FIX message; raises `FixError`."""

@final
class FixFramer:
    """Splits a FIX byte stream into messages across partial reads."""

    def __new__(cls, max_message_size: int = ...) -> FixFramer: ...
    def feed(self, data: bytes) -> list[FixMessage | FixError]:
        """Every complete message, or `FixError` for a garbled one, in order."""

    @property
    def buffered(self) -> int:
        """Bytes held for the next feed."""

@final
class FixEncoder:
    """A session's encoder: the header is prebuilt once."""

    def __new__(
        cls,
        begin_string: str,
        sender_comp_id: str,
        target_comp_id: str,
        header: list[tuple[int, str]] | None = None,
    ) -> FixEncoder: ...
    def encode(
        self,
        msg_type: str,
        seq_num: int,
        fields: Iterable[tuple[int, _FixValue]],
        *,
        sending_time: str | None = None,
        poss_dup: bool = False,
        orig_sending_time: str | None = None,
    ) -> bytes:
        """Encodes one message with BodyLength and CheckSum computed; raises `FixError`."""

    @property
    def begin_string(self) -> str:
        """BeginString (8)."""

    @property
    def sender_comp_id(self) -> str:
        """SenderCompID (49)."""

    @property
    def target_comp_id(self) -> str:
        """TargetCompID (56)."""

def fix_encode_message(begin_string: str, fields: Iterable[tuple[int, _FixValue]]) -> bytes:
    """Encodes a message from everything between 9 and 10 (35 first)."""

def fix_utc_timestamp(
    epoch_ns: int | None = None, precision: Literal["s", "ms", "us", "ns"] = "ms"
) -> str:
    """A FIX UTCTimestamp, `YYYYMMDD-HH:MM:SS.sss` (default now)."""

def fix_parse_utc_timestamp(value: str) -> int:
    """Epoch nanoseconds of a FIX UTCTimestamp; raises `FixError`."""

@final
class FixDictionary:
    """A QuickFIX XML data dictionary."""

    @staticmethod
    def load(path: str, app_path: str | None = None) -> FixDictionary:
        """Loads FIX42/FIX44.xml, or FIXT11.xml (transport) with FIX50SP2.xml (app)."""

    def extend(self, path: str) -> None:
        """Adds a venue's custom fields and message fields from an extension XML."""

    def validate(self, msg: FixMessage) -> None:
        """Raises `FixValidationError` (with the 373 code) when `msg` breaks the dictionary."""

    def groups(self, msg: FixMessage, count_tag: int) -> list[list[tuple[int, bytes]]]:
        """The entries of the first `count_tag` group of `msg`, nested groups included."""

    def is_admin(self, msg_type: str) -> bool:
        """True for a session-level message type."""

    def field_name(self, tag: int) -> str | None:
        """The field's name."""

    def message_name(self, msg_type: str) -> str | None:
        """The message's name."""

    def required_fields(self, msg_type: str) -> list[int]:
        """The message's required body fields (header and trailer excluded)."""

    @property
    def begin_string(self) -> str:
        """The dictionary's BeginString."""

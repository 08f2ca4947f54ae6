//! The WebSocket codec (RFC 6455) with permessage-deflate (RFC 7692), built for "one native call
//! per socket read".
//!
//! [`FrameDecoder`] takes every byte a read returned ([`FrameDecoder::feed`]) and then yields the
//! complete messages one by one ([`FrameDecoder::next_message`]): text (validated UTF-8), binary,
//! ping, pong and close (code and reason validated). An unfragmented frame that needs no inflating
//! is returned as a slice of the decoder's own buffer, without a copy; a masked frame (a client's,
//! decoded by a server) is unmasked in place first. A partial frame waits in the buffer for the
//! next read.
//!
//! Every violation is a [`WsError`] whose [`WsError::close_code`] is the code to send before
//! closing the connection (1002 protocol error, 1007 invalid payload data, 1009 message too big);
//! after one, the decoder stays failed. After a close frame the decoder ignores whatever follows,
//! as RFC 6455 §5.5.1 lets nothing follow it.
//!
//! Encoding ([`encode_frame`], [`encode_close`]), masking ([`apply_mask`]) and the opening
//! handshake ([`accept_key`], [`client_request`], [`parse_response`], [`parse_request`],
//! [`server_response`]) complete the codec; [`inflate_gzip`] and [`inflate_raw`] inflate the
//! compressed payloads some venues send inside binary frames (HTX gzip, OKX raw deflate).

mod handshake;
mod inflate;

use std::ops::Range;
use std::str::FromStr;

use thiserror::Error;

pub use handshake::{
    accept_key, client_key, client_request, parse_request, parse_response, server_response,
    DeflateParams, Request, Response, MAX_HANDSHAKE,
};
pub use inflate::{inflate_gzip, inflate_raw};

use inflate::Inflater;

/// Default limit on one message, after reassembly and inflating: 16 MiB, above the largest book
/// snapshot any supported venue sends.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// Why a frame, message or handshake was refused. [`WsError::close_code`] gives the status code
/// to send in the close frame (RFC 6455 §7.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WsError {
    /// An opcode RFC 6455 §5.2 reserves (0x3-0x7, 0xB-0xF).
    #[error("reserved opcode {opcode:#x}")]
    ReservedOpcode {
        /// The opcode received.
        opcode: u8,
    },
    /// RSV bits set that no negotiated extension defines (RFC 6455 §5.2), or RSV1 on a frame
    /// where permessage-deflate forbids it: control frames and continuations (RFC 7692 §6.1).
    #[error(
        "reserved bits {bits:#05b} set on a {opcode:?} frame without an extension defining them"
    )]
    ReservedBits {
        /// RSV1..RSV3 as a 3-bit number (RSV1 is 0b100).
        bits: u8,
        /// The frame's opcode.
        opcode: Opcode,
    },
    /// A control frame without FIN (RFC 6455 §5.5: control frames are never fragmented).
    #[error("fragmented {opcode:?} frame: control frames must have FIN set")]
    FragmentedControl {
        /// The frame's opcode.
        opcode: Opcode,
    },
    /// A control frame payload over 125 bytes (RFC 6455 §5.5).
    #[error("{opcode:?} frame carries {len} bytes: control frames carry at most 125")]
    ControlTooLong {
        /// The frame's opcode.
        opcode: Opcode,
        /// The payload length.
        len: u64,
    },
    /// A masked frame sent by a server (RFC 6455 §5.1).
    #[error("masked frame from a server")]
    MaskedFromServer,
    /// An unmasked frame sent by a client (RFC 6455 §5.1).
    #[error("unmasked frame from a client")]
    UnmaskedFromClient,
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2).
    #[error("64-bit payload length {len:#x} has its most significant bit set")]
    LengthOverflow {
        /// The length field.
        len: u64,
    },
    /// A continuation frame with no fragmented message to continue (RFC 6455 §5.4).
    #[error("continuation frame without a fragmented message to continue")]
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is incomplete (RFC 6455 §5.4).
    #[error("{opcode:?} frame while a fragmented message awaits its continuation")]
    ExpectedContinuation {
        /// The opcode of the interrupting frame.
        opcode: Opcode,
    },
    /// A frame payload above the configured frame limit.
    #[error("frame payload of {len} bytes exceeds the limit of {limit}")]
    FrameTooBig {
        /// The payload length announced.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A message (reassembled, or inflated) above the configured message limit.
    #[error("message of at least {len} bytes exceeds the limit of {limit}")]
    MessageTooBig {
        /// A lower bound of the message length.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A text message that is not UTF-8 (RFC 6455 §8.1).
    #[error("text message is not valid UTF-8 after {valid_up_to} valid bytes")]
    InvalidUtf8 {
        /// How many leading bytes were valid.
        valid_up_to: usize,
    },
    /// A close frame whose payload is 1 byte: a code takes 2 (RFC 6455 §5.5.1).
    #[error("close frame with a 1-byte payload")]
    CloseTooShort,
    /// A close code that may not be sent on the wire (RFC 6455 §7.4).
    #[error("invalid close code {code}")]
    InvalidCloseCode {
        /// The code received or requested.
        code: u16,
    },
    /// A close reason that is not UTF-8 (RFC 6455 §5.5.1).
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// Compressed data that does not inflate (RFC 7692 §7.2.2, or a venue's gzip / deflate).
    #[error("compressed data does not inflate: {reason}")]
    Inflate {
        /// What the inflater reported.
        reason: String,
    },
    /// No end of the HTTP header block within [`MAX_HANDSHAKE`] bytes.
    #[error("handshake header block exceeds {limit} bytes")]
    HandshakeTooLarge {
        /// The limit.
        limit: usize,
    },
    /// An HTTP start line or header line that does not parse.
    #[error("malformed handshake: {reason}")]
    HandshakeMalformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The server answered with a status other than 101 Switching Protocols.
    #[error("handshake answered with HTTP status {status}, expected 101")]
    HandshakeStatus {
        /// The HTTP status.
        status: u16,
    },
    /// A handshake header missing or with the wrong value (RFC 6455 §4.1, §4.2.1).
    #[error("handshake header {name} is missing or wrong (found {found:?})")]
    HandshakeHeader {
        /// The header name.
        name: &'static str,
        /// Its value, when present.
        found: Option<String>,
    },
    /// `Sec-WebSocket-Accept` does not answer our key (RFC 6455 §4.1, point 4).
    #[error("Sec-WebSocket-Accept {found:?} does not match the key (expected {expected:?})")]
    HandshakeAccept {
        /// The value expected from the key.
        expected: String,
        /// The value received.
        found: String,
    },
    /// An extension response we did not offer or cannot honour (RFC 6455 §9.1, RFC 7692 §7.1).
    #[error("extension negotiation failed: {reason}")]
    Extension {
        /// What is wrong.
        reason: String,
    },
    /// A request line or header to send that contains CR, LF or NUL (header injection).
    #[error("{what} contains CR, LF or NUL")]
    InvalidHeader {
        /// Which value ("host", "path", a header name).
        what: String,
    },
}

impl WsError {
    /// The close code to send for this error (RFC 6455 §7.4.1): 1007 for payload data that is
    /// inconsistent with its type (UTF-8), 1009 for a frame or message over the limits, 1002 for
    /// every other protocol violation. Handshake errors also say 1002, though no close frame is
    /// sent before the connection is open.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::InvalidUtf8 { .. } | Self::InvalidCloseReason => 1007,
            Self::FrameTooBig { .. } | Self::MessageTooBig { .. } => 1009,
            Self::ReservedOpcode { .. }
            | Self::ReservedBits { .. }
            | Self::FragmentedControl { .. }
            | Self::ControlTooLong { .. }
            | Self::MaskedFromServer
            | Self::UnmaskedFromClient
            | Self::LengthOverflow { .. }
            | Self::UnexpectedContinuation
            | Self::ExpectedContinuation { .. }
            | Self::CloseTooShort
            | Self::InvalidCloseCode { .. }
            | Self::Inflate { .. }
            | Self::HandshakeTooLarge { .. }
            | Self::HandshakeMalformed { .. }
            | Self::HandshakeStatus { .. }
            | Self::HandshakeHeader { .. }
            | Self::HandshakeAccept { .. }
            | Self::Extension { .. }
            | Self::InvalidHeader { .. } => 1002,
        }
    }
}

/// A frame opcode (RFC 6455 §5.2); the reserved ones are refused on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: a UTF-8 text message.
    Text = 0x1,
    /// 0x2: a binary message.
    Binary = 0x2,
    /// 0x8: close.
    Close = 0x8,
    /// 0x9: ping.
    Ping = 0x9,
    /// 0xA: pong.
    Pong = 0xA,
}

impl Opcode {
    /// True for close, ping and pong.
    pub fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

impl TryFrom<u8> for Opcode {
    type Error = WsError;

    fn try_from(op: u8) -> Result<Self, WsError> {
        match op {
            0x0 => Ok(Self::Continuation),
            0x1 => Ok(Self::Text),
            0x2 => Ok(Self::Binary),
            0x8 => Ok(Self::Close),
            0x9 => Ok(Self::Ping),
            0xA => Ok(Self::Pong),
            _ => Err(reserved_opcode(op)),
        }
    }
}

#[cold]
fn reserved_opcode(opcode: u8) -> WsError {
    WsError::ReservedOpcode { opcode }
}

/// Which end of the connection a decoder serves: it decides the masking rule (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We are the client: frames come from a server and must not be masked.
    Client,
    /// We are the server: frames come from a client and must be masked.
    Server,
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "client" => Ok(Self::Client),
            "server" => Ok(Self::Server),
            _ => Err(()),
        }
    }
}

/// A complete message, borrowed from the decoder until the next call on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message (validated UTF-8).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A ping; answer with a pong carrying the same payload (RFC 6455 §5.5.2).
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// A close frame: `code` is `None` for an empty payload (RFC 6455 §7.1.5 then reports 1005).
    Close {
        /// The status code, validated against RFC 6455 §7.4.
        code: Option<u16>,
        /// The reason (UTF-8, at most 123 bytes).
        reason: &'a str,
    },
}

impl Message<'_> {
    /// The opcode of the frame that carried this message (the first frame's, when fragmented).
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Text(_) => Opcode::Text,
            Self::Binary(_) => Opcode::Binary,
            Self::Ping(_) => Opcode::Ping,
            Self::Pong(_) => Opcode::Pong,
            Self::Close { .. } => Opcode::Close,
        }
    }
}

/// The peer's permessage-deflate setting as the decoder needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InflateConfig {
    /// The peer resets its compressor after every message (`server_no_context_takeover` when
    /// the peer is the server), so we reset our inflater too.
    pub no_context_takeover: bool,
}

/// How a [`FrameDecoder`] decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Which end we are.
    pub role: Role,
    /// Largest payload of one frame, as sent (compressed when compressed).
    pub max_frame: usize,
    /// Largest message after reassembly and inflating.
    pub max_message: usize,
    /// permessage-deflate, when negotiated: RSV1 marks compressed messages.
    pub inflate: Option<InflateConfig>,
}

impl DecoderConfig {
    /// A configuration with both limits at [`DEFAULT_MAX_MESSAGE`] and no extension.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            max_frame: DEFAULT_MAX_MESSAGE,
            max_message: DEFAULT_MAX_MESSAGE,
            inflate: None,
        }
    }
}

/// Where a ready message's payload lives.
#[derive(Debug, Clone)]
enum At {
    Buf(Range<usize>),
    Frag,
    Inflated,
}

/// What the frame loop found: a message to hand out, located by index so that no borrow is
/// held across the loop.
#[derive(Debug)]
enum Ready {
    Data {
        text: bool,
        at: At,
    },
    Ping(Range<usize>),
    Pong(Range<usize>),
    Close {
        code: Option<u16>,
        reason: Range<usize>,
    },
}

/// A fragmented message awaiting its continuation frames.
#[derive(Debug, Clone, Copy)]
struct Partial {
    text: bool,
    compressed: bool,
    /// Length of the prefix already validated as UTF-8 (text only), for failing fast on a
    /// bad fragment instead of at the end of the message.
    utf8_ok: usize,
}

/// A streaming frame decoder: feed it each read, then take the complete messages.
///
/// ```
/// use engine::ws::{FrameDecoder, Message, Role};
/// let mut d = FrameDecoder::new(Role::Client);
/// d.feed(&[0x81, 0x05, b'H', b'e', b'l']);
/// assert_eq!(d.next_message(), Ok(None));
/// d.feed(b"lo");
/// assert_eq!(d.next_message(), Ok(Some(Message::Text("Hello"))));
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    config: DecoderConfig,
    /// Received bytes; `buf[pos..]` is not yet decoded.
    buf: Vec<u8>,
    pos: usize,
    /// The fragmented message being reassembled (uncompressed).
    frag: Vec<u8>,
    partial: Option<Partial>,
    inflater: Option<Inflater>,
    /// The current compressed message, inflated.
    inflated: Vec<u8>,
    failed: Option<WsError>,
    closed: bool,
}

impl FrameDecoder {
    /// A decoder with the default limits and no extension.
    pub fn new(role: Role) -> Self {
        Self::with_config(DecoderConfig::new(role))
    }

    /// A decoder with the given limits and extension.
    pub fn with_config(config: DecoderConfig) -> Self {
        Self {
            config,
            buf: Vec::new(),
            pos: 0,
            frag: Vec::new(),
            partial: None,
            inflater: config.inflate.map(|c| Inflater::new(c.no_context_takeover)),
            inflated: Vec::new(),
            failed: None,
            closed: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// True once a close frame was decoded: later bytes are ignored.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The error that failed the decoder, if one did.
    pub fn error(&self) -> Option<&WsError> {
        self.failed.as_ref()
    }

    /// Bytes received but not yet decoded (a partial frame, or frames not yet taken).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Appends the bytes of one read. Decoded frames are dropped from the buffer lazily: the
    /// undecoded tail is moved to the front only when it is no longer than what precedes it, or
    /// when appending would otherwise reallocate, so each byte is moved O(1) times.
    pub fn feed(&mut self, data: &[u8]) {
        if self.closed || self.failed.is_some() {
            self.buf.clear();
            self.pos = 0;
            return;
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0
            && (self.pos >= self.buf.len() - self.pos
                || self.buf.capacity() - self.buf.len() < data.len())
        {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, or `None` until more bytes are fed. Control frames
    /// interleaved in a fragmented message come out first, as they arrived.
    ///
    /// The message borrows the decoder: an unfragmented, uncompressed frame is a slice of the
    /// receive buffer, valid until the next call.
    ///
    /// # Errors
    /// A [`WsError`] for the first protocol violation, limit or invalid payload; the decoder then
    /// returns the same error from every later call.
    pub fn next_message(&mut self) -> Result<Option<Message<'_>>, WsError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.closed {
            return Ok(None);
        }
        let ready = match self.next_ready() {
            Ok(Some(ready)) => ready,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.failed = Some(e.clone());
                return Err(e);
            }
        };
        // The payload borrows `buf`, `frag` or `inflated`; only `failed` is written below, so
        // the borrows stay disjoint.
        let payload: &[u8] = match &ready {
            Ready::Data { at: At::Buf(r), .. } | Ready::Ping(r) | Ready::Pong(r) => {
                &self.buf[r.clone()]
            }
            Ready::Close { reason, .. } => &self.buf[reason.clone()],
            Ready::Data { at: At::Frag, .. } => &self.frag,
            Ready::Data {
                at: At::Inflated, ..
            } => &self.inflated,
        };
        match ready {
            Ready::Data { text: false, .. } => Ok(Some(Message::Binary(payload))),
            Ready::Ping(_) => Ok(Some(Message::Ping(payload))),
            Ready::Pong(_) => Ok(Some(Message::Pong(payload))),
            Ready::Data { text: true, .. } => match std::str::from_utf8(payload) {
                Ok(s) => Ok(Some(Message::Text(s))),
                Err(e) => {
                    let err = invalid_utf8(e.valid_up_to());
                    self.failed = Some(err.clone());
                    Err(err)
                }
            },
            Ready::Close { code, .. } => {
                if let Ok(reason) = std::str::from_utf8(payload) {
                    Ok(Some(Message::Close { code, reason }))
                } else {
                    self.failed = Some(WsError::InvalidCloseReason);
                    Err(WsError::InvalidCloseReason)
                }
            }
        }
    }

    /// Decodes frames until one completes a message; `None` when the buffer runs out first.
    fn next_ready(&mut self) -> Result<Option<Ready>, WsError> {
        loop {
            let Some((header, start)) = self.parse_header()? else {
                return Ok(None);
            };
            // `parse_header` checked that the payload is buffered and fits `usize`.
            let end = start + header.len;
            self.pos = end;
            if let Some(key) = header.mask {
                apply_mask(&mut self.buf[start..end], key);
            }
            match header.opcode {
                Opcode::Ping => return Ok(Some(Ready::Ping(start..end))),
                Opcode::Pong => return Ok(Some(Ready::Pong(start..end))),
                Opcode::Close => return self.close_frame(start..end).map(Some),
                Opcode::Text | Opcode::Binary => {
                    let text = header.opcode == Opcode::Text;
                    if header.fin && !header.rsv1 {
                        return Ok(Some(Ready::Data {
                            text,
                            at: At::Buf(start..end),
                        }));
                    }
                    let partial = Partial {
                        text,
                        compressed: header.rsv1,
                        utf8_ok: 0,
                    };
                    if header.rsv1 {
                        self.inflated.clear();
                    } else {
                        self.frag.clear();
                    }
                    if let Some(ready) = self.append(partial, start..end, header.fin)? {
                        return Ok(Some(ready));
                    }
                }
                Opcode::Continuation => {
                    // `parse_header` refused a continuation without a fragmented message.
                    let Some(partial) = self.partial else {
                        return Err(WsError::UnexpectedContinuation);
                    };
                    if let Some(ready) = self.append(partial, start..end, header.fin)? {
                        return Ok(Some(ready));
                    }
                }
            }
        }
    }

    /// Adds one data frame's payload to the message being assembled.
    fn append(
        &mut self,
        mut partial: Partial,
        payload: Range<usize>,
        fin: bool,
    ) -> Result<Option<Ready>, WsError> {
        let limit = self.config.max_message;
        let assembled = if partial.compressed {
            let Some(inflater) = self.inflater.as_mut() else {
                // RSV1 passes `parse_header` only when permessage-deflate is configured.
                return Err(reserved_bits(0b100, Opcode::Text));
            };
            inflater.inflate(&self.buf[payload], fin, &mut self.inflated, limit)?;
            &self.inflated
        } else {
            // `parse_header` checked the reassembled length against the limit.
            self.frag.extend_from_slice(&self.buf[payload]);
            &self.frag
        };
        if partial.text {
            // Fail fast on a bad fragment (Autobahn 6.4); an incomplete sequence at the end of
            // a fragment may still be completed by the next one.
            if let Err(e) = std::str::from_utf8(&assembled[partial.utf8_ok..]) {
                if e.error_len().is_some() || fin {
                    return Err(invalid_utf8(partial.utf8_ok + e.valid_up_to()));
                }
                partial.utf8_ok += e.valid_up_to();
            } else {
                partial.utf8_ok = assembled.len();
            }
        }
        if fin {
            self.partial = None;
            let at = if partial.compressed {
                At::Inflated
            } else {
                At::Frag
            };
            Ok(Some(Ready::Data {
                text: partial.text,
                at,
            }))
        } else {
            self.partial = Some(partial);
            Ok(None)
        }
    }

    /// Validates a close frame's payload (RFC 6455 §5.5.1, §7.4) and closes the decoder.
    fn close_frame(&mut self, payload: Range<usize>) -> Result<Ready, WsError> {
        let ready = match payload.len() {
            0 => Ready::Close {
                code: None,
                reason: payload,
            },
            1 => return Err(WsError::CloseTooShort),
            _ => {
                let code =
                    u16::from_be_bytes([self.buf[payload.start], self.buf[payload.start + 1]]);
                if !close_code_valid(code) {
                    return Err(WsError::InvalidCloseCode { code });
                }
                Ready::Close {
                    code: Some(code),
                    reason: payload.start + 2..payload.end,
                }
            }
        };
        self.closed = true;
        Ok(ready)
    }

    /// Parses and validates the next frame header. Returns `None` until the header and the
    /// whole payload are buffered; a header is refused as soon as its bytes show a violation,
    /// without waiting for the payload.
    fn parse_header(&self) -> Result<Option<(Header, usize)>, WsError> {
        let avail = &self.buf[self.pos..];
        let [b0, b1, ..] = *avail else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0b111;
        let opcode = Opcode::try_from(b0 & 0x0f)?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        // RFC 6455 §5.2: RSV bits are zero unless an extension defines them; permessage-deflate
        // defines RSV1 on the first frame of a data message only (RFC 7692 §6.1).
        let rsv1_allowed =
            self.config.inflate.is_some() && matches!(opcode, Opcode::Text | Opcode::Binary);
        if rsv & if rsv1_allowed { 0b011 } else { 0b111 } != 0 {
            return Err(reserved_bits(rsv, opcode));
        }
        let rsv1 = rsv != 0;
        if opcode.is_control() {
            if !fin {
                return Err(WsError::FragmentedControl { opcode });
            }
            if len7 > 125 {
                return Err(WsError::ControlTooLong {
                    opcode,
                    len: u64::from(len7),
                });
            }
        } else if opcode == Opcode::Continuation {
            if self.partial.is_none() {
                return Err(WsError::UnexpectedContinuation);
            }
        } else if self.partial.is_some() {
            return Err(WsError::ExpectedContinuation { opcode });
        }
        match (self.config.role, masked) {
            (Role::Client, true) => return Err(WsError::MaskedFromServer),
            (Role::Server, false) => return Err(WsError::UnmaskedFromClient),
            _ => {}
        }
        let (len, mut at) = match len7 {
            126 => {
                let [_, _, a, b, ..] = *avail else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([a, b])), 4)
            }
            127 => {
                let Some(bytes) = avail.get(2..10) else {
                    return Ok(None);
                };
                let mut be = [0_u8; 8];
                be.copy_from_slice(bytes);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(WsError::LengthOverflow { len });
                }
                (len, 10)
            }
            short => (u64::from(short), 2),
        };
        self.check_limits(opcode, rsv1, len)?;
        let mask = if masked {
            let Some(bytes) = avail.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            None
        };
        let len = usize::try_from(len).map_err(|_| self.frame_too_big(len))?;
        if avail.len() - at < len {
            return Ok(None);
        }
        Ok(Some((
            Header {
                fin,
                rsv1,
                opcode,
                mask,
                len,
            },
            self.pos + at,
        )))
    }

    /// Refuses a frame over the frame limit, or an uncompressed message whose reassembled
    /// length would pass the message limit, before its payload is buffered. Compressed
    /// messages are checked on their inflated size as they inflate.
    fn check_limits(&self, opcode: Opcode, rsv1: bool, len: u64) -> Result<(), WsError> {
        if len > self.config.max_frame as u64 {
            return Err(self.frame_too_big(len));
        }
        let so_far = match (opcode, self.partial) {
            (Opcode::Continuation, Some(p)) if !p.compressed => self.frag.len() as u64,
            (Opcode::Text | Opcode::Binary, _) if !rsv1 => 0,
            _ => return Ok(()),
        };
        if so_far + len > self.config.max_message as u64 {
            return Err(WsError::MessageTooBig {
                len: so_far + len,
                limit: self.config.max_message,
            });
        }
        Ok(())
    }

    #[cold]
    fn frame_too_big(&self, len: u64) -> WsError {
        WsError::FrameTooBig {
            len,
            limit: self.config.max_frame,
        }
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    len: usize,
}

#[cold]
fn reserved_bits(bits: u8, opcode: Opcode) -> WsError {
    WsError::ReservedBits { bits, opcode }
}

#[cold]
fn invalid_utf8(valid_up_to: usize) -> WsError {
    WsError::InvalidUtf8 { valid_up_to }
}

/// True for the close codes an endpoint may send (RFC 6455 §7.4.1 and the IANA registry):
/// 1000-1003, 1007-1014 and the application ranges 3000-4999. 1004 is reserved, 1005, 1006 and
/// 1015 must never be sent, and the rest of 1000-2999 is reserved for future revisions.
pub fn close_code_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// XORs `data` with the 4-byte masking key, starting at key offset 0 (RFC 6455 §5.3).
/// Applying it twice restores the data.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // Whole 8-byte chunks keep the key phase at 0 for the tail.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Appends one frame to `out`: `mask` is the client's masking key (RFC 6455 §5.3: a client
/// masks every frame with a fresh random key), `None` for a server. RSV bits are zero: outgoing
/// messages are never compressed, which permessage-deflate allows (RFC 7692 §6).
///
/// # Errors
/// [`WsError::FragmentedControl`] or [`WsError::ControlTooLong`] for a control frame without
/// FIN or with more than 125 bytes; `out` is then unchanged.
pub fn encode_frame(
    out: &mut Vec<u8>,
    opcode: Opcode,
    payload: &[u8],
    fin: bool,
    mask: Option<[u8; 4]>,
) -> Result<(), WsError> {
    if opcode.is_control() {
        if !fin {
            return Err(WsError::FragmentedControl { opcode });
        }
        if payload.len() > 125 {
            return Err(WsError::ControlTooLong {
                opcode,
                len: payload.len() as u64,
            });
        }
    }
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.reserve(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | opcode as u8);
    // RFC 6455 §5.2: the shortest length encoding.
    match (u8::try_from(payload.len()), u16::try_from(payload.len())) {
        (Ok(n), _) if n <= 125 => out.push(mask_bit | n),
        (_, Ok(n)) => {
            out.push(mask_bit | 0x7e);
            out.extend_from_slice(&n.to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 0x7f);
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], key);
    } else {
        out.extend_from_slice(payload);
    }
    Ok(())
}

/// Appends a close frame carrying `code` and a reason of at most 123 bytes (RFC 6455
/// §5.5.1). A close frame without a code is `encode_frame(out, Opcode::Close, &[], true, mask)`.
///
/// # Errors
/// [`WsError::InvalidCloseCode`] for a code that may not be sent, [`WsError::ControlTooLong`]
/// for a reason over 123 bytes; `out` is then unchanged.
pub fn encode_close(
    out: &mut Vec<u8>,
    code: u16,
    reason: &str,
    mask: Option<[u8; 4]>,
) -> Result<(), WsError> {
    if !close_code_valid(code) {
        return Err(WsError::InvalidCloseCode { code });
    }
    let mut payload = [0_u8; 125];
    let len = reason.len() + 2;
    let Some(dst) = payload.get_mut(2..len) else {
        return Err(WsError::ControlTooLong {
            opcode: Opcode::Close,
            len: len as u64,
        });
    };
    dst.copy_from_slice(reason.as_bytes());
    payload[..2].copy_from_slice(&code.to_be_bytes());
    encode_frame(out, Opcode::Close, &payload[..len], true, mask)
}

#[cfg(test)]
mod tests;

//! The opening handshake (RFC 6455 §4) and permessage-deflate negotiation (RFC 7692 §5, §7.1).
//!
//! Both parsers take whatever has been read so far and return `None` until the header block is
//! complete; the result says how many bytes the block took, since frames may follow it in the
//! same read.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use super::{InflateConfig, Role, WsError};

/// The largest header block accepted, request or response: 16 KiB.
pub const MAX_HANDSHAKE: usize = 16 * 1024;

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value answering `sec_websocket_key` (RFC 6455 §4.2.2, point 5.4):
/// base64 of the SHA-1 of the key followed by the protocol GUID.
pub fn accept_key(sec_websocket_key: &str) -> String {
    let digest = Sha1::new()
        .chain_update(sec_websocket_key.as_bytes())
        .chain_update(GUID)
        .finalize();
    STANDARD.encode(digest)
}

/// A `Sec-WebSocket-Key` from 16 random bytes (RFC 6455 §4.1: a fresh random nonce per
/// connection); the caller supplies the randomness.
pub fn client_key(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// permessage-deflate parameters as negotiated (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window is at most `2^bits` bytes (8..=15).
    pub server_max_window_bits: Option<u8>,
    /// The client's LZ77 window is at most `2^bits` bytes (8..=15).
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// What a decoder in `role` needs: the peer's context-takeover setting. Any window size
    /// inflates with the full 32 KiB window, so the window parameters need nothing here.
    pub fn inflate_config(&self, role: Role) -> InflateConfig {
        InflateConfig {
            no_context_takeover: match role {
                Role::Client => self.server_no_context_takeover,
                Role::Server => self.client_no_context_takeover,
            },
        }
    }

    /// Parses one extension's parameters (after `permessage-deflate`). In a response the window
    /// parameters need a value; in an offer `client_max_window_bits` may stand alone (RFC 7692
    /// §7.1.2.2), which reads as 15.
    fn parse<'a>(params: impl Iterator<Item = &'a str>, response: bool) -> Result<Self, WsError> {
        let mut out = Self::default();
        let mut seen = [false; 4];
        for param in params {
            let (name, value) = match param.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (param.trim(), None),
            };
            let slot = match name {
                "server_no_context_takeover" => 0,
                "client_no_context_takeover" => 1,
                "server_max_window_bits" => 2,
                "client_max_window_bits" => 3,
                _ => {
                    return Err(extension(format!(
                        "unknown permessage-deflate parameter {name:?}"
                    )))
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(extension(format!(
                    "duplicate permessage-deflate parameter {name}"
                )));
            }
            match (slot, value) {
                (0, None) => out.server_no_context_takeover = true,
                (1, None) => out.client_no_context_takeover = true,
                (2 | 3, Some(v)) => {
                    let bits = v
                        .parse::<u8>()
                        .ok()
                        .filter(|b| (8..=15).contains(b))
                        .ok_or_else(|| extension(format!("{name}={v:?} is not 8..15")))?;
                    if slot == 2 {
                        out.server_max_window_bits = Some(bits);
                    } else {
                        out.client_max_window_bits = Some(bits);
                    }
                }
                (3, None) if !response => out.client_max_window_bits = Some(15),
                _ => {
                    return Err(extension(format!(
                        "bad value for permessage-deflate {name}"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Appends the `Sec-WebSocket-Extensions` value for these parameters.
    fn render(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"permessage-deflate");
        if self.server_no_context_takeover {
            out.extend_from_slice(b"; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.extend_from_slice(b"; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            out.extend_from_slice(format!("; server_max_window_bits={bits}").as_bytes());
        }
        if let Some(bits) = self.client_max_window_bits {
            out.extend_from_slice(format!("; client_max_window_bits={bits}").as_bytes());
        }
    }
}

#[cold]
fn extension(reason: String) -> WsError {
    WsError::Extension { reason }
}

#[cold]
fn malformed(reason: &'static str) -> WsError {
    WsError::HandshakeMalformed { reason }
}

/// A server's accepted handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Bytes of `buf` the header block took; frames may follow.
    pub consumed: usize,
    /// Every header, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The negotiated permessage-deflate parameters, when the server accepted the offer.
    pub deflate: Option<DeflateParams>,
}

/// A client's opening handshake, as a server (the simulator) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Bytes of `buf` the header block took; frames may follow.
    pub consumed: usize,
    /// The request target (path and query).
    pub path: String,
    /// `Sec-WebSocket-Key`, validated as base64 of 16 bytes.
    pub key: String,
    /// Every header, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The client offered permessage-deflate with parameters we understand.
    pub deflate_offered: bool,
}

/// A parsed header block, borrowing the input.
struct Head<'a> {
    start: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    consumed: usize,
}

impl<'a> Head<'a> {
    fn split(buf: &'a [u8]) -> Result<Option<Self>, WsError> {
        let window = &buf[..buf.len().min(MAX_HANDSHAKE)];
        let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
            return if buf.len() >= MAX_HANDSHAKE {
                Err(WsError::HandshakeTooLarge {
                    limit: MAX_HANDSHAKE,
                })
            } else {
                Ok(None)
            };
        };
        let text =
            std::str::from_utf8(&buf[..end]).map_err(|_| malformed("header block is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or_default();
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| malformed("header line without a colon"))?;
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err(malformed("invalid header name"));
            }
            headers.push((name, value.trim_matches([' ', '\t'])));
        }
        Ok(Some(Self {
            start,
            headers,
            consumed: end + 4,
        }))
    }

    /// Values of every header called `name` (case-insensitive, RFC 9110 §5.1).
    fn values(&self, name: &'a str) -> impl Iterator<Item = &'a str> + '_ {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn first(&self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }

    /// Checks that header `name` lists `token` (comma-separated, case-insensitive).
    fn require_token(&self, name: &'static str, token: &str) -> Result<(), WsError> {
        if self
            .values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
        {
            Ok(())
        } else {
            Err(WsError::HandshakeHeader {
                name,
                found: self.first(name).map(str::to_owned),
            })
        }
    }

    fn owned_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The extension offers or responses: `(name, parameters)` per comma-separated element.
    fn extensions(&self) -> impl Iterator<Item = (&'a str, std::str::Split<'a, char>)> + '_ {
        self.values("Sec-WebSocket-Extensions")
            .flat_map(|v| v.split(','))
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let mut parts = e.split(';');
                (parts.next().unwrap_or_default().trim(), parts)
            })
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn check_value(what: &str, value: &str) -> Result<(), WsError> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(WsError::InvalidHeader {
            what: what.to_owned(),
        });
    }
    Ok(())
}

/// The client's opening handshake (RFC 6455 §4.1): `GET path` with `Host`, the upgrade
/// headers, `key`, version 13, an offer of permessage-deflate when asked
/// (`permessage-deflate; client_max_window_bits`, as browsers send it) and `extra_headers`.
///
/// # Errors
/// [`WsError::InvalidHeader`] when any value contains CR, LF or NUL, the path contains a space
/// or does not start with `/`, or a header name is not an HTTP token.
pub fn client_request(
    host: &str,
    path: &str,
    key: &str,
    extra_headers: &[(&str, &str)],
    permessage_deflate: bool,
) -> Result<Vec<u8>, WsError> {
    check_value("host", host)?;
    check_value("path", path)?;
    check_value("key", key)?;
    if !path.starts_with('/') || path.contains(' ') {
        return Err(WsError::InvalidHeader {
            what: "path".to_owned(),
        });
    }
    let mut out = Vec::with_capacity(256 + path.len());
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\r\nSec-WebSocket-Version: 13\r\n");
    if permessage_deflate {
        out.extend_from_slice(
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        );
    }
    for (name, value) in extra_headers {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(WsError::InvalidHeader {
                what: format!("header name {name:?}"),
            });
        }
        check_value(name, value)?;
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Parses the server's handshake response for our `key` (RFC 6455 §4.1, points 1-6): status
/// 101, `Upgrade: websocket`, `Connection: Upgrade`, the matching `Sec-WebSocket-Accept`, and
/// only the extension we offered (`deflate_offered`) with parameters we can honour.
///
/// # Errors
/// [`WsError::HandshakeStatus`] for any status but 101, [`WsError::HandshakeHeader`],
/// [`WsError::HandshakeAccept`], [`WsError::Extension`], [`WsError::HandshakeMalformed`] or
/// [`WsError::HandshakeTooLarge`] for the rest.
pub fn parse_response(
    buf: &[u8],
    key: &str,
    deflate_offered: bool,
) -> Result<Option<Response>, WsError> {
    let Some(head) = Head::split(buf)? else {
        return Ok(None);
    };
    let mut parts = head.start.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") || status.len() != 3 {
        return Err(malformed("bad status line"));
    }
    let status: u16 = status.parse().map_err(|_| malformed("bad status code"))?;
    if status != 101 {
        return Err(WsError::HandshakeStatus { status });
    }
    head.require_token("Upgrade", "websocket")?;
    head.require_token("Connection", "upgrade")?;
    let expected = accept_key(key);
    match head.first("Sec-WebSocket-Accept") {
        Some(found) if found == expected => {}
        found => {
            return Err(WsError::HandshakeAccept {
                expected,
                found: found.unwrap_or_default().to_owned(),
            })
        }
    }
    let mut deflate = None;
    for (name, params) in head.extensions() {
        if !name.eq_ignore_ascii_case("permessage-deflate") {
            return Err(extension(format!(
                "server chose extension {name:?}, never offered"
            )));
        }
        if !deflate_offered {
            return Err(extension(
                "server chose permessage-deflate, never offered".to_owned(),
            ));
        }
        if deflate.is_some() {
            return Err(extension(
                "server chose permessage-deflate twice".to_owned(),
            ));
        }
        deflate = Some(DeflateParams::parse(params, true)?);
    }
    Ok(Some(Response {
        consumed: head.consumed,
        headers: head.owned_headers(),
        deflate,
    }))
}

/// Parses a client's opening handshake (RFC 6455 §4.2.1): `GET` over HTTP/1.1 with `Host`,
/// `Upgrade: websocket`, `Connection: Upgrade`, version 13 and a key that is base64 of 16 bytes.
///
/// # Errors
/// [`WsError::HandshakeMalformed`] for a request line that is not `GET <path> HTTP/1.1`,
/// [`WsError::HandshakeHeader`] for a missing or wrong header, [`WsError::HandshakeTooLarge`].
pub fn parse_request(buf: &[u8]) -> Result<Option<Request>, WsError> {
    let Some(head) = Head::split(buf)? else {
        return Ok(None);
    };
    let mut parts = head.start.split(' ');
    let (Some("GET"), Some(path), Some("HTTP/1.1"), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("request line is not GET <path> HTTP/1.1"));
    };
    if head.first("Host").is_none() {
        return Err(WsError::HandshakeHeader {
            name: "Host",
            found: None,
        });
    }
    head.require_token("Upgrade", "websocket")?;
    head.require_token("Connection", "upgrade")?;
    match head.first("Sec-WebSocket-Version") {
        Some("13") => {}
        found => {
            return Err(WsError::HandshakeHeader {
                name: "Sec-WebSocket-Version",
                found: found.map(str::to_owned),
            })
        }
    }
    let key = head.first("Sec-WebSocket-Key").unwrap_or_default();
    if STANDARD.decode(key).map(|k| k.len()) != Ok(16) {
        return Err(WsError::HandshakeHeader {
            name: "Sec-WebSocket-Key",
            found: Some(key.to_owned()),
        });
    }
    let deflate_offered = head.extensions().any(|(name, params)| {
        name.eq_ignore_ascii_case("permessage-deflate")
            && DeflateParams::parse(params, false).is_ok()
    });
    Ok(Some(Request {
        consumed: head.consumed,
        path: path.to_owned(),
        key: key.to_owned(),
        headers: head.owned_headers(),
        deflate_offered,
    }))
}

/// The server's 101 response to a client's `key` (RFC 6455 §4.2.2), accepting
/// permessage-deflate with `deflate`'s parameters when given.
pub fn server_response(key: &str, deflate: Option<&DeflateParams>) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: ",
    );
    out.extend_from_slice(accept_key(key).as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(params) = deflate {
        out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
        params.render(&mut out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

//! Inflating: permessage-deflate messages (RFC 7692 §7.2.2) and the compressed payloads venues
//! send inside binary frames (HTX gzip, OKX raw deflate). Output never grows past the caller's
//! limit plus one byte, however well the input compresses.

use std::io::Read as _;

use flate2::{Decompress, FlushDecompress, Status};

use super::WsError;

/// RFC 7692 §7.2.2: the empty stored block a sender strips from the end of each message, which
/// the receiver appends again before inflating.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The receiving half of permessage-deflate: one raw-deflate stream, kept across messages
/// unless the peer resets its compressor after each (`*_no_context_takeover`, RFC 7692 §7.1.1).
pub(super) struct Inflater {
    stream: Decompress,
    no_context_takeover: bool,
    /// The current message's deflate stream ended with a BFINAL block (RFC 7692 §7.2.3.4):
    /// anything after it in the message is ignored.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("total_in", &self.stream.total_in())
            .finish_non_exhaustive()
    }
}

impl Inflater {
    pub(super) fn new(no_context_takeover: bool) -> Self {
        Self {
            stream: Decompress::new(false),
            no_context_takeover,
            ended: false,
        }
    }

    /// Inflates one frame's payload of a compressed message onto `out`; on the message's last
    /// frame also the stripped tail, then resets when the peer takes no context over.
    pub(super) fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), WsError> {
        if !self.ended {
            self.ended = inflate_into(&mut self.stream, input, out, limit)?;
        }
        if fin {
            if !self.ended {
                inflate_into(&mut self.stream, &SYNC_TAIL, out, limit)?;
            }
            // After a BFINAL block the stream is finished: the next message starts a new one.
            if self.ended || self.no_context_takeover {
                self.stream.reset(false);
            }
            self.ended = false;
        }
        Ok(())
    }
}

#[cold]
fn too_big(len: usize, limit: usize) -> WsError {
    WsError::MessageTooBig {
        len: len as u64,
        limit,
    }
}

#[cold]
fn corrupt(reason: &dyn std::fmt::Display) -> WsError {
    WsError::Inflate {
        reason: reason.to_string(),
    }
}

/// Inflates `input` onto `out` with a sync flush, growing `out` to at most `limit + 1` bytes.
/// Returns whether the deflate stream ended (a BFINAL block); input after the end is ignored.
fn inflate_into(
    stream: &mut Decompress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<bool, WsError> {
    let cap = limit.saturating_add(1);
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(too_big(out.len(), limit));
            }
            // Double, from 4 KiB, but never past the limit: a bomb cannot make us allocate more.
            out.reserve_exact(out.len().max(4096).min(cap - out.len()));
        }
        let (in_before, out_before) = (stream.total_in(), stream.total_out());
        let status = stream
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|e| corrupt(&e))?;
        let consumed = usize::try_from(stream.total_in() - in_before).unwrap_or(usize::MAX);
        input = input.get(consumed..).unwrap_or_default();
        if out.len() > limit {
            return Err(too_big(out.len(), limit));
        }
        match status {
            Status::StreamEnd => return Ok(true),
            Status::Ok | Status::BufError => {
                let room = out.len() < out.capacity();
                // Input used up with output room to spare: everything is flushed.
                if input.is_empty() && room {
                    return Ok(false);
                }
                if room && consumed == 0 && stream.total_out() == out_before {
                    return Err(corrupt(&"inflater made no progress"));
                }
            }
        }
    }
}

/// Inflates a gzip member (RFC 1952), as HTX sends every market-data message, checking its CRC
/// and length trailer.
///
/// # Errors
/// [`WsError::Inflate`] for data that is not a complete, intact gzip member;
/// [`WsError::MessageTooBig`] when it inflates past `limit` bytes (inflating stops there).
pub fn inflate_gzip(data: &[u8], limit: usize) -> Result<Vec<u8>, WsError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::bufread::GzDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(&e))?;
    if out.len() > limit {
        return Err(too_big(out.len(), limit));
    }
    Ok(out)
}

/// Inflates raw deflate data (RFC 1951, no zlib header), as OKX sent compressed messages: a
/// complete stream (ending in a BFINAL block) or a sync-flushed one (ending in `00 00 ff ff`).
///
/// # Errors
/// [`WsError::Inflate`] for corrupt or truncated data; [`WsError::MessageTooBig`] when it
/// inflates past `limit` bytes (inflating stops there).
pub fn inflate_raw(data: &[u8], limit: usize) -> Result<Vec<u8>, WsError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    let mut stream = Decompress::new(false);
    let ended = inflate_into(&mut stream, data, &mut out, limit)?;
    if !ended && !data.ends_with(&SYNC_TAIL) {
        return Err(corrupt(&"truncated deflate stream"));
    }
    Ok(out)
}

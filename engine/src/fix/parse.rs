//! Parsing one FIX message into a zero-copy index of fields.

use super::{FixError, FixErrorKind as K, SOH};

/// One field: its tag and the span of its value in the message bytes (`start..end`, SOH
/// excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The tag number.
    pub tag: u32,
    /// Offset of the value's first byte.
    pub start: u32,
    /// Offset just past the value's last byte.
    pub end: u32,
}

impl Field {
    /// The value's bytes in `raw`, the message the field was parsed from (empty if `raw` is
    /// another, shorter buffer).
    pub fn value<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// The index of a parsed message: every field in wire order, plus the header values sessions
/// read on every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageIndex {
    /// Every field in wire order, 8, 9, 35 first and 10 last.
    pub fields: Vec<Field>,
    /// MsgSeqNum (34), 0 when absent.
    pub seq_num: u64,
}

impl MessageIndex {
    /// The first field with `tag`.
    pub fn find(&self, tag: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.tag == tag)
    }
}

/// A parsed message owning its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The whole message, `8=` through `10=xxx<SOH>`.
    pub raw: Vec<u8>,
    /// Its fields.
    pub index: MessageIndex,
}

impl Message {
    /// Parses and owns `raw`.
    ///
    /// # Errors
    /// As [`parse`].
    pub fn parse(raw: Vec<u8>, verify: bool) -> Result<Self, FixError> {
        let index = parse(&raw, verify)?;
        Ok(Self { raw, index })
    }

    /// The first value of `tag`.
    pub fn get(&self, tag: u32) -> Option<&[u8]> {
        self.index.find(tag).map(|f| f.value(&self.raw))
    }

    /// BeginString (8).
    pub fn begin_string(&self) -> &[u8] {
        self.index
            .fields
            .first()
            .map_or(&[][..], |f| f.value(&self.raw))
    }

    /// MsgType (35).
    pub fn msg_type(&self) -> &[u8] {
        self.index
            .fields
            .get(2)
            .map_or(&[][..], |f| f.value(&self.raw))
    }
}

/// The data field whose length `tag` gives (95 → 96...), for the length/data pairs of FIX 4.2
/// through FIX 5.0 SP2 (the `LENGTH` fields followed by a `DATA` field in the QuickFIX
/// dictionaries).
pub fn data_tag_for_length(tag: u32) -> Option<u32> {
    Some(match tag {
        90 => 91,     // SecureDataLen -> SecureData
        93 => 89,     // SignatureLength -> Signature
        95 => 96,     // RawDataLength -> RawData
        212 => 213,   // XmlDataLen -> XmlData
        348 => 349,   // EncodedIssuerLen -> EncodedIssuer
        350 => 351,   // EncodedSecurityDescLen
        352 => 353,   // EncodedListExecInstLen
        354 => 355,   // EncodedTextLen
        356 => 357,   // EncodedSubjectLen
        358 => 359,   // EncodedHeadlineLen
        360 => 361,   // EncodedAllocTextLen
        362 => 363,   // EncodedUnderlyingIssuerLen
        364 => 365,   // EncodedUnderlyingSecurityDescLen
        445 => 446,   // EncodedListStatusTextLen
        618 => 619,   // EncodedLegIssuerLen
        621 => 622,   // EncodedLegSecurityDescLen
        1184 => 1185, // SecurityXMLLen
        1277 => 1278, // DerivativeEncodedIssuerLen
        1280 => 1281, // DerivativeEncodedSecurityDescLen
        1282 => 1283, // DerivativeSecurityXMLLen
        1397 => 1398, // EncodedMktSegmDescLen
        1401 => 1402, // EncryptedPasswordLen
        1403 => 1404, // EncryptedNewPasswordLen
        1468 => 1469, // EncodedEventTextLen
        _ => return None,
    })
}

/// Parses a run of ASCII digits (1 to 19 of them) as a `u64`.
pub(crate) fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}

fn parse_tag(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 9 {
        return None;
    }
    let mut n: u32 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

/// The byte sum modulo 256 of `data` (FIX CheckSum).
pub(crate) fn checksum(data: &[u8]) -> u8 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(4096) {
        sum = sum.wrapping_add(chunk.iter().map(|&b| u32::from(b)).sum::<u32>());
    }
    (sum & 0xff) as u8
}

/// Best effort: MsgSeqNum from a message that failed to parse, for the error.
pub(crate) fn scan_seq_num(data: &[u8]) -> Option<u64> {
    let pos = memchr::memmem::find(data, b"\x0134=")?;
    let rest = data.get(pos + 4..)?;
    let end = memchr::memchr(SOH, rest).unwrap_or(rest.len());
    parse_u64(&rest[..end])
}

fn offset(i: usize) -> Result<u32, FixError> {
    u32::try_from(i).map_err(|_| FixError::new(K::TooLarge))
}

/// Parses exactly one message.
///
/// With `verify`, BodyLength and CheckSum must match, tags must be positive and values non-empty;
/// without it, only the structure is checked (8, 9, 35 first, 10 last, `tag=value<SOH>` syntax,
/// data lengths), which lets a dictionary report tag 0 and empty values with their
/// SessionRejectReason codes.
///
/// # Errors
/// [`FixError`] with the first problem found, the tag concerned and MsgSeqNum when readable.
pub fn parse(data: &[u8], verify: bool) -> Result<MessageIndex, FixError> {
    parse_inner(data, verify).map_err(|mut e| {
        e.seq_num = scan_seq_num(data);
        e
    })
}

// One pass over the bytes with the header, data-length and trailer rules inline: splitting it
// would pass most of its state around.
#[allow(clippy::too_many_lines)]
fn parse_inner(data: &[u8], verify: bool) -> Result<MessageIndex, FixError> {
    if data.len() > u32::MAX as usize {
        return Err(FixError::new(K::TooLarge));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(32);
    let mut seq_num = 0_u64;
    let mut pos = 0_usize;
    let mut body_start = 0_usize;
    let mut declared_len = 0_usize;
    // (length tag, its value) of the field just before, for data fields.
    let mut pending_len: Option<(u32, usize)> = None;
    let mut checksum_at: Option<usize> = None;
    while pos < data.len() {
        if checksum_at.is_some() {
            return Err(FixError::at(K::ChecksumNotLast, 10));
        }
        let field_start = pos;
        let rest = &data[pos..];
        let Some(eq) = memchr::memchr2(b'=', SOH, rest) else {
            return Err(if fields.len() < 3 {
                header_error(fields.len())
            } else {
                FixError::new(K::MissingChecksum)
            });
        };
        if rest[eq] != b'=' {
            return Err(if fields.len() < 3 {
                header_error(fields.len())
            } else {
                FixError::new(K::InvalidTag)
            });
        }
        let Some(tag) = parse_tag(&rest[..eq]) else {
            return Err(if fields.len() < 3 {
                header_error(fields.len())
            } else {
                FixError::new(K::InvalidTag)
            });
        };
        let vstart = pos + eq + 1;
        let vend = match pending_len.take() {
            Some((len_tag, n)) if data_tag_for_length(len_tag) == Some(tag) => {
                let end = vstart
                    .checked_add(n)
                    .ok_or(FixError::at(K::DataLengthMismatch, tag))?;
                if data.get(end) != Some(&SOH) {
                    return Err(FixError::at(K::DataLengthMismatch, tag));
                }
                end
            }
            _ => match memchr::memchr(SOH, &data[vstart..]) {
                Some(i) => vstart + i,
                None => {
                    return Err(if tag == 10 || fields.len() < 3 {
                        if fields.len() < 3 {
                            header_error(fields.len())
                        } else {
                            FixError::at(K::BadChecksumFormat, 10)
                        }
                    } else {
                        FixError::new(K::MissingChecksum)
                    })
                }
            },
        };
        let value = &data[vstart..vend];
        // Header order: 8, 9, 35.
        match fields.len() {
            0 if tag != 8 => return Err(FixError::new(K::MissingBeginString)),
            0 if !value.starts_with(b"FIX") => return Err(FixError::at(K::BadBeginString, 8)),
            1 if tag != 9 => return Err(FixError::new(K::MissingBodyLength)),
            1 => {
                declared_len = parse_u64(value)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or(FixError::at(K::BadBodyLength, 9))?;
                body_start = vend + 1;
            }
            2 if tag != 35 => return Err(FixError::new(K::MissingMsgType)),
            _ => {}
        }
        if verify && tag == 0 {
            return Err(FixError::at(K::InvalidTag, 0));
        }
        if value.is_empty() && (verify || fields.len() < 3 || tag == 10) {
            if fields.len() < 3 {
                return Err(header_error(fields.len()));
            }
            return Err(FixError::at(
                if tag == 10 {
                    K::BadChecksumFormat
                } else {
                    K::EmptyValue
                },
                tag,
            ));
        }
        if tag == 34 && seq_num == 0 {
            seq_num = parse_u64(value).ok_or(FixError::at(K::IncorrectDataFormat, 34))?;
        }
        if tag == 10 {
            checksum_at = Some(field_start);
        }
        if data_tag_for_length(tag).is_some() {
            let n = parse_u64(value)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(FixError::at(K::IncorrectDataFormat, tag))?;
            pending_len = Some((tag, n));
        }
        fields.push(Field {
            tag,
            start: offset(vstart)?,
            end: offset(vend)?,
        });
        pos = vend + 1;
    }
    if fields.len() < 3 {
        return Err(header_error(fields.len()));
    }
    let Some(cs_at) = checksum_at else {
        return Err(FixError::new(K::MissingChecksum));
    };
    let cs_field = fields[fields.len() - 1];
    let cs_value = cs_field.value(data);
    if cs_value.len() != 3 || !cs_value.iter().all(u8::is_ascii_digit) {
        return Err(FixError::at(K::BadChecksumFormat, 10));
    }
    if verify {
        if cs_at < body_start || cs_at - body_start != declared_len {
            return Err(FixError::at(K::BodyLengthMismatch, 9));
        }
        let expected = u32::from(checksum(&data[..cs_at]));
        let got = u32::from(cs_value[0] - b'0') * 100
            + u32::from(cs_value[1] - b'0') * 10
            + u32::from(cs_value[2] - b'0');
        if got != expected {
            return Err(FixError::at(K::BadChecksum, 10));
        }
    }
    Ok(MessageIndex { fields, seq_num })
}

fn header_error(n: usize) -> FixError {
    match n {
        0 => FixError::new(K::MissingBeginString),
        1 => FixError::new(K::MissingBodyLength),
        _ => FixError::new(K::MissingMsgType),
    }
}

/// The entries of a repeating group found without a dictionary: after the first `count_tag`,
/// each entry starts at `first_tag`; an entry ends at the next `first_tag`, at a tag already in
/// it, at a tag the first entry did not have (entries after the first), at CheckSum, or when
/// the count is reached. [`super::dict::Dictionary::groups`] is exact.
pub fn group_heuristic(
    fields: &[Field],
    raw: &[u8],
    count_tag: u32,
    first_tag: u32,
) -> Vec<Vec<Field>> {
    let mut out: Vec<Vec<Field>> = Vec::new();
    let Some(ci) = fields.iter().position(|f| f.tag == count_tag) else {
        return out;
    };
    let count = parse_u64(fields[ci].value(raw)).unwrap_or(0);
    let mut first_tags: Vec<u32> = Vec::new();
    let mut i = ci + 1;
    while (out.len() as u64) < count && fields.get(i).is_some_and(|f| f.tag == first_tag) {
        let mut entry = vec![fields[i]];
        i += 1;
        while let Some(f) = fields.get(i) {
            if f.tag == first_tag
                || f.tag == 10
                || entry.iter().any(|e| e.tag == f.tag)
                || (!out.is_empty() && !first_tags.contains(&f.tag))
            {
                break;
            }
            entry.push(*f);
            i += 1;
        }
        if out.is_empty() {
            first_tags = entry.iter().map(|f| f.tag).collect();
        }
        out.push(entry);
    }
    out
}

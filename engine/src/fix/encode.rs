//! Writing FIX messages: BodyLength (9) and CheckSum (10) computed, header prebuilt per session.

use super::parse::{checksum, data_tag_for_length};
use super::time::{utc_timestamp, TimePrecision};
use super::{FixError, FixErrorKind as K, SOH};
use crate::Fixed;

/// A field value for [`encode_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text or raw data, written as is.
    Bytes(&'a [u8]),
    /// An integer, in decimal.
    Int(i64),
    /// A decimal, in plain notation.
    Fixed(Fixed),
}

/// The message body being written: every field from 35 on, checked as it is pushed.
#[derive(Debug, Clone, Default)]
pub struct Body {
    buf: Vec<u8>,
    /// The previous field when it was a data length: (length tag, length).
    prev_len: Option<(u32, u64)>,
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0_u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        // n % 10 < 10.
        #[allow(clippy::cast_possible_truncation)]
        {
            buf[i] = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

impl Body {
    /// Forgets the fields written so far, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.prev_len = None;
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    fn tag(&mut self, tag: u32) -> Result<(), FixError> {
        if tag == 0 {
            return Err(FixError::at(K::InvalidTag, 0));
        }
        push_u64(&mut self.buf, u64::from(tag));
        self.buf.push(b'=');
        Ok(())
    }

    /// Appends `tag=value<SOH>`. A data field (96, 89...) must follow its length field with the
    /// matching length and may hold SOH; any other value must be non-empty and SOH-free.
    ///
    /// # Errors
    /// [`FixError`]: tag 0, an empty value, SOH outside a data field, a data field without its
    /// length or with another length.
    pub fn field(&mut self, tag: u32, value: &[u8]) -> Result<(), FixError> {
        let prev = self.prev_len.take();
        if value.is_empty() {
            return Err(FixError::at(K::EmptyValue, tag));
        }
        let is_data = matches!(prev, Some((lt, _)) if data_tag_for_length(lt) == Some(tag));
        if is_data {
            if let Some((_, n)) = prev {
                if n != value.len() as u64 {
                    return Err(FixError::at(K::DataLengthMismatch, tag));
                }
            }
        } else if memchr::memchr(SOH, value).is_some() {
            return Err(FixError::at(
                if is_data_tag(tag) {
                    K::DataWithoutLength
                } else {
                    K::ValueContainsSoh
                },
                tag,
            ));
        }
        if data_tag_for_length(tag).is_some() {
            let n =
                super::parse::parse_u64(value).ok_or(FixError::at(K::IncorrectDataFormat, tag))?;
            self.prev_len = Some((tag, n));
        }
        self.tag(tag)?;
        self.buf.extend_from_slice(value);
        self.buf.push(SOH);
        Ok(())
    }

    /// Appends an integer field.
    ///
    /// # Errors
    /// As [`Body::field`].
    pub fn field_int(&mut self, tag: u32, value: i64) -> Result<(), FixError> {
        let mut tmp = Vec::with_capacity(20);
        if value < 0 {
            tmp.push(b'-');
        }
        push_u64(&mut tmp, value.unsigned_abs());
        self.field(tag, &tmp)
    }

    /// Appends an unsigned integer field (no data-field rules apply to it but the length ones).
    ///
    /// # Errors
    /// As [`Body::field`].
    pub fn field_u64(&mut self, tag: u32, value: u64) -> Result<(), FixError> {
        let mut tmp = Vec::with_capacity(20);
        push_u64(&mut tmp, value);
        self.field(tag, &tmp)
    }

    /// Appends a field of any [`Value`].
    ///
    /// # Errors
    /// As [`Body::field`].
    pub fn value(&mut self, tag: u32, value: Value<'_>) -> Result<(), FixError> {
        match value {
            Value::Bytes(b) => self.field(tag, b),
            Value::Int(i) => self.field_int(tag, i),
            Value::Fixed(f) => {
                let mut tmp = Vec::with_capacity(24);
                f.write_to(&mut tmp);
                self.field(tag, &tmp)
            }
        }
    }

    /// Fails if the last field was a data length whose data field never came.
    fn check_complete(&self) -> Result<(), FixError> {
        match self.prev_len {
            Some((lt, _)) => Err(FixError::at(
                K::DataWithoutLength,
                data_tag_for_length(lt).unwrap_or(lt),
            )),
            None => Ok(()),
        }
    }

    /// Frames the body: `8=<begin_string><SOH>9=<len><SOH>` + body + `10=<cs><SOH>`, appended to
    /// `out`.
    ///
    /// # Errors
    /// [`FixError`] when a data length was left without its data field.
    pub fn finish_into(&self, begin_string: &[u8], out: &mut Vec<u8>) -> Result<(), FixError> {
        self.check_complete()?;
        let start = out.len();
        out.reserve(begin_string.len() + self.buf.len() + 24);
        out.extend_from_slice(b"8=");
        out.extend_from_slice(begin_string);
        out.extend_from_slice(b"\x019=");
        push_u64(out, self.buf.len() as u64);
        out.push(SOH);
        out.extend_from_slice(&self.buf);
        let cs = checksum(&out[start..]);
        out.extend_from_slice(&[
            b'1',
            b'0',
            b'=',
            b'0' + cs / 100,
            b'0' + cs / 10 % 10,
            b'0' + cs % 10,
            SOH,
        ]);
        Ok(())
    }
}

fn is_data_tag(tag: u32) -> bool {
    matches!(
        tag,
        91 | 89
            | 96
            | 213
            | 349
            | 351
            | 353
            | 355
            | 357
            | 359
            | 361
            | 363
            | 365
            | 446
            | 619
            | 622
            | 1185
            | 1278
            | 1281
            | 1283
            | 1398
            | 1402
            | 1404
            | 1469
    )
}

/// Appends the CheckSum field of `message` (everything before `10=`) to it.
pub fn push_checksum(message: &mut Vec<u8>) {
    let cs = checksum(message);
    message.extend_from_slice(&[
        b'1',
        b'0',
        b'=',
        b'0' + cs / 100,
        b'0' + cs / 10 % 10,
        b'0' + cs % 10,
        SOH,
    ]);
}

fn check_text(tag: u32, v: &[u8]) -> Result<(), FixError> {
    if v.is_empty() {
        return Err(FixError::at(K::EmptyValue, tag));
    }
    if memchr::memchr(SOH, v).is_some() {
        return Err(FixError::at(K::ValueContainsSoh, tag));
    }
    Ok(())
}

/// A session's encoder: BeginString, SenderCompID, TargetCompID and any extra header fields are
/// written once; [`Encoder::start`] adds 35, 34, 43/122 and 52 per message.
#[derive(Debug, Clone)]
pub struct Encoder {
    begin_string: Vec<u8>,
    sender: String,
    target: String,
    /// `49=..<SOH>56=..<SOH>34=`
    comp_ids: Vec<u8>,
    /// Extra header fields, each `tag=value<SOH>`.
    extra: Vec<u8>,
    body: Body,
}

impl Encoder {
    /// A session's encoder.
    ///
    /// # Errors
    /// [`FixError`] for an empty or SOH-holding BeginString, comp id or header value.
    pub fn new(
        begin_string: &str,
        sender_comp_id: &str,
        target_comp_id: &str,
        header: &[(u32, &[u8])],
    ) -> Result<Self, FixError> {
        check_text(8, begin_string.as_bytes())?;
        check_text(49, sender_comp_id.as_bytes())?;
        check_text(56, target_comp_id.as_bytes())?;
        let mut comp_ids = Vec::with_capacity(16 + sender_comp_id.len() + target_comp_id.len());
        comp_ids.extend_from_slice(b"49=");
        comp_ids.extend_from_slice(sender_comp_id.as_bytes());
        comp_ids.extend_from_slice(b"\x0156=");
        comp_ids.extend_from_slice(target_comp_id.as_bytes());
        comp_ids.extend_from_slice(b"\x0134=");
        let mut extra = Body::default();
        for &(tag, value) in header {
            extra.field(tag, value)?;
        }
        extra.check_complete()?;
        Ok(Self {
            begin_string: begin_string.as_bytes().to_vec(),
            sender: sender_comp_id.to_owned(),
            target: target_comp_id.to_owned(),
            comp_ids,
            extra: extra.buf,
            body: Body::default(),
        })
    }

    /// BeginString (8).
    pub fn begin_string(&self) -> &[u8] {
        &self.begin_string
    }

    /// SenderCompID (49).
    pub fn sender_comp_id(&self) -> &str {
        &self.sender
    }

    /// TargetCompID (56).
    pub fn target_comp_id(&self) -> &str {
        &self.target
    }

    /// Starts a message: 35, 49, 56, 34, [43=Y, 122], 52 and the extra header are written;
    /// push the body fields on the returned [`Body`], then call [`Encoder::finish`].
    /// `sending_time` defaults to now (UTC, milliseconds).
    ///
    /// # Errors
    /// [`FixError`] for an empty or SOH-holding MsgType or timestamp.
    pub fn start(
        &mut self,
        msg_type: &[u8],
        seq_num: u64,
        sending_time: Option<&[u8]>,
        poss_dup: bool,
        orig_sending_time: Option<&[u8]>,
    ) -> Result<&mut Body, FixError> {
        check_text(35, msg_type)?;
        let body = &mut self.body;
        body.clear();
        body.buf.extend_from_slice(b"35=");
        body.buf.extend_from_slice(msg_type);
        body.buf.push(SOH);
        body.buf.extend_from_slice(&self.comp_ids);
        push_u64(&mut body.buf, seq_num);
        body.buf.push(SOH);
        if poss_dup {
            body.buf.extend_from_slice(b"43=Y\x01");
            if let Some(orig) = orig_sending_time {
                check_text(122, orig)?;
                body.buf.extend_from_slice(b"122=");
                body.buf.extend_from_slice(orig);
                body.buf.push(SOH);
            }
        }
        body.buf.extend_from_slice(b"52=");
        match sending_time {
            Some(t) => {
                check_text(52, t)?;
                body.buf.extend_from_slice(t);
            }
            None => utc_timestamp(now_ns(), TimePrecision::Millis, &mut body.buf),
        }
        body.buf.push(SOH);
        body.buf.extend_from_slice(&self.extra);
        Ok(body)
    }

    /// Frames the message started by [`Encoder::start`].
    ///
    /// # Errors
    /// [`FixError`] when a data length was left without its data field.
    pub fn finish(&self) -> Result<Vec<u8>, FixError> {
        let mut out = Vec::with_capacity(self.body.buf.len() + self.begin_string.len() + 24);
        self.body.finish_into(&self.begin_string, &mut out)?;
        Ok(out)
    }
}

/// Nanoseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// Writes a whole message: `fields` is everything between 9 and 10, MsgType (35) first.
///
/// # Errors
/// [`FixError`]: 35 not first, an empty BeginString, or a value [`Body::field`] refuses.
pub fn encode_message(
    begin_string: &[u8],
    fields: &[(u32, Value<'_>)],
) -> Result<Vec<u8>, FixError> {
    check_text(8, begin_string)?;
    if fields.first().map(|f| f.0) != Some(35) {
        return Err(FixError::new(K::MissingMsgType));
    }
    let mut body = Body::default();
    for &(tag, v) in fields {
        body.value(tag, v)?;
    }
    let mut out = Vec::with_capacity(body.buf.len() + 32);
    body.finish_into(begin_string, &mut out)?;
    Ok(out)
}

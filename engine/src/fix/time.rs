//! FIX `UTCTimestamp` values (`YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss]`), written and read
//! without a calendar crate (Howard Hinnant's `days_from_civil` / `civil_from_days`).

use super::{FixError, FixErrorKind};

/// Fractional digits of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePrecision {
    /// Whole seconds.
    Seconds,
    /// Milliseconds (the FIX 4.2/4.4 default).
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

const NS_PER_S: i128 = 1_000_000_000;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    // d in 1..=31 and m in 1..=12 by construction.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (if m <= 2 { y + 1 } else { y }, m as u32, d as u32)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    // v < 100 here; the casts cannot truncate.
    #[allow(clippy::cast_possible_truncation)]
    out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

/// Writes `epoch_ns` (nanoseconds since the Unix epoch, UTC) as a FIX `UTCTimestamp`. Years
/// outside 0..=9999 are clamped to that range's ends.
pub fn utc_timestamp(epoch_ns: i128, precision: TimePrecision, out: &mut Vec<u8>) {
    let min = days_from_civil(0, 1, 1);
    let max = days_from_civil(9999, 12, 31);
    let secs = epoch_ns.div_euclid(NS_PER_S);
    let frac = epoch_ns.rem_euclid(NS_PER_S);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (days, sod, frac) = match i64::try_from(days) {
        Ok(d) if d < min => (min, 0, 0),
        Ok(d) if d > max => (max, 86_399, NS_PER_S - 1),
        Ok(d) => (d, sod, frac),
        Err(_) if days < 0 => (min, 0, 0),
        Err(_) => (max, 86_399, NS_PER_S - 1),
    };
    let (y, m, d) = civil_from_days(days);
    // 0 <= y <= 9999, sod < 86400, frac < 1e9: the casts cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (y, sod, frac) = (y as u32, sod as u32, frac as u32);
    push_2(out, y / 100);
    push_2(out, y % 100);
    push_2(out, m);
    push_2(out, d);
    out.push(b'-');
    push_2(out, sod / 3600);
    out.push(b':');
    push_2(out, sod / 60 % 60);
    out.push(b':');
    push_2(out, sod % 60);
    let (digits, value) = match precision {
        TimePrecision::Seconds => return,
        TimePrecision::Millis => (3, frac / 1_000_000),
        TimePrecision::Micros => (6, frac / 1_000),
        TimePrecision::Nanos => (9, frac),
    };
    out.push(b'.');
    let mut buf = [b'0'; 9];
    let mut v = value;
    for i in (0..digits).rev() {
        // v % 10 < 10.
        #[allow(clippy::cast_possible_truncation)]
        {
            buf[i] = b'0' + (v % 10) as u8;
        }
        v /= 10;
    }
    out.extend_from_slice(&buf[..digits]);
}

fn digits(v: &[u8]) -> Option<u32> {
    let mut n = 0_u32;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

/// Reads a FIX `UTCTimestamp` (`YYYYMMDD-HH:MM:SS` with 0, 3, 6 or 9 fractional digits) as
/// nanoseconds since the Unix epoch. A leap second (`:60`) is accepted as the next second.
///
/// # Errors
/// [`FixErrorKind::BadTimestamp`] for anything else or an out-of-range part.
pub fn parse_utc_timestamp(value: &[u8]) -> Result<i128, FixError> {
    let bad = || FixError::new(FixErrorKind::BadTimestamp);
    if value.len() < 17
        || value[8] != b'-'
        || value[11] != b':'
        || value[14] != b':'
        || !matches!(value.len(), 17 | 21 | 24 | 27)
    {
        return Err(bad());
    }
    let year = digits(&value[0..4]).ok_or_else(bad)?;
    let month = digits(&value[4..6]).ok_or_else(bad)?;
    let day = digits(&value[6..8]).ok_or_else(bad)?;
    let hour = digits(&value[9..11]).ok_or_else(bad)?;
    let minute = digits(&value[12..14]).ok_or_else(bad)?;
    let second = digits(&value[15..17]).ok_or_else(bad)?;
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 60 {
        return Err(bad());
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let mdays = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > mdays {
        return Err(bad());
    }
    let mut frac_ns = 0_i128;
    if value.len() > 17 {
        if value[17] != b'.' {
            return Err(bad());
        }
        let f = &value[18..];
        let n = digits(f).ok_or_else(bad)?;
        let scale: i128 = match f.len() {
            3 => 1_000_000,
            6 => 1_000,
            _ => 1,
        };
        frac_ns = i128::from(n) * scale;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = i128::from(days) * 86_400
        + i128::from(hour) * 3600
        + i128::from(minute) * 60
        + i128::from(second);
    Ok(secs * NS_PER_S + frac_ns)
}

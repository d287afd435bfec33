//! Dates, times, timestamps and intervals: PostgreSQL's ISO text (`DateStyle = ISO`, which the
//! connection sets) and its binary form (days or microseconds since 2000-01-01).

use std::io::Write as _;

use super::oid::{INTERVAL, TIMESTAMPTZ, TIMETZ};
use super::{CodecError, Result, malformed};

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;
/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 0 is 1 BC).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A run of ASCII digits as a number.
fn digits(oid: u32, s: &[u8]) -> Result<i64> {
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return malformed(oid, "expected digits");
    }
    Ok(s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// `text` without a trailing ` BC`, and whether it had one.
fn strip_bc(text: &[u8]) -> (&[u8], bool) {
    match text.strip_suffix(b" BC") {
        Some(t) => (t, true),
        None => (text, false),
    }
}

/// `YYYY-MM-DD` (with `bc` for a BC year) to days since 1970-01-01.
fn parse_date(oid: u32, text: &[u8], bc: bool) -> Result<i64> {
    let mut parts = text.splitn(3, |b| *b == b'-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return malformed(oid, "not an ISO date");
    };
    let (y, m, d) = (digits(oid, y)?, digits(oid, m)?, digits(oid, d)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y == 0 {
        return malformed(oid, "not a valid date");
    }
    let year = if bc { 1 - y } else { y };
    Ok(days_from_civil(year, m, d))
}

pub(super) fn date_in(oid: u32, text: &[u8]) -> Result<i32> {
    match text {
        b"infinity" => return Ok(i32::MAX),
        b"-infinity" => return Ok(i32::MIN),
        _ => {}
    }
    let (t, bc) = strip_bc(text);
    let days = parse_date(oid, t, bc)? - PG_EPOCH_DAYS;
    i32::try_from(days).or_else(|_| malformed(oid, "date out of range"))
}

/// `HH:MM:SS[.ffffff]` to microseconds.
fn parse_time(oid: u32, text: &[u8]) -> Result<i64> {
    let mut parts = text.splitn(3, |b| *b == b':');
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
        return malformed(oid, "not a time");
    };
    let s = parts.next().unwrap_or(b"0");
    let (h, m) = (digits(oid, h)?, digits(oid, m)?);
    let (sec, frac) = match s.iter().position(|b| *b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &s[..0]),
    };
    let sec = digits(oid, sec)?;
    let mut micros = 0i64;
    for (i, d) in frac.iter().enumerate() {
        if !d.is_ascii_digit() {
            return malformed(oid, "not a time");
        }
        if i < 6 {
            micros = micros * 10 + i64::from(d - b'0');
        }
    }
    for _ in frac.len()..6 {
        micros *= 10;
    }
    if h > 24 || m > 59 || sec > 60 {
        return malformed(oid, "time out of range");
    }
    Ok(((h * 60 + m) * 60 + sec) * USECS_PER_SEC + micros)
}

pub(super) fn time_in(oid: u32, text: &[u8]) -> Result<i64> {
    parse_time(oid, text)
}

/// `+HH[:MM[:SS]]` / `-HH…` to seconds east of UTC.
fn parse_offset(oid: u32, text: &[u8]) -> Result<i64> {
    let (sign, rest) = match text.first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return malformed(oid, "bad time zone offset"),
    };
    let mut secs = 0;
    for (i, part) in rest.split(|b| *b == b':').enumerate() {
        let v = digits(oid, part)?;
        secs += match i {
            0 => v * 3600,
            1 => v * 60,
            2 => v,
            _ => return malformed(oid, "bad time zone offset"),
        };
    }
    Ok(sign * secs)
}

/// Split `HH:MM:SS.ffffff+05:30` into the time and the offset (which starts at the first sign).
fn split_offset(text: &[u8]) -> (&[u8], Option<&[u8]>) {
    match text.iter().position(|b| *b == b'+' || *b == b'-') {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    }
}

pub(super) fn timetz_in(text: &[u8]) -> Result<(i64, i32)> {
    let (time, offset) = split_offset(text);
    let micros = parse_time(TIMETZ, time)?;
    let offset = offset.map_or(Ok(0), |o| parse_offset(TIMETZ, o))?;
    // The binary form stores the zone in seconds west of UTC.
    Ok((micros, -offset as i32))
}

pub(super) fn timestamp_in(oid: u32, text: &[u8], with_zone: bool) -> Result<i64> {
    match text {
        b"infinity" => return Ok(i64::MAX),
        b"-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let (t, bc) = strip_bc(text);
    let split = t
        .iter()
        .position(|b| *b == b' ' || *b == b'T')
        .ok_or(CodecError::Malformed {
            oid,
            reason: "not an ISO timestamp",
        })?;
    let days = parse_date(oid, &t[..split], bc)?;
    let (time, offset) = split_offset(&t[split + 1..]);
    let micros = parse_time(oid, time)?;
    let offset = match (with_zone, offset) {
        (true, Some(o)) => parse_offset(TIMESTAMPTZ, o)?,
        (false, Some(_)) => return malformed(oid, "unexpected time zone"),
        _ => 0,
    };
    ((days - PG_EPOCH_DAYS) as i128 * USECS_PER_DAY as i128 + micros as i128
        - offset as i128 * USECS_PER_SEC as i128)
        .try_into()
        .or_else(|_| malformed(oid, "timestamp out of range"))
}

pub(super) fn date_out(days: i32, out: &mut Vec<u8>) {
    match days {
        i32::MAX => out.extend_from_slice(b"infinity"),
        i32::MIN => out.extend_from_slice(b"-infinity"),
        d => {
            let (y, m, d) = civil_from_days(i64::from(d) + PG_EPOCH_DAYS);
            write_ymd(y, m, d, out);
            if y <= 0 {
                out.extend_from_slice(b" BC");
            }
        }
    }
}

fn write_ymd(y: i64, m: i64, d: i64, out: &mut Vec<u8>) {
    let year = if y <= 0 { 1 - y } else { y };
    write!(out, "{year:04}-{m:02}-{d:02}").expect("Vec write");
}

pub(super) fn time_out(micros: i64, out: &mut Vec<u8>) {
    let secs = micros.div_euclid(USECS_PER_SEC);
    let frac = micros.rem_euclid(USECS_PER_SEC);
    write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
    .expect("Vec write");
    if frac != 0 {
        write!(out, ".{frac:06}").expect("Vec write");
    }
}

/// Seconds east of UTC as `+HH:MM[:SS]`.
pub(super) fn offset_out(east: i32, out: &mut Vec<u8>) {
    let sign = if east < 0 { '-' } else { '+' };
    let a = east.unsigned_abs();
    write!(out, "{sign}{:02}:{:02}", a / 3600, a / 60 % 60).expect("Vec write");
    if a % 60 != 0 {
        write!(out, ":{:02}", a % 60).expect("Vec write");
    }
}

pub(super) fn timestamp_out(micros: i64, with_zone: bool, out: &mut Vec<u8>) {
    match micros {
        i64::MAX => return out.extend_from_slice(b"infinity"),
        i64::MIN => return out.extend_from_slice(b"-infinity"),
        _ => {}
    }
    let days = micros.div_euclid(USECS_PER_DAY);
    let time = micros.rem_euclid(USECS_PER_DAY);
    let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
    write_ymd(y, m, d, out);
    out.push(b' ');
    time_out(time, out);
    if with_zone {
        out.extend_from_slice(b"+00");
    }
    if y <= 0 {
        out.extend_from_slice(b" BC");
    }
}

/// An interval in any of PostgreSQL's output styles (`postgres`, `postgres_verbose`, `iso_8601`) to
/// (microseconds, days, months).
pub(super) fn interval_in(text: &[u8]) -> Result<(i64, i32, i32)> {
    let t = std::str::from_utf8(text).or_else(|_| malformed(INTERVAL, "not UTF-8"))?;
    let (micros, days, months) = if let Some(iso) = t.strip_prefix('P') {
        iso_interval(iso)?
    } else {
        words_interval(t)?
    };
    let days = i32::try_from(days).or_else(|_| malformed(INTERVAL, "out of range"))?;
    let months = i32::try_from(months).or_else(|_| malformed(INTERVAL, "out of range"))?;
    Ok((micros, days, months))
}

/// A decimal with an optional fraction as (whole, micro-fraction) with the sign on both.
fn decimal_micros(s: &str) -> Result<i64> {
    let neg = s.starts_with('-');
    let s = s.trim_start_matches(['-', '+']);
    let (w, f) = s.split_once('.').unwrap_or((s, ""));
    let whole = if w.is_empty() {
        0
    } else {
        digits(INTERVAL, w.as_bytes())?
    };
    let mut frac = 0i64;
    for (i, d) in f.bytes().enumerate() {
        if !d.is_ascii_digit() {
            return malformed(INTERVAL, "bad number");
        }
        if i < 6 {
            frac = frac * 10 + i64::from(d - b'0');
        }
    }
    for _ in f.len().min(6)..6 {
        frac *= 10;
    }
    let v = whole
        .checked_mul(USECS_PER_SEC)
        .and_then(|w| w.checked_add(frac))
        .ok_or(CodecError::Malformed {
            oid: INTERVAL,
            reason: "out of range",
        })?;
    Ok(if neg { -v } else { v })
}

fn whole(s: &str) -> Result<i64> {
    let neg = s.starts_with('-');
    let v = digits(INTERVAL, s.trim_start_matches(['-', '+']).as_bytes())?;
    Ok(if neg { -v } else { v })
}

fn words_interval(t: &str) -> Result<(i64, i64, i64)> {
    let (mut micros, mut days, mut months) = (0i64, 0i64, 0i64);
    let mut tokens: Vec<&str> = t.split_whitespace().collect();
    let mut ago = false;
    if tokens.first() == Some(&"@") {
        tokens.remove(0);
    }
    if tokens.last() == Some(&"ago") {
        tokens.pop();
        ago = true;
    }
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        if tok.contains(':') {
            // [-]HH:MM[:SS[.ffffff]]
            let neg = tok.starts_with('-');
            let body = tok.trim_start_matches(['-', '+']);
            let parts: Vec<&str> = body.split(':').collect();
            if parts.len() < 2 || parts.len() > 3 {
                return malformed(INTERVAL, "bad time part");
            }
            let h = digits(INTERVAL, parts[0].as_bytes())?;
            let m = digits(INTERVAL, parts[1].as_bytes())?;
            let s = parts.get(2).map_or(Ok(0), |s| decimal_micros(s))?;
            let v = (h * 3600 + m * 60) * USECS_PER_SEC + s;
            micros += if neg { -v } else { v };
            i += 1;
            continue;
        }
        let unit = tokens.get(i + 1).copied().unwrap_or("");
        let unit = unit.trim_end_matches('s');
        match unit {
            "year" | "yr" => months += whole(tok)? * 12,
            "decade" => months += whole(tok)? * 120,
            "century" | "centurie" => months += whole(tok)? * 1200,
            "millennium" | "millennia" | "millenium" => months += whole(tok)? * 12_000,
            "mon" | "month" => months += whole(tok)?,
            "week" => days += whole(tok)? * 7,
            "day" => days += whole(tok)?,
            "hour" | "hr" => micros += decimal_micros(tok)? * 3600,
            "min" | "minute" => micros += decimal_micros(tok)? * 60,
            "sec" | "second" => micros += decimal_micros(tok)?,
            "millisecond" | "msec" => micros += decimal_micros(tok)? / 1000,
            "microsecond" | "usec" => micros += whole(tok)?,
            _ => return malformed(INTERVAL, "unknown interval unit"),
        }
        i += 2;
    }
    if ago {
        (micros, days, months) = (-micros, -days, -months);
    }
    Ok((micros, days, months))
}

fn iso_interval(t: &str) -> Result<(i64, i64, i64)> {
    let (mut micros, mut days, mut months) = (0i64, 0i64, 0i64);
    let mut in_time = false;
    let mut num = String::new();
    for c in t.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' | '.' | '-' | '+' => num.push(c),
            unit => {
                match (in_time, unit) {
                    (false, 'Y') => months += whole(&num)? * 12,
                    (false, 'M') => months += whole(&num)?,
                    (false, 'W') => days += whole(&num)? * 7,
                    (false, 'D') => days += whole(&num)?,
                    (true, 'H') => micros += decimal_micros(&num)? * 3600,
                    (true, 'M') => micros += decimal_micros(&num)? * 60,
                    (true, 'S') => micros += decimal_micros(&num)?,
                    _ => return malformed(INTERVAL, "bad ISO 8601 interval"),
                }
                num.clear();
            }
        }
    }
    if !num.is_empty() {
        return malformed(INTERVAL, "bad ISO 8601 interval");
    }
    Ok((micros, days, months))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        for z in (-1_000_000..1_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_DAYS);
    }
}

//! Scalar built-in types: booleans, integers, floats, money, numeric, bytea, "char", dates and
//! times, uuid, jsonb, network addresses.

use std::io::Write as _;

use super::oid::*;
use super::{CodecError, Reader, Result, malformed, numeric, time, trim};

pub(super) fn text_in(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Result<()> {
    match oid {
        BOOL => {
            let t = trim(text).to_ascii_lowercase();
            let v = match t.as_slice() {
                b"t" | b"true" | b"y" | b"yes" | b"on" | b"1" => 1,
                b"f" | b"false" | b"n" | b"no" | b"off" | b"0" => 0,
                _ => return malformed(oid, "not a boolean"),
            };
            out.push(v);
        }
        INT2 => {
            let v = int(oid, text)?;
            let v = i16::try_from(v).or_else(|_| malformed(oid, "out of range for int2"))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        INT4 => {
            let v = int(oid, text)?;
            let v = i32::try_from(v).or_else(|_| malformed(oid, "out of range for int4"))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        INT8 => out.extend_from_slice(&int(oid, text)?.to_be_bytes()),
        OID => {
            let v = int(oid, text)?;
            let v = u32::try_from(v).or_else(|_| malformed(oid, "out of range for oid"))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        FLOAT4 => out.extend_from_slice(&(float(oid, text)? as f32).to_be_bytes()),
        FLOAT8 => out.extend_from_slice(&float(oid, text)?.to_be_bytes()),
        MONEY => out.extend_from_slice(&money(text)?.to_be_bytes()),
        NUMERIC => numeric::text_in(text, out)?,
        BYTEA => bytea_in(text, out)?,
        CHAR => out.push(char_in(text)?),
        DATE => out.extend_from_slice(&time::date_in(oid, trim(text))?.to_be_bytes()),
        TIME => out.extend_from_slice(&time::time_in(oid, trim(text))?.to_be_bytes()),
        TIMETZ => {
            let (micros, zone) = time::timetz_in(trim(text))?;
            out.extend_from_slice(&micros.to_be_bytes());
            out.extend_from_slice(&zone.to_be_bytes());
        }
        TIMESTAMP => {
            out.extend_from_slice(&time::timestamp_in(oid, trim(text), false)?.to_be_bytes())
        }
        TIMESTAMPTZ => {
            out.extend_from_slice(&time::timestamp_in(oid, trim(text), true)?.to_be_bytes())
        }
        INTERVAL => {
            let (micros, days, months) = time::interval_in(trim(text))?;
            out.extend_from_slice(&micros.to_be_bytes());
            out.extend_from_slice(&days.to_be_bytes());
            out.extend_from_slice(&months.to_be_bytes());
        }
        UUID => uuid_in(text, out)?,
        JSONB => {
            out.push(1);
            out.extend_from_slice(text);
        }
        INET | CIDR => inet_in(oid, text, out)?,
        MACADDR => mac_in(oid, text, 6, out)?,
        MACADDR8 => mac_in(oid, text, 8, out)?,
        _ => return Err(CodecError::UnknownType { oid }),
    }
    Ok(())
}

pub(super) fn text_out(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut r = Reader::new(oid, bytes);
    match oid {
        BOOL => out.push(if r.u8()? != 0 { b't' } else { b'f' }),
        INT2 => write!(out, "{}", r.i16()?).expect("Vec write"),
        INT4 => write!(out, "{}", r.i32()?).expect("Vec write"),
        INT8 => write!(out, "{}", r.i64()?).expect("Vec write"),
        OID => write!(out, "{}", r.u32()?).expect("Vec write"),
        FLOAT4 => {
            let f = f32::from_be_bytes(r.take(4)?.try_into().expect("4 bytes"));
            float_out(f64::from(f), Some(f), out)
        }
        FLOAT8 => float_out(
            f64::from_be_bytes(r.take(8)?.try_into().expect("8 bytes")),
            None,
            out,
        ),
        MONEY => {
            let cents = r.i64()?;
            let sign = if cents < 0 { "-" } else { "" };
            let abs = cents.unsigned_abs();
            write!(out, "{sign}{}.{:02}", abs / 100, abs % 100).expect("Vec write");
        }
        NUMERIC => return numeric::text_out(bytes, out),
        BYTEA => {
            out.extend_from_slice(b"\\x");
            for b in bytes {
                write!(out, "{b:02x}").expect("Vec write");
            }
            return Ok(());
        }
        CHAR => {
            let b = r.u8()?;
            if b.is_ascii() && b != 0 && b != b'\\' {
                out.push(b);
            } else if b != 0 {
                write!(out, "\\{b:03o}").expect("Vec write");
            }
        }
        DATE => time::date_out(r.i32()?, out),
        TIME => time::time_out(r.i64()?, out),
        TIMETZ => {
            let micros = r.i64()?;
            let zone = r.i32()?;
            time::time_out(micros, out);
            time::offset_out(-zone, out);
        }
        TIMESTAMP => time::timestamp_out(r.i64()?, false, out),
        TIMESTAMPTZ => time::timestamp_out(r.i64()?, true, out),
        INTERVAL => {
            let micros = r.i64()?;
            let days = r.i32()?;
            let months = r.i32()?;
            write!(out, "{months} mons {days} days {micros} microseconds").expect("Vec write");
        }
        UUID => {
            let b = r.take(16)?;
            for (i, x) in b.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    out.push(b'-');
                }
                write!(out, "{x:02x}").expect("Vec write");
            }
        }
        JSONB => {
            if r.u8()? != 1 {
                return malformed(oid, "unsupported jsonb version");
            }
            out.extend_from_slice(r.bytes);
            return Ok(());
        }
        INET | CIDR => {
            let family = r.u8()?;
            let bits = r.u8()?;
            let _is_cidr = r.u8()?;
            let n = r.u8()? as usize;
            let addr = r.take(n)?;
            match (family, n) {
                (2, 4) => {
                    let a: [u8; 4] = addr.try_into().expect("4 bytes");
                    write!(out, "{}/{bits}", std::net::Ipv4Addr::from(a)).expect("Vec write")
                }
                (3, 16) => {
                    let a: [u8; 16] = addr.try_into().expect("16 bytes");
                    write!(out, "{}/{bits}", std::net::Ipv6Addr::from(a)).expect("Vec write")
                }
                _ => return malformed(oid, "unknown address family"),
            }
        }
        MACADDR | MACADDR8 => {
            let n = if oid == MACADDR { 6 } else { 8 };
            for (i, x) in r.take(n)?.iter().enumerate() {
                if i > 0 {
                    out.push(b':');
                }
                write!(out, "{x:02x}").expect("Vec write");
            }
        }
        _ => return Err(CodecError::UnknownType { oid }),
    }
    r.done()
}

/// A decimal integer, as int2in/int4in/int8in read it (surrounding spaces allowed).
fn int(oid: u32, text: &[u8]) -> Result<i64> {
    let t = trim(text);
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return malformed(oid, "not an integer");
    }
    // Accumulate negatively so i64::MIN parses.
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return malformed(oid, "not an integer");
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_sub(i64::from(d - b'0')))
            .ok_or(CodecError::Malformed {
                oid,
                reason: "integer out of range",
            })?;
    }
    if neg {
        Ok(v)
    } else {
        v.checked_neg().ok_or(CodecError::Malformed {
            oid,
            reason: "integer out of range",
        })
    }
}

fn float(oid: u32, text: &[u8]) -> Result<f64> {
    let t = std::str::from_utf8(trim(text)).or_else(|_| malformed(oid, "not UTF-8"))?;
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Ok(f64::NAN),
        "infinity" | "inf" | "+infinity" | "+inf" => return Ok(f64::INFINITY),
        "-infinity" | "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    if t.chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return malformed(oid, "not a number");
    }
    t.parse::<f64>().or_else(|_| malformed(oid, "not a number"))
}

/// Shortest text that reads back as the same float (`f32` values as `f32`).
fn float_out(v: f64, single: Option<f32>, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else if let Some(f) = single {
        write!(out, "{f:?}").expect("Vec write");
    } else {
        write!(out, "{v:?}").expect("Vec write");
    }
}

/// Money as PostgreSQL writes it with `lc_monetary=C` (`$1,234.56`, `-$1.00`), or a plain number.
fn money(text: &[u8]) -> Result<i64> {
    let t = trim(text);
    let mut neg = false;
    let mut digits: i64 = 0;
    let mut frac: Option<u32> = None;
    for &b in t {
        match b {
            b'-' => neg = true,
            b'(' | b')' => neg = true,
            b'$' | b',' | b' ' | b'+' => {}
            b'.' if frac.is_none() => frac = Some(0),
            b'0'..=b'9' => {
                if let Some(f) = frac.as_mut() {
                    if *f >= 2 {
                        continue; // money keeps two places
                    }
                    *f += 1;
                }
                digits = digits
                    .checked_mul(10)
                    .and_then(|d| d.checked_add(i64::from(b - b'0')))
                    .ok_or(CodecError::Malformed {
                        oid: MONEY,
                        reason: "out of range",
                    })?;
            }
            _ => return malformed(MONEY, "not a money amount"),
        }
    }
    for _ in frac.unwrap_or(0)..2 {
        digits = digits.checked_mul(10).ok_or(CodecError::Malformed {
            oid: MONEY,
            reason: "out of range",
        })?;
    }
    Ok(if neg { -digits } else { digits })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn bytea_in(text: &[u8], out: &mut Vec<u8>) -> Result<()> {
    if let Some(h) = text.strip_prefix(b"\\x") {
        let h: Vec<u8> = h
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if h.len() % 2 != 0 {
            return malformed(BYTEA, "odd number of hex digits");
        }
        for pair in h.chunks(2) {
            match (hex(pair[0]), hex(pair[1])) {
                (Some(a), Some(b)) => out.push(a << 4 | b),
                _ => return malformed(BYTEA, "not a hex digit"),
            }
        }
        return Ok(());
    }
    // the escape format: \\ and \ooo
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            out.push(text[i]);
            i += 1;
        } else if text.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = text.get(i + 1..i + 4).ok_or(CodecError::Malformed {
                oid: BYTEA,
                reason: "bad escape",
            })?;
            if !oct.iter().all(|d| (b'0'..=b'7').contains(d)) || oct[0] > b'3' {
                return malformed(BYTEA, "bad escape");
            }
            out.push((oct[0] - b'0') << 6 | (oct[1] - b'0') << 3 | (oct[2] - b'0'));
            i += 4;
        }
    }
    Ok(())
}

fn char_in(text: &[u8]) -> Result<u8> {
    match text {
        [] => Ok(0),
        [b'\\', a, b, c] if [a, b, c].iter().all(|d| (b'0'..=b'7').contains(d)) => {
            Ok((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'))
        }
        [b, ..] => Ok(*b),
    }
}

fn uuid_in(text: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut t = trim(text);
    if t.first() == Some(&b'{') && t.last() == Some(&b'}') {
        t = &t[1..t.len() - 1];
    }
    let digits: Vec<u8> = t.iter().copied().filter(|b| *b != b'-').collect();
    if digits.len() != 32 {
        return malformed(UUID, "not a UUID");
    }
    for pair in digits.chunks(2) {
        match (hex(pair[0]), hex(pair[1])) {
            (Some(a), Some(b)) => out.push(a << 4 | b),
            _ => return malformed(UUID, "not a UUID"),
        }
    }
    Ok(())
}

fn inet_in(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let t = std::str::from_utf8(trim(text)).or_else(|_| malformed(oid, "not UTF-8"))?;
    let (addr, bits) = match t.split_once('/') {
        Some((a, b)) => (
            a,
            Some(b.parse::<u8>().or_else(|_| malformed(oid, "bad mask"))?),
        ),
        None => (t, None),
    };
    let ip: std::net::IpAddr = addr.parse().or_else(|_| malformed(oid, "not an address"))?;
    let (family, max, bytes): (u8, u8, Vec<u8>) = match ip {
        std::net::IpAddr::V4(a) => (2, 32, a.octets().to_vec()),
        std::net::IpAddr::V6(a) => (3, 128, a.octets().to_vec()),
    };
    let bits = bits.unwrap_or(max);
    if bits > max {
        return malformed(oid, "mask too long");
    }
    out.extend_from_slice(&[family, bits, u8::from(oid == CIDR), bytes.len() as u8]);
    out.extend_from_slice(&bytes);
    Ok(())
}

fn mac_in(oid: u32, text: &[u8], n: usize, out: &mut Vec<u8>) -> Result<()> {
    let digits: Vec<u8> = trim(text)
        .iter()
        .copied()
        .filter(|b| !matches!(b, b':' | b'-' | b'.'))
        .collect();
    if digits.len() != n * 2 {
        return malformed(oid, "not a MAC address");
    }
    for pair in digits.chunks(2) {
        match (hex(pair[0]), hex(pair[1])) {
            (Some(a), Some(b)) => out.push(a << 4 | b),
            _ => return malformed(oid, "not a MAC address"),
        }
    }
    Ok(())
}

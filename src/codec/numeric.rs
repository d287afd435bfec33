//! `numeric`: decimal text and PostgreSQL's binary form (base-10000 digits with a weight, a sign word
//! and a display scale).

use std::io::Write as _;

use super::oid::NUMERIC;
use super::{CodecError, Reader, Result, malformed, trim};

const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;

fn header(out: &mut Vec<u8>, ndigits: u16, weight: i16, sign: u16, dscale: u16) {
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
}

/// Decimal text (`-12.3400`, `1.5e3`, `NaN`, `Infinity`) to binary.
pub(super) fn text_in(text: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let t = trim(text);
    match t.to_ascii_lowercase().as_slice() {
        b"nan" => {
            header(out, 0, 0, NAN, 0);
            return Ok(());
        }
        b"infinity" | b"+infinity" | b"inf" | b"+inf" => {
            header(out, 0, 0, PINF, 32); // the display scale PostgreSQL sends with infinities
            return Ok(());
        }
        b"-infinity" | b"-inf" => {
            header(out, 0, 0, NINF, 32);
            return Ok(());
        }
        _ => {}
    }
    let (neg, rest) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exp) = match rest.iter().position(|b| *b == b'e' || *b == b'E') {
        Some(i) => {
            let e = std::str::from_utf8(&rest[i + 1..])
                .ok()
                .and_then(|e| e.parse::<i64>().ok())
                .filter(|e| e.abs() <= 100_000)
                .ok_or(CodecError::Malformed {
                    oid: NUMERIC,
                    reason: "bad exponent",
                })?;
            (&rest[..i], e)
        }
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|b| *b == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.iter().chain(frac_part).all(u8::is_ascii_digit)
    {
        return malformed(NUMERIC, "not a number");
    }
    // All digits, and where the decimal point falls among them after the exponent.
    let digits: Vec<u8> = int_part.iter().chain(frac_part).map(|d| d - b'0').collect();
    let point = int_part.len() as i64 + exp;
    let dscale = (frac_part.len() as i64 - exp).max(0);
    if dscale > 0x3FFF {
        return malformed(NUMERIC, "scale too large");
    }
    // Group into base-10000 digits aligned on the point: pad the front so the point is at a
    // multiple of 4, and the back to a multiple of 4.
    let lead = (4 - point.rem_euclid(4)) % 4;
    let mut padded: Vec<u8> = vec![0; lead as usize];
    padded.extend_from_slice(&digits);
    while padded.len() % 4 != 0 {
        padded.push(0);
    }
    let first_group_weight = (point + lead) / 4 - 1;
    let mut groups: Vec<i16> = padded
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(*d)))
        .collect();
    let mut weight = first_group_weight;
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i64;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        header(out, 0, 0, POS, dscale as u16);
        return Ok(());
    }
    let weight = i16::try_from(weight).or_else(|_| malformed(NUMERIC, "out of range"))?;
    let n = u16::try_from(groups.len()).or_else(|_| malformed(NUMERIC, "too many digits"))?;
    header(out, n, weight, if neg { NEG } else { POS }, dscale as u16);
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(())
}

/// Binary numeric to decimal text with exactly `dscale` places.
pub(super) fn text_out(bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut r = Reader::new(NUMERIC, bytes);
    let ndigits = r.u16()? as usize;
    let weight = r.i16()? as i64;
    let sign = r.u16()?;
    let dscale = (r.u16()? & 0x3FFF) as i64;
    match sign {
        NAN => return finish(r, out, b"NaN"),
        PINF => return finish(r, out, b"Infinity"),
        NINF => return finish(r, out, b"-Infinity"),
        POS | NEG => {}
        _ => return malformed(NUMERIC, "bad sign"),
    }
    let mut groups = Vec::with_capacity(ndigits);
    for _ in 0..ndigits {
        let g = r.i16()?;
        if !(0..10_000).contains(&g) {
            return malformed(NUMERIC, "bad digit");
        }
        groups.push(g);
    }
    r.done()?;
    if sign == NEG && groups.iter().any(|g| *g != 0) {
        out.push(b'-');
    }
    // integer part: groups with weight >= 0
    if weight < 0 || groups.is_empty() {
        out.push(b'0');
    } else {
        for w in 0..=weight {
            let g = groups.get(w as usize).copied().unwrap_or(0);
            if w == 0 {
                write!(out, "{g}").expect("Vec write");
            } else {
                write!(out, "{g:04}").expect("Vec write");
            }
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let mut written = 0;
        let mut w = weight + 1;
        let mut frac = String::new();
        while written < dscale {
            // group i has weight `weight - i`, so the group of weight -k is at index weight + k
            let g = if w >= 0 {
                groups.get(w as usize).copied().unwrap_or(0)
            } else {
                0
            };
            frac.clear();
            write!(frac, "{g:04}").expect("String write");
            for d in frac.bytes() {
                if written < dscale {
                    out.push(d);
                    written += 1;
                }
            }
            w += 1;
        }
    }
    Ok(())
}

fn finish(r: Reader<'_>, out: &mut Vec<u8>, word: &[u8]) -> Result<()> {
    out.extend_from_slice(word);
    let _ = r; // special values carry no digits; trailing bytes are tolerated as PostgreSQL does
    Ok(())
}

use std::fmt::Write as _;

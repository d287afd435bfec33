//! numeric: text (`-12.3400`, `1.5e3`, `NaN`, `Infinity`) to and from the binary form
//! (u16 ndigits, i16 weight, u16 sign, u16 dscale, ndigits base-10000 digits).

use super::{Reader, Res, malformed, trim};

/// Sign word of a positive (or zero) numeric.
const POS: u16 = 0x0000;
/// Sign word of a negative numeric.
const NEG: u16 = 0x4000;
/// Sign word of NaN.
const NAN: u16 = 0xC000;
/// Sign word of +Infinity (PostgreSQL 14+).
const PINF: u16 = 0xD000;
/// Sign word of -Infinity (PostgreSQL 14+).
const NINF: u16 = 0xF000;
/// The largest display scale (`NUMERIC_DSCALE_MAX`).
const DSCALE_MAX: i64 = 0x3FFF;
/// The largest exponent `numeric_in` accepts (`NUMERIC_MAX_PRECISION`).
const EXPONENT_MAX: i64 = 1000;

/// Writes the 8-byte header.
fn header(out: &mut Vec<u8>, ndigits: u16, weight: i16, sign: u16, dscale: u16) {
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
}

/// `a` divided by 4, rounded toward negative infinity.
fn floor_div4(a: i64) -> i64 {
    a.div_euclid(4)
}

/// numeric: text as `numeric_in` reads it to the binary form `numeric_send` writes: leading and
/// trailing zero base-10000 digits stripped, zero always positive with weight 0, and dscale the
/// number of digits written after the point (less the exponent, if any).
pub(crate) fn numeric_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let bad = || malformed(oid, "not a numeric");
    let s = trim(text);
    let (neg, unsigned) = match s.split_first().ok_or_else(bad)? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    if s.eq_ignore_ascii_case(b"nan") {
        header(out, 0, 0, NAN, 0);
        return Ok(());
    }
    if unsigned.eq_ignore_ascii_case(b"infinity") || unsigned.eq_ignore_ascii_case(b"inf") {
        // numeric_send reads an infinity's special header as a short header, whose dscale bits
        // (0x1F80) of 0xD000/0xF000 say 32.
        header(out, 0, 0, if neg { NINF } else { PINF }, 32);
        return Ok(());
    }
    // Mantissa: integer digits, optional point, fraction digits.
    let int_len = unsigned
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(unsigned.len());
    let int_digits = &unsigned[..int_len];
    let mut rest = &unsigned[int_len..];
    let mut frac_digits: &[u8] = &[];
    if let Some(r) = rest.strip_prefix(b".") {
        let n = r
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(r.len());
        frac_digits = &r[..n];
        rest = &r[n..];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(bad());
    }
    // Optional exponent.
    let mut exponent: i64 = 0;
    if let Some((b'e' | b'E', r)) = rest.split_first() {
        let (eneg, edigits) = match r.split_first() {
            Some((b'-', d)) => (true, d),
            Some((b'+', d)) => (false, d),
            _ => (false, r),
        };
        if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        for &c in edigits {
            exponent = exponent * 10 + i64::from(c - b'0');
            if exponent > EXPONENT_MAX {
                return Err(malformed(oid, "numeric exponent out of range"));
            }
        }
        if eneg {
            exponent = -exponent;
        }
        rest = &[];
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    let too_big = || malformed(oid, "value overflows numeric format");
    let dscale = (frac_digits.len() as i64 - exponent).max(0);
    if dscale > DSCALE_MAX {
        return Err(too_big());
    }
    // The decimal digit k (of int_digits ++ frac_digits) stands for 10^pos(k).
    let digits = || {
        int_digits
            .iter()
            .chain(frac_digits.iter())
            .map(|&c| c - b'0')
    };
    let pos = |k: usize| int_digits.len() as i64 - 1 - k as i64 + exponent;
    let first = digits().position(|d| d != 0);
    let last = match frac_digits.iter().rposition(|&c| c != b'0') {
        Some(p) => Some(int_digits.len() + p),
        None => int_digits.iter().rposition(|&c| c != b'0'),
    };
    let (Some(first), Some(last)) = (first, last) else {
        header(out, 0, 0, POS, dscale as u16);
        return Ok(());
    };
    let weight = floor_div4(pos(first));
    let last_group = floor_div4(pos(last));
    let weight16 = i16::try_from(weight).map_err(|_| too_big())?;
    let ndigits = u16::try_from(weight - last_group + 1).map_err(|_| too_big())?;
    header(
        out,
        ndigits,
        weight16,
        if neg { NEG } else { POS },
        dscale as u16,
    );
    out.reserve(2 * usize::from(ndigits));
    let mut group = weight;
    let mut acc: u16 = 0;
    for (k, d) in digits().enumerate().take(last + 1).skip(first) {
        let p = pos(k);
        let g = floor_div4(p);
        if g != group {
            out.extend_from_slice(&acc.to_be_bytes());
            acc = 0;
            group = g;
        }
        acc += u16::from(d) * [1, 10, 100, 1000][(p - 4 * g) as usize];
    }
    out.extend_from_slice(&acc.to_be_bytes());
    Ok(())
}

/// numeric: binary (validated as `numeric_recv` does) to text as `numeric_out` writes it. As
/// `numeric_recv` does, digits beyond dscale are truncated away.
pub(crate) fn numeric_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let mut r = Reader::new(oid, bytes);
    let ndigits = usize::from(r.u16()?);
    let weight = i64::from(r.i16()?);
    let sign = r.u16()?;
    let dscale = r.u16()?;
    let digits = r.take(2 * ndigits)?;
    r.finish()?;
    if i64::from(dscale) > DSCALE_MAX {
        return Err(malformed(oid, "invalid scale in external numeric value"));
    }
    let digit = |i: i64| -> u16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(2 * i..2 * i + 2))
            .map_or(0, |d| u16::from_be_bytes([d[0], d[1]]))
    };
    if (0..ndigits as i64).any(|i| digit(i) > 9999) {
        return Err(malformed(oid, "invalid digit in external numeric value"));
    }
    match sign {
        POS | NEG => {}
        NAN => {
            out.extend_from_slice(b"NaN");
            return Ok(());
        }
        PINF => {
            out.extend_from_slice(b"Infinity");
            return Ok(());
        }
        NINF => {
            out.extend_from_slice(b"-Infinity");
            return Ok(());
        }
        _ => return Err(malformed(oid, "invalid sign in external numeric value")),
    }
    let start = out.len();
    if sign == NEG {
        out.push(b'-');
    }
    let mut nonzero = false;
    // digits[i] stands for 10000^(weight - i). Integer part: the groups i = 0..=weight, from the
    // first non-zero one.
    let first_int = (0..ndigits as i64)
        .take_while(|&i| i <= weight)
        .find(|&i| digit(i) != 0);
    match first_int {
        None => out.push(b'0'),
        Some(f) => {
            nonzero = true;
            super::push_u64(out, u64::from(digit(f)));
            for i in f + 1..=weight {
                super::push_padded(out, u64::from(digit(i)), 4);
            }
        }
    }
    if dscale > 0 {
        out.push(b'.');
        for j in 0..i64::from(dscale) {
            let g = digit(weight + 1 + j / 4);
            let d = (g / [1000, 100, 10, 1][(j % 4) as usize]) % 10;
            nonzero |= d != 0;
            out.push(b'0' + d as u8);
        }
    }
    if sign == NEG && !nonzero {
        // Zero (after truncation to dscale) is never negative.
        out.remove(start);
    }
    Ok(())
}

//! Leaf types other than numeric and the date/time types: bool, bytea, "char", text-likes,
//! integers, oid, floats, money, uuid, inet/cidr, macaddr/macaddr8.

use super::{Reader, Res, exact, malformed, push_i64, push_u64, trim, unrepresentable};
use std::io::Write as _;

/// Lowercase hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The value of one hex digit.
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `b` as two lowercase hex digits.
fn push_hex(out: &mut Vec<u8>, b: u8) {
    out.push(HEX[usize::from(b >> 4)]);
    out.push(HEX[usize::from(b & 15)]);
}

/// Whether `s` is a non-empty, case-insensitive prefix of `word`.
fn is_prefix_ci(s: &[u8], word: &[u8]) -> bool {
    !s.is_empty() && s.len() <= word.len() && s.eq_ignore_ascii_case(&word[..s.len()])
}

/// PostgreSQL's `parse_bool_with_len`: t/true/y/yes/on/1 and f/false/n/no/off/0, any case, and
/// unique prefixes of the words.
fn parse_bool(s: &[u8]) -> Option<bool> {
    match s.first()?.to_ascii_lowercase() {
        b't' if is_prefix_ci(s, b"true") => Some(true),
        b'f' if is_prefix_ci(s, b"false") => Some(false),
        b'y' if is_prefix_ci(s, b"yes") => Some(true),
        b'n' if is_prefix_ci(s, b"no") => Some(false),
        b'o' if s.eq_ignore_ascii_case(b"on") => Some(true),
        b'o' if s.len() >= 2 && is_prefix_ci(s, b"off") => Some(false),
        b'1' if s.len() == 1 => Some(true),
        b'0' if s.len() == 1 => Some(false),
        _ => None,
    }
}

/// bool: text (`t`/`f`, or any form `boolin` accepts) to one byte 0/1.
pub(crate) fn bool_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let v = parse_bool(trim(text)).ok_or_else(|| malformed(oid, "not a boolean"))?;
    out.push(u8::from(v));
    Ok(())
}

/// bool: one byte (non-zero = true, as `boolrecv`) to `t`/`f`.
pub(crate) fn bool_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let [b] = exact::<1>(oid, bytes)?;
    out.push(if b != 0 { b't' } else { b'f' });
    Ok(())
}

/// bytea: `\x` hex (whitespace between byte pairs allowed) or the legacy escape format (`\\` and
/// `\ooo`) to raw bytes.
pub(crate) fn bytea_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    if let Some(hex) = text.strip_prefix(b"\\x") {
        out.reserve(hex.len() / 2);
        let mut i = 0;
        while i < hex.len() {
            let c = hex[i];
            if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                i += 1;
                continue;
            }
            let hi = hex_val(c).ok_or_else(|| malformed(oid, "invalid hexadecimal digit"))?;
            let lo = hex
                .get(i + 1)
                .ok_or_else(|| malformed(oid, "odd number of hexadecimal digits"))?;
            let lo = hex_val(*lo).ok_or_else(|| malformed(oid, "invalid hexadecimal digit"))?;
            out.push(hi << 4 | lo);
            i += 2;
        }
        return Ok(());
    }
    out.reserve(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            out.push(text[i]);
            i += 1;
            continue;
        }
        match text.get(i + 1..i + 4) {
            Some(&[a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) => {
                out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
                i += 4;
            }
            _ if text.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            _ => return Err(malformed(oid, "invalid escape in bytea escape format")),
        }
    }
    Ok(())
}

/// bytea: raw bytes to `\x` hex.
pub(crate) fn bytea_binary_to_text(bytes: &[u8], out: &mut Vec<u8>) -> Res {
    out.reserve(2 + 2 * bytes.len());
    out.extend_from_slice(b"\\x");
    for &b in bytes {
        push_hex(out, b);
    }
    Ok(())
}

/// Whether `b` is an octal digit.
fn is_octal(b: u8) -> bool {
    matches!(b, b'0'..=b'7')
}

/// "char": text (empty = the zero byte, one byte, or `\ooo` as PostgreSQL 15 writes non-ASCII
/// bytes) to one byte.
pub(crate) fn char_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let b = match *text {
        [] => 0,
        [b] => b,
        [b'\\', a @ b'0'..=b'3', b, c] if is_octal(b) && is_octal(c) => {
            (a - b'0') << 6 | (b - b'0') << 3 | (c - b'0')
        }
        _ => return Err(malformed(oid, "\"char\" text is longer than one byte")),
    };
    out.push(b);
    Ok(())
}

/// "char": one byte to text as `charout` writes it (zero = empty, non-ASCII = `\ooo`).
pub(crate) fn char_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let [b] = exact::<1>(oid, bytes)?;
    if b >= 0x80 {
        out.extend_from_slice(&[
            b'\\',
            b'0' + (b >> 6),
            b'0' + ((b >> 3) & 7),
            b'0' + (b & 7),
        ]);
    } else if b != 0 {
        out.push(b);
    }
    Ok(())
}

/// Text-like types: the binary form is the text; a NUL byte cannot be sent as text.
pub(crate) fn text_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    if bytes.contains(&0) {
        return Err(unrepresentable(oid, "text contains a NUL byte"));
    }
    out.extend_from_slice(bytes);
    Ok(())
}

/// Parses a decimal integer as PostgreSQL 15's `pg_strtoint*` do: surrounding whitespace, an
/// optional sign, at least one digit. None on syntax error or overflow of i64.
pub(crate) fn parse_i64(text: &[u8]) -> Option<i64> {
    let s = trim(text);
    let (neg, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut acc: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_sub(i64::from(c - b'0'))?;
    }
    if neg { Some(acc) } else { acc.checked_neg() }
}

/// int2/int4/int8 (`size` bytes): decimal text to big-endian.
pub(crate) fn int_text_to_binary(oid: u32, text: &[u8], size: usize, out: &mut Vec<u8>) -> Res {
    let v = parse_i64(text).ok_or_else(|| malformed(oid, "not an integer or out of range"))?;
    let bad = || malformed(oid, "integer out of range");
    match size {
        2 => out.extend_from_slice(&i16::try_from(v).map_err(|_| bad())?.to_be_bytes()),
        4 => out.extend_from_slice(&i32::try_from(v).map_err(|_| bad())?.to_be_bytes()),
        _ => out.extend_from_slice(&v.to_be_bytes()),
    }
    Ok(())
}

/// int2/int4/int8 (`size` bytes): big-endian to decimal text.
pub(crate) fn int_binary_to_text(oid: u32, bytes: &[u8], size: usize, out: &mut Vec<u8>) -> Res {
    let v = match size {
        2 => i64::from(i16::from_be_bytes(exact(oid, bytes)?)),
        4 => i64::from(i32::from_be_bytes(exact(oid, bytes)?)),
        _ => i64::from_be_bytes(exact(oid, bytes)?),
    };
    push_i64(out, v);
    Ok(())
}

/// oid: unsigned decimal text to a big-endian u32.
pub(crate) fn oid_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let s = trim(text);
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed(oid, "not an unsigned integer"));
    }
    let mut acc: u32 = 0;
    for &c in digits {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(u32::from(c - b'0')))
            .ok_or_else(|| malformed(oid, "oid out of range"))?;
    }
    out.extend_from_slice(&acc.to_be_bytes());
    Ok(())
}

/// oid: big-endian u32 to decimal text.
pub(crate) fn oid_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    push_u64(out, u64::from(u32::from_be_bytes(exact(oid, bytes)?)));
    Ok(())
}

/// What a float's text is: a special value, or a finite number to parse.
enum FloatText<'a> {
    /// NaN
    NaN,
    /// Infinity or -Infinity
    Inf(bool),
    /// A finite decimal number (already checked to contain only `0-9 . e E + -`), and whether its
    /// mantissa has a non-zero digit.
    Finite(&'a str, bool),
}

/// Classifies float text as `float4in`/`float8in` would read it.
fn float_text(text: &[u8]) -> Option<FloatText<'_>> {
    let s = trim(text);
    let (neg, unsigned) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    if s.eq_ignore_ascii_case(b"nan") {
        return Some(FloatText::NaN);
    }
    if unsigned.eq_ignore_ascii_case(b"infinity") || unsigned.eq_ignore_ascii_case(b"inf") {
        return Some(FloatText::Inf(neg));
    }
    if !s
        .iter()
        .all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let mantissa_end = s
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(s.len());
    let nonzero = s[..mantissa_end].iter().any(|&c| matches!(c, b'1'..=b'9'));
    Some(FloatText::Finite(std::str::from_utf8(s).ok()?, nonzero))
}

/// float8: text (shortest round-trip digits, `NaN`, `Infinity`, `-Infinity`) to IEEE bits.
pub(crate) fn float8_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let v = match float_text(text).ok_or_else(|| malformed(oid, "not a number"))? {
        FloatText::NaN => f64::NAN,
        FloatText::Inf(neg) => {
            if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        FloatText::Finite(s, nonzero) => {
            let v: f64 = s.parse().map_err(|_| malformed(oid, "not a number"))?;
            if v.is_infinite() || (v == 0.0 && nonzero) {
                return Err(malformed(oid, "out of range for type double precision"));
            }
            v
        }
    };
    out.extend_from_slice(&v.to_bits().to_be_bytes());
    Ok(())
}

/// float4: text to IEEE bits (parsed directly as f32: no double rounding).
pub(crate) fn float4_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let v = match float_text(text).ok_or_else(|| malformed(oid, "not a number"))? {
        FloatText::NaN => f32::NAN,
        FloatText::Inf(neg) => {
            if neg {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            }
        }
        FloatText::Finite(s, nonzero) => {
            let v: f32 = s.parse().map_err(|_| malformed(oid, "not a number"))?;
            if v.is_infinite() || (v == 0.0 && nonzero) {
                return Err(malformed(oid, "out of range for type real"));
            }
            v
        }
    };
    out.extend_from_slice(&v.to_bits().to_be_bytes());
    Ok(())
}

/// Appends a float's text: `NaN`, `Infinity`, `-Infinity`, or Rust's shortest round-trip digits
/// (plain for moderate magnitudes, `1.5e-7`/`1e20` style otherwise; `strtod` reads both).
fn push_float(out: &mut Vec<u8>, v: f64, is_f32: bool) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-Infinity" } else { b"Infinity" });
    } else {
        let a = v.abs();
        let plain = a == 0.0 || (1e-4..1e16).contains(&a);
        // Writing to a Vec cannot fail.
        let _ = match (plain, is_f32) {
            (true, true) => write!(out, "{}", v as f32),
            (false, true) => write!(out, "{:e}", v as f32),
            (true, false) => write!(out, "{v}"),
            (false, false) => write!(out, "{v:e}"),
        };
    }
}

/// float8: IEEE bits to text that reads back to the same bits (NaN payloads excepted).
pub(crate) fn float8_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    push_float(
        out,
        f64::from_bits(u64::from_be_bytes(exact(oid, bytes)?)),
        false,
    );
    Ok(())
}

/// float4: IEEE bits to text that reads back to the same bits (NaN payloads excepted).
pub(crate) fn float4_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let v = f32::from_bits(u32::from_be_bytes(exact(oid, bytes)?));
    push_float(out, f64::from(v), true);
    Ok(())
}

/// money: text as `cash_out` writes it with a 2-digit lc_monetary such as C or en_US
/// (`$1,234.56`, `-$1.00`, `($1.00)`, `1234.56`; exactly two decimals) to i64 cents.
pub(crate) fn money_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let bad = || malformed(oid, "not a money amount");
    let s = text;
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while s.get(*i).is_some_and(|&c| super::is_space(c)) {
            *i += 1;
        }
    };
    let skip = |i: &mut usize, c: u8| {
        if s.get(*i) == Some(&c) {
            *i += 1;
        }
    };
    let mut neg = false;
    skip_ws(&mut i);
    skip(&mut i, b'$');
    skip_ws(&mut i);
    match s.get(i) {
        Some(b'-') | Some(b'(') => {
            neg = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    skip_ws(&mut i);
    skip(&mut i, b'$');
    skip_ws(&mut i);
    let mut value: i128 = 0;
    let mut digits = 0u32;
    let mut decimals: Option<u32> = None;
    // Cents, as a magnitude; one past i64::MAX is i64::MIN's, and anything larger fails early.
    let limit = i128::from(i64::MAX) + 1;
    while let Some(&c) = s.get(i) {
        if c.is_ascii_digit() {
            if decimals == Some(2) {
                break;
            }
            value = value * 10 + i128::from(c - b'0');
            if value > limit {
                return Err(malformed(oid, "money out of range"));
            }
            digits += 1;
            if let Some(d) = decimals.as_mut() {
                *d += 1;
            }
        } else if c == b'.' && decimals.is_none() {
            decimals = Some(0);
        } else if c == b',' && decimals.is_none() {
            // thousands separator
        } else {
            break;
        }
        i += 1;
    }
    // Exactly two decimals, as PostgreSQL writes money with a 2-digit lc_monetary: with 0 or 3
    // (another locale), the binary unit is not the cent and the value would be misread.
    if digits == 0 || decimals != Some(2) || s.get(i).is_some_and(u8::is_ascii_digit) {
        return Err(malformed(
            oid,
            "money text must have exactly two decimal places",
        ));
    }
    while let Some(&c) = s.get(i) {
        match c {
            b'-' => neg = true,
            b')' | b'+' | b'$' => {}
            c if super::is_space(c) => {}
            _ => return Err(bad()),
        }
        i += 1;
    }
    let value = if neg { -value } else { value };
    let v = i64::try_from(value).map_err(|_| malformed(oid, "money out of range"))?;
    out.extend_from_slice(&v.to_be_bytes());
    Ok(())
}

/// money: i64 cents to plain `1234.56` / `-1234.56` (no currency symbol or separators).
pub(crate) fn money_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let v = i64::from_be_bytes(exact(oid, bytes)?);
    if v < 0 {
        out.push(b'-');
    }
    let a = v.unsigned_abs();
    push_u64(out, a / 100);
    out.push(b'.');
    super::push_padded(out, a % 100, 2);
    Ok(())
}

/// uuid: text as `uuid_in` reads it (optional braces, hex digit pairs, an optional hyphen after
/// any even group of four digits) to 16 bytes.
pub(crate) fn uuid_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let bad = || malformed(oid, "not a uuid");
    let (braces, mut s) = match text.strip_prefix(b"{") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let (&[a, b], rest) = s.split_first_chunk::<2>().ok_or_else(bad)?;
        *byte = hex_val(a).ok_or_else(bad)? << 4 | hex_val(b).ok_or_else(bad)?;
        s = rest;
        if i % 2 == 1 && i < 15 {
            if let Some(rest) = s.strip_prefix(b"-") {
                s = rest;
            }
        }
    }
    if braces {
        s = s.strip_prefix(b"}").ok_or_else(bad)?;
    }
    if !s.is_empty() {
        return Err(bad());
    }
    out.extend_from_slice(&bytes);
    Ok(())
}

/// uuid: 16 bytes to lowercase hyphenated text.
pub(crate) fn uuid_binary_to_text(oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    let b = exact::<16>(oid, bytes)?;
    for (i, &x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        push_hex(out, x);
    }
    Ok(())
}

/// `PGSQL_AF_INET`, the family byte of an IPv4 inet/cidr.
const AF_INET: u8 = 2;
/// `PGSQL_AF_INET6`, the family byte of an IPv6 inet/cidr.
const AF_INET6: u8 = 3;

/// A dotted-quad IPv4 address.
fn parse_ipv4(s: &[u8]) -> Option<[u8; 4]> {
    let mut a = [0u8; 4];
    let mut parts = s.split(|&c| c == b'.');
    for byte in a.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = p
            .iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
        *byte = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(a)
}

/// Colon-separated IPv6 groups (the last may be a dotted quad when `allow_v4`) into `buf`;
/// returns the number of bytes.
fn parse_ipv6_groups(s: &[u8], buf: &mut [u8; 16], allow_v4: bool) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut parts = s.split(|&c| c == b':').peekable();
    while let Some(p) = parts.next() {
        let last = parts.peek().is_none();
        if last && allow_v4 && p.contains(&b'.') {
            let v4 = parse_ipv4(p)?;
            buf.get_mut(n..n + 4)?.copy_from_slice(&v4);
            n += 4;
        } else {
            if p.is_empty() || p.len() > 4 {
                return None;
            }
            let mut w: u16 = 0;
            for &c in p {
                w = w << 4 | u16::from(hex_val(c)?);
            }
            buf.get_mut(n..n + 2)?.copy_from_slice(&w.to_be_bytes());
            n += 2;
        }
    }
    Some(n)
}

/// An IPv6 address with an optional `::` and an optional trailing dotted quad.
fn parse_ipv6(s: &[u8]) -> Option<[u8; 16]> {
    let gap = s.windows(2).position(|w| w == b"::");
    let mut addr = [0u8; 16];
    match gap {
        None => {
            if parse_ipv6_groups(s, &mut addr, true)? != 16 {
                return None;
            }
        }
        Some(p) => {
            let (head, tail) = (&s[..p], &s[p + 2..]);
            if tail.windows(2).any(|w| w == b"::") {
                return None;
            }
            let mut h = [0u8; 16];
            let mut t = [0u8; 16];
            let hn = parse_ipv6_groups(head, &mut h, false)?;
            let tn = parse_ipv6_groups(tail, &mut t, true)?;
            if hn + tn > 14 {
                return None;
            }
            addr[..hn].copy_from_slice(&h[..hn]);
            addr[16 - tn..].copy_from_slice(&t[..tn]);
        }
    }
    Some(addr)
}

/// Whether every bit of `addr` after the first `bits` is zero.
fn host_bits_zero(addr: &[u8], bits: u8) -> bool {
    addr.iter().enumerate().all(|(i, &b)| {
        let start = i * 8;
        let keep = usize::from(bits).saturating_sub(start).min(8);
        let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        b & !mask == 0
    })
}

/// inet/cidr: `addr[/bits]` (no `/bits` = the full length) to family, bits, is_cidr, nbytes,
/// address. A cidr with bits set right of its mask is an error, as in `cidr_in`.
pub(crate) fn inet_text_to_binary(oid: u32, text: &[u8], is_cidr: bool, out: &mut Vec<u8>) -> Res {
    let bad = || malformed(oid, "not a network address");
    let (addr, bits) = match text.iter().position(|&c| c == b'/') {
        Some(p) => (&text[..p], Some(&text[p + 1..])),
        None => (text, None),
    };
    let mut buf = [0u8; 16];
    let (family, max, len) = if addr.contains(&b':') {
        buf = parse_ipv6(addr).ok_or_else(bad)?;
        (AF_INET6, 128u8, 16usize)
    } else {
        buf[..4].copy_from_slice(&parse_ipv4(addr).ok_or_else(bad)?);
        (AF_INET, 32u8, 4usize)
    };
    let bits = match bits {
        None => max,
        Some(b) => {
            if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            let v = b
                .iter()
                .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
            u8::try_from(v).ok().filter(|&v| v <= max).ok_or_else(bad)?
        }
    };
    if is_cidr && !host_bits_zero(&buf[..len], bits) {
        return Err(malformed(oid, "cidr value has bits set to right of mask"));
    }
    out.extend_from_slice(&[family, bits, u8::from(is_cidr), len as u8]);
    out.extend_from_slice(&buf[..len]);
    Ok(())
}

/// Appends an IPv6 address as PostgreSQL's `inet_net_ntop_ipv6` writes it (longest run of two or
/// more zero groups as `::`, IPv4-mapped/compatible tails as a dotted quad).
fn push_ipv6(out: &mut Vec<u8>, a: &[u8; 16]) {
    let mut words = [0u16; 8];
    for (i, w) in words.iter_mut().enumerate() {
        *w = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    // Longest run of zero words (the first of equal ones), if at least two long.
    let (mut best_base, mut best_len) = (usize::MAX, 0usize);
    let (mut cur_base, mut cur_len) = (usize::MAX, 0usize);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            if cur_base == usize::MAX {
                cur_base = i;
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if cur_base != usize::MAX {
            if best_base == usize::MAX || cur_len > best_len {
                (best_base, best_len) = (cur_base, cur_len);
            }
            cur_base = usize::MAX;
        }
    }
    if cur_base != usize::MAX && (best_base == usize::MAX || cur_len > best_len) {
        (best_base, best_len) = (cur_base, cur_len);
    }
    if best_base != usize::MAX && best_len < 2 {
        best_base = usize::MAX;
    }
    for (i, &w) in words.iter().enumerate() {
        if best_base != usize::MAX && i >= best_base && i < best_base + best_len {
            if i == best_base {
                out.push(b':');
            }
            continue;
        }
        if i != 0 {
            out.push(b':');
        }
        if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            push_ipv4(out, &[a[12], a[13], a[14], a[15]]);
            return;
        }
        let _ = write!(out, "{w:x}");
    }
    if best_base != usize::MAX && best_base + best_len == 8 {
        out.push(b':');
    }
}

/// Appends a dotted quad.
fn push_ipv4(out: &mut Vec<u8>, a: &[u8; 4]) {
    for (i, &b) in a.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        push_u64(out, u64::from(b));
    }
}

/// inet/cidr: binary (validated as `network_recv` does) to text as `inet_out`/`cidr_out` write it.
pub(crate) fn inet_binary_to_text(oid: u32, bytes: &[u8], is_cidr: bool, out: &mut Vec<u8>) -> Res {
    let mut r = Reader::new(oid, bytes);
    let family = r.u8()?;
    let bits = r.u8()?;
    let _is_cidr_flag = r.u8()?; // ignored, as by network_recv
    let nb = usize::from(r.u8()?);
    let (max, len) = match family {
        AF_INET => (32u8, 4usize),
        AF_INET6 => (128u8, 16usize),
        _ => return Err(malformed(oid, "invalid address family")),
    };
    if bits > max {
        return Err(malformed(oid, "invalid bits"));
    }
    if nb != len {
        return Err(malformed(oid, "invalid address length"));
    }
    let addr = r.take(len)?;
    r.finish()?;
    if is_cidr && !host_bits_zero(addr, bits) {
        return Err(malformed(oid, "cidr value has bits set to right of mask"));
    }
    if family == AF_INET {
        push_ipv4(out, &exact::<4>(oid, addr)?);
    } else {
        push_ipv6(out, &exact::<16>(oid, addr)?);
    }
    if is_cidr || bits != max {
        out.push(b'/');
        push_u64(out, u64::from(bits));
    }
    Ok(())
}

/// macaddr: `08:00:2b:01:02:03`, `08-00-2b-01-02-03`, `08002b:010203`, `08002b-010203`,
/// `0800.2b01.0203`, `0800-2b01-0203` or `08002b010203` to 6 bytes.
pub(crate) fn macaddr_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let bad = || malformed(oid, "not a MAC address");
    let s = trim(text);
    let sep = s.iter().copied().find(|c| !c.is_ascii_hexdigit());
    let mut groups = [0usize; 7];
    let mut ngroups = 0;
    match sep {
        None => {
            groups[0] = s.len();
            ngroups = 1;
        }
        Some(sep) => {
            if !matches!(sep, b':' | b'-' | b'.') {
                return Err(bad());
            }
            for g in s.split(|&c| c == sep) {
                *groups.get_mut(ngroups).ok_or_else(bad)? = g.len();
                ngroups += 1;
            }
        }
    }
    let ok = matches!(
        (&groups[..ngroups], sep),
        ([12], None)
            | ([2, 2, 2, 2, 2, 2], Some(b':' | b'-'))
            | ([6, 6], Some(b':' | b'-'))
            | ([4, 4, 4], Some(b'.' | b'-'))
    );
    if !ok {
        return Err(bad());
    }
    let mut bytes = [0u8; 6];
    let mut digits = s.iter().filter(|c| c.is_ascii_hexdigit());
    for b in bytes.iter_mut() {
        let hi = digits.next().and_then(|&c| hex_val(c)).ok_or_else(bad)?;
        let lo = digits.next().and_then(|&c| hex_val(c)).ok_or_else(bad)?;
        *b = hi << 4 | lo;
    }
    out.extend_from_slice(&bytes);
    Ok(())
}

/// macaddr8: 8 (or 6, made EUI-64 by inserting `ff:fe` as `macaddr8_in` does) hex byte pairs, with
/// one kind of separator (`:`, `-` or `.`) optionally between pairs, to 8 bytes.
pub(crate) fn macaddr8_text_to_binary(oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    let bad = || malformed(oid, "not a MAC address");
    let s = trim(text);
    let mut bytes = [0u8; 8];
    let mut n = 0;
    let mut sep: Option<u8> = None;
    let mut i = 0;
    while i < s.len() {
        if n > 0 && matches!(s[i], b':' | b'-' | b'.') {
            if *sep.get_or_insert(s[i]) != s[i] {
                return Err(bad());
            }
            i += 1;
        }
        let hi = s.get(i).and_then(|&c| hex_val(c)).ok_or_else(bad)?;
        let lo = s.get(i + 1).and_then(|&c| hex_val(c)).ok_or_else(bad)?;
        *bytes.get_mut(n).ok_or_else(bad)? = hi << 4 | lo;
        n += 1;
        i += 2;
    }
    match n {
        8 => out.extend_from_slice(&bytes),
        6 => out.extend_from_slice(&[
            bytes[0], bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5],
        ]),
        _ => return Err(bad()),
    }
    Ok(())
}

/// macaddr/macaddr8 (`len` bytes): to lowercase colon-separated hex pairs.
pub(crate) fn macaddr_binary_to_text(oid: u32, bytes: &[u8], len: usize, out: &mut Vec<u8>) -> Res {
    if bytes.len() != len {
        return Err(malformed(oid, "binary value has the wrong length"));
    }
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        push_hex(out, b);
    }
    Ok(())
}

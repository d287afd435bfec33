//! Random values in binary form, as Diesel (or PostgreSQL) would write them, for round trips.
//!
//! Every value is in the canonical form `text_to_binary` writes, so that a round trip through
//! text must give the same bytes: NaNs are the canonical NaN, numerics are stripped, arrays have
//! a correct has_null flag, infinite range bounds are not inclusive. Independent of the codec's
//! internals (it has its own tables of built-in arrays and ranges).

use super::{Shape, TypeLookup, oid};
use rand::Rng;
use rand::seq::SliceRandom;

/// Built-in scalar types.
pub(crate) const SCALARS: &[u32] = &[
    oid::BOOL,
    oid::BYTEA,
    oid::CHAR,
    oid::NAME,
    oid::TEXT,
    oid::VARCHAR,
    oid::BPCHAR,
    oid::UNKNOWN,
    oid::JSON,
    oid::XML,
    oid::INT8,
    oid::INT2,
    oid::INT4,
    oid::OID,
    oid::FLOAT4,
    oid::FLOAT8,
    oid::MONEY,
    oid::NUMERIC,
    oid::DATE,
    oid::TIME,
    oid::TIMETZ,
    oid::TIMESTAMP,
    oid::TIMESTAMPTZ,
    oid::INTERVAL,
    oid::UUID,
    oid::JSONB,
    oid::INET,
    oid::CIDR,
    oid::MACADDR,
    oid::MACADDR8,
];

/// Built-in ranges and their subtypes.
pub(crate) const RANGES: &[(u32, u32)] = &[
    (oid::INT4RANGE, oid::INT4),
    (oid::INT8RANGE, oid::INT8),
    (oid::NUMRANGE, oid::NUMERIC),
    (oid::TSRANGE, oid::TIMESTAMP),
    (oid::TSTZRANGE, oid::TIMESTAMPTZ),
    (oid::DATERANGE, oid::DATE),
];

/// Built-in arrays and their elements.
pub(crate) const ARRAYS: &[(u32, u32)] = &[
    (oid::BOOL_ARRAY, oid::BOOL),
    (oid::BYTEA_ARRAY, oid::BYTEA),
    (oid::CHAR_ARRAY, oid::CHAR),
    (oid::NAME_ARRAY, oid::NAME),
    (oid::INT8_ARRAY, oid::INT8),
    (oid::INT2_ARRAY, oid::INT2),
    (oid::INT4_ARRAY, oid::INT4),
    (oid::TEXT_ARRAY, oid::TEXT),
    (oid::OID_ARRAY, oid::OID),
    (oid::JSON_ARRAY, oid::JSON),
    (oid::XML_ARRAY, oid::XML),
    (oid::CIDR_ARRAY, oid::CIDR),
    (oid::FLOAT4_ARRAY, oid::FLOAT4),
    (oid::FLOAT8_ARRAY, oid::FLOAT8),
    (oid::MACADDR8_ARRAY, oid::MACADDR8),
    (oid::MONEY_ARRAY, oid::MONEY),
    (oid::MACADDR_ARRAY, oid::MACADDR),
    (oid::INET_ARRAY, oid::INET),
    (oid::BPCHAR_ARRAY, oid::BPCHAR),
    (oid::VARCHAR_ARRAY, oid::VARCHAR),
    (oid::DATE_ARRAY, oid::DATE),
    (oid::TIME_ARRAY, oid::TIME),
    (oid::TIMESTAMP_ARRAY, oid::TIMESTAMP),
    (oid::TIMESTAMPTZ_ARRAY, oid::TIMESTAMPTZ),
    (oid::INTERVAL_ARRAY, oid::INTERVAL),
    (oid::TIMETZ_ARRAY, oid::TIMETZ),
    (oid::NUMERIC_ARRAY, oid::NUMERIC),
    (oid::UUID_ARRAY, oid::UUID),
    (oid::JSONB_ARRAY, oid::JSONB),
    (oid::INT4RANGE_ARRAY, oid::INT4RANGE),
    (oid::NUMRANGE_ARRAY, oid::NUMRANGE),
    (oid::TSRANGE_ARRAY, oid::TSRANGE),
    (oid::TSTZRANGE_ARRAY, oid::TSTZRANGE),
    (oid::DATERANGE_ARRAY, oid::DATERANGE),
    (oid::INT8RANGE_ARRAY, oid::INT8RANGE),
];

/// Microseconds in a day.
const DAY: i64 = 86_400_000_000;

/// Awkward characters for text values.
const SPICE: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ",", "\"", "\\", " ", "\t", "\n", "NULL", "null", "é", "😀", "'",
    "=", ":", ";", "a", "b", "Z", "0", "-", ".",
];

/// A random string of awkward pieces (no NUL).
pub(crate) fn text(rng: &mut impl Rng) -> String {
    if rng.gen_bool(0.1) {
        return ["", "NULL", "null", " ", "\"\"", "\\"]
            .choose(rng)
            .unwrap()
            .to_string();
    }
    let n = rng.gen_range(0..8);
    (0..n).map(|_| *SPICE.choose(rng).unwrap()).collect()
}

/// A random valid JSON text.
fn json(rng: &mut impl Rng, depth: u32) -> String {
    match rng.gen_range(0..if depth > 2 { 4 } else { 6 }) {
        0 => "null".into(),
        1 => rng.gen_range(-1000..1000).to_string(),
        2 => "true".into(),
        3 => {
            let s: String = text(rng)
                .chars()
                .map(|c| match c {
                    '"' => "\\\"".to_string(),
                    '\\' => "\\\\".to_string(),
                    '\n' => "\\n".to_string(),
                    '\t' => "\\t".to_string(),
                    c => c.to_string(),
                })
                .collect();
            format!("\"{s}\"")
        }
        4 => {
            let n = rng.gen_range(0..3);
            let v: Vec<String> = (0..n).map(|_| json(rng, depth + 1)).collect();
            format!("[{}]", v.join(", "))
        }
        _ => {
            let n = rng.gen_range(0..3);
            let v: Vec<String> = (0..n)
                .map(|i| format!("\"k{i}\": {}", json(rng, depth + 1)))
                .collect();
            format!("{{{}}}", v.join(", "))
        }
    }
}

/// A canonical numeric: sign, weight, dscale and base-10000 digits without leading or trailing
/// zero digits, dscale at least what the digits need.
fn numeric(rng: &mut impl Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let head = |out: &mut Vec<u8>, n: u16, w: i16, s: u16, d: u16| {
        for x in [
            n.to_be_bytes(),
            w.to_be_bytes(),
            s.to_be_bytes(),
            d.to_be_bytes(),
        ] {
            out.extend_from_slice(&x);
        }
    };
    match rng.gen_range(0..20) {
        0 => head(&mut out, 0, 0, 0xC000, 0),
        1 => head(&mut out, 0, 0, 0xD000, 32),
        2 => head(&mut out, 0, 0, 0xF000, 32),
        3 => head(&mut out, 0, 0, 0, rng.gen_range(0..20)),
        _ => {
            let n: usize = rng.gen_range(1..8);
            let mut digits: Vec<u16> = (0..n).map(|_| rng.gen_range(0..10000)).collect();
            digits[0] = rng.gen_range(1..10000);
            let last = digits.len() - 1;
            digits[last] = rng.gen_range(1..10000);
            let weight: i16 = if rng.gen_bool(0.1) {
                rng.gen_range(-200..200)
            } else {
                rng.gen_range(-4..6)
            };
            // Decimal places the digits need: groups after the point, less trailing zeros.
            let frac_groups = (n as i64 - 1 - i64::from(weight)).max(0);
            let mut need = 4 * frac_groups;
            if frac_groups > 0 {
                let mut d = digits[last];
                while d % 10 == 0 {
                    d /= 10;
                    need -= 1;
                }
            }
            let dscale = (need + rng.gen_range(0..4)) as u16;
            let sign = if rng.gen_bool(0.5) { 0x4000 } else { 0 };
            head(&mut out, n as u16, weight, sign, dscale);
            for d in digits {
                out.extend_from_slice(&d.to_be_bytes());
            }
        }
    }
    out
}

/// A canonical numeric for `mantissa / 10^scale` (dscale = scale).
pub(crate) fn numeric_from(mantissa: i64, scale: u32) -> Vec<u8> {
    let a = mantissa.unsigned_abs();
    let p = 10u64.pow(scale);
    let (int, frac) = (a / p, a % p);
    let frac_groups = scale.div_ceil(4);
    let mut frac = u128::from(frac) * 10u128.pow(4 * frac_groups - scale);
    let mut fg = Vec::new();
    for _ in 0..frac_groups {
        fg.push((frac % 10000) as u16);
        frac /= 10000;
    }
    fg.reverse();
    let mut ig = Vec::new();
    let mut i = int;
    while i > 0 {
        ig.push((i % 10000) as u16);
        i /= 10000;
    }
    ig.reverse();
    let mut weight = ig.len() as i16 - 1;
    let mut digits: Vec<u16> = ig.into_iter().chain(fg).collect();
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let (weight, sign) = if digits.is_empty() {
        (0, 0u16)
    } else {
        (weight, if mantissa < 0 { 0x4000 } else { 0 })
    };
    let mut out = Vec::new();
    out.extend_from_slice(&(digits.len() as u16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

/// A random value of built-in scalar type `t`.
fn scalar(rng: &mut impl Rng, t: u32) -> Vec<u8> {
    match t {
        oid::BOOL => vec![rng.gen_range(0..2)],
        oid::BYTEA => (0..rng.gen_range(0..10)).map(|_| rng.r#gen()).collect(),
        oid::CHAR => vec![rng.r#gen()],
        oid::NAME | oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::UNKNOWN => text(rng).into_bytes(),
        oid::JSON => json(rng, 0).into_bytes(),
        oid::JSONB => [&[1u8][..], json(rng, 0).as_bytes()].concat(),
        oid::XML => {
            let t: String = text(rng)
                .chars()
                .map(|c| match c {
                    '<' => "&lt;".to_string(),
                    '&' => "&amp;".to_string(),
                    c => c.to_string(),
                })
                .collect();
            format!("<a>{t}</a>").into_bytes()
        }
        oid::INT2 => rng.r#gen::<i16>().to_be_bytes().to_vec(),
        oid::INT4 => rng.r#gen::<i32>().to_be_bytes().to_vec(),
        oid::INT8 | oid::MONEY => {
            let v: i64 = match rng.gen_range(0..10) {
                0 => *[i64::MIN, i64::MAX, 0, -1].choose(rng).unwrap(),
                1..=4 => rng.gen_range(-100_000..100_000),
                _ => rng.r#gen(),
            };
            v.to_be_bytes().to_vec()
        }
        oid::OID => rng.r#gen::<u32>().to_be_bytes().to_vec(),
        oid::FLOAT4 => {
            let v = match rng.gen_range(0..10) {
                0 => *[
                    0.0,
                    -0.0,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::MIN_POSITIVE,
                    f32::MAX,
                ]
                .choose(rng)
                .unwrap(),
                1..=3 => rng.gen_range(-1000.0..1000.0),
                _ => f32::from_bits(rng.r#gen()),
            };
            let v = if v.is_nan() { f32::NAN } else { v };
            v.to_bits().to_be_bytes().to_vec()
        }
        oid::FLOAT8 => {
            let v = match rng.gen_range(0..10) {
                0 => *[
                    0.0,
                    -0.0,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::MIN_POSITIVE,
                    f64::MAX,
                    5e-324,
                ]
                .choose(rng)
                .unwrap(),
                1..=3 => rng.gen_range(-1000.0..1000.0),
                _ => f64::from_bits(rng.r#gen()),
            };
            let v = if v.is_nan() { f64::NAN } else { v };
            v.to_bits().to_be_bytes().to_vec()
        }
        oid::NUMERIC => numeric(rng),
        oid::DATE => {
            let v: i32 = match rng.gen_range(0..10) {
                0 => *[i32::MAX, i32::MIN, -2_451_545, 2_147_483_493 - 2_451_545]
                    .choose(rng)
                    .unwrap(),
                1..=5 => rng.gen_range(-800_000..800_000),
                _ => rng.gen_range(-2_451_545..2_147_483_494 - 2_451_545),
            };
            v.to_be_bytes().to_vec()
        }
        oid::TIME => rng.gen_range(0..=DAY).to_be_bytes().to_vec(),
        oid::TIMETZ => {
            let mut v = rng.gen_range(0..=DAY).to_be_bytes().to_vec();
            let zone: i32 = if rng.gen_bool(0.5) {
                rng.gen_range(-57599..=57599)
            } else {
                rng.gen_range(-15 * 4..=15 * 4) * 900
            };
            v.extend_from_slice(&zone.to_be_bytes());
            v
        }
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let v: i64 = match rng.gen_range(0..10) {
                0 => *[
                    i64::MAX,
                    i64::MIN,
                    -211_813_488_000_000_000,
                    9_223_371_331_199_999_999,
                ]
                .choose(rng)
                .unwrap(),
                1..=5 => rng.gen_range(-100_000 * DAY..100_000 * DAY),
                _ => rng.gen_range(-211_813_488_000_000_000..9_223_371_331_200_000_000),
            };
            v.to_be_bytes().to_vec()
        }
        oid::INTERVAL => {
            let mut v = Vec::new();
            let small = rng.gen_bool(0.5);
            let t: i64 = if small {
                rng.gen_range(-10 * DAY..10 * DAY)
            } else {
                rng.r#gen()
            };
            let d: i32 = if small {
                rng.gen_range(-100..100)
            } else {
                rng.r#gen()
            };
            let m: i32 = if small {
                rng.gen_range(-100..100)
            } else {
                rng.r#gen()
            };
            v.extend_from_slice(&t.to_be_bytes());
            v.extend_from_slice(&d.to_be_bytes());
            v.extend_from_slice(&m.to_be_bytes());
            v
        }
        oid::UUID => (0..16).map(|_| rng.r#gen()).collect(),
        oid::INET | oid::CIDR => {
            let v6 = rng.gen_bool(0.5);
            let (max, len) = if v6 { (128u8, 16usize) } else { (32, 4) };
            let bits = if rng.gen_bool(0.3) {
                max
            } else {
                rng.gen_range(0..=max)
            };
            let mut addr: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            if v6 && rng.gen_bool(0.5) {
                // zero runs, IPv4-mapped and -compatible forms
                let start = rng.gen_range(0..8);
                let end = rng.gen_range(start..=8);
                for b in &mut addr[2 * start..2 * end] {
                    *b = 0;
                }
                if rng.gen_bool(0.2) {
                    addr[..10].fill(0);
                    addr[10] = 0xff;
                    addr[11] = 0xff;
                }
            }
            let cidr = t == oid::CIDR;
            if cidr {
                for (i, b) in addr.iter_mut().enumerate() {
                    let keep = usize::from(bits).saturating_sub(i * 8).min(8);
                    *b &= if keep == 0 { 0 } else { 0xff << (8 - keep) };
                }
            }
            let mut v = vec![if v6 { 3 } else { 2 }, bits, u8::from(cidr), len as u8];
            v.extend_from_slice(&addr);
            v
        }
        oid::MACADDR => (0..6).map(|_| rng.r#gen()).collect(),
        oid::MACADDR8 => (0..8).map(|_| rng.r#gen()).collect(),
        _ => panic!("no generator for scalar {t}"),
    }
}

/// A random range of `subtype` (bounds in order, so that PostgreSQL accepts it; discrete ranges
/// in canonical `[)` form).
fn range(rng: &mut impl Rng, subtype: u32, types: &dyn TypeLookup, depth: u32) -> Vec<u8> {
    if rng.gen_bool(0.1) {
        return vec![1];
    }
    let discrete = matches!(subtype, oid::INT4 | oid::INT8 | oid::DATE);
    let (lo, hi): (Vec<u8>, Vec<u8>) = match subtype {
        oid::INT4 => {
            let a = rng.gen_range(-1000..1000i32);
            let b = a + rng.gen_range(1..100);
            (a.to_be_bytes().to_vec(), b.to_be_bytes().to_vec())
        }
        oid::INT8 => {
            let a = rng.gen_range(-1000..1000i64);
            let b = a + rng.gen_range(1..100);
            (a.to_be_bytes().to_vec(), b.to_be_bytes().to_vec())
        }
        oid::DATE => {
            let a = rng.gen_range(-100_000..100_000i32);
            let b = a + rng.gen_range(1..100);
            (a.to_be_bytes().to_vec(), b.to_be_bytes().to_vec())
        }
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let a = rng.gen_range(-100_000 * DAY..100_000 * DAY);
            let b = a + rng.gen_range(1..10 * DAY);
            (a.to_be_bytes().to_vec(), b.to_be_bytes().to_vec())
        }
        oid::NUMERIC => {
            let a = rng.gen_range(-1_000_000..1_000_000i64);
            let b = a + rng.gen_range(1..1_000_000);
            let scale = rng.gen_range(0..7);
            (numeric_from(a, scale), numeric_from(b, scale))
        }
        oid::FLOAT8 => {
            let a = rng.gen_range(-1000.0..1000.0f64);
            let b = a + rng.gen_range(0.5..10.0);
            (
                a.to_bits().to_be_bytes().to_vec(),
                b.to_bits().to_be_bytes().to_vec(),
            )
        }
        _ => (
            value(rng, subtype, types, depth + 1),
            value(rng, subtype, types, depth + 1),
        ),
    };
    let lo_inf = rng.gen_bool(0.2);
    let hi_inf = rng.gen_bool(0.2);
    let mut flags = 0u8;
    if lo_inf {
        flags |= 0x08;
    } else if discrete || rng.gen_bool(0.5) {
        flags |= 0x02;
    }
    if hi_inf {
        flags |= 0x10;
    } else if !discrete && rng.gen_bool(0.5) {
        flags |= 0x04;
    }
    let mut v = vec![flags];
    for (inf, b) in [(lo_inf, lo), (hi_inf, hi)] {
        if !inf {
            v.extend_from_slice(&(b.len() as i32).to_be_bytes());
            v.extend_from_slice(&b);
        }
    }
    v
}

/// A random array of `element` (up to 3 dimensions, sometimes with lower bounds other than 1).
fn array(rng: &mut impl Rng, element: u32, types: &dyn TypeLookup, depth: u32) -> Vec<u8> {
    let mut v = Vec::new();
    if rng.gen_bool(0.1) {
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&element.to_be_bytes());
        return v;
    }
    let ndim = if rng.gen_bool(0.05) {
        6
    } else {
        rng.gen_range(1..=3usize)
    };
    let dims: Vec<(i32, i32)> = (0..ndim)
        .map(|_| {
            let len = if ndim == 6 {
                rng.gen_range(1..=2)
            } else {
                rng.gen_range(1..=3)
            };
            let lb = if rng.gen_bool(0.2) {
                rng.gen_range(-5..5)
            } else {
                1
            };
            (len, lb)
        })
        .collect();
    let n: i32 = dims.iter().map(|d| d.0).product();
    let mut body = Vec::new();
    let mut has_null = false;
    for _ in 0..n {
        if rng.gen_bool(0.15) {
            has_null = true;
            body.extend_from_slice(&(-1i32).to_be_bytes());
        } else {
            let e = value(rng, element, types, depth + 1);
            body.extend_from_slice(&(e.len() as i32).to_be_bytes());
            body.extend_from_slice(&e);
        }
    }
    v.extend_from_slice(&(ndim as i32).to_be_bytes());
    v.extend_from_slice(&i32::from(has_null).to_be_bytes());
    v.extend_from_slice(&element.to_be_bytes());
    for (len, lb) in dims {
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&lb.to_be_bytes());
    }
    v.extend_from_slice(&body);
    v
}

/// A random value of type `t` (built-in, or described by `types`).
pub(crate) fn value(rng: &mut impl Rng, t: u32, types: &dyn TypeLookup, depth: u32) -> Vec<u8> {
    if SCALARS.contains(&t) {
        return scalar(rng, t);
    }
    if let Some(&(_, e)) = ARRAYS.iter().find(|a| a.0 == t) {
        return array(rng, e, types, depth);
    }
    if let Some(&(_, s)) = RANGES.iter().find(|a| a.0 == t) {
        return range(rng, s, types, depth);
    }
    match types.shape(t) {
        Some(Shape::Enum) => ["sad", "ok", "happy", "with space", "NULL"]
            .choose(rng)
            .unwrap()
            .as_bytes()
            .to_vec(),
        Some(Shape::TextLike) => text(rng).into_bytes(),
        Some(Shape::VersionedText) => {
            let labels = ["a", "b", "c_d", "x1"];
            let n = rng.gen_range(0..4);
            let path: Vec<&str> = (0..n).map(|_| *labels.choose(rng).unwrap()).collect();
            [&[1u8][..], path.join(".").as_bytes()].concat()
        }
        Some(Shape::Domain { base }) => {
            let mut v = value(rng, base, types, depth + 1);
            if base == oid::INT4 {
                // posint's check: value > 0
                v = rng.gen_range(1..i32::MAX).to_be_bytes().to_vec();
            }
            v
        }
        Some(Shape::Range { subtype }) => range(rng, subtype, types, depth),
        Some(Shape::Array { element }) => {
            if depth > 3 {
                let mut v = Vec::new();
                v.extend_from_slice(&0i32.to_be_bytes());
                v.extend_from_slice(&0i32.to_be_bytes());
                v.extend_from_slice(&element.to_be_bytes());
                return v;
            }
            array(rng, element, types, depth)
        }
        Some(Shape::Composite { fields }) => {
            let mut v = Vec::new();
            v.extend_from_slice(&(fields.len() as i32).to_be_bytes());
            for f in fields {
                v.extend_from_slice(&f.to_be_bytes());
                if rng.gen_bool(0.2) {
                    v.extend_from_slice(&(-1i32).to_be_bytes());
                } else {
                    let x = value(rng, f, types, depth + 1);
                    v.extend_from_slice(&(x.len() as i32).to_be_bytes());
                    v.extend_from_slice(&x);
                }
            }
            v
        }
        None => panic!("no generator for type {t}"),
    }
}

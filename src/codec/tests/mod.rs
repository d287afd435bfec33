//! Tests of the codec: known vectors from PostgreSQL 15, hand-written cases, random round trips
//! and random garbage (which must give Ok or Err, never a panic).

use super::{CodecError, Shape, TextOptions, TypeLookup, binary_to_text, oid, text_to_binary};
use std::collections::HashMap;

mod random;
mod values;
mod vectors;

/// A [`TypeLookup`] over a map.
pub(crate) struct Types(pub(crate) HashMap<u32, Shape>);

impl TypeLookup for Types {
    fn shape(&self, oid: u32) -> Option<Shape> {
        self.0.get(&oid).cloned()
    }
}

/// The custom types of the known vectors.
pub(crate) fn custom_types() -> Types {
    let mut m = HashMap::new();
    for &(oid, kind, args) in vectors::CUSTOM_TYPES {
        let shape = match kind {
            "enum" => Shape::Enum,
            "textlike" => Shape::TextLike,
            "versioned" => Shape::VersionedText,
            "domain" => Shape::Domain { base: args[0] },
            "range" => Shape::Range { subtype: args[0] },
            "array" => Shape::Array { element: args[0] },
            "composite" => Shape::Composite {
                fields: args.to_vec(),
            },
            _ => unreachable!("unknown kind {kind}"),
        };
        m.insert(oid, shape);
    }
    Types(m)
}

/// The OID of a custom type of the vectors, by name.
pub(crate) fn custom(name: &str) -> u32 {
    vectors::VECTORS
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.oid)
        .unwrap_or_else(|| panic!("no vector of type {name}"))
}

/// Hex to bytes.
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Bytes to hex.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// text_to_binary into a new Vec.
fn t2b(oid: u32, text: &str) -> Result<Vec<u8>, CodecError> {
    t2b_with(
        oid,
        text.as_bytes(),
        &custom_types(),
        TextOptions::default(),
    )
}

/// text_to_binary into a new Vec, with types and options.
fn t2b_with(
    oid: u32,
    text: &[u8],
    types: &dyn TypeLookup,
    opts: TextOptions,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    text_to_binary(oid, text, types, opts, &mut out).map(|()| out)
}

/// binary_to_text into a new String.
fn b2t(oid: u32, bytes: &[u8]) -> Result<String, CodecError> {
    let mut out = Vec::new();
    binary_to_text(oid, bytes, &custom_types(), &mut out)?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[test]
fn known_vectors_text_to_binary() {
    let types = custom_types();
    let mut failures = Vec::new();
    for v in vectors::VECTORS {
        let got = t2b_with(v.oid, v.text, &types, TextOptions::default());
        if got.as_deref().map(hex).as_deref() != Ok(v.binary) {
            failures.push(format!(
                "{} [{}] {:?}: expected {}, got {:?}",
                v.name,
                v.style,
                String::from_utf8_lossy(v.text),
                v.binary,
                got.map(|b| hex(&b))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn known_vectors_binary_to_text() {
    let types = custom_types();
    let mut failures = Vec::new();
    for v in vectors::VECTORS {
        let mut out = Vec::new();
        let got = binary_to_text(v.oid, &unhex(v.binary), &types, &mut out).map(|()| out);
        if got.as_deref() != Ok(v.ours) {
            failures.push(format!(
                "{} {:?}: expected {:?}, got {:?}",
                v.name,
                String::from_utf8_lossy(v.text),
                String::from_utf8_lossy(v.ours),
                got.map(|b| String::from_utf8_lossy(&b).into_owned())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Where PostgreSQL's output with default settings is also the codec's output.
#[test]
fn known_vectors_output_matches_postgres_where_styles_agree() {
    // money (no currency symbol), interval (ISO 8601), float (exponent style), timestamptz in
    // zones other than UTC, and bytea in escape style are written differently on purpose.
    let differs = |v: &vectors::Vector| {
        v.style != "default" && v.style != "tz=UTC" && v.style != "intervalstyle=iso_8601"
            || v.name.starts_with("money")
            || v.name.starts_with("float")
            || v.name.starts_with("item")
            || v.name.starts_with("deep")
            || v.name.starts_with("pair")
            || v.name.starts_with("mood")
    };
    for v in vectors::VECTORS.iter().filter(|v| !differs(v)) {
        assert_eq!(
            String::from_utf8_lossy(v.ours),
            String::from_utf8_lossy(v.text),
            "{} [{}]",
            v.name,
            v.style
        );
    }
}

#[test]
fn bool_input_forms() {
    for t in ["t", "true", "TRUE", "tr", "y", "yes", "on", "1", " t "] {
        assert_eq!(t2b(oid::BOOL, t).unwrap(), [1], "{t}");
    }
    for t in ["f", "false", "F", "n", "no", "off", "of", "0"] {
        assert_eq!(t2b(oid::BOOL, t).unwrap(), [0], "{t}");
    }
    for t in ["", "o", "tru e", "2", "yess", "nope", "10"] {
        assert!(t2b(oid::BOOL, t).is_err(), "{t}");
    }
    assert_eq!(b2t(oid::BOOL, &[2]).unwrap(), "t");
    assert!(b2t(oid::BOOL, &[]).is_err());
    assert!(b2t(oid::BOOL, &[0, 0]).is_err());
}

#[test]
fn bytea_forms() {
    assert_eq!(t2b(oid::BYTEA, "\\x0aFf").unwrap(), [10, 255]);
    assert_eq!(t2b(oid::BYTEA, "\\x0a ff\n").unwrap(), [10, 255]);
    assert_eq!(
        t2b(oid::BYTEA, "a\\\\b\\001\\377").unwrap(),
        b"a\\b\x01\xff"
    );
    assert!(t2b(oid::BYTEA, "\\x0").is_err());
    assert!(t2b(oid::BYTEA, "\\xzz").is_err());
    assert!(t2b(oid::BYTEA, "a\\b").is_err());
    assert!(t2b(oid::BYTEA, "\\400").is_err());
    assert_eq!(b2t(oid::BYTEA, &[0, 0x5c]).unwrap(), "\\x005c");
}

#[test]
fn integers() {
    assert_eq!(
        t2b(oid::INT2, " -32768 ").unwrap(),
        (-32768i16).to_be_bytes()
    );
    assert_eq!(t2b(oid::INT4, "+7").unwrap(), 7i32.to_be_bytes());
    assert!(t2b(oid::INT2, "32768").is_err());
    assert!(t2b(oid::INT4, "2147483648").is_err());
    assert!(t2b(oid::INT8, "9223372036854775808").is_err());
    assert!(t2b(oid::INT8, "-9223372036854775809").is_err());
    assert!(t2b(oid::INT4, "1.0").is_err());
    assert!(t2b(oid::INT4, "").is_err());
    assert!(t2b(oid::INT4, "-").is_err());
    assert!(t2b(oid::OID, "-1").is_err());
    assert!(t2b(oid::OID, "4294967296").is_err());
    assert!(b2t(oid::INT4, &[0, 0]).is_err());
}

#[test]
fn floats() {
    assert_eq!(
        t2b(oid::FLOAT8, "1e+20").unwrap(),
        1e20f64.to_bits().to_be_bytes()
    );
    assert_eq!(
        t2b(oid::FLOAT8, "-inf").unwrap(),
        f64::NEG_INFINITY.to_bits().to_be_bytes()
    );
    assert_eq!(
        t2b(oid::FLOAT4, "nan").unwrap(),
        f32::NAN.to_bits().to_be_bytes()
    );
    assert!(t2b(oid::FLOAT8, "1e400").is_err(), "overflow");
    assert!(t2b(oid::FLOAT8, "1e-400").is_err(), "underflow");
    assert!(t2b(oid::FLOAT4, "1e39").is_err());
    assert_eq!(
        t2b(oid::FLOAT8, "0e-400").unwrap(),
        0f64.to_bits().to_be_bytes()
    );
    assert!(t2b(oid::FLOAT8, "0x10").is_err());
    assert!(t2b(oid::FLOAT8, "infinityy").is_err());
    // f32 text is parsed as f32 (no double rounding)
    let v: f32 = 1.000_000_1;
    let text = b2t(oid::FLOAT4, &v.to_bits().to_be_bytes()).unwrap();
    assert_eq!(t2b(oid::FLOAT4, &text).unwrap(), v.to_bits().to_be_bytes());
}

#[test]
fn money_forms() {
    let cents = |v: i64| v.to_be_bytes().to_vec();
    assert_eq!(t2b(oid::MONEY, "$1,234.56").unwrap(), cents(123456));
    assert_eq!(t2b(oid::MONEY, "-$1.00").unwrap(), cents(-100));
    assert_eq!(t2b(oid::MONEY, "$-1.00").unwrap(), cents(-100));
    assert_eq!(t2b(oid::MONEY, "($1.00)").unwrap(), cents(-100));
    assert_eq!(t2b(oid::MONEY, " $ 1,234.56 ").unwrap(), cents(123456));
    assert_eq!(t2b(oid::MONEY, "1234.56-").unwrap(), cents(-123456));
    // anything but two decimals means another lc_monetary, whose unit is not the cent
    for t in ["1234.5", "12", "1.005", "1,234", "1.234,56"] {
        assert!(t2b(oid::MONEY, t).is_err(), "{t}");
    }
    assert_eq!(
        t2b(oid::MONEY, "-$92,233,720,368,547,758.08").unwrap(),
        cents(i64::MIN)
    );
    assert!(t2b(oid::MONEY, "$92,233,720,368,547,758.08").is_err());
    assert!(t2b(oid::MONEY, "€1.00").is_err());
    assert!(t2b(oid::MONEY, "").is_err());
    assert_eq!(
        b2t(oid::MONEY, &cents(i64::MIN)).unwrap(),
        "-92233720368547758.08"
    );
    assert_eq!(b2t(oid::MONEY, &cents(-5)).unwrap(), "-0.05");
}

#[test]
fn numeric_forms() {
    let n = |t: &str| hex(&t2b(oid::NUMERIC, t).unwrap());
    // 1.50e1 = 15.0 (dscale 1)
    assert_eq!(n("1.50e1"), "0001000000000001000f");
    assert_eq!(n("15.0"), n("1.50e1"));
    assert_eq!(n("1e5"), n("100000"));
    assert_eq!(n("1E-3"), n("0.001"));
    assert_eq!(n(" +.5 "), n("0.5"));
    assert_eq!(n("5."), n("5"));
    assert_eq!(n("-0.00"), n("0.00"));
    assert_eq!(n("007"), n("7"));
    assert_eq!(n("inf"), n("Infinity"));
    assert!(t2b(oid::NUMERIC, "1e1001").is_err());
    assert!(t2b(oid::NUMERIC, ".").is_err());
    assert!(t2b(oid::NUMERIC, "1e").is_err());
    assert!(t2b(oid::NUMERIC, "1.2.3").is_err());
    assert!(t2b(oid::NUMERIC, "").is_err());
    // numeric_recv truncates digits beyond dscale: 1.2345 with dscale 2 is 1.23
    let b = unhex("0002000000000002000109a4");
    assert_eq!(b2t(oid::NUMERIC, &b).unwrap(), "1.24");
    let b = unhex("0002000000000002000109a5"); // 1.2469, dscale 2
    assert_eq!(b2t(oid::NUMERIC, &b).unwrap(), "1.24");
    // -0.0001 with dscale 2 truncates to zero, which is not negative
    assert_eq!(
        b2t(oid::NUMERIC, &unhex("0001ffff400000020001")).unwrap(),
        "0.00"
    );
    // non-canonical: leading zero digit
    assert_eq!(
        b2t(oid::NUMERIC, &unhex("000200010000000000000001")).unwrap(),
        "1"
    );
    assert!(b2t(oid::NUMERIC, &unhex("0001000000000000270f")).is_ok());
    assert!(b2t(oid::NUMERIC, &unhex("00010000000000002710")).is_err());
    assert!(
        b2t(oid::NUMERIC, &unhex("0000000012340000")).is_err(),
        "bad sign"
    );
    assert!(
        b2t(oid::NUMERIC, &unhex("000100000000000000")).is_err(),
        "short"
    );
}

#[test]
fn dates_and_times() {
    let d = |t: &str| t2b(oid::DATE, t);
    assert_eq!(d("2000-01-01").unwrap(), 0i32.to_be_bytes());
    assert_eq!(d("2000-1-2").unwrap(), 1i32.to_be_bytes());
    assert!(d("2023-02-29").is_err());
    assert!(d("0000-01-01").is_err());
    assert!(d("4714-11-23 BC").is_err());
    assert!(d("5874898-01-01").is_err());
    assert!(d("2024-01-01x").is_err());
    assert!(d("2024-01-01BC").is_err());
    assert!(d("01/02/2024").is_err(), "only ISO dates");
    let t = |s: &str| t2b(oid::TIME, s);
    assert_eq!(t("24:00:00").unwrap(), 86_400_000_000i64.to_be_bytes());
    assert_eq!(t("23:59:60").unwrap(), 86_400_000_000i64.to_be_bytes());
    assert!(t("24:00:01").is_err());
    assert!(t("12:60:00").is_err());
    // fractions beyond microseconds round half to even
    assert_eq!(t("00:00:00.0000005").unwrap(), 0i64.to_be_bytes());
    assert_eq!(t("00:00:00.0000015").unwrap(), 2i64.to_be_bytes());
    assert_eq!(t("00:00:00.00000051").unwrap(), 1i64.to_be_bytes());
    assert!(b2t(oid::TIME, &(-1i64).to_be_bytes()).is_err());
    // timetz: the zone is seconds west
    let b = t2b(oid::TIMETZ, "01:00:00+05:30").unwrap();
    assert_eq!(&b[8..], (-19800i32).to_be_bytes());
    assert!(t2b(oid::TIMETZ, "01:00:00").is_err(), "needs an offset");
    assert!(t2b(oid::TIMETZ, "01:00:00+16").is_err());
    // timestamptz: converted to UTC; Z and compact offsets accepted
    let ts = |s: &str| t2b(oid::TIMESTAMPTZ, s).map(|b| hex(&b));
    let utc = ts("2024-01-15 00:00:00+00").unwrap();
    assert_eq!(ts("2024-01-15 05:30:00+05:30").unwrap(), utc);
    assert_eq!(ts("2024-01-14 19:00:00-0500").unwrap(), utc);
    assert_eq!(ts("2024-01-15T00:00:00Z").unwrap(), utc);
    assert!(
        ts("2024-01-15 00:00:00").is_err(),
        "timestamptz without offset"
    );
    assert!(t2b(oid::TIMESTAMP, "2024-01-15 00:00:00+00").is_err());
    assert_eq!(
        hex(&t2b(oid::TIMESTAMP, "2024-01-15").unwrap()),
        hex(&t2b(oid::TIMESTAMP, "2024-01-15 00:00:00").unwrap())
    );
    assert!(
        t2b(oid::TIMESTAMPTZ, "294276-12-31 23:59:59-01").is_err(),
        "out of range in UTC"
    );
    assert!(b2t(oid::TIMESTAMP, &(i64::MAX - 1).to_be_bytes()).is_err());
    assert!(b2t(oid::DATE, &(i32::MAX - 1).to_be_bytes()).is_err());
}

#[test]
fn interval_forms() {
    let iv = |s: &str| t2b(oid::INTERVAL, s).map(|b| hex(&b));
    let same = [
        "1 year 2 mons 3 days 04:05:06.789",
        "@ 1 year 2 mons 3 days 4 hours 5 mins 6.789 secs",
        "P1Y2M3DT4H5M6.789S",
        "1 years 2 months 3 days 4 hours 5 minutes 6.789 seconds",
    ];
    for s in same {
        assert_eq!(iv(s).unwrap(), iv(same[0]).unwrap(), "{s}");
    }
    assert_eq!(
        iv("-1 days +02:03:00").unwrap(),
        iv("@ 1 day -2 hours -3 mins ago").unwrap()
    );
    assert_eq!(iv("-1 days +02:03:00").unwrap(), iv("P-1DT2H3M").unwrap());
    assert_eq!(iv("@ 0").unwrap(), iv("PT0S").unwrap());
    // sql_standard: refused where it differs from the postgres style ...
    for s in ["-3 4:05:06", "3 4:05:06", "-1-2", "+0-0 +1 -0:00:01"] {
        assert!(iv(s).is_err(), "{s}");
    }
    // ... and read where it is the same
    assert_eq!(iv("0").unwrap(), iv("PT0S").unwrap());
    assert_eq!(iv("-0:00:01").unwrap(), iv("-1 sec").unwrap());
    assert_eq!(iv("1 week").unwrap(), iv("7 days").unwrap());
    // PostgreSQL 15 cannot read its own postgres-style text for the smallest time; we can.
    assert_eq!(
        iv("-2562047788:00:54.775808").unwrap(),
        hex(&[i64::MIN.to_be_bytes().as_slice(), &[0; 8]].concat())
    );
    assert!(iv("1.5 days").is_err(), "fractional days are not converted");
    assert!(iv("1-2").is_err(), "sql_standard is not accepted");
    assert!(iv("3 4").is_err());
    assert!(iv("").is_err());
    assert!(iv("P").is_err());
    assert!(iv("PT").is_err());
    assert!(iv("P1H").is_err());
    assert!(iv("ago 1 day").is_err());
    assert!(iv("2147483648 days").is_err());
    assert!(iv("178956971 years").is_err());
    assert_eq!(b2t(oid::INTERVAL, &[0; 16]).unwrap(), "PT0S");
}

#[test]
fn network_and_uuid_forms() {
    assert_eq!(
        hex(&t2b(oid::INET, "10.1.2.3/8").unwrap()),
        "020800040a010203"
    );
    assert!(t2b(oid::CIDR, "10.1.2.3/8").is_err(), "host bits set");
    assert_eq!(
        hex(&t2b(oid::CIDR, "10.0.0.0/8").unwrap()),
        "020801040a000000"
    );
    assert!(t2b(oid::INET, "1.2.3").is_err());
    assert!(t2b(oid::INET, "1.2.3.256").is_err());
    assert!(t2b(oid::INET, "1.2.3.4/33").is_err());
    assert!(t2b(oid::INET, "1::2::3").is_err());
    assert!(t2b(oid::INET, "1:2:3:4:5:6:7:8:9").is_err());
    assert!(t2b(oid::INET, "1:2:3:4:5:6:7::8").is_err());
    assert!(t2b(oid::INET, "::12345").is_err());
    assert!(b2t(oid::CIDR, &unhex("020801040a000001")).is_err());
    assert!(b2t(oid::INET, &unhex("022100040a000001")).is_err());
    assert!(b2t(oid::INET, &unhex("042000040a000001")).is_err());
    let u = hex(&t2b(oid::UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap());
    assert_eq!(
        hex(&t2b(oid::UUID, "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}").unwrap()),
        u
    );
    assert_eq!(
        hex(&t2b(oid::UUID, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11").unwrap()),
        u
    );
    assert!(t2b(oid::UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1").is_err());
    assert!(t2b(oid::UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-").is_err());
    assert!(t2b(oid::UUID, "a-0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").is_err());
    let m = hex(&t2b(oid::MACADDR, "08:00:2b:01:02:03").unwrap());
    for s in [
        "08-00-2b-01-02-03",
        "08002b:010203",
        "08002b-010203",
        "0800.2b01.0203",
        "0800-2b01-0203",
        "08002B010203",
    ] {
        assert_eq!(hex(&t2b(oid::MACADDR, s).unwrap()), m, "{s}");
    }
    assert!(t2b(oid::MACADDR, "08:00:2b:01:02").is_err());
    assert!(t2b(oid::MACADDR, "08:00-2b:01:02:03").is_err());
    assert!(t2b(oid::MACADDR, "0z:00:2b:01:02:03").is_err());
    assert_eq!(
        hex(&t2b(oid::MACADDR8, "08002b0102030405").unwrap()),
        "08002b0102030405"
    );
    assert!(t2b(oid::MACADDR8, "08:00:2b:01:02:03:04").is_err());
    assert!(t2b(oid::MACADDR8, "08:00-2b:01:02:03:04:05").is_err());
}

#[test]
fn char_forms() {
    assert_eq!(t2b(oid::CHAR, "").unwrap(), [0]);
    assert_eq!(t2b(oid::CHAR, "\\").unwrap(), [b'\\']);
    assert_eq!(t2b(oid::CHAR, "\\377").unwrap(), [0xff]);
    assert!(t2b(oid::CHAR, "\u{e9}").is_err(), "two bytes");
    assert!(t2b(oid::CHAR, "ab").is_err());
    assert!(t2b(oid::CHAR, "\\477").is_err());
    assert_eq!(b2t(oid::CHAR, &[0]).unwrap(), "");
}

#[test]
fn text_like_and_versioned() {
    assert_eq!(t2b(oid::JSONB, "{}").unwrap(), b"\x01{}");
    assert!(b2t(oid::JSONB, b"\x02{}").is_err());
    assert!(b2t(oid::JSONB, b"").is_err());
    assert!(
        b2t(oid::TEXT, b"a\0b").is_err(),
        "NUL cannot be sent as text"
    );
    let ltree = custom("ltree");
    assert_eq!(t2b(ltree, "a.b").unwrap(), b"\x01a.b");
    assert_eq!(b2t(ltree, b"\x01a.b").unwrap(), "a.b");
}

#[test]
fn arrays() {
    let a = |s: &str| t2b(oid::INT4_ARRAY, s).map(|b| hex(&b));
    assert_eq!(a("{}").unwrap(), "000000000000000000000017");
    assert_eq!(a(" { } ").unwrap(), "000000000000000000000017");
    assert_eq!(a("{ 1 , 2 }").unwrap(), a("{1,2}").unwrap());
    assert_eq!(a("{\"1\",null}").unwrap(), a("{1,NULL}").unwrap());
    assert_eq!(a("[1:2]={1,2}").unwrap(), a("{1,2}").unwrap());
    assert_eq!(a("[2]={1,2}").unwrap(), a("{1,2}").unwrap());
    for bad in [
        "",
        "{",
        "}",
        "{1,}",
        "{,1}",
        "{1,,2}",
        "{{1},{2,3}}",
        "{{1},2}",
        "{1,{2}}",
        "{1}}",
        "{1} x",
        "[1:3]={1,2}",
        "[2:1]={1}",
        "[1:1]={{1}}",
        "{{{{{{{1}}}}}}}",
        "{\"1}",
        "{1\\}",
        "{{}}",
        "[1:0]={}",
        "{1 2}",
        "{NULL",
        "1",
    ] {
        assert!(a(bad).is_err(), "{bad:?}");
    }
    let t = |s: &str| t2b(oid::TEXT_ARRAY, s);
    // unquoted whitespace is trimmed; quoted and escaped whitespace is kept
    let elems = |b: Vec<u8>| -> Vec<Option<String>> {
        let n = i32::from_be_bytes(b[12..16].try_into().unwrap()) as usize;
        let mut i = 20;
        (0..n)
            .map(|_| {
                let len = i32::from_be_bytes(b[i..i + 4].try_into().unwrap());
                i += 4;
                if len < 0 {
                    return None;
                }
                let s = String::from_utf8(b[i..i + len as usize].to_vec()).unwrap();
                i += len as usize;
                Some(s)
            })
            .collect()
    };
    assert_eq!(
        elems(t("{ a b , \" c \" ,d\\ , x\"y z\"w ,NULL,\"NULL\",N\\ULL,\"\"}").unwrap()),
        vec![
            Some("a b".into()),
            Some(" c ".into()),
            Some("d ".into()),
            Some("xy zw".into()),
            None,
            Some("NULL".into()),
            Some("NULL".into()),
            Some(String::new()),
        ]
    );
    // has_null is not trusted on input: Diesel writes 0 even with NULL elements
    let diesel = unhex("00000001000000000000001700000002000000010000000400000007ffffffff");
    assert_eq!(b2t(oid::INT4_ARRAY, &diesel).unwrap(), "{7,NULL}");
    // an empty array in the 1-dimensional form Diesel writes
    assert_eq!(
        b2t(
            oid::INT4_ARRAY,
            &unhex("0000000100000000000000170000000000000001")
        )
        .unwrap(),
        "{}"
    );
    // wrong element type, bad flags, too many dimensions, trailing bytes
    assert!(
        b2t(
            oid::INT4_ARRAY,
            &unhex("00000001000000000000001400000001000000010000000400000007")
        )
        .is_err()
    );
    assert!(
        b2t(
            oid::INT4_ARRAY,
            &unhex("00000001000000020000001700000001000000010000000400000007")
        )
        .is_err()
    );
    assert!(
        b2t(
            oid::INT4_ARRAY,
            &unhex("00000001000000000000001700000001000000010000000400000007")
        )
        .is_ok()
    );
    assert!(b2t(oid::INT4_ARRAY, &unhex("000000070000000000000017")).is_err());
    assert!(b2t(oid::INT4_ARRAY, &unhex("00000000000000000000001700")).is_err());
}

#[test]
fn records() {
    let pair = custom("pair");
    let wrap = custom("wrap");
    let types = custom_types();
    let qs = TextOptions {
        literal_null_in_records: true,
    };
    let pg = TextOptions::default();
    let r = |oid, s: &str, o| t2b_with(oid, s.as_bytes(), &types, o).map(|b| hex(&b));
    // Query Service's literal NULL: (amount numeric, price (currency text, value numeric))
    let qs_types = Types(HashMap::from([
        (
            80001,
            Shape::Composite {
                fields: vec![oid::NUMERIC, 80002],
            },
        ),
        (
            80002,
            Shape::Composite {
                fields: vec![oid::TEXT, oid::NUMERIC],
            },
        ),
    ]));
    let q = |s: &str, o| t2b_with(80001, s.as_bytes(), &qs_types, o).map(|b| hex(&b));
    assert_eq!(
        q("(NULL,\"(USD,NULL)\")", qs).unwrap(),
        q("(,\"(USD,)\")", pg).unwrap()
    );
    assert_eq!(
        q("(,\"(USD,)\")", qs).unwrap(),
        q("(,\"(USD,)\")", pg).unwrap()
    );
    assert!(
        q("(NULL,\"(USD,NULL)\")", pg).is_err(),
        "NULL is not a numeric"
    );
    assert_eq!(
        r(wrap, "(NULL,\"(1,NULL)\")", qs).unwrap(),
        r(wrap, "(,\"(1,)\")", pg).unwrap()
    );
    assert_eq!(r(wrap, "(null,)", qs).unwrap(), r(wrap, "(,)", pg).unwrap());
    // ... but a quoted or escaped NULL is the string
    assert_eq!(
        r(pair, "(1,\"NULL\")", qs).unwrap(),
        r(pair, "(1,NULL)", pg).unwrap()
    );
    assert_eq!(
        r(pair, "(1,N\\ULL)", qs).unwrap(),
        r(pair, "(1,NULL)", pg).unwrap()
    );
    assert_ne!(
        r(pair, "(1,NULL)", qs).unwrap(),
        r(pair, "(1,NULL)", pg).unwrap()
    );
    // whitespace is part of a field; quotes may stand anywhere; "" and \" are both a quote
    assert_eq!(
        r(pair, "(1,a\" b\"c)", pg).unwrap(),
        r(pair, "(1,\"a bc\")", pg).unwrap()
    );
    assert_eq!(
        r(pair, "(1,\"a\"\"b\")", pg).unwrap(),
        r(pair, "(1,\"a\\\"b\")", pg).unwrap()
    );
    assert_eq!(
        r(pair, " (1,x) ", pg).unwrap(),
        r(pair, "(1,x)", pg).unwrap()
    );
    for bad in [
        "(1)", "(1,2,3)", "1,2", "(1,2", "(1,2)x", "(1,\"2)", "", "(x,2)",
    ] {
        assert!(r(pair, bad, pg).is_err(), "{bad:?}");
    }
    // an anonymous record has no field types in text, but does in binary
    let err = t2b(oid::RECORD, "(1,2)").unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::Unsupported {
                oid: oid::RECORD,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("anonymous record"));
    let bin = t2b(pair, "(1,\"a b\")").unwrap();
    assert_eq!(b2t(oid::RECORD, &bin).unwrap(), "(1,\"a b\")");
    assert!(t2b(oid::RECORD_ARRAY, "{\"(1,2)\"}").is_err());
    assert!(
        t2b(oid::RECORD_ARRAY, "{}").is_ok(),
        "no element needs field types"
    );
    // field type or count mismatches in binary
    let mut wrong = bin.clone();
    wrong[7] = 20; // int8 instead of int4
    assert!(b2t(pair, &wrong).is_err());
    assert!(b2t(pair, &unhex("00000001000000170000000400000001")).is_err());
    // a string field that reads NULL is quoted on output, so neither server takes it for NULL
    let b = t2b(pair, "(1,NULL)").unwrap();
    assert_eq!(b2t(pair, &b).unwrap(), "(1,\"NULL\")");
}

#[test]
fn ranges() {
    let r = |s: &str| t2b(oid::INT4RANGE, s).map(|b| hex(&b));
    assert_eq!(r("empty").unwrap(), "01");
    assert_eq!(r(" EMPTY ").unwrap(), "01");
    assert_eq!(
        r("[,5)").unwrap(),
        r("(,5)").unwrap(),
        "infinite bounds are never inclusive"
    );
    assert_eq!(r("[\"1\",\"5\")").unwrap(), r("[1,5)").unwrap());
    assert_eq!(r("[ 1, 5)").unwrap(), r("[1,5)").unwrap());
    for bad in [
        "", "[1,5", "1,5", "[1,5)x", "[1)", "[1,2,3)", "emptyx", "[a,5)",
    ] {
        assert!(r(bad).is_err(), "{bad:?}");
    }
    assert!(b2t(oid::INT4RANGE, &[0x20]).is_err(), "unknown flags");
    assert!(b2t(oid::INT4RANGE, &[0x01, 0]).is_err(), "trailing bytes");
    assert_eq!(b2t(oid::INT4RANGE, &[0x18]).unwrap(), "(,)");
    let ts = t2b(oid::TSRANGE, "[\"2024-01-01 00:00:00\",infinity)").unwrap();
    assert_eq!(
        b2t(oid::TSRANGE, &ts).unwrap(),
        "[\"2024-01-01 00:00:00\",infinity)"
    );
}

#[test]
fn unknown_and_domains() {
    let types = custom_types();
    assert!(matches!(
        t2b_with(603, b"(1,1),(0,0)", &types, TextOptions::default()),
        Err(CodecError::UnknownType { oid: 603 })
    ));
    assert!(matches!(
        b2t(99999, b""),
        Err(CodecError::UnknownType { oid: 99999 })
    ));
    // a domain resolves to its base; a cycle of domains is an error, not a hang
    let cyclic = Types(HashMap::from([
        (70001, Shape::Domain { base: 70002 }),
        (70002, Shape::Domain { base: 70001 }),
        (
            70003,
            Shape::Composite {
                fields: vec![70004],
            },
        ),
        (70004, Shape::Array { element: 70003 }),
    ]));
    assert!(t2b_with(70001, b"1", &cyclic, TextOptions::default()).is_err());
    assert!(t2b_with(70003, b"(1)", &cyclic, TextOptions::default()).is_err());
    let posint = custom("posint");
    assert_eq!(t2b(posint, "5").unwrap(), 5i32.to_be_bytes());
}

#[test]
fn errors_do_not_leak_values_and_leave_out_alone() {
    let mut out = b"keep".to_vec();
    let secret = "{1,2,secret-value-123}";
    let err = text_to_binary(
        oid::INT4_ARRAY,
        secret.as_bytes(),
        &custom_types(),
        TextOptions::default(),
        &mut out,
    )
    .unwrap_err();
    assert_eq!(out, b"keep");
    let msg = format!("{err} {err:?}");
    assert!(!msg.contains("secret"), "{msg}");
    assert!(msg.contains("23"), "names the oid: {msg}");
}

//! PostgreSQL values between their text and binary wire formats, per type OID.
//!
//! A server may answer in text where Diesel's `FromSql` impls expect binary (Query Service's clients
//! all read text), and the compatible protocol sends parameters as text although Diesel writes them in
//! binary. Diesel never checks a value's OID, so a missed conversion would misread silently (text `f`
//! is a true `bool`); every conversion here is exact, and a type this module does not know is an
//! error ([`CodecError::UnknownType`]), never a pass-through.
//!
//! Errors never contain the value: values may be anything a table holds.

mod nested;
mod numeric;
mod scalar;
mod time;

use std::fmt;

/// Built-in type OIDs (`pg_type.oid`, fixed in every PostgreSQL) and their array types.
#[allow(dead_code)] // the full table documents what the codec knows
pub(crate) mod oid {
    pub(crate) const BOOL: u32 = 16;
    pub(crate) const BYTEA: u32 = 17;
    pub(crate) const CHAR: u32 = 18;
    pub(crate) const NAME: u32 = 19;
    pub(crate) const INT8: u32 = 20;
    pub(crate) const INT2: u32 = 21;
    pub(crate) const INT4: u32 = 23;
    pub(crate) const TEXT: u32 = 25;
    pub(crate) const OID: u32 = 26;
    pub(crate) const JSON: u32 = 114;
    pub(crate) const XML: u32 = 142;
    pub(crate) const CIDR: u32 = 650;
    pub(crate) const FLOAT4: u32 = 700;
    pub(crate) const FLOAT8: u32 = 701;
    pub(crate) const UNKNOWN: u32 = 705;
    pub(crate) const MACADDR8: u32 = 774;
    pub(crate) const MONEY: u32 = 790;
    pub(crate) const MACADDR: u32 = 829;
    pub(crate) const INET: u32 = 869;
    pub(crate) const BPCHAR: u32 = 1042;
    pub(crate) const VARCHAR: u32 = 1043;
    pub(crate) const DATE: u32 = 1082;
    pub(crate) const TIME: u32 = 1083;
    pub(crate) const TIMESTAMP: u32 = 1114;
    pub(crate) const TIMESTAMPTZ: u32 = 1184;
    pub(crate) const INTERVAL: u32 = 1186;
    pub(crate) const TIMETZ: u32 = 1266;
    pub(crate) const NUMERIC: u32 = 1700;
    pub(crate) const RECORD: u32 = 2249;
    pub(crate) const UUID: u32 = 2950;
    pub(crate) const JSONB: u32 = 3802;
    pub(crate) const INT4RANGE: u32 = 3904;
    pub(crate) const NUMRANGE: u32 = 3906;
    pub(crate) const TSRANGE: u32 = 3908;
    pub(crate) const TSTZRANGE: u32 = 3910;
    pub(crate) const DATERANGE: u32 = 3912;
    pub(crate) const INT8RANGE: u32 = 3926;

    /// The element type of a built-in array type.
    pub(crate) fn array_element(array: u32) -> Option<u32> {
        Some(match array {
            1000 => BOOL,
            1001 => BYTEA,
            1002 => CHAR,
            1003 => NAME,
            1005 => INT2,
            1007 => INT4,
            1009 => TEXT,
            1014 => BPCHAR,
            1015 => VARCHAR,
            1016 => INT8,
            1021 => FLOAT4,
            1022 => FLOAT8,
            1028 => OID,
            1041 => INET,
            651 => CIDR,
            1040 => MACADDR,
            775 => MACADDR8,
            791 => MONEY,
            1182 => DATE,
            1183 => TIME,
            1115 => TIMESTAMP,
            1185 => TIMESTAMPTZ,
            1187 => INTERVAL,
            1231 => NUMERIC,
            1270 => TIMETZ,
            2951 => UUID,
            199 => JSON,
            3807 => JSONB,
            143 => XML,
            2287 => RECORD,
            3905 => INT4RANGE,
            3907 => NUMRANGE,
            3909 => TSRANGE,
            3911 => TSTZRANGE,
            3913 => DATERANGE,
            3927 => INT8RANGE,
            _ => return None,
        })
    }

    /// The subtype of a built-in range type.
    pub(crate) fn range_subtype(range: u32) -> Option<u32> {
        Some(match range {
            INT4RANGE => INT4,
            INT8RANGE => INT8,
            NUMRANGE => super::oid::NUMERIC,
            TSRANGE => TIMESTAMP,
            TSTZRANGE => TIMESTAMPTZ,
            DATERANGE => DATE,
            _ => return None,
        })
    }
}

/// Where the codec learns about non-built-in types (looked up from the catalog by the caller).
pub(crate) trait TypeLookup {
    /// The shape of a type the codec does not know by OID, or `None` when unknown.
    fn shape(&self, oid: u32) -> Option<Shape>;
}

/// What a non-built-in type is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// An array type with this element type.
    Array { element: u32 },
    /// A composite (row) type with these field types, in order.
    Composite { fields: Vec<u32> },
    /// An enum: its binary form is its label's UTF-8 bytes, the same as its text form.
    Enum,
    /// A domain over `base` (values travel as the base type).
    Domain { base: u32 },
    /// A range over `subtype`.
    Range { subtype: u32 },
    /// A base type whose binary form is its text (citext, xml, …).
    TextLike,
}

/// How the server writes text.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TextOptions {
    /// Query Service writes a NULL field of a record as the unquoted word `NULL`
    /// (`(NULL,"(USD,NULL)")`) where PostgreSQL writes an empty field (`(,"(USD,)")`). When set, an
    /// unquoted `NULL` (any case) in a record field means NULL; an empty field still does too.
    pub literal_null_in_records: bool,
}

/// Why a value could not be converted. Never holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodecError {
    /// The type (or a type inside it) is not one the codec knows, and the lookup has no shape for it.
    UnknownType { oid: u32 },
    /// The value is not in the form its type's text (or binary) format has.
    Malformed { oid: u32, reason: &'static str },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::UnknownType { oid } => {
                write!(
                    f,
                    "type oid {oid} has no known conversion between text and binary"
                )
            }
            CodecError::Malformed { oid, reason } => {
                write!(f, "a value of type oid {oid} is malformed: {reason}")
            }
        }
    }
}

impl std::error::Error for CodecError {}

pub(crate) type Result<T> = std::result::Result<T, CodecError>;

fn malformed<T>(oid: u32, reason: &'static str) -> Result<T> {
    Err(CodecError::Malformed { oid, reason })
}

/// How the codec treats a type: resolved from its OID (built-in) or its shape.
enum Kind {
    /// Binary form = text bytes.
    Same,
    Scalar(u32),
    Array(u32),
    Composite(Vec<u32>),
    Range(u32),
}

fn kind(oid: u32, types: &dyn TypeLookup) -> Result<Kind> {
    use oid::*;
    Ok(match oid {
        TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN | JSON | XML => Kind::Same,
        BOOL | BYTEA | CHAR | INT2 | INT4 | INT8 | OID | FLOAT4 | FLOAT8 | MONEY | NUMERIC
        | DATE | TIME | TIMETZ | TIMESTAMP | TIMESTAMPTZ | INTERVAL | UUID | JSONB | INET
        | CIDR | MACADDR | MACADDR8 => Kind::Scalar(oid),
        _ => {
            if let Some(e) = oid::array_element(oid) {
                return Ok(Kind::Array(e));
            }
            if let Some(s) = oid::range_subtype(oid) {
                return Ok(Kind::Range(s));
            }
            match types.shape(oid) {
                Some(Shape::Array { element }) => Kind::Array(element),
                Some(Shape::Composite { fields }) => Kind::Composite(fields),
                Some(Shape::Enum | Shape::TextLike) => Kind::Same,
                Some(Shape::Domain { base }) => return kind(base, types),
                Some(Shape::Range { subtype }) => Kind::Range(subtype),
                None => return Err(CodecError::UnknownType { oid }),
            }
        }
    })
}

/// Convert one value from the server's text format to the binary format of type `oid`, appending
/// to `out`.
pub(crate) fn text_to_binary(
    oid: u32,
    text: &[u8],
    types: &dyn TypeLookup,
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    match kind(oid, types)? {
        Kind::Same => {
            out.extend_from_slice(text);
            Ok(())
        }
        Kind::Scalar(o) => scalar::text_in(o, text, out),
        Kind::Array(element) => nested::array_in(oid, element, text, types, opts, out),
        Kind::Composite(fields) => nested::record_in(oid, &fields, text, types, opts, out),
        Kind::Range(subtype) => nested::range_in(oid, subtype, text, types, opts, out),
    }
}

/// Convert one value from binary (Diesel's `ToSql` output for type `oid`) to the text PostgreSQL's
/// input functions accept, appending to `out`.
pub(crate) fn binary_to_text(
    oid: u32,
    bytes: &[u8],
    types: &dyn TypeLookup,
    out: &mut Vec<u8>,
) -> Result<()> {
    match kind(oid, types) {
        Ok(Kind::Same) => {
            out.extend_from_slice(bytes);
            Ok(())
        }
        Ok(Kind::Scalar(o)) => scalar::text_out(o, bytes, out),
        Ok(Kind::Array(_)) => nested::array_out(oid, bytes, types, out),
        // binary records carry each field's OID, so no shape is needed
        Ok(Kind::Composite(_)) => nested::record_out(oid, bytes, types, out),
        Err(CodecError::UnknownType { .. }) if oid == oid::RECORD => {
            nested::record_out(oid, bytes, types, out)
        }
        Ok(Kind::Range(subtype)) => nested::range_out(oid, subtype, bytes, types, out),
        Err(e) => Err(e),
    }
}

/// A big-endian reader over binary values, failing (never panicking) on short input.
struct Reader<'a> {
    bytes: &'a [u8],
    oid: u32,
}

impl<'a> Reader<'a> {
    fn new(oid: u32, bytes: &'a [u8]) -> Self {
        Reader { bytes, oid }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return malformed(self.oid, "binary value too short");
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// A length-prefixed value: `None` for -1 (NULL).
    fn value(&mut self) -> Result<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        self.take(len as usize).map(Some)
    }

    fn done(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            malformed(self.oid, "trailing bytes in a binary value")
        }
    }
}

/// Trim ASCII whitespace, as PostgreSQL's input functions do.
fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests;

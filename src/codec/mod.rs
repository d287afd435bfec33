//! Conversion between PostgreSQL's text and binary wire formats, per type OID.
//!
//! A server may send a result column in TEXT format (format code 0) where Diesel's `FromSql` impls
//! expect the BINARY format, and in "compatible" mode bind parameters must be sent as TEXT although
//! Diesel serialises them in binary. [`text_to_binary`] and [`binary_to_text`] convert one value
//! between the two, for the type named by its OID.
//!
//! Diesel does not check OIDs, so a wrong conversion would silently misdecode: every conversion
//! here is exact (it follows PostgreSQL 15's own input and output functions) and anything the codec
//! does not know, or cannot convert exactly, is an error, never a pass-through.
//!
//! Errors never contain the value itself (values can be sensitive): only the type OID and a static
//! reason.
//!
//! # Server settings the text direction relies on
//!
//! - `DateStyle` ISO (`ISO, MDY` or `ISO, DMY`): other styles are refused (an error, not a guess).
//! - `IntervalStyle` `postgres` (the default), `postgres_verbose` or `iso_8601`: `sql_standard`
//!   text is refused where it would read differently.
//! - `extra_float_digits` >= 1 (the default since PostgreSQL 12, which writes shortest-exact
//!   floats). With 0 or less the server rounds float text, which cannot be detected: the
//!   connection should set it (e.g. to 3).
//! - `lc_monetary` with two fractional digits (C, en_US, ...): money text with other than two
//!   decimals is refused, as its binary unit would not be the cent.
//! - `bytea_output` hex or escape, `TimeZone` anything (offsets in the text are applied).
//!
//! The binary-to-text direction writes forms PostgreSQL reads the same way whatever its
//! `DateStyle`, `IntervalStyle` and `TimeZone`.

mod container;
mod datetime;
mod numeric;
pub(crate) mod oid;
mod scalar;
#[cfg(test)]
mod tests;

/// Where the codec learns about non-built-in types (looked up from the catalog by the caller).
pub(crate) trait TypeLookup {
    /// The shape of a type the codec does not know by OID, or None when unknown.
    fn shape(&self, oid: u32) -> Option<Shape>;
}

/// What a type that is not built in looks like, as far as its wire formats go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// An array type with this element type.
    Array {
        /// The element type's OID (`pg_type.typelem`).
        element: u32,
    },
    /// A composite (row) type with these field types, in order.
    Composite {
        /// The OIDs of the field types (`pg_attribute.atttypid` of the live columns, by `attnum`).
        fields: Vec<u32>,
    },
    /// An enum: its binary form is its label's UTF-8 bytes, the same as its text form.
    Enum,
    /// A domain over `base` (values are sent and received as the base type).
    Domain {
        /// The OID of the domain's base type (`pg_type.typbasetype`).
        base: u32,
    },
    /// A range over `subtype`.
    Range {
        /// The OID of the range's subtype (`pg_range.rngsubtype`).
        subtype: u32,
    },
    /// A base type whose binary form is its text (its `typsend` is `textsend`, `varcharsend`,
    /// citext's or `xml_send`, ...): citext, xml.
    TextLike,
    /// A base type whose binary form is the version byte 1 followed by its text, like `jsonb`:
    /// ltree, lquery and ltxtquery (whose `ltree_send` etc. prefix the text with a version byte).
    VersionedText,
}

/// How the server writes text.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TextOptions {
    /// Query Service writes a NULL field of a record (composite) as the unquoted word NULL, e.g.
    /// `(NULL,"(USD,NULL)")`, where PostgreSQL writes an empty field `(,"(USD,)")`. When set, an
    /// unquoted NULL (any case) in a record field means NULL; an empty unquoted field still means
    /// NULL too. When not set, an unquoted NULL in a record is the 4-letter string, as in
    /// PostgreSQL.
    pub(crate) literal_null_in_records: bool,
}

/// Why a value could not be converted. Never contains the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CodecError {
    /// The type is neither built into the codec nor described by the [`TypeLookup`].
    #[error("type oid {oid} is not known to the codec")]
    UnknownType {
        /// The OID that is not known.
        oid: u32,
    },
    /// The input is not a valid value of the type.
    #[error("malformed value of type oid {oid}: {reason}")]
    Malformed {
        /// The OID of the (innermost) type whose value is malformed.
        oid: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// The input is well-formed but its value cannot be represented in the other format or type.
    #[error("value of type oid {oid} cannot be represented: {reason}")]
    Unrepresentable {
        /// The OID of the (innermost) type whose value cannot be represented.
        oid: u32,
        /// Why not.
        reason: &'static str,
    },
    /// The type is known but the conversion asked for is not supported for it.
    #[error("type oid {oid} is not supported: {reason}")]
    Unsupported {
        /// The OID of the type.
        oid: u32,
        /// Why not.
        reason: &'static str,
    },
}

/// Shorthand for the result of a conversion step.
pub(crate) type Res<T = ()> = Result<T, CodecError>;

/// A [`CodecError::Malformed`] for `oid`.
pub(crate) fn malformed(oid: u32, reason: &'static str) -> CodecError {
    CodecError::Malformed { oid, reason }
}

/// A [`CodecError::Unrepresentable`] for `oid`.
pub(crate) fn unrepresentable(oid: u32, reason: &'static str) -> CodecError {
    CodecError::Unrepresentable { oid, reason }
}

/// How deep types may nest (domains, arrays, composites, ranges) before the codec gives up.
pub(crate) const MAX_DEPTH: u32 = 32;

/// Convert one value from the server's text format to the binary format of type `oid`, appending
/// to `out`. On error, `out` is left as it was.
pub(crate) fn text_to_binary(
    oid: u32,
    text: &[u8],
    types: &dyn TypeLookup,
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let node = resolve(oid, types, 0)?;
    let start = out.len();
    let result = text_to_binary_node(&node, text, opts, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Convert one value from binary (Diesel's ToSql output for type `oid`) to the text PostgreSQL's
/// input functions accept, appending to `out`. On error, `out` is left as it was.
///
/// The text never contains a NUL byte (libpq sends text parameters as C strings), so a text value
/// containing one is an error.
pub(crate) fn binary_to_text(
    oid: u32,
    bytes: &[u8],
    types: &dyn TypeLookup,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let node = resolve(oid, types, 0)?;
    let start = out.len();
    let result = binary_to_text_node(&node, bytes, types, 0, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// A leaf type the codec converts itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// bool
    Bool,
    /// bytea
    Bytea,
    /// "char"
    Char,
    /// Binary form = text form (text, varchar, name, json, xml, enums, ...).
    Text,
    /// Binary form = version byte 1 + text form (jsonb, ltree, ...).
    VersionedText,
    /// int2
    Int2,
    /// int4
    Int4,
    /// int8
    Int8,
    /// oid
    Oid,
    /// float4
    Float4,
    /// float8
    Float8,
    /// money
    Money,
    /// numeric
    Numeric,
    /// date
    Date,
    /// time
    Time,
    /// timetz
    TimeTz,
    /// timestamp
    Timestamp,
    /// timestamptz
    TimestampTz,
    /// interval
    Interval,
    /// uuid
    Uuid,
    /// inet
    Inet,
    /// cidr
    Cidr,
    /// macaddr
    MacAddr,
    /// macaddr8
    MacAddr8,
}

/// A type resolved down to what its wire formats look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    /// A leaf type.
    Scalar(Scalar),
    /// An array of the given element type.
    Array(Box<Node>),
    /// A range over the given subtype.
    Range(Box<Node>),
    /// A composite with the given field types.
    Composite(Vec<Node>),
    /// The anonymous `record` type: the binary form names its field types, the text form does not.
    Record,
}

/// A type OID together with its resolved form (a domain's OID resolves to its base type's form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// The type's own OID, as written into binary array headers and composite fields.
    pub(crate) oid: u32,
    /// What it looks like.
    pub(crate) ty: Ty,
}

/// Resolve `oid` (and, for containers, the types inside it) to a [`Node`].
pub(crate) fn resolve(oid: u32, types: &dyn TypeLookup, depth: u32) -> Res<Node> {
    let mut base = oid;
    let mut depth = depth;
    loop {
        if depth > MAX_DEPTH {
            return Err(CodecError::Unsupported {
                oid,
                reason: "types nest too deeply (or a domain/array/composite refers to itself)",
            });
        }
        depth += 1;
        if let Some(s) = oid::scalar(base) {
            return Ok(Node {
                oid,
                ty: Ty::Scalar(s),
            });
        }
        if let Some(element) = oid::array_element(base) {
            let element = resolve(element, types, depth)?;
            return Ok(Node {
                oid,
                ty: Ty::Array(Box::new(element)),
            });
        }
        if let Some(subtype) = oid::range_subtype(base) {
            let subtype = resolve(subtype, types, depth)?;
            return Ok(Node {
                oid,
                ty: Ty::Range(Box::new(subtype)),
            });
        }
        if base == oid::RECORD {
            return Ok(Node {
                oid,
                ty: Ty::Record,
            });
        }
        let ty = match types.shape(base) {
            None => return Err(CodecError::UnknownType { oid: base }),
            Some(Shape::Domain { base: b }) => {
                base = b;
                continue;
            }
            Some(Shape::Enum) | Some(Shape::TextLike) => Ty::Scalar(Scalar::Text),
            Some(Shape::VersionedText) => Ty::Scalar(Scalar::VersionedText),
            Some(Shape::Array { element }) => Ty::Array(Box::new(resolve(element, types, depth)?)),
            Some(Shape::Range { subtype }) => Ty::Range(Box::new(resolve(subtype, types, depth)?)),
            Some(Shape::Composite { fields }) => Ty::Composite(
                fields
                    .iter()
                    .map(|&f| resolve(f, types, depth))
                    .collect::<Res<Vec<Node>>>()?,
            ),
        };
        return Ok(Node { oid, ty });
    }
}

/// [`text_to_binary`] for a resolved type.
pub(crate) fn text_to_binary_node(
    node: &Node,
    text: &[u8],
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Res {
    let oid = node.oid;
    match &node.ty {
        Ty::Scalar(s) => scalar_text_to_binary(*s, oid, text, out),
        Ty::Array(element) => container::array_text_to_binary(oid, element, text, opts, out),
        Ty::Range(subtype) => container::range_text_to_binary(oid, subtype, text, opts, out),
        Ty::Composite(fields) => container::record_text_to_binary(oid, fields, text, opts, out),
        Ty::Record => Err(CodecError::Unsupported {
            oid,
            reason: "an anonymous record's text form has no field types, so its binary form \
                     cannot be built; cast the column to a named composite type",
        }),
    }
}

/// [`binary_to_text`] for a resolved type.
pub(crate) fn binary_to_text_node(
    node: &Node,
    bytes: &[u8],
    types: &dyn TypeLookup,
    depth: u32,
    out: &mut Vec<u8>,
) -> Res {
    if depth > MAX_DEPTH {
        return Err(CodecError::Unsupported {
            oid: node.oid,
            reason: "values nest too deeply",
        });
    }
    let oid = node.oid;
    match &node.ty {
        Ty::Scalar(s) => scalar_binary_to_text(*s, oid, bytes, out),
        Ty::Array(element) => {
            container::array_binary_to_text(oid, element, bytes, types, depth, out)
        }
        Ty::Range(subtype) => {
            container::range_binary_to_text(oid, subtype, bytes, types, depth, out)
        }
        Ty::Composite(fields) => {
            container::record_binary_to_text(oid, Some(fields), bytes, types, depth, out)
        }
        Ty::Record => container::record_binary_to_text(oid, None, bytes, types, depth, out),
    }
}

/// Text to binary for a leaf type.
fn scalar_text_to_binary(s: Scalar, oid: u32, text: &[u8], out: &mut Vec<u8>) -> Res {
    match s {
        Scalar::Bool => scalar::bool_text_to_binary(oid, text, out),
        Scalar::Bytea => scalar::bytea_text_to_binary(oid, text, out),
        Scalar::Char => scalar::char_text_to_binary(oid, text, out),
        Scalar::Text => {
            out.extend_from_slice(text);
            Ok(())
        }
        Scalar::VersionedText => {
            out.push(1);
            out.extend_from_slice(text);
            Ok(())
        }
        Scalar::Int2 => scalar::int_text_to_binary(oid, text, 2, out),
        Scalar::Int4 => scalar::int_text_to_binary(oid, text, 4, out),
        Scalar::Int8 => scalar::int_text_to_binary(oid, text, 8, out),
        Scalar::Oid => scalar::oid_text_to_binary(oid, text, out),
        Scalar::Float4 => scalar::float4_text_to_binary(oid, text, out),
        Scalar::Float8 => scalar::float8_text_to_binary(oid, text, out),
        Scalar::Money => scalar::money_text_to_binary(oid, text, out),
        Scalar::Numeric => numeric::numeric_text_to_binary(oid, text, out),
        Scalar::Date => datetime::date_text_to_binary(oid, text, out),
        Scalar::Time => datetime::time_text_to_binary(oid, text, out),
        Scalar::TimeTz => datetime::timetz_text_to_binary(oid, text, out),
        Scalar::Timestamp => datetime::timestamp_text_to_binary(oid, text, false, out),
        Scalar::TimestampTz => datetime::timestamp_text_to_binary(oid, text, true, out),
        Scalar::Interval => datetime::interval_text_to_binary(oid, text, out),
        Scalar::Uuid => scalar::uuid_text_to_binary(oid, text, out),
        Scalar::Inet => scalar::inet_text_to_binary(oid, text, false, out),
        Scalar::Cidr => scalar::inet_text_to_binary(oid, text, true, out),
        Scalar::MacAddr => scalar::macaddr_text_to_binary(oid, text, out),
        Scalar::MacAddr8 => scalar::macaddr8_text_to_binary(oid, text, out),
    }
}

/// Binary to text for a leaf type.
fn scalar_binary_to_text(s: Scalar, oid: u32, bytes: &[u8], out: &mut Vec<u8>) -> Res {
    match s {
        Scalar::Bool => scalar::bool_binary_to_text(oid, bytes, out),
        Scalar::Bytea => scalar::bytea_binary_to_text(bytes, out),
        Scalar::Char => scalar::char_binary_to_text(oid, bytes, out),
        Scalar::Text => scalar::text_binary_to_text(oid, bytes, out),
        Scalar::VersionedText => match bytes.split_first() {
            Some((1, text)) => scalar::text_binary_to_text(oid, text, out),
            Some(_) => Err(CodecError::Unsupported {
                oid,
                reason: "unsupported binary format version (only 1 is known)",
            }),
            None => Err(malformed(oid, "missing binary format version byte")),
        },
        Scalar::Int2 => scalar::int_binary_to_text(oid, bytes, 2, out),
        Scalar::Int4 => scalar::int_binary_to_text(oid, bytes, 4, out),
        Scalar::Int8 => scalar::int_binary_to_text(oid, bytes, 8, out),
        Scalar::Oid => scalar::oid_binary_to_text(oid, bytes, out),
        Scalar::Float4 => scalar::float4_binary_to_text(oid, bytes, out),
        Scalar::Float8 => scalar::float8_binary_to_text(oid, bytes, out),
        Scalar::Money => scalar::money_binary_to_text(oid, bytes, out),
        Scalar::Numeric => numeric::numeric_binary_to_text(oid, bytes, out),
        Scalar::Date => datetime::date_binary_to_text(oid, bytes, out),
        Scalar::Time => datetime::time_binary_to_text(oid, bytes, out),
        Scalar::TimeTz => datetime::timetz_binary_to_text(oid, bytes, out),
        Scalar::Timestamp => datetime::timestamp_binary_to_text(oid, bytes, false, out),
        Scalar::TimestampTz => datetime::timestamp_binary_to_text(oid, bytes, true, out),
        Scalar::Interval => datetime::interval_binary_to_text(oid, bytes, out),
        Scalar::Uuid => scalar::uuid_binary_to_text(oid, bytes, out),
        Scalar::Inet => scalar::inet_binary_to_text(oid, bytes, false, out),
        Scalar::Cidr => scalar::inet_binary_to_text(oid, bytes, true, out),
        Scalar::MacAddr => scalar::macaddr_binary_to_text(oid, bytes, 6, out),
        Scalar::MacAddr8 => scalar::macaddr_binary_to_text(oid, bytes, 8, out),
    }
}

/// Reads big-endian fields from a binary value, failing (not panicking) when it runs short.
pub(crate) struct Reader<'a> {
    /// What is left to read.
    rest: &'a [u8],
    /// The type being read, for errors.
    oid: u32,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, a value of type `oid`.
    pub(crate) fn new(oid: u32, bytes: &'a [u8]) -> Self {
        Reader { rest: bytes, oid }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if self.rest.len() < n {
            return Err(malformed(self.oid, "binary value is too short"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    fn array<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Res<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// The next big-endian u16.
    pub(crate) fn u16(&mut self) -> Res<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// The next big-endian i16.
    pub(crate) fn i16(&mut self) -> Res<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// The next big-endian i32.
    pub(crate) fn i32(&mut self) -> Res<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// The next big-endian u32.
    pub(crate) fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// The next big-endian i64.
    pub(crate) fn i64(&mut self) -> Res<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A [`CodecError::Malformed`] for the type being read.
    pub(crate) fn malformed(&self, reason: &'static str) -> CodecError {
        malformed(self.oid, reason)
    }

    /// Fails unless everything has been read.
    pub(crate) fn finish(&self) -> Res {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed(self.oid, "binary value has trailing bytes"))
        }
    }
}

/// The whole of `bytes` as exactly `N` bytes.
pub(crate) fn exact<const N: usize>(oid: u32, bytes: &[u8]) -> Res<[u8; N]> {
    <[u8; N]>::try_from(bytes).map_err(|_| malformed(oid, "binary value has the wrong length"))
}

/// Whitespace as C's `isspace` sees it in the C locale (what PostgreSQL's parsers skip).
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `s` without leading and trailing [`is_space`] whitespace.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Appends the decimal form of `v`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends the decimal form of `v`.
pub(crate) fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `v` in decimal, zero-padded to at least `width` digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut n = 1;
    let mut x = v / 10;
    while x > 0 {
        n += 1;
        x /= 10;
    }
    for _ in n..width {
        out.push(b'0');
    }
    push_u64(out, v);
}

//! Built-in type OIDs (`pg_type.oid`) the codec knows, and their array OIDs.
//!
//! The numbers are fixed by PostgreSQL (they are in `pg_type.dat`); these were read from a
//! PostgreSQL 15 catalog.

use super::Scalar;

/// `bool`.
pub(crate) const BOOL: u32 = 16;
/// `bytea`.
pub(crate) const BYTEA: u32 = 17;
/// "char" (a single byte).
pub(crate) const CHAR: u32 = 18;
/// `name`.
pub(crate) const NAME: u32 = 19;
/// `int8`.
pub(crate) const INT8: u32 = 20;
/// `int2`.
pub(crate) const INT2: u32 = 21;
/// `int4`.
pub(crate) const INT4: u32 = 23;
/// `text`.
pub(crate) const TEXT: u32 = 25;
/// `oid`.
pub(crate) const OID: u32 = 26;
/// `json`.
pub(crate) const JSON: u32 = 114;
/// `xml`.
pub(crate) const XML: u32 = 142;
/// `cidr`.
pub(crate) const CIDR: u32 = 650;
/// `float4`.
pub(crate) const FLOAT4: u32 = 700;
/// `float8`.
pub(crate) const FLOAT8: u32 = 701;
/// unknown (untyped literals).
pub(crate) const UNKNOWN: u32 = 705;
/// `macaddr8`.
pub(crate) const MACADDR8: u32 = 774;
/// `money`.
pub(crate) const MONEY: u32 = 790;
/// `macaddr`.
pub(crate) const MACADDR: u32 = 829;
/// `inet`.
pub(crate) const INET: u32 = 869;
/// character(n).
pub(crate) const BPCHAR: u32 = 1042;
/// character varying(n).
pub(crate) const VARCHAR: u32 = 1043;
/// `date`.
pub(crate) const DATE: u32 = 1082;
/// `time`.
pub(crate) const TIME: u32 = 1083;
/// `timestamp`.
pub(crate) const TIMESTAMP: u32 = 1114;
/// `timestamptz`.
pub(crate) const TIMESTAMPTZ: u32 = 1184;
/// `interval`.
pub(crate) const INTERVAL: u32 = 1186;
/// `timetz`.
pub(crate) const TIMETZ: u32 = 1266;
/// `numeric`.
pub(crate) const NUMERIC: u32 = 1700;
/// record (anonymous composite).
pub(crate) const RECORD: u32 = 2249;
/// `uuid`.
pub(crate) const UUID: u32 = 2950;
/// `jsonb`.
pub(crate) const JSONB: u32 = 3802;
/// `int4range`.
pub(crate) const INT4RANGE: u32 = 3904;
/// `numrange`.
pub(crate) const NUMRANGE: u32 = 3906;
/// `tsrange`.
pub(crate) const TSRANGE: u32 = 3908;
/// `tstzrange`.
pub(crate) const TSTZRANGE: u32 = 3910;
/// `daterange`.
pub(crate) const DATERANGE: u32 = 3912;
/// `int8range`.
pub(crate) const INT8RANGE: u32 = 3926;
/// `bool[]`.
pub(crate) const BOOL_ARRAY: u32 = 1000;
/// `bytea[]`.
pub(crate) const BYTEA_ARRAY: u32 = 1001;
/// `char[]`.
pub(crate) const CHAR_ARRAY: u32 = 1002;
/// `name[]`.
pub(crate) const NAME_ARRAY: u32 = 1003;
/// `int8[]`.
pub(crate) const INT8_ARRAY: u32 = 1016;
/// `int2[]`.
pub(crate) const INT2_ARRAY: u32 = 1005;
/// `int4[]`.
pub(crate) const INT4_ARRAY: u32 = 1007;
/// `text[]`.
pub(crate) const TEXT_ARRAY: u32 = 1009;
/// `oid[]`.
pub(crate) const OID_ARRAY: u32 = 1028;
/// `json[]`.
pub(crate) const JSON_ARRAY: u32 = 199;
/// `xml[]`.
pub(crate) const XML_ARRAY: u32 = 143;
/// `cidr[]`.
pub(crate) const CIDR_ARRAY: u32 = 651;
/// `float4[]`.
pub(crate) const FLOAT4_ARRAY: u32 = 1021;
/// `float8[]`.
pub(crate) const FLOAT8_ARRAY: u32 = 1022;
/// `macaddr8[]`.
pub(crate) const MACADDR8_ARRAY: u32 = 775;
/// `money[]`.
pub(crate) const MONEY_ARRAY: u32 = 791;
/// `macaddr[]`.
pub(crate) const MACADDR_ARRAY: u32 = 1040;
/// `inet[]`.
pub(crate) const INET_ARRAY: u32 = 1041;
/// `bpchar[]`.
pub(crate) const BPCHAR_ARRAY: u32 = 1014;
/// `varchar[]`.
pub(crate) const VARCHAR_ARRAY: u32 = 1015;
/// `date[]`.
pub(crate) const DATE_ARRAY: u32 = 1182;
/// `time[]`.
pub(crate) const TIME_ARRAY: u32 = 1183;
/// `timestamp[]`.
pub(crate) const TIMESTAMP_ARRAY: u32 = 1115;
/// `timestamptz[]`.
pub(crate) const TIMESTAMPTZ_ARRAY: u32 = 1185;
/// `interval[]`.
pub(crate) const INTERVAL_ARRAY: u32 = 1187;
/// `timetz[]`.
pub(crate) const TIMETZ_ARRAY: u32 = 1270;
/// `numeric[]`.
pub(crate) const NUMERIC_ARRAY: u32 = 1231;
/// `record[]`.
pub(crate) const RECORD_ARRAY: u32 = 2287;
/// `uuid[]`.
pub(crate) const UUID_ARRAY: u32 = 2951;
/// `jsonb[]`.
pub(crate) const JSONB_ARRAY: u32 = 3807;
/// `int4range[]`.
pub(crate) const INT4RANGE_ARRAY: u32 = 3905;
/// `numrange[]`.
pub(crate) const NUMRANGE_ARRAY: u32 = 3907;
/// `tsrange[]`.
pub(crate) const TSRANGE_ARRAY: u32 = 3909;
/// `tstzrange[]`.
pub(crate) const TSTZRANGE_ARRAY: u32 = 3911;
/// `daterange[]`.
pub(crate) const DATERANGE_ARRAY: u32 = 3913;
/// `int8range[]`.
pub(crate) const INT8RANGE_ARRAY: u32 = 3927;

/// The codec's leaf type for a built-in scalar OID.
pub(crate) fn scalar(oid: u32) -> Option<Scalar> {
    Some(match oid {
        BOOL => Scalar::Bool,
        BYTEA => Scalar::Bytea,
        CHAR => Scalar::Char,
        NAME => Scalar::Text,
        INT8 => Scalar::Int8,
        INT2 => Scalar::Int2,
        INT4 => Scalar::Int4,
        TEXT => Scalar::Text,
        OID => Scalar::Oid,
        JSON => Scalar::Text,
        XML => Scalar::Text,
        CIDR => Scalar::Cidr,
        FLOAT4 => Scalar::Float4,
        FLOAT8 => Scalar::Float8,
        UNKNOWN => Scalar::Text,
        MACADDR8 => Scalar::MacAddr8,
        MONEY => Scalar::Money,
        MACADDR => Scalar::MacAddr,
        INET => Scalar::Inet,
        BPCHAR => Scalar::Text,
        VARCHAR => Scalar::Text,
        DATE => Scalar::Date,
        TIME => Scalar::Time,
        TIMESTAMP => Scalar::Timestamp,
        TIMESTAMPTZ => Scalar::TimestampTz,
        INTERVAL => Scalar::Interval,
        TIMETZ => Scalar::TimeTz,
        NUMERIC => Scalar::Numeric,
        UUID => Scalar::Uuid,
        JSONB => Scalar::VersionedText,
        _ => return None,
    })
}

/// The element type of a built-in array OID.
pub(crate) fn array_element(oid: u32) -> Option<u32> {
    Some(match oid {
        BOOL_ARRAY => BOOL,
        BYTEA_ARRAY => BYTEA,
        CHAR_ARRAY => CHAR,
        NAME_ARRAY => NAME,
        INT8_ARRAY => INT8,
        INT2_ARRAY => INT2,
        INT4_ARRAY => INT4,
        TEXT_ARRAY => TEXT,
        OID_ARRAY => OID,
        JSON_ARRAY => JSON,
        XML_ARRAY => XML,
        CIDR_ARRAY => CIDR,
        FLOAT4_ARRAY => FLOAT4,
        FLOAT8_ARRAY => FLOAT8,
        MACADDR8_ARRAY => MACADDR8,
        MONEY_ARRAY => MONEY,
        MACADDR_ARRAY => MACADDR,
        INET_ARRAY => INET,
        BPCHAR_ARRAY => BPCHAR,
        VARCHAR_ARRAY => VARCHAR,
        DATE_ARRAY => DATE,
        TIME_ARRAY => TIME,
        TIMESTAMP_ARRAY => TIMESTAMP,
        TIMESTAMPTZ_ARRAY => TIMESTAMPTZ,
        INTERVAL_ARRAY => INTERVAL,
        TIMETZ_ARRAY => TIMETZ,
        NUMERIC_ARRAY => NUMERIC,
        RECORD_ARRAY => RECORD,
        UUID_ARRAY => UUID,
        JSONB_ARRAY => JSONB,
        INT4RANGE_ARRAY => INT4RANGE,
        NUMRANGE_ARRAY => NUMRANGE,
        TSRANGE_ARRAY => TSRANGE,
        TSTZRANGE_ARRAY => TSTZRANGE,
        DATERANGE_ARRAY => DATERANGE,
        INT8RANGE_ARRAY => INT8RANGE,
        _ => return None,
    })
}

/// The subtype of a built-in range OID.
pub(crate) fn range_subtype(oid: u32) -> Option<u32> {
    Some(match oid {
        INT4RANGE => INT4,
        NUMRANGE => NUMERIC,
        TSRANGE => TIMESTAMP,
        TSTZRANGE => TIMESTAMPTZ,
        DATERANGE => DATE,
        INT8RANGE => INT8,
        _ => return None,
    })
}

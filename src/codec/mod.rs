//! PLACEHOLDER: replaced by the real codec (text <-> binary per type OID).
#![allow(dead_code, missing_docs)]

pub(crate) mod oid {
    pub(crate) const BOOL: u32 = 16;
    pub(crate) const TEXT: u32 = 25;
    pub(crate) const INT4: u32 = 23;
    pub(crate) const OID: u32 = 26;
}

pub(crate) trait TypeLookup {
    fn shape(&self, oid: u32) -> Option<Shape>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Array { element: u32 },
    Composite { fields: Vec<u32> },
    Enum,
    Domain { base: u32 },
    Range { subtype: u32 },
    TextLike,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TextOptions {
    pub literal_null_in_records: bool,
}

#[derive(Debug)]
pub(crate) enum CodecError {
    UnknownType { oid: u32 },
    Malformed { oid: u32, reason: &'static str },
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for CodecError {}

pub(crate) fn text_to_binary(
    oid: u32,
    text: &[u8],
    _types: &dyn TypeLookup,
    _opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match oid {
        oid::TEXT => {
            out.extend_from_slice(text);
            Ok(())
        }
        _ => Err(CodecError::UnknownType { oid }),
    }
}

pub(crate) fn binary_to_text(
    oid: u32,
    bytes: &[u8],
    _types: &dyn TypeLookup,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match oid {
        oid::TEXT => {
            out.extend_from_slice(bytes);
            Ok(())
        }
        _ => Err(CodecError::UnknownType { oid }),
    }
}

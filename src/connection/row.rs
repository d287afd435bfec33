//! Result sets, rows and fields: every value is handed to Diesel in the binary format its `FromSql`
//! impls expect, whatever format the server actually used for the column (its format code).

use std::num::NonZeroU32;
use std::ops::Range;
use std::rc::Rc;

use diesel::pg::{Pg, PgValue, TypeOidLookup};
use diesel::result::Error;
use diesel::row::{Field, PartialRow, Row, RowIndex, RowSealed};

use crate::codec::{self, CodecError, TextOptions};

use super::raw::RawResult;
use super::types::TypeCache;

struct Column {
    oid: NonZeroU32,
    /// The server sent this column as text: its values live converted in the arena.
    text: bool,
}

/// A result whose values are all readable by Diesel.
pub(crate) struct ResultSet {
    raw: RawResult,
    columns: Vec<Column>,
    /// For text columns, (start, end) of each converted value in `arena`, row-major over the text
    /// columns only; `None` for NULL.
    cells: Vec<Option<(u32, u32)>>,
    /// Which column each text column is, in order.
    text_columns: Vec<usize>,
    arena: Vec<u8>,
}

/// Text that cannot be converted because a type is not known yet: the caller looks it up and tries
/// again.
pub(crate) enum Unconvertible {
    /// The type (or a type nested in it) needs a catalog lookup.
    UnknownType(u32),
    /// The value is not what its type's text looks like.
    Bad(Error),
}

fn oid_or_text(oid: u32) -> NonZeroU32 {
    // A server may report 0 for an expression without a type: Diesel reads such values as text.
    NonZeroU32::new(oid).unwrap_or(NonZeroU32::new(codec::oid::TEXT).expect("non-zero"))
}

impl ResultSet {
    /// Wrap `raw`; [`ResultSet::prepare`] converts its text values.
    pub(crate) fn wrap(raw: RawResult) -> Self {
        let columns: Vec<Column> = (0..raw.columns())
            .map(|c| Column {
                oid: oid_or_text(raw.column_type(c)),
                text: raw.column_format(c) == 0,
            })
            .collect();
        let text_columns: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.text)
            .map(|(i, _)| i)
            .collect();
        ResultSet {
            raw,
            columns,
            cells: Vec::new(),
            text_columns,
            arena: Vec::new(),
        }
    }

    /// Convert every text-format value with what `types` knows. After an
    /// [`Unconvertible::UnknownType`] the caller looks the type up and calls this again.
    pub(crate) fn prepare(
        &mut self,
        types: &TypeCache,
        opts: TextOptions,
    ) -> Result<(), Unconvertible> {
        if self.text_columns.is_empty() {
            return Ok(());
        }
        let rows = self.raw.rows();
        self.arena.clear();
        self.cells = Vec::with_capacity(rows * self.text_columns.len());
        let estimate: usize = (0..rows.min(4))
            .flat_map(|r| self.text_columns.iter().map(move |c| (r, *c)))
            .map(|(r, c)| self.raw.value(r, c).map_or(0, <[u8]>::len))
            .sum();
        self.arena
            .reserve(estimate.saturating_mul(rows.max(1)) / rows.clamp(1, 4));
        let (raw, columns, cells, arena) =
            (&self.raw, &self.columns, &mut self.cells, &mut self.arena);
        types.with_shapes(|shapes| {
            for row in 0..rows {
                for &col in &self.text_columns {
                    let Some(text) = raw.value(row, col) else {
                        cells.push(None);
                        continue;
                    };
                    let oid = columns[col].oid.get();
                    let start = arena.len();
                    match codec::text_to_binary(oid, text, shapes, opts, arena) {
                        Ok(()) => {}
                        Err(CodecError::UnknownType { oid: missing })
                            if missing >= super::types::FIRST_USER_OID
                                && !shapes.contains(missing) =>
                        {
                            return Err(Unconvertible::UnknownType(missing));
                        }
                        Err(CodecError::UnknownType { .. }) => {
                            // A type with no known binary form: hand over its text, which Diesel
                            // reads as `String` (the documented way to map such types).
                            arena.truncate(start);
                            arena.extend_from_slice(text);
                        }
                        Err(e) => {
                            let name = raw.column_name(col).unwrap_or("?").to_string();
                            return Err(Unconvertible::Bad(Error::DeserializationError(
                                format!("column {name:?} (type oid {oid}) in text: {e}").into(),
                            )));
                        }
                    }
                    cells.push(Some((start as u32, arena.len() as u32)));
                }
            }
            Ok(())
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.raw.rows()
    }

    fn value(&self, row: usize, col: usize) -> Option<&[u8]> {
        if !self.columns[col].text {
            return self.raw.value(row, col);
        }
        let t = self.text_columns.iter().position(|c| *c == col)?;
        let (start, end) = self.cells[row * self.text_columns.len() + t]?;
        Some(&self.arena[start as usize..end as usize])
    }

    fn column_index(&self, name: &str) -> Option<usize> {
        (0..self.columns.len()).find(|c| self.raw.column_name(*c) == Some(name))
    }

    pub(crate) fn text_oids(&self) -> impl Iterator<Item = u32> + '_ {
        self.columns.iter().filter(|c| c.text).map(|c| c.oid.get())
    }
}

/// A row of a query result, its values in the binary form Diesel reads.
pub struct AepRow {
    set: Rc<ResultSet>,
    row: usize,
}

impl AepRow {
    pub(crate) fn new(set: Rc<ResultSet>, row: usize) -> Self {
        AepRow { set, row }
    }
}

impl RowSealed for AepRow {}

impl<'a> Row<'a, Pg> for AepRow {
    type Field<'f>
        = AepField<'f>
    where
        'a: 'f,
        Self: 'f;
    type InnerPartialRow = Self;

    fn field_count(&self) -> usize {
        self.set.columns.len()
    }

    fn get<'b, I>(&'b self, idx: I) -> Option<Self::Field<'b>>
    where
        'a: 'b,
        Self: RowIndex<I>,
    {
        let col = self.idx(idx)?;
        Some(AepField {
            set: &self.set,
            row: self.row,
            col,
        })
    }

    fn partial_row(&self, range: Range<usize>) -> PartialRow<'_, Self::InnerPartialRow> {
        PartialRow::new(self, range)
    }
}

impl RowIndex<usize> for AepRow {
    fn idx(&self, idx: usize) -> Option<usize> {
        (idx < self.set.columns.len()).then_some(idx)
    }
}

impl<'a> RowIndex<&'a str> for AepRow {
    fn idx(&self, name: &'a str) -> Option<usize> {
        self.set.column_index(name)
    }
}

/// A field of an [`AepRow`].
pub struct AepField<'a> {
    set: &'a ResultSet,
    row: usize,
    col: usize,
}

impl<'a> Field<'a, Pg> for AepField<'a> {
    fn field_name(&self) -> Option<&str> {
        self.set.raw.column_name(self.col)
    }

    fn value(&self) -> Option<PgValue<'_>> {
        let bytes = self.set.value(self.row, self.col)?;
        Some(PgValue::new(bytes, &self.set.columns[self.col].oid))
    }
}

impl TypeOidLookup for AepField<'_> {
    fn lookup(&self) -> NonZeroU32 {
        self.set.columns[self.col].oid
    }
}

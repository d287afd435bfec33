//! What the connection knows about the server's types beyond the built-in ones: custom type OIDs by
//! name (for Diesel's custom SQL types in binds) and the shape of each OID (for reading text results
//! and writing text parameters). Shared by every connection of an engine, so each type is looked up
//! once per engine.
//!
//! Lookups read `pg_catalog` with plain joins through the simple query protocol, with the values
//! inlined as literals: no `::regtype` casts and no bind parameters, the most widely accepted form
//! (Query Service documents `pg_catalog` as emulated for psql and BI tools).

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::{Arc, Mutex};

use crate::codec::{Shape, TypeLookup};

use super::raw::{RawConnection, RawResult, ResultKind};

/// The shared type knowledge of an engine's connections.
#[derive(Debug, Default, Clone)]
pub(crate) struct TypeCache {
    inner: Arc<Mutex<Known>>,
}

#[derive(Debug, Default)]
struct Known {
    /// OID → shape; `None` records "looked up, not convertible" so it is not asked again.
    shapes: HashMap<u32, Option<Shape>>,
    /// (schema, name) → (oid, array oid).
    names: HashMap<(Option<String>, String), (u32, u32)>,
}

/// A snapshot view used by the codec while converting.
pub(crate) struct Shapes<'a>(&'a HashMap<u32, Option<Shape>>);

impl Shapes<'_> {
    /// Whether `oid` was looked up already (found or not).
    pub(crate) fn contains(&self, oid: u32) -> bool {
        self.0.contains_key(&oid)
    }
}

impl TypeLookup for Shapes<'_> {
    fn shape(&self, oid: u32) -> Option<Shape> {
        self.0.get(&oid).cloned().flatten()
    }
}

/// Why a lookup query failed.
#[derive(Debug)]
pub(crate) struct LookupFailed(pub String);

impl TypeCache {
    /// Run `f` with the shapes known so far.
    pub(crate) fn with_shapes<R>(&self, f: impl FnOnce(&Shapes<'_>) -> R) -> R {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&Shapes(&guard.shapes))
    }

    /// Whether `oid` was looked up already (found or not).
    pub(crate) fn looked_up(&self, oid: u32) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shapes
            .contains_key(&oid)
    }

    /// Look up the shapes of `oids` and of every type they refer to (array elements, composite fields,
    /// domain bases, range subtypes), in a few catalog queries.
    pub(crate) fn resolve(
        &self,
        raw: &mut RawConnection,
        oids: &[u32],
    ) -> Result<(), LookupFailed> {
        let mut pending: Vec<u32> = oids
            .iter()
            .copied()
            .filter(|o| *o != 0 && !self.looked_up(*o))
            .collect();
        let mut rounds = 0;
        while !pending.is_empty() {
            rounds += 1;
            if rounds > 8 {
                break; // types nested deeper than this are left unknown
            }
            pending.sort_unstable();
            pending.dedup();
            let found = lookup_shapes(raw, &pending)?;
            let mut next = Vec::new();
            let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            for oid in &pending {
                let shape = found.get(oid).cloned().flatten();
                if let Some(s) = &shape {
                    let refs: Vec<u32> = match s {
                        Shape::Array { element } => vec![*element],
                        Shape::Composite { fields } => fields.clone(),
                        Shape::Domain { base } => vec![*base],
                        Shape::Range { subtype } => vec![*subtype],
                        Shape::Enum | Shape::TextLike | Shape::VersionedText => vec![],
                    };
                    next.extend(
                        refs.into_iter()
                            .filter(|r| *r >= FIRST_USER_OID && !guard.shapes.contains_key(r)),
                    );
                }
                guard.shapes.insert(*oid, shape);
            }
            drop(guard);
            pending = next;
        }
        Ok(())
    }

    /// The (oid, array oid) of the type `name` in `schema` (or the first found in `public`, then
    /// `pg_catalog`, then anywhere, when no schema is given).
    pub(crate) fn oid_of(
        &self,
        raw: &mut RawConnection,
        name: &str,
        schema: Option<&str>,
    ) -> Result<(u32, u32), LookupFailed> {
        let key = (schema.map(str::to_owned), name.to_owned());
        if let Some(found) = self
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .names
            .get(&key)
        {
            return Ok(*found);
        }
        let filter = match schema {
            Some(s) => format!("AND n.nspname = {}", literal(s)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT t.oid, t.typarray FROM pg_catalog.pg_type t \
             JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typname = {} {filter} \
             ORDER BY (n.nspname = 'public') DESC, (n.nspname = 'pg_catalog') DESC, n.nspname LIMIT 1",
            literal(name)
        );
        let res = query(raw, &sql)?;
        if res.rows() == 0 {
            return Err(LookupFailed(format!(
                "no type named {name:?}{} in pg_catalog.pg_type",
                schema
                    .map(|s| format!(" in schema {s:?}"))
                    .unwrap_or_default()
            )));
        }
        let found = (int(&res, 0, 0), int(&res, 0, 1));
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .names
            .insert(key, found);
        Ok(found)
    }
}

/// OIDs below this are PostgreSQL's own (the codec knows the built-in ones it can convert).
pub(crate) const FIRST_USER_OID: u32 = 10_000;

/// A string literal (standard_conforming_strings): quotes doubled; backslashes are written with the
/// `E''` form so they mean the same whatever that setting is.
fn literal(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn query(raw: &mut RawConnection, sql: &str) -> Result<RawResult, LookupFailed> {
    let c = CString::new(sql).map_err(|_| LookupFailed("a type name contains NUL".into()))?;
    let res = raw
        .exec(&c)
        .ok_or_else(|| LookupFailed(raw.error_message()))?;
    match res.kind() {
        ResultKind::Tuples => Ok(res),
        _ => Err(LookupFailed(res.error_message())),
    }
}

fn text(res: &RawResult, row: usize, col: usize) -> &str {
    res.value(row, col)
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or("")
}

fn int(res: &RawResult, row: usize, col: usize) -> u32 {
    text(res, row, col).trim().parse().unwrap_or(0)
}

/// One round of shape lookups: the types themselves, then the fields of the composites among them.
fn lookup_shapes(
    raw: &mut RawConnection,
    oids: &[u32],
) -> Result<HashMap<u32, Option<Shape>>, LookupFailed> {
    let list = oids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let res = query(
        raw,
        &format!(
            "SELECT t.oid, t.typtype, t.typelem, t.typbasetype, t.typrelid, t.typcategory, \
                    coalesce(p.proname::text, ''), coalesce(r.rngsubtype, 0) \
             FROM pg_catalog.pg_type t \
             LEFT JOIN pg_catalog.pg_proc p ON p.oid = t.typsend \
             LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid \
             WHERE t.oid IN ({list})"
        ),
    )?;
    let mut out = HashMap::new();
    let mut composites = Vec::new();
    for row in 0..res.rows() {
        let oid = int(&res, row, 0);
        let typtype = text(&res, row, 1);
        let elem = int(&res, row, 2);
        let base = int(&res, row, 3);
        let relid = int(&res, row, 4);
        let category = text(&res, row, 5);
        let send = text(&res, row, 6);
        let subtype = int(&res, row, 7);
        let shape = match typtype {
            "c" => {
                composites.push((oid, relid));
                continue;
            }
            "e" => Some(Shape::Enum),
            "d" => Some(Shape::Domain { base }),
            "r" if subtype != 0 => Some(Shape::Range { subtype }),
            _ if (category == "A" || send == "array_send") && elem != 0 => {
                Some(Shape::Array { element: elem })
            }
            _ if TEXT_SENDS.contains(&send) => Some(Shape::TextLike),
            // ltree and its query types: a version byte, then the text
            _ if matches!(send, "ltree_send" | "lquery_send" | "ltxtquery_send") => {
                Some(Shape::VersionedText)
            }
            _ => None,
        };
        out.insert(oid, shape);
    }
    if !composites.is_empty() {
        let rels = composites
            .iter()
            .map(|(_, r)| r.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let fields = query(
            raw,
            &format!(
                "SELECT a.attrelid, a.atttypid FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid IN ({rels}) AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attrelid, a.attnum"
            ),
        )?;
        let mut by_rel: HashMap<u32, Vec<u32>> = HashMap::new();
        for row in 0..fields.rows() {
            by_rel
                .entry(int(&fields, row, 0))
                .or_default()
                .push(int(&fields, row, 1));
        }
        for (oid, relid) in composites {
            let fields = by_rel.remove(&relid).unwrap_or_default();
            out.insert(oid, Some(Shape::Composite { fields }));
        }
    }
    Ok(out)
}

/// Send functions whose binary output is the value's text: types whose two formats are the same bytes.
const TEXT_SENDS: &[&str] = &[
    "textsend",
    "varcharsend",
    "bpcharsend",
    "namesend",
    "unknownsend",
    "xml_send",
    "citextsend",
    "enum_send",
];

#[cfg(test)]
mod tests {
    #[test]
    fn literals_survive_quotes_and_backslashes() {
        assert_eq!(super::literal("a'b"), "'a''b'");
        assert_eq!(super::literal("a\\b'"), "E'a\\\\b'''");
    }
}

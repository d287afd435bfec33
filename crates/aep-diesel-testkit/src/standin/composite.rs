//! Query Service's text form of XDM objects: a NULL field of a record is the unquoted word `NULL`
//! (`(NULL,"(USD,NULL)")`, platform-facts.md "Data shapes"), where PostgreSQL writes nothing
//! (`(,"(USD,)")`). The relay rewrites text-format values of composite columns, arrays of composites
//! and nested composites into that form, so that client code meets the platform's spelling locally.
//!
//! Type-directed: only fields whose type is known to be composite (or an array of composites) are
//! descended into, so a text field that merely looks like `(a,)` is left alone.

use std::collections::HashMap;

/// The anonymous `record` type and its array.
pub(crate) const RECORD: u32 = 2249;
pub(crate) const RECORD_ARRAY: u32 = 2287;

/// What the relay knows of a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A composite with these field types, in order; empty for the anonymous `record`, whose top-level
    /// NULL fields are still rewritten (assumption: Query Service spells them the same way) but whose
    /// fields are not descended into.
    Record(Vec<u32>),
    /// An array of this element type.
    Array(u32),
}

pub(crate) type Shapes = HashMap<u32, Shape>;

/// The built-in shapes every session knows.
pub(crate) fn builtin() -> Shapes {
    HashMap::from([
        (RECORD, Shape::Record(Vec::new())),
        (RECORD_ARRAY, Shape::Array(RECORD)),
    ])
}

/// The value rewritten to Query Service's form, or `None` when nothing changes (or the text does
/// not parse, which leaves it as PostgreSQL sent it).
pub(crate) fn rewrite(value: &[u8], oid: u32, shapes: &Shapes) -> Option<Vec<u8>> {
    match shapes.get(&oid)? {
        Shape::Record(fields) => rewrite_record(value, fields, oid == RECORD, shapes),
        Shape::Array(elem) => {
            shapes.get(elem)?;
            rewrite_array(value, *elem, shapes)
        }
    }
}

/// One field or element as written: its raw bytes and, unless NULL, its decoded value.
struct Item<'a> {
    raw: &'a [u8],
    value: Option<Vec<u8>>,
}

fn rewrite_record(
    text: &[u8],
    fields: &[u32],
    anonymous: bool,
    shapes: &Shapes,
) -> Option<Vec<u8>> {
    let inner = text.strip_prefix(b"(")?.strip_suffix(b")")?;
    // `()` is a record without fields, or one NULL field: PostgreSQL writes both alike. Only a known
    // one-field type tells them apart.
    if inner.is_empty() && (anonymous || fields.len() != 1) {
        return None;
    }
    let items = split_record(inner)?;
    if !anonymous && items.len() != fields.len() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() + 8);
    out.push(b'(');
    let mut changed = false;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match &item.value {
            None => {
                out.extend_from_slice(b"NULL");
                changed = true;
            }
            Some(v) => match fields.get(i).and_then(|t| rewrite(v, *t, shapes)) {
                Some(new) => {
                    quote_record_field(&new, &mut out);
                    changed = true;
                }
                None => out.extend_from_slice(item.raw),
            },
        }
    }
    out.push(b')');
    changed.then_some(out)
}

/// Fields of a record's inside, as `record_out` writes them: empty = NULL, `"…"` with `""` and `\x`
/// escapes, or bare text (backslash escapes accepted as `record_in` does).
fn split_record(inner: &[u8]) -> Option<Vec<Item<'_>>> {
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut value = Vec::new();
        let mut quoted_any = false;
        while i < inner.len() && inner[i] != b',' {
            match inner[i] {
                b'"' => {
                    quoted_any = true;
                    i += 1;
                    loop {
                        match inner.get(i)? {
                            b'\\' => {
                                value.push(*inner.get(i + 1)?);
                                i += 2;
                            }
                            b'"' if inner.get(i + 1) == Some(&b'"') => {
                                value.push(b'"');
                                i += 2;
                            }
                            b'"' => {
                                i += 1;
                                break;
                            }
                            c => {
                                value.push(*c);
                                i += 1;
                            }
                        }
                    }
                }
                b'\\' => {
                    value.push(*inner.get(i + 1)?);
                    i += 2;
                }
                c => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        let raw = &inner[start..i];
        items.push(Item {
            raw,
            value: (quoted_any || !raw.is_empty()).then_some(value),
        });
        if i >= inner.len() {
            return Some(items);
        }
        i += 1; // the comma
    }
}

/// `record_out`'s quoting: quote when empty or holding `"`, `\`, `(`, `)`, `,` or white space; double
/// `"` and `\` inside.
fn quote_record_field(v: &[u8], out: &mut Vec<u8>) {
    let needs = v.is_empty()
        || v.iter()
            .any(|c| matches!(c, b'"' | b'\\' | b'(' | b')' | b',') || c.is_ascii_whitespace());
    if !needs {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for c in v {
        if matches!(c, b'"' | b'\\') {
            out.push(*c);
        }
        out.push(*c);
    }
    out.push(b'"');
}

/// `array_out`'s quoting: quote when empty, `NULL`, or holding braces, `,`, `"`, `\` or white space;
/// backslash-escape `"` and `\`.
fn quote_array_element(v: &[u8], out: &mut Vec<u8>) {
    let needs = v.is_empty()
        || v.eq_ignore_ascii_case(b"NULL")
        || v.iter()
            .any(|c| matches!(c, b'{' | b'}' | b',' | b'"' | b'\\') || c.is_ascii_whitespace());
    if !needs {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for c in v {
        if matches!(c, b'"' | b'\\') {
            out.push(b'\\');
        }
        out.push(*c);
    }
    out.push(b'"');
}

fn rewrite_array(text: &[u8], elem: u32, shapes: &Shapes) -> Option<Vec<u8>> {
    // Optional dimension decoration: `[0:1]={…}`.
    let (prefix, body) = if text.first() == Some(&b'[') {
        let eq = text.iter().position(|c| *c == b'=')?;
        text.split_at(eq + 1)
    } else {
        (&text[..0], text)
    };
    let mut out = prefix.to_vec();
    let mut changed = false;
    let end = array_level(body, 0, elem, shapes, &mut out, &mut changed)?;
    if end != body.len() {
        return None;
    }
    changed.then_some(out)
}

/// One `{…}` level starting at `i`; returns the index after its `}`.
fn array_level(
    s: &[u8],
    mut i: usize,
    elem: u32,
    shapes: &Shapes,
    out: &mut Vec<u8>,
    changed: &mut bool,
) -> Option<usize> {
    if s.get(i) != Some(&b'{') {
        return None;
    }
    out.push(b'{');
    i += 1;
    if s.get(i) == Some(&b'}') {
        out.push(b'}');
        return Some(i + 1);
    }
    loop {
        match s.get(i)? {
            b'{' => i = array_level(s, i, elem, shapes, out, changed)?,
            b'"' => {
                let mut v = Vec::new();
                let start = i;
                i += 1;
                loop {
                    match s.get(i)? {
                        b'\\' => {
                            v.push(*s.get(i + 1)?);
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            break;
                        }
                        c => {
                            v.push(*c);
                            i += 1;
                        }
                    }
                }
                match rewrite(&v, elem, shapes) {
                    Some(new) => {
                        quote_array_element(&new, out);
                        *changed = true;
                    }
                    None => out.extend_from_slice(&s[start..i]),
                }
            }
            _ => {
                let start = i;
                while !matches!(s.get(i)?, b',' | b'}') {
                    i += 1;
                }
                let raw = &s[start..i];
                // Unquoted NULL is already Query Service's spelling; other bare elements cannot be
                // records (those always need quotes).
                out.extend_from_slice(raw);
            }
        }
        match s.get(i)? {
            b',' => {
                out.push(b',');
                i += 1;
            }
            b'}' => {
                out.push(b'}');
                return Some(i + 1);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONEY: u32 = 90_001; // (currency text, amount numeric)
    const ORDER: u32 = 90_002; // (id int, price money_t, tags text[])
    const ORDER_ARRAY: u32 = 90_003;
    const ONE: u32 = 90_004; // (only text)

    fn shapes() -> Shapes {
        let mut s = builtin();
        s.insert(MONEY, Shape::Record(vec![25, 1700]));
        s.insert(ORDER, Shape::Record(vec![23, MONEY, 1009]));
        s.insert(ORDER_ARRAY, Shape::Array(ORDER));
        s.insert(ONE, Shape::Record(vec![25]));
        s
    }

    fn rw(v: &str, oid: u32) -> String {
        rewrite(v.as_bytes(), oid, &shapes())
            .map(|b| String::from_utf8(b).unwrap())
            .unwrap_or_else(|| format!("unchanged:{v}"))
    }

    #[test]
    fn nulls_become_the_word_null_at_every_level() {
        assert_eq!(rw("(,)", MONEY), "(NULL,NULL)");
        assert_eq!(rw("(,\"(USD,)\",)", ORDER), "(NULL,\"(USD,NULL)\",NULL)");
        assert_eq!(rw("(1,,\"{a,NULL}\")", ORDER), "(1,NULL,\"{a,NULL}\")");
        assert_eq!(rw("()", ONE), "(NULL)");
        assert_eq!(
            rw("{\"(1,\\\"(EUR,)\\\",)\",NULL}", ORDER_ARRAY),
            "{\"(1,\\\"(EUR,NULL)\\\",NULL)\",NULL}"
        );
        assert_eq!(rw("(1,)", RECORD), "(1,NULL)");
        assert_eq!(rw("{\"(,x)\"}", RECORD_ARRAY), "{\"(NULL,x)\"}");
    }

    #[test]
    fn values_without_nulls_or_of_other_types_are_left_alone() {
        assert_eq!(rw("(USD,1.5)", MONEY), "unchanged:(USD,1.5)");
        assert_eq!(rw("(,)", 25), "unchanged:(,)");
        assert_eq!(rw("()", RECORD), "unchanged:()");
        // An empty string is quoted, not NULL.
        assert_eq!(rw("(\"\",1)", MONEY), "unchanged:(\"\",1)");
        // A text field that looks like a record is not descended into.
        assert_eq!(rw("(\"(a,)\",)", MONEY), "(\"(a,)\",NULL)");
        assert_eq!(rw("{}", ORDER_ARRAY), "unchanged:{}");
        assert_eq!(
            rw("[0:0]={\"(1,,)\"}", ORDER_ARRAY),
            "[0:0]={\"(1,NULL,NULL)\"}"
        );
    }

    #[test]
    fn quoting_survives_special_characters() {
        assert_eq!(rw("(\"a \"\"b\"\"\",)", MONEY), "(\"a \"\"b\"\"\",NULL)");
        assert_eq!(rw("(\"x\\\\y\",)", MONEY), "(\"x\\\\y\",NULL)");
        // Malformed text is passed through untouched.
        assert_eq!(rw("(\"open,", MONEY), "unchanged:(\"open,");
    }
}

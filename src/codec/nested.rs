//! Arrays, records (composites) and ranges: their text syntax (`{…}`, `(…)`, `[a,b)`) and binary
//! layouts, converting each element or field by its own type.

use super::{
    CodecError, Reader, Result, TextOptions, TypeLookup, binary_to_text, malformed, text_to_binary,
};

/// One element or field as written in text: `None` is NULL.
type Item = Option<Vec<u8>>;

/// An array's elements (row-major) and its dimensions (length, lower bound).
struct ArrayText {
    dims: Vec<(i32, i32)>,
    items: Vec<Item>,
}

fn parse_array(oid: u32, text: &[u8]) -> Result<ArrayText> {
    let mut t = super::trim(text);
    // optional `[lo:hi][lo:hi]=` decoration
    let mut bounds: Vec<i32> = Vec::new();
    if t.first() == Some(&b'[') {
        let eq = t
            .iter()
            .position(|b| *b == b'=')
            .ok_or(CodecError::Malformed {
                oid,
                reason: "bad array dimensions",
            })?;
        for dim in t[..eq].split(|b| *b == b']').filter(|d| !d.is_empty()) {
            let dim = dim.strip_prefix(b"[").ok_or(CodecError::Malformed {
                oid,
                reason: "bad array dimensions",
            })?;
            let lo = dim.split(|b| *b == b':').next().unwrap_or(b"1");
            let lo = std::str::from_utf8(lo)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
                .ok_or(CodecError::Malformed {
                    oid,
                    reason: "bad array dimensions",
                })?;
            bounds.push(lo);
        }
        t = super::trim(&t[eq + 1..]);
    }
    let mut p = Parser { s: t, i: 0, oid };
    let mut items = Vec::new();
    let mut lens: Vec<Option<i32>> = Vec::new();
    p.level(0, &mut items, &mut lens)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return malformed(oid, "text after the array");
    }
    if items.is_empty() && lens.first().copied().flatten() == Some(0) {
        return Ok(ArrayText {
            dims: Vec::new(),
            items,
        });
    }
    let dims = lens
        .iter()
        .enumerate()
        .map(|(i, l)| (l.unwrap_or(0), bounds.get(i).copied().unwrap_or(1)))
        .collect();
    Ok(ArrayText { dims, items })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    oid: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn bad<T>(&self, reason: &'static str) -> Result<T> {
        malformed(self.oid, reason)
    }

    /// `{…}` at nesting `depth`: elements go to `items`, each level's length to `lens`.
    fn level(
        &mut self,
        depth: usize,
        items: &mut Vec<Item>,
        lens: &mut Vec<Option<i32>>,
    ) -> Result<()> {
        if depth > 6 {
            return self.bad("array nested too deep");
        }
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return self.bad("expected '{'");
        }
        self.i += 1;
        if lens.len() <= depth {
            lens.push(None);
        }
        let mut count = 0i32;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return self.set_len(depth, 0, lens);
        }
        loop {
            self.skip_ws();
            if self.peek() == Some(b'{') {
                self.level(depth + 1, items, lens)?;
            } else {
                if lens.len() > depth + 1 {
                    return self.bad("array is not rectangular");
                }
                items.push(self.element()?);
            }
            count += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return self.set_len(depth, count, lens);
                }
                _ => return self.bad("expected ',' or '}'"),
            }
        }
    }

    fn set_len(&self, depth: usize, n: i32, lens: &mut [Option<i32>]) -> Result<()> {
        match lens[depth] {
            None => {
                lens[depth] = Some(n);
                Ok(())
            }
            Some(l) if l == n => Ok(()),
            Some(_) => self.bad("array is not rectangular"),
        }
    }

    /// One array element: quoted (never NULL), or bare until `,` or `}` (the word NULL is NULL).
    fn element(&mut self) -> Result<Item> {
        let mut value = Vec::new();
        let mut quoted = false;
        let mut any_quote = false;
        loop {
            let Some(b) = self.peek() else {
                return self.bad("unterminated array");
            };
            match b {
                b'"' => {
                    quoted = !quoted;
                    any_quote = true;
                    self.i += 1;
                }
                b'\\' => {
                    let next = self.s.get(self.i + 1).copied();
                    let Some(next) = next else {
                        return self.bad("dangling backslash");
                    };
                    value.push(next);
                    self.i += 2;
                }
                b',' | b'}' if !quoted => break,
                b'{' if !quoted => return self.bad("unexpected '{'"),
                _ => {
                    value.push(b);
                    self.i += 1;
                }
            }
        }
        if !any_quote {
            while value.last().is_some_and(|b| b.is_ascii_whitespace()) {
                value.pop();
            }
            if value.eq_ignore_ascii_case(b"NULL") {
                return Ok(None);
            }
            if value.is_empty() {
                return self.bad("empty array element");
            }
        }
        Ok(Some(value))
    }
}

pub(super) fn array_in(
    oid: u32,
    element: u32,
    text: &[u8],
    types: &dyn TypeLookup,
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let a = parse_array(oid, text)?;
    let has_null = a.items.iter().any(Option::is_none);
    out.extend_from_slice(&(a.dims.len() as i32).to_be_bytes());
    out.extend_from_slice(&i32::from(has_null).to_be_bytes());
    out.extend_from_slice(&element.to_be_bytes());
    for (len, lower) in &a.dims {
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&lower.to_be_bytes());
    }
    for item in &a.items {
        write_item(element, item.as_deref(), types, opts, out)?;
    }
    Ok(())
}

/// A length-prefixed binary value converted from `text` (`-1` for NULL).
fn write_item(
    oid: u32,
    text: Option<&[u8]>,
    types: &dyn TypeLookup,
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    match text {
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(t) => {
            let at = out.len();
            out.extend_from_slice(&[0; 4]);
            text_to_binary(oid, t, types, opts, out)?;
            let len =
                i32::try_from(out.len() - at - 4).or_else(|_| malformed(oid, "value too long"))?;
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
    Ok(())
}

/// A record's fields as written in text.
fn parse_record(oid: u32, text: &[u8], opts: TextOptions) -> Result<Vec<Item>> {
    let t = super::trim(text);
    let inner = t
        .strip_prefix(b"(")
        .and_then(|t| t.strip_suffix(b")"))
        .ok_or(CodecError::Malformed {
            oid,
            reason: "a record is not in parentheses",
        })?;
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut value = Vec::new();
        let mut quoted = false;
        let mut any_quote = false;
        while i < inner.len() {
            let b = inner[i];
            match b {
                b'"' if quoted && inner.get(i + 1) == Some(&b'"') => {
                    value.push(b'"');
                    i += 2;
                }
                b'"' => {
                    quoted = !quoted;
                    any_quote = true;
                    i += 1;
                }
                b'\\' => {
                    let next = *inner.get(i + 1).ok_or(CodecError::Malformed {
                        oid,
                        reason: "dangling backslash",
                    })?;
                    value.push(next);
                    i += 2;
                }
                b',' if !quoted => break,
                _ => {
                    value.push(b);
                    i += 1;
                }
            }
        }
        if quoted {
            return malformed(oid, "unterminated quote in a record");
        }
        let is_null = !any_quote
            && (value.is_empty()
                || (opts.literal_null_in_records && value.eq_ignore_ascii_case(b"NULL")));
        fields.push(if is_null { None } else { Some(value) });
        if i >= inner.len() {
            break;
        }
        i += 1; // the comma
    }
    Ok(fields)
}

pub(super) fn record_in(
    oid: u32,
    field_types: &[u32],
    text: &[u8],
    types: &dyn TypeLookup,
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let fields = parse_record(oid, text, opts)?;
    if fields.len() != field_types.len() {
        return malformed(oid, "the record has another number of fields than its type");
    }
    out.extend_from_slice(&(fields.len() as i32).to_be_bytes());
    for (field, ty) in fields.iter().zip(field_types) {
        out.extend_from_slice(&ty.to_be_bytes());
        write_item(*ty, field.as_deref(), types, opts, out)?;
    }
    Ok(())
}

const EMPTY: u8 = 0x01;
const LB_INC: u8 = 0x02;
const UB_INC: u8 = 0x04;
const LB_INF: u8 = 0x08;
const UB_INF: u8 = 0x10;

pub(super) fn range_in(
    oid: u32,
    subtype: u32,
    text: &[u8],
    types: &dyn TypeLookup,
    opts: TextOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let t = super::trim(text);
    if t.eq_ignore_ascii_case(b"empty") {
        out.push(EMPTY);
        return Ok(());
    }
    let (open, close) = match (t.first(), t.last()) {
        (Some(o @ (b'[' | b'(')), Some(c @ (b']' | b')'))) if t.len() >= 3 => (*o, *c),
        _ => return malformed(oid, "not a range"),
    };
    // The two bounds, split on the comma outside quotes.
    let inner = &t[1..t.len() - 1];
    let mut quoted = false;
    let mut comma = None;
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b'\\' => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                comma = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let comma = comma.ok_or(CodecError::Malformed {
        oid,
        reason: "a range needs two bounds",
    })?;
    // A bound: empty (and unquoted) is infinite; inside quotes `""` is a quote; `\x` is x.
    let bound = |s: &[u8]| -> Option<Vec<u8>> {
        let s = super::trim(s);
        if s.is_empty() {
            return None;
        }
        let mut v = Vec::with_capacity(s.len());
        let mut in_quote = false;
        let mut j = 0;
        while j < s.len() {
            match s[j] {
                b'"' if in_quote && s.get(j + 1) == Some(&b'"') => {
                    v.push(b'"');
                    j += 1;
                }
                b'"' => in_quote = !in_quote,
                b'\\' => {
                    if let Some(n) = s.get(j + 1) {
                        v.push(*n);
                    }
                    j += 1;
                }
                b => v.push(b),
            }
            j += 1;
        }
        Some(v)
    };
    let (lower, upper) = (bound(&inner[..comma]), bound(&inner[comma + 1..]));
    let mut flags = 0;
    if open == b'[' && lower.is_some() {
        flags |= LB_INC;
    }
    if close == b']' && upper.is_some() {
        flags |= UB_INC;
    }
    if lower.is_none() {
        flags |= LB_INF;
    }
    if upper.is_none() {
        flags |= UB_INF;
    }
    out.push(flags);
    for b in [lower, upper].into_iter().flatten() {
        write_item(subtype, Some(&b), types, opts, out)?;
    }
    Ok(())
}

/// Append `text` as an array element or record field, quoted when it must be.
fn quote_into(text: &[u8], record: bool, out: &mut Vec<u8>) {
    let special: &[u8] = if record { b"(),\"\\" } else { b"{},\"\\" };
    let needs = text.is_empty()
        || text
            .iter()
            .any(|b| special.contains(b) || b.is_ascii_whitespace())
        || (!record && text.eq_ignore_ascii_case(b"NULL"));
    if !needs {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for &b in text {
        if b == b'"' || b == b'\\' {
            out.push(if record && b == b'"' { b'"' } else { b'\\' });
        }
        out.push(b);
    }
    out.push(b'"');
}

pub(super) fn array_out(
    oid: u32,
    bytes: &[u8],
    types: &dyn TypeLookup,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut r = Reader::new(oid, bytes);
    let ndim = r.i32()?;
    let _has_null = r.i32()?;
    let element = r.u32()?;
    if !(0..=6).contains(&ndim) {
        return malformed(oid, "bad array dimensions");
    }
    let mut dims = Vec::new();
    for _ in 0..ndim {
        let len = r.i32()?;
        let lower = r.i32()?;
        if len < 0 {
            return malformed(oid, "bad array dimensions");
        }
        dims.push((len as usize, lower));
    }
    if dims.iter().any(|(_, lb)| *lb != 1) {
        for (len, lb) in &dims {
            let hi = i64::from(*lb) + *len as i64 - 1;
            out.extend_from_slice(format!("[{lb}:{hi}]").as_bytes());
        }
        out.push(b'=');
    }
    if dims.is_empty() {
        out.extend_from_slice(b"{}");
        return r.done();
    }
    let total = dims
        .iter()
        .try_fold(1usize, |acc, (l, _)| acc.checked_mul(*l))
        .filter(|t| *t <= bytes.len())
        .ok_or(CodecError::Malformed {
            oid,
            reason: "bad array dimensions",
        })?;
    let mut texts: Vec<Option<Vec<u8>>> = Vec::with_capacity(total);
    for _ in 0..total {
        texts.push(match r.value()? {
            None => None,
            Some(v) => {
                let mut t = Vec::new();
                binary_to_text(element, v, types, &mut t)?;
                Some(t)
            }
        });
    }
    r.done()?;
    let mut idx = 0;
    write_level(&dims, 0, &texts, &mut idx, out);
    Ok(())
}

fn write_level(
    dims: &[(usize, i32)],
    depth: usize,
    texts: &[Option<Vec<u8>>],
    idx: &mut usize,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    for i in 0..dims[depth].0 {
        if i > 0 {
            out.push(b',');
        }
        if depth + 1 < dims.len() {
            write_level(dims, depth + 1, texts, idx, out);
        } else {
            match &texts[*idx] {
                None => out.extend_from_slice(b"NULL"),
                Some(t) => quote_into(t, false, out),
            }
            *idx += 1;
        }
    }
    out.push(b'}');
}

pub(super) fn record_out(
    oid: u32,
    bytes: &[u8],
    types: &dyn TypeLookup,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut r = Reader::new(oid, bytes);
    let n = r.i32()?;
    if n < 0 || n as usize > bytes.len() {
        return malformed(oid, "bad record");
    }
    out.push(b'(');
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        let field = r.u32()?;
        if let Some(v) = r.value()? {
            let mut t = Vec::new();
            binary_to_text(field, v, types, &mut t)?;
            quote_into(&t, true, out);
        }
    }
    out.push(b')');
    r.done()
}

pub(super) fn range_out(
    oid: u32,
    subtype: u32,
    bytes: &[u8],
    types: &dyn TypeLookup,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut r = Reader::new(oid, bytes);
    let flags = r.u8()?;
    if flags & EMPTY != 0 {
        out.extend_from_slice(b"empty");
        return r.done();
    }
    out.push(if flags & LB_INC != 0 { b'[' } else { b'(' });
    let mut bound = |present: bool, out: &mut Vec<u8>| -> Result<()> {
        if present {
            let v = r.value()?.ok_or(CodecError::Malformed {
                oid,
                reason: "a range bound is NULL",
            })?;
            let mut t = Vec::new();
            binary_to_text(subtype, v, types, &mut t)?;
            out.push(b'"');
            for &b in &t {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        Ok(())
    };
    bound(flags & LB_INF == 0, out)?;
    out.push(b',');
    bound(flags & UB_INF == 0, out)?;
    out.push(if flags & UB_INC != 0 { b']' } else { b')' });
    r.done()
}

//! The two libpq calls Diesel does not wrap: the library version and libpq's own connection-string
//! parser (used to prove that the URLs aep-diesel builds mean exactly what was given).
#![allow(unsafe_code)] // FFI into libpq; each call's contract is noted beside it.

#[cfg(test)]
use std::collections::BTreeMap;
#[cfg(test)]
use std::ffi::{CStr, CString};

/// The linked libpq's version as `major * 10000 + minor` (e.g. 180001), or with the old scheme for
/// versions below 10.
pub(crate) fn version() -> i32 {
    // SAFETY: PQlibVersion takes no arguments and only returns a constant.
    unsafe { pq_sys::PQlibVersion() }
}

/// Parse a connection string (URL or `key=value`) with libpq's own parser and return the keywords it set.
///
/// The error is libpq's message with every quoted fragment removed, since it may quote a password.
#[cfg(test)]
pub(crate) fn conninfo_parse(conninfo: &str) -> Result<BTreeMap<String, String>, String> {
    let c = CString::new(conninfo).map_err(|_| "the string contains a NUL byte".to_string())?;
    let mut err: *mut std::os::raw::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string; `err` is an out-pointer libpq fills with a malloc'd
    // message (freed below with PQfreemem). The returned array is terminated by a NULL keyword and is
    // freed with PQconninfoFree.
    unsafe {
        let opts = pq_sys::PQconninfoParse(c.as_ptr(), &mut err);
        if opts.is_null() {
            let msg = if err.is_null() {
                "out of memory".to_string()
            } else {
                let m = CStr::from_ptr(err).to_string_lossy().into_owned();
                pq_sys::PQfreemem(err.cast());
                strip_quoted(&m)
            };
            return Err(msg);
        }
        let mut out = BTreeMap::new();
        let mut p = opts;
        while !(*p).keyword.is_null() {
            if !(*p).val.is_null() {
                let k = CStr::from_ptr((*p).keyword).to_string_lossy().into_owned();
                let v = CStr::from_ptr((*p).val).to_string_lossy().into_owned();
                out.insert(k, v);
            }
            p = p.add(1);
        }
        pq_sys::PQconninfoFree(opts);
        Ok(out)
    }
}

#[cfg(test)]
fn strip_quoted(msg: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for ch in msg.trim().chars() {
        if ch == '"' {
            if !quoted {
                out.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_reports_keywords_and_hides_quoted_fragments() {
        let m = super::conninfo_parse("host=h port=80 user='a b'").unwrap();
        assert_eq!(m["host"], "h");
        assert_eq!(m["user"], "a b");
        let e = super::conninfo_parse("postgresql://u:secret%zz@h/db").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert!(super::version() >= 90000);
    }
}

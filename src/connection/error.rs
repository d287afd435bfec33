//! Server errors as Diesel errors, with the SQLSTATE kept where aep-diesel can find it again.
//!
//! Diesel's `DatabaseErrorInformation` has no SQLSTATE, and the boxed information cannot be
//! downcast. So each [`ServerError`] registers its code under its own address while it lives, and
//! [`sqlstate`] reads it back from any `diesel::result::Error` this connection produced: the
//! classification of Query Service's answers (row limit, unsupported statement, session limit,
//! expired session) rests on codes, never on message text that may quote user names.

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};

use super::raw::{RawConnection, RawResult};

static CODES: Mutex<Option<HashMap<usize, [u8; 5]>>> = Mutex::new(None);

/// A server's error, as Diesel shows it.
#[derive(Debug)]
pub(crate) struct ServerError {
    code: Option<[u8; 5]>,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
    table: Option<String>,
    column: Option<String>,
    constraint: Option<String>,
    position: Option<i32>,
}

impl ServerError {
    /// Register the box's address so `sqlstate` can find its code.
    fn into_boxed(self) -> Box<dyn DatabaseErrorInformation + Send + Sync> {
        let code = self.code;
        let boxed = Box::new(self);
        if let Some(code) = code {
            let addr = &*boxed as *const ServerError as usize;
            CODES
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(HashMap::new)
                .insert(addr, code);
        }
        boxed
    }
}

impl Drop for ServerError {
    fn drop(&mut self) {
        if self.code.is_some() {
            let addr = self as *const ServerError as usize;
            if let Some(map) = CODES.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                map.remove(&addr);
            }
        }
    }
}

impl DatabaseErrorInformation for ServerError {
    fn message(&self) -> &str {
        &self.message
    }
    fn details(&self) -> Option<&str> {
        self.detail.as_deref()
    }
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
    fn table_name(&self) -> Option<&str> {
        self.table.as_deref()
    }
    fn column_name(&self) -> Option<&str> {
        self.column.as_deref()
    }
    fn constraint_name(&self) -> Option<&str> {
        self.constraint.as_deref()
    }
    fn statement_position(&self) -> Option<i32> {
        self.position
    }
}

/// The SQLSTATE of a database error produced by an aep-diesel connection, if the server sent one.
pub fn sqlstate(error: &Error) -> Option<String> {
    let Error::DatabaseError(_, info) = error else {
        return None;
    };
    let addr = &**info as *const (dyn DatabaseErrorInformation + Send + Sync) as *const () as usize;
    let guard = CODES.lock().unwrap_or_else(|e| e.into_inner());
    let code = guard.as_ref()?.get(&addr)?;
    Some(String::from_utf8_lossy(code).into_owned())
}

/// Diesel's kind for a SQLSTATE, as `PgConnection` maps them, plus the codes that mean the session
/// is gone (so the pool never hands the connection out again).
fn kind_of(code: &str) -> DatabaseErrorKind {
    match code {
        "23505" => DatabaseErrorKind::UniqueViolation,
        "23503" => DatabaseErrorKind::ForeignKeyViolation,
        "40001" => DatabaseErrorKind::SerializationFailure,
        "25006" => DatabaseErrorKind::ReadOnlyTransaction,
        "23502" => DatabaseErrorKind::NotNullViolation,
        "23514" => DatabaseErrorKind::CheckViolation,
        "23001" => DatabaseErrorKind::RestrictViolation,
        "23P01" => DatabaseErrorKind::ExclusionViolation,
        "08000" | "08003" | "08006" | "08001" | "08004" | "57P01" | "57P02" | "57P03" => {
            DatabaseErrorKind::ClosedConnection
        }
        _ => DatabaseErrorKind::Unknown,
    }
}

/// What to do about the codes Query Service answers with, when the server gives no hint itself.
fn platform_hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "53400" => {
            "Query Service limits a query to 100,000 rows (50,000 without a LIMIT) and 10 minutes; \
             page through big reads (aep_diesel::bulk::pages, the generated page_after) or write \
             the result server-side (aep_diesel::platform::create_table_as)"
        }
        "0A000" => {
            "Query Service does not support this statement; datasets take no UPDATE or DELETE, and \
             writes go through CREATE TABLE AS SELECT or INSERT INTO … SELECT"
        }
        "08P01" => {
            "the server refused a protocol message it does not support; use Protocol::Compatible \
             (unnamed statements, text results)"
        }
        _ => return None,
    })
}

/// The error a failed result stands for. Drains the query's remaining results first, so the
/// connection is ready for the next command.
pub(crate) fn from_result(res: RawResult, raw: &mut RawConnection) -> Error {
    while raw.next_result().is_some() {}
    let code_text = res.error_field(b'C');
    let code = code_text
        .as_deref()
        .and_then(|c| <[u8; 5]>::try_from(c.as_bytes()).ok());
    let mut kind = code_text
        .as_deref()
        .map_or(DatabaseErrorKind::Unknown, kind_of);
    if raw.is_bad() {
        kind = DatabaseErrorKind::ClosedConnection;
    }
    let message = res
        .error_field(b'M')
        .unwrap_or_else(|| first_line(&res.error_message()));
    let hint = res.error_field(b'H').or_else(|| {
        code_text
            .as_deref()
            .and_then(platform_hint)
            .map(str::to_owned)
    });
    let info = ServerError {
        code,
        message,
        detail: res.error_field(b'D'),
        hint,
        table: res.error_field(b't'),
        column: res.error_field(b'c'),
        constraint: res.error_field(b'n'),
        position: res.error_field(b'P').and_then(|p| p.parse().ok()),
    };
    Error::DatabaseError(kind, info.into_boxed())
}

/// The error for a command libpq could not send, or a connection that broke mid-query.
pub(crate) fn send_failed(raw: &RawConnection, message: String) -> Error {
    let kind = if raw.is_bad() {
        DatabaseErrorKind::ClosedConnection
    } else {
        DatabaseErrorKind::UnableToSendCommand
    };
    Error::DatabaseError(kind, Box::new(message))
}

fn first_line(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("ERROR:")
        .or_else(|| s.strip_prefix("FATAL:"))
        .unwrap_or(s)
        .trim_start();
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_again_and_forgotten_on_drop() {
        let info = ServerError {
            code: Some(*b"53400"),
            message: "row limit".into(),
            detail: None,
            hint: None,
            table: None,
            column: None,
            constraint: None,
            position: None,
        };
        let e = Error::DatabaseError(DatabaseErrorKind::Unknown, info.into_boxed());
        assert_eq!(sqlstate(&e).as_deref(), Some("53400"));
        let Error::DatabaseError(_, boxed) = &e else {
            unreachable!()
        };
        let addr =
            &**boxed as *const (dyn DatabaseErrorInformation + Send + Sync) as *const () as usize;
        let other = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new("x".to_string()));
        assert_eq!(sqlstate(&other), None);
        drop(e);
        let registered = CODES
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|m| m.contains_key(&addr));
        assert!(!registered, "the registry forgets dropped errors");
    }
}

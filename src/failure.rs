//! Why a connection could not be established, classified so callers can react to the kind.

use crate::error::Error;
use crate::options::{ConnectOptions, Password};

/// A classified connect failure; cheap to copy out of the manager.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    kind: FailureKind,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    Authentication,
    Tls,
    Unreachable,
    DatabaseNotFound,
    SessionLimit,
    Other,
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        let message = f.message;
        match f.kind {
            FailureKind::Authentication => Error::Authentication { message },
            FailureKind::Tls => Error::Tls { message },
            FailureKind::Unreachable => Error::Unreachable { message },
            FailureKind::DatabaseNotFound => Error::DatabaseNotFound { message },
            FailureKind::SessionLimit => Error::SessionLimit { message },
            FailureKind::Other => Error::Connection { message },
        }
    }
}

/// Remove every form in which `password` could appear in a message from libpq or the server.
pub(crate) fn redact(text: &str, password: &Password) -> String {
    let pw = password.expose();
    if pw.is_empty() {
        return text.to_string();
    }
    let encoded =
        percent_encoding::utf8_percent_encode(pw, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut out = text.replace(pw, "***");
    for form in [encoded.as_str(), &encoded.to_lowercase()] {
        if form != pw {
            out = out.replace(form, "***");
        }
    }
    out
}

/// Map a failed connection's message to a kind.
///
/// A SQLSTATE decides where the message carries one (`FATAL:  28P01: …`, libpq's verbose form).
/// Otherwise the server's and libpq's fixed phrases decide, read only outside the parts a user chose:
/// libpq and the server quote host, database and user names, and a database called `ssl_events` or a
/// host called `tls-gw` must not turn "does not exist" into a TLS failure. `names` are those values,
/// removed first even when they contain quotes themselves.
pub(crate) fn classify(message: &str, names: &[&str]) -> FailureKind {
    if let Some(kind) = sqlstate(message).and_then(kind_of_sqlstate) {
        return kind;
    }
    let mut text = message.to_string();
    for name in names.iter().filter(|n| !n.is_empty()) {
        text = text.replace(&format!("\"{name}\""), "\"\"");
    }
    let mut fixed = String::with_capacity(text.len());
    let mut quoted = false;
    for ch in text.chars() {
        if ch == '"' {
            quoted = !quoted;
            fixed.push('"');
        } else if !quoted {
            fixed.push(ch);
        }
    }
    let m = fixed.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if has(&[
        "password authentication failed",
        "authentication failed",
        "invalid password",
        "authentication token",
        "invalid authorization",
        "no password supplied",
        "pg_hba.conf",
    ]) || (m.contains("role \"\"") && m.contains("does not exist"))
    {
        return FailureKind::Authentication;
    }
    if has(&[
        "ssl",
        "tls",
        "certificate",
        "sslmode",
        "handshake",
        "does not support ssl",
    ]) {
        return FailureKind::Tls;
    }
    if (m.contains("database \"\"") && m.contains("does not exist")) || has(&["no tables found"]) {
        return FailureKind::DatabaseNotFound;
    }
    if has(&[
        "too many connections",
        "too many clients",
        "session limit",
        "remaining connection slots",
    ]) {
        return FailureKind::SessionLimit;
    }
    if has(&[
        "connection refused",
        "could not translate host name",
        "name or service not known",
        "temporary failure in name resolution",
        "timeout expired",
        "no route to host",
        "network is unreachable",
        "could not connect",
        "connection timed out",
        "is the server running",
        "the database system is starting up",
        "the database system is shutting down",
    ]) {
        return FailureKind::Unreachable;
    }
    FailureKind::Other
}

/// The SQLSTATE of a server message in libpq's verbose form (`FATAL:  28P01: password …`).
fn sqlstate(message: &str) -> Option<&str> {
    for severity in ["FATAL:", "ERROR:"] {
        let mut rest = message;
        while let Some(i) = rest.find(severity) {
            let after = rest[i + severity.len()..].trim_start();
            let code = after.get(..5);
            if let Some(code) = code.filter(|c| {
                c.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                    && after[5..].starts_with(':')
            }) {
                return Some(code);
            }
            rest = &rest[i + severity.len()..];
        }
    }
    None
}

fn kind_of_sqlstate(code: &str) -> Option<FailureKind> {
    Some(match code {
        "28P01" | "28000" => FailureKind::Authentication,
        "3D000" | "42P12" => FailureKind::DatabaseNotFound,
        "53300" => FailureKind::SessionLimit,
        "57P03" => FailureKind::Unreachable,
        _ => return None,
    })
}

/// The classified failure for libpq's message about a connection to `options`: the password removed
/// in every form, libpq's source-location lines dropped, and the kind decided without the names the
/// user chose.
pub(crate) fn from_libpq(message: &str, options: &ConnectOptions) -> Failure {
    let text: Vec<&str> = message
        .lines()
        .filter(|l| !l.trim_start().starts_with("LOCATION:"))
        .collect();
    let message = redact(text.join("\n").trim(), options.get_password());
    let dbname = options.effective_dbname();
    let names = [
        options.get_host(),
        options.get_dbname(),
        dbname.as_str(),
        options.get_user(),
        options.get_application_name(),
    ];
    Failure {
        kind: classify(&message, &names),
        message,
    }
}

impl Failure {
    /// The failure an error stands for, when it is a connection failure (to remember it).
    pub(crate) fn of(e: &Error) -> Option<Failure> {
        let (kind, message) = match e {
            Error::Authentication { message } => (FailureKind::Authentication, message),
            Error::Tls { message } => (FailureKind::Tls, message),
            Error::Unreachable { message } => (FailureKind::Unreachable, message),
            Error::DatabaseNotFound { message } => (FailureKind::DatabaseNotFound, message),
            Error::SessionLimit { message } => (FailureKind::SessionLimit, message),
            Error::Connection { message } => (FailureKind::Other, message),
            _ => return None,
        };
        Some(Failure {
            kind,
            message: message.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_libpq_messages() {
        use FailureKind::*;
        let cases = [
            (
                "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"ACME@AdobeOrg\"",
                Authentication,
            ),
            (
                "FATAL:  28000: Invalid authorization type. Must be AuthenticationCleartextPassword",
                Authentication,
            ),
            (
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                Unreachable,
            ),
            (
                "could not translate host name \"nope.invalid\" to address: Name or service not known",
                Unreachable,
            ),
            (
                "connection to server at \"127.0.0.1\", port 5 failed: server does not support SSL, but SSL was required",
                Tls,
            ),
            (
                "connection to server at \"127.0.0.2\", port 5 failed: server certificate for \"localhost\" does not match host name \"127.0.0.2\"",
                Tls,
            ),
            ("SSL error: certificate verify failed", Tls),
            ("FATAL:  database \"nope\" does not exist", DatabaseNotFound),
            ("FATAL:  42P12: No tables found", DatabaseNotFound),
            ("FATAL:  sorry, too many clients already", SessionLimit),
            ("FATAL: Session Limit Reached", SessionLimit),
            (
                "FATAL:  remaining connection slots are reserved",
                SessionLimit,
            ),
        ];
        for (msg, kind) in cases {
            assert_eq!(classify(msg, &[]), kind, "{msg}");
        }
    }

    /// Names chosen by users never decide the kind: only libpq's and the server's own words do.
    #[test]
    fn names_in_messages_do_not_change_the_kind() {
        use FailureKind::*;
        let cases: [(&str, &[&str], FailureKind); 7] = [
            (
                "connection to server at \"tls-gw.example\" (10.0.0.1), port 5432 failed: FATAL:  database \"ssl_events\" does not exist",
                &["tls-gw.example", "ssl_events"],
                DatabaseNotFound,
            ),
            (
                "could not translate host name \"ssl.certificate.invalid\" to address: Name or service not known",
                &["ssl.certificate.invalid"],
                Unreachable,
            ),
            (
                "connection to server at \"localhost\" (127.0.0.1), port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                &["localhost", "password timeout"],
                Unreachable,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  database \"a \"ssl\" b\" does not exist",
                &["h", "a \"ssl\" b"],
                DatabaseNotFound,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  role \"too many clients\" does not exist",
                &["too many clients"],
                Authentication,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  3D000: database \"x\" does not exist",
                &[],
                DatabaseNotFound,
            ),
            (
                "connection to server at \"h\" (127.0.0.1), port 5 failed: FATAL:  28P01: password authentication failed for user \"u\"",
                &[],
                Authentication,
            ),
        ];
        for (msg, names, kind) in cases {
            assert_eq!(classify(msg, names), kind, "{msg}");
        }
    }

    #[test]
    fn redact_removes_plain_and_encoded_forms() {
        let pw = Password::verbatim("s3cr:t/pw");
        let text = "a s3cr:t/pw b s3cr%3At%2Fpw c s3cr%3at%2fpw";
        assert_eq!(redact(text, &pw), "a *** b *** c ***");
    }
}

//! Credentials: what a user copies from the Experience Platform UI, normalised and validated.

use std::fmt;
use std::sync::{Arc, RwLock};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A password or token. Never printed: `Debug` and `Display` show `Password(***)`, and the memory is
/// zeroed when dropped.
///
/// [`Password::new`] (and `From<&str>` / `From<String>`) removes surrounding whitespace and every embedded
/// CR/LF, because platform tokens are long and usually pasted across several lines. Use
/// [`Password::verbatim`] when the password really contains such characters.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// A password with surrounding whitespace and all embedded `\r` and `\n` removed.
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = Zeroizing::new(raw.into());
        let cleaned: String = raw
            .trim()
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect();
        Password(Zeroizing::new(cleaned))
    }

    /// A password kept exactly as given.
    pub fn verbatim(raw: impl Into<String>) -> Self {
        Password(Zeroizing::new(raw.into()))
    }

    /// The secret itself. Call it only where the value is handed to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the password is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s)
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Password::new(s)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        // Length leaks nothing useful here; the comparison exists for tests and rotation checks.
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}
impl Eq for Password {}

/// A port given as a number or as text (from an environment variable or a config file).
///
/// Implemented for the integer types and for strings; anything outside 1–65535 is refused by
/// [`Credentials::new`] with an error naming the `port` field.
pub trait PortValue: sealed::Sealed {
    #[doc(hidden)]
    fn to_port(&self) -> Result<u16>;
}

mod sealed {
    pub trait Sealed {}
}

fn port_range_error(shown: impl fmt::Display) -> Error {
    Error::field(
        "port",
        format!("{shown} is outside 1-65535"),
        "use the port shown with the credentials (Query Service: 80 or 5432)",
    )
}

macro_rules! int_port {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl PortValue for $t {
            fn to_port(&self) -> Result<u16> {
                match u16::try_from(*self) {
                    Ok(p) if p != 0 => Ok(p),
                    _ => Err(port_range_error(self)),
                }
            }
        }
    )*};
}
int_port!(u16, u32, u64, usize, i32, i64);

impl sealed::Sealed for &str {}
impl PortValue for &str {
    fn to_port(&self) -> Result<u16> {
        parse_port(self)
    }
}
impl sealed::Sealed for String {}
impl PortValue for String {
    fn to_port(&self) -> Result<u16> {
        parse_port(self)
    }
}
impl sealed::Sealed for &String {}
impl PortValue for &String {
    fn to_port(&self) -> Result<u16> {
        parse_port(self)
    }
}

pub(crate) fn parse_port(text: &str) -> Result<u16> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::field(
            "port",
            "it is not a number".to_string(),
            "give the port as digits, e.g. 80 or 5432",
        ));
    }
    match t.parse::<u32>() {
        Ok(n) => n.to_port(),
        Err(_) => Err(port_range_error(t)),
    }
}

/// Connection credentials: host, port, database, user and password.
///
/// Construct with [`Credentials::new`], [`Credentials::from_env`] or [`Credentials::from_url`]; all
/// validate and normalise the same way:
/// - `host`, `dbname` and `user` lose surrounding whitespace; the password loses surrounding whitespace
///   and embedded line breaks (see [`Password`]);
/// - an empty host, user or database, a port outside 1–65535 and a NUL byte anywhere are refused with
///   [`Error::InvalidField`] naming the field;
/// - Unix-domain socket paths are refused as hosts, because libpq never uses TLS on them.
///
/// `Debug` shows everything but the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    host: String,
    port: u16,
    dbname: String,
    user: String,
    password: Password,
    flatten: bool,
}

impl Credentials {
    /// Validated credentials. The password may be a `&str`/`String` (normalised, see [`Password::new`]) or
    /// a [`Password`].
    ///
    /// ```
    /// use aep_diesel::Credentials;
    /// let creds = Credentials::new(
    ///     "acme.platform-query.adobe.io", 80, "prod:all", "ACME@AdobeOrg", "eyJhbGciOi\nJSUzI1NiJ9",
    /// )?;
    /// assert_eq!(creds.user(), "ACME@AdobeOrg");
    /// assert!(!format!("{creds:?}").contains("eyJ"));
    /// # Ok::<(), aep_diesel::Error>(())
    /// ```
    pub fn new(
        host: impl Into<String>,
        port: impl PortValue,
        dbname: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<Password>,
    ) -> Result<Self> {
        let host = host.into().trim().to_owned();
        let dbname = dbname.into().trim().to_owned();
        let user = user.into().trim().to_owned();
        let password = password.into();
        let port = port.to_port()?;
        validate_host(&host)?;
        no_nul("dbname", &dbname)?;
        if dbname.is_empty() {
            return Err(Error::field(
                "dbname",
                "it is empty",
                "give the database; on Query Service that is `<sandbox>:all`, e.g. prod:all",
            ));
        }
        no_nul("user", &user)?;
        if user.is_empty() {
            return Err(Error::field(
                "user",
                "it is empty",
                "give the user name; on Query Service it looks like <ORG_ID>@AdobeOrg",
            ));
        }
        if password.expose().contains('\0') {
            return Err(Error::field(
                "password",
                "it contains a NUL byte",
                "copy the password again; NUL can never be sent to the server",
            ));
        }
        Ok(Credentials {
            host,
            port,
            dbname,
            user,
            password,
            flatten: false,
        })
    }

    /// Credentials from the libpq environment variables `PGHOST`, `PGPORT` (default 5432), `PGDATABASE`,
    /// `PGUSER` and `PGPASSWORD`, or, when `PGHOST` is unset, from `DATABASE_URL`.
    ///
    /// Fails with [`Error::Environment`] naming the missing variables when neither is usable.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if set("PGHOST").is_none() {
            if let Some(url) = set("DATABASE_URL") {
                return crate::url::ConnectParams::parse(&url).map(|p| p.credentials);
            }
        }
        let missing: Vec<&str> = ["PGHOST", "PGDATABASE", "PGUSER", "PGPASSWORD"]
            .into_iter()
            .filter(|k| set(k).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Environment {
                message: format!(
                    "{} not set; set PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD (as shown under \
                     Queries > Credentials in Experience Platform), or DATABASE_URL",
                    missing.join(", ")
                ),
            });
        }
        let port = set("PGPORT").unwrap_or_else(|| "5432".into());
        Credentials::new(
            set("PGHOST").unwrap_or_default(),
            port,
            set("PGDATABASE").unwrap_or_default(),
            set("PGUSER").unwrap_or_default(),
            Password::new(get("PGPASSWORD").unwrap_or_default()),
        )
    }

    /// Credentials from a connection URL (`postgresql://…`) or a libpq `key=value` string. Parameters other
    /// than the five credentials are ignored here; use [`crate::create_engine`] to honour them.
    pub fn from_url(url: &str) -> Result<Self> {
        crate::url::ConnectParams::parse(url).map(|p| p.credentials)
    }

    /// Ask Query Service to flatten nested (XDM) fields into top-level columns: sends the database as
    /// `<dbname>?FLATTEN`. Default: off.
    pub fn flatten(mut self, on: bool) -> Self {
        self.flatten = on;
        self
    }

    /// A copy with another password (used when an expiring token is renewed).
    pub fn with_password(&self, password: impl Into<Password>) -> Result<Self> {
        Credentials::new(
            self.host.clone(),
            self.port,
            self.dbname.clone(),
            self.user.clone(),
            password,
        )
        .map(|c| c.flatten(self.flatten))
    }

    /// The host name or IP address.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The database as given (without the `?FLATTEN` suffix added by [`Credentials::flatten`]).
    pub fn dbname(&self) -> &str {
        &self.dbname
    }
    /// The database name sent to the server.
    pub fn effective_dbname(&self) -> String {
        if self.flatten && !self.dbname.to_ascii_uppercase().ends_with("?FLATTEN") {
            format!("{}?FLATTEN", self.dbname)
        } else {
            self.dbname.clone()
        }
    }
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }
    /// The password.
    pub fn password(&self) -> &Password {
        &self.password
    }
    /// Whether `?FLATTEN` is requested.
    pub fn is_flatten(&self) -> bool {
        self.flatten
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("flatten", &self.flatten)
            .finish()
    }
}

fn no_nul(field: &'static str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::field(
            field,
            "it contains a NUL byte",
            "remove it; NUL can never be sent to the server",
        ));
    }
    Ok(())
}

fn validate_host(host: &str) -> Result<()> {
    no_nul("host", host)?;
    const FIX: &str = "give one host name or IP address, e.g. acme.platform-query.adobe.io";
    if host.is_empty() {
        return Err(Error::field("host", "it is empty", FIX));
    }
    if host.starts_with('/') || host.starts_with('@') {
        return Err(Error::field(
            "host",
            "it is a Unix-domain socket path, where libpq never uses TLS",
            "connect over TCP (host name or IP address) so the connection is encrypted",
        ));
    }
    if let Some(c) = host.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '/' | ',' | '[' | ']' | '@' | '?' | '#')
    }) {
        return Err(Error::field("host", format!("it contains {c:?}"), FIX));
    }
    if host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(Error::field(
            "host",
            "it contains ':' but is not an IPv6 address",
            "give the port separately, not as host:port",
        ));
    }
    Ok(())
}

/// Where the engine gets credentials for each new connection.
///
/// Every new pooled connection asks its source again, so a source that returns renewed credentials lets
/// a long-running program survive expiring tokens without a restart. [`Credentials`] itself is a fixed
/// source; [`RotatingCredentials`] is one whose value can be replaced; any
/// `Fn() -> Result<Credentials>` closure is one too.
pub trait CredentialSource: Send + Sync + 'static {
    /// The credentials to use for the next connection.
    fn credentials(&self) -> Result<Credentials>;

    /// A number that changes whenever the credentials change. When it changes, the engine retires the
    /// connections made with older credentials. Default: always 0 (never retire early).
    fn generation(&self) -> u64 {
        0
    }
}

impl CredentialSource for Credentials {
    fn credentials(&self) -> Result<Credentials> {
        Ok(self.clone())
    }
}

impl<F> CredentialSource for F
where
    F: Fn() -> Result<Credentials> + Send + Sync + 'static,
{
    fn credentials(&self) -> Result<Credentials> {
        self()
    }
}

/// Credentials that can be replaced while the program runs; clones share the same value.
///
/// ```
/// use aep_diesel::{Credentials, CredentialSource, RotatingCredentials};
/// let creds = Credentials::new("localhost", 5432, "prod:all", "ACME@AdobeOrg", "old-token")?;
/// let rotating = RotatingCredentials::new(creds.clone());
/// let handle = rotating.clone(); // give one to the engine, keep one to renew
/// handle.set(creds.with_password("new-token")?);
/// assert_eq!(rotating.credentials()?.password().expose(), "new-token");
/// assert_eq!(rotating.generation(), 1);
/// # Ok::<(), aep_diesel::Error>(())
/// ```
#[derive(Clone)]
pub struct RotatingCredentials {
    inner: Arc<RwLock<(u64, Credentials)>>,
}

impl RotatingCredentials {
    /// A source starting with `initial`.
    pub fn new(initial: Credentials) -> Self {
        RotatingCredentials {
            inner: Arc::new(RwLock::new((0, initial))),
        }
    }

    /// Replace the credentials; connections opened before are retired on their next checkout or return.
    pub fn set(&self, credentials: Credentials) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        guard.1 = credentials;
    }
}

impl CredentialSource for RotatingCredentials {
    fn credentials(&self) -> Result<Credentials> {
        Ok(self
            .inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone())
    }
    fn generation(&self) -> u64 {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl fmt::Debug for RotatingCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("RotatingCredentials")
            .field("generation", &guard.0)
            .field("current", &guard.1)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_normalised_and_never_printed() {
        let p = Password::new("  eyJhbGci\r\nOiJSUzI1\nNiJ9 \n");
        assert_eq!(p.expose(), "eyJhbGciOiJSUzI1NiJ9");
        assert_eq!(format!("{p:?} {p}"), "Password(***) ***");
        assert_eq!(Password::verbatim(" a\nb ").expose(), " a\nb ");
    }

    #[test]
    fn fields_are_validated_by_name() {
        let ok = |h: &str, p: &str, d: &str, u: &str| Credentials::new(h, p, d, u, "pw");
        let field = |r: Result<Credentials>| match r {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected InvalidField, got {other:?}"),
        };
        assert_eq!(field(ok("", "5432", "db", "u")), "host");
        assert_eq!(field(ok("  ", "5432", "db", "u")), "host");
        assert_eq!(field(ok("/var/run/postgresql", "5432", "db", "u")), "host");
        assert_eq!(field(ok("h:5432", "5432", "db", "u")), "host");
        assert_eq!(field(ok("h", "0", "db", "u")), "port");
        assert_eq!(field(ok("h", "65536", "db", "u")), "port");
        assert_eq!(field(ok("h", "eighty", "db", "u")), "port");
        assert_eq!(field(ok("h", "", "db", "u")), "port");
        assert_eq!(field(ok("h", "80", "", "u")), "dbname");
        assert_eq!(field(ok("h", "80", "db", "")), "user");
        assert_eq!(field(ok("h\0", "80", "db", "u")), "host");
        assert_eq!(field(ok("h", "80", "d\0b", "u")), "dbname");
        assert_eq!(field(ok("h", "80", "db", "u\0")), "user");
        assert_eq!(
            field(Credentials::new("h", 80, "db", "u", "p\0w")),
            "password"
        );
        assert_eq!(field(Credentials::new("h", 70000, "db", "u", "pw")), "port");
        assert_eq!(field(Credentials::new("h", -1, "db", "u", "pw")), "port");
        let c = ok(" ::1 ", " 80 ", " prod:all ", " ACME@AdobeOrg ").unwrap();
        assert_eq!(
            (c.host(), c.port(), c.dbname(), c.user()),
            ("::1", 80, "prod:all", "ACME@AdobeOrg")
        );
    }

    #[test]
    fn env_names_what_is_missing() {
        let err =
            Credentials::from_lookup(|k| (k == "PGHOST").then(|| "h".to_string())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("PGDATABASE, PGUSER, PGPASSWORD not set"),
            "{text}"
        );
        let env = |k: &str| match k {
            "PGHOST" => Some("h".to_string()),
            "PGDATABASE" => Some("prod:all".into()),
            "PGUSER" => Some("ACME@AdobeOrg".into()),
            "PGPASSWORD" => Some("tok\nen\n".into()),
            _ => None,
        };
        let c = Credentials::from_lookup(env).unwrap();
        assert_eq!((c.port(), c.password().expose()), (5432, "token"));
        let url = |k: &str| {
            (k == "DATABASE_URL")
                .then(|| "postgresql://ACME%40AdobeOrg:p%3Aw@h:80/prod%3Aall".to_string())
        };
        let c = Credentials::from_lookup(url).unwrap();
        assert_eq!(
            (c.user(), c.password().expose(), c.dbname(), c.port()),
            ("ACME@AdobeOrg", "p:w", "prod:all", 80)
        );
    }

    #[test]
    fn flatten_appends_suffix_once() {
        let c = Credentials::new("h", 80, "prod:all", "u", "p")
            .unwrap()
            .flatten(true);
        assert_eq!(c.effective_dbname(), "prod:all?FLATTEN");
        let c = Credentials::new("h", 80, "prod:all?FLATTEN", "u", "p")
            .unwrap()
            .flatten(true);
        assert_eq!(c.effective_dbname(), "prod:all?FLATTEN");
    }
}

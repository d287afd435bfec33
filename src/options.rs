//! [`ConnectOptions`]: the one type that says how to reach a server, and the [`Password`] it holds.
//!
//! Every way in feeds the same setter, [`ConnectOptions::param`]: the URL and `key=value` parsers
//! ([`ConnectOptions::from_str`](std::str::FromStr)), the environment ([`ConnectOptions::from_env`]) and
//! a program's own `param` calls. The typed setters (`host`, `port`, …) are what `param` calls after
//! parsing the text, so the two can never disagree, and [`ConnectOptions::validate`] is the one place
//! that checks the result.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::ssl::{RootCert, SslMode};

/// A password or token. Never printed: `Debug` and `Display` show `Password(***)`, and the memory is
/// zeroed when dropped.
///
/// [`Password::new`] (and `From<&str>` / `From<String>`) removes surrounding whitespace and every embedded
/// CR/LF, because platform tokens are long and usually pasted across several lines. Use
/// [`Password::verbatim`] when the password really contains such characters.
#[derive(Clone, Default)]
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
        // Constant-time over the shorter length; the comparison exists for tests and rotation checks.
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}
impl Eq for Password {}

/// libpq parameters passed through untouched (from a connection string, the environment or
/// [`ConnectOptions::param`]). Anything else that is not one of the settings above is refused rather
/// than silently dropped.
pub(crate) const PASSTHROUGH: &[&str] = &[
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "channel_binding",
];

/// libpq keywords aep-diesel refuses because they would bypass its own settings. Only names from this
/// list (or the supported ones) ever appear in an error: an unknown name may be a fragment of a
/// password that contained an unencoded `&` or a space.
const REFUSED: &[&str] = &[
    "hostaddr",
    "service",
    "passfile",
    "requiressl",
    "sslpassword",
    "sslcertmode",
    "sslnegotiation",
    "sslcompression",
    "client_encoding",
    "replication",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "require_auth",
    "load_balance_hosts",
    "fallback_application_name",
    "min_protocol_version",
    "max_protocol_version",
];

/// How to reach one server: address, database, login, TLS, timeouts and extra libpq parameters.
///
/// One type, one [`Default`], one setter for text ([`ConnectOptions::param`]) that every parser feeds,
/// and a `Debug` that never shows the password. Build it from parts, a URL or `key=value` string, or the
/// environment:
///
/// ```
/// use aep_diesel::{ConnectOptions, RootCert, SslMode};
/// // What Experience Platform > Queries > Credentials shows; the token may span lines.
/// let opts = ConnectOptions::new(
///     "acme.platform-query.adobe.io", 80, "prod:all", "ACME@AdobeOrg", "eyJhbGciOi\nJSUzI1NiJ9",
/// )?
/// .ssl_mode(SslMode::VerifyFull(RootCert::System));
/// assert_eq!(opts.get_user(), "ACME@AdobeOrg");
/// assert_eq!(opts.get_password().expose(), "eyJhbGciOiJSUzI1NiJ9");
/// assert!(!format!("{opts:?}").contains("eyJ"));
///
/// // The same from a URL as users paste it (the `@` and `:` need not be encoded):
/// let url: ConnectOptions =
///     "postgresql://ACME@AdobeOrg:tok@acme.platform-query.adobe.io:80/prod:all?sslmode=verify-full".parse()?;
/// assert_eq!(url.get_dbname(), "prod:all");
/// # Ok::<(), aep_diesel::Error>(())
/// ```
///
/// Normalisation (the same through every door): host, dbname and user lose surrounding whitespace; the
/// password loses surrounding whitespace and embedded line breaks (see [`Password`]). Validation
/// ([`ConnectOptions::validate`], run by [`ConnectOptions::new`], the parsers and
/// [`EngineBuilder::build`](crate::EngineBuilder::build)) refuses an empty host, dbname or user, a NUL
/// byte anywhere, a Unix-socket path as host (libpq never uses TLS on one) and `host:port` in the host,
/// each with [`Error::InvalidField`] naming the field. TLS can only be `require` or stronger.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    host: String,
    port: u16,
    dbname: String,
    user: String,
    password: Password,
    ssl_mode: SslMode,
    connect_timeout: Duration,
    application_name: String,
    flatten: bool,
    params: Vec<(String, String)>,
}

impl Default for ConnectOptions {
    /// No host, database or user (set them), port 5432, no password, `sslmode=require`, a 10 s connect
    /// timeout, `application_name=aep-diesel`, no `?FLATTEN`, no extra parameters.
    fn default() -> Self {
        ConnectOptions {
            host: String::new(),
            port: 5432,
            dbname: String::new(),
            user: String::new(),
            password: Password::default(),
            ssl_mode: SslMode::Require,
            connect_timeout: Duration::from_secs(10),
            application_name: "aep-diesel".into(),
            flatten: false,
            params: Vec::new(),
        }
    }
}

impl ConnectOptions {
    /// Validated options from the five values Experience Platform shows; everything else at its
    /// default. The password may be a `&str`/`String` (normalised, see [`Password::new`]) or a
    /// [`Password`]. Never reads the environment.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        dbname: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<Password>,
    ) -> Result<Self> {
        let o = ConnectOptions::default()
            .host(host)
            .port(port)
            .dbname(dbname)
            .user(user)
            .password(password);
        o.validate()?;
        Ok(o)
    }

    /// Options from the libpq environment variables: `PGHOST`, `PGPORT` (default 5432), `PGDATABASE`,
    /// `PGUSER`, `PGPASSWORD`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`,
    /// `PGOPTIONS`; or, when `PGHOST` is unset, from `DATABASE_URL`. A weak `PGSSLMODE` is an error,
    /// never a downgrade.
    ///
    /// Fails with [`Error::Environment`] naming the missing variables when neither is usable.
    pub fn from_env() -> Result<Self> {
        Self::from_env_os(|k| std::env::var_os(k))
    }

    /// [`ConnectOptions::from_env`] over raw variable values: a variable that is set but not valid
    /// UTF-8 is an error naming it, never read as unset.
    pub(crate) fn from_env_os(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Self> {
        for var in ENV_VARS {
            if lookup(var).is_some_and(|v| v.to_str().is_none()) {
                // The value itself (and VarError, which prints it) stays out: it may be a password.
                return Err(Error::Environment {
                    message: format!(
                        "{var} is set but is not valid UTF-8; set it to the value shown under \
                         Queries > Credentials in Experience Platform, or unset it"
                    ),
                });
            }
        }
        Self::from_env_lookup(|k| lookup(k).and_then(|v| v.into_string().ok()))
    }

    /// [`ConnectOptions::from_env`] reading each variable through `lookup` instead of the process
    /// environment: for tests, and for programs that let flags override variables (the `aep-diesel`
    /// command does).
    pub fn from_env_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = lookup;
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if set("PGHOST").is_none() {
            if let Some(url) = set("DATABASE_URL") {
                return url.parse();
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
        let vars = [
            ("PGHOST", "host"),
            ("PGPORT", "port"),
            ("PGDATABASE", "dbname"),
            ("PGUSER", "user"),
            ("PGSSLMODE", "sslmode"),
            ("PGSSLROOTCERT", "sslrootcert"),
            ("PGAPPNAME", "application_name"),
            ("PGCONNECT_TIMEOUT", "connect_timeout"),
            ("PGOPTIONS", "options"),
        ];
        let mut o = ConnectOptions::default();
        // In this order sslmode comes before sslrootcert, as `apply` would sort them.
        for (var, key) in vars {
            if let Some(value) = set(var).map(Zeroizing::new) {
                o.set(key, &value).map_err(|e| e.with_origin(var))?;
            }
        }
        // Read PGPASSWORD as it is: Password::new trims it.
        o.password = Password::new(get("PGPASSWORD").unwrap_or_default());
        o.validate()?;
        Ok(o)
    }

    /// Apply `key=value` pairs in the order libpq gives them meaning: `sslmode` before `sslrootcert`,
    /// so a connection string may list them either way.
    pub(crate) fn apply<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        pairs.sort_by_key(|(k, _)| *k == "sslrootcert");
        for (k, v) in pairs {
            self.set(k, v)?;
        }
        Ok(())
    }

    /// Set one parameter from text, as a connection string or the environment would: every libpq
    /// keyword aep-diesel understands (`host`, `port`, `dbname`, `user`, `password`, `sslmode`,
    /// `sslrootcert`, `connect_timeout`, `application_name`, `gssencmode`), `flatten` (`true`/`false`),
    /// and the libpq parameters passed through as they are (`options`, `keepalives*`,
    /// `tcp_user_timeout`, `target_session_attrs`, `sslcert`, `sslkey`, `sslcrl`, `sslcrldir`, `sslsni`,
    /// `ssl_min_protocol_version`, `ssl_max_protocol_version`, `channel_binding`).
    ///
    /// Errors name the key (when it is a known keyword) and never repeat the value.
    ///
    /// ```
    /// use aep_diesel::ConnectOptions;
    /// let opts = ConnectOptions::new("localhost", 5432, "prod:all", "ACME@AdobeOrg", "pw")?
    ///     .param("options", "-c search_path=public")?
    ///     .param("sslmode", "verify-full")?;
    /// assert!(ConnectOptions::default().param("sslmode", "disable").is_err());
    /// # Ok::<(), aep_diesel::Error>(())
    /// ```
    pub fn param(mut self, key: &str, value: &str) -> Result<Self> {
        self.set(key, value)?;
        Ok(self)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "host" => self.host = value.trim().to_owned(),
            "port" => self.port = parse_port(value)?,
            "dbname" => self.dbname = value.trim().to_owned(),
            "user" => self.user = value.trim().to_owned(),
            "password" => self.password = Password::new(value),
            "sslmode" => {
                let root = self.ssl_mode.root_cert().cloned();
                self.ssl_mode = SslMode::parse(value, "a parameter")?.with_root(root);
            }
            "sslrootcert" => {
                let root = if value.trim() == "system" {
                    RootCert::System
                } else {
                    RootCert::File(PathBuf::from(value))
                };
                self.ssl_mode = match std::mem::take(&mut self.ssl_mode) {
                    // libpq verifies the chain whenever a root file is given, even with `require`.
                    SslMode::Require if root == RootCert::System => {
                        return Err(Error::field(
                            "sslrootcert",
                            "sslrootcert=system needs sslmode=verify-full",
                            "add sslmode=verify-full (libpq refuses system roots with a weaker mode)",
                        ));
                    }
                    SslMode::Require | SslMode::VerifyCa(_) => SslMode::VerifyCa(root),
                    SslMode::VerifyFull(_) => SslMode::VerifyFull(root),
                };
            }
            "connect_timeout" => {
                let secs: u64 = value.trim().parse().map_err(|_| {
                    Error::field(
                        "connect_timeout",
                        "it is not a whole number of seconds",
                        "give whole seconds, e.g. 10",
                    )
                })?;
                self.connect_timeout = Duration::from_secs(secs);
            }
            "application_name" => self.application_name = value.to_owned(),
            "flatten" => {
                self.flatten = match value.trim().to_ascii_lowercase().as_str() {
                    "" | "true" | "1" | "on" | "yes" => true,
                    "false" | "0" | "off" | "no" => false,
                    _ => {
                        return Err(Error::field(
                            "flatten",
                            "it is not a boolean",
                            "use flatten=true or flatten=false",
                        ));
                    }
                }
            }
            "gssencmode" => {
                if !value.trim().eq_ignore_ascii_case("disable") {
                    return Err(Error::field(
                        "gssencmode",
                        "only disable is supported",
                        "remove it; aep-diesel always sends gssencmode=disable (Query Service has no GSSAPI)",
                    ));
                }
            }
            k => match PASSTHROUGH.iter().find(|p| **p == k) {
                Some(p) => {
                    self.params.retain(|(existing, _)| existing != p);
                    self.params.push(((*p).to_string(), value.to_owned()));
                }
                None => {
                    return Err(Error::UnsupportedParameter {
                        name: REFUSED.iter().find(|r| **r == k).copied(),
                    });
                }
            },
        }
        Ok(())
    }

    /// Check every field; the parsers and [`ConnectOptions::new`] call this, and so does
    /// [`EngineBuilder::build`](crate::EngineBuilder::build) for options built with the setters.
    pub fn validate(&self) -> Result<()> {
        validate_host(&self.host)?;
        if self.port == 0 {
            return Err(Error::field(
                "port",
                "it is outside 1-65535",
                "use the port shown with the credentials (Query Service: 80 or 5432)",
            ));
        }
        no_nul("dbname", &self.dbname)?;
        if self.dbname.is_empty() {
            return Err(Error::field(
                "dbname",
                "it is empty",
                "give the database; on Query Service that is `<sandbox>:all`, e.g. prod:all",
            ));
        }
        no_nul("user", &self.user)?;
        if self.user.is_empty() {
            return Err(Error::field(
                "user",
                "it is empty",
                "give the user name; on Query Service it looks like <ORG_ID>@AdobeOrg",
            ));
        }
        if self.password.expose().contains('\0') {
            return Err(Error::field(
                "password",
                "it contains a NUL byte",
                "copy the password again; NUL can never be sent to the server",
            ));
        }
        no_nul("application_name", &self.application_name)?;
        if self.connect_timeout < Duration::from_secs(1) {
            return Err(Error::field(
                "connect_timeout",
                "it is under one second",
                "give at least 1 second (libpq counts whole seconds)",
            ));
        }
        if let Some(RootCert::File(path)) = self.ssl_mode.root_cert() {
            if path.to_str().is_none_or(|p| p.contains('\0')) {
                return Err(Error::field(
                    "sslrootcert",
                    "the path is not UTF-8 or contains a NUL byte",
                    "use a UTF-8 path",
                ));
            }
        }
        for (k, v) in &self.params {
            if v.contains('\0') {
                return Err(Error::field(
                    PASSTHROUGH
                        .iter()
                        .find(|p| *p == k)
                        .copied()
                        .unwrap_or("parameter"),
                    "it contains a NUL byte",
                    "remove it; NUL can never be sent to the server",
                ));
            }
        }
        Ok(())
    }

    /// The server's host name or IP address. Default: none (required).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into().trim().to_owned();
        self
    }

    /// The TCP port. Default: 5432. Query Service hands out 80 (still TLS) or 5432.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The database; on Query Service the sandbox, e.g. `prod:all`. Default: none (required).
    pub fn dbname(mut self, dbname: impl Into<String>) -> Self {
        self.dbname = dbname.into().trim().to_owned();
        self
    }

    /// The user; on Query Service `<ORG_ID>@AdobeOrg`. Default: none (required).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into().trim().to_owned();
        self
    }

    /// The password or token (normalised, see [`Password::new`]). Default: empty.
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = password.into();
        self
    }

    /// TLS verification. Default: [`SslMode::Require`]. Weaker modes do not exist.
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self
    }

    /// How long one connection attempt may take (libpq `connect_timeout`, whole seconds, at least 1).
    /// Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// `application_name` shown in the server's session list. Default: `aep-diesel`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Ask Query Service to flatten nested (XDM) fields into top-level columns: the database is sent as
    /// `<dbname>?FLATTEN`. Default: off.
    pub fn flatten(mut self, on: bool) -> Self {
        self.flatten = on;
        self
    }

    /// The same options with another password (an expiring token renewed).
    pub fn with_password(&self, password: impl Into<Password>) -> Self {
        self.clone().password(password)
    }

    /// The host.
    pub fn get_host(&self) -> &str {
        &self.host
    }
    /// The TCP port.
    pub fn get_port(&self) -> u16 {
        self.port
    }
    /// The database as given (without the `?FLATTEN` suffix added by [`ConnectOptions::flatten`]).
    pub fn get_dbname(&self) -> &str {
        &self.dbname
    }
    /// The user.
    pub fn get_user(&self) -> &str {
        &self.user
    }
    /// The password.
    pub fn get_password(&self) -> &Password {
        &self.password
    }
    /// The TLS mode.
    pub fn get_ssl_mode(&self) -> &SslMode {
        &self.ssl_mode
    }
    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// The application name.
    pub fn get_application_name(&self) -> &str {
        &self.application_name
    }
    /// Whether `?FLATTEN` is requested.
    pub fn get_flatten(&self) -> bool {
        self.flatten
    }
    /// The libpq parameters passed through, in the order set.
    pub fn get_params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The database name sent to the server (with `?FLATTEN` when asked for).
    pub fn effective_dbname(&self) -> String {
        if self.flatten && !self.dbname.to_ascii_uppercase().ends_with("?FLATTEN") {
            format!("{}?FLATTEN", self.dbname)
        } else {
            self.dbname.clone()
        }
    }
}

impl FromStr for ConnectOptions {
    type Err = Error;

    /// Parse a `postgres[ql]://` URL or a libpq `key=value` string.
    ///
    /// URLs are read as libpq reads them when every component is percent-encoded. Strings written by
    /// hand are accepted where they are unambiguous: a raw `@` in the user (`ACME@AdobeOrg`), raw `:` in
    /// the database, and a bare `?FLATTEN` after the database (the seed recipe's mistake) become what was
    /// meant. Errors never repeat any part of the string.
    fn from_str(input: &str) -> Result<Self> {
        let pairs = crate::conninfo::parse(input)?;
        let mut o = ConnectOptions::default();
        o.apply(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| e.with_origin("the URL"))?;
        for (what, empty) in [
            ("host", o.host.is_empty()),
            ("database", o.dbname.is_empty()),
            ("user", o.user.is_empty()),
        ] {
            if empty {
                return Err(Error::InvalidConnectionString {
                    reason: match what {
                        "host" => "it names no host",
                        "database" => "it names no database",
                        _ => "it names no user",
                    },
                });
            }
        }
        o.validate()?;
        Ok(o)
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("ssl_mode", &self.ssl_mode)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("flatten", &self.flatten)
            // values of pass-through parameters may be anything (an `options` string, a key path)
            .field(
                "params",
                &self
                    .params
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn parse_port(text: &str) -> Result<u16> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::field(
            "port",
            "it is not a number",
            "give the port as digits, e.g. 80 or 5432",
        ));
    }
    match t.parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(Error::field(
            "port",
            "it is outside 1-65535",
            "use the port shown with the credentials (Query Service: 80 or 5432)",
        )),
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
    if host.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '/' | ',' | '[' | ']' | '@' | '?' | '#')
    }) {
        return Err(Error::field(
            "host",
            "it contains whitespace or one of / , [ ] @ ? #",
            FIX,
        ));
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

/// Every variable [`ConnectOptions::from_env`] reads.
const ENV_VARS: [&str; 11] = [
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGOPTIONS",
    "DATABASE_URL",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_that_is_not_utf8_is_named_not_read_as_unset() {
        use std::os::unix::ffi::OsStringExt;
        let env = |k: &str| -> Option<std::ffi::OsString> {
            match k {
                "PGHOST" => Some("localhost".into()),
                "PGDATABASE" => Some("prod:all".into()),
                "PGUSER" => Some("ACME@AdobeOrg".into()),
                "PGPASSWORD" => Some(std::ffi::OsString::from_vec(b"SECRET\xff-tok".to_vec())),
                _ => None,
            }
        };
        let e = ConnectOptions::from_env_os(env).expect_err("not UTF-8");
        let shown = format!("{e} {e:?}");
        assert!(
            shown.contains("PGPASSWORD") && shown.contains("UTF-8"),
            "{shown}"
        );
        assert!(!shown.contains("SECRET"), "{shown}");
        // the same environment with a readable password works
        let ok = |k: &str| match k {
            "PGPASSWORD" => Some("SECRET-tok".into()),
            k => env(k),
        };
        assert!(ConnectOptions::from_env_os(ok).is_ok());
    }

    #[test]
    fn password_is_normalised_and_never_printed() {
        let p = Password::new("  eyJhbGci\r\nOiJSUzI1\nNiJ9 \n");
        assert_eq!(p.expose(), "eyJhbGciOiJSUzI1NiJ9");
        assert_eq!(format!("{p:?} {p}"), "Password(***) ***");
        assert_eq!(Password::verbatim(" a\nb ").expose(), " a\nb ");
    }

    #[test]
    fn fields_are_validated_by_name() {
        let ok = |h: &str, p: u16, d: &str, u: &str| ConnectOptions::new(h, p, d, u, "pw");
        let field = |r: Result<ConnectOptions>| match r {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected InvalidField, got {other:?}"),
        };
        assert_eq!(field(ok("", 5432, "db", "u")), "host");
        assert_eq!(field(ok("  ", 5432, "db", "u")), "host");
        assert_eq!(field(ok("/var/run/postgresql", 5432, "db", "u")), "host");
        assert_eq!(field(ok("h:5432", 5432, "db", "u")), "host");
        assert_eq!(field(ok("h", 0, "db", "u")), "port");
        assert_eq!(field(ok("h", 80, "", "u")), "dbname");
        assert_eq!(field(ok("h", 80, "db", "")), "user");
        assert_eq!(field(ok("h\0", 80, "db", "u")), "host");
        assert_eq!(field(ok("h", 80, "d\0b", "u")), "dbname");
        assert_eq!(field(ok("h", 80, "db", "u\0")), "user");
        assert_eq!(
            field(ConnectOptions::new("h", 80, "db", "u", "p\0w")),
            "password"
        );
        let port = |s: &str| field(ConnectOptions::default().param("port", s));
        assert_eq!(port("0"), "port");
        assert_eq!(port("65536"), "port");
        assert_eq!(port("eighty"), "port");
        assert_eq!(port(""), "port");
        let c = ok(" ::1 ", 80, " prod:all ", " ACME@AdobeOrg ").unwrap();
        assert_eq!(
            (c.get_host(), c.get_port(), c.get_dbname(), c.get_user()),
            ("::1", 80, "prod:all", "ACME@AdobeOrg")
        );
        let c = ConnectOptions::default()
            .host("h")
            .dbname("d")
            .user("u")
            .connect_timeout(Duration::ZERO);
        assert_eq!(
            field(c.validate().map(|()| ConnectOptions::default())),
            "connect_timeout"
        );
    }

    #[test]
    fn env_names_what_is_missing_and_refuses_weak_tls() {
        let err = ConnectOptions::from_env_lookup(|k| (k == "PGHOST").then(|| "h".to_string()))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("PGDATABASE, PGUSER, PGPASSWORD not set"),
            "{text}"
        );
        let env = |extra: &'static [(&'static str, &'static str)]| {
            move |k: &str| match k {
                "PGHOST" => Some("h".to_string()),
                "PGDATABASE" => Some("prod:all".into()),
                "PGUSER" => Some("ACME@AdobeOrg".into()),
                "PGPASSWORD" => Some("tok\nen\n".into()),
                _ => extra
                    .iter()
                    .find(|(var, _)| *var == k)
                    .map(|(_, v)| v.to_string()),
            }
        };
        let c = ConnectOptions::from_env_lookup(env(&[])).unwrap();
        assert_eq!((c.get_port(), c.get_password().expose()), (5432, "token"));
        assert_eq!(c.get_ssl_mode(), &SslMode::Require);
        let c = ConnectOptions::from_env_lookup(env(&[
            ("PGSSLROOTCERT", "/ca.pem"),
            ("PGSSLMODE", "verify-full"),
            ("PGAPPNAME", "job"),
            ("PGPORT", "80"),
        ]))
        .unwrap();
        assert_eq!(
            c.get_ssl_mode(),
            &SslMode::VerifyFull(RootCert::File("/ca.pem".into()))
        );
        assert_eq!((c.get_application_name(), c.get_port()), ("job", 80));
        for weak in ["disable", "allow", "prefer"] {
            let extra: &'static [(&str, &str)] = match weak {
                "disable" => &[("PGSSLMODE", "disable")],
                "allow" => &[("PGSSLMODE", "allow")],
                _ => &[("PGSSLMODE", "prefer")],
            };
            match ConnectOptions::from_env_lookup(env(extra)) {
                Err(Error::InsecureSslMode { mode, origin }) => {
                    assert_eq!((mode, origin), (weak, "PGSSLMODE"))
                }
                other => panic!("{weak}: {other:?}"),
            }
        }
        let url = |k: &str| {
            (k == "DATABASE_URL")
                .then(|| "postgresql://ACME%40AdobeOrg:p%3Aw@h:80/prod%3Aall".to_string())
        };
        let c = ConnectOptions::from_env_lookup(url).unwrap();
        assert_eq!(
            (
                c.get_user(),
                c.get_password().expose(),
                c.get_dbname(),
                c.get_port()
            ),
            ("ACME@AdobeOrg", "p:w", "prod:all", 80)
        );
    }

    #[test]
    fn root_certificates_combine_with_modes_in_any_order() {
        let o = |pairs: &[(&str, &str)]| {
            let mut o = ConnectOptions::default();
            o.apply(pairs.iter().copied()).map(|()| o.ssl_mode)
        };
        let file = || RootCert::File("/ca.pem".into());
        assert_eq!(
            o(&[("sslrootcert", "/ca.pem"), ("sslmode", "verify-full")]).unwrap(),
            SslMode::VerifyFull(file())
        );
        assert_eq!(
            o(&[("sslmode", "verify-full"), ("sslrootcert", "/ca.pem")]).unwrap(),
            SslMode::VerifyFull(file())
        );
        // libpq verifies the chain when a root file is given, even with require
        assert_eq!(
            o(&[("sslmode", "require"), ("sslrootcert", "/ca.pem")]).unwrap(),
            SslMode::VerifyCa(file())
        );
        assert!(matches!(
            o(&[("sslrootcert", "system")]),
            Err(Error::InvalidField {
                field: "sslrootcert",
                ..
            })
        ));
        assert_eq!(
            o(&[("sslmode", "verify-ca")]).unwrap(),
            SslMode::VerifyCa(RootCert::System)
        );
    }

    #[test]
    fn flatten_appends_suffix_once() {
        let c = ConnectOptions::new("h", 80, "prod:all", "u", "p")
            .unwrap()
            .flatten(true);
        assert_eq!(c.effective_dbname(), "prod:all?FLATTEN");
        let c = ConnectOptions::new("h", 80, "prod:all?FLATTEN", "u", "p")
            .unwrap()
            .flatten(true);
        assert_eq!(c.effective_dbname(), "prod:all?FLATTEN");
    }

    #[test]
    fn unknown_parameters_are_refused_and_named_only_when_they_are_libpq_keywords() {
        match ConnectOptions::default().param("hostaddr", "1.2.3.4") {
            Err(
                e @ Error::UnsupportedParameter {
                    name: Some("hostaddr"),
                },
            ) => {
                assert!(e.to_string().contains("\"hostaddr\""), "{e}")
            }
            other => panic!("{other:?}"),
        }
        match ConnectOptions::default().param("s3cr3tfragment", "x") {
            Err(e @ Error::UnsupportedParameter { name: None }) => {
                assert!(!e.to_string().contains("s3cr"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let o = ConnectOptions::default()
            .param("options", "-c a=b")
            .unwrap()
            .param("options", "-c c=d")
            .unwrap();
        assert_eq!(
            o.get_params(),
            [("options".to_string(), "-c c=d".to_string())]
        );
        assert!(!format!("{o:?}").contains("c=d"));
    }
}

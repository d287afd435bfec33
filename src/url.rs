//! Connection strings: the one parser (URL and libpq `key=value` forms) and the one builder.
//!
//! The TLS floor lives here and only here: every URL this module builds carries an `sslmode` of
//! `require` or stronger and `gssencmode=disable`, and every string it parses with a weaker mode is
//! refused.

use std::fmt;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::credentials::{Credentials, Password, parse_port};
use crate::error::{Error, Result};
use crate::ssl::{SslMode, root_cert_param};

/// RFC 3986 unreserved characters stay; everything else is encoded, so no component can be mistaken for
/// a delimiter (`@` in users, `:` in databases, `?` in `prod:all?FLATTEN`, `/#%+=` in passwords).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// libpq parameters that may be passed through from a user's connection string or the builder.
/// Anything else is refused by name rather than silently dropped.
const PASSTHROUGH: &[&str] = &[
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

/// libpq keywords aep-diesel does not accept (they would bypass its settings), named in errors.
const LIBPQ_KEYWORDS: &[&str] = &[
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

/// Settings that shape the URL besides the credentials.
#[derive(Debug, Clone)]
pub(crate) struct UrlSettings {
    pub ssl_mode: SslMode,
    pub application_name: String,
    pub connect_timeout: Duration,
    pub extra: Vec<(String, String)>,
}

impl Default for UrlSettings {
    fn default() -> Self {
        UrlSettings {
            ssl_mode: SslMode::Require,
            application_name: "aep-diesel".into(),
            connect_timeout: Duration::from_secs(10),
            extra: Vec::new(),
        }
    }
}

/// A connection URL holding a password: zeroed on drop, redacted in `Debug` and `Display`.
pub(crate) struct SecretUrl {
    url: Zeroizing<String>,
    redacted: String,
}

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn host_part(host: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        enc(host)
    }
}

/// Build the URL libpq receives. Fails only when a root certificate file is missing.
pub(crate) fn build_url(creds: &Credentials, settings: &UrlSettings) -> Result<SecretUrl> {
    let mut query = vec![("sslmode", settings.ssl_mode.keyword().to_string())];
    if let Some(root) = settings.ssl_mode.root_cert() {
        query.push(("sslrootcert", root_cert_param(root)?));
    }
    query.push(("gssencmode", "disable".into()));
    query.push((
        "connect_timeout",
        settings.connect_timeout.as_secs().max(1).to_string(),
    ));
    if !settings.application_name.is_empty() {
        query.push(("application_name", settings.application_name.clone()));
    }
    let mut q = String::new();
    for (k, v) in query
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(settings.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        q.push(if q.is_empty() { '?' } else { '&' });
        q.push_str(k);
        q.push('=');
        q.push_str(&enc(v));
    }
    let head = format!("postgresql://{}", enc(creds.user()));
    let tail = format!(
        "@{}:{}/{}{}",
        host_part(creds.host()),
        creds.port(),
        enc(&creds.effective_dbname()),
        q
    );
    let mut url = Zeroizing::new(String::with_capacity(head.len() + tail.len() + 64));
    url.push_str(&head);
    url.push(':');
    url.push_str(&Zeroizing::new(enc(creds.password().expose())));
    url.push_str(&tail);
    Ok(SecretUrl {
        redacted: format!("{head}:***{tail}"),
        url,
    })
}

/// Everything a user's connection string says.
#[derive(Debug, Clone)]
pub(crate) struct ConnectParams {
    pub credentials: Credentials,
    pub ssl_mode: Option<SslMode>,
    pub application_name: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub extra: Vec<(String, String)>,
}

#[derive(Default)]
struct Raw {
    host: Option<String>,
    port: Option<String>,
    dbname: Option<String>,
    user: Option<String>,
    password: Option<Zeroizing<String>>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    application_name: Option<String>,
    connect_timeout: Option<String>,
    flatten: bool,
    extra: Vec<(String, String)>,
}

impl Raw {
    fn set(&mut self, key: &str, value: String) -> Result<()> {
        match key {
            "host" => self.host = Some(value),
            "port" => self.port = Some(value),
            "dbname" => self.dbname = Some(value),
            "user" => self.user = Some(value),
            "password" => self.password = Some(Zeroizing::new(value)),
            "sslmode" => self.sslmode = Some(value),
            "sslrootcert" => self.sslrootcert = Some(value),
            "application_name" => self.application_name = Some(value),
            "connect_timeout" => self.connect_timeout = Some(value),
            "gssencmode" => {
                if !value.eq_ignore_ascii_case("disable") {
                    return Err(Error::field(
                        "gssencmode",
                        "only disable is supported",
                        "remove it; aep-diesel always sends gssencmode=disable (Query Service has no GSSAPI)",
                    ));
                }
            }
            k if PASSTHROUGH.contains(&k) => self.extra.push((k.to_string(), value)),
            other => {
                // Name the parameter only when it is a libpq keyword: anything else may be a fragment of
                // a password with an unencoded '&'.
                let shown = if LIBPQ_KEYWORDS.contains(&other) {
                    format!("{other:?}")
                } else {
                    "(name not shown: it is no libpq keyword and may be part of a password)"
                        .to_string()
                };
                return Err(Error::InvalidConnectionString {
                    reason: format!(
                        "unsupported parameter {shown}; supported: host, port, dbname, user, password, sslmode, \
                         sslrootcert, application_name, connect_timeout, gssencmode, {}",
                        PASSTHROUGH.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<ConnectParams> {
        let missing = |what: &str| Error::InvalidConnectionString {
            reason: format!("it names no {what}"),
        };
        let port = match &self.port {
            Some(p) if !p.is_empty() => parse_port(p)?,
            _ => 5432,
        };
        let ssl_mode = match &self.sslmode {
            Some(m) => Some(SslMode::parse(m, self.sslrootcert.as_deref(), "the URL")?),
            None => None,
        };
        let connect_timeout = match &self.connect_timeout {
            Some(t) => Some(Duration::from_secs(t.trim().parse().map_err(|_| {
                Error::field(
                    "connect_timeout",
                    "it is not a whole number of seconds",
                    "e.g. 10",
                )
            })?)),
            None => None,
        };
        let password = Password::new(self.password.as_deref().map(String::as_str).unwrap_or(""));
        let credentials = Credentials::new(
            self.host.ok_or_else(|| missing("host"))?,
            port,
            self.dbname.ok_or_else(|| missing("database"))?,
            self.user.ok_or_else(|| missing("user"))?,
            password,
        )?
        .flatten(self.flatten);
        Ok(ConnectParams {
            credentials,
            ssl_mode,
            application_name: self.application_name,
            connect_timeout,
            extra: self.extra,
        })
    }
}

impl ConnectParams {
    /// Parse a `postgres[ql]://` URL or a libpq `key=value` string.
    ///
    /// URLs are read as libpq reads them when every component is percent-encoded. Strings written by hand
    /// are accepted where they are unambiguous: a raw `@` in the user (`ACME@AdobeOrg`), raw `:` in the
    /// database, and a bare `?FLATTEN` after the database (the seed recipe's mistake) become what was
    /// meant. Errors never repeat the string.
    pub fn parse(input: &str) -> Result<Self> {
        if input.contains('\0') {
            return Err(Error::InvalidConnectionString {
                reason: "it contains a NUL byte".into(),
            });
        }
        let trimmed = input.trim();
        let lower = trimmed.get(..13).unwrap_or(trimmed).to_ascii_lowercase();
        let rest = if lower.starts_with("postgresql://") {
            &trimmed[13..]
        } else if lower.starts_with("postgres://") {
            &trimmed[11..]
        } else if trimmed.contains("://") {
            return Err(Error::InvalidConnectionString {
                reason: "the scheme is not postgresql:// or postgres://".into(),
            });
        } else {
            return parse_key_value(trimmed)?.finish();
        };
        parse_url(rest)?.finish()
    }
}

/// Percent-decode leniently: a `%` not followed by two hex digits stays a literal `%`.
fn decode(field: &'static str, s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            Error::field(
                field,
                "its percent-encoding does not decode to UTF-8",
                "percent-encode the UTF-8 bytes of the value",
            )
        })
}

fn parse_url(rest: &str) -> Result<Raw> {
    let mut raw = Raw::default();
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let at = rest[..auth_end].rfind('@').or_else(|| rest.rfind('@'));
    let (userinfo, after) = match at {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    if let Some(ui) = userinfo {
        let (u, p) = match ui.find(':') {
            Some(i) => (&ui[..i], Some(&ui[i + 1..])),
            None => (ui, None),
        };
        if !u.is_empty() {
            raw.user = Some(decode("user", u)?);
        }
        if let Some(p) = p {
            raw.password = Some(Zeroizing::new(decode("password", p)?));
        }
    }
    let hp_end = after.find(['/', '?']).unwrap_or(after.len());
    let (hostport, mut tail) = after.split_at(hp_end);
    if hostport.contains(',') {
        return Err(Error::field(
            "host",
            "the URL lists several hosts",
            "give one host; aep-diesel does not fail over between hosts",
        ));
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let close = v6.find(']').ok_or_else(|| Error::InvalidConnectionString {
            reason: "an IPv6 host is missing its closing ']'".into(),
        })?;
        let port = v6[close + 1..].strip_prefix(':');
        (v6[..close].to_string(), port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (decode("host", &hostport[..i])?, Some(&hostport[i + 1..])),
            None => (decode("host", hostport)?, None),
        }
    };
    if !host.is_empty() {
        raw.host = Some(host);
    }
    if let Some(p) = port {
        raw.port = Some(p.to_string());
    }
    if let Some(path) = tail.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        if end > 0 {
            raw.dbname = Some(decode("dbname", &path[..end])?);
        }
        tail = &path[end..];
    }
    if let Some(query) = tail.strip_prefix('?') {
        for item in query.split('&').filter(|s| !s.is_empty()) {
            match item.split_once('=') {
                Some((k, v)) => {
                    let key = decode("parameter", k)?;
                    let field = if key == "password" {
                        "password"
                    } else {
                        "parameter"
                    };
                    raw.set(&key, decode(field, v)?)?;
                }
                None if item.eq_ignore_ascii_case("flatten") => raw.flatten = true,
                None => {
                    return Err(Error::InvalidConnectionString {
                        reason: "a query parameter has no '=' (only a bare FLATTEN is understood)"
                            .into(),
                    });
                }
            }
        }
    }
    Ok(raw)
}

fn parse_key_value(s: &str) -> Result<Raw> {
    let mut raw = Raw::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(Error::InvalidConnectionString {
                reason: format!("missing '=' after {key:?}"),
            });
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = Zeroizing::new(String::new());
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => {
                        return Err(Error::InvalidConnectionString {
                            reason: format!("the quoted value of {key:?} is not closed"),
                        });
                    }
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        raw.set(&key, value.to_string())?;
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssl::RootCert;
    use rand::Rng;

    fn creds(host: &str, port: u16, db: &str, user: &str, pw: Password) -> Credentials {
        Credentials::new(host, port, db, user, pw).unwrap()
    }

    fn libpq(url: &SecretUrl) -> std::collections::BTreeMap<String, String> {
        crate::libpq::conninfo_parse(url.expose()).unwrap()
    }

    #[test]
    fn platform_shapes_survive_libpq() {
        let c = creds(
            "acme.platform-query.adobe.io",
            80,
            "prod:all",
            "ACME@AdobeOrg",
            Password::new("tech@acct:cr/ed?#%+=é"),
        )
        .flatten(true);
        let url = build_url(&c, &UrlSettings::default()).unwrap();
        let m = libpq(&url);
        assert_eq!(m["user"], "ACME@AdobeOrg");
        assert_eq!(m["password"], "tech@acct:cr/ed?#%+=é");
        assert_eq!(m["dbname"], "prod:all?FLATTEN");
        assert_eq!(m["host"], "acme.platform-query.adobe.io");
        assert_eq!(m["port"], "80");
        assert_eq!(m["sslmode"], "require");
        assert_eq!(m["gssencmode"], "disable");
        assert_eq!(m["connect_timeout"], "10");
        assert_eq!(m["application_name"], "aep-diesel");
        let shown = format!("{url} {url:?}");
        assert!(
            !shown.contains("cr%2Fed") && !shown.contains("tech"),
            "{shown}"
        );
    }

    #[test]
    fn verify_modes_carry_root_cert() {
        let c = creds("::1", 5432, "db", "u", Password::new("p"));
        let s = UrlSettings {
            ssl_mode: SslMode::VerifyFull(RootCert::System),
            ..UrlSettings::default()
        };
        let m = libpq(&build_url(&c, &s).unwrap());
        assert_eq!(
            (m["host"].as_str(), m["sslmode"].as_str()),
            ("::1", "verify-full")
        );
        assert!(!m["sslrootcert"].is_empty());
        let s = UrlSettings {
            ssl_mode: SslMode::VerifyCa(RootCert::File("/definitely/missing.pem".into())),
            ..UrlSettings::default()
        };
        assert!(matches!(
            build_url(&c, &s),
            Err(Error::InvalidField {
                field: "sslrootcert",
                ..
            })
        ));
    }

    fn random_string(rng: &mut impl Rng, alphabet: &[char], max: usize) -> String {
        random_chars(rng, alphabet, max, |_| true)
    }

    fn random_chars(
        rng: &mut impl Rng,
        alphabet: &[char],
        max: usize,
        ok: fn(char) -> bool,
    ) -> String {
        let n = rng.gen_range(1..=max);
        (0..n)
            .map(|_| {
                if rng.gen_bool(0.3) {
                    // any Unicode scalar value except NUL
                    loop {
                        if let Some(c) =
                            char::from_u32(rng.gen_range(1..=0x10FFFF)).filter(|c| ok(*c))
                        {
                            break c;
                        }
                    }
                } else {
                    alphabet[rng.gen_range(0..alphabet.len())]
                }
            })
            .collect()
    }

    /// For thousands of random inputs, libpq's own parser gives back exactly what was put in.
    #[test]
    fn property_libpq_reads_back_every_component() {
        const CASES: usize = 5000;
        let nasty: Vec<char> = "abcXYZ019 :/@?#%+=&;'\"\\[]{}<>|^`~!$()*,.-_\t\r\n\u{7f}é漢🙂"
            .chars()
            .collect();
        let hosty: Vec<char> = "abcxyz019-._%~!$&'()*+;=é漢".chars().collect();
        let mut rng = rand::thread_rng();
        for case in 0..CASES {
            let user = random_string(&mut rng, &nasty, 24);
            let pw = random_string(&mut rng, &nasty, 64);
            let db = random_string(&mut rng, &nasty, 24);
            let host = match case % 4 {
                0 => "127.0.0.1".to_string(),
                1 => "2001:db8::1".to_string(),
                // any Unicode letter or digit (IDN) besides the ASCII that host names allow
                _ => random_chars(&mut rng, &hosty, 30, char::is_alphanumeric),
            };
            let port = rng.gen_range(1..=65535u16);
            let Ok(c) = Credentials::new(
                host.clone(),
                port,
                db.clone(),
                user.clone(),
                Password::verbatim(pw.clone()),
            ) else {
                // only whitespace-only users and databases are refused; skip those
                assert!(
                    user.trim().is_empty() || db.trim().is_empty(),
                    "refused valid input"
                );
                continue;
            };
            assert_eq!((c.user(), c.dbname()), (user.trim(), db.trim()));
            let url = build_url(&c, &UrlSettings::default()).unwrap();
            let m = libpq(&url);
            assert_eq!(m["user"], c.user(), "case {case}");
            assert_eq!(m["password"], pw, "case {case}");
            assert_eq!(m["dbname"], c.dbname(), "case {case}");
            assert_eq!(m["host"], c.host(), "case {case}");
            assert_eq!(m["port"], port.to_string(), "case {case}");
            // and our own parser reads our URL back the same way
            let back = ConnectParams::parse(url.expose()).unwrap();
            assert_eq!(back.credentials.user(), c.user());
            assert_eq!(back.credentials.dbname(), c.dbname());
            assert_eq!(back.credentials.host(), c.host());
            assert_eq!(back.credentials.password(), &Password::new(pw.clone()));
        }
    }

    #[test]
    fn parses_what_users_paste() {
        // the seed recipe's unencoded forms
        let p = ConnectParams::parse(
            "postgresql://ACME@AdobeOrg:a:b@acme.platform-query.adobe.io:80/prod:all?FLATTEN",
        )
        .unwrap();
        let c = &p.credentials;
        assert_eq!((c.user(), c.password().expose()), ("ACME@AdobeOrg", "a:b"));
        assert_eq!(
            (c.host(), c.port(), c.dbname()),
            ("acme.platform-query.adobe.io", 80, "prod:all")
        );
        assert!(c.is_flatten());
        assert!(p.ssl_mode.is_none());
        // fully encoded, with parameters
        let p = ConnectParams::parse(
            "postgres://ACME%40AdobeOrg:p%2Fw%3F@[::1]:5432/prod%3Aall?sslmode=verify-full&sslrootcert=system&application_name=job%201&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(p.credentials.password().expose(), "p/w?");
        assert_eq!(p.credentials.host(), "::1");
        assert_eq!(p.ssl_mode, Some(SslMode::VerifyFull(RootCert::System)));
        assert_eq!(p.application_name.as_deref(), Some("job 1"));
        assert_eq!(p.connect_timeout, Some(Duration::from_secs(3)));
        // key=value
        let p = ConnectParams::parse(
            "host=h port=80 dbname=prod:all user=ACME@AdobeOrg password='it''s \\' x' sslmode=require",
        );
        assert!(p.is_err(), "'' is not an escape in libpq");
        let p = ConnectParams::parse(
            "host=h port = 80 dbname=prod:all user=ACME@AdobeOrg password='it\\'s x'",
        )
        .unwrap();
        assert_eq!(p.credentials.password().expose(), "it's x");
        assert_eq!(p.credentials.port(), 80);
    }

    #[test]
    fn weak_or_unknown_parameters_are_refused_without_echo() {
        for bad in [
            "postgresql://u:SECRETPW@h/db?sslmode=disable",
            "postgresql://u:SECRETPW@h/db?sslmode=prefer",
            "host=h dbname=db user=u password=SECRETPW sslmode=allow",
        ] {
            let e = ConnectParams::parse(bad).unwrap_err();
            assert!(matches!(e, Error::InsecureSslMode { .. }), "{e:?}");
            assert!(!format!("{e} {e:?}").contains("SECRETPW"));
        }
        let e = ConnectParams::parse("postgresql://u:SECRETPW@h/db?bogus=1").unwrap_err();
        assert!(e.to_string().contains("name not shown") && !e.to_string().contains("bogus"));
        let e = ConnectParams::parse("postgresql://u:pw@h/db?hostaddr=1.2.3.4").unwrap_err();
        assert!(e.to_string().contains("\"hostaddr\""), "{e}");
        let e = ConnectParams::parse("mysql://u:SECRETPW@h/db").unwrap_err();
        assert!(!format!("{e:?}").contains("SECRETPW"));
        let e = ConnectParams::parse("host=h password='SECRETPW").unwrap_err();
        assert!(!format!("{e:?}").contains("SECRETPW"));
        let e = ConnectParams::parse("postgresql://u:pw@h1,h2/db").unwrap_err();
        assert!(matches!(e, Error::InvalidField { field: "host", .. }));
        let e = ConnectParams::parse("postgresql://u:pw@h/db?gssencmode=require").unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidField {
                field: "gssencmode",
                ..
            }
        ));
    }
}

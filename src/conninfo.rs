//! Connection strings in and out: the URL and `key=value` readers (which only split text into
//! parameters for [`ConnectOptions::param`](crate::ConnectOptions::param)), and the parameters handed to
//! libpq.
//!
//! The TLS floor is applied here on the way out: whatever the options say, libpq gets an `sslmode` of
//! `require` or stronger and `gssencmode=disable`.
//!
//! No error from this module repeats any part of its input: a connection string may hold a password in
//! any position, and a fragment of it is as bad as the whole.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::options::ConnectOptions;
use crate::ssl::root_cert_param;

/// One `key=value` pair read from a connection string. The value may be the password.
pub(crate) type Pair = (String, Zeroizing<String>);

/// Split a `postgres[ql]://` URL or a libpq `key=value` string into parameters.
pub(crate) fn parse(input: &str) -> Result<Vec<Pair>> {
    let bad = |reason| Err(Error::InvalidConnectionString { reason });
    if input.contains('\0') {
        return bad("it contains a NUL byte");
    }
    let trimmed = input.trim();
    let lower = trimmed.get(..13).unwrap_or(trimmed).to_ascii_lowercase();
    if lower.starts_with("postgresql://") {
        parse_url(&trimmed[13..])
    } else if lower.starts_with("postgres://") {
        parse_url(&trimmed[11..])
    } else if trimmed.contains("://") {
        bad("the scheme is not postgresql:// or postgres://")
    } else {
        parse_key_value(trimmed)
    }
}

/// Percent-decode leniently: a `%` not followed by two hex digits stays a literal `%`.
fn decode(field: &'static str, s: &str) -> Result<Zeroizing<String>> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| Zeroizing::new(c.into_owned()))
        .map_err(|_| {
            Error::field(
                field,
                "its percent-encoding does not decode to UTF-8",
                "percent-encode the UTF-8 bytes of the value",
            )
        })
}

fn pair(key: &str, value: Zeroizing<String>) -> Pair {
    (key.to_string(), value)
}

fn parse_url(rest: &str) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    // The user part ends at the last '@' before the path; a raw '@' in `ACME@AdobeOrg` (and in
    // passwords) is then read as meant.
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
            out.push(pair("user", decode("user", u)?));
        }
        if let Some(p) = p {
            out.push(pair("password", decode("password", p)?));
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
        let close = v6.find(']').ok_or(Error::InvalidConnectionString {
            reason: "an IPv6 host is missing its closing ']'",
        })?;
        let port = v6[close + 1..].strip_prefix(':');
        (Zeroizing::new(v6[..close].to_string()), port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (decode("host", &hostport[..i])?, Some(&hostport[i + 1..])),
            None => (decode("host", hostport)?, None),
        }
    };
    if !host.is_empty() {
        out.push(pair("host", host));
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        out.push(pair("port", Zeroizing::new(p.to_string())));
    }
    if let Some(path) = tail.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        if end > 0 {
            out.push(pair("dbname", decode("dbname", &path[..end])?));
        }
        tail = &path[end..];
    }
    if let Some(query) = tail.strip_prefix('?') {
        for item in query.split('&').filter(|s| !s.is_empty()) {
            match item.split_once('=') {
                Some((k, v)) => {
                    let key = decode("parameter", k)?;
                    let field = if key.as_str() == "password" {
                        "password"
                    } else {
                        "parameter"
                    };
                    out.push(pair(&key, decode(field, v)?));
                }
                // The seed recipe's `prod:all?FLATTEN`, written raw.
                None if item.eq_ignore_ascii_case("flatten") => {
                    out.push(pair("flatten", Zeroizing::new("true".into())))
                }
                None => {
                    return Err(Error::InvalidConnectionString {
                        reason: "a query parameter has no '=' (only a bare FLATTEN is understood)",
                    });
                }
            }
        }
    }
    Ok(out)
}

fn parse_key_value(s: &str) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = Zeroizing::new(String::new());
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // The "key" may be the tail of a password with a space in it: never show it.
            return Err(Error::InvalidConnectionString {
                reason: "a word is not followed by '=' (quote values that contain spaces: password='a b')",
            });
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = Zeroizing::new(String::new());
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => {
                        return Err(Error::InvalidConnectionString {
                            reason: "a quoted value is not closed",
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
        out.push(pair(&key, value));
    }
    Ok(out)
}

/// RFC 3986 unreserved characters stay; everything else is encoded, so no component can be mistaken for
/// a delimiter (`@` in users, `:` in databases, `?` in `prod:all?FLATTEN`, `/#%+=` in passwords).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A connection URL holding a password: zeroed on drop, redacted in `Debug` and `Display`. Only the
/// tests build URLs now (to prove the parser reads them as libpq does); connections use keyword/value
/// parameters.
#[cfg(test)]
pub(crate) struct SecretUrl {
    url: Zeroizing<String>,
    redacted: String,
}

#[cfg(test)]
impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.url
    }
}

#[cfg(test)]
impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

#[cfg(test)]
impl std::fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The libpq parameters for `opts`, besides host, port, dbname, user and password: the TLS floor,
/// `gssencmode=disable`, the timeout, the application name and the pass-through parameters. Fails only
/// when a root certificate cannot be used.
pub(crate) fn settings(opts: &ConnectOptions) -> Result<Vec<(&str, String)>> {
    let mode = opts.get_ssl_mode();
    let mut out = vec![("sslmode", mode.keyword().to_string())];
    if let Some(root) = mode.root_cert() {
        out.push(("sslrootcert", root_cert_param(root)?));
    }
    out.push(("gssencmode", "disable".into()));
    out.push((
        "connect_timeout",
        opts.get_connect_timeout().as_secs().max(1).to_string(),
    ));
    if !opts.get_application_name().is_empty() {
        out.push(("application_name", opts.get_application_name().to_string()));
    }
    out.extend(
        opts.get_params()
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone())),
    );
    Ok(out)
}

/// The keyword/value parameters libpq connects with: no connection string holding the password is
/// ever made.
pub(crate) fn libpq_params(opts: &ConnectOptions) -> Result<Vec<(&str, Zeroizing<String>)>> {
    let mut out = vec![
        ("host", Zeroizing::new(opts.get_host().to_string())),
        ("port", Zeroizing::new(opts.get_port().to_string())),
        ("dbname", Zeroizing::new(opts.effective_dbname())),
        ("user", Zeroizing::new(opts.get_user().to_string())),
        (
            "password",
            Zeroizing::new(opts.get_password().expose().to_string()),
        ),
        // A startup parameter, the form Query Service's documented clients use.
        ("client_encoding", Zeroizing::new("UTF8".to_string())),
    ];
    out.extend(
        settings(opts)?
            .into_iter()
            .map(|(k, v)| (k, Zeroizing::new(v))),
    );
    Ok(out)
}

/// What Diesel's instrumentation is told about a connection: where it goes, never the password.
pub(crate) fn describe(opts: &ConnectOptions) -> String {
    let host = opts.get_host();
    let host = if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        enc(host)
    };
    format!(
        "postgresql://{}@{host}:{}/{}?sslmode={}",
        enc(opts.get_user()),
        opts.get_port(),
        enc(&opts.effective_dbname()),
        opts.get_ssl_mode().keyword()
    )
}

/// The URL for `opts`, every component percent-encoded.
#[cfg(test)]
pub(crate) fn build_url(opts: &ConnectOptions) -> Result<SecretUrl> {
    let mut q = String::new();
    for (k, v) in settings(opts)? {
        q.push(if q.is_empty() { '?' } else { '&' });
        q.push_str(k);
        q.push('=');
        q.push_str(&enc(&v));
    }
    let host = opts.get_host();
    let host = if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        enc(host)
    };
    let head = format!("postgresql://{}", enc(opts.get_user()));
    let tail = format!(
        "@{host}:{}/{}{q}",
        opts.get_port(),
        enc(&opts.effective_dbname()),
    );
    let mut url = Zeroizing::new(String::with_capacity(head.len() + tail.len() + 64));
    url.push_str(&head);
    url.push(':');
    url.push_str(&Zeroizing::new(enc(opts.get_password().expose())));
    url.push_str(&tail);
    Ok(SecretUrl {
        redacted: format!("{head}:***{tail}"),
        url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Password;
    use crate::ssl::{RootCert, SslMode};
    use rand::{Rng, SeedableRng};
    use std::time::Duration;

    fn libpq(url: &SecretUrl) -> std::collections::BTreeMap<String, String> {
        crate::libpq::conninfo_parse(url.expose()).unwrap()
    }

    #[test]
    fn platform_shapes_survive_libpq() {
        let c = ConnectOptions::new(
            "acme.platform-query.adobe.io",
            80,
            "prod:all",
            "ACME@AdobeOrg",
            Password::new("tech@acct:cr/ed?#%+=é"),
        )
        .unwrap()
        .flatten(true);
        let url = build_url(&c).unwrap();
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
        let c = ConnectOptions::new("::1", 5432, "db", "u", "p")
            .unwrap()
            .ssl_mode(SslMode::VerifyFull(RootCert::System));
        let m = libpq(&build_url(&c).unwrap());
        assert_eq!(
            (m["host"].as_str(), m["sslmode"].as_str()),
            ("::1", "verify-full")
        );
        assert!(!m["sslrootcert"].is_empty());
        let c = c.ssl_mode(SslMode::VerifyCa(RootCert::File(
            "/definitely/missing.pem".into(),
        )));
        assert!(matches!(
            build_url(&c),
            Err(Error::InvalidField {
                field: "sslrootcert",
                ..
            })
        ));
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

    /// The seed for the randomised tests: `AEP_DIESEL_SEED` when set (to replay a failure), else fresh.
    fn seed() -> u64 {
        std::env::var("AEP_DIESEL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| rand::thread_rng().r#gen())
    }

    /// For thousands of random inputs, libpq's own parser gives back exactly what was put in, and so
    /// does ours.
    #[test]
    fn property_libpq_reads_back_every_component() {
        const CASES: usize = 5000;
        let seed = seed();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let replay = format!("replay with AEP_DIESEL_SEED={seed}");
        let nasty: Vec<char> = "abcXYZ019 :/@?#%+=&;'\"\\[]{}<>|^`~!$()*,.-_\t\r\n\u{7f}é漢🙂"
            .chars()
            .collect();
        let hosty: Vec<char> = "abcxyz019-._%~!$&'()*+;=é漢".chars().collect();
        let any = |_: char| true;
        for case in 0..CASES {
            let user = random_chars(&mut rng, &nasty, 24, any);
            let pw = random_chars(&mut rng, &nasty, 64, any);
            let db = random_chars(&mut rng, &nasty, 24, any);
            let host = match case % 4 {
                0 => "127.0.0.1".to_string(),
                1 => "2001:db8::1".to_string(),
                // any Unicode letter or digit (IDN) besides the ASCII that host names allow
                _ => random_chars(&mut rng, &hosty, 30, char::is_alphanumeric),
            };
            let port = rng.gen_range(1..=65535u16);
            let Ok(c) = ConnectOptions::new(
                host.clone(),
                port,
                db.clone(),
                user.clone(),
                Password::verbatim(pw.clone()),
            ) else {
                // only whitespace-only users and databases are refused; skip those
                assert!(
                    user.trim().is_empty() || db.trim().is_empty(),
                    "refused valid input, case {case}; {replay}"
                );
                continue;
            };
            let ctx = format!("case {case}; {replay}");
            assert_eq!(
                (c.get_user(), c.get_dbname()),
                (user.trim(), db.trim()),
                "{ctx}"
            );
            let url = build_url(&c).unwrap_or_else(|e| panic!("build_url: {e}; {ctx}"));
            let m = crate::libpq::conninfo_parse(url.expose())
                .unwrap_or_else(|e| panic!("libpq refused our URL: {e}; {ctx}"));
            assert_eq!(m["user"], c.get_user(), "{ctx}");
            assert_eq!(m["password"], pw, "{ctx}");
            assert_eq!(m["dbname"], c.get_dbname(), "{ctx}");
            assert_eq!(m["host"], c.get_host(), "{ctx}");
            assert_eq!(m["port"], port.to_string(), "{ctx}");
            // the keyword/value parameters a connection is actually made with say the same
            let params: std::collections::BTreeMap<&str, String> = libpq_params(&c)
                .unwrap_or_else(|e| panic!("libpq_params: {e}; {ctx}"))
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
            for key in ["user", "password", "dbname", "host", "port"] {
                assert_eq!(params[key], m[key], "{key}: {ctx}");
            }
            // and our own parser reads our URL back the same way
            let back: ConnectOptions = url
                .expose()
                .parse()
                .unwrap_or_else(|e| panic!("our parser: {e}; {ctx}"));
            assert_eq!(back.get_user(), c.get_user(), "{ctx}");
            assert_eq!(back.get_dbname(), c.get_dbname(), "{ctx}");
            assert_eq!(back.get_host(), c.get_host(), "{ctx}");
            assert_eq!(back.get_password(), &Password::new(pw.clone()), "{ctx}");
        }
    }

    #[test]
    fn parses_what_users_paste() {
        // the seed recipe's unencoded forms
        let c: ConnectOptions =
            "postgresql://ACME@AdobeOrg:a:b@acme.platform-query.adobe.io:80/prod:all?FLATTEN"
                .parse()
                .unwrap();
        assert_eq!(
            (c.get_user(), c.get_password().expose()),
            ("ACME@AdobeOrg", "a:b")
        );
        assert_eq!(
            (c.get_host(), c.get_port(), c.get_dbname()),
            ("acme.platform-query.adobe.io", 80, "prod:all")
        );
        assert!(c.get_flatten());
        assert_eq!(c.get_ssl_mode(), &SslMode::Require);
        // fully encoded, with parameters
        let c: ConnectOptions = "postgres://ACME%40AdobeOrg:p%2Fw%3F@[::1]:5432/prod%3Aall?sslmode=verify-full&sslrootcert=system&application_name=job%201&connect_timeout=3"
            .parse()
            .unwrap();
        assert_eq!(c.get_password().expose(), "p/w?");
        assert_eq!(c.get_host(), "::1");
        assert_eq!(c.get_ssl_mode(), &SslMode::VerifyFull(RootCert::System));
        assert_eq!(c.get_application_name(), "job 1");
        assert_eq!(c.get_connect_timeout(), Duration::from_secs(3));
        // key=value
        assert!(
            "host=h port=80 dbname=prod:all user=ACME@AdobeOrg password='it''s \\' x' sslmode=require"
                .parse::<ConnectOptions>()
                .is_err(),
            "'' is not an escape in libpq"
        );
        let c: ConnectOptions =
            "host=h port = 80 dbname=prod:all user=ACME@AdobeOrg password='it\\'s x'"
                .parse()
                .unwrap();
        assert_eq!(c.get_password().expose(), "it's x");
        assert_eq!(c.get_port(), 80);
    }

    #[test]
    fn weak_or_unknown_parameters_are_refused_without_echo() {
        for bad in [
            "postgresql://u:SECRETPW@h/db?sslmode=disable",
            "postgresql://u:SECRETPW@h/db?sslmode=prefer",
            "host=h dbname=db user=u password=SECRETPW sslmode=allow",
        ] {
            let e = bad.parse::<ConnectOptions>().unwrap_err();
            assert!(matches!(e, Error::InsecureSslMode { .. }), "{e:?}");
            assert!(!format!("{e} {e:?}").contains("SECRETPW"));
        }
        let e = "postgresql://u:SECRETPW@h/db?bogus=1"
            .parse::<ConnectOptions>()
            .unwrap_err();
        assert!(e.to_string().contains("name not shown") && !e.to_string().contains("bogus"));
        let e = "postgresql://u:pw@h/db?hostaddr=1.2.3.4"
            .parse::<ConnectOptions>()
            .unwrap_err();
        assert!(e.to_string().contains("\"hostaddr\""), "{e}");
        let e = "postgresql://u:pw@h1,h2/db"
            .parse::<ConnectOptions>()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidField { field: "host", .. }));
        let e = "postgresql://u:pw@h/db?gssencmode=require"
            .parse::<ConnectOptions>()
            .unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidField {
                field: "gssencmode",
                ..
            }
        ));
    }
}

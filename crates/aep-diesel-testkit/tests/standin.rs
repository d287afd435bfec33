//! The Query Service stand-in, driven by the clients the workspace itself uses: psql (simple protocol,
//! text results, as Adobe documents), Diesel's own `PgConnection` and aep-diesel's connection forced to
//! `Protocol::Binary` (binary results, named statements), and a few raw protocol exchanges where only
//! the wire shows the difference (format codes, SQLSTATEs of startup errors).
//!
//! One LocalServer per test binary, one stand-in per test.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aep_diesel::{Engine, Protocol};
use aep_diesel_testkit::{
    BinaryResults, LocalServer, PLATFORM_DB, QsStandIn, RefusalKind, quote_literal,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

fn server() -> &'static LocalServer {
    LocalServer::shared().expect("local server")
}

fn standin() -> aep_diesel_testkit::QsStandInBuilder {
    QsStandIn::builder(server())
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Out {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// psql through the stand-in: verify-full, verbose errors (SQLSTATEs shown), unaligned tuples only,
/// errors do not stop a script.
fn psql(qs: &QsStandIn, db: &str) -> Command {
    let mut cmd = server().psql(db);
    cmd.env("PGPORT", qs.port().to_string()).args([
        "-v",
        "ON_ERROR_STOP=0",
        "-v",
        "VERBOSITY=verbose",
        "-A",
        "-t",
    ]);
    cmd
}

fn run(mut cmd: Command, stdin: Option<&str>) -> Out {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("psql runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn sql(qs: &QsStandIn, db: &str, script: &str) -> Out {
    run(psql(qs, db), Some(script))
}

fn engine(qs: &QsStandIn, db: &str) -> Engine {
    Engine::builder(qs.options_for(db)).build().unwrap()
}

/// aep-diesel's connection speaking what Diesel's `PgConnection` speaks: named prepared statements,
/// binary parameters and results.
fn binary_engine(qs: &QsStandIn, db: &str) -> Engine {
    Engine::builder(qs.options_for(db))
        .protocol(Protocol::Binary)
        .build()
        .unwrap()
}

/// Diesel's own `PgConnection` to the stand-in (a URL is what it takes; test credentials only).
fn diesel_pg(qs: &QsStandIn, db: &str) -> ConnectionResult<diesel::PgConnection> {
    let o = qs.options_for(db);
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let url = format!(
        "postgresql://{}:{}@{}:{}/{}?sslmode=verify-full&sslrootcert={}&gssencmode=disable",
        enc(o.get_user()),
        enc(o.get_password().expose()),
        qs.host(),
        qs.port(),
        enc(db),
        enc(&qs.ca_cert_path().display().to_string())
    );
    diesel::PgConnection::establish(&url)
}

fn count(qs: &QsStandIn, kind: RefusalKind) -> usize {
    qs.refusals().iter().filter(|r| r.kind == kind).count()
}

/// A fresh database owned by the platform role, with `setup` run in it as the superuser.
fn database(name: &str, setup: &str) {
    server().create_database(name).unwrap();
    if !setup.is_empty() {
        server().admin_execute(name, setup).unwrap();
    }
}

/// Just enough of the protocol to see what psql and libpq hide: format codes and startup SQLSTATEs.
mod raw {
    use super::*;
    use openssl::ssl::{SslConnector, SslMethod, SslStream};

    pub enum Conn {
        Plain(TcpStream),
        Tls(Box<SslStream<TcpStream>>),
    }

    impl Conn {
        fn io(&mut self) -> &mut dyn ReadWrite {
            match self {
                Conn::Plain(s) => s,
                Conn::Tls(s) => s.as_mut(),
            }
        }

        pub fn plain(qs: &QsStandIn) -> Conn {
            Conn::Plain(TcpStream::connect(("127.0.0.1", qs.port())).unwrap())
        }

        /// SSLRequest and a verify-full handshake against the stand-in's CA.
        pub fn tls(qs: &QsStandIn) -> Conn {
            let mut tcp = TcpStream::connect(("127.0.0.1", qs.port())).unwrap();
            tcp.write_all(&[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]).unwrap();
            let mut answer = [0u8; 1];
            tcp.read_exact(&mut answer).unwrap();
            assert_eq!(&answer, b"S", "the stand-in offers TLS");
            let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
            b.set_ca_file(qs.ca_cert_path()).unwrap();
            let s = b.build().connect(qs.host(), tcp).unwrap();
            Conn::Tls(Box::new(s))
        }

        pub fn startup(&mut self, user: &str, db: &str) {
            let mut body = vec![0, 3, 0, 0];
            for (k, v) in [("user", user), ("database", db)] {
                body.extend_from_slice(k.as_bytes());
                body.push(0);
                body.extend_from_slice(v.as_bytes());
                body.push(0);
            }
            body.push(0);
            let mut pkt = ((body.len() + 4) as i32).to_be_bytes().to_vec();
            pkt.extend(body);
            self.io().write_all(&pkt).unwrap();
        }

        pub fn send(&mut self, tag: u8, body: &[u8]) {
            let mut m = vec![tag];
            m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
            m.extend_from_slice(body);
            self.io().write_all(&m).unwrap();
        }

        pub fn recv(&mut self) -> (u8, Vec<u8>) {
            let mut head = [0u8; 5];
            self.io().read_exact(&mut head).unwrap();
            let len = i32::from_be_bytes(head[1..].try_into().unwrap()) as usize;
            let mut body = vec![0u8; len - 4];
            self.io().read_exact(&mut body).unwrap();
            (head[0], body)
        }

        /// Messages up to and including ReadyForQuery.
        pub fn until_ready(&mut self) -> Vec<(u8, Vec<u8>)> {
            let mut out = Vec::new();
            loop {
                let m = self.recv();
                let done = m.0 == b'Z';
                out.push(m);
                if done {
                    return out;
                }
            }
        }

        /// A logged-in session on `db`; also returns the authentication request code seen.
        pub fn login(qs: &QsStandIn, db: &str) -> (Conn, i32) {
            let mut c = Conn::tls(qs);
            let opts = server().options();
            c.startup(opts.get_user(), db);
            let (tag, body) = c.recv();
            assert_eq!(tag, b'R');
            let code = i32::from_be_bytes(body[..4].try_into().unwrap());
            c.send(b'p', &cstr(opts.get_password().expose()));
            let msgs = c.until_ready();
            assert!(
                msgs.iter()
                    .any(|(t, b)| *t == b'R' && b[..4] == [0, 0, 0, 0]),
                "authentication ok"
            );
            (c, code)
        }
    }

    pub trait ReadWrite: Read + Write {}
    impl<T: Read + Write> ReadWrite for T {}

    pub fn cstr(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    }

    /// A field of an ErrorResponse (`C` SQLSTATE, `M` message, `S` severity).
    pub fn field(body: &[u8], code: u8) -> Option<String> {
        let mut i = 0;
        while i < body.len() && body[i] != 0 {
            let end = i + 1 + body[i + 1..].iter().position(|b| *b == 0)?;
            if body[i] == code {
                return Some(String::from_utf8_lossy(&body[i + 1..end]).into_owned());
            }
            i = end + 1;
        }
        None
    }

    pub fn sqlstate(msgs: &[(u8, Vec<u8>)]) -> Option<String> {
        msgs.iter()
            .find(|(t, _)| *t == b'E')
            .and_then(|(_, b)| field(b, b'C'))
    }

    pub fn tags(msgs: &[(u8, Vec<u8>)]) -> String {
        msgs.iter().map(|(t, _)| *t as char).collect()
    }

    pub fn parse(name: &str, sql: &str) -> Vec<u8> {
        let mut b = cstr(name);
        b.extend(cstr(sql));
        b.extend([0, 0]);
        b
    }

    /// Bind with no parameters and one result format code for all columns.
    pub fn bind(portal: &str, stmt: &str, result_format: i16) -> Vec<u8> {
        let mut b = cstr(portal);
        b.extend(cstr(stmt));
        b.extend([0, 0, 0, 0, 0, 1]);
        b.extend(result_format.to_be_bytes());
        b
    }

    pub fn execute(portal: &str, max_rows: i32) -> Vec<u8> {
        let mut b = cstr(portal);
        b.extend(max_rows.to_be_bytes());
        b
    }

    /// Format codes of a RowDescription.
    pub fn formats(body: &[u8]) -> Vec<i16> {
        let n = i16::from_be_bytes([body[0], body[1]]);
        let mut i = 2;
        let mut out = Vec::new();
        for _ in 0..n {
            i += body[i..].iter().position(|b| *b == 0).unwrap() + 1;
            i += 4 + 2 + 4 + 2 + 4;
            out.push(i16::from_be_bytes([body[i], body[i + 1]]));
            i += 2;
        }
        out
    }

    /// The first value of a DataRow.
    pub fn first_value(body: &[u8]) -> Vec<u8> {
        let len = i32::from_be_bytes(body[2..6].try_into().unwrap()) as usize;
        body[6..6 + len].to_vec()
    }
}

use raw::Conn;

#[test]
fn plaintext_startup_is_refused_with_28000() {
    let qs = standin().start().unwrap();
    let mut c = Conn::plain(&qs);
    c.startup("ACME@AdobeOrg", PLATFORM_DB);
    let (tag, body) = c.recv();
    assert_eq!(tag, b'E');
    assert_eq!(raw::field(&body, b'C').as_deref(), Some("28000"));
    assert_eq!(raw::field(&body, b'S').as_deref(), Some("FATAL"));

    let out = run(
        {
            let mut cmd = psql(&qs, PLATFORM_DB);
            cmd.env("PGSSLMODE", "disable").args(["-c", "SELECT 1"]);
            cmd
        },
        None,
    );
    assert!(!out.ok);
    assert!(out.stderr.contains("SSL required"), "{}", out.stderr);
    assert_eq!(count(&qs, RefusalKind::PlaintextStartup), 2);
    assert_eq!(qs.sessions_started(), 0);

    // GSSAPI encryption is declined, and TLS can follow on the same connection.
    let mut tcp = TcpStream::connect(("127.0.0.1", qs.port())).unwrap();
    tcp.write_all(&[0, 0, 0, 8, 4, 0xd2, 0x16, 0x30]).unwrap();
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"N");
    tcp.write_all(&[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]).unwrap();
    tcp.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"S");
    assert!(
        qs.session_failures().is_empty(),
        "{:?}",
        qs.session_failures()
    );
}

#[test]
fn cleartext_password_inside_tls_and_platform_parameters() {
    let qs = standin().start().unwrap();
    let (mut c, auth) = Conn::login(&qs, PLATFORM_DB);
    assert_eq!(
        auth, 3,
        "AuthenticationCleartextPassword, as Query Service asks"
    );
    c.send(b'Q', &raw::cstr("SELECT 1"));
    assert_eq!(raw::tags(&c.until_ready()), "TDCZ");
    c.send(b'X', &[]);

    let out = run(
        {
            let mut cmd = psql(&qs, PLATFORM_DB);
            cmd.args([
                "-c",
                "\\echo :SERVER_VERSION_NAME",
                "-c",
                "SHOW server_version",
                "-c",
                "SELECT current_user, current_database()",
            ]);
            cmd
        },
        None,
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        out.lines(),
        ["0.1.0", "0.1.0", "ACME@AdobeOrg|prod:all"],
        "server_version is Query Service's"
    );

    // `?FLATTEN` is a Query Service option on the database name, not part of it.
    let out = run(
        {
            let mut cmd = psql(&qs, "prod:all?FLATTEN");
            cmd.args(["-c", "SELECT current_database()"]);
            cmd
        },
        None,
    );
    assert_eq!(out.stdout.trim(), "prod:all", "{}", out.stderr);
    assert!(qs.sessions_started() >= 3);
}

#[test]
fn wrong_password_is_28p01_and_takes_no_slot() {
    let qs = standin().start().unwrap();
    let opts = qs.options_for(PLATFORM_DB).password("not-the-token");
    let err = Engine::builder(opts)
        .build()
        .unwrap()
        .connect_unpooled()
        .expect_err("the connection is refused");
    assert!(
        matches!(err, aep_diesel::Error::Authentication { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("invalid password"), "{err}");
    assert!(!err.to_string().contains("not-the-token"));
    // Nothing the stand-in shows holds a password.
    let secret = server().options().get_password().expose().to_string();
    let shown = format!(
        "{qs:?} {:?} {:?} {:?}",
        standin(),
        qs.refusals(),
        qs.session_failures()
    );
    assert!(
        !shown.contains(&secret) && !shown.contains("not-the-token"),
        "{shown}"
    );
    let refusals = qs.refusals();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].kind, RefusalKind::Authentication);
    assert_eq!(refusals[0].sqlstate, "28P01");
    assert_eq!(qs.sessions_started(), 0);
}

#[test]
fn adobe_show_commands() {
    database(
        "standin_show",
        "CREATE TABLE luma_web_data (_id text, \"timestamp\" timestamptz);
         COMMENT ON TABLE luma_web_data IS 'web events';
         CREATE TABLE customers (id int, name text);
         CREATE TABLE orders (id int, customer_id int);
         CREATE VIEW big_orders AS SELECT * FROM orders;
         CREATE SCHEMA staging;
         CREATE TABLE staging.hidden (x int);
         ALTER SCHEMA staging OWNER TO \"ACME@AdobeOrg\";",
    );
    let qs = standin()
        .primary_key("luma_web_data", &["_id"], Some("ECID"))
        .primary_key("customers", &["id"], None)
        .foreign_key("orders", &["customer_id"], "customers", &["id"])
        .start()
        .unwrap();
    let mut cmd = psql(&qs, "standin_show");
    // With headers, to check the column names.
    cmd.args(["-P", "tuples_only=off", "-P", "footer=off"]);
    let out = run(
        cmd,
        Some(
            "show tables;\nSHOW SCHEMAS\n;\nShow Databases;\nSHOW PRIMARY KEYS;\nSHOW FOREIGN KEYS;\n",
        ),
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let text = out.stdout;
    let md5 = |s: &str| {
        let d = openssl::hash::hash(openssl::hash::MessageDigest::md5(), s.as_bytes()).unwrap();
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()[..24].to_string()
    };
    for expected in [
        "name|dataSetId|dataSet|description|resolved",
        &format!("big_orders|{}|big_orders||false", md5("big_orders")),
        &format!(
            "luma_web_data|{}|luma_web_data|web events|false",
            md5("luma_web_data")
        ),
        "tableName|columnName|datatype|namespace",
        "luma_web_data|_id|text|ECID",
        "customers|id|integer|",
        "tableName|columnName|datatype|referencedTableName|referencedColumnName|namespace",
        "orders|customer_id|integer|customers|id|",
    ] {
        assert!(
            text.lines().any(|l| l == expected),
            "missing {expected:?} in\n{text}"
        );
    }
    // Tables of other schemas are not datasets; schemas and databases are listed.
    assert!(!text.contains("hidden"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"staging") && lines.contains(&"public"),
        "{text}"
    );
    assert!(lines.contains(&"prod:all") && lines.contains(&"standin_show"));
    assert!(!lines.contains(&"pg_catalog") && !lines.contains(&"template0"));
    assert!(qs.refusals().is_empty());
}

#[test]
fn updates_deletes_and_copy_are_refused_and_the_session_goes_on() {
    database(
        "standin_writes",
        "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2); ALTER TABLE t OWNER TO \"ACME@AdobeOrg\";",
    );
    let qs = standin().start().unwrap();
    let out = sql(
        &qs,
        "standin_writes",
        "UPDATE t SET a = 5;
         DELETE FROM t;
         WITH x AS (SELECT 1) DELETE FROM t;
         COPY t TO STDOUT;
         COPY t FROM STDIN;
         SELECT count(*), sum(a) FROM t;
         CREATE TABLE t2 AS SELECT a FROM t;
         INSERT INTO t2 SELECT 3;
         SELECT count(*) FROM t2;",
    );
    assert_eq!(out.lines(), ["2|3", "3"], "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("ERROR:  0A000: Not supported").count(),
        5,
        "{}",
        out.stderr
    );
    assert_eq!(count(&qs, RefusalKind::UpdateDelete), 3);
    assert_eq!(count(&qs, RefusalKind::Copy), 2);
    assert_eq!(qs.sessions_started(), 1, "one psql session did it all");

    // The switch lets them through.
    let lenient = standin().allow_update_delete(true).start().unwrap();
    let out = sql(
        &lenient,
        "standin_writes",
        "UPDATE t2 SET a = a + 1; DELETE FROM t2 WHERE a = 4; SELECT string_agg(a::text, ',' ORDER BY a) FROM t2;",
    );
    assert_eq!(out.lines(), ["2,3"], "{}", out.stderr);
    assert!(lenient.refusals().is_empty());
}

#[test]
fn limit_over_the_maximum_is_53400() {
    let qs = standin().start().unwrap();
    let out = sql(
        &qs,
        PLATFORM_DB,
        "SELECT count(*) FROM (SELECT g FROM generate_series(1, 10) g LIMIT 100001) s;
         SELECT g FROM generate_series(1, 3) g ORDER BY g FETCH FIRST 200000 ROWS ONLY;
         SELECT count(*) FROM (SELECT g FROM generate_series(1, 10) g LIMIT 100000) s;",
    );
    assert_eq!(out.lines(), ["10"], "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("ERROR:  53400:").count(),
        2,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("LIMIT 100001 exceeds the maximum of 100000 rows")
    );
    assert_eq!(count(&qs, RefusalKind::LimitTooLarge), 2);
}

#[test]
fn results_without_limit_are_cut_at_the_row_cap() {
    let qs = standin().start().unwrap();
    let all = run(
        {
            let mut cmd = psql(&qs, PLATFORM_DB);
            cmd.args([
                "-c",
                "SELECT g FROM generate_series(1, 120000) g",
                "-c",
                "SELECT g FROM generate_series(1, 120000) g LIMIT 60000",
            ]);
            cmd
        },
        None,
    );
    assert!(all.ok, "{}", all.stderr);
    let lines = all.lines();
    assert_eq!(lines.len(), 110_000);
    assert_eq!(lines[49_999], "50000", "the first 50,000 rows, in order");
    assert_eq!(lines[50_000], "1", "the LIMIT 60000 result starts");
    assert_eq!(*lines.last().unwrap(), "60000");

    // The extended protocol too, with Execute's own row count and the tag counting what was sent.
    let small = standin().row_cap(3).start().unwrap();
    let (mut c, _) = Conn::login(&small, PLATFORM_DB);
    c.send(
        b'P',
        &raw::parse("", "SELECT g::text FROM generate_series(1, 10) g"),
    );
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'E', &raw::execute("", 2));
    c.send(b'E', &raw::execute("", 2));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    // No RowDescription: the client did not ask for one (the stand-in's own Describe stays hidden).
    assert_eq!(raw::tags(&msgs), "12DDsDCZ");
    let tag = &msgs[6].1;
    assert_eq!(tag.as_slice(), b"SELECT 1\0");
    c.send(b'Q', &raw::cstr("SELECT g FROM generate_series(1, 10) g"));
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "TDDDCZ");
    assert_eq!(msgs[4].1.as_slice(), b"SELECT 3\0");
    assert!(
        small.session_failures().is_empty(),
        "{:?}",
        small.session_failures()
    );
}

#[test]
fn flush_batches_are_answered_before_sync() {
    let qs = standin().start().unwrap();
    let (mut c, _) = Conn::login(&qs, PLATFORM_DB);
    c.send(b'P', &raw::parse("", "SELECT 'a'"));
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'E', &raw::execute("", 0));
    c.send(b'H', &[]);
    let got: String = (0..4).map(|_| c.recv().0 as char).collect();
    assert_eq!(got, "12DC", "answered at Flush, no ReadyForQuery yet");
    c.send(b'S', &[]);
    assert_eq!(raw::tags(&c.until_ready()), "Z");

    // A refusal at Flush: the error comes at once, then everything up to Sync is ignored, as
    // PostgreSQL ignores it after an error.
    c.send(b'P', &raw::parse("", "DELETE FROM nowhere"));
    c.send(b'H', &[]);
    let (tag, body) = c.recv();
    assert_eq!(tag, b'E');
    assert_eq!(raw::field(&body, b'C').as_deref(), Some("0A000"));
    c.send(b'P', &raw::parse("", "SELECT 'skipped'"));
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'E', &raw::execute("", 0));
    c.send(b'H', &[]);
    c.send(b'Q', &raw::cstr("SELECT 'ignored too'"));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "Z");
    assert_eq!(msgs[0].1, b"I");
    c.send(b'Q', &raw::cstr("SELECT 'back'"));
    assert_eq!(raw::tags(&c.until_ready()), "TDCZ");
    assert!(
        qs.session_failures().is_empty(),
        "{:?}",
        qs.session_failures()
    );
}

#[test]
fn the_options_startup_parameter_is_ignored_by_default() {
    let show = |qs: &QsStandIn| {
        let mut cmd = psql(qs, PLATFORM_DB);
        cmd.env("PGOPTIONS", "-c statement_timeout=1234")
            .args(["-c", "SHOW statement_timeout"]);
        run(cmd, None)
    };
    let out = show(&standin().start().unwrap());
    assert_eq!(out.stdout.trim(), "0", "{}", out.stderr);
    let out = show(
        &standin()
            .startup_options(aep_diesel_testkit::StartupOptions::Forward)
            .start()
            .unwrap(),
    );
    assert_eq!(out.stdout.trim(), "1234ms", "{}", out.stderr);
    let strict = standin()
        .startup_options(aep_diesel_testkit::StartupOptions::Refuse)
        .start()
        .unwrap();
    let out = show(&strict);
    assert!(
        !out.ok && out.stderr.contains("Not supported"),
        "{}",
        out.stderr
    );
    assert_eq!(count(&strict, RefusalKind::StartupOptions), 1);
}

#[test]
fn a_refusal_inside_a_transaction_aborts_it() {
    database(
        "standin_tx",
        "CREATE TABLE t (a int); INSERT INTO t VALUES (1); ALTER TABLE t OWNER TO \"ACME@AdobeOrg\";",
    );
    let qs = standin().start().unwrap();
    let out = sql(
        &qs,
        "standin_tx",
        "BEGIN;
         INSERT INTO t SELECT 2;
         DELETE FROM t;
         SELECT 'after';
         COMMIT;
         SELECT count(*) FROM t;",
    );
    // The refusal failed the transaction: the next statement gets 25P02, COMMIT rolls back.
    assert_eq!(out.lines(), ["1"], "{}", out.stderr);
    let refused = out.stderr.find("0A000").expect("refused");
    let aborted = out.stderr.find("25P02").expect("transaction aborted");
    assert!(refused < aborted, "{}", out.stderr);

    // A refusal in a multi-statement query (one Query message: psql -c) fails that query's implicit
    // transaction, as a server error would: the INSERT before it is rolled back.
    let out = run(
        {
            let mut cmd = psql(&qs, "standin_tx");
            cmd.args([
                "-c",
                "INSERT INTO t SELECT 3; UPDATE t SET a = 0; SELECT 'never'",
                "-c",
                "SELECT count(*) FROM t",
            ]);
            cmd
        },
        None,
    );
    assert_eq!(out.lines(), ["1"], "{}", out.stderr);
    assert!(out.stderr.contains("0A000"), "{}", out.stderr);

    // Through Parse/Bind/Execute, in an explicit transaction.
    let (mut c, _) = Conn::login(&qs, "standin_tx");
    c.send(b'Q', &raw::cstr("BEGIN"));
    assert_eq!(c.until_ready().last().unwrap().1, b"T");
    c.send(b'P', &raw::parse("", "INSERT INTO t SELECT 4"));
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'E', &raw::execute("", 0));
    c.send(b'P', &raw::parse("", "UPDATE t SET a = 9"));
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'E', &raw::execute("", 0));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(
        raw::tags(&msgs),
        "12CEZ",
        "the INSERT ran, the UPDATE was refused, the rest skipped"
    );
    assert_eq!(raw::sqlstate(&msgs).as_deref(), Some("0A000"));
    assert_eq!(msgs.last().unwrap().1, b"E", "transaction failed");
    c.send(b'Q', &raw::cstr("SELECT 1"));
    assert_eq!(raw::sqlstate(&c.until_ready()).as_deref(), Some("25P02"));
    c.send(b'Q', &raw::cstr("ROLLBACK"));
    assert_eq!(c.until_ready().last().unwrap().1, b"I");
    c.send(b'Q', &raw::cstr("SELECT count(*) FROM t"));
    let msgs = c.until_ready();
    assert_eq!(raw::first_value(&msgs[1].1), b"1");
    assert!(
        qs.session_failures().is_empty(),
        "{:?}",
        qs.session_failures()
    );
}

#[test]
fn session_limit_reached() {
    let qs = standin()
        .session_limit(Some(2))
        .binary_results(BinaryResults::AnswerText)
        .start()
        .unwrap();
    let engine = engine(&qs, PLATFORM_DB);
    let a = engine.connect_unpooled().unwrap();
    let _b = engine.connect_unpooled().unwrap();
    let err = engine
        .connect_unpooled()
        .expect_err("the connection is refused");
    assert!(
        matches!(err, aep_diesel::Error::SessionLimit { .. }),
        "aep-diesel classifies it: {err}"
    );
    assert!(err.to_string().contains("Session Limit Reached"), "{err}");
    let refusal = qs
        .refusals()
        .into_iter()
        .find(|r| r.kind == RefusalKind::SessionLimit)
        .unwrap();
    assert_eq!(refusal.sqlstate, "XX000");
    // psql is held to the same limit.
    let out = run(
        {
            let mut cmd = psql(&qs, PLATFORM_DB);
            cmd.args(["-c", "SELECT 1"]);
            cmd
        },
        None,
    );
    assert!(
        !out.ok && out.stderr.contains("Session Limit Reached"),
        "{}",
        out.stderr
    );
    // A closed session frees its slot.
    drop(a);
    assert!(qs.wait_sessions_active_at_most(1, Duration::from_secs(5)));
    let mut c = engine.connect_unpooled().unwrap();
    c.batch_execute("SELECT 1").unwrap();
    assert_eq!(qs.sessions_started(), 3);
}

#[test]
fn sessions_expire_after_their_life() {
    let qs = standin()
        .session_life(Some(Duration::from_millis(1500)))
        .start()
        .unwrap();
    let started = Instant::now();
    let out = sql(&qs, PLATFORM_DB, "SELECT 1;\n\\! sleep 2\nSELECT 2;\n");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(out.lines(), ["1"], "{}", out.stderr);
    assert!(out.stderr.contains("57P01"), "{}", out.stderr);
    assert!(out.stderr.contains("session expired"), "{}", out.stderr);
    assert_eq!(count(&qs, RefusalKind::SessionExpired), 1);
}

#[derive(QueryableByName, Debug)]
struct IntRow {
    #[diesel(sql_type = Integer)]
    v: i32,
}

#[derive(QueryableByName, Debug)]
struct TextRow {
    #[diesel(sql_type = Text)]
    t: String,
}

diesel::table! {
    standin_items (id) {
        id -> Integer,
        name -> Text,
    }
}

fn items_database() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        database(
            "standin_diesel",
            "CREATE TABLE standin_items (id int PRIMARY KEY, name text NOT NULL);
             INSERT INTO standin_items SELECT g, 'item ' || g FROM generate_series(1, 5) g;
             ALTER TABLE standin_items OWNER TO \"ACME@AdobeOrg\";",
        )
    });
}

#[test]
fn diesel_fails_against_the_strict_default() {
    items_database();
    let qs = standin().start().unwrap();
    // Diesel's own connection asks for binary results from its very first statement
    // (`SET TIME ZONE 'UTC'` through the extended protocol).
    let Err(err) = diesel_pg(&qs, PLATFORM_DB) else {
        panic!("the connection is refused");
    };
    assert!(err.to_string().contains("Not supported"), "{err}");
    let refusals = qs.refusals();
    assert_eq!(refusals[0].kind, RefusalKind::BinaryResults, "{refusals:?}");
    assert_eq!(refusals[0].sqlstate, "0A000");
    // aep-diesel forced to the binary protocol is refused too (its cached statement is named, the
    // first thing refused), and the error is classified by SQLSTATE.
    let mut conn = binary_engine(&qs, "standin_diesel")
        .connect_unpooled()
        .unwrap();
    let err = standin_items::table
        .count()
        .get_result::<i64>(&mut conn)
        .unwrap_err();
    assert_eq!(aep_diesel::sqlstate(&err).as_deref(), Some("08P01"));
    assert!(matches!(
        aep_diesel::Error::from(err),
        aep_diesel::Error::StatementNotSupported(_)
    ));
    drop(conn);
    // The default protocol sees Query Service (server_version 0.1.0) and uses only what works.
    let mut conn = engine(&qs, "standin_diesel").connect_unpooled().unwrap();
    assert_eq!(conn.protocol(), Protocol::Compatible);
    assert!(conn.is_query_service());
    let n: i64 = standin_items::table.count().get_result(&mut conn).unwrap();
    assert_eq!(n, 5);

    // The same on the wire: a Bind asking for binary results.
    let (mut c, _) = Conn::login(&qs, PLATFORM_DB);
    c.send(b'P', &raw::parse("", "SELECT 1"));
    c.send(b'B', &raw::bind("", "", 1));
    c.send(b'E', &raw::execute("", 0));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "1EZ");
    assert_eq!(raw::sqlstate(&msgs).as_deref(), Some("0A000"));
    // Text results, as RPostgres asks for them, work.
    c.send(b'P', &raw::parse("", "SELECT 1"));
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'D', &[b'P', 0]);
    c.send(b'E', &raw::execute("", 0));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "12TDCZ");
    assert_eq!(raw::first_value(&msgs[3].1), b"1");
}

#[test]
fn a_bound_limit_is_refused_by_default_and_a_literal_one_taken() {
    items_database();
    let qs = standin().start().unwrap();
    let mut conn = engine(&qs, "standin_diesel").get().unwrap();
    assert_eq!(conn.protocol(), Protocol::Compatible);
    // Diesel's .limit() binds the count: unknown on Query Service, so refused here.
    let err = standin_items::table
        .select(standin_items::id)
        .limit(2)
        .load::<i32>(&mut conn)
        .unwrap_err();
    assert_eq!(
        aep_diesel::sqlstate(&err).as_deref(),
        Some("0A000"),
        "{err}"
    );
    assert_eq!(count(&qs, RefusalKind::BoundLimit), 1);
    // the same count written into the statement goes through
    let ids: Vec<IntRow> =
        diesel::sql_query("SELECT id AS v FROM standin_items ORDER BY id LIMIT 2")
            .load(&mut conn)
            .unwrap();
    assert_eq!(ids.iter().map(|r| r.v).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(qs.refusals().len(), 1, "{:?}", qs.refusals());
}

#[test]
fn named_statements_are_refused_with_08p01() {
    items_database();
    let qs = standin()
        .binary_results(BinaryResults::Honour)
        .start()
        .unwrap();
    let mut conn = binary_engine(&qs, "standin_diesel")
        .connect_unpooled()
        .unwrap();
    // Unnamed statements (sql_query is never cached) work.
    let row: IntRow = diesel::sql_query("SELECT 7 AS v")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.v, 7);
    // The DSL's cached statements are named (`__aep_stmt_N`, as `PgConnection`'s `__diesel_stmt_N`).
    let err = standin_items::table
        .count()
        .get_result::<i64>(&mut conn)
        .unwrap_err();
    assert!(
        err.to_string().contains("Unsupported message type"),
        "{err}"
    );
    let refusal = qs
        .refusals()
        .into_iter()
        .find(|r| r.kind == RefusalKind::NamedStatement)
        .unwrap();
    assert_eq!(refusal.sqlstate, "08P01");
    // The connection is still usable.
    let row: IntRow = diesel::sql_query("SELECT 8 AS v")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.v, 8);

    let (mut c, _) = Conn::login(&qs, PLATFORM_DB);
    c.send(b'P', &raw::parse("s1", "SELECT 1"));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "EZ");
    assert_eq!(raw::sqlstate(&msgs).as_deref(), Some("08P01"));
    assert_eq!(
        raw::field(&msgs[0].1, b'M').as_deref(),
        Some("Unsupported message type")
    );
}

#[test]
fn diesel_works_when_binary_results_and_named_statements_are_honoured() {
    items_database();
    let qs = standin()
        .binary_results(BinaryResults::Honour)
        .named_statements(true)
        .bound_limit(true)
        .start()
        .unwrap();
    let engine = binary_engine(&qs, "standin_diesel");
    let mut conn = engine.get().unwrap();
    assert_eq!(conn.protocol(), Protocol::Binary);
    let n: i64 = standin_items::table.count().get_result(&mut conn).unwrap();
    assert_eq!(n, 5);
    let names: Vec<String> = standin_items::table
        .filter(standin_items::id.gt(2))
        .order(standin_items::id)
        .select(standin_items::name)
        .limit(2)
        .load(&mut conn)
        .unwrap();
    assert_eq!(names, ["item 3", "item 4"]);
    // A bound LIMIT is held to the maximum too.
    let err = standin_items::table
        .select(standin_items::id)
        .limit(200_000)
        .load::<i32>(&mut conn)
        .unwrap_err();
    assert!(err.to_string().contains("exceeds the maximum"), "{err}");
    // Spark-style settings through the extended protocol.
    diesel::sql_query("SET auto_to_json = true")
        .execute(&mut conn)
        .unwrap();
    let row: IntRow = diesel::sql_query("SELECT 1234 AS v")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.v, 1234);
    assert_eq!(count(&qs, RefusalKind::LimitTooLarge), 1);
    assert_eq!(qs.refusals().len(), 1, "{:?}", qs.refusals());
    assert!(
        qs.session_failures().is_empty(),
        "{:?}",
        qs.session_failures()
    );
}

#[test]
fn answer_text_makes_diesel_misread_binary_columns() {
    let qs = standin()
        .binary_results(BinaryResults::AnswerText)
        .named_statements(true)
        .start()
        .unwrap();
    let mut conn = diesel_pg(&qs, PLATFORM_DB).unwrap();
    // Text is the same in both formats, so nothing looks wrong...
    let row: TextRow = diesel::sql_query("SELECT 'abc' AS t")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.t, "abc");
    // ...but the text "1234" is four bytes, which Diesel's PgConnection takes for a big-endian int4.
    let row: IntRow = diesel::sql_query("SELECT 1234 AS v")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(row.v, i32::from_be_bytes(*b"1234"));
    assert_ne!(row.v, 1234);
    // Other lengths fail to decode at all.
    assert!(
        diesel::sql_query("SELECT 1 AS v")
            .get_result::<IntRow>(&mut conn)
            .is_err()
    );
    // aep-diesel's connection, asking for binary too, reads each column by its format code.
    let mut ours = binary_engine(&qs, PLATFORM_DB).connect_unpooled().unwrap();
    let row: IntRow = diesel::sql_query("SELECT 1234 AS v")
        .get_result(&mut ours)
        .unwrap();
    assert_eq!(row.v, 1234);
    let row: IntRow = diesel::sql_query("SELECT 1 AS v")
        .get_result(&mut ours)
        .unwrap();
    assert_eq!(row.v, 1);

    // On the wire: binary asked, format code 0 answered.
    let (mut c, _) = Conn::login(&qs, PLATFORM_DB);
    c.send(b'P', &raw::parse("", "SELECT 1::int4"));
    c.send(b'B', &raw::bind("", "", 1));
    c.send(b'D', &[b'P', 0]);
    c.send(b'E', &raw::execute("", 0));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "12TDCZ");
    assert_eq!(raw::formats(&msgs[2].1), [0]);
    assert_eq!(raw::first_value(&msgs[3].1), b"1");
    assert!(qs.refusals().is_empty());
}

#[test]
fn composite_null_fields_are_spelled_null() {
    database(
        "standin_composite",
        "CREATE TYPE money_t AS (currency text, amount numeric);
         CREATE TYPE order_t AS (id int, price money_t, note text);
         CREATE TABLE orders (o order_t, os order_t[], label text);
         INSERT INTO orders VALUES
           (ROW(NULL, ROW('USD', NULL)::money_t, 'a,b'),
            ARRAY[ROW(1, NULL, NULL)::order_t, NULL],
            '(x,)');
         ALTER TABLE orders OWNER TO \"ACME@AdobeOrg\";",
    );
    let qs = standin().start().unwrap();
    let out = sql(
        &qs,
        "standin_composite",
        "SELECT o, os, label FROM orders;
         SELECT ROW(1, NULL), ROW(NULL::money_t, 2);
         CREATE TYPE pair AS (a int, b int);
         SELECT ROW(1, NULL)::pair;",
    );
    assert_eq!(
        out.lines(),
        [
            "(NULL,\"(USD,NULL)\",\"a,b\")|{\"(1,NULL,NULL)\",NULL}|(x,)",
            "(1,NULL)|(NULL,2)",
            "(1,NULL)",
        ],
        "{}",
        out.stderr
    );
    // The same value straight from PostgreSQL, for contrast.
    let mut direct = server().psql("standin_composite");
    direct.args(["-A", "-t", "-c", "SELECT o FROM orders"]);
    let direct = run(direct, None);
    assert_eq!(direct.stdout.trim(), "(,\"(USD,)\",\"a,b\")");

    // Text results of the extended protocol, without Describe.
    let (mut c, _) = Conn::login(&qs, "standin_composite");
    c.send(b'P', &raw::parse("", "SELECT o FROM orders"));
    c.send(b'B', &raw::bind("", "", 0));
    c.send(b'E', &raw::execute("", 0));
    c.send(b'S', &[]);
    let msgs = c.until_ready();
    assert_eq!(raw::tags(&msgs), "12DCZ");
    assert_eq!(
        raw::first_value(&msgs[2].1),
        b"(NULL,\"(USD,NULL)\",\"a,b\")"
    );
    assert!(
        qs.session_failures().is_empty(),
        "{:?}",
        qs.session_failures()
    );
}

#[test]
fn spark_settings_are_answered_and_postgres_settings_forwarded() {
    let qs = standin().start().unwrap();
    let out = sql(
        &qs,
        PLATFORM_DB,
        "SET auto_to_json = true;
         SET drop_system_columns=false;
         SET some_qs_flag TO 'x';
         SET timezone = 'America/New_York';
         SHOW timezone;
         SET TIME ZONE 'UTC';
         SHOW timezone;",
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert_eq!(out.lines(), ["America/New_York", "UTC"]);
    // Inside a multi-statement Query (psql -c sends it whole).
    let out = run(
        {
            let mut cmd = psql(&qs, PLATFORM_DB);
            cmd.args([
                "-c",
                "SET auto_to_json = false; SET search_path = public; SELECT 'multi'",
            ]);
            cmd
        },
        None,
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.lines(), ["multi"]);
    assert!(qs.refusals().is_empty());
}

#[test]
fn cancel_requests_reach_the_running_query() {
    let qs = standin().start().unwrap();
    let mut cmd = psql(&qs, PLATFORM_DB);
    cmd.args(["-c", "SELECT pg_sleep(30)"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    // Wait until the query runs upstream.
    let admin = server();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut probe = admin.psql("postgres");
        probe.args([
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
        ]);
        let out = probe.output().unwrap();
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // psql answers SIGINT with a CancelRequest to the server it is connected to: the stand-in.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("57014"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn unsupported_messages_get_08p01_and_the_session_goes_on() {
    let qs = standin().start().unwrap();
    let (mut c, _) = Conn::login(&qs, PLATFORM_DB);
    // FunctionCall (fastpath), then a stray CopyData.
    let mut call = 1242i32.to_be_bytes().to_vec();
    call.extend([0, 0, 0, 0, 0, 0]);
    c.send(b'F', &call);
    let msgs = c.until_ready();
    assert_eq!(raw::sqlstate(&msgs).as_deref(), Some("08P01"));
    c.send(b'd', b"x");
    assert_eq!(raw::sqlstate(&c.until_ready()).as_deref(), Some("08P01"));
    c.send(b'Q', &raw::cstr("SELECT 1"));
    assert_eq!(raw::tags(&c.until_ready()), "TDCZ");
    assert_eq!(count(&qs, RefusalKind::UnsupportedMessage), 2);
}

#[test]
fn dropping_the_stand_in_ends_its_sessions() {
    let qs = standin()
        .binary_results(BinaryResults::AnswerText)
        .start()
        .unwrap();
    let port = qs.port();
    let opts = qs
        .options_for(PLATFORM_DB)
        .application_name("standin-drop-test");
    let mut conn = Engine::builder(opts)
        .build()
        .unwrap()
        .connect_unpooled()
        .unwrap();
    conn.batch_execute("SELECT 1").unwrap();
    let (mut idle, _) = Conn::login(&qs, PLATFORM_DB);
    let started = Instant::now();
    drop(qs);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "drop took {:?}",
        started.elapsed()
    );
    assert!(conn.batch_execute("SELECT 1").is_err());
    // The raw session sees its connection closed.
    idle.send(b'Q', &raw::cstr("SELECT 1"));
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| idle.recv())).is_err();
    assert!(closed);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer listening"
    );
    // Nothing of the stand-in is left upstream.
    let mut probe = server().psql("postgres");
    probe.args([
        "-A",
        "-t",
        "-c",
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = {}",
            quote_literal("standin-drop-test")
        ),
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while String::from_utf8_lossy(&probe.output().unwrap().stdout).trim() != "0" {
        assert!(Instant::now() < deadline, "upstream sessions left over");
        std::thread::sleep(Duration::from_millis(50));
    }
}
